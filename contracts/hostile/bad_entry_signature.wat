;; Exports an entry point that takes a parameter: entry points pull their input instead.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run") (param i32)))

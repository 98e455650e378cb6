;; An f32 local that is never used: refused by its type, although no float instruction appears.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run") (local f32)))

;; Grows its table at run time: table mutation is forbidden at admission.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (table 1 funcref)
  (func (export "run") (drop (table.grow (ref.null func) (i32.const 100000)))))

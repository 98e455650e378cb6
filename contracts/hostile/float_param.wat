;; A function type with an f64 parameter and result, passed through without a float instruction:
;; refused by the type section.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func $identity (param f64) (result f64) (local.get 0)))

;; An active data segment past the end of the initial memory: it would trap at every
;; instantiation, so admission refuses it.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (data (i32.const 65530) "0123456789"))

;; A table of a million entries: refused at admission.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (table 1000000 funcref))

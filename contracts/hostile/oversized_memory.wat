;; Declares 1000 initial pages (62.5 MiB): refused at admission.
(module
  (memory (export "memory") 1000)
  (func (export "tao_abi_v1")))

;; Has no tao_abi_v1 marker: refused at admission.
(module
  (memory (export "memory") 1)
  (func (export "run")))

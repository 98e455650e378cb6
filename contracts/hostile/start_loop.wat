;; Loops forever in a start function, which would run at instantiation: refused at admission.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func $spin (loop $l (br $l)))
  (start $spin))

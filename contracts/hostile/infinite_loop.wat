;; Loops forever in an entry point: must run out of gas with the whole limit charged.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run") (loop $l (br $l))))

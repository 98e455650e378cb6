;; An incentive module that never returns: it runs out of its epoch gas, and the chain pays the
;; epoch with Yuma instead.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "entry_epoch") (loop $l (br $l))))

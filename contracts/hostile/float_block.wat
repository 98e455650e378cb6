;; A block typed f64 whose value is dropped, reached by no float instruction: refused by the block
;; type.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run")
    (block (result f64) unreachable)
    drop))

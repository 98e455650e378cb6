;; Fills 60,000 bytes in one instruction: allowed, and charged per byte.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run") (memory.fill (i32.const 0) (i32.const 7) (i32.const 60000))))

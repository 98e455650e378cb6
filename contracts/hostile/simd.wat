;; Uses a SIMD instruction: the proposal is off, so validation refuses it.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run") (drop (i8x16.splat (i32.const 1)))))

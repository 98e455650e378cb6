;; Writes twice, emits, then traps: nothing may be written and the gas is still charged.
(module
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "emit" (func $emit (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (data (i32.const 0) "k1k2vv")
  (func (export "run")
    (call $set (i32.const 0) (i32.const 2) (i32.const 4) (i32.const 2))
    (call $set (i32.const 2) (i32.const 2) (i32.const 4) (i32.const 2))
    (call $emit (i32.const 0) (i32.const 2) (i32.const 4) (i32.const 2))
    unreachable))

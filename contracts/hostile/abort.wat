;; Writes, then aborts with a message: the message is the outcome, the write is dropped.
(module
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "abort" (func $abort (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (data (i32.const 0) "no such subnet")
  (func (export "run")
    (call $set (i32.const 0) (i32.const 2) (i32.const 0) (i32.const 2))
    (call $abort (i32.const 0) (i32.const 14))))

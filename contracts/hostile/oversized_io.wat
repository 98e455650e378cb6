;; Keys, values, outputs and pointers beyond the limits: each refused by the host before copying.
(module
  (import "env" "input" (func $input (result i32)))
  (import "env" "storage_get" (func $get (param i32 i32) (result i32)))
  (import "env" "storage_set" (func $set (param i32 i32 i32 i32)))
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "big_key") (drop (call $get (i32.const 0) (i32.const 1000000))))
  (func (export "big_value") (call $set (i32.const 0) (i32.const 1) (i32.const 0) (i32.const 100000)))
  (func (export "big_output") (call $output (i32.const 0) (i32.const 100000)))
  (func (export "out_of_bounds") (call $set (i32.const 65530) (i32.const 10) (i32.const 0) (i32.const 1)))
  (func (export "read_input") (drop (call $input))))

;; Imports the same host function twice (thousands of copies would bloat every instance).
(module
  (import "env" "emit" (func (param i32 i32 i32 i32)))
  (import "env" "emit" (func (param i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1")))

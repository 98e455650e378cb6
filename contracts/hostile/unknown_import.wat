;; Imports a host function that does not exist in the ABI.
(module
  (import "env" "read_file" (func (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1")))

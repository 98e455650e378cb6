;; Imports storage_get with a signature other than the ABI's.
(module
  (import "env" "storage_get" (func (param i64) (result i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1")))

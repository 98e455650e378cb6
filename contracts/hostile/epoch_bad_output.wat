;; An incentive module that returns bytes that are no epoch output: the chain refuses them and pays
;; the epoch with Yuma instead.
(module
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (data (i32.const 0) "\ff\ff\ff\ff\07")
  (func (export "entry_epoch") (call $output (i32.const 0) (i32.const 5))))

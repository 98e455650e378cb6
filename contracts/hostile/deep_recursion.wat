;; Recurses without end: the deterministic stack limit traps, never the native stack.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func $down (param $n i32) (call $down (i32.add (local.get $n) (i32.const 1))))
  (func (export "run") (call $down (i32.const 0))))

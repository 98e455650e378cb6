;; Burns most of its gas, then loads out of bounds. The engine does not track fuel exactly at
;; trapping instructions, so every trap but unreachable charges the whole gas limit.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "run") (local $i i32)
    (loop $l (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 1000000))))
    (drop (i32.load (i32.const 70000)))))

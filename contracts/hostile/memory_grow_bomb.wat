;; Asks for far more memory than allowed. At once: the per-page charge for 100,000 pages is more gas
;; than the call has, so it runs out of gas. Page by page: grow returns -1 at the limit, never traps.
(module
  (import "env" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "grow_huge")
    (i32.store (i32.const 0) (memory.grow (i32.const 100000)))
    (call $output (i32.const 0) (i32.const 4)))
  (func (export "grow_loop") (local $n i32)
    (block $done
      (loop $more
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (local.set $n (i32.add (local.get $n) (i32.const 1)))
        (br $more)))
    (i32.store (i32.const 0) (local.get $n))
    (call $output (i32.const 0) (i32.const 4))))

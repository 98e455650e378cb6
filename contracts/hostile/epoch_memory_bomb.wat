;; An incentive module that grows its memory page by page until refused, then traps: the memory
;; limit holds, and the chain pays the epoch with Yuma instead.
(module
  (memory (export "memory") 1)
  (func (export "tao_abi_v1"))
  (func (export "entry_epoch")
    (block $done
      (loop $more
        (br_if $done (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
        (br $more)))
    unreachable))

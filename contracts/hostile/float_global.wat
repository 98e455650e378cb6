;; An f64 global and not one float instruction in any function: uploaded code may hold no float
;; anywhere, so the global's type alone refuses it.
(module
  (memory (export "memory") 1)
  (global $g (mut f64) (f64.const 1.5))
  (func (export "tao_abi_v1")))

//! The guest side of ABI v1: imports, the [`Host`] over them, and (with the `guest` feature) the
//! allocator and panic handler a `no_std` module needs.
#![allow(unsafe_code, reason = "the Wasm import boundary and the allocator are unsafe by nature")]

use alloc::vec::Vec;

use tao_abi::ABSENT;
use tao_types::Address;

use crate::{Contract, Host, IterHandle};

use crate::imports::*;

/// Copies the host's result buffer of `len` bytes (or nothing for [`ABSENT`]).
fn take_result(len: i32) -> Option<Vec<u8>> {
    if len == ABSENT || len < 0 {
        return None;
    }
    let mut buf = alloc::vec![0u8; len as usize];
    // SAFETY: `buf` has exactly `len` writable bytes, the size of the host's result buffer.
    unsafe { result_read(buf.as_mut_ptr()) };
    Some(buf)
}

/// The [`Host`] of a module running in the node.
pub struct WasmHost;

impl Host for WasmHost {
    fn input(&mut self) -> Vec<u8> {
        // SAFETY: no pointers are passed.
        take_result(unsafe { input() }).unwrap_or_default()
    }

    fn set_output(&mut self, data: &[u8]) {
        // SAFETY: pointer and length describe `data`.
        unsafe { output(data.as_ptr(), data.len() as i32) }
    }

    fn get(&mut self, key: &[u8]) -> Option<Vec<u8>> {
        // SAFETY: pointer and length describe `key`.
        take_result(unsafe { storage_get(key.as_ptr(), key.len() as i32) })
    }

    fn set(&mut self, key: &[u8], value: &[u8]) {
        // SAFETY: pointers and lengths describe `key` and `value`.
        unsafe { storage_set(key.as_ptr(), key.len() as i32, value.as_ptr(), value.len() as i32) }
    }

    fn remove(&mut self, key: &[u8]) -> bool {
        // SAFETY: pointer and length describe `key`.
        unsafe { storage_remove(key.as_ptr(), key.len() as i32) == 1 }
    }

    fn iter_open(&mut self, prefix: &[u8]) -> IterHandle {
        // SAFETY: pointer and length describe `prefix`.
        IterHandle(unsafe { storage_iter(prefix.as_ptr(), prefix.len() as i32) })
    }

    fn iter_next(&mut self, iter: IterHandle) -> Option<(Vec<u8>, Vec<u8>)> {
        // SAFETY: no pointers are passed.
        let bytes = take_result(unsafe { storage_next(iter.0) })?;
        let limit = (tao_abi::limits::MAX_KEY_BYTES + tao_abi::limits::MAX_VALUE_BYTES) as usize + 8;
        let entry: tao_abi::IterEntry = tao_codec::decode(&bytes, limit).ok()?;
        Some((entry.key, entry.value))
    }

    fn emit(&mut self, topic: &[u8], data: &[u8]) {
        // SAFETY: pointers and lengths describe `topic` and `data`.
        unsafe { emit(topic.as_ptr(), topic.len() as i32, data.as_ptr(), data.len() as i32) }
    }

    fn caller(&mut self) -> Address {
        let mut out = [0u8; 20];
        // SAFETY: the host writes exactly 20 bytes.
        unsafe { caller(out.as_mut_ptr()) };
        Address(out)
    }

    fn block_height(&mut self) -> u64 {
        // SAFETY: no pointers are passed.
        unsafe { block_height() as u64 }
    }

    fn block_time_ms(&mut self) -> u64 {
        // SAFETY: no pointers are passed.
        unsafe { block_time() as u64 }
    }
}

impl WasmHost {
    /// Gas left for this call: lets a module stop a long computation before it runs out.
    pub fn gas_left(&self) -> u64 {
        // SAFETY: no pointers are passed.
        unsafe { gas_left() as u64 }
    }
}

impl Contract for WasmHost {
    fn self_address(&mut self) -> Address {
        let mut out = [0u8; 20];
        // SAFETY: the host writes exactly 20 bytes.
        unsafe { self_address(out.as_mut_ptr()) };
        Address(out)
    }

    fn call_system(&mut self, module: &str, entry: &str, input: &[u8]) -> Vec<u8> {
        // SAFETY: pointers and lengths describe `module`, `entry` and `input`.
        let len = unsafe {
            call_system(
                module.as_ptr(),
                module.len() as i32,
                entry.as_ptr(),
                entry.len() as i32,
                input.as_ptr(),
                input.len() as i32,
            )
        };
        take_result(len).unwrap_or_default()
    }
}

/// Ends the call with `message`; the host discards the call's writes.
pub fn abort_with(message: &str) -> ! {
    // SAFETY: pointer and length describe `message`.
    unsafe { abort(message.as_ptr(), message.len() as i32) }
}

/// Runs an entry point's handler and turns an `Err` into an abort with its message.
pub fn run<E: core::fmt::Display>(handler: impl FnOnce(&mut WasmHost) -> Result<(), E>) {
    if let Err(e) = handler(&mut WasmHost) {
        abort_with(&alloc::format!("{e}"));
    }
}

#[cfg(feature = "guest")]
mod runtime {
    use core::alloc::{GlobalAlloc, Layout};
    use core::sync::atomic::{AtomicUsize, Ordering};

    /// A bump allocator: every call gets a fresh instance, so memory is never reused and freeing is
    /// a no-op. Growth goes through `memory.grow`, which the host meters per page.
    struct Bump;

    static NEXT: AtomicUsize = AtomicUsize::new(0);

    unsafe extern "C" {
        static __heap_base: u8;
    }

    /// Grows memory so that addresses below `end` exist; false when the host refuses.
    fn reserve(end: usize) -> bool {
        let have = core::arch::wasm32::memory_size(0) * 65536;
        end <= have || core::arch::wasm32::memory_grow(0, (end - have).div_ceil(65536)) != usize::MAX
    }

    // SAFETY: single-threaded Wasm; returned blocks are aligned, in bounds and never overlap.
    unsafe impl GlobalAlloc for Bump {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            let mut next = NEXT.load(Ordering::Relaxed);
            if next == 0 {
                next = &raw const __heap_base as usize;
            }
            let start = (next + layout.align() - 1) & !(layout.align() - 1);
            let Some(end) = start.checked_add(layout.size()) else { return core::ptr::null_mut() };
            if !reserve(end) {
                return core::ptr::null_mut();
            }
            NEXT.store(end, Ordering::Relaxed);
            start as *mut u8
        }

        unsafe fn dealloc(&self, _ptr: *mut u8, _layout: Layout) {}

        /// The newest block (a growing `Vec`, usually) resizes in place; others move.
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            let start = ptr as usize;
            if start + layout.size() == NEXT.load(Ordering::Relaxed) {
                let Some(end) = start.checked_add(new_size) else { return core::ptr::null_mut() };
                if !reserve(end) {
                    return core::ptr::null_mut();
                }
                NEXT.store(end, Ordering::Relaxed);
                return ptr;
            }
            // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
            let moved = unsafe { self.alloc(Layout::from_size_align_unchecked(new_size, layout.align())) };
            if !moved.is_null() {
                // SAFETY: both blocks are live, distinct, and at least this long.
                unsafe { core::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size)) };
            }
            moved
        }
    }

    #[global_allocator]
    static ALLOCATOR: Bump = Bump;

    #[panic_handler]
    fn panic(_info: &core::panic::PanicInfo<'_>) -> ! {
        super::abort_with("contract panicked")
    }
}

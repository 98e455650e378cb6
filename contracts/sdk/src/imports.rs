//! The guest's declarations of the ABI imports, checked at compile time against
//! [`tao_abi::imports::ALL`]: a name, parameter or result that drifts from the ABI, or an import
//! the ABI has and the SDK lacks, fails the build (on every target, not only wasm32).

use tao_abi::{ImportFn, ValType};

/// A Rust type as the Wasm value type it lowers to on wasm32.
trait Lowered {
    const TYPE: ValType;
}

impl Lowered for i32 {
    const TYPE: ValType = ValType::I32;
}

impl Lowered for i64 {
    const TYPE: ValType = ValType::I64;
}

impl Lowered for *const u8 {
    const TYPE: ValType = ValType::I32;
}

impl Lowered for *mut u8 {
    const TYPE: ValType = ValType::I32;
}

const fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn same_types(a: &[ValType], b: &[ValType]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if !matches!((a[i], b[i]), (ValType::I32, ValType::I32) | (ValType::I64, ValType::I64)) {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether a declaration is exactly the ABI's import.
const fn matches_abi(abi: &ImportFn, name: &str, params: &[ValType], results: &[ValType]) -> bool {
    same_bytes(abi.name.as_bytes(), name.as_bytes())
        && same_types(abi.params, params)
        && same_types(abi.results, results)
}

macro_rules! results {
    () => {
        []
    };
    (!) => {
        []
    };
    ($t:ty) => {
        [<$t as Lowered>::TYPE]
    };
}

/// Declares the imports and asserts, at compile time, that they are exactly the ABI's.
macro_rules! abi_imports {
    ($($abi:ident: fn $name:ident($($arg:ident: $ty:ty),*) $(-> $ret:tt)?;)*) => {
        #[cfg(target_arch = "wasm32")]
        #[allow(unsafe_code, reason = "the Wasm import boundary is unsafe by nature")]
        #[link(wasm_import_module = "env")]
        unsafe extern "C" {
            $(pub(crate) fn $name($($arg: $ty),*) $(-> $ret)?;)*
        }

        const _: () = {
            $(assert!(
                matches_abi(
                    &tao_abi::imports::$abi,
                    stringify!($name),
                    &[$(<$ty as Lowered>::TYPE),*],
                    &results!($($ret)?),
                ),
                concat!("the SDK's `", stringify!($name), "` does not match tao_abi::imports::", stringify!($abi)),
            );)*
            assert!(
                [$(stringify!($name)),*].len() == tao_abi::imports::ALL.len(),
                "the SDK must declare every import of tao_abi::imports::ALL",
            );
        };
    };
}

abi_imports! {
    INPUT: fn input() -> i32;
    RESULT_READ: fn result_read(ptr: *mut u8);
    OUTPUT: fn output(ptr: *const u8, len: i32);
    STORAGE_GET: fn storage_get(key: *const u8, key_len: i32) -> i32;
    STORAGE_SET: fn storage_set(key: *const u8, key_len: i32, value: *const u8, value_len: i32);
    STORAGE_REMOVE: fn storage_remove(key: *const u8, key_len: i32) -> i32;
    STORAGE_ITER: fn storage_iter(prefix: *const u8, prefix_len: i32) -> i32;
    STORAGE_NEXT: fn storage_next(handle: i32) -> i32;
    EMIT: fn emit(topic: *const u8, topic_len: i32, data: *const u8, data_len: i32);
    CALLER: fn caller(ptr: *mut u8);
    BLOCK_HEIGHT: fn block_height() -> i64;
    BLOCK_TIME: fn block_time() -> i64;
    GAS_LEFT: fn gas_left() -> i64;
    ABORT: fn abort(ptr: *const u8, len: i32) -> !;
    SELF_ADDRESS: fn self_address(ptr: *mut u8);
    CALL_SYSTEM: fn call_system(
        module: *const u8, module_len: i32, entry: *const u8, entry_len: i32, input: *const u8, input_len: i32
    ) -> i32;
}

//! What the wallet keeps in the browser's local storage: the sealed vault, the pinned genesis,
//! the newest head believed per genesis, and the history. Nothing secret is stored unsealed.

use gloo_storage::{LocalStorage, Storage};
use serde::{Serialize, de::DeserializeOwned};
use tao_types::Hash;
use tao_wallet::fresh::TrustedHead;

/// Sealed vault.
pub const VAULT: &str = "tao.vault";
/// Genesis hash the user accepted.
pub const GENESIS: &str = "tao.genesis";
/// Submitted transactions.
pub const HISTORY: &str = "tao.history";
/// The node chosen in Settings (absent: the page's own).
pub const NODE: &str = "tao.node";
/// Prefix of the newest head believed, per genesis hash (`tao.head.0x…`).
const HEAD: &str = "tao.head.";

/// The newest head this browser believed on the chain with genesis `genesis`.
pub fn kept_head(genesis: &Hash) -> Option<TrustedHead> {
    load(&format!("{HEAD}{genesis}"))
}

/// Keeps `header` as the newest head believed on its chain, unless a newer one is kept.
pub fn keep_head(genesis: &Hash, header: &tao_light::Header) {
    let head = TrustedHead::of(header);
    let newest = kept_head(genesis).map_or(head, |kept| kept.newest(head));
    let _ = save(&format!("{HEAD}{genesis}"), &newest);
}

/// The value under `key`, if present and readable.
pub fn load<T: DeserializeOwned>(key: &str) -> Option<T> {
    LocalStorage::get(key).ok()
}

/// Stores `value` under `key`; a full or blocked storage is reported.
pub fn save<T: Serialize>(key: &str, value: &T) -> Result<(), String> {
    LocalStorage::set(key, value).map_err(|e| format!("browser storage refused: {e}"))
}

/// Fresh random bytes from the browser's CSPRNG. A failure is an error, never weak bytes: keys,
/// salts and IVs come from here.
pub fn random<const N: usize>() -> Result<[u8; N], String> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| format!("the browser gave no randomness: {e}"))?;
    Ok(bytes)
}

/// Fresh salt and IV for sealing the vault.
pub fn fresh() -> Result<tao_wallet::vault::Fresh, String> {
    Ok(tao_wallet::vault::Fresh { salt: random()?, iv: random()? })
}

/// Milliseconds since the epoch (auto-lock and history times only: never a chain value).
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A past time in the browser's locale, e.g. `5 Dec, 14:03:27`.
pub fn local_time(ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    let options = js_sys::Object::new();
    for (key, value) in [
        ("day", "numeric"),
        ("month", "short"),
        ("hour", "2-digit"),
        ("minute", "2-digit"),
        ("second", "2-digit"),
    ] {
        let _ = js_sys::Reflect::set(&options, &key.into(), &value.into());
    }
    let _ = js_sys::Reflect::set(&options, &"hour12".into(), &false.into());
    date.to_locale_string("default", &options).into()
}

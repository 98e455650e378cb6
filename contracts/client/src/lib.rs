//! What a client decides with no I/O, shared by the browser wallet (`web/core`), the JS package
//! and the `tao` CLI: contract code run on proven state. The caller does the fetching (a
//! JSON-RPC batch in, its reply out); this crate decides what to believe and what a call would do.
//!
//! - [`proven`]: run contract code on state whose every read is proven against a certified root.
//! - [`views`]: balances, stake, subnets and metagraphs, computed by the contracts' own functions.
//! - [`tx`]: transaction drafts, fees, stake orders and previews of a call's effect.
//! - [`rerun`]: reads that walk back from the head, and the epoch re-run built on them.
//! - [`wasm`]: the chain's own bytes run under an interpreter, where the code compiled in is
//!   not what the chain runs; [`code`] chooses between the two.

pub mod code;
pub mod follow;
pub mod proven;
pub mod rerun;
pub mod tx;
pub mod views;
pub mod wasm;

pub use proven::ProvenState;
pub use tao_light::{Chain, Proven, VerifyError, chain, fresh, rpc};

#[cfg(all(test, target_arch = "wasm32"))]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

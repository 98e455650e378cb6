//! The browser wallet's logic, with no I/O (smoldot's shape: the page does the fetching, this
//! crate decides what to believe and what to sign). It builds natively, where its tests run,
//! and for wasm32, where the Yew wallet (`web/`) drives it and the browser suite re-runs them.
//!
//! - [`chain`], [`fresh`], [`rpc`] (from `tao_light`, shared with `tao light` and the JS
//!   package): follow certified headers from a pinned genesis, keep recent state roots; the
//!   newest head kept across reloads, stale heads, shipped checkpoints; the JSON-RPC messages.
//! - [`proven`], [`views`], [`rerun`], [`code`], [`wasm`] (from `tao_client`, shared with the
//!   CLI): run contract code on proven state; what the screens show, computed by the contracts'
//!   own functions; the epoch re-run; the chain's own bytes under an interpreter.
//! - [`tx`]: building and signing transactions, fees, previews of their effect (the drafts and
//!   previews are `tao_client`'s), the wallet's nonce rules and replacements.
//! - [`vault`]: keys encrypted under the user's password.
//! - [`series`]: chart points sampled only from proven values, bounded.
//! - [`display`]: shortened addresses; hyperparameters with units and meanings.

pub mod display;
pub mod series;
pub mod tx;
pub mod vault;

// Running contract code on proven state is shared with the CLI, following the chain with
// `tao light` and the JS package too: one implementation.
pub use tao_client::{ProvenState, code, follow, proven, rerun, views, wasm};
pub use tao_light::{Chain, Proven, VerifyError, chain, fresh, rpc};

#[cfg(test)]
mod tests;

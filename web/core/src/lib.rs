//! The browser wallet's logic, with no I/O (smoldot's shape: the page does the fetching, this
//! crate decides what to believe and what to sign). It builds natively, where its tests run,
//! and for wasm32, where the Yew wallet (`web/`) drives it and the browser suite re-runs them.
//!
//! - [`chain`], [`fresh`], [`rpc`] (from `tao_light`, shared with `tao light` and the JS
//!   package): follow certified headers from a pinned genesis, keep recent state roots; the
//!   newest head kept across reloads, stale heads, shipped checkpoints; the JSON-RPC messages.
//! - [`proven`]: run contract code on state whose every read is proven against such a root.
//! - [`views`]: what the screens show, computed by the contracts' own functions on proven state.
//! - [`tx`]: building and signing transactions, fees, previews of their effect.
//! - [`vault`]: keys encrypted under the user's password.
//! - [`series`]: chart points sampled only from proven values, bounded.
//! - [`display`]: shortened addresses; hyperparameters with units and meanings.
//! - [`wasm`]: the chain's own bytes run under an interpreter, where the code compiled in is
//!   not what the chain runs; [`code`] chooses between the two.

pub mod code;
pub mod display;
pub mod proven;
pub mod rerun;
pub mod series;
pub mod tx;
pub mod vault;
pub mod views;
pub mod wasm;

// Following the chain is shared with `tao light` and the JS package: one implementation.
pub use proven::ProvenState;
pub use tao_light::{Chain, Proven, VerifyError, chain, fresh, rpc};

#[cfg(test)]
mod tests;

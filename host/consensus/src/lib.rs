//! The BFT engine's place in the node: Malachite (`arc-malachitebft-*`, pinned) decides which
//! block is final at each height; this crate is everything it needs from us. `context` spells
//! the engine's types in ours, `signing` chooses what validators sign (a commit vote is
//! exactly `tao_light::vote_hash`), `certificate` converts a decision into the certificate the
//! light client checks, `codec` encodes the engine's messages, `watch` reports the votes
//! it sees, and `inbound` checks what peers relay. Malachite's types stay inside this crate.

pub mod app;
pub mod certificate;
pub mod codec;
pub mod context;
pub mod inbound;
pub mod signing;
pub mod stream;
pub mod watch;

#[cfg(test)]
mod tests;

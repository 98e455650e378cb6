//! The chain's vocabulary: addresses, balances, identifiers, hashes and fixed-point numbers.
//!
//! Everything here is `no_std` + `alloc`, deterministic and free of I/O, so the node, the contracts
//! and the browser wallet agree on every value.
#![cfg_attr(not(test), no_std)]

extern crate alloc;

mod address;
mod balance;
pub mod fixed_point;
mod hash;

pub use address::{Address, AddressError};
pub use balance::{Balance, BalanceError, RAO_PER_TAO, amounts_in_tao};
pub use hash::{Hash, HashParseError, keccak256};

/// Identifier of a subnet. Netuid 0 is the root subnet.
pub type NetUid = u16;
/// Index of a neuron inside one subnet.
pub type Uid = u16;
/// Height of a block; genesis is 0.
pub type BlockNumber = u64;

/// Most blocks between an equivocation and the block carrying its evidence. It lives here, not
/// with the evidence checks, because two crates that never see each other must agree on it: the
/// node accepts evidence up to this age, and the staking contract holds unstaked root TAO of a
/// validator at least this long, so no equivocator is paid out before its evidence stops counting.
pub const MAX_EVIDENCE_AGE: BlockNumber = 32;

use core::fmt;

use tao_contract_token::TokenError;
use tao_types::NetUid;

/// Why a pool operation failed. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PoolError {
    /// The subnet has no pool.
    NoPool(NetUid),
    /// The subnet already has a pool.
    PoolExists(NetUid),
    /// A swap of nothing.
    ZeroAmount,
    /// The input exceeds 1000 × the input reserve.
    InputTooLarge {
        /// The input offered.
        amount: u64,
        /// The largest input accepted.
        max: u64,
    },
    /// The swap would leave the output reserve below its minimum.
    ReserveDrained,
    /// The input is too small to buy anything.
    NothingOut,
    /// The whole order cannot fill within its limit price (and partial fills were not allowed).
    LimitExceeded {
        /// The input that would fill within the limit.
        fillable: u64,
    },
    /// An amount overflowed.
    Overflow,
    /// From the token module.
    Token(TokenError),
    /// Stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PoolError::NoPool(n) => write!(f, "subnet {n} has no pool"),
            PoolError::PoolExists(n) => write!(f, "subnet {n} already has a pool"),
            PoolError::ZeroAmount => f.write_str("the amount must not be zero"),
            PoolError::InputTooLarge { amount, max } => {
                write!(f, "input {amount} exceeds 1000 x the input reserve ({max})")
            }
            PoolError::ReserveDrained => f.write_str("the swap would drain the pool's output reserve"),
            PoolError::NothingOut => f.write_str("the input is too small to buy anything"),
            PoolError::LimitExceeded { fillable } => {
                write!(f, "the order does not fill within its limit price (only {fillable} would)")
            }
            PoolError::Overflow => f.write_str("amount overflow"),
            PoolError::Token(e) => write!(f, "{e}"),
            PoolError::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

impl From<TokenError> for PoolError {
    fn from(e: TokenError) -> Self {
        PoolError::Token(e)
    }
}

impl From<tao_sdk::Error> for PoolError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => PoolError::Decode(what),
            tao_sdk::Error::Custom(_) => PoolError::Decode("data"),
        }
    }
}

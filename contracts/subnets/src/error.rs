use core::fmt;

use tao_contract_pools::PoolError;
use tao_contract_token::TokenError;
use tao_types::{Hash, NetUid};

/// Why a subnet operation failed. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubnetError {
    /// No subnet with that netuid.
    NoSuchSubnet(NetUid),
    /// The caller is not the subnet owner's coldkey.
    NotOwner,
    /// Only the chain (governance) may do this.
    NotSystem,
    /// The parameter can only be changed by governance.
    RootOnly(&'static str),
    /// No parameter with that id.
    UnknownParameter,
    /// The value is outside the parameter's range.
    OutOfRange {
        /// Parameter name.
        name: &'static str,
        /// Smallest allowed.
        min: u64,
        /// Largest allowed.
        max: u64,
    },
    /// The change would put `low` above `high`.
    Unordered(&'static str, &'static str),
    /// Too soon after the previous change or registration.
    RateLimited {
        /// First block at which it is allowed again.
        until: u64,
    },
    /// Owners may not change parameters in the blocks just before an epoch.
    FreezeWindow {
        /// Block of the coming epoch.
        epoch_at: u64,
    },
    /// No code with that hash has been deployed.
    NoSuchCode(Hash),
    /// All subnet slots are taken.
    SubnetLimitReached,
    /// An identity field is longer than allowed.
    IdentityTooLong,
    /// An amount overflowed.
    Overflow,
    /// The lock could not be paid or returned.
    Token(TokenError),
    /// The subnet's pool could not be opened.
    Pool(PoolError),
    /// Input or stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for SubnetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubnetError::NoSuchSubnet(n) => write!(f, "no subnet {n}"),
            SubnetError::NotOwner => f.write_str("only the subnet owner may do this"),
            SubnetError::NotSystem => f.write_str("only the chain may do this"),
            SubnetError::RootOnly(name) => write!(f, "{name} can only be changed by governance"),
            SubnetError::UnknownParameter => f.write_str("unknown hyperparameter"),
            SubnetError::OutOfRange { name, min, max } => write!(f, "{name} must be in [{min}, {max}]"),
            SubnetError::Unordered(low, high) => write!(f, "{low} must not exceed {high}"),
            SubnetError::RateLimited { until } => write!(f, "rate limited until block {until}"),
            SubnetError::FreezeWindow { epoch_at } => {
                write!(f, "parameters are frozen until the epoch at block {epoch_at}")
            }
            SubnetError::NoSuchCode(h) => write!(f, "no deployed code {h}"),
            SubnetError::SubnetLimitReached => f.write_str("subnet limit reached"),
            SubnetError::IdentityTooLong => f.write_str("identity fields are at most 256 bytes"),
            SubnetError::Overflow => f.write_str("amount overflow"),
            SubnetError::Token(e) => write!(f, "{e}"),
            SubnetError::Pool(e) => write!(f, "{e}"),
            SubnetError::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

impl From<TokenError> for SubnetError {
    fn from(e: TokenError) -> Self {
        SubnetError::Token(e)
    }
}

impl From<PoolError> for SubnetError {
    fn from(e: PoolError) -> Self {
        SubnetError::Pool(e)
    }
}

impl From<tao_sdk::Error> for SubnetError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => SubnetError::Decode(what),
            tao_sdk::Error::Custom(_) => SubnetError::Decode("data"),
        }
    }
}

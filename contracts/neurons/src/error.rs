use core::fmt;

use tao_contract_pools::PoolError;
use tao_contract_subnets::SubnetError;
use tao_contract_token::TokenError;
use tao_types::NetUid;

/// Why a neuron operation failed. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NeuronError {
    /// Registration on the root subnet goes through root registration.
    RootSubnet,
    /// No subnet with that netuid.
    NoSuchSubnet(NetUid),
    /// The owner has closed registration.
    RegistrationDisabled,
    /// The hotkey already has a UID on this subnet.
    AlreadyRegistered,
    /// The coldkey cannot pay the price.
    InsufficientBalance {
        /// Balance held.
        have: u64,
        /// Current price.
        need: u64,
    },
    /// The hotkey belongs to another coldkey.
    HotkeyOwnedByOther,
    /// The subnet is full and every UID is protected.
    NoNeuronIdAvailable,
    /// The caller is not registered on the subnet.
    NotRegistered,
    /// IP type other than 4 or 6.
    InvalidIpType,
    /// IP 0, loopback, or out of range for its type.
    InvalidIpAddress,
    /// Port 0.
    InvalidPort,
    /// Too soon after the previous change.
    RateLimited {
        /// First block at which it is allowed again.
        until: u64,
    },
    /// Only the chain may call this.
    NotSystem,
    /// From the subnets module.
    Subnet(SubnetError),
    /// From the token module.
    Token(TokenError),
    /// From the subnet's pool.
    Pool(PoolError),
    /// Input or stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for NeuronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NeuronError::RootSubnet => f.write_str("cannot burn-register on the root subnet"),
            NeuronError::NoSuchSubnet(n) => write!(f, "no subnet {n}"),
            NeuronError::RegistrationDisabled => f.write_str("registration is closed on this subnet"),
            NeuronError::AlreadyRegistered => f.write_str("hotkey already registered on this subnet"),
            NeuronError::InsufficientBalance { have, need } => {
                write!(f, "insufficient balance for registration: {have} < {need} rao")
            }
            NeuronError::HotkeyOwnedByOther => f.write_str("hotkey belongs to another coldkey"),
            NeuronError::NoNeuronIdAvailable => f.write_str("subnet full and every UID is protected"),
            NeuronError::NotRegistered => f.write_str("hotkey not registered on this subnet"),
            NeuronError::InvalidIpType => f.write_str("ip type must be 4 or 6"),
            NeuronError::InvalidIpAddress => f.write_str("invalid ip address"),
            NeuronError::InvalidPort => f.write_str("port must not be 0"),
            NeuronError::RateLimited { until } => write!(f, "rate limited until block {until}"),
            NeuronError::NotSystem => f.write_str("only the chain may do this"),
            NeuronError::Subnet(e) => write!(f, "{e}"),
            NeuronError::Token(e) => write!(f, "{e}"),
            NeuronError::Pool(e) => write!(f, "{e}"),
            NeuronError::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

impl From<SubnetError> for NeuronError {
    fn from(e: SubnetError) -> Self {
        NeuronError::Subnet(e)
    }
}

impl From<PoolError> for NeuronError {
    fn from(e: PoolError) -> Self {
        NeuronError::Pool(e)
    }
}

impl From<TokenError> for NeuronError {
    fn from(e: TokenError) -> Self {
        NeuronError::Token(e)
    }
}

impl From<tao_sdk::Error> for NeuronError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => NeuronError::Decode(what),
            tao_sdk::Error::Custom(_) => NeuronError::Decode("data"),
        }
    }
}

use core::fmt;

use tao_contract_neurons::NeuronError;
use tao_contract_pools::PoolError;
use tao_contract_staking::StakeError;
use tao_contract_subnets::SubnetError;
use tao_contract_token::TokenError;
use tao_contract_weights::WeightError;

use crate::epoch::EpochError;

/// Why an incentive call failed. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncentiveError {
    /// Only the chain may do this.
    NotSystem,
    /// The epoch refused its input.
    Epoch(EpochError),
    /// An amount overflowed.
    Overflow,
    /// From the token module.
    Token(TokenError),
    /// From the subnets module.
    Subnet(SubnetError),
    /// From the neurons module.
    Neuron(NeuronError),
    /// From a subnet's pool.
    Pool(PoolError),
    /// From the staking module.
    Stake(StakeError),
    /// From the weights module.
    Weight(WeightError),
    /// Input or stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for IncentiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSystem => f.write_str("only the chain may do this"),
            Self::Epoch(e) => write!(f, "epoch input: {e}"),
            Self::Overflow => f.write_str("amount overflow"),
            Self::Token(e) => write!(f, "{e}"),
            Self::Subnet(e) => write!(f, "{e}"),
            Self::Neuron(e) => write!(f, "{e}"),
            Self::Pool(e) => write!(f, "{e}"),
            Self::Stake(e) => write!(f, "{e}"),
            Self::Weight(e) => write!(f, "{e}"),
            Self::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

macro_rules! wrap {
    ($($from:ty => $variant:ident),* $(,)?) => {
        $(impl From<$from> for IncentiveError {
            fn from(e: $from) -> Self {
                Self::$variant(e)
            }
        })*
    };
}

wrap!(TokenError => Token, SubnetError => Subnet, NeuronError => Neuron, PoolError => Pool, StakeError => Stake, WeightError => Weight);

impl From<tao_sdk::Error> for IncentiveError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => Self::Decode(what),
            tao_sdk::Error::Custom(_) => Self::Decode("data"),
        }
    }
}

use core::fmt;

use tao_contract_pools::PoolError;
use tao_contract_staking::StakeError;
use tao_contract_token::TokenError;

/// Why a governance call failed. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GovError {
    /// No proposal with that id.
    NoSuchProposal(u32),
    /// The proposal's voting period is over.
    VotingClosed(u32),
    /// As many proposals are open as allowed.
    TooManyOpen,
    /// The proposal has as many voters as allowed.
    TooManyVoters,
    /// The proposed action cannot be carried out.
    InvalidAction(&'static str),
    /// Only the chain may do this.
    NotSystem,
    /// A parameter is out of range.
    BadParams(&'static str),
    /// An amount overflowed.
    Overflow,
    /// Paying or returning the deposit failed.
    Token(TokenError),
    /// Reading stake failed.
    Stake(StakeError),
    /// Reading a pool failed.
    Pool(PoolError),
    /// Input or stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for GovError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GovError::NoSuchProposal(id) => write!(f, "no proposal {id}"),
            GovError::VotingClosed(id) => write!(f, "voting on proposal {id} has ended"),
            GovError::TooManyOpen => f.write_str("too many open proposals"),
            GovError::TooManyVoters => f.write_str("the proposal has as many voters as allowed"),
            GovError::InvalidAction(why) => write!(f, "invalid proposal: {why}"),
            GovError::NotSystem => f.write_str("only the chain may do this"),
            GovError::BadParams(why) => write!(f, "bad governance parameters: {why}"),
            GovError::Overflow => f.write_str("amount overflow"),
            GovError::Token(e) => write!(f, "{e}"),
            GovError::Stake(e) => write!(f, "{e}"),
            GovError::Pool(e) => write!(f, "{e}"),
            GovError::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

macro_rules! wrap {
    ($($from:ty => $variant:ident),* $(,)?) => {
        $(impl From<$from> for GovError {
            fn from(e: $from) -> Self {
                Self::$variant(e)
            }
        })*
    };
}

wrap!(TokenError => Token, StakeError => Stake, PoolError => Pool);

impl From<tao_sdk::Error> for GovError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => GovError::Decode(what),
            tao_sdk::Error::Custom(_) => GovError::Decode("data"),
        }
    }
}

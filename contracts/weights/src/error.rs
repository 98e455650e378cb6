use core::fmt;

use tao_contract_neurons::NeuronError;
use tao_contract_staking::StakeError;
use tao_contract_subnets::SubnetError;
use tao_types::NetUid;

/// Why weights were refused, one variant per check. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightError {
    /// Root has no weights.
    RootSubnet,
    /// `uids` and `values` differ in length.
    LengthMismatch,
    /// No subnet with that netuid.
    NoSuchSubnet(NetUid),
    /// More weights than UIDs.
    TooManyWeights,
    /// The subnet requires commit-reveal.
    CommitRevealEnabled,
    /// The subnet does not use commit-reveal.
    CommitRevealDisabled,
    /// The hotkey has no UID on the subnet.
    NotRegistered,
    /// Below the stake threshold.
    StakeTooLow,
    /// Older than the subnet's weights version key.
    IncorrectVersionKey {
        /// The required key.
        required: u64,
    },
    /// Too soon after the previous weights.
    RateLimited {
        /// First block at which it is allowed again.
        until: u64,
    },
    /// Only permitted validators (or the owner, or a lone self-weight) may set weights.
    NoValidatorPermit,
    /// A UID appears twice.
    DuplicateUids,
    /// A UID does not exist.
    InvalidUid,
    /// Fewer weights than the subnet's minimum.
    TooFewWeights {
        /// The minimum.
        min: u64,
    },
    /// One weight exceeds the subnet's max-weight limit.
    MaxWeightExceeded,
    /// More than ten unrevealed commits.
    TooManyCommits,
    /// No commit to reveal.
    NoCommit,
    /// No commit matches these weights and salt.
    NoMatchingCommit,
    /// The reveal window has not opened.
    RevealTooEarly {
        /// Epoch at which it opens.
        epoch: u64,
    },
    /// The reveal window has passed.
    RevealExpired,
    /// Only the chain may do this.
    NotSystem,
    /// From the subnets module.
    Subnet(SubnetError),
    /// From the neurons module.
    Neuron(NeuronError),
    /// From the staking module.
    Stake(StakeError),
    /// Input or stored bytes did not decode.
    Decode(&'static str),
}

impl fmt::Display for WeightError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WeightError::RootSubnet => f.write_str("the root subnet has no weights"),
            WeightError::LengthMismatch => f.write_str("uids and values differ in length"),
            WeightError::NoSuchSubnet(n) => write!(f, "no subnet {n}"),
            WeightError::TooManyWeights => f.write_str("more weights than UIDs"),
            WeightError::CommitRevealEnabled => {
                f.write_str("this subnet uses commit-reveal: commit, then reveal")
            }
            WeightError::CommitRevealDisabled => f.write_str("commit-reveal is off on this subnet"),
            WeightError::NotRegistered => f.write_str("hotkey not registered on this subnet"),
            WeightError::StakeTooLow => f.write_str("stake below the threshold for setting weights"),
            WeightError::IncorrectVersionKey { required } => write!(f, "version key below {required}"),
            WeightError::RateLimited { until } => write!(f, "rate limited until block {until}"),
            WeightError::NoValidatorPermit => f.write_str("no validator permit"),
            WeightError::DuplicateUids => f.write_str("duplicate uids"),
            WeightError::InvalidUid => f.write_str("uid does not exist"),
            WeightError::TooFewWeights { min } => write!(f, "at least {min} weights required"),
            WeightError::MaxWeightExceeded => f.write_str("a weight exceeds the max weight limit"),
            WeightError::TooManyCommits => f.write_str("too many unrevealed commits"),
            WeightError::NoCommit => f.write_str("nothing committed"),
            WeightError::NoMatchingCommit => f.write_str("no commit matches these weights and salt"),
            WeightError::RevealTooEarly { epoch } => write!(f, "reveal opens at epoch {epoch}"),
            WeightError::RevealExpired => f.write_str("reveal window passed"),
            WeightError::NotSystem => f.write_str("only the chain may do this"),
            WeightError::Subnet(e) => write!(f, "{e}"),
            WeightError::Neuron(e) => write!(f, "{e}"),
            WeightError::Stake(e) => write!(f, "{e}"),
            WeightError::Decode(what) => write!(f, "could not decode {what}"),
        }
    }
}

impl From<SubnetError> for WeightError {
    fn from(e: SubnetError) -> Self {
        WeightError::Subnet(e)
    }
}

impl From<NeuronError> for WeightError {
    fn from(e: NeuronError) -> Self {
        WeightError::Neuron(e)
    }
}

impl From<StakeError> for WeightError {
    fn from(e: StakeError) -> Self {
        WeightError::Stake(e)
    }
}

impl From<tao_sdk::Error> for WeightError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => WeightError::Decode(what),
            tao_sdk::Error::Custom(_) => WeightError::Decode("data"),
        }
    }
}

use core::fmt;

use tao_contract_neurons::NeuronError;
use tao_contract_pools::PoolError;
use tao_contract_subnets::SubnetError;
use tao_contract_token::TokenError;
use tao_types::NetUid;

/// Why a staking operation failed. The text is recorded in receipts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StakeError {
    /// Below the 0.002 τ minimum (or zero).
    BelowMinimum {
        /// The amount offered.
        amount: u64,
    },
    /// No subnet with that netuid.
    NoSuchSubnet(NetUid),
    /// The hotkey was never registered.
    UnknownHotkey,
    /// The position holds less than asked.
    NotEnoughStake {
        /// Stake held.
        have: u64,
        /// Stake asked for.
        need: u64,
    },
    /// Source and destination are the same position.
    SamePosition,
    /// The subnet's owner has disabled stake transfers.
    TransfersDisabled(NetUid),
    /// Only the hotkey's owner may do this.
    NotHotkeyOwner,
    /// The take must change.
    TakeUnchanged,
    /// Above the 18% maximum.
    TakeTooHigh,
    /// Take increases are rate limited.
    RateLimited {
        /// First block at which it is allowed again.
        until: u64,
    },
    /// Only the chain may call this.
    NotSystem,
    /// An amount overflowed.
    Overflow,
    /// From the token module.
    Token(TokenError),
    /// From the subnets module.
    Subnet(SubnetError),
    /// From the neurons module.
    Neuron(NeuronError),
    /// From the subnet's pool.
    Pool(PoolError),
    /// A dissolution would pay out more positions than one call may.
    TooManyPositions,
    /// The coldkey holds the most stake positions it may; it must empty one first.
    PositionsFull {
        /// The bound, [`crate::MAX_POSITIONS`].
        max: u32,
    },
    /// Input or stored bytes did not decode.
    Decode(&'static str),
    /// Every root slot is taken by a hotkey with at least as much root stake.
    StakeTooLowForRoot {
        /// The hotkey's root stake.
        have: u64,
        /// Root stake that would take the lowest slot.
        need: u64,
    },
    /// Validator-set parameters out of range (K in 1..=1024, a minimum stake above zero, the
    /// minimum set size in 1..=K).
    BadValidatorParams,
    /// Not a compressed secp256k1 key, or its proof is not its signature for this hotkey.
    BadConsensusKey,
    /// The consensus key was registered to another hotkey (a key serves one hotkey forever).
    ConsensusKeyTaken,
    /// The hotkey already has this consensus key.
    ConsensusKeyUnchanged,
    /// Slashing parameters out of range: a fraction above 1, or a window not longer than the
    /// evidence age ([`crate::MIN_EVIDENCE_WINDOW`]) or longer than [`crate::MAX_EVIDENCE_WINDOW`].
    BadSlashParams,
    /// The consensus key was slashed: it can never be registered again.
    ConsensusKeyTombstoned,
    /// The consensus key was slashed already (one slash per key).
    AlreadySlashed,
    /// The coldkey holds the most unbonding entries it may; wait for one to be released.
    UnbondingFull {
        /// The bound, [`crate::MAX_UNBONDING`].
        max: u32,
    },
    /// Root stake of a validator's hotkey leaves it only by unstaking (which unbonds).
    RootStakeBonded,
    /// Child hotkeys are not allowed on root.
    ChildrenOnRoot,
    /// More children than a parent may have.
    TooManyChildren {
        /// The bound, [`crate::MAX_CHILDREN`].
        max: u32,
    },
    /// A child is the parent itself, listed twice, or has proportion 0.
    InvalidChild,
    /// The proportions add up to more than `u64::MAX` (the whole stake).
    ProportionsTooLarge,
    /// A child is already an ancestor of the parent: the relation would loop.
    ChildLoop,
    /// A child has the most parents a hotkey may have.
    TooManyParents {
        /// The bound, [`crate::MAX_PARENTS`].
        max: u32,
    },
    /// The subnet holds the most pending child sets it may; wait for its next epoch.
    PendingChildrenFull,
    /// The new hotkey is already in use (owned, registered or staked to), or is the old one.
    HotkeyInUse,
    /// The parent's stake is below the stake threshold.
    ParentStakeTooLow {
        /// The parent's stake weight.
        have: u64,
        /// The threshold.
        need: u64,
    },
}

impl fmt::Display for StakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StakeError::BelowMinimum { amount } => {
                write!(f, "{amount} rao is below the minimum stake of 2000000")
            }
            StakeError::NoSuchSubnet(n) => write!(f, "no subnet {n}"),
            StakeError::UnknownHotkey => f.write_str("hotkey is not registered"),
            StakeError::NotEnoughStake { have, need } => write!(f, "not enough stake: {have} < {need}"),
            StakeError::SamePosition => f.write_str("source and destination are the same"),
            StakeError::TransfersDisabled(n) => write!(f, "stake transfers are disabled on subnet {n}"),
            StakeError::NotHotkeyOwner => f.write_str("only the hotkey's owner may do this"),
            StakeError::TakeUnchanged => f.write_str("the take must change"),
            StakeError::TakeTooHigh => f.write_str("take above the maximum of 11796"),
            StakeError::RateLimited { until } => write!(f, "rate limited until block {until}"),
            StakeError::NotSystem => f.write_str("only the chain may do this"),
            StakeError::Overflow => f.write_str("amount overflow"),
            StakeError::Token(e) => write!(f, "{e}"),
            StakeError::Subnet(e) => write!(f, "{e}"),
            StakeError::Neuron(e) => write!(f, "{e}"),
            StakeError::Pool(e) => write!(f, "{e}"),
            StakeError::TooManyPositions => f.write_str("too many positions to pay out in one call"),
            StakeError::PositionsFull { max } => {
                write!(
                    f,
                    "this coldkey already holds {max} stake positions, the most allowed: empty one first"
                )
            }
            StakeError::Decode(what) => write!(f, "could not decode {what}"),
            StakeError::StakeTooLowForRoot { have, need } => {
                write!(f, "root is full: {have} rao of root stake, the lowest slot needs {need}")
            }
            StakeError::BadValidatorParams => f.write_str(
                "validator-set parameters out of range: 1 to 1024 validators, a minimum stake above 0, a minimum set size from 1 to K",
            ),
            StakeError::BadConsensusKey => f.write_str(
                "not a compressed secp256k1 key, or the proof is not its signature for this hotkey",
            ),
            StakeError::ConsensusKeyTaken => f.write_str("this consensus key belongs to another hotkey"),
            StakeError::ConsensusKeyUnchanged => f.write_str("the hotkey already has this consensus key"),
            StakeError::BadSlashParams => write!(
                f,
                "slashing parameters out of range: a fraction of at most {} ppb, a window of {} blocks (longer than the {}-block evidence age) to {} blocks",
                crate::PPB,
                crate::MIN_EVIDENCE_WINDOW,
                tao_types::MAX_EVIDENCE_AGE,
                crate::MAX_EVIDENCE_WINDOW
            ),
            StakeError::ConsensusKeyTombstoned => {
                f.write_str("this consensus key was slashed and can never be registered again")
            }
            StakeError::AlreadySlashed => f.write_str("this consensus key was slashed already"),
            StakeError::UnbondingFull { max } => {
                write!(f, "this coldkey already has {max} unbonding entries, the most allowed: wait for a release")
            }
            StakeError::RootStakeBonded => f.write_str(
                "root stake of a validator's hotkey cannot move: unstake it (it unbonds over the evidence window)",
            ),
            StakeError::ChildrenOnRoot => f.write_str("child hotkeys are not allowed on root"),
            StakeError::TooManyChildren { max } => write!(f, "at most {max} children"),
            StakeError::InvalidChild => {
                f.write_str("a child must differ from the parent, appear once and have a proportion above 0")
            }
            StakeError::ProportionsTooLarge => {
                f.write_str("the proportions add up to more than the whole stake")
            }
            StakeError::ChildLoop => f.write_str("a child is already an ancestor of this hotkey"),
            StakeError::TooManyParents { max } => write!(f, "a child already has the most parents ({max})"),
            StakeError::PendingChildrenFull => {
                f.write_str("too many pending child sets on this subnet; try after its next epoch")
            }
            StakeError::HotkeyInUse => f.write_str("the new hotkey is already in use"),
            StakeError::ParentStakeTooLow { have, need } => {
                write!(f, "parent stake {have} rao is below the threshold of {need}")
            }
        }
    }
}

impl From<TokenError> for StakeError {
    fn from(e: TokenError) -> Self {
        StakeError::Token(e)
    }
}

impl From<SubnetError> for StakeError {
    fn from(e: SubnetError) -> Self {
        StakeError::Subnet(e)
    }
}

impl From<NeuronError> for StakeError {
    fn from(e: NeuronError) -> Self {
        StakeError::Neuron(e)
    }
}

impl From<PoolError> for StakeError {
    fn from(e: PoolError) -> Self {
        StakeError::Pool(e)
    }
}

impl From<tao_sdk::Error> for StakeError {
    fn from(e: tao_sdk::Error) -> Self {
        match e {
            tao_sdk::Error::Decode(what) => StakeError::Decode(what),
            tao_sdk::Error::Custom(_) => StakeError::Decode("data"),
        }
    }
}

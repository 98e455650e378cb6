//! Governance: TAO holders change the protocol by stake-weighted vote, without a fork.
//!
//! Anyone proposes an [`Action`] by locking the deposit: set a root-only subnet parameter, the
//! network registration rate limit or the weights stake threshold, or replace a system module's
//! code with deployed code (a forkless upgrade). Coldkeys vote for or against and may change
//! their vote until the voting period ends. At the end ([`on_block`], a begin-block hook) each
//! vote weighs the TAO value of the voter's stake at that moment — root stake 1:1, a subnet's
//! alpha at its pool's spot price — so stake cannot be counted twice by moving it mid-vote.
//! The proposal passes if the votes cast weigh at least `quorum` of all stake and those for it
//! outweigh `threshold` of the votes cast. A passed parameter change applies at once; a code
//! upgrade is scheduled `activation_delay` blocks later and the chain swaps the module at the
//! start of that block ([`upgrades_key`]), so the new code runs from exactly that block on.
//! The deposit comes back when quorum was reached and is burned otherwise.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod error;

use alloc::string::String;
use alloc::vec::Vec;

pub use error::GovError;
use tao_contract_pools as pools;
use tao_contract_staking as staking;
use tao_contract_subnets::{self as subnets, params::PARAMS};
use tao_contract_token::{self as token, SYSTEM};
use tao_contract_weights as weights;
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::{Hash, NetUid, RAO_PER_TAO};

/// Most proposals open at once.
pub const MAX_OPEN: usize = 16;
/// Most voters on one proposal (each vote is weighed at the end).
pub const MAX_VOTERS: usize = 1_024;
/// Longest module name in an upgrade.
pub const MAX_MODULE_NAME: usize = 64;

/// The rules of governance, set at genesis (or by governance itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct GovParams {
    /// TAO locked by a proposal, rao.
    pub deposit: u64,
    /// Blocks a proposal is open for votes.
    pub voting_period: u64,
    /// Share of all stake that must vote, in 65535ths.
    pub quorum: u16,
    /// Share of the votes cast that must be for, in 65535ths (strictly more than this).
    pub threshold: u16,
    /// Blocks between a passed upgrade and the block it activates at.
    pub activation_delay: u64,
}

impl Default for GovParams {
    /// 100 τ deposit, one day (7,200 blocks) of voting, 10% quorum, a simple majority, and
    /// upgrades 100 blocks after they pass.
    fn default() -> Self {
        GovParams {
            deposit: 100 * RAO_PER_TAO,
            voting_period: 7_200,
            quorum: 6_554,
            threshold: 32_767,
            activation_delay: 100,
        }
    }
}

/// What a proposal does if it passes.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub enum Action {
    /// Set any hyperparameter of a subnet, root-only ones included.
    SetHyperparameter {
        /// Subnet.
        netuid: NetUid,
        /// Parameter id (`subnets::params::PARAMS`).
        id: u8,
        /// New value, within the parameter's range.
        value: u64,
    },
    /// Set the blocks between subnet registrations.
    SetNetworkRateLimit(u64),
    /// Set the stake a validator needs to set weights.
    SetStakeThreshold(u64),
    /// Replace the code of system module `name` with deployed code `code`.
    UpgradeModule {
        /// System module name (`token`, `staking`, …).
        name: String,
        /// Code hash of the new, already deployed code.
        code: Hash,
    },
    /// Set TaoWeight, the weight of root stake on every subnet (a fraction of `u64::MAX`).
    SetTaoWeight(u64),
    /// Set the validator set's root parameters (K, minimum stake, epoch).
    SetValidatorParams(staking::ValidatorParams),
    /// Set the slashing parameters (the fraction an equivocation costs, the evidence window).
    SetSlashParams(staking::SlashParams),
}

/// Where a proposal stands.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub enum Status {
    /// Open for votes.
    Voting,
    /// Passed and applied (a parameter change).
    Applied,
    /// Passed; the upgrade activates at this block.
    Scheduled(u64),
    /// Passed, but the action could not be carried out (state changed meanwhile): why.
    Failed(String),
    /// Not passed.
    Rejected {
        /// Whether quorum was reached (the deposit came back).
        quorum_met: bool,
    },
}

/// A proposal.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Proposal {
    /// Who proposed (and locked the deposit).
    pub proposer: Address,
    /// What it does.
    pub action: Action,
    /// Deposit locked, rao.
    pub deposit: u64,
    /// Block it was proposed at.
    pub created_at: u64,
    /// Last block votes are taken; it is decided at the next.
    pub ends_at: u64,
    /// Where it stands.
    pub status: Status,
    /// Stake value (rao) for and against, as weighed when it was decided.
    pub tally: (u128, u128),
    /// Coldkeys that have voted.
    pub voters: u32,
}

const PARAMS_ITEM: Item<GovParams> = Item::new(b"gov/params");
const NEXT_ID: Item<u32> = Item::new(b"gov/next");
const OPEN: Item<Vec<u32>> = Item::new(b"gov/open");
const HELD: Item<u64> = Item::new(b"gov/held");
const PROPOSALS: Map<u32, Proposal> = Map::new(b"gov/proposal/");
const VOTES: Map<(u32, Address), bool> = Map::new(b"gov/vote/");
const UPGRADES: Map<u64, Vec<(String, Hash)>> = Map::new(b"gov/upgrade/");

/// The rules in force.
pub fn params(host: &mut impl Host) -> Result<GovParams, GovError> {
    Ok(PARAMS_ITEM.load(host)?.unwrap_or_default())
}

/// Chain only (genesis): sets the rules.
pub fn set_params(host: &mut impl Host, new: GovParams) -> Result<(), GovError> {
    if host.caller() != SYSTEM {
        return Err(GovError::NotSystem);
    }
    if new.voting_period == 0 || new.quorum == 0 {
        return Err(GovError::BadParams("voting period and quorum must be positive"));
    }
    PARAMS_ITEM.save(host, &new);
    Ok(())
}

/// Storage key of proposal `id` (a borsh [`Proposal`]), for proofs.
pub fn proposal_key(id: u32) -> Vec<u8> {
    PROPOSALS.key(&id)
}

/// Storage key of the upgrades that activate at `height`: a borsh `Vec<(module name, code
/// hash)>` the chain applies before anything else in that block.
pub fn upgrades_key(height: u64) -> Vec<u8> {
    UPGRADES.key(&height)
}

/// Proposal `id`.
pub fn proposal(host: &mut impl Host, id: u32) -> Result<Proposal, GovError> {
    PROPOSALS.load(host, &id)?.ok_or(GovError::NoSuchProposal(id))
}

/// TAO held as proposal deposits.
pub fn held(host: &mut impl Host) -> Result<u64, GovError> {
    Ok(HELD.load(host)?.unwrap_or(0))
}

fn adjust_held(host: &mut impl Host, add: u64, sub: u64) -> Result<(), GovError> {
    let total = held(host)?.checked_add(add).and_then(|h| h.checked_sub(sub)).ok_or(GovError::Overflow)?;
    HELD.save(host, &total);
    Ok(())
}

/// Checks that `action` could be carried out now.
fn check_action(host: &mut impl Host, action: &Action) -> Result<(), GovError> {
    match action {
        Action::SetHyperparameter { netuid, id, value } => {
            if subnets::subnet(host, *netuid).map_err(|_| GovError::Decode("subnet"))?.is_none() {
                return Err(GovError::InvalidAction("no such subnet"));
            }
            let spec = PARAMS.get(usize::from(*id)).ok_or(GovError::InvalidAction("no such parameter"))?;
            if *value < spec.min || *value > spec.max {
                return Err(GovError::InvalidAction("value out of the parameter's range"));
            }
        }
        Action::SetNetworkRateLimit(_) | Action::SetStakeThreshold(_) | Action::SetTaoWeight(_) => {}
        Action::SetValidatorParams(p) => {
            if !p.is_valid() {
                return Err(GovError::InvalidAction("validator-set parameters out of range"));
            }
        }
        Action::SetSlashParams(p) => {
            if !p.is_valid() {
                return Err(GovError::Stake(staking::StakeError::BadSlashParams));
            }
        }
        Action::UpgradeModule { name, code } => {
            if name.len() > MAX_MODULE_NAME
                || host.get(&[tao_abi::MODULE_KEY_PREFIX, name.as_bytes()].concat()).is_none()
            {
                return Err(GovError::InvalidAction("no system module of that name"));
            }
            if host.get(&[tao_abi::CODE_KEY_PREFIX, &code.0].concat()).is_none() {
                return Err(GovError::InvalidAction("the new code is not deployed"));
            }
            let interface = tao_abi::interfaces::of(name)
                .ok_or(GovError::InvalidAction("no interface for that module"))?;
            let entries: Vec<String> = host
                .get(&[tao_abi::ENTRIES_KEY_PREFIX, &code.0].concat())
                .and_then(|bytes| tao_sdk::borsh::from_slice(&bytes).ok())
                .unwrap_or_default();
            if tao_abi::interfaces::missing(interface, &entries).is_some() {
                return Err(GovError::InvalidAction("the new code lacks the module's interface"));
            }
        }
    }
    Ok(())
}

/// `proposer` proposes `action`, locking the deposit. Returns the proposal's id.
pub fn propose(host: &mut impl Host, proposer: &Address, action: Action) -> Result<u32, GovError> {
    check_action(host, &action)?;
    let mut open = OPEN.load(host)?.unwrap_or_default();
    if open.len() >= MAX_OPEN {
        return Err(GovError::TooManyOpen);
    }
    let rules = params(host)?;
    token::withdraw(host, proposer, rules.deposit, true)?;
    adjust_held(host, rules.deposit, 0)?;
    let id = NEXT_ID.load(host)?.unwrap_or(0);
    let now = host.block_height();
    let proposal = Proposal {
        proposer: *proposer,
        action,
        deposit: rules.deposit,
        created_at: now,
        ends_at: now.saturating_add(rules.voting_period),
        status: Status::Voting,
        tally: (0, 0),
        voters: 0,
    };
    PROPOSALS.save(host, &id, &proposal);
    NEXT_ID.save(host, &id.checked_add(1).ok_or(GovError::Overflow)?);
    open.push(id);
    OPEN.save(host, &open);
    host.emit(b"proposed", &tao_sdk::borsh::to_vec(&(id, proposer, proposal.ends_at)).unwrap_or_default());
    Ok(id)
}

/// `voter` votes for (`approve`) or against proposal `id`, replacing any earlier vote.
pub fn vote(host: &mut impl Host, voter: &Address, id: u32, approve: bool) -> Result<(), GovError> {
    let mut proposal = proposal(host, id)?;
    if proposal.status != Status::Voting || host.block_height() > proposal.ends_at {
        return Err(GovError::VotingClosed(id));
    }
    if VOTES.load(host, &(id, *voter))?.is_none() {
        if proposal.voters as usize >= MAX_VOTERS {
            return Err(GovError::TooManyVoters);
        }
        proposal.voters += 1;
        PROPOSALS.save(host, &id, &proposal);
    }
    VOTES.save(host, &(id, *voter), &approve);
    host.emit(b"voted", &tao_sdk::borsh::to_vec(&(id, voter, approve)).unwrap_or_default());
    Ok(())
}

/// The TAO value of `alpha` staked on `netuid` at its pool's spot price (root: 1:1).
fn stake_value(host: &mut impl Host, netuid: NetUid, alpha: u64) -> Result<u128, GovError> {
    if netuid == pools::ROOT {
        return Ok(u128::from(alpha));
    }
    let Some(pool) = pools::pool(host, netuid)? else { return Ok(0) };
    Ok((u128::from(alpha) * u128::from(pool.tao)).checked_div(u128::from(pool.alpha_in)).unwrap_or(0))
}

/// The weight of `coldkey`'s vote: the TAO value of all its stake.
pub fn voting_weight(host: &mut impl Host, coldkey: &Address) -> Result<u128, GovError> {
    let mut weight = 0u128;
    for (_, netuid, alpha) in staking::positions(host, coldkey)? {
        weight += stake_value(host, netuid, alpha)?;
    }
    Ok(weight)
}

/// The TAO value of all stake on the chain (the quorum's base).
pub fn total_weight(host: &mut impl Host) -> Result<u128, GovError> {
    let mut total = 0u128;
    for (netuid, pool) in pools::pools(host)? {
        total += stake_value(host, netuid, pool.alpha_out)?;
    }
    Ok(total)
}

/// `(for, against)` of proposal `id`, weighed now.
pub fn tally(host: &mut impl Host, id: u32) -> Result<(u128, u128), GovError> {
    let (mut yes, mut no) = (0u128, 0u128);
    for ((_, voter), approve) in VOTES.entries_under(host, &id, MAX_VOTERS)? {
        let weight = voting_weight(host, &voter)?;
        if approve { yes += weight } else { no += weight }
    }
    Ok((yes, no))
}

/// Carries out a passed `action`; the status it ends in.
fn execute(host: &mut impl Host, action: &Action, rules: &GovParams) -> Result<Status, GovError> {
    let failed = |e: &dyn core::fmt::Display| Status::Failed(alloc::format!("{e}"));
    Ok(match action {
        Action::SetHyperparameter { netuid, id, value } => {
            subnets::set_hyperparameter(host, &SYSTEM, *netuid, *id, *value)
                .map_or_else(|e| failed(&e), |()| Status::Applied)
        }
        Action::SetNetworkRateLimit(blocks) => subnets::set_network_rate_limit(host, &SYSTEM, *blocks)
            .map_or_else(|e| failed(&e), |()| Status::Applied),
        Action::SetStakeThreshold(stake) => {
            weights::set_stake_threshold(host, *stake).map_or_else(|e| failed(&e), |()| Status::Applied)
        }
        Action::SetTaoWeight(weight) => {
            staking::set_tao_weight(host, *weight).map_or_else(|e| failed(&e), |()| Status::Applied)
        }
        Action::SetValidatorParams(params) => {
            staking::set_validator_params(host, *params).map_or_else(|e| failed(&e), |()| Status::Applied)
        }
        Action::SetSlashParams(params) => {
            staking::set_slash_params(host, *params).map_or_else(|e| failed(&e), |()| Status::Applied)
        }
        Action::UpgradeModule { name, code } => match check_action(host, action) {
            Err(e) => failed(&e),
            Ok(()) => {
                let at = host.block_height().saturating_add(rules.activation_delay.max(1));
                let mut due = UPGRADES.load(host, &at)?.unwrap_or_default();
                due.push((name.clone(), *code));
                UPGRADES.save(host, &at, &due);
                Status::Scheduled(at)
            }
        },
    })
}

/// Decides proposal `id` (its voting period is over).
fn decide(host: &mut impl Host, id: u32, rules: &GovParams) -> Result<(), GovError> {
    let mut proposal = proposal(host, id)?;
    let (yes, no) = tally(host, id)?;
    let total = total_weight(host)?;
    let cast = yes + no;
    let quorum_met = total > 0 && cast * u128::from(u16::MAX) >= total * u128::from(rules.quorum);
    let passed = quorum_met && yes * u128::from(u16::MAX) > cast * u128::from(rules.threshold);
    proposal.status =
        if passed { execute(host, &proposal.action, rules)? } else { Status::Rejected { quorum_met } };
    proposal.tally = (yes, no);
    adjust_held(host, 0, proposal.deposit)?;
    if quorum_met {
        token::deposit(host, &proposal.proposer, proposal.deposit)?;
    } else {
        token::burn_held(host, proposal.deposit)?;
    }
    host.emit(b"decided", &tao_sdk::borsh::to_vec(&(id, &proposal.status, yes, no)).unwrap_or_default());
    PROPOSALS.save(host, &id, &proposal);
    Ok(())
}

/// The begin-block hook (chain only): decides every proposal whose voting period has ended.
/// Returns the ids decided.
pub fn on_block(host: &mut impl Host) -> Result<Vec<u32>, GovError> {
    if host.caller() != SYSTEM {
        return Err(GovError::NotSystem);
    }
    let now = host.block_height();
    let open = OPEN.load(host)?.unwrap_or_default();
    let rules = params(host)?;
    let mut still_open = Vec::with_capacity(open.len());
    let mut decided = Vec::new();
    for id in open {
        if now > proposal(host, id)?.ends_at {
            decide(host, id, &rules)?;
            decided.push(id);
        } else {
            still_open.push(id);
        }
    }
    if !decided.is_empty() {
        OPEN.save(host, &still_open);
    }
    Ok(decided)
}

/// A proposal as listed: with its id and its tally now (or as decided).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Listed {
    /// Id.
    pub id: u32,
    /// The proposal.
    pub proposal: Proposal,
    /// Stake value for and against (live while voting).
    pub tally: (u128, u128),
    /// All stake's value now (the quorum's base).
    pub total: u128,
}

/// The most recent `limit` proposals, newest first.
pub fn list(host: &mut impl Host, limit: u32) -> Result<Vec<Listed>, GovError> {
    let next = NEXT_ID.load(host)?.unwrap_or(0);
    let total = total_weight(host)?;
    let mut out = Vec::new();
    for id in (next.saturating_sub(limit.min(64))..next).rev() {
        let proposal = proposal(host, id)?;
        let tally = if proposal.status == Status::Voting { tally(host, id)? } else { proposal.tally };
        out.push(Listed { id, proposal, tally, total });
    }
    Ok(out)
}

/// Entry point: the caller proposes a borsh [`Action`]; outputs the id.
pub fn entry_propose(host: &mut impl Host) -> Result<(), GovError> {
    let action: Action = host.input_as()?;
    let caller = host.caller();
    let id = propose(host, &caller, action)?;
    host.output_as(&id);
    Ok(())
}

/// Entry point: `(id, approve)` by the caller (a coldkey).
pub fn entry_vote(host: &mut impl Host) -> Result<(), GovError> {
    let (id, approve): (u32, bool) = host.input_as()?;
    let caller = host.caller();
    vote(host, &caller, id, approve)
}

/// Entry point (chain only): decides ended proposals; outputs their ids.
pub fn entry_on_block(host: &mut impl Host) -> Result<(), GovError> {
    let decided = on_block(host)?;
    host.output_as(&decided);
    Ok(())
}

/// Entry point (chain only, genesis): a borsh [`GovParams`].
pub fn entry_set_params(host: &mut impl Host) -> Result<(), GovError> {
    let new: GovParams = host.input_as()?;
    set_params(host, new)
}

/// Entry point: `limit`; outputs `(params, [Listed])`, newest first.
pub fn entry_list(host: &mut impl Host) -> Result<(), GovError> {
    let limit: u32 = host.input_as()?;
    let out = (params(host)?, list(host, limit)?);
    host.output_as(&out);
    Ok(())
}

tao_sdk::entry_points!(entry_propose, entry_vote, entry_on_block, entry_set_params, entry_list);

#[cfg(test)]
mod tests;

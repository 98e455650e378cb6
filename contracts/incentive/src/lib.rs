//! Incentive: Yuma consensus and the emission it distributes.
//!
//! Every block the coinbase issues the block's TAO and splits it across eligible subnets in
//! proportion to their moving alpha prices; each subnet's pool takes its TAO share (with the
//! matching alpha, price-neutrally) and mints the subnet's alpha emission as pending, 18% of it
//! set aside for the owner (see `tao-contract-pools`). When a subnet's epoch is due the chain
//! gathers the epoch's inputs from state, runs [`epoch::run`] — the pure function the simulator
//! runs too — stores the results and pays out in alpha: miner incentive and the owner cut as
//! stake, validator dividends through the validator's share pool (take to its owner). Nothing is
//! lost: what the epoch cannot assign stays pending for the next one.
//!
//! A subnet whose owner set its own incentive module (`subnets::set_incentive_module`) is not
//! run here: [`on_block`] hands it to the chain, which runs the module on [`gather`]'s input
//! with a gas budget and gives the result to [`apply_module_epoch`]. That validates the output
//! (one result per UID, bonds to existing UIDs, no more emission than pending) and pays it out
//! exactly as Yuma's; a module that traps, runs out of gas or returns an invalid output is
//! replaced by Yuma for that epoch, and the epoch record says why.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod epoch;
mod error;
pub mod math;

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

use epoch::{EpochInput, EpochOutput, EpochParams, NeuronInput, NeuronOutput};
pub use error::IncentiveError;
use tao_contract_neurons as neurons;
use tao_contract_pools as pools;
use tao_contract_staking::{self as staking, StakeError};
use tao_contract_subnets::{self as subnets, SubnetInfo, params};
use tao_contract_token::{self as token, SYSTEM};
use tao_contract_weights as weights;
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Map};
use tao_types::{Hash, NetUid, Uid};

/// The owner's cut of each subnet's emission: 18% as `u16` (subtensor's default).
pub const OWNER_CUT: u16 = 11_796;
/// Most epochs run in one block; the rest wait for the next block.
pub const MAX_EPOCHS_PER_BLOCK: usize = 2;

const BONDS: Map<(NetUid, Uid), Vec<(Uid, u16)>> = Map::new(b"incentive/bonds/");
const SCORES: Map<(NetUid, Uid), Scores> = Map::new(b"incentive/scores/");
const EPOCH_RECORDS: Map<NetUid, EpochRecord> = Map::new(b"incentive/epoch-record/");

/// How a subnet's last epoch was computed.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct EpochRecord {
    /// Block it ran at.
    pub block: u64,
    /// The subnet's own module, if it has one (`None`: built-in Yuma).
    pub module: Option<Hash>,
    /// Why the module's result was not used and Yuma ran instead.
    pub fallback: Option<String>,
}

/// A block's due epochs: those run here with Yuma, and those the chain must run with the
/// subnet's own module (then [`apply_module_epoch`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct BlockEpochs {
    /// Subnets whose Yuma epoch ran.
    pub ran: Vec<NetUid>,
    /// Subnets with their module's code hash, for the chain to run.
    pub custom: Vec<(NetUid, Hash)>,
}

/// A UID's results of the last epoch, as stored.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Scores {
    /// Active in the last epoch.
    pub active: bool,
    /// Stake share (`u16`).
    pub stake_weight: u16,
    /// Consensus (`u16`).
    pub consensus: u16,
    /// Incentive (`u16`).
    pub incentive: u16,
    /// Dividends (`u16`).
    pub dividends: u16,
    /// Validator trust (`u16`).
    pub validator_trust: u16,
    /// Rao paid as miner incentive.
    pub server_emission: u64,
    /// Rao paid as validator dividends.
    pub validator_emission: u64,
}

impl From<&NeuronOutput> for Scores {
    fn from(o: &NeuronOutput) -> Self {
        Self {
            active: o.active,
            stake_weight: o.stake_weight,
            consensus: o.consensus,
            incentive: o.incentive,
            dividends: o.dividends,
            validator_trust: o.validator_trust,
            server_emission: o.server_emission,
            validator_emission: o.validator_emission,
        }
    }
}

fn param(host: &mut impl Host, netuid: NetUid, name: &str) -> Result<u64, IncentiveError> {
    let id = params::id_of(name).ok_or(IncentiveError::Decode("parameter"))?;
    Ok(subnets::hyperparameter(host, netuid, id)?)
}

fn param_u16(host: &mut impl Host, netuid: NetUid, name: &str) -> Result<u16, IncentiveError> {
    Ok(u16::try_from(param(host, netuid, name)?).unwrap_or(u16::MAX))
}

/// `netuid`'s pool (every subnet has one).
fn subnet_pool(host: &mut impl Host, netuid: NetUid) -> Result<pools::SubnetPool, IncentiveError> {
    pools::pool(host, netuid)?.ok_or(IncentiveError::Pool(pools::PoolError::NoPool(netuid)))
}

/// Bonds of `uid` on `netuid` from the last epoch.
pub fn bonds(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<Vec<(Uid, u16)>, IncentiveError> {
    Ok(BONDS.load(host, &(netuid, uid))?.unwrap_or_default())
}

/// Storage key of the last epoch's [`Scores`] of (`netuid`, `uid`), for proofs.
pub fn scores_key(netuid: NetUid, uid: Uid) -> Vec<u8> {
    SCORES.key(&(netuid, uid))
}

/// Storage key of `netuid`'s last [`EpochRecord`], for proofs.
pub fn epoch_record_key(netuid: NetUid) -> Vec<u8> {
    EPOCH_RECORDS.key(&netuid)
}

/// How `netuid`'s last epoch was computed.
pub fn epoch_record(host: &mut impl Host, netuid: NetUid) -> Result<Option<EpochRecord>, IncentiveError> {
    Ok(EPOCH_RECORDS.load(host, &netuid)?)
}

/// Results of the last epoch for `uid` on `netuid`.
pub fn scores(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<Scores, IncentiveError> {
    Ok(SCORES.load(host, &(netuid, uid))?.unwrap_or_default())
}

/// Subnets that receive emission: every non-root subnet with registration open.
fn eligible(host: &mut impl Host, all: &[(NetUid, SubnetInfo)]) -> Result<Vec<NetUid>, IncentiveError> {
    let mut out = Vec::new();
    for (netuid, _) in all {
        if *netuid != 0 && param(host, *netuid, "registration_allowed")? == 1 {
            out.push(*netuid);
        }
    }
    Ok(out)
}

/// The coinbase and epoch hook of each block (chain only): issues the block emission into the
/// eligible subnets' pending emission, then takes up to [`MAX_EPOCHS_PER_BLOCK`] due epochs:
/// Yuma ones run now, those of subnets with their own module are returned for the chain.
pub fn on_block(host: &mut impl Host) -> Result<BlockEpochs, IncentiveError> {
    if host.caller() != SYSTEM {
        return Err(IncentiveError::NotSystem);
    }
    // The validator set's epoch (root parameters): computed before this block's emission, so
    // the set is the root stake the previous blocks left.
    staking::validator_epoch(host)?;
    // Root TAO unbonding from validators' hotkeys whose evidence window has passed.
    staking::release_unbonding(host)?;
    let all = subnets::subnets(host)?;
    accrue(host, &all)?;
    let now = host.block_height();
    let mut epochs = BlockEpochs::default();
    for (netuid, info) in &all {
        if epochs.ran.len() + epochs.custom.len() == MAX_EPOCHS_PER_BLOCK {
            break;
        }
        let tempo = param(host, *netuid, "tempo")?;
        if *netuid == 0 || tempo == 0 || now.saturating_sub(subnets::last_epoch(host, *netuid, info)?) < tempo
        {
            continue;
        }
        match subnets::incentive_module(host, *netuid)? {
            Some(module) => epochs.custom.push((*netuid, module)),
            None => {
                run_epoch(host, *netuid, info)?;
                epochs.ran.push(*netuid);
            }
        }
    }
    Ok(epochs)
}

/// Issues this block's TAO and splits it over the eligible subnets by moving price; each
/// subnet's pool injects its share and mints its alpha emission ([`OWNER_CUT`] to the owner).
/// With no eligible subnet nothing is issued.
fn accrue(host: &mut impl Host, all: &[(NetUid, SubnetInfo)]) -> Result<(), IncentiveError> {
    let targets = eligible(host, all)?;
    if targets.is_empty() {
        return Ok(());
    }
    let mut prices = Vec::with_capacity(targets.len());
    for netuid in &targets {
        prices.push(subnet_pool(host, *netuid)?.moving_price);
    }
    let emission = token::issue_block_emission(host)?;
    let now = host.block_height();
    let root_tao = subnet_pool(host, pools::ROOT)?.tao;
    let weighted_root = staking::weighted(root_tao, staking::tao_weight(host)?);
    for (netuid, tao) in targets.into_iter().zip(pools::split_by_price(emission, &prices)) {
        pools::emit_block(host, netuid, tao, OWNER_CUT, weighted_root, now)?;
    }
    Ok(())
}

/// The epoch's inputs for `netuid`, read from state.
pub fn gather(host: &mut impl Host, netuid: NetUid, info: &SubnetInfo) -> Result<EpochInput, IncentiveError> {
    let tempo = param(host, netuid, "tempo")?;
    let cutoff_milli = param(host, netuid, "activity_cutoff_factor_milli")?;
    let commit_reveal = param(host, netuid, "commit_reveal")? == 1;
    let params = EpochParams {
        kappa: param_u16(host, netuid, "kappa")?,
        bonds_penalty: param_u16(host, netuid, "bonds_penalty")?,
        bonds_moving_average: param(host, netuid, "bonds_moving_average")?,
        max_allowed_validators: param_u16(host, netuid, "max_allowed_validators")?,
        activity_cutoff: ((u128::from(tempo) * u128::from(cutoff_milli) / 1000) as u64).max(1),
        stake_threshold: weights::stake_threshold(host)?,
        yuma3: param(host, netuid, "yuma3")? == 1,
        liquid_alpha: param(host, netuid, "liquid_alpha")? == 1,
        alpha_low: param_u16(host, netuid, "alpha_low")?,
        alpha_high: param_u16(host, netuid, "alpha_high")?,
        alpha_sigmoid_steepness: param_u16(host, netuid, "alpha_sigmoid_steepness")?,
        tempo,
    };
    let n = neurons::count(host, netuid)?;
    let mut inputs = Vec::with_capacity(usize::from(n));
    for uid in 0..n {
        let Some(neuron) = neurons::neuron(host, netuid, uid)? else {
            inputs.push(NeuronInput::default());
            continue;
        };
        let commit_block =
            if commit_reveal { weights::earliest_commit_block(host, netuid, &neuron.hotkey)? } else { None };
        inputs.push(NeuronInput {
            stake: staking::epoch_stake(host, &neuron.hotkey, netuid)?,
            registered_at: neuron.registered_at,
            last_update: weights::last_update(host, netuid, uid)?,
            permit: weights::permit(host, netuid, uid)?,
            weights: weights::weights(host, netuid, uid)?,
            bonds: bonds(host, netuid, uid)?,
            commit_block,
        });
    }
    Ok(EpochInput {
        block: host.block_height(),
        last_epoch_block: subnets::last_epoch(host, netuid, info)?,
        emission: subnet_pool(host, netuid)?.pending,
        owner: neurons::uid_of(host, netuid, &info.owner_hotkey)?,
        params,
        neurons: inputs,
    })
}

/// Runs `netuid`'s Yuma epoch now: gathers, computes, stores the results and pays out.
pub fn run_epoch(
    host: &mut impl Host,
    netuid: NetUid,
    info: &SubnetInfo,
) -> Result<EpochOutput, IncentiveError> {
    let input = gather(host, netuid, info)?;
    let output = epoch::run(&input).map_err(IncentiveError::Epoch)?;
    let record = EpochRecord { block: host.block_height(), module: None, fallback: None };
    settle_output(host, netuid, info, &input, &output, record)?;
    Ok(output)
}

/// Chain only: completes `netuid`'s epoch from its own `module`'s `result` (the output bytes,
/// or why the module failed). A valid output is paid like Yuma's; otherwise Yuma runs instead
/// and an `epoch_fallback` event and the epoch record say why.
pub fn apply_module_epoch(
    host: &mut impl Host,
    netuid: NetUid,
    module: Hash,
    result: Result<Vec<u8>, String>,
) -> Result<EpochOutput, IncentiveError> {
    if host.caller() != SYSTEM {
        return Err(IncentiveError::NotSystem);
    }
    let info = subnets::subnet(host, netuid)?.ok_or(subnets::SubnetError::NoSuchSubnet(netuid))?;
    let input = gather(host, netuid, &info)?;
    let checked = result.and_then(|bytes| {
        let output =
            EpochOutput::try_from_slice(&bytes).map_err(|_| String::from("output does not decode"))?;
        validate(&input, output)
    });
    let (output, fallback) = match checked {
        Ok(output) => (output, None),
        Err(why) => {
            host.emit(
                b"epoch_fallback",
                &tao_sdk::borsh::to_vec(&(netuid, module, &why)).unwrap_or_default(),
            );
            (epoch::run(&input).map_err(IncentiveError::Epoch)?, Some(why))
        }
    };
    let record = EpochRecord { block: host.block_height(), module: Some(module), fallback };
    settle_output(host, netuid, &info, &input, &output, record)?;
    Ok(output)
}

/// Checks a module's output against its input: one result per UID, bonds sorted and to existing
/// UIDs, no more paid than pending (the rest stays pending, whatever the module claims).
pub fn validate(input: &EpochInput, mut output: EpochOutput) -> Result<EpochOutput, String> {
    let n = input.neurons.len();
    if output.neurons.len() != n {
        return Err(alloc::format!("{} results for {n} neurons", output.neurons.len()));
    }
    let mut paid = 0u128;
    for (uid, result) in output.neurons.iter().enumerate() {
        paid += u128::from(result.server_emission) + u128::from(result.validator_emission);
        let in_range = result.bonds.iter().all(|(target, _)| usize::from(*target) < n);
        let ascending = result.bonds.windows(2).all(|w| w[0].0 < w[1].0);
        if !in_range || !ascending {
            return Err(alloc::format!("uid {uid}: bonds must be to existing uids, in ascending order"));
        }
    }
    if paid > u128::from(input.emission) {
        return Err(alloc::format!("pays {paid} rao, more than the epoch's {}", input.emission));
    }
    output.undistributed = input.emission - paid as u64;
    Ok(output)
}

/// Stores an epoch's results, pays them out and records how they were computed.
fn settle_output(
    host: &mut impl Host,
    netuid: NetUid,
    info: &SubnetInfo,
    input: &EpochInput,
    output: &EpochOutput,
    record: EpochRecord,
) -> Result<(), IncentiveError> {
    let (dividends, unassigned) = hotkey_dividends(host, netuid, output)?;
    let split = split_dividends(host, netuid, &dividends)?;
    let total: u64 = dividends.iter().map(|(_, d)| d).sum();
    let split_paid: u64 = split.iter().map(|(a, r)| a + r).sum();
    let mut unpaid = output.undistributed.saturating_add(unassigned).saturating_add(total - split_paid);
    for (uid, result) in output.neurons.iter().enumerate() {
        let uid = uid as Uid;
        weights::set_permit(host, netuid, uid, result.permit)?;
        BONDS.save(host, &(netuid, uid), &result.bonds);
        SCORES.save(host, &(netuid, uid), &Scores::from(result));
        neurons::set_emission(
            host,
            netuid,
            uid,
            result.server_emission.saturating_add(result.validator_emission),
        );
        unpaid = unpaid.saturating_add(pay_server(host, netuid, uid, result.server_emission)?);
    }
    for ((hotkey, _), (alpha, root)) in dividends.iter().zip(split) {
        unpaid = unpaid.saturating_add(pay_dividend(host, netuid, hotkey, alpha, root)?);
    }
    let owner_cut = subnet_pool(host, netuid)?.pending_owner;
    let owner_unpaid = unpaid_if_full(
        staking::stake_emission(host, &info.owner_coldkey, &info.owner_hotkey, netuid, owner_cut),
        owner_cut,
    )?;
    let paid = input.emission.saturating_sub(unpaid).saturating_add(owner_cut - owner_unpaid);
    pools::settle_epoch(host, netuid, unpaid.saturating_add(owner_unpaid))?;
    let now = host.block_height();
    subnets::set_last_epoch(host, netuid, now);
    EPOCH_RECORDS.save(host, &netuid, &record);
    host.emit(b"epoch", &tao_sdk::borsh::to_vec(&(netuid, paid, unpaid)).unwrap_or_default());
    Ok(staking::apply_pending_children(host, netuid)?)
}

/// Each UID's validator emission shared with its hotkey's parents
/// ([`staking::split_with_parents`]), summed per hotkey in order of first appearance (UIDs
/// ascending, each followed by its parents). Returns those and the emission of UIDs with no
/// neuron.
fn hotkey_dividends(
    host: &mut impl Host,
    netuid: NetUid,
    output: &EpochOutput,
) -> Result<(Vec<(Address, u64)>, u64), IncentiveError> {
    let mut out: Vec<(Address, u64)> = Vec::new();
    let mut at: BTreeMap<Address, usize> = BTreeMap::new();
    let mut unassigned = 0u64;
    for (uid, result) in output.neurons.iter().enumerate() {
        let d = result.validator_emission;
        if d == 0 {
            continue;
        }
        let Some(neuron) = neurons::neuron(host, netuid, uid as Uid)? else {
            unassigned = unassigned.saturating_add(d);
            continue;
        };
        for (hotkey, amount) in staking::split_with_parents(host, &neuron.hotkey, netuid, d)? {
            match at.get(&hotkey) {
                Some(&i) => out[i].1 = out[i].1.saturating_add(amount),
                None => {
                    at.insert(hotkey, out.len());
                    out.push((hotkey, amount));
                }
            }
        }
    }
    Ok((out, unassigned))
}

/// Splits each hotkey's dividends d into its alpha part and its root part, as subtensor's
/// `distribute_emission` does: per hotkey rp = w·τ / (α + w·τ) from its own stakes (α its alpha
/// on the subnet, τ its root stake, w TaoWeight), raw parts d·(1 − rp) and d·rp; then the root
/// parts are rescaled to sum to R = min(the subnet's pending root alpha, Σd) and the alpha parts
/// to Σd − R (each floored; the remainders stay pending). If no validator has root stake the
/// alpha parts take all of Σd, and the reverse.
fn split_dividends(
    host: &mut impl Host,
    netuid: NetUid,
    dividends: &[(Address, u64)],
) -> Result<Vec<(u64, u64)>, IncentiveError> {
    let tao_weight = staking::tao_weight(host)?;
    let mut raw = Vec::with_capacity(dividends.len());
    for (hotkey, d) in dividends {
        let alpha = u128::from(staking::pool(host, hotkey, netuid)?.stake);
        let root = u128::from(staking::weighted(staking::root_stake(host, hotkey)?, tao_weight));
        let root_raw = (u128::from(*d) * root).checked_div(alpha + root).unwrap_or(0) as u64;
        raw.push((d - root_raw, root_raw));
    }
    let total: u128 = dividends.iter().map(|(_, d)| u128::from(*d)).sum();
    let alpha_raw: u128 = raw.iter().map(|r| u128::from(r.0)).sum();
    let root_raw: u128 = raw.iter().map(|r| u128::from(r.1)).sum();
    let pending_root = u128::from(subnet_pool(host, netuid)?.pending_root).min(total);
    let root_target = match (alpha_raw, root_raw) {
        (_, 0) => 0,
        (0, _) => total,
        _ => pending_root,
    };
    let scale =
        |part: u64, sum: u128, target: u128| (u128::from(part) * target).checked_div(sum).unwrap_or(0) as u64;
    Ok(raw
        .iter()
        .map(|(a, r)| (scale(*a, alpha_raw, total - root_target), scale(*r, root_raw, root_target)))
        .collect())
}

/// Pays one UID's miner incentive as stake to its hotkey (owned by the hotkey's coldkey).
/// Returns what could not be paid (no neuron or owner, or an owner already holding the most
/// positions a coldkey may).
fn pay_server(host: &mut impl Host, netuid: NetUid, uid: Uid, amount: u64) -> Result<u64, IncentiveError> {
    if amount == 0 {
        return Ok(0);
    }
    let Some(neuron) = neurons::neuron(host, netuid, uid)? else { return Ok(amount) };
    let Some(coldkey) = neurons::hotkey_owner(host, &neuron.hotkey)? else { return Ok(amount) };
    unpaid_if_full(staking::stake_emission(host, &coldkey, &neuron.hotkey, netuid, amount), amount)
}

/// Pays one hotkey's dividends: the alpha part through its share pool, the root part to its
/// root stakers. Returns what could not be paid (no owner, a full owner index, or a root part
/// with nobody to take it).
fn pay_dividend(
    host: &mut impl Host,
    netuid: NetUid,
    hotkey: &Address,
    alpha: u64,
    root: u64,
) -> Result<u64, IncentiveError> {
    if neurons::hotkey_owner(host, hotkey)?.is_none() {
        return Ok(alpha.saturating_add(root));
    }
    let mut unpaid = 0;
    if alpha > 0 {
        let dividend = staking::distribute_dividend(host, hotkey, netuid, alpha);
        unpaid += unpaid_if_full(dividend.map(|_| ()), alpha)?;
    }
    if root > 0 {
        unpaid += staking::distribute_root_dividend(host, hotkey, netuid, root)?;
    }
    Ok(unpaid)
}

/// `amount` if a payment failed because its coldkey holds the most positions it may (the
/// payment wrote nothing; the emission stays pending), 0 if it was paid.
fn unpaid_if_full(paid: Result<(), StakeError>, amount: u64) -> Result<u64, IncentiveError> {
    match paid {
        Ok(()) => Ok(0),
        Err(StakeError::PositionsFull { .. }) => Ok(amount),
        Err(e) => Err(e.into()),
    }
}

/// Entry point (pure, for the simulator and the wallet): a borsh [`EpochInput`] in, a borsh
/// [`EpochOutput`] out.
pub fn entry_epoch(host: &mut impl Host) -> Result<(), IncentiveError> {
    let input: EpochInput = host.input_as()?;
    let output = epoch::run(&input).map_err(IncentiveError::Epoch)?;
    host.output_as(&output);
    Ok(())
}

/// Entry point (chain only): the block's coinbase and due epochs; outputs [`BlockEpochs`].
pub fn entry_on_block(host: &mut impl Host) -> Result<(), IncentiveError> {
    let epochs = on_block(host)?;
    host.output_as(&epochs);
    Ok(())
}

/// Entry point: `netuid`; outputs the borsh [`EpochInput`] its epoch would run on now (what
/// the chain gives a subnet's module, and what `tao epoch simulate` can replay).
pub fn entry_epoch_input(host: &mut impl Host) -> Result<(), IncentiveError> {
    let netuid: NetUid = host.input_as()?;
    let info = subnets::subnet(host, netuid)?.ok_or(subnets::SubnetError::NoSuchSubnet(netuid))?;
    let input = gather(host, netuid, &info)?;
    host.output_as(&input);
    Ok(())
}

/// Entry point (chain only): `(netuid, module hash, Result<output bytes, failure>)`.
pub fn entry_apply_module_epoch(host: &mut impl Host) -> Result<(), IncentiveError> {
    let (netuid, module, result): (NetUid, Hash, Result<Vec<u8>, String>) = host.input_as()?;
    apply_module_epoch(host, netuid, module, result)?;
    Ok(())
}

/// Entry point: outputs `(scores, bonds)` of `(netuid, uid)`.
pub fn entry_query(host: &mut impl Host) -> Result<(), IncentiveError> {
    let (netuid, uid): (NetUid, Uid) = host.input_as()?;
    let out = (scores(host, netuid, uid)?, bonds(host, netuid, uid)?);
    host.output_as(&out);
    Ok(())
}

tao_sdk::entry_points!(entry_epoch, entry_on_block, entry_epoch_input, entry_apply_module_epoch, entry_query);

#[cfg(test)]
mod tests;
#[cfg(test)]
mod vectors;

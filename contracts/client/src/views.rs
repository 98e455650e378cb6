//! What the wallet's screens show, computed by the contracts' own read functions. Each takes any
//! [`Host`]: the wallet passes a [`crate::proven::ProvenHost`], so every number on screen comes
//! from the same code the chain runs, over values proven against a certified root.

use tao_abi::access::QUERY_CALLER;
use tao_contract_incentive as incentive;
use tao_contract_neurons as neurons;
use tao_contract_pools as pools;
use tao_contract_staking as staking;
use tao_contract_subnets::{self as subnets, params::PARAMS};
use tao_contract_token as token;
use tao_contract_weights as weights;
use tao_light::keys;
use tao_sdk::Host;
use tao_types::{Address, Hash, NetUid};

use crate::code::ModuleCode;
use crate::proven::ProvenHost;
use crate::wasm::Access;

/// A read failed inside contract code (a stored value did not decode).
pub type ViewResult<T> = Result<T, String>;

/// A contract error as the wallet shows it: its amounts in τ, not rao.
pub fn text(e: impl core::fmt::Display) -> String {
    tao_types::amounts_in_tao(&e.to_string())
}

/// A stake position: a coldkey's stake through `hotkey` on `netuid`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Position {
    /// Validator hotkey.
    pub hotkey: Address,
    /// Subnet.
    pub netuid: NetUid,
}

/// One position's value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PositionView {
    /// Where.
    pub position: Position,
    /// Stake held (alpha on a subnet, TAO on root), in rao.
    pub stake: u64,
    /// TAO the stake would fetch if unstaked now (after the pool's fee and price impact).
    pub tao_value: u64,
}

/// Free, staked and total TAO of an account, and its next nonce.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AccountView {
    /// The account.
    pub address: Address,
    /// Transferable balance, rao.
    pub free: u64,
    /// Sum of the positions' TAO value, rao.
    pub staked: u64,
    /// free + staked.
    pub total: u64,
    /// The next nonce the chain expects.
    pub nonce: u64,
    /// Every position the chain's index lists for the account, wherever it was made.
    pub positions: Vec<PositionView>,
}

/// TAO that selling `alpha` on `netuid` would give now (root: one for one).
pub fn tao_value(host: &mut impl Host, netuid: NetUid, alpha: u64) -> ViewResult<u64> {
    if netuid == pools::ROOT || alpha == 0 {
        return Ok(alpha);
    }
    let Some(pool) = pools::pool(host, netuid).map_err(text)? else { return Ok(0) };
    Ok(pools::quote(&pool, netuid, pools::Side::Sell, alpha).map(|s| s.output).unwrap_or(0))
}

/// The next nonce the chain expects from `address`.
pub fn nonce(host: &mut impl Host, address: &Address) -> u64 {
    keys::nonce_value(host.get(&keys::nonce(address)).as_deref())
}

/// `address`'s balances and every stake position it holds: the staking contract's own
/// `positions`, which reads the chain's per-coldkey index (one proven key) and then each
/// position, so stakes made anywhere (CLI, genesis, another device) are shown.
pub fn account(host: &mut impl Host, address: &Address) -> ViewResult<AccountView> {
    let free = token::balance(host, address).map_err(text)?;
    let nonce = nonce(host, address);
    let mut positions = Vec::new();
    for (hotkey, netuid, stake) in staking::positions(host, address).map_err(text)? {
        let tao_value = tao_value(host, netuid, stake)?;
        positions.push(PositionView { position: Position { hotkey, netuid }, stake, tao_value });
    }
    let staked = positions.iter().fold(0u64, |sum, p| sum.saturating_add(p.tao_value));
    Ok(AccountView { address: *address, free, staked, total: free.saturating_add(staked), nonce, positions })
}

/// A subnet in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetRow {
    /// Id.
    pub netuid: NetUid,
    /// Display name.
    pub name: String,
    /// Owner coldkey.
    pub owner: Address,
    /// Registration block.
    pub registered_at: u64,
    /// Registered neurons.
    pub neurons: u16,
    /// Spot price, rao per alpha.
    pub price: u64,
    /// TAO in the pool.
    pub tao_in: u64,
}

/// Every subnet (each id up to the limit is read, so an absent one is proven absent).
pub fn subnets(host: &mut impl Host) -> ViewResult<Vec<SubnetRow>> {
    let mut rows = Vec::new();
    for netuid in 0..subnets::SUBNET_LIMIT {
        let Some(info) = subnets::subnet(host, netuid).map_err(text)? else { continue };
        let pool = pools::pool(host, netuid).map_err(text)?.unwrap_or_default();
        rows.push(SubnetRow {
            netuid,
            name: info.identity.name.clone(),
            owner: info.owner_coldkey,
            registered_at: info.registered_at,
            neurons: neurons::count(host, netuid).map_err(text)?,
            price: pools::price_in_rao(pool.spot_price(netuid)),
            tao_in: pool.tao,
        });
    }
    Ok(rows)
}

/// A subnet's page: identity, every hyperparameter, its pool and how its last epoch ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct SubnetView {
    /// Id.
    pub netuid: NetUid,
    /// Display name.
    pub name: String,
    /// Owner coldkey.
    pub owner: Address,
    /// Owner hotkey.
    pub owner_hotkey: Address,
    /// Registration block.
    pub registered_at: u64,
    /// TAO the owner locked to create it, rao.
    pub locked: u64,
    /// `(name, value)` of every hyperparameter.
    pub hyperparameters: Vec<(&'static str, u64)>,
    /// Pool TAO reserve.
    pub tao_in: u64,
    /// Pool alpha reserve.
    pub alpha_in: u64,
    /// Spot price, rao per alpha.
    pub price: u64,
    /// Moving price, rao per alpha.
    pub moving_price: u64,
    /// The subnet's own incentive module, if any.
    pub module: Option<Hash>,
    /// How the last epoch ran.
    #[serde(skip)]
    pub last_epoch: Option<incentive::EpochRecord>,
}

/// `netuid`'s page, or `None` if there is no such subnet.
pub fn subnet(host: &mut impl Host, netuid: NetUid) -> ViewResult<Option<SubnetView>> {
    let Some(info) = subnets::subnet(host, netuid).map_err(text)? else { return Ok(None) };
    let mut hyperparameters = Vec::with_capacity(PARAMS.len());
    for (id, spec) in PARAMS.iter().enumerate() {
        hyperparameters.push((spec.name, subnets::hyperparameter(host, netuid, id as u8).map_err(text)?));
    }
    let pool = pools::pool(host, netuid).map_err(text)?.unwrap_or_default();
    let module = host.get(&subnets::incentive_module_key(netuid)).and_then(|b| borsh::from_slice(&b).ok());
    let record = incentive::epoch_record(host, netuid).map_err(text)?;
    Ok(Some(SubnetView {
        netuid,
        name: info.identity.name.clone(),
        owner: info.owner_coldkey,
        owner_hotkey: info.owner_hotkey,
        registered_at: info.registered_at,
        locked: info.locked,
        hyperparameters,
        tao_in: pool.tao,
        alpha_in: pool.alpha_in,
        price: pools::price_in_rao(pool.spot_price(netuid)),
        moving_price: pools::price_in_rao(pool.moving_price),
        module,
        last_epoch: record,
    }))
}

/// One row of the metagraph.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct NeuronRow {
    /// UID.
    pub uid: u16,
    /// Hotkey.
    pub hotkey: Address,
    /// Stake through the hotkey on this subnet (alpha rao).
    pub stake: u64,
    /// Validator take (u16 fraction).
    pub take: u16,
    /// Last epoch's consensus, incentive, dividends and validator trust (u16 fractions).
    pub consensus: u16,
    /// Incentive.
    pub incentive: u16,
    /// Dividends.
    pub dividends: u16,
    /// Validator trust.
    pub trust: u16,
    /// Emission of the last epoch (miner + validator), alpha rao.
    pub emission: u64,
    /// Holds a validator permit.
    pub permit: bool,
    /// Was active in the last epoch.
    pub active: bool,
    /// Where its axon listens (`ip:port`), if it served one.
    pub axon: Option<String>,
}

/// Every neuron of `netuid` (the proven UID count bounds the list, so none is left out).
pub fn metagraph(host: &mut impl Host, netuid: NetUid) -> ViewResult<Vec<NeuronRow>> {
    let n = neurons::count(host, netuid).map_err(text)?;
    let mut rows = Vec::with_capacity(usize::from(n));
    for uid in 0..n {
        let Some(neuron) = neurons::neuron(host, netuid, uid).map_err(text)? else { continue };
        let scores = incentive::scores(host, netuid, uid).map_err(text)?;
        rows.push(NeuronRow {
            uid,
            hotkey: neuron.hotkey,
            stake: staking::pool(host, &neuron.hotkey, netuid).map_err(text)?.stake,
            take: staking::take(host, &neuron.hotkey).map_err(text)?,
            consensus: scores.consensus,
            incentive: scores.incentive,
            dividends: scores.dividends,
            trust: scores.validator_trust,
            emission: scores.server_emission.saturating_add(scores.validator_emission),
            permit: weights::permit(host, netuid, uid).map_err(text)?,
            active: scores.active,
            axon: neurons::axon(host, netuid, uid)
                .map_err(text)?
                .and_then(|a| a.socket_addr())
                .map(|a| a.to_string()),
        });
    }
    Ok(rows)
}

/// The code hash of system module `name` (proven, so the wallet never signs for a module the
/// node made up).
pub fn module_hash(host: &mut impl Host, name: &str) -> ViewResult<Hash> {
    let bytes = host.get(&keys::module(name)).ok_or_else(|| format!("no system module {name}"))?;
    let hash: [u8; 32] = bytes.try_into().map_err(|_| format!("module {name}: not a code hash"))?;
    Ok(Hash(hash))
}

/// Outcome of re-running a subnet's last Yuma epoch in the wallet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EpochCheck {
    /// The subnet.
    pub netuid: NetUid,
    /// The epoch's block.
    pub block: u64,
    /// UIDs compared.
    pub neurons: usize,
    /// What differs between the re-run and the proven scores (`UID n: …`).
    pub mismatches: Vec<String>,
    /// Which code re-ran it ([`ModuleCode::describe`]).
    pub code: String,
}

/// The inputs of `netuid`'s epoch, as the chain's incentive module (`incentive`, run as the
/// chain does) gathers them: run this on the state of the block before the epoch, with the
/// epoch's block as the block height.
pub fn epoch_input(
    host: &mut ProvenHost,
    incentive: &ModuleCode,
    netuid: NetUid,
) -> ViewResult<incentive::epoch::EpochInput> {
    let call = crate::code::system_call("entry_epoch_input", borsh::to_vec(&netuid).map_err(text)?);
    let bytes = incentive.call(host, call)?;
    tao_codec::decode(&bytes, tao_abi::limits::MAX_OUTPUT_BYTES as usize).map_err(text)
}

/// The epoch's results as `runner` computes them from `input`: the subnet's own module (read-only,
/// its output checked as the chain checks it) or the incentive module's Yuma.
pub fn epoch_output(
    host: &mut ProvenHost,
    runner: &ModuleCode,
    input: &incentive::epoch::EpochInput,
    own_module: bool,
) -> ViewResult<incentive::epoch::EpochOutput> {
    let call = crate::wasm::Call {
        entry: "entry_epoch",
        caller: QUERY_CALLER,
        input: borsh::to_vec(input).map_err(text)?,
        access: if own_module { Access::ReadOnly } else { Access::System },
        fuel: crate::wasm::FUEL,
    };
    let bytes = runner.call(host, call)?;
    let output = tao_codec::decode(&bytes, tao_abi::limits::MAX_OUTPUT_BYTES as usize).map_err(text)?;
    if own_module { incentive::validate(input, output) } else { Ok(output) }
}

/// The proven scores of every UID after the epoch (run on the epoch block's state).
pub fn epoch_scores(host: &mut impl Host, netuid: NetUid, n: usize) -> ViewResult<Vec<incentive::Scores>> {
    (0..n as u16).map(|uid| incentive::scores(host, netuid, uid).map_err(text)).collect()
}

/// Compares each UID's shares in `output` (the re-run) with `proven`, the scores the chain
/// stored. Emissions are left out: the pending emission the epoch paid also includes the epoch
/// block's own coinbase. `code` says which code re-ran it.
pub fn check_epoch(
    netuid: NetUid,
    block: u64,
    output: &incentive::epoch::EpochOutput,
    proven: &[incentive::Scores],
    code: String,
) -> EpochCheck {
    let mut mismatches = Vec::new();
    for (uid, (ours, theirs)) in output.neurons.iter().zip(proven).enumerate() {
        let pairs = [
            ("consensus", ours.consensus, theirs.consensus),
            ("incentive", ours.incentive, theirs.incentive),
            ("dividends", ours.dividends, theirs.dividends),
            ("validator trust", ours.validator_trust, theirs.validator_trust),
            ("stake weight", ours.stake_weight, theirs.stake_weight),
        ];
        for (name, a, b) in pairs {
            if a != b {
                mismatches.push(format!("UID {uid}: {name} re-run {a}, chain {b}"));
            }
        }
    }
    if output.neurons.len() != proven.len() {
        mismatches.push(format!("{} UIDs re-run, {} on chain", output.neurons.len(), proven.len()));
    }
    EpochCheck { netuid, block, neurons: proven.len(), mismatches, code }
}

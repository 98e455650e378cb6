//! The proven read methods of docs/rpc.md over any source of proven values: the node's own
//! store, or (in `tao light`) a node whose every proof was checked against a certified root.
//! One implementation, so a verifying proxy answers exactly what the node would.

use jsonrpsee::types::{ErrorObjectOwned, Params};
use tao_chain::keys;
use tao_contract_pools as pools;
use tao_rpc::{self as schema, Decimal, Proven, ProvenAs};
use tao_types::Address;

use super::{RpcResult, code, error, node_error, unhex};

/// A typed reply or the error to answer.
type Reply<T> = Result<T, ErrorObjectOwned>;

/// The methods answered from proven values alone.
pub const METHODS: &[&str] = &[
    "state_get",
    "account_get",
    "subnet_get",
    "stake_get",
    "neuron_get",
    "subnet_metagraph",
    "pool_get",
    "pool_quote",
    "gov_proposal",
];

/// Where proven values come from.
pub trait Proofs {
    /// The height to answer at: `asked`, or the newest the source trusts.
    fn height(&mut self, asked: Option<u64>) -> Result<u64, ErrorObjectOwned>;
    /// The value under `key` at `height` with its proof.
    fn proven(&mut self, key: &[u8], height: u64) -> Reply<Proven>;
    /// The next nonce counting pending transactions (`proven`: the committed one). Not
    /// provable: a mempool's view.
    fn pending_nonce(&mut self, address: &Address, proven: u64) -> Result<u64, ErrorObjectOwned>;
}

/// Answers read `method` (one of [`METHODS`]) from `source`.
pub fn call(method: &str, params: Params<'_>, source: &mut impl Proofs) -> RpcResult {
    match method {
        "state_get" => state_get(source, params).map(|r| schema::encode(&r)),
        "account_get" => account(source, params).map(|r| schema::encode(&r)),
        "subnet_get" => subnet_get(source, params).map(|r| schema::encode(&r)),
        "stake_get" => stake_get(source, params).map(|r| schema::encode(&r)),
        "neuron_get" => neuron_get(source, params).map(|r| schema::encode(&r)),
        "subnet_metagraph" => subnet_metagraph(source, params).map(|r| schema::encode(&r)),
        "pool_get" => pool_get(source, params).map(|r| schema::encode(&r)),
        "pool_quote" => pool_quote(source, params).map(|r| schema::encode(&r)),
        "gov_proposal" => gov_proposal(source, params).map(|r| schema::encode(&r)),
        other => Err(error(
            jsonrpsee::types::error::METHOD_NOT_FOUND_CODE,
            format!("{other} is not a proven read"),
        )),
    }
}

fn state_get(source: &mut impl Proofs, params: Params<'_>) -> Reply<Proven> {
    let mut seq = params.sequence();
    let key: String = seq.next()?;
    let height = source.height(seq.optional_next()?)?;
    source.proven(&unhex(&key)?, height)
}

fn account(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::Account> {
    let mut seq = params.sequence();
    let address: Address = seq.next()?;
    let height = source.height(seq.optional_next()?)?;
    let balance = source.proven(&tao_contract_token::balance_key(&address), height)?;
    let nonce = source.proven(&keys::nonce(&address), height)?;
    let nonce_value = keys::nonce_value(nonce.value.as_ref().map(|v| v.0.as_slice()));
    Ok(schema::Account {
        address,
        height: balance.height,
        root: balance.root,
        balance: decoded::<u64>(&balance)?.unwrap_or(0),
        nonce: nonce_value,
        pending_nonce: source.pending_nonce(&address, nonce_value)?,
        proofs: schema::AccountProofs { balance, nonce },
    })
}

/// The borsh value of a proven value, if present.
fn decoded<T: borsh::BorshDeserialize>(proven: &Proven) -> Reply<Option<T>> {
    let Some(bytes) = &proven.value else { return Ok(None) };
    let value =
        borsh::from_slice(&bytes.0).map_err(|e| node_error(format!("stored value does not decode: {e}")))?;
    Ok(Some(value))
}

/// A proven value with its borsh decoding beside it.
fn proven_as<T: borsh::BorshDeserialize>(
    source: &mut impl Proofs,
    key: &[u8],
    height: u64,
) -> Reply<ProvenAs<T>> {
    let proven = source.proven(key, height)?;
    Ok(ProvenAs { decoded: decoded::<T>(&proven)?, proven })
}

/// A subnet's info and every hyperparameter, each proven (an absent parameter proves its
/// default).
fn subnet_get(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::Subnet> {
    use tao_contract_subnets::{self as subnets, params::PARAMS};
    let mut seq = params.sequence();
    let netuid: u16 = seq.next()?;
    let height = source.height(seq.optional_next()?)?;
    let info = source.proven(&subnets::info_key(netuid), height)?;
    if info.value.is_none() {
        return Err(error(code::NO_STATE, format!("no subnet {netuid} at height {height}")));
    }
    let mut hyperparameters = Vec::with_capacity(PARAMS.len());
    for (id, spec) in PARAMS.iter().enumerate() {
        let stored = proven_as::<u64>(source, &subnets::param_key(netuid, id as u8), height)?;
        let effective = stored.decoded.unwrap_or(spec.default);
        hyperparameters.push(schema::Hyperparameter { stored, name: spec.name.to_string(), effective });
    }
    Ok(schema::Subnet { netuid, height, info, hyperparameters })
}

/// A coldkey's stake through a hotkey on a subnet: the pool and the shares, both proven.
fn stake_get(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::Stake> {
    use tao_contract_staking as staking;
    let mut seq = params.sequence();
    let (coldkey, hotkey, netuid): (Address, Address, u16) = (seq.next()?, seq.next()?, seq.next()?);
    let height = source.height(seq.optional_next()?)?;
    let pool = source.proven(&staking::pool_key(&hotkey, netuid), height)?;
    let shares = source.proven(&staking::shares_key(&coldkey, &hotkey, netuid), height)?;
    let pool_value: staking::Pool = decoded(&pool)?.unwrap_or_default();
    let held: u128 = decoded(&shares)?.unwrap_or(0);
    let stake = held.saturating_mul(u128::from(pool_value.stake)).checked_div(pool_value.shares).unwrap_or(0);
    Ok(schema::Stake {
        coldkey,
        hotkey,
        netuid,
        height,
        stake: stake as u64,
        pool_stake: pool_value.stake,
        pool_shares: Decimal(pool_value.shares),
        shares: Decimal(held),
        proofs: schema::StakeProofs { pool, shares },
    })
}

/// `netuid`'s pool, proven, with its state decoded and its spot and moving prices in rao per
/// alpha.
fn pool_get(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::Pool> {
    let mut seq = params.sequence();
    let netuid: u16 = seq.next()?;
    pool_json(source, netuid, seq.optional_next()?).map(|(out, _)| out)
}

fn pool_json(
    source: &mut impl Proofs,
    netuid: u16,
    height: Option<u64>,
) -> Reply<(schema::Pool, pools::SubnetPool)> {
    let height = source.height(height)?;
    let proof = source.proven(&pools::pool_key(netuid), height)?;
    let height = proof.height;
    let stored: Option<pools::SubnetPool> = decoded(&proof)?;
    let pool = match stored {
        Some(pool) => pool,
        None if netuid == pools::ROOT => pools::SubnetPool::default(),
        None => return Err(error(code::NO_STATE, format!("subnet {netuid} has no pool at height {height}"))),
    };
    let out = schema::Pool {
        netuid,
        height,
        tao: pool.tao,
        alpha_in: pool.alpha_in,
        alpha_out: pool.alpha_out,
        pending: pool.pending,
        pending_owner: pool.pending_owner,
        created_at: pool.created_at,
        spot_price: pools::price_in_rao(pool.spot_price(netuid)),
        moving_price: pools::price_in_rao(pool.moving_price),
        proof,
    };
    Ok((out, pool))
}

/// What a swap of `amount` on `netuid`'s pool would give at `height`, computed from the proven
/// pool (which is returned with it): `side` is "buy" (TAO in) or "sell" (alpha in).
fn pool_quote(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::PoolQuote> {
    let mut seq = params.sequence();
    let (netuid, side, amount): (u16, String, u64) = (seq.next()?, seq.next()?, seq.next()?);
    let side = match side.as_str() {
        "buy" => pools::Side::Buy,
        "sell" => pools::Side::Sell,
        other => return Err(error(code::INVALID_PARAMS, format!("side must be buy or sell, not {other:?}"))),
    };
    let (pool_out, pool) = pool_json(source, netuid, seq.optional_next()?)?;
    let swap = pools::quote(&pool, netuid, side, amount).map_err(|e| error(code::QUERY_FAILED, e))?;
    Ok(schema::PoolQuote {
        netuid,
        height: pool_out.height,
        input: swap.input,
        fee: swap.fee,
        output: swap.output,
        price_before: pool_out.spot_price,
        price_after: pools::price_in_rao(swap.price_after(netuid)),
        pool: pool_out,
    })
}

/// Governance proposal `id`, proven, with its fields decoded (action and status in words).
fn gov_proposal(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::GovProposal> {
    let mut seq = params.sequence();
    let id: u32 = seq.next()?;
    let height = source.height(seq.optional_next()?)?;
    let proof = source.proven(&tao_contract_governance::proposal_key(id), height)?;
    let Some(p) = decoded::<tao_contract_governance::Proposal>(&proof)? else {
        return Err(error(code::NO_STATE, format!("no proposal {id} at height {}", proof.height)));
    };
    Ok(schema::GovProposal {
        id,
        height: proof.height,
        proposer: p.proposer,
        action: format!("{:?}", p.action),
        status: format!("{:?}", p.status),
        deposit: p.deposit,
        created_at: p.created_at,
        ends_at: p.ends_at,
        tally: [Decimal(p.tally.0), Decimal(p.tally.1)],
        proof,
    })
}

/// Every neuron of `netuid` with its last epoch's scores, all proven at one height (with the
/// proven UID count, so no neuron can be left out).
fn subnet_metagraph(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::Metagraph> {
    let mut seq = params.sequence();
    let netuid: u16 = seq.next()?;
    let height = source.height(seq.optional_next()?)?;
    let count = proven_as::<u16>(source, &tao_contract_neurons::count_key(netuid), height)?;
    let mut neurons = Vec::new();
    for uid in 0..count.decoded.unwrap_or(0) {
        let neuron = source.proven(&tao_contract_neurons::neuron_key(netuid, uid), height)?;
        let scores = source.proven(&tao_contract_incentive::scores_key(netuid, uid), height)?;
        neurons.push(schema::NeuronProofs { uid, neuron, scores });
    }
    Ok(schema::Metagraph { netuid, height, count, neurons })
}

/// A neuron and its last epoch's scores, both proven.
fn neuron_get(source: &mut impl Proofs, params: Params<'_>) -> Reply<schema::NeuronReply> {
    let mut seq = params.sequence();
    let (netuid, uid): (u16, u16) = (seq.next()?, seq.next()?);
    let height = source.height(seq.optional_next()?)?;
    let neuron = source.proven(&tao_contract_neurons::neuron_key(netuid, uid), height)?;
    let scores = source.proven(&tao_contract_incentive::scores_key(netuid, uid), height)?;
    Ok(schema::NeuronReply { netuid, uid, height, neuron, scores })
}

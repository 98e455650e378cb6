//! Subnet pools (dynamic TAO): every subnet has its own token, alpha, and a pool of TAO and
//! alpha through which stake is bought and sold.
//!
//! The pool is constant-product (x·y = k): Bittensor's first dynamic-TAO design, and the 50/50
//! special case of subtensor's weighted (Balancer) pool, whose price p = (w₁/w₂)(y/x) is y/x when
//! both weights are ½. Every swap pays a fee of 33/65535 (≈ 0.05%) of its input, which stays in
//! the pool. All math is integer; every rounding favours the pool (fee rounded up, output rounded
//! down), so no sequence of swaps can take out more than was put in.
//!
//! The root subnet 0 is not an AMM: its "alpha" is TAO, 1:1, with no fee.
//!
//! Per block the coinbase ([`emit_block`]) injects a subnet's TAO share and the matching alpha
//! into the pool without moving its price, mints the subnet's own alpha emission (on the same
//! halving curve as TAO, over the subnet's alpha issuance) as pending emission for the epoch, and
//! updates the moving price that decides the next block's TAO shares ([`split_by_price`]).
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod error;

use alloc::vec::Vec;

pub use error::PoolError;
use tao_contract_token as token;
use tao_sdk::{BorshDeserialize, BorshSerialize, Host, Map};
use tao_types::NetUid;

/// The root subnet: 1:1 with TAO, no fee.
pub const ROOT: NetUid = 0;
/// Swap fee numerator: 33/65535 ≈ 0.05% of the input.
pub const FEE_NUMERATOR: u64 = 33;
/// Swap fee denominator.
pub const FEE_DENOMINATOR: u64 = 65_535;
/// A swap may not leave its output reserve below this many rao.
pub const MIN_RESERVE: u64 = 1_000_000;
/// A swap's input may be at most this multiple of the input reserve.
pub const MAX_INPUT_MULTIPLE: u64 = 1_000;
/// 1.0 in the Q64.64 fixed point that prices are kept in (TAO per alpha).
pub const ONE: u128 = 1 << 64;
/// Subtensor's `SubnetMovingAlpha`, 3·10⁻⁶, in Q64.64.
pub const MOVING_ALPHA: u128 = 55_340_232_221_128;
/// Blocks after a subnet's start at which its moving price reaches half its full speed.
pub const MOVING_PRICE_WARMUP: u64 = 201_600;
/// Rao per TAO (and per alpha): the unit of limit prices, "rao per alpha".
pub const RAO: u128 = 1_000_000_000;

/// The reserves and emission state of one subnet's pool.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct SubnetPool {
    /// TAO reserve (y), in rao.
    pub tao: u64,
    /// Alpha reserve (x), in alpha rao.
    pub alpha_in: u64,
    /// Alpha held by stakers.
    pub alpha_out: u64,
    /// Alpha emission awaiting the epoch, for miners and validators.
    pub pending: u64,
    /// Alpha emission awaiting the epoch, for the subnet owner.
    pub pending_owner: u64,
    /// Moving average of min(spot, 1), Q64.64 TAO per alpha.
    pub moving_price: u128,
    /// Block the pool started at (the moving price's warm-up counts from here).
    pub created_at: u64,
    /// Of `pending`, the root stakers' part: RootProp of the validators' half, block by block.
    pub pending_root: u64,
}

impl SubnetPool {
    /// All alpha in existence on this subnet: reserve, staked and pending.
    pub fn alpha_issued(&self) -> u64 {
        [self.alpha_out, self.pending, self.pending_owner]
            .iter()
            .fold(self.alpha_in, |a, b| a.saturating_add(*b))
    }

    /// Spot price y/x in Q64.64 TAO per alpha (1 on root; 0 for an empty pool).
    pub fn spot_price(&self, netuid: NetUid) -> u128 {
        if netuid == ROOT {
            return ONE;
        }
        if self.alpha_in == 0 {
            return 0;
        }
        (u128::from(self.tao) << 64) / u128::from(self.alpha_in)
    }
}

/// A Q64.64 price in rao per alpha (rounded down).
pub fn price_in_rao(price: u128) -> u64 {
    let rao = price.checked_mul(RAO).map_or_else(|| (price >> 64).saturating_mul(RAO), |p| p >> 64);
    u64::try_from(rao).unwrap_or(u64::MAX)
}

/// Which way a swap goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub enum Side {
    /// TAO in, alpha out (staking).
    Buy,
    /// Alpha in, TAO out (unstaking).
    Sell,
}

/// The result of a swap: what went in, the fee taken from it, what came out, and the reserves after.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Swap {
    /// Input, fee included.
    pub input: u64,
    /// Fee, in the input's unit; it stays in the pool.
    pub fee: u64,
    /// Output.
    pub output: u64,
    /// TAO reserve after the swap.
    pub tao_after: u64,
    /// Alpha reserve after the swap.
    pub alpha_after: u64,
}

impl Swap {
    /// The pool's spot price after the swap (Q64.64 TAO per alpha).
    pub fn price_after(&self, netuid: NetUid) -> u128 {
        SubnetPool { tao: self.tao_after, alpha_in: self.alpha_after, ..SubnetPool::default() }
            .spot_price(netuid)
    }
}

const POOLS: Map<NetUid, SubnetPool> = Map::new(b"pool/");

/// Storage key of `netuid`'s [`SubnetPool`] (borsh), for proofs.
pub fn pool_key(netuid: NetUid) -> Vec<u8> {
    POOLS.key(&netuid)
}

/// The pool of `netuid`, if it has one (root always has one, empty until first staked).
pub fn pool(host: &mut impl Host, netuid: NetUid) -> Result<Option<SubnetPool>, PoolError> {
    let stored = POOLS.load(host, &netuid)?;
    Ok(if netuid == ROOT { Some(stored.unwrap_or_default()) } else { stored })
}

fn existing(host: &mut impl Host, netuid: NetUid) -> Result<SubnetPool, PoolError> {
    pool(host, netuid)?.ok_or(PoolError::NoPool(netuid))
}

/// Every stored pool, root included once staked.
pub fn pools(host: &mut impl Host) -> Result<Vec<(NetUid, SubnetPool)>, PoolError> {
    Ok(POOLS.entries(host, usize::from(NetUid::MAX) + 1)?)
}

/// All TAO held by pools (reserves and root stake).
pub fn total_tao(host: &mut impl Host) -> Result<u64, PoolError> {
    pools(host)?.iter().try_fold(0u64, |sum, (_, p)| sum.checked_add(p.tao).ok_or(PoolError::Overflow))
}

/// Opens `netuid`'s pool at block `now` with `lock` TAO; the alpha reserve is priced at the
/// median spot price of the other subnets (1 TAO per alpha if there are none).
pub fn create(host: &mut impl Host, netuid: NetUid, lock: u64, now: u64) -> Result<SubnetPool, PoolError> {
    if POOLS.load(host, &netuid)?.is_some() {
        return Err(PoolError::PoolExists(netuid));
    }
    let mut prices: Vec<u128> =
        pools(host)?.iter().filter(|(n, _)| *n != ROOT).map(|(n, p)| p.spot_price(*n)).collect();
    prices.sort_unstable();
    let median = prices.get(prices.len().saturating_sub(1) / 2).copied().filter(|p| *p > 0).unwrap_or(ONE);
    let alpha_in = u64::try_from((u128::from(lock) << 64) / median).map_err(|_| PoolError::Overflow)?;
    let created = SubnetPool { tao: lock, alpha_in, created_at: now, ..SubnetPool::default() };
    POOLS.save(host, &netuid, &created);
    Ok(created)
}

/// Removes `netuid`'s pool and returns its last state (dissolution pays out its TAO).
pub fn close(host: &mut impl Host, netuid: NetUid) -> Result<SubnetPool, PoolError> {
    let closed = existing(host, netuid)?;
    POOLS.remove(host, &netuid);
    Ok(closed)
}

/// `(fee, output)` of a constant-product swap of `amount` into `input_reserve`.
fn constant_product(input_reserve: u64, output_reserve: u64, amount: u64) -> Result<(u64, u64), PoolError> {
    let max = input_reserve.saturating_mul(MAX_INPUT_MULTIPLE);
    if amount > max {
        return Err(PoolError::InputTooLarge { amount, max });
    }
    let fee = (u128::from(amount) * u128::from(FEE_NUMERATOR)).div_ceil(u128::from(FEE_DENOMINATOR));
    let net = u128::from(amount) - fee;
    let output = u128::from(output_reserve) * net / (u128::from(input_reserve) + net);
    if output == 0 {
        return Err(PoolError::NothingOut);
    }
    if u128::from(output_reserve) - output < u128::from(MIN_RESERVE) {
        return Err(PoolError::ReserveDrained);
    }
    Ok((fee as u64, output as u64))
}

/// What swapping `amount` on `netuid`'s `pool` would give, without changing anything.
pub fn quote(pool: &SubnetPool, netuid: NetUid, side: Side, amount: u64) -> Result<Swap, PoolError> {
    if amount == 0 {
        return Err(PoolError::ZeroAmount);
    }
    if netuid == ROOT {
        let tao = match side {
            Side::Buy => pool.tao.checked_add(amount),
            Side::Sell => pool.tao.checked_sub(amount),
        };
        let tao_after = tao.ok_or(PoolError::Overflow)?;
        return Ok(Swap { input: amount, fee: 0, output: amount, tao_after, alpha_after: pool.alpha_in });
    }
    let (input_reserve, output_reserve) = match side {
        Side::Buy => (pool.tao, pool.alpha_in),
        Side::Sell => (pool.alpha_in, pool.tao),
    };
    let (fee, output) = constant_product(input_reserve, output_reserve, amount)?;
    let input_after = input_reserve.checked_add(amount).ok_or(PoolError::Overflow)?;
    let output_after = output_reserve - output;
    let (tao_after, alpha_after) = match side {
        Side::Buy => (input_after, output_after),
        Side::Sell => (output_after, input_after),
    };
    Ok(Swap { input: amount, fee, output, tao_after, alpha_after })
}

/// Whether reserves `(tao, alpha)` are within `limit` rao per alpha: at most it for a buy, at
/// least it for a sell. Exact (cross-multiplied), so a fill never passes its limit.
fn within_limit(side: Side, tao: u64, alpha: u64, netuid: NetUid, limit: u64) -> bool {
    let (tao, alpha) = if netuid == ROOT { (1, 1) } else { (tao, alpha) };
    let price = u128::from(tao) * RAO;
    match (side, u128::from(limit).checked_mul(u128::from(alpha))) {
        (Side::Buy, None) => true,
        (Side::Sell, None) => false,
        (Side::Buy, Some(bound)) => price <= bound,
        (Side::Sell, Some(bound)) => price >= bound,
    }
}

/// The largest part of `amount` whose swap leaves the price within `limit` rao per alpha (0 if
/// none does).
pub fn fillable(pool: &SubnetPool, netuid: NetUid, side: Side, amount: u64, limit: u64) -> u64 {
    let fills = |input: u64| match quote(pool, netuid, side, input) {
        Ok(swap) => within_limit(side, swap.tao_after, swap.alpha_after, netuid, limit),
        Err(PoolError::NothingOut) => within_limit(side, pool.tao, pool.alpha_in, netuid, limit),
        Err(_) => false,
    };
    if fills(amount) {
        return amount;
    }
    // The price after a swap moves monotonically with its input: bisect on [fills, fails).
    let (mut lo, mut hi) = (0u64, amount);
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fills(mid) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    lo
}

/// Swaps `amount` on `netuid`'s pool and returns the swap. The caller moves the input in and the
/// output out of the pool's holders (staking credits or debits staked alpha).
pub fn swap(host: &mut impl Host, netuid: NetUid, side: Side, amount: u64) -> Result<Swap, PoolError> {
    let mut pool = existing(host, netuid)?;
    let done = quote(&pool, netuid, side, amount)?;
    pool.tao = done.tao_after;
    pool.alpha_in = done.alpha_after;
    POOLS.save(host, &netuid, &pool);
    Ok(done)
}

/// Pays `tao` into `netuid`'s pool to buy alpha that is then destroyed (registration burns):
/// the price rises for every holder. Too small an amount to buy anything joins the reserve alone.
/// Returns the alpha recycled.
pub fn buy_and_recycle(host: &mut impl Host, netuid: NetUid, tao: u64) -> Result<u64, PoolError> {
    match swap(host, netuid, Side::Buy, tao) {
        Ok(done) => Ok(done.output),
        Err(PoolError::NothingOut) => {
            let mut pool = existing(host, netuid)?;
            pool.tao = pool.tao.checked_add(tao).ok_or(PoolError::Overflow)?;
            POOLS.save(host, &netuid, &pool);
            Ok(0)
        }
        Err(e) => Err(e),
    }
}

/// Changes `netuid`'s staked alpha by `+add − sub` (staking's share pools call this).
pub fn adjust_staked(host: &mut impl Host, netuid: NetUid, add: u64, sub: u64) -> Result<(), PoolError> {
    let mut pool = existing(host, netuid)?;
    pool.alpha_out =
        pool.alpha_out.checked_add(add).and_then(|a| a.checked_sub(sub)).ok_or(PoolError::Overflow)?;
    POOLS.save(host, &netuid, &pool);
    Ok(())
}

/// Splits `emission` across subnets in proportion to their moving `prices` (the first takes the
/// rounding remainder); equally when every price is 0.
pub fn split_by_price(emission: u64, prices: &[u128]) -> Vec<u64> {
    let Some(count) = u128::try_from(prices.len()).ok().filter(|c| *c > 0) else { return Vec::new() };
    let total: u128 = prices.iter().sum();
    let mut shares: Vec<u64> = prices
        .iter()
        .map(|p| match total {
            0 => (u128::from(emission) / count) as u64,
            _ => (u128::from(emission) * p / total) as u64,
        })
        .collect();
    let remainder = emission - shares.iter().sum::<u64>();
    shares[0] += remainder;
    shares
}

/// The moving price's step size `blocks` after the subnet started: α·b/(b + 201,600).
pub fn moving_step(alpha: u128, blocks: u64) -> u128 {
    alpha.min(ONE - 1) * u128::from(blocks) / (u128::from(blocks) + u128::from(MOVING_PRICE_WARMUP))
}

/// One moving-price update: p + a·(min(spot, 1) − p). With a < 1 and both prices ≤ 1 no product
/// overflows.
pub fn next_moving_price(moving: u128, spot: u128, step: u128) -> u128 {
    let (moving, spot) = (moving.min(ONE), spot.min(ONE));
    if spot >= moving {
        moving + ((step * (spot - moving)) >> 64)
    } else {
        moving - ((step * (moving - spot)) >> 64)
    }
}

/// What one block injected into a pool and emitted on its subnet.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct BlockEmission {
    /// TAO added to the reserve alongside `alpha_in`.
    pub tao_in: u64,
    /// Alpha added to the reserve.
    pub alpha_in: u64,
    /// TAO beyond what the alpha emission could match, added to the reserve alone (it raises the
    /// price for every alpha holder, as subtensor's protocol buy does).
    pub excess_tao: u64,
    /// Alpha emitted for the epoch (owner part included).
    pub alpha_out: u64,
    /// Of which the owner's cut.
    pub owner: u64,
}

/// Adds `tao` and alpha to `pool` without moving its price: the alpha is the largest amount that
/// does not lower y/x, capped at the block's alpha emission; TAO the cap leaves over joins the
/// reserve alone.
pub fn inject(pool: &mut SubnetPool, tao: u64, alpha_cap: u64) -> Result<BlockEmission, PoolError> {
    let (y, x) = (u128::from(pool.tao), u128::from(pool.alpha_in));
    let (tao_in, alpha_in) = if y == 0 || x == 0 {
        (0, 0)
    } else {
        let alpha = u128::from(tao) * x / y;
        if alpha <= u128::from(alpha_cap) {
            (tao, alpha as u64)
        } else {
            ((u128::from(alpha_cap) * y).div_ceil(x) as u64, alpha_cap)
        }
    };
    pool.tao = pool.tao.checked_add(tao).ok_or(PoolError::Overflow)?;
    pool.alpha_in = pool.alpha_in.checked_add(alpha_in).ok_or(PoolError::Overflow)?;
    Ok(BlockEmission { tao_in, alpha_in, excess_tao: tao - tao_in, ..BlockEmission::default() })
}

/// The root stakers' part of a block's non-owner alpha emission `rest`: RootProp of its
/// validators' half, RootProp = w·τ / (w·τ + alpha_in + alpha_out) with `weighted_root` = w·τ
/// (TaoWeight times the TAO staked on root), as subtensor's coinbase splits it.
pub fn root_part(pool: &SubnetPool, rest: u64, weighted_root: u64) -> u64 {
    let issuance = u128::from(pool.alpha_in) + u128::from(pool.alpha_out);
    let weighted = u128::from(weighted_root);
    match weighted + issuance {
        0 => 0,
        total => (u128::from(rest / 2) * weighted / total) as u64,
    }
}

/// The coinbase of one block on `netuid` (chain only, through the incentive module): injects
/// its `tao` share, emits the subnet's alpha for the epoch (`owner_cut` 65535ths of it to the
/// owner, of the rest [`root_part`] for root stakers, given `weighted_root`) and updates the
/// moving price.
pub fn emit_block(
    host: &mut impl Host,
    netuid: NetUid,
    tao: u64,
    owner_cut: u16,
    weighted_root: u64,
    now: u64,
) -> Result<BlockEmission, PoolError> {
    let mut pool = existing(host, netuid)?;
    let alpha_emission = token::block_emission(pool.alpha_issued());
    let owner = (u128::from(alpha_emission) * u128::from(owner_cut) / u128::from(u16::MAX)) as u64;
    let root = root_part(&pool, alpha_emission - owner, weighted_root);
    let mut emitted = inject(&mut pool, tao, alpha_emission)?;
    pool.pending = pool.pending.checked_add(alpha_emission - owner).ok_or(PoolError::Overflow)?;
    pool.pending_root = pool.pending_root.checked_add(root).ok_or(PoolError::Overflow)?;
    pool.pending_owner = pool.pending_owner.checked_add(owner).ok_or(PoolError::Overflow)?;
    let step = moving_step(MOVING_ALPHA, now.saturating_sub(pool.created_at));
    pool.moving_price = next_moving_price(pool.moving_price, pool.spot_price(netuid), step);
    POOLS.save(host, &netuid, &pool);
    emitted.alpha_out = alpha_emission;
    emitted.owner = owner;
    Ok(emitted)
}

/// Settles `netuid`'s epoch: the owner's pending alpha was paid, `unpaid` of the rest stays
/// pending for the next epoch.
pub fn settle_epoch(host: &mut impl Host, netuid: NetUid, unpaid: u64) -> Result<(), PoolError> {
    let mut pool = existing(host, netuid)?;
    pool.pending = unpaid;
    pool.pending_root = 0;
    pool.pending_owner = 0;
    POOLS.save(host, &netuid, &pool);
    Ok(())
}

#[cfg(test)]
mod tests;

//! Transactions as clients build them: the call, the fee, the largest amount that can be sent,
//! the signature, and a preview of the effect computed by running the call's own contract code
//! on proven state. The wallet and the CLI preview through this one code.

use tao_contract_neurons as neurons;
use tao_contract_pools::{self as pools, Side};
use tao_contract_staking as staking;
use tao_contract_token as token;
use tao_crypto::{ChainDomain, SecretKey};
use tao_sdk::Host;
use tao_tx::{Call, DEPLOY, SignedTransaction, Transaction};
use tao_types::{Address, Balance, Hash, NetUid};

use crate::code::ModuleCode;
use crate::proven::ProvenHost;
use crate::views::{self, Position};
use crate::wasm::{self, Access};

/// The fee limit the wallet sets: 0.01 τ. The chain holds the bytes and the gas the limit buys,
/// at most `token::MAX_TX_GAS` ([`Draft::max_fee`]), and charges only the gas used.
pub const DEFAULT_FEE: u64 = 10_000_000;

/// What to call before it is signed: the system module (by name, resolved to its proven code
/// hash) or the upload target, the method and its encoded arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Draft {
    /// System module name, or `None` for a code upload.
    pub module: Option<&'static str>,
    /// Entry point.
    pub method: &'static str,
    /// Borsh arguments.
    pub args: Vec<u8>,
    /// Fee limit: held before the call, the gas it did not use refunded after it.
    pub fee: u64,
}

impl Draft {
    fn call(module: &'static str, method: &'static str, args: Vec<u8>) -> Draft {
        Draft { module: Some(module), method, args, fee: DEFAULT_FEE }
    }

    /// Sends `amount` rao to `to`; `keep_alive` refuses to drop the sender below the
    /// existential deposit.
    pub fn transfer(to: Address, amount: u64, keep_alive: bool) -> Draft {
        let method = if keep_alive { "entry_transfer_keep_alive" } else { "entry_transfer" };
        Draft::call("token", method, borsh_vec(&token::TransferArgs { to, amount }))
    }

    /// Stakes `amount` rao through `hotkey` on `netuid`, at a price no worse than `limit`.
    pub fn add_stake(position: Position, amount: u64, limit: Option<staking::Limit>) -> Draft {
        let args = staking::StakeArgs { hotkey: position.hotkey, netuid: position.netuid, amount, limit };
        Draft::call("staking", "entry_add_stake", borsh_vec(&args))
    }

    /// Unstakes `amount` (alpha rao) from `hotkey` on `netuid`, at a price no worse than `limit`.
    pub fn remove_stake(position: Position, amount: u64, limit: Option<staking::Limit>) -> Draft {
        let args = staking::StakeArgs { hotkey: position.hotkey, netuid: position.netuid, amount, limit };
        Draft::call("staking", "entry_remove_stake", borsh_vec(&args))
    }

    /// Moves `amount` of stake from one position to another (same coldkey).
    pub fn move_stake(from: Position, to: Position, amount: u64) -> Draft {
        let args = (from.hotkey, from.netuid, to.hotkey, to.netuid, amount);
        Draft::call("staking", "entry_move_stake", borsh_vec(&args))
    }

    /// Uploads Wasm `code`; its fee covers the bytes plus the default fee.
    pub fn deploy(code: Vec<u8>) -> Draft {
        let bytes = code.len() as u64 + 256;
        let fee = bytes.saturating_mul(token::FEE_PER_BYTE).saturating_add(DEFAULT_FEE);
        Draft { module: None, method: "deploy", args: code, fee }
    }

    /// The most the chain can charge for this draft once signed, which it holds before the call:
    /// its bytes and the gas its fee limit buys, at most `token::MAX_TX_GAS` (a fee limit above
    /// that is never held). The fee is its bytes and the gas the call uses (`token::fee`).
    pub fn max_fee(&self) -> u64 {
        // Every field of a signed transaction but the call has a fixed width, so any key, nonce
        // and chain give its length.
        let domain = ChainDomain { chain_id: 0, genesis_hash: Hash([0; 32]) };
        let signed = SecretKey::from_bytes(&[1; 32])
            .map_err(|e| e.to_string())
            .and_then(|key| self.sign(&domain, Hash([0; 32]), 0, &key));
        let Ok(signed) = signed else { return self.fee };
        let bytes = signed.encode().len() as u64;
        token::max_fee(bytes, self.fee)
    }

    /// The transaction, signed by `key` at `nonce` for the chain `domain`, calling `contract`
    /// (the module's proven code hash, or [`tao_tx::DEPLOY`]).
    pub fn sign(
        &self,
        domain: &ChainDomain,
        contract: Hash,
        nonce: u64,
        key: &SecretKey,
    ) -> Result<SignedTransaction, String> {
        let call = Call {
            contract,
            method: self.method.as_bytes().to_vec().try_into().map_err(|e| format!("method: {e}"))?,
            args: self.args.clone().try_into().map_err(|e| format!("arguments: {e}"))?,
        };
        let tx = Transaction {
            chain_id: domain.chain_id,
            sender: key.address(),
            nonce,
            fee_limit: Balance(self.fee),
            call,
        };
        Ok(tx.sign(domain, key))
    }
}

/// Borsh bytes of `value` (the types encoded here cannot fail).
pub fn borsh_vec<T: borsh::BorshSerialize>(value: &T) -> Vec<u8> {
    borsh::to_vec(value).unwrap_or_default()
}

/// The most that can be sent from `free` after the fee, keeping the existential deposit.
pub fn max_sendable(free: u64, fee: u64) -> u64 {
    free.saturating_sub(fee).saturating_sub(token::EXISTENTIAL_DEPOSIT)
}

/// Margin added to a stake order's own price impact for its default slippage tolerance: room
/// for other trades landing first in the same block, not for the order itself.
pub const SLIPPAGE_MARGIN_BPS: u32 = 50;
/// Above this tolerance (3%) the wallet warns: a sandwich could take that much.
pub const SLIPPAGE_WARN_BPS: u16 = 300;

/// A stake or unstake with its price limit, priced on the proven pool the preview runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StakeOrder {
    /// The draft, limit included.
    pub draft: Draft,
    /// The limit (none on root, which trades one for one).
    pub limit: Option<staking::Limit>,
    /// How far the order alone moves the price, basis points (rounded up).
    pub impact_bps: u32,
    /// The tolerance the limit allows, basis points.
    pub slippage_bps: u16,
}

impl StakeOrder {
    /// A warning for a tolerance above [`SLIPPAGE_WARN_BPS`].
    pub fn warning(&self) -> Option<String> {
        (self.slippage_bps > SLIPPAGE_WARN_BPS).then(|| {
            format!(
                "High slippage: the price may move {} against you before this fills (this order alone moves it {})",
                percent(u32::from(self.slippage_bps)),
                percent(self.impact_bps)
            )
        })
    }
}

/// `bps` as a percentage with two decimals.
pub fn percent(bps: u32) -> String {
    format!("{}.{:02}%", bps / 100, bps % 100)
}

/// How far swapping `amount` on `netuid` moves its spot price, in basis points rounded up (by
/// the pool's own quote on `host`'s state). A swap the pool refuses counts as no move: the
/// preview names the refusal.
pub fn price_impact_bps(
    host: &mut impl Host,
    netuid: NetUid,
    side: Side,
    amount: u64,
) -> Result<u32, String> {
    if netuid == pools::ROOT {
        return Ok(0);
    }
    let Some(pool) = pools::pool(host, netuid).map_err(|e| e.to_string())? else { return Ok(0) };
    let before = pools::price_in_rao(pool.spot_price(netuid));
    let Ok(swap) = pools::quote(&pool, netuid, side, amount) else { return Ok(0) };
    let after = pools::price_in_rao(swap.price_after(netuid));
    let moved = u128::from(before.abs_diff(after)) * 10_000;
    Ok(u32::try_from(moved.div_ceil(u128::from(before.max(1)))).unwrap_or(u32::MAX))
}

/// A stake (`buying`) or unstake order of `amount` on `position`, its limit price from the
/// proven spot price and `slippage_bps`, or, when none is given, from the order's own price
/// impact plus [`SLIPPAGE_MARGIN_BPS`] (a fixed small default makes an ordinary order fail on
/// chain, its fee paid). Fill-or-kill.
pub fn stake_order(
    host: &mut impl Host,
    position: Position,
    amount: u64,
    buying: bool,
    slippage_bps: Option<u16>,
) -> Result<StakeOrder, String> {
    let side = if buying { Side::Buy } else { Side::Sell };
    let impact_bps = price_impact_bps(host, position.netuid, side, amount)?;
    let default = impact_bps.saturating_add(SLIPPAGE_MARGIN_BPS).min(10_000) as u16;
    let slippage_bps = slippage_bps.unwrap_or(default);
    let limit = if position.netuid == pools::ROOT {
        None
    } else {
        let pool = pools::pool(host, position.netuid).map_err(|e| e.to_string())?.unwrap_or_default();
        let spot = pools::price_in_rao(pool.spot_price(position.netuid));
        Some(staking::Limit { price: limit_price(spot, slippage_bps, buying), partial: false })
    };
    let draft = if buying {
        Draft::add_stake(position, amount, limit)
    } else {
        Draft::remove_stake(position, amount, limit)
    };
    Ok(StakeOrder { draft, limit, impact_bps, slippage_bps })
}

/// Prices `position`'s order on proven state and previews it in the same run, so the limit and
/// the preview see one state (the preview runs the order's own arguments).
pub fn preview_stake_order(
    host: &mut ProvenHost,
    sender: &Address,
    position: Position,
    amount: u64,
    buying: bool,
    slippage_bps: Option<u16>,
    code: &PreviewCode,
) -> Result<(StakeOrder, Preview), String> {
    let order = stake_order(host, position, amount, buying, slippage_bps)?;
    let preview = preview(host, sender, &order.draft, Some(position), code)?;
    Ok((order, preview))
}

/// A limit price from the current spot price and a slippage tolerance in basis points: at most
/// `spot·(1+tol)` when buying, at least `spot·(1−tol)` when selling.
pub fn limit_price(spot: u64, slippage_bps: u16, buying: bool) -> u64 {
    let spot = u128::from(spot);
    let tol = u128::from(slippage_bps.min(10_000));
    let price = if buying { spot * (10_000 + tol) / 10_000 } else { spot * (10_000 - tol) / 10_000 };
    u64::try_from(price).unwrap_or(u64::MAX)
}

/// What a transaction would do, from its own contract code run on proven state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// Sender's free balance before, rao.
    pub free_before: u64,
    /// Sender's free balance after with the whole hold taken, rao: the least it will be (the
    /// gas the call does not use comes back).
    pub free_after: u64,
    /// The most the fee can be ([`Draft::max_fee`]), rao: the chain holds it before the call and
    /// charges the bytes and the gas used. Clients cannot meter the chain's gas (wasmtime fuel),
    /// so the exact fee is the receipt's.
    pub fee: u64,
    /// The stake position touched, before and after (alpha rao).
    pub stake: Option<(Position, u64, u64)>,
    /// The subnet's spot price before and after, rao per alpha.
    pub price: Option<(NetUid, u64, u64)>,
    /// Why the chain would refuse it, if it would.
    pub error: Option<String>,
}

impl Preview {
    /// Whether Sign may be pressed: always when the chain would accept it; when it would refuse
    /// (the fee is still paid), only once the user has confirmed sending anyway a second time.
    pub fn may_sign(&self, send_anyway_confirmed: bool) -> bool {
        self.error.is_none() || send_anyway_confirmed
    }
}

/// The code a preview runs, each as the chain runs it ([`ModuleCode`]): the token module (it
/// charges the fee) and the module the draft calls (`None` for an upload).
#[derive(Debug, Clone)]
pub struct PreviewCode {
    /// The token module.
    pub token: ModuleCode,
    /// The called module.
    pub target: Option<ModuleCode>,
}

impl PreviewCode {
    /// Which code computed the preview, one line per module.
    pub fn describe(&self) -> Vec<String> {
        let mut lines = vec![self.token.describe()];
        lines.extend(self.target.iter().filter(|t| t.hash != self.token.hash).map(ModuleCode::describe));
        lines
    }
}

/// Runs `draft` as `sender` on `host` (a proven host whose caller is `sender`) with `code`:
/// holds the most the fee can be through the token module's `entry_charge_fee` as the chain does
/// before any call (from the hotkey's owner for a neuron's own calls, as the chain's fee rule does:
/// `tao_contract_neurons::SPONSORED_CALLS`), then runs the entry point. `position` is the stake the call touches, for the
/// before/after figures.
pub fn preview(
    host: &mut ProvenHost,
    sender: &Address,
    draft: &Draft,
    position: Option<Position>,
    code: &PreviewCode,
) -> Result<Preview, String> {
    let payer = fee_payer(host, sender, draft)?;
    let free_before = token::balance(host, &payer).map_err(|e| e.to_string())?;
    let stake_of = |host: &mut _, p: &Position| staking::stake_of(host, sender, &p.hotkey, p.netuid);
    let stake_before = position.map(|p| stake_of(host, &p)).transpose().map_err(|e| e.to_string())?;
    let price_of = |host: &mut _, netuid: NetUid| -> Result<u64, String> {
        let pool = pools::pool(host, netuid).map_err(|e| e.to_string())?.unwrap_or_default();
        Ok(pools::price_in_rao(pool.spot_price(netuid)))
    };
    let price_before = position.map(|p| price_of(host, p.netuid)).transpose()?;
    let fee = draft.max_fee();
    let refused = |error: String| Preview {
        free_before,
        free_after: free_before,
        fee,
        stake: None,
        price: None,
        error: Some(error),
    };
    if free_before < fee {
        return Ok(refused(format!("the fee {} is more than the free balance", Balance(fee))));
    }
    let charge = crate::code::system_call("entry_charge_fee", borsh_vec(&(payer, fee)));
    if let Err(why) = code.token.call(host, charge) {
        return Ok(refused(format!("the fee cannot be charged: {why}")));
    }
    let error = run(host, sender, draft, code).err();
    let free_after = token::balance(host, &payer).map_err(|e| e.to_string())?;
    let stake = match (position, stake_before) {
        (Some(p), Some(before)) => Some((p, before, stake_of(host, &p).map_err(|e| e.to_string())?)),
        _ => None,
    };
    let price = match (position, price_before) {
        (Some(p), Some(before)) => Some((p.netuid, before, price_of(host, p.netuid)?)),
        _ => None,
    };
    Ok(Preview { free_before, free_after, fee, stake, price, error })
}

/// Who pays `draft`'s fee when `sender` sends it: the owner of a hotkey for its neuron calls,
/// else the sender.
fn fee_payer(host: &mut ProvenHost, sender: &Address, draft: &Draft) -> Result<Address, String> {
    let sponsored =
        draft.module.is_some_and(|m| neurons::sponsored_module(draft.method.as_bytes()) == Some(m));
    if !sponsored {
        return Ok(*sender);
    }
    Ok(neurons::hotkey_owner(host, sender).map_err(|e| e.to_string())?.unwrap_or(*sender))
}

/// Runs a draft's entry point as the chain's executor would: the called module's code as
/// `sender` with the draft's arguments (an upload runs nothing).
fn run(host: &mut ProvenHost, sender: &Address, draft: &Draft, code: &PreviewCode) -> Result<(), String> {
    let Some(target) = &code.target else { return Ok(()) };
    let call = wasm::Call {
        entry: draft.method,
        caller: *sender,
        input: draft.args.clone(),
        access: Access::System,
        fuel: wasm::FUEL,
    };
    // Contracts count in rao; the refusal is shown in τ.
    target.call(host, call).map(drop).map_err(|e| tao_types::amounts_in_tao(&e))
}

/// The proven code hash a draft calls.
pub fn contract(host: &mut impl Host, draft: &Draft) -> Result<Hash, String> {
    match draft.module {
        Some(name) => views::module_hash(host, name),
        None => Ok(DEPLOY),
    }
}

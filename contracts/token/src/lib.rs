//! The TAO token.
//!
//! - Supply: at most 21,000,000 τ ([`TOTAL_SUPPLY`]), counted in rao (10⁹ per τ).
//! - Emission per block: ⌊10⁹ / 2^k⌋ rao with k = ⌊log2(1 / (1 − I / 21e15))⌋, I the total
//!   issuance ([`block_emission`]): 1 τ until 10.5M τ are issued, then 0.5, 0.25, ...
//! - *Recycling* lowers issuance, so recycled TAO is emitted again later; *burning* moves TAO to
//!   the burned total and leaves issuance as it is. Invariant: Σ balances = issuance − burned −
//!   (TAO held elsewhere by other chain modules, which track it themselves).
//! - Existential deposit: an account holds 0 or at least [`EXISTENTIAL_DEPOSIT`] rao. A plain
//!   transfer may empty the sender (the dust below the deposit is recycled); `transfer_keep_alive`
//!   refuses to.
//!
//! The logic functions take any [`Host`], so other chain modules (staking, registration, fees)
//! call them directly inside the same runtime.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

mod error;

pub use error::TokenError;

use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::RAO_PER_TAO;

/// The supply cap in rao.
pub const TOTAL_SUPPLY: u64 = 21_000_000 * RAO_PER_TAO;
/// Emission per block before the first halving, in rao.
pub const BASE_EMISSION: u64 = RAO_PER_TAO;
/// Smallest non-zero balance an account may hold, in rao.
pub const EXISTENTIAL_DEPOSIT: u64 = 500;
/// The caller of block hooks and genesis: no key can sign for the zero address.
pub const SYSTEM: Address = Address([0; 20]);

/// Fee per byte of an encoded transaction, in rao.
pub const FEE_PER_BYTE: u64 = 1_000;
/// Gas bought by one rao of fee.
pub const GAS_PER_RAO: u64 = 1_000;

const BALANCES: Map<Address, u64> = Map::new(b"token/bal/");
const ISSUANCE: Item<u64> = Item::new(b"token/issuance");
const BURNED: Item<u64> = Item::new(b"token/burned");
const ALLOWANCES: Map<(Address, Address), u64> = Map::new(b"token/allow/");

/// Rao emitted by the block after `issuance` rao have been issued. Never takes issuance past
/// [`TOTAL_SUPPLY`].
pub fn block_emission(issuance: u64) -> u64 {
    let Some(remaining) = TOTAL_SUPPLY.checked_sub(issuance).filter(|r| *r > 0) else { return 0 };
    // k = ⌊log2(S / remaining)⌋: the largest k with 2^k · remaining ≤ S.
    let mut k = 0u32;
    while k < 63 && (u128::from(remaining) << (k + 1)) <= u128::from(TOTAL_SUPPLY) {
        k += 1;
    }
    (BASE_EMISSION >> k).min(remaining)
}

/// Free balance of `who`.
pub fn balance(host: &mut impl Host, who: &Address) -> Result<u64, TokenError> {
    Ok(BALANCES.load(host, who)?.unwrap_or(0))
}

/// The storage key of `who`'s balance (a borsh `u64`; absent means 0), for proofs.
pub fn balance_key(who: &Address) -> alloc::vec::Vec<u8> {
    BALANCES.key(who)
}

/// Total issuance in rao.
pub fn issuance(host: &mut impl Host) -> Result<u64, TokenError> {
    Ok(ISSUANCE.load(host)?.unwrap_or(0))
}

/// Total burned in rao.
pub fn burned(host: &mut impl Host) -> Result<u64, TokenError> {
    Ok(BURNED.load(host)?.unwrap_or(0))
}

/// Writes a balance; a zero balance removes the account.
fn store_balance(host: &mut impl Host, who: &Address, amount: u64) {
    if amount == 0 {
        BALANCES.remove(host, who);
    } else {
        BALANCES.save(host, who, &amount);
    }
}

fn add_issuance(host: &mut impl Host, delta: u64) -> Result<(), TokenError> {
    let new =
        issuance(host)?.checked_add(delta).filter(|i| *i <= TOTAL_SUPPLY).ok_or(TokenError::SupplyCap)?;
    ISSUANCE.save(host, &new);
    Ok(())
}

fn sub_issuance(host: &mut impl Host, delta: u64) -> Result<(), TokenError> {
    let new = issuance(host)?.checked_sub(delta).ok_or(TokenError::Overflow)?;
    ISSUANCE.save(host, &new);
    Ok(())
}

/// Credits `amount` newly issued rao to `to` (genesis and emission). The recipient must end with
/// at least the existential deposit.
pub fn mint(host: &mut impl Host, to: &Address, amount: u64) -> Result<(), TokenError> {
    add_issuance(host, amount)?;
    deposit(host, to, amount)
}

/// Credits `amount` rao that some other module held (e.g. unstaked TAO) to `to`.
pub fn deposit(host: &mut impl Host, to: &Address, amount: u64) -> Result<(), TokenError> {
    if amount == 0 {
        return Ok(());
    }
    let new = balance(host, to)?.checked_add(amount).ok_or(TokenError::Overflow)?;
    if new < EXISTENTIAL_DEPOSIT {
        return Err(TokenError::BelowExistentialDeposit { amount: new });
    }
    store_balance(host, to, new);
    Ok(())
}

/// Debits `amount` from `from` for another module to hold (staking, locks) or to recycle or burn.
/// With `keep_alive` the account must keep the existential deposit; otherwise a remainder below
/// it is recycled and the account closes. Returns the dust recycled.
pub fn withdraw(
    host: &mut impl Host,
    from: &Address,
    amount: u64,
    keep_alive: bool,
) -> Result<u64, TokenError> {
    if amount == 0 {
        return Err(TokenError::ZeroAmount);
    }
    let have = balance(host, from)?;
    let left = have.checked_sub(amount).ok_or(TokenError::InsufficientBalance { have, need: amount })?;
    if left != 0 && left < EXISTENTIAL_DEPOSIT {
        if keep_alive {
            return Err(TokenError::KeepAlive { left });
        }
        store_balance(host, from, 0);
        sub_issuance(host, left)?;
        return Ok(left);
    }
    if keep_alive && left == 0 {
        return Err(TokenError::KeepAlive { left });
    }
    store_balance(host, from, left);
    Ok(0)
}

/// Moves `amount` from `from` to `to`.
pub fn transfer(
    host: &mut impl Host,
    from: &Address,
    to: &Address,
    amount: u64,
    keep_alive: bool,
) -> Result<(), TokenError> {
    if from == to {
        return Err(TokenError::SelfTransfer);
    }
    withdraw(host, from, amount, keep_alive)?;
    deposit(host, to, amount)?;
    host.emit(b"transfer", &tao_sdk::borsh::to_vec(&(from, to, amount)).unwrap_or_default());
    Ok(())
}

/// What `owner` lets `spender` move from its balance with [`transfer_from`].
pub fn allowance(host: &mut impl Host, owner: &Address, spender: &Address) -> Result<u64, TokenError> {
    Ok(ALLOWANCES.load(host, &(*owner, *spender))?.unwrap_or(0))
}

/// `owner` lets `spender` (a contract, typically) move up to `amount` of its TAO; replaces any
/// earlier allowance, and 0 revokes it. The only way code other than the owner's own signature
/// moves an account's TAO.
pub fn approve(
    host: &mut impl Host,
    owner: &Address,
    spender: &Address,
    amount: u64,
) -> Result<(), TokenError> {
    if owner == spender {
        return Err(TokenError::SelfTransfer);
    }
    if amount == 0 {
        ALLOWANCES.remove(host, &(*owner, *spender));
    } else {
        ALLOWANCES.save(host, &(*owner, *spender), &amount);
    }
    host.emit(b"approval", &tao_sdk::borsh::to_vec(&(owner, spender, amount)).unwrap_or_default());
    Ok(())
}

/// `spender` moves `amount` of `owner`'s TAO to `to` within its allowance (keep-alive: the
/// owner's account stays open).
pub fn transfer_from(
    host: &mut impl Host,
    spender: &Address,
    owner: &Address,
    to: &Address,
    amount: u64,
) -> Result<(), TokenError> {
    let allowed = allowance(host, owner, spender)?;
    let left = allowed.checked_sub(amount).ok_or(TokenError::AllowanceExceeded { allowed, need: amount })?;
    transfer(host, owner, to, amount, true)?;
    if left == 0 {
        ALLOWANCES.remove(host, &(*owner, *spender));
    } else {
        ALLOWANCES.save(host, &(*owner, *spender), &left);
    }
    Ok(())
}

/// Takes `amount` from `who` out of circulation and lowers issuance, to be emitted again later.
pub fn recycle(host: &mut impl Host, who: &Address, amount: u64) -> Result<(), TokenError> {
    // Any dust left below the deposit is recycled by `withdraw` itself.
    withdraw(host, who, amount, false)?;
    sub_issuance(host, amount)
}

/// Recycles `amount` that a module holds (already withdrawn from its owner, e.g. slashed stake):
/// issuance drops by it, to be emitted again later.
pub fn recycle_held(host: &mut impl Host, amount: u64) -> Result<(), TokenError> {
    sub_issuance(host, amount)
}

/// Destroys `amount` from `who` for good: issuance stays, the burned total grows.
pub fn burn(host: &mut impl Host, who: &Address, amount: u64) -> Result<(), TokenError> {
    withdraw(host, who, amount, false)?;
    burn_held(host, amount)
}

/// Destroys `amount` that a module holds (already withdrawn from its owner, e.g. a forfeited
/// deposit): issuance stays, the burned total grows.
pub fn burn_held(host: &mut impl Host, amount: u64) -> Result<(), TokenError> {
    let total = burned(host)?.checked_add(amount).ok_or(TokenError::Overflow)?;
    BURNED.save(host, &total);
    Ok(())
}

/// Issues this block's emission and returns it, for the coinbase to distribute.
pub fn issue_block_emission(host: &mut impl Host) -> Result<u64, TokenError> {
    let emission = block_emission(issuance(host)?);
    add_issuance(host, emission)?;
    Ok(emission)
}

/// The fee of a transaction of `tx_bytes` encoded bytes that used `gas`:
/// `tx_bytes · FEE_PER_BYTE + ⌈gas / GAS_PER_RAO⌉` rao. What the chain charges (the rest of
/// [`max_fee`] is refunded), so it rises with the gas a call uses and never above the hold.
pub fn fee(tx_bytes: u64, gas: u64) -> u64 {
    tx_bytes.saturating_mul(FEE_PER_BYTE).saturating_add(gas.div_ceil(GAS_PER_RAO))
}

/// Most gas one transaction may use, whatever its fee limit: about two seconds of Wasm on the
/// reference machine (docs/vm.md), so no single transaction can stall a block.
pub const MAX_TX_GAS: u64 = 4_000_000_000;

/// The gas a fee limit buys for a transaction of `tx_bytes` bytes (0 if it does not cover the
/// bytes), at most [`MAX_TX_GAS`]: a fee limit above what that gas costs is never charged.
pub fn gas_for(tx_bytes: u64, fee_limit: u64) -> u64 {
    fee_limit
        .saturating_sub(tx_bytes.saturating_mul(FEE_PER_BYTE))
        .saturating_mul(GAS_PER_RAO)
        .min(MAX_TX_GAS)
}

/// The most a transaction of `tx_bytes` bytes with `fee_limit` can be charged: its bytes and the
/// gas its limit buys ([`gas_for`]), so never more than the limit, and at least the bytes' fee.
/// The chain holds it before the call ([`charge_fee`]); the node's admission and the mempool
/// require it to be covered and rank by it.
pub fn max_fee(tx_bytes: u64, fee_limit: u64) -> u64 {
    fee(tx_bytes, gas_for(tx_bytes, fee_limit))
}

/// Holds `amount` (the most its fee limit can be charged, [`max_fee`]) from `payer` before its
/// transaction runs (chain only), recycled: so the payer must cover the whole limit up front and
/// nothing is free to send. [`refund_fee`] gives back what the gas used did not cost.
pub fn charge_fee(host: &mut impl Host, payer: &Address, amount: u64) -> Result<(), TokenError> {
    only_system(host)?;
    if amount == 0 {
        return Ok(());
    }
    recycle(host, payer, amount)
}

/// After its call, gives `payer` back what the `held` rao [`charge_fee`] took exceed the `fee`
/// its bytes and gas used cost ([`fee`]), re-issuing it (chain only). Returns the rao refunded.
pub fn refund_fee(host: &mut impl Host, payer: &Address, held: u64, fee: u64) -> Result<u64, TokenError> {
    refund_with(host, payer, held, fee, add_issuance)
}

/// The refund rule every token module shares: never more than was held (`fee > held` is
/// refused), and nothing when the hold closed the account and the refund is below the
/// existential deposit (it stays taken, like any dust). `restore` undoes, for the refunded rao,
/// what the module's charge did to supply (re-issues it, or takes it off the burned total), so a
/// refund never mints. Returns the rao refunded.
pub fn refund_with<H: Host>(
    host: &mut H,
    payer: &Address,
    held: u64,
    fee: u64,
    restore: fn(&mut H, u64) -> Result<(), TokenError>,
) -> Result<u64, TokenError> {
    only_system(host)?;
    let refund = held.checked_sub(fee).ok_or(TokenError::RefundAboveHold { held, fee })?;
    let after = balance(host, payer)?.checked_add(refund).ok_or(TokenError::Overflow)?;
    if refund == 0 || after < EXISTENTIAL_DEPOSIT {
        return Ok(0);
    }
    restore(host, refund)?;
    store_balance(host, payer, after);
    Ok(refund)
}

/// Takes `amount` back off the burned total: a burned fee refunded ([`refund_with`]).
pub fn unburn(host: &mut impl Host, amount: u64) -> Result<(), TokenError> {
    let total = burned(host)?.checked_sub(amount).ok_or(TokenError::Overflow)?;
    BURNED.save(host, &total);
    Ok(())
}

fn only_system(host: &mut impl Host) -> Result<(), TokenError> {
    if host.caller() != SYSTEM {
        return Err(TokenError::NotSystem);
    }
    Ok(())
}

/// Arguments of the transfer entry points.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct TransferArgs {
    /// Recipient.
    pub to: Address,
    /// Amount in rao.
    pub amount: u64,
}

/// Entry point: transfer that may close the sender's account.
pub fn entry_transfer(host: &mut impl Host) -> Result<(), TokenError> {
    let args: TransferArgs = host.input_as()?;
    let from = host.caller();
    transfer(host, &from, &args.to, args.amount, false)
}

/// Entry point: transfer that must leave the sender at least the existential deposit.
pub fn entry_transfer_keep_alive(host: &mut impl Host) -> Result<(), TokenError> {
    let args: TransferArgs = host.input_as()?;
    let from = host.caller();
    transfer(host, &from, &args.to, args.amount, true)
}

/// Entry point: `(spender, amount)`: the caller approves `spender` to move up to `amount` rao.
pub fn entry_approve(host: &mut impl Host) -> Result<(), TokenError> {
    let (spender, amount): (Address, u64) = host.input_as()?;
    let owner = host.caller();
    approve(host, &owner, &spender, amount)
}

/// Entry point: `(owner, to, amount)`: the caller moves `owner`'s TAO within its allowance.
pub fn entry_transfer_from(host: &mut impl Host) -> Result<(), TokenError> {
    let (owner, to, amount): (Address, Address, u64) = host.input_as()?;
    let spender = host.caller();
    transfer_from(host, &spender, &owner, &to, amount)
}

/// Entry point (system only): genesis balances.
pub fn entry_genesis(host: &mut impl Host) -> Result<(), TokenError> {
    only_system(host)?;
    let balances: alloc::vec::Vec<(Address, u64)> = host.input_as()?;
    for (who, amount) in balances {
        mint(host, &who, amount)?;
    }
    Ok(())
}

/// Entry point (system only): issue the block emission; outputs the amount.
pub fn entry_issue_block_emission(host: &mut impl Host) -> Result<(), TokenError> {
    only_system(host)?;
    let emission = issue_block_emission(host)?;
    host.output_as(&emission);
    Ok(())
}

/// Entry point (chain only): `(payer, amount)` fee charge.
pub fn entry_charge_fee(host: &mut impl Host) -> Result<(), TokenError> {
    let (payer, amount): (Address, u64) = host.input_as()?;
    charge_fee(host, &payer, amount)
}

/// Entry point (chain only): `(payer, held, fee)` refund of a hold after the call; outputs the
/// rao refunded.
pub fn entry_refund_fee(host: &mut impl Host) -> Result<(), TokenError> {
    let (payer, held, fee): (Address, u64, u64) = host.input_as()?;
    let refunded = refund_fee(host, &payer, held, fee)?;
    host.output_as(&refunded);
    Ok(())
}

/// Entry point: outputs `(balance, issuance, burned)` for an address.
pub fn entry_query(host: &mut impl Host) -> Result<(), TokenError> {
    let who: Address = host.input_as()?;
    let out = (balance(host, &who)?, issuance(host)?, burned(host)?);
    host.output_as(&out);
    Ok(())
}

/// Entry point: recycles `amount` of the caller's TAO.
pub fn entry_recycle(host: &mut impl Host) -> Result<(), TokenError> {
    let amount: u64 = host.input_as()?;
    let who = host.caller();
    recycle(host, &who, amount)
}

/// Entry point: burns `amount` of the caller's TAO.
pub fn entry_burn(host: &mut impl Host) -> Result<(), TokenError> {
    let amount: u64 = host.input_as()?;
    let who = host.caller();
    burn(host, &who, amount)
}

tao_sdk::entry_points!(
    entry_transfer,
    entry_transfer_keep_alive,
    entry_genesis,
    entry_issue_block_emission,
    entry_query,
    entry_recycle,
    entry_burn,
    entry_charge_fee,
    entry_refund_fee,
    entry_approve,
    entry_transfer_from
);

#[cfg(test)]
mod tests;

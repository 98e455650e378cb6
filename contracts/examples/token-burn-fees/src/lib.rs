//! Example system-module upgrade, for governance: the token module with one rule changed —
//! transaction fees are burned (taken out of supply for good) instead of recycled (issued again
//! later). Every other entry point is the token's own, so balances and transfers are untouched.
//! Deploy it, propose `UpgradeModule { name: "token", code }`, and after the vote the chain runs
//! it from the activation block on.
#![cfg_attr(target_arch = "wasm32", no_std)]

use tao_contract_token::{SYSTEM, TokenError, burn, refund_with, unburn};
// The token's own entry points, exported unchanged next to the new fee entry points.
#[cfg(all(target_arch = "wasm32", feature = "export"))]
use tao_contract_token::{
    entry_approve, entry_burn, entry_genesis, entry_issue_block_emission, entry_query, entry_recycle,
    entry_transfer, entry_transfer_from, entry_transfer_keep_alive,
};
use tao_sdk::{Address, Host};

/// Charges `amount` of fees to `payer` (chain only), burning them.
pub fn charge_fee(host: &mut impl Host, payer: &Address, amount: u64) -> Result<(), TokenError> {
    if host.caller() != SYSTEM {
        return Err(TokenError::NotSystem);
    }
    if amount == 0 {
        return Ok(());
    }
    burn(host, payer, amount)
}

/// Entry point (chain only): `(payer, amount)` fee charge, burned.
pub fn entry_charge_fee(host: &mut impl Host) -> Result<(), TokenError> {
    let (payer, amount): (Address, u64) = host.input_as()?;
    charge_fee(host, &payer, amount)
}

/// Refunds to `payer` what its burned hold of `held` exceeds `fee` (chain only), taking it back
/// off the burned total: the token's own refund rule with this module's supply.
pub fn refund_fee(host: &mut impl Host, payer: &Address, held: u64, fee: u64) -> Result<u64, TokenError> {
    refund_with(host, payer, held, fee, unburn)
}

/// Entry point (chain only): `(payer, held, fee)` refund; outputs the rao refunded.
pub fn entry_refund_fee(host: &mut impl Host) -> Result<(), TokenError> {
    let (payer, held, fee): (Address, u64, u64) = host.input_as()?;
    let refunded = refund_fee(host, &payer, held, fee)?;
    host.output_as(&refunded);
    Ok(())
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
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use tao_contract_token::{balance, burned, issuance, mint};
    use tao_sdk::{MemoryHost, NativeOutcome};

    use super::*;

    #[test]
    fn fees_are_burned_not_recycled_and_refunds_unburned() {
        let mut h = MemoryHost::new();
        h.caller = SYSTEM;
        let payer = Address([1; 20]);
        let run = h.run(&[], |h| {
            mint(h, &payer, 10_000)?;
            charge_fee(h, &payer, 1_000)
        });
        assert_eq!(run.outcome, NativeOutcome::Ok);
        assert_eq!(
            (balance(&mut h, &payer), issuance(&mut h), burned(&mut h)),
            (Ok(9_000), Ok(10_000), Ok(1_000))
        );
        // The unused part of the hold comes back off the burned total, never re-issued.
        let run = h.run(&[], |h| refund_fee(h, &payer, 1_000, 300).map(drop));
        assert_eq!(run.outcome, NativeOutcome::Ok);
        assert_eq!(
            (balance(&mut h, &payer), issuance(&mut h), burned(&mut h)),
            (Ok(9_700), Ok(10_000), Ok(300))
        );
        h.caller = payer;
        assert!(matches!(h.run(&[], |h| charge_fee(h, &payer, 1)).outcome, NativeOutcome::Abort(_)));
    }
}

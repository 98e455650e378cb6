//! Example system-module upgrade, for governance: the token module with one rule changed —
//! transaction fees are burned (taken out of supply for good) instead of recycled (issued again
//! later). Every other entry point is the token's own, so balances and transfers are untouched.
//! Deploy it, propose `UpgradeModule { name: "token", code }`, and after the vote the chain runs
//! it from the activation block on.
#![cfg_attr(target_arch = "wasm32", no_std)]

use tao_contract_token::{SYSTEM, TokenError, burn};
// The token's own entry points, exported unchanged next to the new `entry_charge_fee`.
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

tao_sdk::entry_points!(
    entry_transfer,
    entry_transfer_keep_alive,
    entry_genesis,
    entry_issue_block_emission,
    entry_query,
    entry_recycle,
    entry_burn,
    entry_charge_fee,
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
    fn fees_are_burned_not_recycled() {
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
        h.caller = payer;
        assert!(matches!(h.run(&[], |h| charge_fee(h, &payer, 1)).outcome, NativeOutcome::Abort(_)));
    }
}

//! Example uploaded contract: a deposit box. Anyone deposits TAO and withdraws what they put in.
//!
//! It shows what uploaded code may do and how. Its ledger lives in its own namespace (through
//! [`Own`]); the TAO itself sits in the contract's own account and moves only through the
//! token module's entry points, called with `call_system` as the contract: a deposit takes
//! what the depositor approved for the contract (`token` `entry_approve` first, signed by the
//! depositor), a withdrawal pays back from the contract's account. Supply is conserved by
//! construction: the contract never touches a balance itself.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::string::String;

use tao_sdk::{Address, Contract, Map, Own, borsh};

const DEPOSITS: Map<Address, u64> = Map::new(b"deposit/");

/// Why a call failed.
pub type Error = String;

fn deposits(host: &mut (impl Contract + ?Sized), who: &Address) -> Result<u64, Error> {
    Ok(DEPOSITS.load(&mut Own::new(host), who).map_err(|e| alloc::format!("{e}"))?.unwrap_or(0))
}

fn token(host: &mut (impl Contract + ?Sized), entry: &str, args: &impl borsh::BorshSerialize) {
    let input = borsh::to_vec(args).unwrap_or_default();
    host.call_system("token", entry, &input);
}

/// Entry point: `amount` rao of the caller's approved TAO go into the box.
pub fn entry_deposit(host: &mut (impl Contract + ?Sized)) -> Result<(), Error> {
    let amount: u64 = host.input_as().map_err(|e| alloc::format!("{e}"))?;
    let (caller, own) = (host.caller(), host.self_address());
    token(host, "entry_transfer_from", &(caller, own, amount));
    let total = deposits(host, &caller)?.checked_add(amount).ok_or("overflow")?;
    DEPOSITS.save(&mut Own::new(host), &caller, &total);
    host.emit(b"deposited", &borsh::to_vec(&(caller, amount)).unwrap_or_default());
    Ok(())
}

/// Entry point: `amount` rao of the caller's deposit come back to them.
pub fn entry_withdraw(host: &mut (impl Contract + ?Sized)) -> Result<(), Error> {
    let amount: u64 = host.input_as().map_err(|e| alloc::format!("{e}"))?;
    let caller = host.caller();
    let have = deposits(host, &caller)?;
    let left =
        have.checked_sub(amount).ok_or_else(|| alloc::format!("deposit is {have} rao, asked {amount}"))?;
    DEPOSITS.save(&mut Own::new(host), &caller, &left);
    token(host, "entry_transfer", &tao_contract_token::TransferArgs { to: caller, amount });
    host.emit(b"withdrawn", &borsh::to_vec(&(caller, amount)).unwrap_or_default());
    Ok(())
}

/// Entry point: outputs the deposit of an address.
pub fn entry_deposit_of(host: &mut (impl Contract + ?Sized)) -> Result<(), Error> {
    let who: Address = host.input_as().map_err(|e| alloc::format!("{e}"))?;
    let amount = deposits(host, &who)?;
    host.output_as(&amount);
    Ok(())
}

tao_sdk::entry_points!(entry_deposit, entry_withdraw, entry_deposit_of);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use tao_contract_token as token;
    use tao_sdk::{MemoryHost, NativeOutcome, test_address};

    use super::*;

    fn host() -> (MemoryHost, Address) {
        let mut h = MemoryHost::new()
            .with_system("token", "entry_transfer_from", |h| {
                token::entry_transfer_from(h).map_err(|e| e.to_string())
            })
            .with_system("token", "entry_transfer", |h| token::entry_transfer(h).map_err(|e| e.to_string()));
        h.self_address = tao_sdk::contract_address(&tao_sdk::Hash([7; 32]));
        let alice = test_address(1);
        h.caller = token::SYSTEM;
        h.run(&[], |h| token::mint(h, &alice, 10_000));
        (h, alice)
    }

    #[test]
    fn deposits_and_withdrawals_move_approved_tao_and_conserve_supply() {
        let (mut h, alice) = host();
        let own = h.self_address;
        h.caller = alice;
        let no_allowance = h.run(&borsh::to_vec(&1_000u64).unwrap(), entry_deposit);
        assert!(
            matches!(no_allowance.outcome, NativeOutcome::Abort(ref m) if m.contains("allowance")),
            "{no_allowance:?}"
        );
        h.run(&[], |h| token::approve(h, &alice, &own, 3_000));
        let run = h.run(&borsh::to_vec(&2_000u64).unwrap(), entry_deposit);
        assert_eq!(run.outcome, NativeOutcome::Ok);
        assert_eq!((token::balance(&mut h, &alice), token::balance(&mut h, &own)), (Ok(8_000), Ok(2_000)));
        let too_much = h.run(&borsh::to_vec(&2_001u64).unwrap(), entry_withdraw);
        assert!(matches!(too_much.outcome, NativeOutcome::Abort(_)));
        assert_eq!(h.run(&borsh::to_vec(&1_500u64).unwrap(), entry_withdraw).outcome, NativeOutcome::Ok);
        assert_eq!((token::balance(&mut h, &alice), token::balance(&mut h, &own)), (Ok(9_500), Ok(500)));
        assert_eq!(token::issuance(&mut h), Ok(10_000));
        let left = h.run(&borsh::to_vec(&alice).unwrap(), entry_deposit_of);
        assert_eq!(left.output, borsh::to_vec(&500u64).unwrap());
    }
}

//! Which code computes a figure. The wallet carries the system modules compiled in; it runs
//! them natively only while the chain's proven code hash for the module is the hash of the
//! module it was built with ([`CARRIED`], taken by `build.rs` from the `.wasm` files
//! `cargo xtask contracts` built from the same sources). Otherwise — after a governance upgrade,
//! or for a subnet's own incentive module — it runs the chain's bytes under [`crate::wasm`].

use std::sync::Arc;

use tao_contract_incentive as incentive;
use tao_contract_staking as staking;
use tao_contract_token as token;
use tao_sdk::Host;
use tao_types::{Address, Hash};

use crate::proven::ProvenHost;
use crate::wasm::{self, Access, Call};

include!(concat!(env!("OUT_DIR"), "/carried.rs"));
// The carried modules' bytes, for tests (a constant nothing in a build refers to adds nothing to it).
include!(concat!(env!("OUT_DIR"), "/carried_code.rs"));

/// The code hash of system module `name` as compiled into this wallet, if it carries it.
pub fn carried(name: &str) -> Option<Hash> {
    CARRIED.iter().find(|(module, _)| *module == name).map(|(_, hash)| Hash(*hash))
}

type Native = fn(&mut ProvenHost) -> Result<(), String>;

macro_rules! native {
    ($($module:literal => $krate:ident :: $entry:ident),* $(,)?) => {
        &[$(($module, stringify!($entry), |h: &mut ProvenHost| $krate::$entry(h).map_err(|e| e.to_string()))),*]
    };
}

/// The entry points the clients run compiled in: those the wallet's previews and the epoch
/// re-runs call (kept few, so the wallet's bundle carries no more). Any other entry, such as the
/// CLI's preflight of a registration, runs from the chain's bytes ([`ModuleCode::runs`]).
const NATIVE: &[(&str, &str, Native)] = native!(
    "token" => token::entry_charge_fee,
    "token" => token::entry_transfer,
    "token" => token::entry_transfer_keep_alive,
    "staking" => staking::entry_add_stake,
    "staking" => staking::entry_remove_stake,
    "staking" => staking::entry_move_stake,
    "incentive" => incentive::entry_epoch,
    "incentive" => incentive::entry_epoch_input,
);

#[derive(Debug, Clone)]
enum Runner {
    /// The system module of this name, compiled in.
    Native(&'static str),
    /// The chain's bytes, verified and compiled for the interpreter.
    Bytes(Arc<wasm::Code>),
}

/// Code the chain runs, as the wallet will run it.
#[derive(Debug, Clone)]
pub struct ModuleCode {
    /// What it is, for people: `token`, `subnet 3's incentive module`.
    pub name: String,
    /// Its proven code hash.
    pub hash: Hash,
    runner: Runner,
}

impl ModuleCode {
    /// System module `name` compiled in, if `hash` (proven) is the one this wallet carries.
    pub fn compiled(name: &'static str, hash: Hash) -> Option<ModuleCode> {
        (carried(name) == Some(hash)).then(|| ModuleCode {
            name: name.into(),
            hash,
            runner: Runner::Native(name),
        })
    }

    /// The chain's bytes, already checked against their proven hash by [`wasm::Code::verified`].
    pub fn on_chain(name: impl Into<String>, code: Arc<wasm::Code>) -> ModuleCode {
        ModuleCode { name: name.into(), hash: code.hash(), runner: Runner::Bytes(code) }
    }

    /// Whether this can run `entry`: the chain's bytes run any of their entry points, the code
    /// compiled in only those in its table.
    pub fn runs(&self, entry: &str) -> bool {
        match self.runner {
            Runner::Bytes(_) => true,
            Runner::Native(module) => NATIVE.iter().any(|(m, e, _)| *m == module && *e == entry),
        }
    }

    /// Whether this runs the chain's bytes (not the code compiled in).
    pub fn is_on_chain(&self) -> bool {
        matches!(self.runner, Runner::Bytes(_))
    }

    /// Runs `call` on `host` and returns its output. A failed call leaves no writes, as on chain.
    pub fn call(&self, host: &mut ProvenHost, call: Call<'_>) -> Result<Vec<u8>, String> {
        match &self.runner {
            Runner::Bytes(code) => code.call(host, call).map_err(|e| e.to_string()),
            Runner::Native(module) => {
                let (_, _, run) = NATIVE
                    .iter()
                    .find(|(m, entry, _)| m == module && *entry == call.entry)
                    .ok_or_else(|| format!("the wallet has no compiled-in {module}.{}", call.entry))?;
                let before = host.checkpoint();
                let result = host.with_call(call.caller, call.input, |h| {
                    h.set_output(&[]);
                    run(h).map(|()| h.output().to_vec())
                });
                if result.is_err() {
                    host.rollback(before);
                }
                result
            }
        }
    }

    /// Which code produced a figure, in a line people can check against the chain.
    pub fn describe(&self) -> String {
        let short = short(&self.hash);
        match self.runner {
            Runner::Native(_) => {
                format!("computed by the on-chain {} module {short}, compiled in", self.name)
            }
            Runner::Bytes(_) => format!("run from on-chain bytes {short} ({})", self.name),
        }
    }
}

/// `0x1234abcd…`: enough of a hash to compare by eye.
pub fn short(hash: &Hash) -> String {
    format!("0x{}…", hex::encode(&hash.0[..4]))
}

/// The account system modules see as the chain (fees, hooks).
pub const SYSTEM: Address = token::SYSTEM;

/// A call as the chain makes it to a system module.
pub fn system_call(entry: &str, input: Vec<u8>) -> Call<'_> {
    Call { entry, caller: SYSTEM, input, access: Access::System, fuel: wasm::FUEL }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use super::*;

    #[test]
    fn compiled_code_runs_its_table_and_the_chains_bytes_run_any_entry() {
        let hash = carried("token").expect("the contracts are built (`cargo xtask contracts`)");
        let compiled = ModuleCode::compiled("token", hash).unwrap();
        assert!(compiled.runs("entry_transfer") && compiled.runs("entry_charge_fee"));
        assert!(!compiled.runs("entry_recycle"), "not compiled in: run from the chain's bytes");
        assert!(ModuleCode::compiled("token", Hash([7; 32])).is_none(), "another hash is not carried");
        let bytes = CARRIED_CODE.iter().find(|(name, _)| *name == "token").unwrap().1;
        let on_chain = ModuleCode::on_chain("token", Arc::new(wasm::Code::verified(hash, bytes).unwrap()));
        assert!(on_chain.runs("entry_recycle") && on_chain.is_on_chain());
    }
}

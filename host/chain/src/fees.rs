//! Who pays a transaction's fee: its sender, or, for a neuron's own calls, the coldkey that owns
//! the hotkey (docs/protocol.md, "Who pays the fee").

use tao_tx::Transaction;
use tao_types::Address;
use tao_vm::Storage;

use crate::keys;

pub use tao_contract_neurons::SPONSORED_CALLS;

/// Who pays `tx`'s fee in `state`: its sender, except for a [`SPONSORED_CALLS`] call by a hotkey
/// with an owner (bound when the owner first registered it), which that coldkey pays. Every call
/// still pays before it runs (a refused or rate-limited one too), so nothing becomes free to
/// send; the hotkey itself needs no TAO. The one rule the executor charges by and the node
/// admits by.
pub fn fee_payer(state: &dyn Storage, tx: &Transaction) -> Address {
    let module = tao_contract_neurons::sponsored_module(&tx.call.method);
    let sponsored = module.is_some_and(|m| {
        state.get(&keys::module(m)).is_some_and(|hash| hash.as_slice() == tx.call.contract.0.as_slice())
    });
    if !sponsored {
        return tx.sender;
    }
    state
        .get(&tao_contract_neurons::hotkey_owner_key(&tx.sender))
        .and_then(|owner| borsh::from_slice::<Address>(&owner).ok())
        .unwrap_or(tx.sender)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use tao_tx::Call;
    use tao_types::{Balance, Hash};
    use tao_vm::MemoryStorage;

    use super::*;

    const WEIGHTS: Hash = Hash([7; 32]);
    const NEURONS: Hash = Hash([8; 32]);
    const HOTKEY: Address = Address([1; 20]);
    const OWNER: Address = Address([2; 20]);

    fn tx(sender: Address, contract: Hash, method: &str) -> Transaction {
        let call = Call {
            contract,
            method: method.as_bytes().to_vec().try_into().unwrap(),
            args: Vec::new().try_into().unwrap(),
        };
        Transaction { chain_id: 1, sender, nonce: 0, fee_limit: Balance(10_000_000), call }
    }

    /// The weights and neurons modules registered, and `HOTKEY` owned by `OWNER` when `owned`.
    fn state(owned: bool) -> MemoryStorage {
        let mut map = BTreeMap::new();
        map.insert(keys::module("weights"), WEIGHTS.0.to_vec());
        map.insert(keys::module("neurons"), NEURONS.0.to_vec());
        if owned {
            map.insert(tao_contract_neurons::hotkey_owner_key(&HOTKEY), borsh::to_vec(&OWNER).unwrap());
        }
        MemoryStorage(map)
    }

    #[test]
    fn an_owned_hotkeys_neuron_calls_are_paid_by_its_owner_and_nothing_else_is() {
        let owned = state(true);
        for (module, method) in SPONSORED_CALLS {
            let contract = if module == "weights" { WEIGHTS } else { NEURONS };
            assert_eq!(fee_payer(&owned, &tx(HOTKEY, contract, method)), OWNER, "{method}");
            assert_eq!(fee_payer(&state(false), &tx(HOTKEY, contract, method)), HOTKEY, "no owner");
        }
        // The method of another module, another method, another sender: the sender pays.
        assert_eq!(fee_payer(&owned, &tx(HOTKEY, NEURONS, "entry_set_weights")), HOTKEY);
        assert_eq!(fee_payer(&owned, &tx(HOTKEY, Hash([9; 32]), "entry_serve_axon")), HOTKEY);
        assert_eq!(fee_payer(&owned, &tx(HOTKEY, NEURONS, "entry_burned_register")), HOTKEY);
        assert_eq!(fee_payer(&owned, &tx(OWNER, WEIGHTS, "entry_set_weights")), OWNER);
    }
}

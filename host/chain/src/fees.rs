//! Who pays a transaction's fee: its sender, or, for a neuron's own calls, the coldkey that owns
//! the hotkey (docs/protocol.md, "Who pays the fee").

use tao_tx::Transaction;
use tao_types::Address;
use tao_vm::Storage;

use crate::keys;

/// A neuron's own calls, `(system module, entry point)`: subtensor charges a hotkey nothing for
/// them.
pub const SPONSORED_CALLS: [(&str, &str); 4] = [
    ("weights", "entry_set_weights"),
    ("weights", "entry_commit_weights"),
    ("weights", "entry_reveal_weights"),
    ("neurons", "entry_serve_axon"),
];

/// Who pays `tx`'s fee in `state`: its sender, except for a [`SPONSORED_CALLS`] call by a hotkey
/// with an owner (bound when the owner first registered it), which that coldkey pays. Every call
/// still pays before it runs (a refused or rate-limited one too), so nothing becomes free to
/// send; the hotkey itself needs no TAO. The one rule the executor charges by and the node
/// admits by.
pub fn fee_payer(state: &dyn Storage, tx: &Transaction) -> Address {
    let module = SPONSORED_CALLS
        .iter()
        .find(|(_, method)| &*tx.call.method == method.as_bytes())
        .map(|(module, _)| *module);
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

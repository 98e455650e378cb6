//! Which validator set signs which block: the staking contract computes a set at its epochs
//! (`tao_contract_staking::validator_epoch`); a block whose writes store a new set names it in
//! its header's `next_validators_hash`, and the block after it is signed by that set. A block's
//! equivocation evidence slashes its offenders, which also leave the next set.

use tao_light::{MAX_VALIDATORS, Validator, validators_hash};
use tao_types::Hash;
use tao_vm::{Storage, WriteSet};

/// The set a block with `writes` names next, after a parent that named `parent_next`: the set
/// the staking contract stored in this block, if it decodes into 1..=[`MAX_VALIDATORS`] valid
/// keys with power; otherwise (no new set, or an invalid one) the parent's.
pub fn next_validators_hash(parent_next: Hash, writes: &WriteSet) -> Hash {
    match writes.get(&tao_contract_staking::next_set_key()) {
        Some(Some(bytes)) => decode_set(bytes).map_or(parent_next, |set| validators_hash(&set)),
        _ => parent_next,
    }
}

/// The validators a block slashes: the offenders of its evidence (checked by the node against
/// the set of each one's height) and the set signing the block, which the staking contract
/// removes them from when no set is stored yet (the genesis set is in force).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Slashes {
    /// Each offender's consensus key and the height it equivocated at.
    pub offenders: Vec<(tao_crypto::PublicKey, u64)>,
    /// The set that signs the block.
    pub in_force: Vec<Validator>,
}

impl Slashes {
    /// The staking contract's chain-only calls that apply them: (offender, entry, borsh
    /// arguments).
    pub(crate) fn calls(&self) -> impl Iterator<Item = (tao_crypto::PublicKey, &'static str, Vec<u8>)> + '_ {
        let members: Vec<tao_contract_staking::Member> =
            self.in_force.iter().map(|v| (v.key.to_compressed(), v.power)).collect();
        self.offenders.iter().map(move |(key, height)| {
            let args = borsh::to_vec(&(key.to_compressed(), *height, &members)).unwrap_or_default();
            (*key, "entry_slash_equivocation", args)
        })
    }
}

/// The set whose hash is `named`: the genesis set, or one the staking contract stored in
/// `state` (a set is stored once and kept, so a node's head state serves any height's).
pub fn validator_set(state: &dyn Storage, genesis: &[Validator], named: Hash) -> Option<Vec<Validator>> {
    if validators_hash(genesis) == named {
        return Some(genesis.to_vec());
    }
    let set = decode_set(&state.get(&tao_contract_staking::set_key(&named))?)?;
    (validators_hash(&set) == named).then_some(set)
}

/// A usable set: valid keys, at most [`MAX_VALIDATORS`], each with power, the total within u64.
fn decode_set(bytes: &[u8]) -> Option<Vec<Validator>> {
    let set: Vec<Validator> = borsh::from_slice(bytes).ok()?;
    let total = set.iter().try_fold(0u64, |total, v| total.checked_add(v.power))?;
    let usable =
        !set.is_empty() && set.len() <= MAX_VALIDATORS && total > 0 && set.iter().all(|v| v.power > 0);
    usable.then_some(set)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "test code: a failure should panic")]
mod tests {
    use super::*;

    fn member(seed: u8, power: u64) -> Validator {
        let key = tao_crypto::SecretKey::from_bytes(&[seed; 32]).unwrap();
        Validator { key: key.public_key(), power }
    }

    fn writes(set: &[u8]) -> WriteSet {
        WriteSet::from([(tao_contract_staking::next_set_key(), Some(set.to_vec()))])
    }

    /// The contract's members encode exactly as the light client's validators, so the contract's
    /// set and the header's hash agree; a bound kept equal to the light client's.
    #[test]
    fn a_stored_set_is_named_and_an_unusable_one_keeps_the_parent_set() {
        assert_eq!(usize::from(tao_contract_staking::MAX_SET), MAX_VALIDATORS);
        let parent = Hash([7; 32]);
        let set = vec![member(1, 5), member(2, 3)];
        let members: Vec<tao_contract_staking::Member> =
            set.iter().map(|v| (v.key.to_compressed(), v.power)).collect();
        let bytes = borsh::to_vec(&members).unwrap_or_default();
        assert_eq!(next_validators_hash(parent, &writes(&bytes)), validators_hash(&set));
        assert_eq!(next_validators_hash(parent, &WriteSet::new()), parent);
        let mut bad_key = members.clone();
        bad_key[0].0[0] = 0x05;
        let zero_power = vec![(members[0].0, 0u64)];
        let overflow = vec![(members[0].0, u64::MAX), (members[1].0, 1)];
        for unusable in [borsh::to_vec(&bad_key), borsh::to_vec(&zero_power), borsh::to_vec(&overflow)] {
            assert_eq!(next_validators_hash(parent, &writes(&unusable.unwrap_or_default())), parent);
        }
        assert_eq!(next_validators_hash(parent, &writes(&[])), parent, "an empty set");
    }

    #[test]
    fn a_named_set_is_served_from_state_only_if_it_hashes_to_its_name() {
        let genesis = vec![member(9, 1)];
        let set = vec![member(1, 5)];
        let named = validators_hash(&set);
        let mut state = tao_vm::MemoryStorage::default();
        assert_eq!(validator_set(&state, &genesis, validators_hash(&genesis)), Some(genesis.clone()));
        assert_eq!(validator_set(&state, &genesis, named), None);
        state.0.insert(tao_contract_staking::set_key(&named), borsh::to_vec(&set).unwrap_or_default());
        assert_eq!(validator_set(&state, &genesis, named), Some(set));
        let other = vec![member(2, 5)];
        state.0.insert(tao_contract_staking::set_key(&named), borsh::to_vec(&other).unwrap_or_default());
        assert_eq!(validator_set(&state, &genesis, named), None);
    }
}

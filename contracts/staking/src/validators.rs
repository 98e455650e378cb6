//! The validator set from stake: root hotkeys register a consensus key, and every
//! `epoch` blocks ([`ValidatorParams`]) the chain takes the top `max_validators` root stakes
//! among them (at least `min_stake` each) as the set that signs the blocks after the next one.
//!
//! The node reads the set this module writes ([`next_set_key`]) from a block's writes and names
//! it in that block's header (`next_validators_hash`): the header after it is signed by the new
//! set. Every set ever computed stays readable by its hash ([`set_key`]), so a node serves the
//! set of any height from state and a client checks it against the hash its header names.

use alloc::vec::Vec;

use k256::ecdsa::signature::hazmat::PrehashVerifier;
use k256::ecdsa::{Signature, VerifyingKey};
use tao_contract_neurons as neurons;
use tao_contract_token::SYSTEM;
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Item, Map};
use tao_types::{Hash, keccak256};

use crate::{StakeError, root_list};

/// Most validators in a set: `tao_light::MAX_VALIDATORS`, the most a light client takes (a host
/// test keeps the two equal). Candidates are root UIDs, so a set is at most 64 today.
pub const MAX_SET: u16 = 1024;

/// A compressed secp256k1 public key (33 bytes), the engine's signing key.
pub type ConsensusKey = [u8; 33];

/// One member of a set: its consensus key and voting power (its root stake in rao). Encodes
/// exactly as `tao_light::Validator`, so a set's hash here is the hash headers commit.
pub type Member = (ConsensusKey, u64);

/// The root parameters of the validator set, settable by governance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct ValidatorParams {
    /// K: most validators in a set (1..=[`MAX_SET`]).
    pub max_validators: u16,
    /// Least root stake (rao) a validator holds.
    pub min_stake: u64,
    /// Blocks between set computations: the set is computed at every height divisible by it.
    /// 0 (the default) keeps the genesis set forever (the dev chain's single authority).
    pub epoch: u64,
    /// Fewest validators a computed set may have (1..=K): an epoch where fewer qualify keeps
    /// the current set, so one operator alone cannot become the whole set.
    pub min_validators: u16,
}

impl ValidatorParams {
    /// Whether K is in 1..=[`MAX_SET`], the minimum stake above zero (a validator's power) and
    /// the minimum set size in 1..=K.
    pub fn is_valid(&self) -> bool {
        (1..=MAX_SET).contains(&self.max_validators)
            && self.min_stake > 0
            && (1..=self.max_validators).contains(&self.min_validators)
    }
}

impl Default for ValidatorParams {
    fn default() -> Self {
        ValidatorParams {
            max_validators: 64,
            min_stake: 1_000 * tao_types::RAO_PER_TAO,
            epoch: 0,
            min_validators: 1,
        }
    }
}

const PARAMS: Item<ValidatorParams> = Item::new(b"stake/validator-params");
/// Each hotkey's consensus key.
const KEYS: Map<Address, ConsensusKey> = Map::new(b"stake/consensus-key/");
/// The hotkey each consensus key was ever registered to: a key belongs to one hotkey forever, so
/// a key seen in any set (or in evidence) names one hotkey.
const KEY_OWNERS: Map<ConsensusKey, Address> = Map::new(b"stake/consensus-key-owner/");
/// The set computed at the last epoch (borsh `Vec<Member>`).
const NEXT_SET_KEY: &[u8] = b"stake/validator-set";
const NEXT_SET: Item<Vec<Member>> = Item::new(NEXT_SET_KEY);
/// Every computed set by its hash.
const SETS: Map<Hash, Vec<Member>> = Map::new(b"stake/validator-sets/");

/// The validator-set parameters.
pub fn validator_params(host: &mut impl Host) -> Result<ValidatorParams, StakeError> {
    Ok(PARAMS.load(host)?.unwrap_or_default())
}

/// Chain only (governance, genesis): sets the validator-set parameters.
pub fn set_validator_params(host: &mut impl Host, params: ValidatorParams) -> Result<(), StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    if !params.is_valid() {
        return Err(StakeError::BadValidatorParams);
    }
    PARAMS.save(host, &params);
    Ok(())
}

/// What a consensus key signs to prove it is held by `coldkey` for `hotkey` (so no one can take
/// another validator's key, nor replay its proof for the same hotkey address under another
/// owner — on another chain, or after a swap freed the hotkey): its own domain, never a vote,
/// a transaction or a wallet message.
pub fn consensus_key_proof_hash(coldkey: &Address, hotkey: &Address) -> [u8; 32] {
    let mut preimage = Vec::with_capacity(27 + 20 + 20);
    preimage.extend_from_slice(b"wasmtensor/consensus-key/v2");
    preimage.extend_from_slice(&coldkey.0);
    preimage.extend_from_slice(&hotkey.0);
    keccak256(&preimage)
}

/// Whether `key` is a compressed secp256k1 key and `proof` its signature `r ‖ s` over
/// [`consensus_key_proof_hash`] (also checked by a chain spec before genesis, to name the bad
/// validator).
pub fn check_consensus_key_proof(
    coldkey: &Address,
    hotkey: &Address,
    key: &ConsensusKey,
    proof: &[u8; 64],
) -> Result<(), StakeError> {
    // Only the compressed tags: one key, one encoding (the one headers hash).
    if !matches!(key[0], 0x02 | 0x03) {
        return Err(StakeError::BadConsensusKey);
    }
    let public = VerifyingKey::from_sec1_bytes(key).map_err(|_| StakeError::BadConsensusKey)?;
    let signature = Signature::from_slice(proof).map_err(|_| StakeError::BadConsensusKey)?;
    public
        .verify_prehash(&consensus_key_proof_hash(coldkey, hotkey), &signature)
        .map_err(|_| StakeError::BadConsensusKey)
}

/// `coldkey`, the owner of `hotkey`, registers (or replaces) `hotkey`'s consensus `key`, with
/// `proof` (the key's ECDSA signature `r ‖ s` over [`consensus_key_proof_hash`]). A key serves
/// one hotkey forever; a replacement counts from the next epoch.
pub fn set_consensus_key(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    key: &ConsensusKey,
    proof: &[u8; 64],
) -> Result<(), StakeError> {
    if neurons::hotkey_owner(host, hotkey)?.ok_or(StakeError::UnknownHotkey)? != *coldkey {
        return Err(StakeError::NotHotkeyOwner);
    }
    if crate::slashing::is_tombstoned(host, key)? {
        return Err(StakeError::ConsensusKeyTombstoned);
    }
    check_consensus_key_proof(coldkey, hotkey, key, proof)?;
    match KEY_OWNERS.load(host, key)? {
        Some(owner) if owner == *hotkey && KEYS.load(host, hotkey)? == Some(*key) => {
            return Err(StakeError::ConsensusKeyUnchanged);
        }
        Some(owner) if owner != *hotkey => return Err(StakeError::ConsensusKeyTaken),
        _ => {}
    }
    KEY_OWNERS.save(host, key, hotkey);
    KEYS.save(host, hotkey, key);
    Ok(())
}

/// A hotkey swap moves `old`'s consensus key to `new`: the key then serves `new` (its proof of
/// possession was checked when `old` registered it; what the set needs is the key's owner).
pub(crate) fn swap_consensus_key(
    host: &mut impl Host,
    old: &Address,
    new: &Address,
) -> Result<(), StakeError> {
    if let Some(key) = crate::swap::move_entry(host, &KEYS, old, new)? {
        KEY_OWNERS.save(host, &key, new);
    }
    Ok(())
}

/// The hotkey `key` was ever registered to.
pub(crate) fn key_owner(host: &mut impl Host, key: &ConsensusKey) -> Result<Option<Address>, StakeError> {
    Ok(KEY_OWNERS.load(host, key)?)
}

/// Removes `hotkey`'s consensus-key binding if it is `key` (a replaced key is bound no more).
pub(crate) fn unbind_key(
    host: &mut impl Host,
    hotkey: &Address,
    key: &ConsensusKey,
) -> Result<(), StakeError> {
    if KEYS.load(host, hotkey)? == Some(*key) {
        KEYS.remove(host, hotkey);
    }
    Ok(())
}

/// `hotkey`'s consensus key, if registered.
pub fn consensus_key(host: &mut impl Host, hotkey: &Address) -> Result<Option<ConsensusKey>, StakeError> {
    Ok(KEYS.load(host, hotkey)?)
}

/// The set `params` make of the root UIDs now: those with a consensus key and at least the
/// minimum root stake, the largest stakes first (ties: the lower hotkey address first), at
/// most K, power = root stake.
pub fn compute_set(host: &mut impl Host, params: &ValidatorParams) -> Result<Vec<Member>, StakeError> {
    let mut candidates = Vec::new();
    for (_, hotkey, stake) in root_list(host)? {
        if stake >= params.min_stake
            && let Some(key) = KEYS.load(host, &hotkey)?
            && !crate::slashing::is_tombstoned(host, &key)?
        {
            candidates.push((stake, hotkey, key));
        }
    }
    candidates.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    candidates.truncate(usize::from(params.max_validators.min(MAX_SET)));
    Ok(candidates.into_iter().map(|(stake, _, key)| (key, stake)).collect())
}

/// The begin-block work (chain only): at an epoch boundary, computes the set and, unless fewer
/// than `min_validators` qualify (then it emits `validator_set_kept` with `(qualified, needed)`
/// as two borsh `u16`s and the current set stays), stores it as the next set (and by its hash).
/// Returns the set stored.
pub fn validator_epoch(host: &mut impl Host) -> Result<Option<Vec<Member>>, StakeError> {
    if host.caller() != SYSTEM {
        return Err(StakeError::NotSystem);
    }
    let params = validator_params(host)?;
    let height = host.block_height();
    if params.epoch == 0 || height == 0 || !height.is_multiple_of(params.epoch) {
        return Ok(None);
    }
    let set = compute_set(host, &params)?;
    // `compute_set` returns at most K (≤ MAX_SET) members, so the count fits a u16.
    let qualified = u16::try_from(set.len()).unwrap_or(u16::MAX);
    if qualified < params.min_validators.max(1) {
        host.emit(
            b"validator_set_kept",
            &tao_sdk::borsh::to_vec(&(qualified, params.min_validators)).unwrap_or_default(),
        );
        return Ok(None);
    }
    if next_set(host)?.as_ref() != Some(&set) {
        store_next_set(host, set.clone());
    }
    Ok(Some(set))
}

/// The set computed last (absent: the genesis set is still in force).
pub(crate) fn next_set(host: &mut impl Host) -> Result<Option<Vec<Member>>, StakeError> {
    Ok(NEXT_SET.load(host)?)
}

/// Stores `set` as the next set and by its hash, and says so (`validator_set` event): the one
/// way a set is named, whether an epoch computed it or a slash removed a member.
pub(crate) fn store_next_set(host: &mut impl Host, set: Vec<Member>) {
    let hash = Hash(keccak256(&tao_sdk::borsh::to_vec(&set).unwrap_or_default()));
    NEXT_SET.save(host, &set);
    SETS.save(host, &hash, &set);
    host.emit(b"validator_set", &hash.0);
}

/// Storage key of the set computed at the last epoch (a borsh `Vec<Member>`): a block whose
/// writes hold it names that set next.
pub fn next_set_key() -> Vec<u8> {
    NEXT_SET_KEY.to_vec()
}

/// Storage key of the set whose hash is `hash` (a borsh `Vec<Member>`), for serving any height's
/// set from state.
pub fn set_key(hash: &Hash) -> Vec<u8> {
    SETS.key(hash)
}

/// Storage key of `hotkey`'s consensus key (a borsh [`ConsensusKey`]), for proofs.
pub fn consensus_key_key(hotkey: &Address) -> Vec<u8> {
    KEYS.key(hotkey)
}

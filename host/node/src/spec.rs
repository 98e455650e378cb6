//! Chain specs: the dev chain's well-known accounts and its genesis.

use std::path::Path;

use tao_chain::{Genesis, GenesisCall, SYSTEM_MODULES, Validator};
use tao_contract_governance::GovParams;
use tao_contract_staking::StakeArgs;
use tao_contract_subnets::{RegisterNetworkArgs, SubnetIdentity, params};
use tao_crypto::PublicKey;
use tao_crypto::SecretKey;
use tao_types::Address;
use tao_types::keccak256;

/// Dev accounts, each funded with [`DEV_BALANCE`]. Their keys are public: never use them
/// for anything of value.
pub const DEV_ACCOUNTS: [&str; 6] = ["alice", "bob", "charlie", "dave", "eve", "ferdie"];
/// Balance of each dev account: 1,000,000 τ.
pub const DEV_BALANCE: u64 = 1_000_000 * tao_types::RAO_PER_TAO;
/// Blocks between subnet registrations on the dev chain.
pub const DEV_NETWORK_RATE_LIMIT: u64 = 10;
/// Governance on the dev chain: votes last 20 blocks and upgrades activate 5 blocks after
/// passing, so a proposal can be tried in minutes.
pub const DEV_GOVERNANCE: GovParams = GovParams {
    deposit: 100 * tao_types::RAO_PER_TAO,
    voting_period: 20,
    quorum: 6_554,
    threshold: 32_767,
    activation_delay: 5,
};
/// Alice's root stake to `alice-hot` on the dev chain: a root validator, and stake for
/// governance votes to weigh.
pub const DEV_ROOT_STAKE: u64 = 1_000 * tao_types::RAO_PER_TAO;
/// The dev chain's id.
pub const DEV_CHAIN_ID: u64 = 0x7a0_de7;

/// The well-known development mnemonic (Hardhat's and Anvil's): the funded dev accounts are its
/// first accounts, so MetaMask shows the same addresses after importing it.
pub const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// The dev key called `name`: the [`DEV_ACCOUNTS`] are [`DEV_MNEMONIC`]'s accounts at
/// m/44'/60'/0'/0/i in order (alice is the first); every other name (hotkeys such as
/// `alice-hot`, the `validator`) has the secret keccak256("wasmtensor/dev/" ‖ name).
pub fn dev_key(name: &str) -> SecretKey {
    if let Some(index) = DEV_ACCOUNTS.iter().position(|a| *a == name) {
        let path = format!("m/44'/60'/0'/0/{index}");
        // The mnemonic and the paths are fixed and checked by a test.
        return tao_crypto::hd::secret_from_mnemonic(DEV_MNEMONIC, "", &path)
            .unwrap_or_else(|_| unreachable_dev_key(name));
    }
    let seed = keccak256(format!("wasmtensor/dev/{name}").as_bytes());
    // A Keccak output is a valid secp256k1 scalar except with negligible probability; the dev
    // names are fixed and checked by a test.
    SecretKey::from_bytes(&seed).unwrap_or_else(|_| unreachable_dev_key(name))
}

#[allow(clippy::panic, reason = "fixed dev names, checked by a test")]
fn unreachable_dev_key(name: &str) -> SecretKey {
    panic!("dev key {name} is not a valid scalar")
}

/// Why a spec could not be built.
#[derive(Debug, thiserror::Error)]
#[error("module {name}: {path}: {source}")]
pub struct SpecError {
    name: String,
    path: String,
    source: std::io::Error,
}

/// The system modules' code from `dir` (where `cargo xtask contracts` puts them).
pub fn load_modules(dir: &Path) -> Result<Vec<(String, Vec<u8>)>, SpecError> {
    SYSTEM_MODULES
        .iter()
        .map(|name| {
            let path = dir.join(format!("tao_contract_{name}.wasm"));
            std::fs::read(&path).map(|code| (name.to_string(), code)).map_err(|source| SpecError {
                name: name.to_string(),
                path: path.display().to_string(),
                source,
            })
        })
        .collect()
}

/// A chain spec: everything genesis needs except the contracts' code, as JSON.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainSpec {
    /// Chain id, signed into every transaction.
    pub chain_id: u64,
    /// Unix milliseconds of the genesis header.
    pub genesis_time_ms: u64,
    /// Funded accounts: `[address, rao]`.
    pub balances: Vec<(Address, u64)>,
    /// The validator set.
    pub validators: Vec<SpecValidator>,
    /// Blocks between subnet registrations (default 7,200).
    #[serde(default)]
    pub network_rate_limit: Option<u64>,
    /// Subnets registered at genesis by their owners (who must be funded for the lock).
    #[serde(default)]
    pub subnets: Vec<SpecSubnet>,
    /// Governance rules (default: `GovParams::default()`).
    #[serde(default)]
    pub governance: Option<GovParams>,
    /// The validator set from stake (default: none, the genesis set stays).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validator_set: Option<SpecValidatorSet>,
    /// Slashing for equivocation (default: `tao_contract_staking::SlashParams::default()`, 5%
    /// over a 7,200-block evidence window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slashing: Option<SpecSlashing>,
    /// The chain this spec makes with its modules: its genesis hash and chain id, as
    /// `--print-spec` computed them. Wallets ship it as a checkpoint; a node refuses to start
    /// when the spec and modules make another genesis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<tao_crypto::ChainDomain>,
}

/// A validator in a spec.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecValidator {
    /// Compressed secp256k1 public key, `0x`-hex (33 bytes).
    pub key: String,
    /// Voting power (a bound validator's: exactly its `operator`'s stake).
    pub power: u64,
    /// The root hotkey this key validates for (like a Cosmos gentx): without it the key is a
    /// bare genesis authority that the set from stake never recomputes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<SpecOperator>,
}

/// A genesis validator's operator: genesis registers `hotkey` to `coldkey` on root, stakes
/// `stake` rao of the coldkey's genesis balance to it on root, and registers the validator's
/// key as the hotkey's consensus key with `proof`, through the same calls a transaction makes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecOperator {
    /// Owner coldkey (funded in `balances`).
    pub coldkey: Address,
    /// Root hotkey.
    pub hotkey: Address,
    /// Root stake in rao: the validator's power.
    pub stake: u64,
    /// The validator key's signature `r ‖ s` over
    /// `tao_contract_staking::consensus_key_proof_hash(coldkey, hotkey)`, `0x`-hex (64 bytes).
    pub proof: String,
}

/// The validator set's root parameters at genesis (`tao_contract_staking::ValidatorParams`):
/// every `epoch` blocks the top `max_validators` root stakes (at least `min_stake` rao) whose
/// hotkeys registered a consensus key become the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecValidatorSet {
    /// K: most validators.
    pub max_validators: u16,
    /// Least root stake, in rao.
    pub min_stake: u64,
    /// Blocks between set computations (0: never).
    pub epoch: u64,
    /// Fewest validators an epoch may name; with fewer qualifying the set stays (default 1).
    #[serde(default = "one")]
    pub min_validators: u16,
}

fn one() -> u16 {
    1
}

/// The slashing parameters at genesis (`tao_contract_staking::SlashParams`): an equivocating
/// validator's hotkey loses `fraction_ppb` parts per billion of its root stake, and root stake
/// unstaked from a validator unbonds over `evidence_window` blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSlashing {
    /// Part of the root stake slashed, in parts per billion (at most 1,000,000,000).
    pub fraction_ppb: u32,
    /// Blocks root stake of validators unbonds, from `tao_contract_staking::MIN_EVIDENCE_WINDOW`
    /// (33: longer than the 32-block age of the oldest evidence the node accepts) to
    /// `tao_contract_staking::MAX_EVIDENCE_WINDOW`.
    pub evidence_window: u64,
}

impl SpecSlashing {
    /// The contract's parameters, checked by the contract's own rule so a spec is refused here
    /// instead of failing its genesis call.
    fn params(self) -> Result<tao_contract_staking::SlashParams, ChainSpecError> {
        let params = tao_contract_staking::SlashParams {
            fraction_ppb: self.fraction_ppb,
            evidence_window: self.evidence_window,
        };
        if !params.is_valid() {
            return Err(ChainSpecError::BadSlashing(tao_contract_staking::StakeError::BadSlashParams));
        }
        Ok(params)
    }
}

/// A subnet registered at genesis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecSubnet {
    /// Owner coldkey (pays the lock).
    pub owner: Address,
    /// Owner hotkey.
    pub hotkey: Address,
    /// Display name.
    pub name: String,
    /// Whether weights go through commit-reveal (subtensor's default: true).
    #[serde(default = "yes")]
    pub commit_reveal: bool,
    /// Rao the owner stakes on root to its hotkey (which holds UID 0 of the subnet), making it a
    /// root validator (0: neither).
    #[serde(default)]
    pub root_stake: u64,
}

fn yes() -> bool {
    true
}

/// Why a spec is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ChainSpecError {
    /// A validator key is not a compressed secp256k1 key.
    #[error("validator {index}: {reason}")]
    BadValidator {
        /// Position in the list.
        index: usize,
        /// Why.
        reason: String,
    },
    /// No validators.
    #[error("a chain needs at least one validator")]
    NoValidators,
    /// A bound validator's power is not its root stake, so the first epoch would name another set.
    #[error("validator {index}: power {power} is not its operator's root stake {stake}")]
    PowerNotStake {
        /// Position in the list.
        index: usize,
        /// The spec's power.
        power: u64,
        /// The operator's stake.
        stake: u64,
    },
    /// A bound validator's proof is not its key's signature for its operator's coldkey and hotkey.
    #[error("validator {index}: the operator proof is not the key's signature for its coldkey and hotkey")]
    BadProof {
        /// Position in the list.
        index: usize,
    },
    /// The slashing parameters are out of range (a window shorter than the evidence age, say).
    #[error("slashing: {0}")]
    BadSlashing(tao_contract_staking::StakeError),
}

impl ChainSpec {
    /// The dev chain: the dev accounts funded, the dev validator as the one authority, subnets
    /// registrable every 10 blocks, and an example subnet (netuid 1) owned by alice with hotkey
    /// `alice-hot` and commit-reveal off so weights can be set directly.
    pub fn dev(genesis_time_ms: u64) -> ChainSpec {
        ChainSpec {
            chain_id: DEV_CHAIN_ID,
            genesis_time_ms,
            balances: DEV_ACCOUNTS.iter().map(|n| (dev_key(n).address(), DEV_BALANCE)).collect(),
            validators: vec![SpecValidator {
                key: format!("0x{}", hex::encode(dev_key("validator").public_key().to_compressed())),
                power: 1,
                operator: None,
            }],
            network_rate_limit: Some(DEV_NETWORK_RATE_LIMIT),
            subnets: vec![SpecSubnet {
                owner: dev_key("alice").address(),
                hotkey: dev_key("alice-hot").address(),
                name: "example".into(),
                commit_reveal: false,
                root_stake: DEV_ROOT_STAKE,
            }],
            governance: Some(DEV_GOVERNANCE),
            validator_set: None,
            slashing: None,
            checkpoint: None,
        }
    }

    /// The genesis this spec describes, with the system modules' `modules` code.
    pub fn genesis(&self, modules: Vec<(String, Vec<u8>)>) -> Result<Genesis, ChainSpecError> {
        if self.validators.is_empty() {
            return Err(ChainSpecError::NoValidators);
        }
        let mut validators = Vec::with_capacity(self.validators.len());
        let mut operator_calls = Vec::new();
        for (index, v) in self.validators.iter().enumerate() {
            let bad = |reason: String| ChainSpecError::BadValidator { index, reason };
            let bytes: [u8; 33] = hex::decode(v.key.trim_start_matches("0x"))
                .map_err(|e| bad(e.to_string()))?
                .try_into()
                .map_err(|_| bad("a compressed key is 33 bytes".into()))?;
            let key = PublicKey::from_compressed(&bytes).map_err(|e| bad(e.to_string()))?;
            if let Some(operator) = &v.operator {
                operator_calls.extend(operator.genesis_calls(index, v.power, &bytes)?);
            }
            validators.push(Validator { key, power: v.power });
        }
        let system = |module: &str, entry: &str, input: Vec<u8>| GenesisCall {
            module: module.into(),
            entry: entry.into(),
            caller: tao_contract_token::SYSTEM,
            input,
        };
        let mut calls = Vec::new();
        if let Some(blocks) = self.network_rate_limit {
            calls.push(system(
                "subnets",
                "entry_set_network_rate_limit",
                borsh::to_vec(&blocks).unwrap_or_default(),
            ));
        }
        if let Some(rules) = self.governance {
            calls.push(system("governance", "entry_set_params", borsh::to_vec(&rules).unwrap_or_default()));
        }
        if let Some(v) = self.validator_set {
            let params = tao_contract_staking::ValidatorParams {
                max_validators: v.max_validators,
                min_stake: v.min_stake,
                epoch: v.epoch,
                min_validators: v.min_validators,
            };
            calls.push(system(
                "staking",
                "entry_set_validator_params",
                borsh::to_vec(&params).unwrap_or_default(),
            ));
        }
        if let Some(s) = self.slashing {
            calls.push(system(
                "staking",
                "entry_set_slash_params",
                borsh::to_vec(&s.params()?).unwrap_or_default(),
            ));
        }
        calls.extend(operator_calls);
        let commit_reveal = params::id_of("commit_reveal").unwrap_or(u8::MAX);
        for (i, subnet) in self.subnets.iter().enumerate() {
            let identity =
                SubnetIdentity { name: subnet.name.clone(), url: String::new(), description: String::new() };
            let register = RegisterNetworkArgs { hotkey: subnet.hotkey, identity };
            calls.push(GenesisCall {
                module: "neurons".into(),
                entry: "entry_register_network".into(),
                caller: subnet.owner,
                input: borsh::to_vec(&register).unwrap_or_default(),
            });
            // Netuids are handed out from 1 in order; the owner's hotkey holds UID 0 of its subnet.
            let netuid = u16::try_from(i + 1).unwrap_or(u16::MAX);
            if subnet.root_stake > 0 {
                let stake =
                    StakeArgs { hotkey: subnet.hotkey, netuid: 0, amount: subnet.root_stake, limit: None };
                calls.push(GenesisCall {
                    module: "staking".into(),
                    entry: "entry_add_stake".into(),
                    caller: subnet.owner,
                    input: borsh::to_vec(&stake).unwrap_or_default(),
                });
            }
            if !subnet.commit_reveal {
                calls.push(system(
                    "subnets",
                    "entry_set_hyperparameter",
                    borsh::to_vec(&(netuid, commit_reveal, 0u64)).unwrap_or_default(),
                ));
            }
        }
        Ok(Genesis {
            chain_id: self.chain_id,
            time_ms: self.genesis_time_ms,
            modules,
            balances: self.balances.clone(),
            validators,
            calls,
        })
    }
}

impl SpecOperator {
    /// `hotkey` of `coldkey` with `stake`, its proof signed by the validator's `key`.
    pub fn signed(key: &SecretKey, coldkey: Address, hotkey: Address, stake: u64) -> SpecOperator {
        let hash = tao_contract_staking::consensus_key_proof_hash(&coldkey, &hotkey);
        let signature = key.sign_hash(&hash);
        SpecOperator { coldkey, hotkey, stake, proof: format!("0x{}", hex::encode(&signature.0[..64])) }
    }

    /// The genesis calls binding validator `index` (key `key`, power `power`) to this operator:
    /// root registration, root stake, consensus key; refused unless the power is the stake and
    /// the proof the key's.
    fn genesis_calls(
        &self,
        index: usize,
        power: u64,
        key: &[u8; 33],
    ) -> Result<[GenesisCall; 3], ChainSpecError> {
        if power != self.stake {
            return Err(ChainSpecError::PowerNotStake { index, power, stake: self.stake });
        }
        let proof: [u8; 64] = hex::decode(self.proof.trim_start_matches("0x"))
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(ChainSpecError::BadProof { index })?;
        tao_contract_staking::check_consensus_key_proof(&self.coldkey, &self.hotkey, key, &proof)
            .map_err(|_| ChainSpecError::BadProof { index })?;
        let call = |entry: &str, input: Vec<u8>| GenesisCall {
            module: "staking".into(),
            entry: entry.into(),
            caller: self.coldkey,
            input,
        };
        let stake = StakeArgs { hotkey: self.hotkey, netuid: 0, amount: self.stake, limit: None };
        Ok([
            call("entry_root_register", borsh::to_vec(&self.hotkey).unwrap_or_default()),
            call("entry_add_stake", borsh::to_vec(&stake).unwrap_or_default()),
            call("entry_set_consensus_key", borsh::to_vec(&(self.hotkey, *key, proof)).unwrap_or_default()),
        ])
    }
}

/// The dev chain's genesis ([`ChainSpec::dev`]).
pub fn dev_genesis(modules: Vec<(String, Vec<u8>)>, time_ms: u64) -> Genesis {
    // The dev spec is built here and always valid: one well-formed validator key.
    ChainSpec::dev(time_ms).genesis(modules).unwrap_or_else(|_| unreachable_dev_spec())
}

#[allow(clippy::panic, reason = "the dev spec is fixed and checked by a test")]
fn unreachable_dev_spec() -> Genesis {
    panic!("the dev chain spec is invalid")
}

#[cfg(test)]
mod tests {
    use tao_contract_staking::StakeError;
    use tao_types::MAX_EVIDENCE_AGE;

    use super::*;

    #[test]
    fn the_dev_spec_round_trips_through_json_and_bad_specs_are_refused() {
        let dev = ChainSpec::dev(5);
        let text = serde_json::to_string_pretty(&dev).unwrap();
        assert_eq!(serde_json::from_str::<ChainSpec>(&text).unwrap(), dev);
        let genesis = dev.genesis(Vec::new()).unwrap();
        assert_eq!(
            genesis.calls.len(),
            5,
            "rate limit, governance rules, the example subnet (its owner's hotkey seated at UID 0), root stake, commit-reveal off"
        );
        assert_eq!(
            (genesis.calls[2].module.as_str(), genesis.calls[2].entry.as_str()),
            ("neurons", "entry_register_network")
        );
        let mut bad = dev.clone();
        bad.validators[0].key = "0x02ab".into();
        assert!(matches!(bad.genesis(Vec::new()), Err(ChainSpecError::BadValidator { index: 0, .. })));
        bad.validators.clear();
        assert!(matches!(bad.genesis(Vec::new()), Err(ChainSpecError::NoValidators)));
        assert!(serde_json::from_str::<ChainSpec>(&text.replace("\"chain_id\"", "\"chainid\"")).is_err());
    }

    fn contract_dir() -> std::path::PathBuf {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
            .join("wasm32-unknown-unknown/contract")
    }

    /// The dev chain with validator `validator-i` (i < `n`) bound to coldkey `bob` and hotkey
    /// `validator-i-hot`, each staking `stake` rao (power = stake), the set from stake on.
    fn bound_spec(n: u32, stake: u64) -> ChainSpec {
        let validators = (0..n)
            .map(|i| {
                let key = dev_key(&format!("validator-{i}"));
                let hotkey = dev_key(&format!("validator-{i}-hot")).address();
                SpecValidator {
                    key: format!("0x{}", hex::encode(key.public_key().to_compressed())),
                    power: stake,
                    operator: Some(SpecOperator::signed(&key, dev_key("bob").address(), hotkey, stake)),
                }
            })
            .collect();
        let validator_set = Some(SpecValidatorSet {
            max_validators: 64,
            min_stake: stake,
            epoch: 4,
            min_validators: n as u16,
        });
        ChainSpec { validators, validator_set, ..ChainSpec::dev(5) }
    }

    /// Genesis of `spec` with the real modules, its state in a native host.
    fn genesis_state(spec: &ChainSpec) -> Result<tao_sdk::MemoryHost, ChainSpecError> {
        let modules = load_modules(&contract_dir()).expect("run `cargo xtask contracts`");
        let genesis = spec.genesis(modules)?;
        let vm = tao_vm::Vm::new(tao_vm::VmConfig::default()).unwrap();
        let (built, _) = genesis.build(vm).expect("a valid spec builds");
        let mut host = tao_sdk::MemoryHost::new();
        host.storage = built.writes.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
        Ok(host)
    }

    /// A bound validator starts as a root hotkey of its coldkey, with its stake on root and its
    /// key as consensus key, through the contracts' own calls: the set the first epoch computes
    /// is the genesis set itself.
    #[test]
    fn a_bound_validator_is_a_root_hotkey_with_its_stake_and_consensus_key_at_genesis() {
        let stake = 5_000 * tao_types::RAO_PER_TAO;
        let spec = bound_spec(2, stake);
        let mut state = genesis_state(&spec).unwrap();
        let root = tao_contract_staking::root_list(&mut state).unwrap();
        for (i, v) in spec.validators.iter().enumerate() {
            let operator = v.operator.as_ref().unwrap();
            assert!(root.contains(&(i as u16, operator.hotkey, stake)), "{root:?}");
            assert_eq!(
                tao_contract_neurons::hotkey_owner(&mut state, &operator.hotkey).unwrap(),
                Some(operator.coldkey)
            );
            let key = tao_contract_staking::consensus_key(&mut state, &operator.hotkey).unwrap().unwrap();
            assert_eq!(format!("0x{}", hex::encode(key)), v.key);
        }
        let params = tao_contract_staking::validator_params(&mut state).unwrap();
        assert_eq!(params.min_validators, 2);
        let mut set = tao_contract_staking::compute_set(&mut state, &params).unwrap();
        let mut genesis: Vec<_> = spec.validators.iter().map(|v| (v.key.clone(), v.power)).collect();
        set.sort();
        genesis.sort();
        let set: Vec<_> = set.iter().map(|(k, p)| (format!("0x{}", hex::encode(k)), *p)).collect();
        assert_eq!(set, genesis, "the genesis validators are the candidates");
    }

    /// A bound validator whose power is not its stake, or whose proof is not its key's for its
    /// operator, is refused with its own error before genesis runs.
    #[test]
    fn a_bound_validator_needs_power_equal_to_stake_and_its_keys_proof() {
        let spec = bound_spec(2, 5_000 * tao_types::RAO_PER_TAO);
        let mut more_power = spec.clone();
        more_power.validators[1].power += 1;
        assert!(matches!(
            more_power.genesis(Vec::new()),
            Err(ChainSpecError::PowerNotStake { index: 1, .. })
        ));
        let tamper = |edit: &dyn Fn(&mut SpecOperator)| {
            let mut bad = spec.clone();
            edit(bad.validators[0].operator.as_mut().unwrap());
            bad.genesis(Vec::new()).map(|_| ())
        };
        let other = spec.validators[1].operator.clone().unwrap();
        // The other validator's proof, a proof for another owner, and bytes that are no proof.
        for (what, result) in [
            ("another key's proof", tamper(&|o| o.proof = other.proof.clone())),
            ("another coldkey", tamper(&|o| o.coldkey = dev_key("charlie").address())),
            ("another hotkey", tamper(&|o| o.hotkey = other.hotkey)),
            ("short", tamper(&|o| o.proof = "0x1234".into())),
            ("not hex", tamper(&|o| o.proof = "0xzz".into())),
        ] {
            assert!(matches!(result, Err(ChainSpecError::BadProof { index: 0 })), "{what}: {result:?}");
        }
        let text = serde_json::to_string(&spec).unwrap();
        assert_eq!(serde_json::from_str::<ChainSpec>(&text).unwrap(), spec, "round-trips through JSON");
        let older: SpecValidatorSet =
            serde_json::from_str(r#"{"max_validators": 4, "min_stake": 1, "epoch": 8}"#).unwrap();
        assert_eq!(older.min_validators, 1, "a spec from before the minimum keeps today's behaviour");
    }

    #[test]
    fn a_specs_slashing_becomes_a_genesis_call_and_round_trips() {
        let spec = ChainSpec {
            slashing: Some(SpecSlashing { fraction_ppb: 10_000_000, evidence_window: 600 }),
            ..ChainSpec::dev(5)
        };
        let text = serde_json::to_string(&spec).unwrap();
        assert!(text.contains("\"slashing\":{\"fraction_ppb\":10000000,\"evidence_window\":600}"), "{text}");
        assert_eq!(serde_json::from_str::<ChainSpec>(&text).unwrap(), spec);
        let genesis = spec.genesis(Vec::new()).unwrap();
        let call = genesis.calls.iter().find(|c| c.entry == "entry_set_slash_params").unwrap();
        let params = tao_contract_staking::SlashParams { fraction_ppb: 10_000_000, evidence_window: 600 };
        assert_eq!((call.module.as_str(), call.caller), ("staking", tao_contract_token::SYSTEM));
        assert_eq!(call.input, borsh::to_vec(&params).unwrap());
    }

    /// A spec's slashing follows the contract's rule: a window shorter than the oldest evidence
    /// the node accepts (or longer than the longest, or a fraction above 1) is refused before
    /// any genesis call; the evidence age itself is refused, one block more accepted.
    #[test]
    fn a_specs_slashing_window_must_outlast_the_evidence_age() {
        let with = |fraction_ppb: u32, evidence_window: u64| ChainSpec {
            slashing: Some(SpecSlashing { fraction_ppb, evidence_window }),
            ..ChainSpec::dev(5)
        };
        for (fraction, window) in [
            (10_000_000, MAX_EVIDENCE_AGE),
            (10_000_000, 0),
            (10_000_000, tao_contract_staking::MAX_EVIDENCE_WINDOW + 1),
            (tao_contract_staking::PPB + 1, 600),
        ] {
            let refused = with(fraction, window).genesis(Vec::new()).unwrap_err();
            let typed = matches!(refused, ChainSpecError::BadSlashing(StakeError::BadSlashParams));
            assert!(typed, "{fraction}:{window}: {refused:?}");
            assert!(
                refused.to_string().contains(&format!("{MAX_EVIDENCE_AGE}-block evidence age")),
                "{refused}"
            );
        }
        let shortest = tao_contract_staking::MIN_EVIDENCE_WINDOW;
        let genesis = with(10_000_000, shortest).genesis(Vec::new()).unwrap();
        let call = genesis.calls.iter().find(|c| c.entry == "entry_set_slash_params").unwrap();
        let params =
            tao_contract_staking::SlashParams { fraction_ppb: 10_000_000, evidence_window: shortest };
        assert_eq!(call.input, borsh::to_vec(&params).unwrap());
    }

    #[test]
    fn dev_keys_are_valid_and_distinct() {
        let mut addresses: Vec<_> =
            DEV_ACCOUNTS.iter().chain(&["validator"]).map(|n| dev_key(n).address()).collect();
        addresses.sort();
        addresses.dedup();
        assert_eq!(addresses.len(), DEV_ACCOUNTS.len() + 1);
        // MetaMask / Hardhat's first two accounts of the development mnemonic.
        assert_eq!(dev_key("alice").address().to_string(), "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
        assert_eq!(dev_key("bob").address().to_string(), "0x70997970C51812dc3A010C7d01b50e0d17dc79C8");
    }
}

//! The chain's first state: system modules, balances and validators.

use std::sync::Arc;

use tao_crypto::ChainDomain;
use tao_types::{Address, Hash, keccak256};
use tao_vm::{CallContext, Layered, MemoryStorage, Vm, WriteSet};

use crate::executor::{ChainError, Executor};
use crate::keys;
use tao_light::{Header, Validator, merkle_root, validators_hash};

/// What the chain starts with.
#[derive(Debug, Clone)]
pub struct Genesis {
    /// Chain id, signed into every transaction.
    pub chain_id: u64,
    /// Unix milliseconds of the genesis header.
    pub time_ms: u64,
    /// System modules by name (`token`, `subnets`, …) and their Wasm code.
    pub modules: Vec<(String, Vec<u8>)>,
    /// Funded accounts.
    pub balances: Vec<(Address, u64)>,
    /// The first validator set.
    pub validators: Vec<Validator>,
    /// Calls run after the balances, in order, each as its `caller` (e.g. an owner registering
    /// the dev chain's example subnet). Any failure fails genesis.
    pub calls: Vec<GenesisCall>,
}

/// One contract call made at genesis.
#[derive(Debug, Clone)]
pub struct GenesisCall {
    /// System module name.
    pub module: String,
    /// Entry point.
    pub entry: String,
    /// Who calls (the chain itself is `tao_contract_token::SYSTEM`).
    pub caller: Address,
    /// Borsh input.
    pub input: Vec<u8>,
}

/// The genesis state and header, and the executor for the chain they define.
pub struct Built {
    /// State writes of genesis (version 0).
    pub writes: WriteSet,
    /// The executor, bound to this chain's signing domain.
    pub executor: Executor,
}

impl Genesis {
    /// Installs the modules and mints the balances (through the token module, so the state
    /// layout stays the contract's), and returns the genesis writes, header and the chain's
    /// executor. The signing domain needs the genesis hash, which needs the state root: it is
    /// computed with the reference tree (a store committing the same writes gets the same).
    pub fn build(&self, vm: Vm) -> Result<(Built, Header), ChainError> {
        let mut state = Layered::new(Arc::new(MemoryStorage::default()));
        for (name, code) in &self.modules {
            let hash = Hash(keccak256(code));
            state.set(keys::code(&hash), Some(code.clone()));
            state.set(keys::module(name), Some(hash.0.to_vec()));
        }
        let placeholder = ChainDomain { chain_id: self.chain_id, genesis_hash: Hash([0; 32]) };
        let executor = Executor::new(vm, placeholder);
        let context = CallContext {
            caller: tao_contract_token::SYSTEM,
            block_height: 0,
            block_time_ms: self.time_ms,
            access: tao_vm::Access::System,
        };
        let balances = borsh::to_vec(&self.balances).unwrap_or_default();
        executor.system_call(&mut state, "token", "entry_genesis", &balances, context)?;
        for call in &self.calls {
            executor.call_as(
                &mut state,
                &call.module,
                &call.entry,
                &call.input,
                CallContext { caller: call.caller, ..context },
            )?;
        }
        let writes = state.into_writes();
        let validators = validators_hash(&self.validators);
        let header = Header {
            chain_id: self.chain_id,
            parent: Hash([0; 32]),
            height: 0,
            time_ms: self.time_ms,
            state_root: tao_state::MemoryTree::new()
                .apply(0, writes.iter().map(|(k, v)| (k.clone(), v.clone())))
                .map_err(|e| ChainError::Module("genesis".into(), e.to_string()))?,
            // Genesis runs no transactions and carries no evidence: each root is the empty list's.
            txs_root: merkle_root(&[]),
            receipts_root: merkle_root(&[]),
            evidence_root: merkle_root(&[]),
            validators_hash: validators,
            next_validators_hash: validators,
            proposer: Address([0; 20]),
        };
        let domain = ChainDomain { chain_id: self.chain_id, genesis_hash: header.hash() };
        Ok((Built { writes, executor: executor.with_domain(domain) }, header))
    }
}

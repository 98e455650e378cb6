//! The block executor: a pure state machine from (committed state, block) to (writes,
//! receipts), with no I/O. The node feeds it snapshots of its store and commits what it returns;
//! every node executing the same block on the same state gets the same writes, receipts and
//! roots. Chain logic itself lives in the system contracts it calls.

mod executor;
mod fees;
mod genesis;
mod validators;
pub use tao_light::keys;

pub use executor::{
    BEGIN_BLOCK, BLOCK_GAS_LIMIT, BlockBuilder, BuiltBlock, COMPILE_GAS_PER_BYTE, COMPILE_GAS_PER_FUNCTION,
    ChainError, DEPLOY, Events, Executed, Executor, HOOK_GAS, MAX_BLOCK_TXS, MODULE_CACHE_BYTES,
    MODULE_EPOCH_GAS, Pushed, QUERY_CALLER, QUERY_GAS, SYSTEM_MODULES, compile_gas, tx_gas,
};
pub use fees::{SPONSORED_CALLS, fee_payer};
pub use genesis::{Built, Genesis, GenesisCall};
pub use tao_light::{
    Block, Certificate, CertificateError, Equivocation, EvidenceError, Header, MAX_BLOCK_EVIDENCE,
    MAX_EVIDENCE_AGE, Receipt, SignedVote, TxOutcome, Validator, VoteKind, evidence_root, merkle_root,
    validators_hash, vote_digest,
};
pub use validators::{Slashes, next_validators_hash, validator_set};

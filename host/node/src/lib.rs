//! The node: the store, the executor, the mempool and the JSON-RPC server, producing blocks as
//! the dev authority. `tao node --dev` runs it.

pub mod cors;
pub mod evidence;
pub mod files;
pub mod mempool;
pub mod pool;
pub mod rpc;
pub mod service;
pub mod spec;

pub use service::{
    BlockError, ConsensusGauges, Counters, MAX_CLOCK_DRIFT_MS, MAX_QUERIES, Node, NodeError, StoredBlock,
    SubmitError, TxStatus, max_queries,
};

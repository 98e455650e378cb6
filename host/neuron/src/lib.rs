//! The neuron SDK: what miners and validators run beside the chain, modelled on Bittensor's
//! (metagraph, axon, dendrite, validator loop), in async Rust.
//!
//! - [`Chain`]: the node over JSON-RPC, believed only through certificates and proofs.
//! - [`Metagraph`]: a subnet's UIDs, hotkeys, scores, stake and axons, proven at one height.
//! - [`Axon`]: the miner's server; [`Dendrite`]: the validator's client; both sign and check
//!   every request and answer ([`auth`]).
//! - [`Validator`]: query, score, normalize, set weights.
//! - [`ml`]: the example subnet (regression on a shipped data set); [`gateway`]: paid queries.
#![allow(clippy::float_arithmetic, reason = "not consensus code: model scores and ML are floats")]

pub mod auth;
pub mod axon;
pub mod chain;
pub mod dendrite;
pub mod gateway;
pub mod metagraph;
pub mod ml;
pub mod ops;
pub mod validator;

use std::sync::Arc;
use std::time::Duration;

pub use axon::{Axon, AxonError, AxonLimits, Protocol};
pub use chain::Chain;
pub use dendrite::{Dendrite, DendriteError, Target};
pub use metagraph::{Metagraph, NeuronInfo};
pub use validator::{Validator, ValidatorConfig};

use tao_types::NetUid;
use tokio::sync::watch;

/// Why a neuron operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NeuronError {
    /// The node could not be reached or refused the call.
    #[error("rpc: {0}")]
    Rpc(String),
    /// The node's answer is not what the protocol says.
    #[error("malformed answer: {0}")]
    Malformed(String),
    /// A value's proof or header did not check out.
    #[error("not proven: {0}")]
    Unproven(String),
    /// The light client refused a header or proof.
    #[error("light client: {0}")]
    Light(String),
    /// A key or signature failed.
    #[error("crypto: {0}")]
    Crypto(tao_crypto::CryptoError),
    /// A signature is not the claimed signer's over this message.
    #[error("bad signature")]
    BadSignature,
    /// The chain refused or dropped a transaction.
    #[error("transaction refused: {0}")]
    Refused(String),
    /// A model could not be built.
    #[error("model: {0}")]
    Model(String),
}

impl From<tao_light::VerifyError> for NeuronError {
    fn from(e: tao_light::VerifyError) -> Self {
        NeuronError::Light(e.to_string())
    }
}

impl From<tao_light::LightError> for NeuronError {
    fn from(e: tao_light::LightError) -> Self {
        NeuronError::Light(e.to_string())
    }
}

/// Keeps `netuid`'s proven metagraph current: synced now, then every `every` in a task (a
/// failed sync keeps the last good one).
pub async fn follow(
    chain: Arc<Chain>,
    netuid: NetUid,
    every: Duration,
) -> Result<watch::Receiver<Arc<Metagraph>>, NeuronError> {
    let first = Metagraph::sync(&chain, netuid).await?;
    let (tx, rx) = watch::channel(Arc::new(first));
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            match Metagraph::sync(&chain, netuid).await {
                Ok(m) => {
                    if tx.send(Arc::new(m)).is_err() {
                        return; // nobody follows any more
                    }
                }
                Err(e) => eprintln!("metagraph: sync failed: {e}"),
            }
        }
    });
    Ok(rx)
}

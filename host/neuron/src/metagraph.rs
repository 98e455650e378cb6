//! A subnet as the chain proves it: every UID's hotkey, last-epoch scores, stake and axon, all
//! read at one certified height.

use std::net::SocketAddr;

use serde_json::Value;
use tao_contract_incentive::Scores;
use tao_contract_neurons::{AxonInfo, Neuron};
use tao_types::{Address, NetUid, Uid};

use crate::NeuronError;
use crate::chain::{Chain, View, decode};

/// Most UIDs a subnet can have (`max_allowed_uids`' ceiling).
pub const MAX_UIDS: u16 = 256;

/// One UID, proven.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeuronInfo {
    /// Its UID.
    pub uid: Uid,
    /// The hotkey registered there.
    pub hotkey: Address,
    /// Last epoch's results (all zero before its first epoch).
    pub scores: Scores,
    /// Alpha staked to the hotkey on this subnet.
    pub stake: u64,
    /// Where it serves, if it published an axon.
    pub axon: Option<SocketAddr>,
}

/// A subnet's neurons at one certified height.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metagraph {
    /// The subnet.
    pub netuid: NetUid,
    /// The certified height every value was proven at.
    pub height: u64,
    /// Every UID, in order.
    pub neurons: Vec<NeuronInfo>,
}

impl Metagraph {
    /// Reads `netuid`'s metagraph at the newest certified head, proving every value.
    pub async fn sync(chain: &Chain, netuid: NetUid) -> Result<Metagraph, NeuronError> {
        let view = chain.view().await?;
        let height = view.height();
        let got = chain.call("subnet_metagraph", vec![netuid.into(), height.into()]).await?;
        let count: u16 = match view.check(&got["count"], &tao_contract_neurons::count_key(netuid))? {
            Some(bytes) => decode(&bytes)?,
            None => 0,
        };
        if count > MAX_UIDS {
            return Err(NeuronError::Malformed(format!("{count} UIDs")));
        }
        let rows = got["neurons"].as_array().map(Vec::as_slice).unwrap_or_default();
        if rows.len() != usize::from(count) {
            return Err(NeuronError::Unproven(format!("{} neurons listed, {count} proven", rows.len())));
        }
        let mut neurons = Vec::with_capacity(rows.len());
        for (uid, row) in (0..count).zip(rows) {
            neurons.push(neuron(&view, netuid, uid, row).await?);
        }
        Ok(Metagraph { netuid, height, neurons })
    }

    /// The UID registered to `hotkey`.
    pub fn by_hotkey(&self, hotkey: &Address) -> Option<&NeuronInfo> {
        self.neurons.iter().find(|n| n.hotkey == *hotkey)
    }
}

/// UID `uid` from its `subnet_metagraph` row, with its stake and axon read and proven.
async fn neuron(view: &View<'_>, netuid: NetUid, uid: Uid, row: &Value) -> Result<NeuronInfo, NeuronError> {
    let neuron: Neuron = view
        .check(&row["neuron"], &tao_contract_neurons::neuron_key(netuid, uid))?
        .map(|b| decode(&b))
        .transpose()?
        .ok_or_else(|| NeuronError::Unproven(format!("UID {uid} is counted but absent")))?;
    let scores: Scores = view
        .check(&row["scores"], &tao_contract_incentive::scores_key(netuid, uid))?
        .map(|b| decode(&b))
        .transpose()?
        .unwrap_or_default();
    let pool: tao_contract_staking::Pool =
        view.read(&tao_contract_staking::pool_key(&neuron.hotkey, netuid)).await?.unwrap_or_default();
    let axon: Option<AxonInfo> = view.read(&tao_contract_neurons::axon_key(netuid, uid)).await?;
    Ok(NeuronInfo {
        uid,
        hotkey: neuron.hotkey,
        scores,
        stake: pool.stake,
        axon: axon.and_then(|a| a.socket_addr()),
    })
}

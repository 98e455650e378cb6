//! The transactions a subnet's participants send, as one call each: create a subnet, register,
//! fund and stake, set a hyperparameter, publish an axon.

use std::net::{IpAddr, SocketAddr};

use tao_contract_neurons::ServeAxonArgs;
use tao_contract_staking::StakeArgs;
use tao_contract_subnets::{RegisterNetworkArgs, SubnetIdentity};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_types::{Address, NetUid, Uid};

use crate::NeuronError;
use crate::chain::{Chain, Finalized};

fn encode(value: &impl borsh::BorshSerialize) -> Result<Vec<u8>, NeuronError> {
    borsh::to_vec(value).map_err(|e| NeuronError::Malformed(e.to_string()))
}

/// The data of event `topic` in a finalized transaction, decoded.
fn event<T: borsh::BorshDeserialize>(done: &Finalized, topic: &[u8]) -> Result<T, NeuronError> {
    let (_, data) = done
        .events
        .iter()
        .find(|(t, _)| t == topic)
        .ok_or_else(|| NeuronError::Malformed(format!("no {} event", String::from_utf8_lossy(topic))))?;
    tao_codec::decode(data, tao_abi::limits::MAX_EVENT_DATA_BYTES as usize)
        .map_err(|e| NeuronError::Malformed(e.to_string()))
}

impl Chain {
    /// `coldkey` creates a subnet owned by it with owner hotkey `hotkey`; its netuid and the UID
    /// the chain seated `hotkey` at (0, subtensor's owner seat).
    pub async fn register_network(
        &self,
        coldkey: &SecretKey,
        hotkey: Address,
        name: &str,
    ) -> Result<(NetUid, Uid), NeuronError> {
        let identity = SubnetIdentity { name: name.into(), url: String::new(), description: String::new() };
        let args = encode(&RegisterNetworkArgs { hotkey, identity })?;
        let done = self.submit(coldkey, "neurons", "entry_register_network", args).await?;
        let (netuid, _, _): (NetUid, Address, u64) = event(&done, b"network_registered")?;
        let (_, uid, _, _): (NetUid, Uid, Address, u64) = event(&done, b"neuron_registered")?;
        Ok((netuid, uid))
    }

    /// `coldkey` registers `hotkey` on `netuid` (burning the price); its UID.
    pub async fn burned_register(
        &self,
        coldkey: &SecretKey,
        netuid: NetUid,
        hotkey: Address,
    ) -> Result<Uid, NeuronError> {
        let done =
            self.submit(coldkey, "neurons", "entry_burned_register", encode(&(netuid, hotkey))?).await?;
        let (_, uid, _, _): (NetUid, Uid, Address, u64) = event(&done, b"neuron_registered")?;
        Ok(uid)
    }

    /// The owner's `coldkey` sets hyperparameter `name` of `netuid`.
    pub async fn set_hyperparameter(
        &self,
        coldkey: &SecretKey,
        netuid: NetUid,
        name: &str,
        value: u64,
    ) -> Result<(), NeuronError> {
        let id = tao_contract_subnets::params::id_of(name)
            .ok_or_else(|| NeuronError::Malformed(format!("no parameter {name}")))?;
        self.submit(coldkey, "subnets", "entry_set_hyperparameter", encode(&(netuid, id, value))?).await?;
        Ok(())
    }

    /// `from` sends `amount` rao to `to`.
    pub async fn transfer(
        &self,
        from: &SecretKey,
        to: Address,
        amount: u64,
    ) -> Result<Finalized, NeuronError> {
        self.submit(from, "token", "entry_transfer", encode(&TransferArgs { to, amount })?).await
    }

    /// `coldkey` stakes `amount` rao of TAO to `hotkey` on `netuid`.
    pub async fn add_stake(
        &self,
        coldkey: &SecretKey,
        hotkey: Address,
        netuid: NetUid,
        amount: u64,
    ) -> Result<(), NeuronError> {
        let args = encode(&StakeArgs { hotkey, netuid, amount, limit: None })?;
        self.submit(coldkey, "staking", "entry_add_stake", args).await?;
        Ok(())
    }

    /// `hotkey` publishes its axon's address on `netuid`.
    pub async fn serve_axon(
        &self,
        hotkey: &SecretKey,
        netuid: NetUid,
        addr: SocketAddr,
    ) -> Result<(), NeuronError> {
        let (ip, ip_type) = match addr.ip() {
            IpAddr::V4(v4) => (u128::from(u32::from(v4)), 4),
            IpAddr::V6(v6) => (u128::from(v6), 6),
        };
        let args = ServeAxonArgs { netuid, ip, ip_type, port: addr.port(), protocol: 4, version: 1 };
        self.submit(hotkey, "neurons", "entry_serve_axon", encode(&args)?).await?;
        Ok(())
    }
}

/// This machine's address on its default route (a UDP socket is pointed at a documentation
/// address; no packet is sent). The chain refuses loopback axons, so a miner on one machine
/// with its validators serves here.
pub fn local_ip() -> Result<IpAddr, NeuronError> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|e| NeuronError::Rpc(e.to_string()))?;
    socket
        .connect("198.51.100.1:9")
        .and_then(|()| socket.local_addr())
        .map(|a| a.ip())
        .map_err(|e| NeuronError::Rpc(format!("no network address to serve on: {e}")))
}

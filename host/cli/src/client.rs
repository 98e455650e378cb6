//! A small blocking JSON-RPC client over HTTP for the CLI, and the checks that make its answers
//! trustworthy: certificates on headers and proofs on values.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};
use tao_chain::{Certificate, Header, Validator};
use tao_crypto::{ChainDomain, PublicKey};
use tao_light::{LightClient, MAX_CERTIFICATE_BYTES, MAX_HEADER_BYTES, MAX_VALIDATORS};

use crate::trust::{self, Pin};
use tao_types::Hash;

/// Largest response read.
const MAX_RESPONSE: u64 = 8 << 20;

/// A node's RPC endpoint.
pub(crate) struct Client {
    host: String,
}

/// An error the node returned (as opposed to a transport failure).
#[derive(Debug, thiserror::Error)]
#[error("node refused ({code}): {message}")]
pub(crate) struct RpcError {
    pub(crate) code: i64,
    pub(crate) message: String,
}

impl Client {
    /// `url` is `http://host:port`.
    pub(crate) fn new(url: &str) -> Result<Client> {
        let host =
            url.strip_prefix("http://").context("--url must start with http://")?.trim_end_matches('/');
        Ok(Client { host: host.to_string() })
    }

    /// Calls `method`; a node error comes back as [`RpcError`].
    pub(crate) fn call(&self, method: &str, params: Value) -> Result<Value> {
        let reply = self.post(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))?;
        if let Some(error) = reply.get("error") {
            let message = error["message"].as_str().unwrap_or("unknown error").to_string();
            return Err(RpcError { code: error["code"].as_i64().unwrap_or(0), message }.into());
        }
        Ok(reply["result"].clone())
    }

    /// Posts a JSON-RPC request or batch and returns the reply as sent (at most
    /// [`MAX_RESPONSE`] bytes).
    pub(crate) fn post(&self, request: &Value) -> Result<Value> {
        let body = request.to_string();
        let mut stream =
            TcpStream::connect(&self.host).with_context(|| format!("connecting to http://{}", self.host))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "POST / HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.host,
            body.len()
        )?;
        let mut response = String::new();
        stream.take(MAX_RESPONSE).read_to_string(&mut response)?;
        let (_, payload) = response.split_once("\r\n\r\n").context("malformed HTTP response")?;
        serde_json::from_str(payload).context("malformed JSON-RPC response")
    }

    /// The chain's signing domain (its genesis hash and the chain id its genesis header commits,
    /// as pinned for this network) and validator set.
    pub(crate) fn chain(&self) -> Result<(ChainDomain, Vec<Validator>)> {
        let light = self.light_client()?;
        Ok((*light.domain(), self.validators()?))
    }

    /// The validator set the node lists (believed only if the genesis header commits to it).
    fn validators(&self) -> Result<Vec<Validator>> {
        let info = self.call("chain_info", json!([]))?;
        let mut validators = Vec::new();
        for v in info["validators"].as_array().context("validators")?.iter().take(MAX_VALIDATORS) {
            let key: [u8; 33] = unhex(&v["key"])?.try_into().ok().context("validator key length")?;
            validators.push(Validator {
                key: PublicKey::from_compressed(&key)?,
                power: v["power"].as_u64().context("power")?,
            });
        }
        Ok(validators)
    }

    /// The code hash of system module `name`.
    pub(crate) fn module(&self, name: &str) -> Result<Hash> {
        let list = self.call("module_list", json!([]))?;
        let entry = list
            .as_array()
            .and_then(|l| l.iter().find(|m| m["name"] == name))
            .with_context(|| format!("no module {name}"))?;
        Ok(serde_json::from_value(entry["code_hash"].clone())?)
    }

    /// The header at `height` and its certificate, as the node serves them (not yet believed).
    fn header(&self, height: u64) -> Result<(Header, Certificate)> {
        let got = self.call("chain_header", json!([height]))?;
        let header: Header = tao_codec::decode(&unhex(&got["header"]["encoded"])?, MAX_HEADER_BYTES)?;
        let certificate: Certificate =
            tao_codec::decode(&unhex(&got["certificate"]["encoded"])?, MAX_CERTIFICATE_BYTES)?;
        if header.height != height {
            bail!("asked for header {height}, got {}", header.height);
        }
        Ok((header, certificate))
    }

    /// A light client trusting the genesis pinned for this network (on first use, the node's;
    /// after that, a node serving another chain is refused), bound to the validator set it
    /// commits to. The chain id is the genesis header's, never the node's word.
    fn light_client(&self) -> Result<LightClient> {
        let (genesis, _) = self.header(0)?;
        let served = Pin { genesis_hash: genesis.hash(), chain_id: genesis.chain_id };
        let pin = trust::check(&format!("http://{}", self.host), served)?;
        Ok(LightClient::new(pin.genesis_hash, genesis, self.validators()?)?)
    }

    /// Checks a `state_get`-style proof object for `key` with a light client that accepted the
    /// proof's header; returns the height and the value. The key is ours, never the server's: a
    /// proof of another key does not verify.
    pub(crate) fn verified_value(&self, proof: &Value, key: &[u8]) -> Result<(u64, Option<Vec<u8>>)> {
        let height = proof["height"].as_u64().context("height")?;
        let mut light = self.light_client()?;
        if height > light.head().height {
            let (header, certificate) = self.header(height)?;
            light.accept(header, &certificate).context("the proof's header is not certified")?;
        }
        let value = tao_neuron::chain::check_proof(&light, proof, key)
            .context("the value's proof does not match the certified header")?;
        Ok((height, value))
    }
}

impl Client {
    /// The chain as the wallet follows it (`tao_light::Chain`): the pinned genesis, bound to the
    /// validator set it commits to, and the node's current head, believed only with its
    /// certificate. Proven reads ([`crate::proven`]) check every value against its roots.
    pub(crate) fn follow(&self) -> Result<tao_light::Chain> {
        let (genesis, _) = tao_light::rpc::header(&self.call("chain_header", json!([0]))?)?;
        let served = Pin { genesis_hash: genesis.hash(), chain_id: genesis.chain_id };
        let pin = trust::check(&format!("http://{}", self.host), served)?;
        let (_, validators) = tao_light::rpc::chain_info(&self.call("chain_info", json!([]))?)?;
        let mut chain = tao_light::Chain::new(pin.genesis_hash, genesis, validators)?;
        let (head, certificate) = tao_light::rpc::header(&self.call("chain_header", json!([]))?)?;
        if head.height > 0 {
            chain.accept(head, &certificate).context("the node's head is not certified")?;
        }
        Ok(chain)
    }
}

/// Bytes from a JSON `0x`-hex string.
pub(crate) fn unhex(v: &Value) -> Result<Vec<u8>> {
    Ok(hex::decode(v.as_str().context("expected a hex string")?.trim_start_matches("0x"))?)
}

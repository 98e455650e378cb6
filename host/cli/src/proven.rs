//! The CLI's reads on proven state, as the wallet reads: the contracts' own view code
//! (`tao_client::views`, or a contract's read function) run on a `ProvenHost` by the wallet's
//! fetch-check-rerun loop (`tao_client::proven::read`). Each key the code reads is fetched with
//! `state_get` at the certified head and its proof checked against that head's state root
//! before the code sees it, so nothing shown is the node's unproven word and every read works
//! through `tao light`.

use anyhow::{Result, anyhow};
use serde_json::Value;
use tao_client::code::ModuleCode;
use tao_client::proven::{self, Context, ProvenHost};
use tao_client::{Chain, Proven, VerifyError};
use tao_types::Address;

use crate::client::{Client, ready};

/// A node's chain followed to its certified head, to read proven state at that head.
pub(crate) struct Reader<'a> {
    client: &'a Client,
    chain: Chain,
}

impl<'a> Reader<'a> {
    /// Follows `client`'s chain from the pinned genesis to its certified head.
    pub(crate) fn new(client: &'a Client) -> Result<Reader<'a>> {
        Ok(Reader { client, chain: client.follow()? })
    }

    /// The certified head's height, where every read is proven.
    pub(crate) fn height(&self) -> u64 {
        self.chain.head().height
    }

    /// The validator set that signs the blocks after the certified head: the one the chain
    /// named, taken only because it hashes to that name.
    pub(crate) fn validators(&self) -> &[tao_light::Validator] {
        self.chain.validators()
    }

    /// Runs `f` (contract code) on state proven at the head, seen by the code as a call from
    /// `caller` in the next block (what a transaction sent now would see).
    pub(crate) fn read<T>(&self, caller: Address, f: impl Fn(&mut ProvenHost) -> T) -> Result<Proven<T>> {
        let head = self.chain.head();
        let context = Context {
            caller,
            block_height: head.height.saturating_add(1),
            block_time_ms: head.time_ms,
            input: Vec::new(),
        };
        let read = proven::read(&self.chain, head.height, context, f, self.fetch());
        ready(read)?.map_err(|e| anyhow::Error::new(e).context("not verified"))
    }

    /// The chain's bytes for `hash` (system module `name`), proven and checked against the hash,
    /// compiled for the interpreter.
    pub(crate) fn module_code(&self, name: &str, hash: tao_types::Hash) -> Result<ModuleCode> {
        let fetch = self.fetch();
        let code =
            tao_client::rerun::module_code(&self.chain, self.height(), name.into(), None, hash, &fetch);
        ready(code)?.map_err(|e| anyhow!("not verified: {e}"))
    }

    /// The fetch the proven reads run with: one JSON-RPC batch posted to the node.
    fn fetch(&self) -> impl Fn(Value) -> std::future::Ready<Result<Value, VerifyError>> + '_ {
        self.client.fetch()
    }

    /// [`Reader::read`] of a view that can fail (its contract error, amounts in τ).
    pub(crate) fn view<T>(&self, f: impl Fn(&mut ProvenHost) -> Result<T, String>) -> Result<(u64, T)> {
        let proven = self.read(tao_abi::access::QUERY_CALLER, f)?;
        Ok((proven.height, proven.value.map_err(|e| anyhow!(e))?))
    }
}

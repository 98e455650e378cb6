//! The node's JSON-RPC methods (`tao_node::rpc::module`) on a real dev node (the compiled
//! contracts, a few blocks): no request makes a method panic, and every request that parses
//! gets one well-formed answer, a result or an error. Input: a mode byte (a multiple of 4: a request built
//! from the rest through `Unstructured`: a method and odd parameters; else the rest is the
//! request text).

use std::sync::Arc;

use arbitrary::Unstructured;
use jsonrpsee::RpcModule;
use serde_json::Value;
use tao_node::Node;
use tao_node::spec::{dev_genesis, dev_key, load_modules};

use super::Harness;
use super::admit::target_dir;
use crate::FuzzError;

/// The harness.
pub struct NodeRpc {
    module: RpcModule<Arc<Node>>,
    runtime: tokio::runtime::Runtime,
    /// Keeps the node's directory alive.
    _dir: tempfile::TempDir,
    /// Text fragments the structured mode draws parameters from (keys, hashes, heights).
    atoms: Vec<String>,
    /// Answers by kind.
    counts: std::cell::RefCell<std::collections::BTreeMap<String, u64>>,
}

/// The methods (subscriptions left out: they would outlive the request).
const METHODS: &[&str] = &[
    "chain_info",
    "chain_header",
    "chain_block",
    "state_get",
    "account_get",
    "module_list",
    "subnet_get",
    "stake_get",
    "neuron_get",
    "subnet_metagraph",
    "pool_get",
    "pool_quote",
    "gov_proposal",
    "contract_query",
    "tx_submit",
    "tx_status",
];

/// Blocks produced before fuzzing, so heights and receipts exist.
const BLOCKS: u64 = 2;

fn json(value: impl serde::Serialize) -> String {
    serde_json::to_string(&value).unwrap_or_default()
}

impl NodeRpc {
    pub fn new() -> Result<NodeRpc, FuzzError> {
        let setup = |why: String| FuzzError::Setup { harness: "node_rpc", why };
        let contracts = target_dir().join("wasm32-unknown-unknown/contract");
        let modules = load_modules(&contracts)
            .map_err(|e| setup(format!("{e} (build the contracts first: `cargo xtask contracts`)")))?;
        let dir = tempfile::tempdir().map_err(|e| setup(e.to_string()))?;
        let node = Node::open(
            dir.path(),
            &dev_genesis(modules, 1_000),
            dev_key("validator"),
            tao_node::service::RETAIN_BLOCKS,
        )
        .map_err(|e| setup(e.to_string()))?;
        for n in 1..=BLOCKS {
            node.produce(1_000 + n * 1_000).map_err(|e| setup(e.to_string()))?;
        }
        let alice = dev_key("alice").address();
        let head = node.head().map_err(|e| setup(e.to_string()))?.0.hash();
        let atoms = vec![
            json(alice),
            json(dev_key("validator").address()),
            json(head),
            json(format!("0x{}", hex::encode(tao_chain::keys::nonce(&alice)))),
            json("token"),
            json("entry_balance"),
            json("buy"),
            json("sell"),
            "0".into(),
            "1".into(),
            BLOCKS.to_string(),
            "65535".into(),
            "4294967295".into(),
            "18446744073709551615".into(),
            "18446744073709551616".into(),
            "-1".into(),
            "1.5".into(),
            "1e400".into(),
            "null".into(),
            "true".into(),
            "\"0x\"".into(),
            "\"0xzz\"".into(),
            "\"0x0\"".into(),
            "[]".into(),
            "{}".into(),
        ];
        let module = tao_node::rpc::module(Arc::new(node)).map_err(|e| setup(e.to_string()))?;
        let runtime =
            tokio::runtime::Builder::new_current_thread().build().map_err(|e| setup(e.to_string()))?;
        Ok(NodeRpc { module, runtime, _dir: dir, atoms, counts: Default::default() })
    }

    /// One parameter as JSON text.
    fn param(&self, u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<String> {
        Ok(match u.int_in_range(0..=if depth == 0 { 4 } else { 5 })? {
            0 | 1 => u.choose(&self.atoms)?.clone(),
            2 => u.arbitrary::<u64>()?.to_string(),
            3 => {
                let n = u.int_in_range(0..=80)?;
                json(format!("0x{}", hex::encode(u.bytes(n)?)))
            }
            4 => json(u.arbitrary::<String>()?),
            _ => {
                let n = u.int_in_range(0..=3)?;
                let items =
                    (0..n).map(|_| self.param(u, depth - 1)).collect::<arbitrary::Result<Vec<_>>>()?;
                format!("[{}]", items.join(","))
            }
        })
    }

    fn request(&self, u: &mut Unstructured<'_>) -> arbitrary::Result<String> {
        let method = if u.ratio(1, 32)? { u.arbitrary::<String>()? } else { u.choose(METHODS)?.to_string() };
        let n = u.int_in_range(0..=4)?;
        let params = (0..n).map(|_| self.param(u, 2)).collect::<arbitrary::Result<Vec<_>>>()?;
        let params = match u.int_in_range(0..=7)? {
            0 => String::new(),
            1 => format!(r#","params":{{"a":{}}}"#, params.first().map_or("1", String::as_str)),
            _ => format!(r#","params":[{}]"#, params.join(",")),
        };
        Ok(format!(r#"{{"jsonrpc":"2.0","id":1,"method":{}{params}}}"#, json(method)))
    }

    fn call(&self, text: &str) -> Result<(), String> {
        let Ok((answer, _)) = self.runtime.block_on(self.module.raw_json_request(text, 1)) else {
            self.count("not a request".into());
            return Ok(()); // the server refuses it before any method runs
        };
        let answer: Value =
            serde_json::from_str(answer.get()).map_err(|e| format!("the answer is not JSON: {e}"))?;
        self.count(match answer["error"]["code"].as_i64() {
            Some(code) => format!("error {code}"),
            None => "result".into(),
        });
        if answer.get("result").is_some() == answer.get("error").is_some() {
            return Err(format!("the answer has not exactly one of result and error: {answer}"));
        }
        Ok(())
    }
}

impl NodeRpc {
    fn count(&self, what: String) {
        *self.counts.borrow_mut().entry(what).or_default() += 1;
    }
}

impl Harness for NodeRpc {
    fn name(&self) -> &'static str {
        "node_rpc"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let alice = &self.atoms[0];
        let key = &self.atoms[3];
        let requests = [
            r#"{"jsonrpc":"2.0","id":1,"method":"chain_info"}"#.to_string(),
            r#"{"jsonrpc":"2.0","id":1,"method":"chain_header","params":[1]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"chain_block","params":[]}"#.into(),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"state_get","params":[{key},1]}}"#),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"account_get","params":[{alice}]}}"#),
            r#"{"jsonrpc":"2.0","id":1,"method":"module_list","params":[]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"subnet_get","params":[1]}"#.into(),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"stake_get","params":[{alice},{alice},1]}}"#),
            r#"{"jsonrpc":"2.0","id":1,"method":"neuron_get","params":[1,0]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"subnet_metagraph","params":[1,2]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"pool_get","params":[1]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"pool_quote","params":[1,"buy",1000000]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"gov_proposal","params":[0]}"#.into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"contract_query","params":["token","balance","0x00"]}"#
                .into(),
            r#"{"jsonrpc":"2.0","id":1,"method":"tx_submit","params":["0x0102"]}"#.into(),
            format!(r#"{{"jsonrpc":"2.0","id":1,"method":"tx_status","params":[{}]}}"#, self.atoms[2]),
        ];
        let mut seeds: Vec<Vec<u8>> = requests.iter().map(|r| [&[1][..], r.as_bytes()].concat()).collect();
        seeds.push(vec![0; 64]);
        seeds.push((0..=255).collect());
        seeds
    }

    fn stats(&self) -> String {
        self.counts.borrow().iter().map(|(k, v)| format!("{k}: {v}")).collect::<Vec<_>>().join(", ")
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let Some((&mode, rest)) = input.split_first() else { return Ok(()) };
        if mode % 4 == 0 {
            return match self.request(&mut Unstructured::new(rest)) {
                Ok(text) => self.call(&text),
                Err(_) => Ok(()),
            };
        }
        self.call(&String::from_utf8_lossy(rest))
    }
}

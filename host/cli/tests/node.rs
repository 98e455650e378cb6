//! `tao node --dev` through the real binary: JSON-RPC over HTTP, a real signed transfer from a
//! dev account, its status and receipt, the balance proven against a certified header, and a
//! `kill -9` restart that keeps every finalized block.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
mod common;
use common::{rpc, wait_until};
use std::time::Duration;

use serde_json::{Value, json};
use tao_chain::{Certificate, Header, Validator};
use tao_contract_token::TransferArgs;
use tao_crypto::{ChainDomain, SecretKey};
use tao_node::spec::dev_key;
use tao_tx::{Call, SignedTransaction, Transaction};
use tao_types::{Address, Balance, Hash};

struct DevNode {
    child: Child,
    addr: String,
    metrics: String,
}

/// A node outlives a failed assertion otherwise, and keeps writing blocks into a deleted temp
/// dir until the disk is full.
impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl DevNode {
    fn start(dir: &Path) -> DevNode {
        Self::start_with(dir, "200ms")
    }

    fn start_with(dir: &Path, block_time: &str) -> DevNode {
        Self::spawn(dir, block_time, &["--dev"])
    }

    /// A node on `dir` with `chain` arguments (`--dev`, or `--chain F --validator-key K`).
    fn spawn(dir: &Path, block_time: &str, chain: &[&str]) -> DevNode {
        Self::spawn_at(dir, "127.0.0.1:0", block_time, chain)
    }

    /// [`DevNode::spawn`] serving RPC at `addr`.
    fn spawn_at(dir: &Path, addr: &str, block_time: &str, chain: &[&str]) -> DevNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tao"))
            .arg("node")
            .args(chain)
            .args(["--rpc-addr", addr, "--metrics-addr", "127.0.0.1:0", "--block-time"])
            .arg(block_time)
            .arg("--base-path")
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let (mut addr, mut metrics) = (None, None);
        while addr.is_none() || metrics.is_none() {
            let line = lines.next().expect("node exited before serving RPC").unwrap();
            if let Some(a) = line.strip_prefix("rpc listening on http://") {
                addr = Some(a.to_string());
            }
            if let Some(m) = line.strip_prefix("metrics on http://") {
                metrics = Some(m.trim_end_matches("/metrics").to_string());
            }
        }
        let (addr, metrics) = (addr.unwrap(), metrics.unwrap());
        // Keep draining stdout so the node never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        DevNode { child, addr, metrics }
    }

    /// A dev node whose stdout is closed as soon as it serves RPC (its reader went away).
    fn start_unread(dir: &Path) -> DevNode {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(["node", "--dev", "--rpc-addr", "127.0.0.1:0", "--block-time", "50ms", "--base-path"])
            .arg(dir)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let addr = loop {
            let line = lines.next().expect("node exited before serving RPC").unwrap();
            if let Some(a) = line.strip_prefix("rpc listening on http://") {
                break a.to_string();
            }
        };
        drop(lines);
        DevNode { child, addr, metrics: String::new() }
    }

    fn call(&self, method: &str, params: Value) -> Value {
        rpc(&self.addr, method, params)
    }

    fn result(&self, method: &str, params: Value) -> Value {
        let v = self.call(method, params);
        assert!(v.get("error").is_none(), "{method}: {v}");
        v["result"].clone()
    }

    /// The chain's signing domain and the token module's code hash, as the node announces them.
    fn domain_and_token(&self) -> (ChainDomain, Hash) {
        let info = self.result("chain_info", json!([]));
        let domain = ChainDomain {
            chain_id: info["chain_id"].as_u64().unwrap(),
            genesis_hash: serde_json::from_value(info["genesis_hash"].clone()).unwrap(),
        };
        let modules = self.result("module_list", json!([]));
        let token =
            modules.as_array().unwrap().iter().find(|m| m["name"] == "token").unwrap()["code_hash"].clone();
        (domain, serde_json::from_value(token).unwrap())
    }

    /// SIGKILL, as a crash would.
    fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// `alice`'s first transaction: 7 rao to `to` through the token module `token`.
fn transfer_7(domain: &ChainDomain, token: Hash, alice: &SecretKey, to: Address) -> SignedTransaction {
    let args = borsh::to_vec(&TransferArgs { to, amount: 7 }).unwrap();
    let call = Call {
        contract: token,
        method: b"entry_transfer".to_vec().try_into().unwrap(),
        args: args.try_into().unwrap(),
    };
    let tx = Transaction {
        chain_id: domain.chain_id,
        sender: alice.address(),
        nonce: 0,
        fee_limit: Balance(10_000_000),
        call,
    };
    tx.sign(domain, alice)
}

fn unhex(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap().trim_start_matches("0x")).unwrap()
}

#[test]
fn dev_node_transfers_proves_and_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let (domain, token) = node.domain_and_token();

    let (alice, bob) = (dev_key("alice"), dev_key("bob").address());
    let before = node.result("account_get", json!([bob]))["balance"].as_u64().unwrap();
    assert_eq!(before, 1_000_000 * 1_000_000_000);
    let tx = transfer_7(&domain, token, &alice, bob);
    let hex_tx = format!("0x{}", hex::encode(tx.encode()));
    let hash = node.result("tx_submit", json!([hex_tx]));
    assert_eq!(hash, json!(tx.hash()));
    // The same bytes again are refused with a clear error.
    let again = node.call("tx_submit", json!([hex_tx]));
    assert!(again["error"]["message"].as_str().is_some_and(|m| m.contains("already")), "{again}");

    let mut status = Value::Null;
    wait_until("finalization", || {
        status = node.result("tx_status", json!([hash]));
        status["status"] == "finalized"
    });
    assert_eq!(status["receipt"]["outcome"], "Ok", "{status}");
    let height = status["height"].as_u64().unwrap();

    let block = node.result("chain_block", json!([height]));
    assert_eq!(block["transactions"], json!([tx.hash()]));
    assert_eq!(
        (block["receipts"][0]["outcome"].clone(), block["header"]["height"].clone()),
        (json!("Ok"), json!(height))
    );

    // The balance, proven at the inclusion height against a header certified by the validator.
    let account = node.result("account_get", json!([bob, height]));
    assert_eq!(account["balance"].as_u64().unwrap(), before + 7);
    let proof = &account["proofs"]["balance"];
    let got = node.result("chain_header", json!([height]));
    let header: Header = borsh::from_slice(&unhex(&got["header"]["encoded"])).unwrap();
    let certificate: Certificate = borsh::from_slice(&unhex(&got["certificate"]["encoded"])).unwrap();
    let validators = vec![Validator { key: dev_key("validator").public_key(), power: 1 }];
    certificate.verify(&domain, &header, &validators).unwrap();
    assert_eq!(json!(header.state_root), proof["root"]);
    let state_proof = tao_state::StateProof::decode(&unhex(&proof["proof"])).unwrap();
    let value = unhex(&proof["value"]);
    tao_state::verify(&header.state_root, &unhex(&proof["key"]), Some(&value), &state_proof).unwrap();
    let forged = (before + 8).to_le_bytes();
    assert!(
        tao_state::verify(&header.state_root, &unhex(&proof["key"]), Some(&forged), &state_proof).is_err()
    );

    // The example subnet and its parameters, each proven at one height.
    let subnet = node.result("subnet_get", json!([1]));
    let at: Hash = serde_json::from_value(subnet["info"]["root"].clone()).unwrap();
    let verify = |p: &Value| {
        let value = p["value"].as_str().map(|_| unhex(&p["value"]));
        let proof = tao_state::StateProof::decode(&unhex(&p["proof"])).unwrap();
        tao_state::verify(&at, &unhex(&p["key"]), value.as_deref(), &proof).unwrap();
    };
    verify(&subnet["info"]);
    let tempo = subnet["hyperparameters"].as_array().unwrap().iter().find(|p| p["name"] == "tempo").unwrap();
    verify(tempo);
    assert_eq!(
        (tempo["value"].is_null(), tempo["effective"].as_u64()),
        (true, Some(360)),
        "absent: the default, proven absent"
    );
    let commit_reveal =
        subnet["hyperparameters"].as_array().unwrap().iter().find(|p| p["name"] == "commit_reveal").unwrap();
    verify(commit_reveal);
    assert_eq!(commit_reveal["decoded"], 0, "set off at genesis");
    let stake = node.result("stake_get", json!([bob, dev_key("alice-hot").address(), 1, subnet["height"]]));
    assert_eq!(stake["stake"], 0);
    verify(&stake["proofs"]["pool"]);

    // Its metagraph: the UID count and every neuron, proven at one height.
    let graph = node.result("subnet_metagraph", json!([1]));
    assert_eq!(graph["count"]["decoded"], 1, "alice-hot at UID 0");
    let graph_at: Hash = serde_json::from_value(graph["count"]["root"].clone()).unwrap();
    for p in [&graph["count"], &graph["neurons"][0]["neuron"]] {
        let proof = tao_state::StateProof::decode(&unhex(&p["proof"])).unwrap();
        tao_state::verify(&graph_at, &unhex(&p["key"]), Some(&unhex(&p["value"])), &proof).unwrap();
    }

    // The example subnet's pool, proven, and a quote computed from it; refusals are typed.
    let pool = node.result("pool_get", json!([1]));
    let pool_at: Hash = serde_json::from_value(pool["proof"]["root"].clone()).unwrap();
    let pool_proof = tao_state::StateProof::decode(&unhex(&pool["proof"]["proof"])).unwrap();
    let stored = unhex(&pool["proof"]["value"]);
    tao_state::verify(&pool_at, &tao_contract_pools::pool_key(1), Some(&stored), &pool_proof).unwrap();
    let decoded: tao_contract_pools::SubnetPool = borsh::from_slice(&stored).unwrap();
    assert_eq!(pool["tao"], decoded.tao);
    assert!(decoded.tao >= tao_contract_subnets::MIN_LOCK, "the lock seeded the pool");
    let quote = node.result("pool_quote", json!([1, "buy", 1_000_000_000u64, pool["height"]]));
    let expected =
        tao_contract_pools::quote(&decoded, 1, tao_contract_pools::Side::Buy, 1_000_000_000).unwrap();
    assert_eq!(
        (quote["output"].as_u64(), quote["fee"].as_u64()),
        (Some(expected.output), Some(expected.fee))
    );
    assert!(quote["price_after"].as_u64() > quote["price_before"].as_u64());
    let drained = node.call("pool_quote", json!([1, "sell", u64::MAX]));
    assert_eq!(drained["error"]["code"], 4, "{drained}");
    assert_eq!(node.call("pool_get", json!([99]))["error"]["code"], 2);
    assert_eq!(node.call("pool_quote", json!([1, "hold", 1]))["error"]["code"], -32602);

    // kill -9, restart: every finalized block and the state are still there.
    let head = node.result("chain_info", json!([]))["height"].as_u64().unwrap();
    node.kill();
    let node = DevNode::start(dir.path());
    let info = node.result("chain_info", json!([]));
    assert!(info["height"].as_u64().unwrap() >= head);
    assert_eq!(info["genesis_hash"], json!(domain.genesis_hash));
    assert_eq!(node.result("account_get", json!([bob]))["balance"].as_u64().unwrap(), before + 7);
    assert_eq!(node.result("tx_status", json!([Hash([9; 32])]))["status"], "unknown");
    assert_eq!(node.result("tx_status", json!([hash])), status, "the same answer after a restart");
    let stale = Transaction { nonce: 0, ..tx.tx.clone() }.sign(&domain, &alice);
    let refused = node.call("tx_submit", json!([format!("0x{}", hex::encode(stale.encode()))]));
    assert!(refused["error"]["message"].as_str().is_some_and(|m| m.contains("already used")), "{refused}");
    node.kill();
}

fn tao(wallets: &Path, password: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(args)
        .env("TAO_WALLET_PATH", wallets)
        .env("TAO_PASSWORD", password)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json_out(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn wallets_receive_and_send_with_verified_balances() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("chain"));
    let (wallets, url) = (dir.path().join("wallets"), format!("http://{}", node.addr));
    let pw = "correct horse";

    let alice =
        json_out(&tao(&wallets, pw, &["wallet", "import", "--name", "alice", "--dev", "alice", "--json"]));
    assert_eq!(alice["coldkey"], json!(dev_key("alice").address()));
    let mine = json_out(&tao(&wallets, pw, &["wallet", "create", "--name", "mine", "--json"]));
    let mine_address = mine["coldkey"].as_str().unwrap().to_string();
    assert_eq!(mine["hotkeys"][0]["name"], "default");
    let key_file = std::fs::read_to_string(wallets.join("wallets/mine/coldkey.json")).unwrap();
    assert!(key_file.contains("\"kdf\": \"scrypt\"") && key_file.contains("aes-128-ctr"));

    // Overwriting keys needs a confirmation; without a terminal that means --yes.
    let refused = tao(&wallets, pw, &["wallet", "create", "--name", "mine"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--yes"));
    assert_eq!(
        std::fs::read_to_string(wallets.join("wallets/mine/coldkey.json")).unwrap(),
        key_file,
        "nothing overwritten"
    );

    let sent = json_out(&tao(
        &wallets,
        pw,
        &[
            "transfer",
            "--wallet",
            "alice",
            "--to",
            &mine_address,
            "--amount",
            "2.5",
            "--yes",
            "--json",
            "--url",
            &url,
        ],
    ));
    assert_eq!(
        (sent["status"].as_str(), sent["receipt"]["outcome"].as_str()),
        (Some("finalized"), Some("Ok")),
        "{sent}"
    );
    // TAO_URL stands in for --url.
    let with_env = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["wallet", "balance", "--name", "mine", "--json"])
        .env("TAO_WALLET_PATH", &wallets)
        .env("TAO_URL", &url)
        .output()
        .unwrap();
    let balance = json_out(&with_env);
    assert_eq!(balance["balance_rao"], 2_500_000_000u64);
    assert!(balance["verified_at"].as_u64().unwrap() >= sent["height"].as_u64().unwrap());

    // A wrong password unlocks nothing and sends nothing.
    let wrong = tao(
        &wallets,
        "battery staple",
        &[
            "transfer",
            "--wallet",
            "mine",
            "--to",
            alice["coldkey"].as_str().unwrap(),
            "--amount",
            "1",
            "--yes",
            "--url",
            &url,
        ],
    );
    assert!(!wrong.status.success());
    let why = String::from_utf8_lossy(&wrong.stderr);
    assert!(why.contains("wrong password"), "{why}");

    // More than it has: included, failed, fee charged, exit code 1.
    let over = tao(
        &wallets,
        pw,
        &[
            "transfer",
            "--wallet",
            "mine",
            "--to",
            alice["coldkey"].as_str().unwrap(),
            "--amount",
            "100",
            "--yes",
            "--json",
            "--url",
            &url,
            // Past the preflight's local refusal (tests/preflight.rs): the chain's own.
            "--force",
        ],
    );
    assert_eq!(over.status.code(), Some(1));
    let over: Value = serde_json::from_slice(&over.stdout).unwrap();
    assert!(over["receipt"]["outcome"]["Failed"].as_str().unwrap().contains("insufficient"), "{over}");
    let fee = over["receipt"]["fee"].as_u64().unwrap();
    let balance =
        json_out(&tao(&wallets, pw, &["wallet", "balance", "--name", "mine", "--json", "--url", &url]));
    assert_eq!(balance["balance_rao"].as_u64().unwrap(), 2_500_000_000 - fee);
    // The same in words: every amount in τ, the fee too.
    let alice_address = alice["coldkey"].as_str().unwrap();
    let over_text = tao(
        &wallets,
        pw,
        &[
            "transfer",
            "--wallet",
            "mine",
            "--to",
            alice_address,
            "--amount",
            "100",
            "--yes",
            "--force",
            "--url",
            &url,
        ],
    );
    let text = String::from_utf8_lossy(&over_text.stdout);
    assert!(text.contains("< 100 τ") && text.contains(" τ charged)") && !text.contains("rao"), "{text}");
    // A refusal by the node: a JSON error object with its code; in words, amounts in τ.
    tao(&wallets, pw, &["wallet", "create", "--name", "empty", "--json"]);
    let broke = [
        "transfer",
        "--wallet",
        "empty",
        "--to",
        alice_address,
        "--amount",
        "1",
        "--yes",
        "--force",
        "--url",
        &url,
    ];
    let refused = tao(&wallets, pw, &[&broke[..], &["--json"]].concat());
    assert_eq!(refused.status.code(), Some(2));
    let error = serde_json::from_slice::<Value>(&refused.stdout).unwrap()["error"].clone();
    assert_eq!((error["code"].as_str(), error["rpc_code"].as_i64()), (Some("node"), Some(1)), "{error}");
    assert!(error["message"].as_str().unwrap().contains("cannot pay the fee"), "{error}");
    let words = String::from_utf8_lossy(&tao(&wallets, pw, &broke).stderr).to_string();
    assert!(words.contains("balance 0 τ cannot pay the fee of 0.0") && !words.contains("rao"), "{words}");

    // Messages: signed by the coldkey, checked against the address; any change breaks it.
    let signed =
        json_out(&tao(&wallets, pw, &["wallet", "sign", "--name", "mine", "--message", "hello", "--json"]));
    let sig = signed["signature"].as_str().unwrap();
    let check = |message: &str| {
        tao(
            &wallets,
            pw,
            &[
                "wallet",
                "verify",
                "--address",
                &mine_address,
                "--message",
                message,
                "--signature",
                sig,
                "--json",
            ],
        )
    };
    assert_eq!(json_out(&check("hello"))["valid"], true);
    let forged = check("hullo");
    assert_eq!(forged.status.code(), Some(1));

    let list = json_out(&tao(&wallets, pw, &["wallet", "list", "--json"]));
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|w| w["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["alice", "empty", "mine"]);
    node.kill();
}

/// The next text message of `socket` as JSON, past the node's pings (which tungstenite answers).
fn text_message<S: Read + Write>(socket: &mut tungstenite::WebSocket<S>) -> Value {
    loop {
        if let tungstenite::Message::Text(text) = socket.read().unwrap() {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

#[test]
fn websocket_subscribers_receive_each_new_head() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let (mut socket, _) = tungstenite::connect(format!("ws://{}", node.addr)).unwrap();
    let subscribe = json!({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeHeads", "params": []});
    socket.send(tungstenite::Message::Text(subscribe.to_string().into())).unwrap();
    let mut next = || -> Value { text_message(&mut socket) };
    let id = next()["result"].clone();
    assert!(!id.is_null(), "a subscription id");
    let heights: Vec<u64> = (0..3)
        .map(|_| {
            let note = next();
            assert_eq!((note["method"].as_str(), &note["params"]["subscription"]), (Some("chain_head"), &id));
            note["params"]["result"]["height"].as_u64().unwrap()
        })
        .collect();
    assert!(heights.windows(2).all(|w| w[1] == w[0] + 1), "{heights:?}");
    let (mut finalized, _) = tungstenite::connect(format!("ws://{}", node.addr)).unwrap();
    let subscribe =
        json!({"jsonrpc": "2.0", "id": 2, "method": "chain_subscribeFinalizedHeads", "params": []});
    finalized.send(tungstenite::Message::Text(subscribe.to_string().into())).unwrap();
    let mut next_final = || -> Value { text_message(&mut finalized) };
    assert!(!next_final()["result"].is_null());
    assert_eq!(next_final()["method"], "chain_finalizedHead");

    // Prometheus metrics on their own port.
    let mut stream = TcpStream::connect(&node.metrics).unwrap();
    write!(stream, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    assert!(text.contains("# TYPE tao_block_height gauge"), "{text}");
    let height: u64 =
        text.lines().find_map(|l| l.strip_prefix("tao_block_height ")).unwrap().parse().unwrap();
    assert!(height >= heights[2], "{text}");
    assert!(text.contains("tao_blocks_produced_total"));
    node.kill();
}

/// A method's `result` decoded into the schema's type for it (`tao_rpc`), or a panic naming the
/// field that did not decode.
fn typed<M: tao_rpc::Method>(result: Value) -> M::Reply {
    tao_rpc::decode(&result, M::NAME).unwrap_or_else(|e| panic!("{e}"))
}

/// Every method of docs/rpc.md answers in the type `tao_rpc` spells for it (the wallet, the
/// CLI and `tao light` decode into the same types), with the values the dev chain holds.
#[test]
fn every_method_answers_in_its_schema_type() {
    use tao_rpc::*;
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let call = |method: &str, params: Value| node.result(method, params);
    let info: ChainInfo = typed::<ChainInfoMethod>(call("chain_info", json!([])));
    assert_eq!((info.chain_id, info.validators.len()), (7_998_951, 1));
    assert_eq!(info.checkpoint, None, "a node's chain_info names no checkpoint");
    let signers = typed::<ChainValidatorsMethod>(call("chain_validators", json!([1])));
    assert_eq!((signers.height, &signers.validators), (1, &info.validators));
    let modules = typed::<ModuleListMethod>(call("module_list", json!([])));
    let token = modules.iter().find(|m| m.name == "token").unwrap().code_hash;
    let genesis = typed::<ChainHeaderMethod>(call("chain_header", json!([0])));
    assert_eq!((genesis.header.height, genesis.header.hash), (0, info.genesis_hash));
    let domain = ChainDomain { chain_id: info.chain_id, genesis_hash: info.genesis_hash };

    let (alice, bob) = (dev_key("alice"), dev_key("bob").address());
    let account = typed::<AccountGetMethod>(call("account_get", json!([alice.address()])));
    assert_eq!((account.nonce, account.pending_nonce, account.proofs.balance.height), (0, 0, account.height));
    assert!(account.balance > 0);
    let tx = transfer_7(&domain, token, &alice, bob);
    let hash = typed::<TxSubmitMethod>(call("tx_submit", json!([Bytes::hex(&tx.encode())])));
    assert_eq!(hash, tx.hash());
    let mut status = TxStatus::Unknown;
    wait_until("finalization", || {
        status = typed::<TxStatusMethod>(call("tx_status", json!([hash])));
        matches!(status, TxStatus::Finalized { .. })
    });
    let TxStatus::Finalized { height, index: Some(0), receipt: Some(receipt) } = status else {
        panic!("{status:?}")
    };
    assert_eq!(receipt.outcome, Outcome::Ok);
    let block = typed::<ChainBlockMethod>(call("chain_block", json!([height])));
    assert_eq!((block.transactions, block.receipts[0].fee), (vec![hash], receipt.fee));
    assert_eq!(block.header.height, height);

    let key = tao_contract_token::balance_key(&bob);
    let proven = typed::<StateGetMethod>(call("state_get", json!([Bytes::hex(&key), height])));
    assert_eq!(proven.value, Some(Bytes((1_000_000 * 1_000_000_000 + 7u64).to_le_bytes().to_vec())));
    let subnet = typed::<SubnetGetMethod>(call("subnet_get", json!([1])));
    assert_eq!(subnet.hyperparameters.len(), tao_contract_subnets::params::PARAMS.len());
    let stake = typed::<StakeGetMethod>(call(
        "stake_get",
        json!([alice.address(), dev_key("alice-hot").address(), 0]),
    ));
    assert!(stake.stake >= 1_000 * 1_000_000_000, "alice's root stake on the dev chain: {stake:?}");
    let pool = typed::<PoolGetMethod>(call("pool_get", json!([1])));
    let quote = typed::<PoolQuoteMethod>(call("pool_quote", json!([1, "buy", 1_000_000_000])));
    assert_eq!((quote.input, quote.pool.netuid, pool.netuid), (1_000_000_000, 1, 1));
    let metagraph = typed::<SubnetMetagraphMethod>(call("subnet_metagraph", json!([1])));
    assert_eq!(metagraph.neurons.len(), usize::from(metagraph.count.decoded.unwrap()));
    let neuron = typed::<NeuronGetMethod>(call("neuron_get", json!([1, 0, metagraph.height])));
    assert_eq!(neuron.neuron, metagraph.neurons[0].neuron.clone(), "one height, one answer");
    let input = Bytes::hex(&borsh::to_vec(&1u16).unwrap());
    let query = typed::<ContractQueryMethod>(call(
        "contract_query",
        json!(["incentive", "entry_epoch_input", input]),
    ));
    assert!(!query.output.0.is_empty());
    let missing = node.call("gov_proposal", json!([0]));
    assert_eq!(missing["error"]["code"], json!(code::NO_STATE), "{missing}");
    node.kill();
}

/// `tao node --log-format json` writes one JSON object per line, each with its level, message and
/// fields; a bad `RUST_LOG` is refused by name.
#[test]
fn the_node_logs_json_lines_with_level_and_message() {
    let dir = tempfile::tempdir().unwrap();
    let node = |log_filter: &str| {
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args([
                "node",
                "--dev",
                "--log-format",
                "json",
                "--rpc-addr",
                "127.0.0.1:0",
                "--block-time",
                "200ms",
            ])
            .arg("--base-path")
            .arg(dir.path().join("chain"))
            .env("RUST_LOG", log_filter)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut child = node("tao=info");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut events = Vec::new();
    while events.iter().filter(|e: &&Value| e["event"] == "block").count() < 2 {
        let line = lines.next().expect("the node exited").unwrap();
        let event: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(event["level"].is_string() && event["message"].is_string(), "{line}");
        events.push(event);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!((events[0]["event"].as_str(), events[0]["level"].as_str()), (Some("started"), Some("INFO")));
    assert!(events[0]["rpc"].as_str().unwrap().starts_with("http://127.0.0.1:"));
    let block = events.iter().find(|e| e["event"] == "block").unwrap();
    assert!(
        block["height"].as_u64().unwrap() >= 1 && block["message"].as_str().unwrap().starts_with("block #")
    );

    let refused = node("tao=loud").wait_with_output().unwrap();
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("RUST_LOG"), "{refused:?}");
}

/// A `stake list --json` answer's total on subnet `netuid`.
fn subnet_stake(list: &Value, netuid: &str) -> u64 {
    let netuid: u64 = netuid.parse().unwrap();
    let positions = list["positions"].as_array().unwrap();
    positions.iter().filter(|p| p["netuid"] == netuid).map(|p| p["stake"].as_u64().unwrap()).sum()
}

/// Printing blocks to a stdout nobody reads any more must not stop the chain.
#[test]
fn a_closed_stdout_does_not_stop_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut node = DevNode::start_unread(dir.path());
    // The first block compiles the system modules, so allow time; the node must stay up and
    // keep producing blocks although every line it prints now fails.
    wait_until("blocks after the node's stdout closed", || {
        assert!(node.child.try_wait().unwrap().is_none(), "the node died when its stdout closed");
        node.result("chain_info", json!([]))["height"].as_u64().unwrap() >= 5
    });
}

/// Issue 7's end-to-end run: wallets, a transfer from a dev account, a new subnet, a validator
/// and three miners, a nominator, weights, two epochs; emission split 18/41/41 and the
/// nominator's stake grows; then `kill -9` and a restart that changes nothing committed.
#[test]
fn subnet_economy_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let chain = dir.path().join("chain");
    let node = DevNode::start_with(&chain, "50ms");
    let (wallets, url) = (dir.path().join("wallets"), format!("http://{}", node.addr));
    let pw = "pw";
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--yes", "--url", &url]);
        json_out(&tao(&wallets, pw, &all))
    };
    let local = |args: &[&str]| json_out(&tao(&wallets, pw, &[args, &["--json"]].concat()));

    local(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    let owner = local(&["wallet", "create", "--name", "owner"]);
    let validator = local(&["wallet", "create", "--name", "validator"]);
    let nominator = local(&["wallet", "create", "--name", "nominator"]);
    local(&["wallet", "create", "--name", "miners", "--hotkey", "m1"]);
    local(&["wallet", "new-hotkey", "--name", "miners", "--hotkey", "m2"]);
    let miners = local(&["wallet", "new-hotkey", "--name", "miners", "--hotkey", "m3"]);
    let addr = |w: &Value| w["coldkey"].as_str().unwrap().to_string();
    let validator_hot = validator["hotkeys"][0]["address"].as_str().unwrap().to_string();
    for (to, amount) in [
        (addr(&owner), "5000"),
        (addr(&validator), "200"),
        (addr(&nominator), "100"),
        (addr(&miners), "50"),
        (validator_hot.clone(), "1"),
    ] {
        run(&["transfer", "--wallet", "alice", "--to", &to, "--amount", amount]);
    }

    let created = run(&["subnet", "create", "--wallet", "owner", "--name", "e2e"]);
    let netuid = created["netuid"].as_u64().unwrap().to_string();
    run(&[
        "subnet",
        "set",
        "--wallet",
        "owner",
        "--netuid",
        &netuid,
        "--param",
        "commit_reveal",
        "--value",
        "0",
    ]);
    let uid = |w: &str, h: &str| {
        run(&["subnet", "register", "--wallet", w, "--hotkey", h, "--netuid", &netuid])["uid"]
            .as_u64()
            .unwrap()
    };
    // Creation seated the owner's hotkey at UID 0 (subtensor's owner seat); it cannot register again.
    let owner_hot = owner["hotkeys"][0]["address"].as_str().unwrap();
    assert_eq!(created["owner_uid"], json!(0));
    let seated = run(&["subnet", "metagraph", "--netuid", &netuid]);
    assert_eq!(seated["neurons"][0]["uid"], json!(0));
    assert_eq!(seated["neurons"][0]["hotkey"].as_str().unwrap().to_lowercase(), owner_hot.to_lowercase());
    let again = tao(
        &wallets,
        pw,
        &["subnet", "register", "--wallet", "owner", "--netuid", &netuid, "--json", "--yes", "--url", &url],
    );
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("already registered"), "{again:?}");
    assert_eq!(uid("validator", "default"), 1);
    let miner_uids: Vec<u64> = ["m1", "m2", "m3"].iter().map(|h| uid("miners", h)).collect();
    assert_eq!(miner_uids, [2, 3, 4]);
    run(&[
        "stake",
        "add",
        "--wallet",
        "validator",
        "--hotkey",
        "default", // its own hotkey, by name
        "--netuid",
        &netuid,
        "--amount",
        "100",
    ]);
    let nominated = run(&[
        "stake",
        "add",
        "--wallet",
        "nominator",
        "--hotkey",
        &validator_hot,
        "--netuid",
        &netuid,
        "--amount",
        "50",
    ]);

    let stake_of = |wallet: &str| subnet_stake(&run(&["stake", "list", "--wallet", wallet]), &netuid);
    let metagraph = || run(&["subnet", "metagraph", "--netuid", &netuid]);
    // Epoch 1 hands out validator permits; with no weights yet, validators are paid by stake.
    wait_until("the first epoch", || {
        metagraph()["neurons"][1]["validator_emission"].as_u64().unwrap_or(0) > 0
    });
    let nominator_before = stake_of("nominator");
    let bought = event_tail(&nominated, "stake_added");
    assert!(bought > 40_000_000_000 && bought < 50_000_000_000, "50 τ bought {bought} alpha");
    assert_eq!(nominated["moved"], json!({"tao": 50 * 1_000_000_000u64, "alpha": bought}), "what moved");
    assert!(nominator_before > bought, "the first epoch's dividends already count");
    let owner_after_first = stake_of("owner");
    run(&[
        "weights",
        "set",
        "--wallet",
        "validator",
        "--netuid",
        &netuid,
        "--uids",
        "2,3,4",
        "--values",
        "1,1,1",
    ]);
    // Epoch 2 pays by the weights.
    wait_until("miners paid", || metagraph()["neurons"][2]["server_emission"].as_u64().unwrap_or(0) > 0);
    let graph = metagraph();
    let n = graph["neurons"].as_array().unwrap();
    let miners_rao: u64 = n[2..5].iter().map(|m| m["server_emission"].as_u64().unwrap()).sum();
    let validators_rao: u64 = n.iter().map(|m| m["validator_emission"].as_u64().unwrap()).sum();
    let owner_cut = stake_of("owner") - owner_after_first;
    // Shares in basis points, within half a percent.
    let total = miners_rao + validators_rao + owner_cut;
    let bp = |x: u64| x * 10_000 / total;
    assert!(bp(owner_cut).abs_diff(1_800) <= 50, "owner {} bp", bp(owner_cut));
    assert!(bp(miners_rao).abs_diff(4_100) <= 50, "miners {} bp", bp(miners_rao));
    assert!(bp(validators_rao).abs_diff(4_100) <= 50, "validators {} bp", bp(validators_rao));
    assert!(stake_of("miners") > 0);
    assert!(stake_of("nominator") > nominator_before, "dividends raised the nominator's stake");
    // The validator holds a permit and the stake behind it; in words, btcli's columns, in α.
    assert_eq!((n[1]["permit"].as_bool(), n[2]["permit"].as_bool()), (Some(true), Some(false)));
    assert!(n[1]["stake"].as_u64().unwrap() > bought, "own and nominated stake");
    let table = tao(&wallets, pw, &["subnet", "metagraph", "--netuid", &netuid, "--url", &url]);
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    let lines: Vec<&str> = table.lines().collect();
    for column in [
        "UID",
        "HOTKEY",
        "STAKE",
        "VTRUST",
        "CONSENSUS",
        "INCENTIVE",
        "DIVIDENDS",
        "EMISSION",
        "VPERMIT",
        "AXON",
    ] {
        assert!(lines[1].contains(column), "{column} missing: {table}");
    }
    let validator_row = lines.iter().find(|l| l.contains(&validator_hot)).unwrap();
    assert!(
        validator_row.contains(" α") && validator_row.contains('✓') && !validator_row.contains("rao"),
        "{table}"
    );
    let widths: Vec<usize> = lines[1..].iter().map(|l| l.find(" α").unwrap_or(0)).collect();
    assert!(widths[1..].iter().all(|w| *w == widths[1]), "stake column aligned: {table}");

    // The nominator sells 10 alpha back: its free balance gains exactly what the swap paid, less
    // the fee (epochs only ever touch stake, so this holds whenever they run).
    let free = || run(&["wallet", "balance", "--name", "nominator"])["balance_rao"].as_u64().unwrap();
    let before_remove = free();
    let removed = run(&[
        "stake",
        "remove",
        "--wallet",
        "nominator",
        "--hotkey",
        &validator_hot,
        "--netuid",
        &netuid,
        "--amount",
        "10",
    ]);
    let fee = removed["receipt"]["fee"].as_u64().unwrap();
    let received = event_tail(&removed, "stake_removed");
    assert!(received > 10_000_000_000, "alpha is worth more than 1 τ here: {received}");
    assert_eq!(free(), before_remove + received - fee);

    // The pool, verified against a certified header, quotes a swap; a limit order that cannot
    // fill fails in its block and spends nothing but its fee.
    let pool = run(&["subnet", "pool", "--netuid", &netuid, "--buy", "5"]);
    let spot = pool["spot_price"].as_u64().unwrap();
    assert!(pool["verified_at"].as_u64().unwrap() > 0 && spot > 1_000_000_000, "{pool}");
    assert!(
        pool["quote"]["output"].as_u64().unwrap() < 5_000_000_000
            && pool["quote"]["price_after"].as_u64().unwrap() > spot
    );
    let before_limit = free();
    let limited = tao(
        &wallets,
        pw,
        &["stake", "add", "--wallet", "nominator", "--hotkey", &validator_hot, "--netuid", &netuid]
            .into_iter()
            .chain(["--amount", "5", "--limit-price", "0.5", "--json", "--yes", "--force", "--url", &url])
            .collect::<Vec<_>>(),
    );
    assert!(!limited.status.success());
    let refused: Value = serde_json::from_slice(&limited.stdout).unwrap();
    let outcome = refused["receipt"]["outcome"].to_string();
    assert!(outcome.contains("does not fill within its limit price"), "{outcome}");
    assert_eq!(free(), before_limit - refused["receipt"]["fee"].as_u64().unwrap());
    assert!(
        !refused["receipt"]["events"].to_string().contains(&hex::encode("stake_added")),
        "nothing bought"
    );

    // The owner deploys an incentive module and switches the subnet to it (issue 9's CLI path;
    // the epochs it then runs are tested in tao-node's tests).
    let top_k = contract_wasm("example_top_k");
    let deployed = run(&["module", "deploy", "--wallet", "owner", top_k.to_str().unwrap()]);
    let hash = format!("0x{}", hex::encode(tao_types::keccak256(&std::fs::read(&top_k).unwrap())));
    assert_eq!(deployed["receipt"]["events"][0][1], json!(hash), "{deployed}");
    assert_eq!(deployed["code_hash"], json!(hash), "--json names the code hash");
    let shown = json_out(&tao(&wallets, pw, &["module", "show", &hash, "--json", "--url", &url]));
    assert_eq!(
        (shown["deployed"].as_bool(), shown["size"].as_u64()),
        (Some(true), Some(std::fs::metadata(&top_k).unwrap().len()))
    );
    let set_module = |hash: &str| {
        let args = ["subnet", "set-module", "--wallet", "owner", "--netuid", &netuid, "--hash", hash];
        tao(&wallets, pw, &[&args[..], &["--json", "--yes", "--url", &url]].concat())
    };
    // Owners may not switch in the 10 blocks before an epoch: try again after one.
    let set = || set_module(&hash);
    let mut switched = set();
    for _ in 0..20 {
        if switched.status.success() || !String::from_utf8_lossy(&switched.stdout).contains("frozen") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
        switched = set();
    }
    json_out(&switched);
    let unknown = format!("0x{}", "ab".repeat(32));
    let refused = set_module(&unknown);
    assert!(
        String::from_utf8_lossy(&refused.stdout).contains("no deployed code"),
        "{}",
        String::from_utf8_lossy(&refused.stdout)
    );

    // kill -9 and restart: balances, stakes and the state root at a committed height unchanged.
    let height = node.result("chain_info", json!([]))["height"].as_u64().unwrap();
    let root = node.result("chain_header", json!([height]))["header"]["state_root"].clone();
    let stakes: Vec<u64> =
        ["owner", "validator", "nominator", "miners"].iter().map(|w| stake_of(w)).collect();
    let balance = run(&["wallet", "balance", "--name", "nominator"])["balance_rao"].clone();
    node.kill();
    let node = DevNode::start_with(&chain, "3600s");
    let url2 = format!("http://{}", node.addr);
    assert_eq!(node.result("chain_header", json!([height]))["header"]["state_root"], root);
    let rerun = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--url", &url2]);
        json_out(&tao(&wallets, pw, &all))
    };
    let after: Vec<u64> = ["owner", "validator", "nominator", "miners"]
        .iter()
        .map(|w| subnet_stake(&rerun(&["stake", "list", "--wallet", w]), &netuid))
        .collect();
    assert_eq!(after, stakes);
    assert_eq!(rerun(&["wallet", "balance", "--name", "nominator"])["balance_rao"], balance);

    node.kill();
}

/// The last `u64` of event `topic`'s data in a finalized transaction's status (the amount a
/// stake swap produced).
fn event_tail(status: &Value, topic: &str) -> u64 {
    let events = status["receipt"]["events"].as_array().unwrap();
    let event = events.iter().find(|e| e[0] == format!("0x{}", hex::encode(topic))).unwrap();
    let data = hex::decode(event[1].as_str().unwrap().trim_start_matches("0x")).unwrap();
    u64::from_le_bytes(data[data.len() - 8..].try_into().unwrap())
}

#[test]
fn a_node_runs_a_chain_from_a_json_spec() {
    let dir = tempfile::tempdir().unwrap();
    let printed =
        Command::new(env!("CARGO_BIN_EXE_tao")).args(["node", "--dev", "--print-spec"]).output().unwrap();
    assert!(printed.status.success());
    let mut spec: Value = serde_json::from_slice(&printed.stdout).unwrap();
    assert_eq!(spec["subnets"][0]["name"], "example");
    // Our own chain: another id, our own validator, no example subnet.
    let validator = tao_crypto::SecretKey::from_bytes(&[42; 32]).unwrap();
    spec["chain_id"] = json!(77);
    spec["validators"] =
        json!([{"key": format!("0x{}", hex::encode(validator.public_key().to_compressed())), "power": 3}]);
    spec["subnets"] = json!([]);
    let path = dir.path().join("spec.json");
    std::fs::write(&path, spec.to_string()).unwrap();
    let key = hex::encode(validator.to_bytes());
    let chain = ["--chain", path.to_str().unwrap(), "--validator-key", key.as_str()];
    // The printed checkpoint is the dev chain's; an edited spec that keeps it is refused.
    assert_eq!(spec["checkpoint"]["chain_id"], 7998951, "{spec}");
    let checkpoint = spec["checkpoint"]["genesis_hash"].as_str().unwrap().to_string();
    let stale = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["node"])
        .args(chain)
        .arg("--base-path")
        .arg(dir.path().join("stale"))
        .output()
        .unwrap();
    let why = String::from_utf8_lossy(&stale.stderr);
    assert!(
        !stale.status.success() && why.contains(&checkpoint) && why.contains("remove \"checkpoint\""),
        "{why}"
    );
    spec.as_object_mut().unwrap().remove("checkpoint");
    std::fs::write(&path, spec.to_string()).unwrap();
    let node = DevNode::spawn(&dir.path().join("data"), "100ms", &chain);
    wait_until("blocks", || node.result("chain_info", json!([]))["height"].as_u64().unwrap() >= 2);
    let info = node.result("chain_info", json!([]));
    assert_eq!(info["chain_id"], 77);
    assert_eq!(info["validators"][0]["power"], 3);
    let alice = node.result("account_get", json!([dev_key("alice").address()]));
    assert_eq!(alice["balance"], 1_000_000_000_000_000u64, "no example subnet locked alice's funds");
    node.kill();

    // A key outside the validator set cannot produce this chain.
    let stranger = hex::encode([43u8; 32]);
    let refused = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["node", "--chain", path.to_str().unwrap(), "--validator-key", &stranger, "--base-path"])
        .arg(dir.path().join("other"))
        .output()
        .unwrap();
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not in the chain's validator set"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

/// `tao gov` through the binary: a proposal is made, voted on with alice's root stake (all the
/// dev chain's stake), passes and applies; a second one nobody votes on misses quorum and its
/// deposit is burned. The proven proposal is served by `gov_proposal`.
#[test]
fn governance_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    // Dev votes last 20 blocks: slow enough blocks that the vote lands in time.
    let node = DevNode::start_with(&dir.path().join("chain"), "600ms");
    let (wallets, url) = (dir.path().join("wallets"), format!("http://{}", node.addr));
    let pw = "correct horse";
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--yes", "--url", &url]);
        json_out(&tao(&wallets, pw, &all))
    };
    json_out(&tao(&wallets, pw, &["wallet", "import", "--name", "alice", "--dev", "alice", "--json"]));
    let bad = tao(
        &wallets,
        pw,
        &["gov", "propose", "--wallet", "alice", "--set-param", "1:no_such=1", "--yes", "--url", &url],
    );
    assert!(String::from_utf8_lossy(&bad.stderr).contains("no hyperparameter no_such"));
    let proposed = run(&["gov", "propose", "--wallet", "alice", "--set-param", "1:kappa=40000"]);
    assert_eq!(proposed["receipt"]["outcome"], "Ok", "{proposed}");
    run(&["gov", "vote", "--wallet", "alice", "--id", "0", "--approve"]);
    run(&["gov", "propose", "--wallet", "alice", "--network-rate-limit", "99"]);
    let list = || json_out(&tao(&wallets, pw, &["gov", "list", "--json", "--url", &url]));
    let listed = list();
    assert_eq!(listed["proposals"][1]["action"], "set kappa of subnet 1 to 40000", "newest first");
    assert_eq!(listed["proposals"][1]["status"], "voting");
    wait_until("the votes to end", || list()["proposals"][0]["status"] != "voting");
    let listed = list();
    assert_eq!(listed["proposals"][1]["status"], "passed, applied");
    assert_eq!(listed["proposals"][0]["status"], "rejected (no quorum, deposit burned)");
    let params = node.result("subnet_get", json!([1]))["hyperparameters"].clone();
    let kappa =
        params.as_array().unwrap().iter().find(|p| p["name"] == "kappa").unwrap()["effective"].clone();
    assert_eq!(kappa, 40_000);
    let proven = node.result("gov_proposal", json!([0]));
    assert_eq!(proven["status"], "Applied", "{proven}");
    let typed: tao_rpc::GovProposal = typed::<tao_rpc::GovProposalMethod>(proven.clone());
    assert_eq!((typed.id, typed.status.as_str(), typed.proof.height), (0, "Applied", typed.height));
    let value = unhex(&proven["proof"]["value"]);
    let at: Hash = serde_json::from_value(proven["proof"]["root"].clone()).unwrap();
    let proof = tao_state::StateProof::decode(&unhex(&proven["proof"]["proof"])).unwrap();
    tao_state::verify(&at, &tao_contract_governance::proposal_key(0), Some(&value), &proof).unwrap();
    node.kill();
}

/// Wallet files without a node: a created wallet's mnemonic restores its coldkey (and a MetaMask
/// phrase its first account), keystores export and import under their password, and nothing is
/// overwritten without a confirmation.
#[test]
fn mnemonics_and_keystores_restore_wallets() {
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let pw = "correct horse";
    let local = |args: &[&str]| json_out(&tao(&wallets, pw, &[args, &["--json"]].concat()));
    let created = local(&["wallet", "create", "--name", "mine"]);
    let phrase = created["mnemonic"].as_str().unwrap().to_string();
    assert_eq!(phrase.split(' ').count(), 12);
    let restored = local(&["wallet", "regen", "--name", "again", "--mnemonic", &phrase]);
    assert_eq!(restored["coldkey"], created["coldkey"]);
    let hardhat = "test test test test test test test test test test test junk";
    let metamask = local(&["wallet", "regen", "--name", "mm", "--mnemonic", hardhat]);
    assert_eq!(metamask["coldkey"], "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    let overwrite = tao(&wallets, pw, &["wallet", "regen", "--name", "mm", "--mnemonic", &phrase, "--json"]);
    assert!(!overwrite.status.success(), "an existing coldkey is not overwritten without --yes");
    assert!(String::from_utf8_lossy(&overwrite.stderr).contains("overwrite"));
    let typo =
        tao(&wallets, pw, &["wallet", "regen", "--name", "bad", "--mnemonic", "test test test", "--json"]);
    assert!(String::from_utf8_lossy(&typo.stderr).contains("invalid mnemonic"));

    let file = dir.path().join("mine.json");
    let exported = local(&["wallet", "export", "--name", "mine", "--out", file.to_str().unwrap()]);
    assert_eq!(exported["coldkey"], created["coldkey"]);
    let imported = local(&["wallet", "import", "--name", "copy", "--keystore", file.to_str().unwrap()]);
    assert_eq!(imported["coldkey"], created["coldkey"]);
    let wrong = tao(
        &wallets,
        "not it",
        &["wallet", "import", "--name", "nope", "--keystore", file.to_str().unwrap()],
    );
    assert!(!wrong.status.success());
    assert!(!wallets.join("wallets/nope/coldkey.json").exists(), "a wrong password imports nothing");
}

/// A miner serves its axon and a validator commits weights through the binary: commits are
/// kept in the wallet with their salt, refused while commit-reveal is off, and a reveal before
/// its epoch is refused and keeps the commit for later.
#[test]
fn axons_and_weight_commits_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(&dir.path().join("chain"));
    let (wallets, url) = (dir.path().join("wallets"), format!("http://{}", node.addr));
    let pw = "correct horse";
    let run = |args: &[&str]| {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--json", "--yes", "--url", &url]);
        tao(&wallets, pw, &all)
    };
    let local = |args: &[&str]| json_out(&tao(&wallets, pw, &[args, &["--json"]].concat()));
    // A transaction that fails in its block exits 1 and prints its status.
    let failed = |out: std::process::Output| -> Value {
        assert!(!out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    local(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    let hot = local(&["wallet", "new-hotkey", "--name", "alice", "--hotkey", "default"]);
    let hot = hot["hotkeys"].as_array().unwrap().iter().find(|h| h["name"] == "default").unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    json_out(&run(&["transfer", "--wallet", "alice", "--to", &hot, "--amount", "10"]));
    json_out(&run(&["subnet", "register", "--wallet", "alice", "--hotkey", "default", "--netuid", "1"]));

    let listed = json_out(&run(&["subnet", "list"]));
    assert_eq!(
        (listed["subnets"][0]["netuid"].as_u64(), listed["subnets"][0]["name"].as_str()),
        (Some(1), Some("example"))
    );
    assert!(listed["subnets"][0]["price"].as_u64().unwrap() > 0);
    let overview = json_out(&run(&["wallet", "overview", "--name", "alice"]));
    assert_eq!(overview["registrations"][0]["netuid"], 1, "{overview}");
    assert_eq!(overview["registrations"][0]["hotkey"], "default");
    assert!(overview["balance_rao"].as_u64().unwrap() > 0 && overview["verified_at"].as_u64().unwrap() > 0);
    let served = json_out(&run(&[
        "axon",
        "serve",
        "--wallet",
        "alice",
        "--netuid",
        "1",
        "--ip",
        "203.0.113.7",
        "--port",
        "8091",
    ]));
    assert_eq!(served["receipt"]["outcome"], "Ok", "{served}");
    let loopback = failed(run(&[
        "axon",
        "serve",
        "--wallet",
        "alice",
        "--netuid",
        "1",
        "--ip",
        "127.0.0.1",
        "--port",
        "8091",
        "--force",
    ]));
    assert!(loopback["receipt"]["outcome"].to_string().contains("address"), "{loopback}");

    let commit = ["weights", "commit", "--wallet", "alice", "--netuid", "1", "--uids", "0", "--values", "1"];
    let off = failed(run(&[&commit[..], &["--force"]].concat()));
    assert!(off["receipt"]["outcome"].to_string().contains("commit-reveal is off"), "{off}");
    let kept = wallets.join("wallets/alice/commits/default-1");
    assert!(!kept.exists(), "a refused commit keeps nothing");
    let set =
        ["subnet", "set", "--wallet", "alice", "--netuid", "1", "--param", "commit_reveal", "--value", "1"];
    json_out(&run(&set));
    let committed = json_out(&run(&commit));
    assert_eq!(committed["receipt"]["outcome"], "Ok", "{committed}");
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1);
    let early = run(&["weights", "reveal", "--wallet", "alice", "--netuid", "1", "--force"]);
    assert!(
        String::from_utf8_lossy(&early.stdout).contains("reveal opens at epoch"),
        "{}",
        String::from_utf8_lossy(&early.stdout)
    );
    assert_eq!(std::fs::read_dir(&kept).unwrap().count(), 1, "kept until it reveals");
}

/// A compiled contract module, by its crate name after `tao_contract_`.
fn contract_wasm(name: &str) -> std::path::PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join(format!("wasm32-unknown-unknown/contract/tao_contract_{name}.wasm"))
}

/// A dev node, a wallets folder holding some dev accounts, and `tao` pointed at both.
struct Session {
    node: DevNode,
    wallets: std::path::PathBuf,
    url: String,
    dir: tempfile::TempDir,
}

impl Session {
    const PASSWORD: &str = "correct horse";

    /// A node making a block every `block_time`, and wallets for the dev accounts `names`.
    fn start(block_time: &str, names: &[&str]) -> Session {
        let dir = tempfile::tempdir().unwrap();
        let node = DevNode::start_with(&dir.path().join("chain"), block_time);
        let (wallets, url) = (dir.path().join("wallets"), format!("http://{}", node.addr));
        for name in names {
            let import = ["wallet", "import", "--name", name, "--dev", name, "--json"];
            json_out(&tao(&wallets, Self::PASSWORD, &import));
        }
        Session { node, wallets, url, dir }
    }

    /// `tao ARGS --json --yes --url …`: its JSON, whether the command succeeded or not (a
    /// transaction that fails in its block exits 1 and still prints its status).
    fn tao(&self, args: &[&str]) -> Value {
        let out =
            tao(&self.wallets, Self::PASSWORD, &[args, &["--json", "--yes", "--url", &self.url]].concat());
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
    }

    fn height(&self) -> u64 {
        self.node.result("chain_info", json!([]))["height"].as_u64().unwrap()
    }

    /// A scratch file of this session's.
    fn file(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

/// Untrusted code stays in its box, through the real binaries: the original attack (an uploaded
/// module writing alice's `token/bal/` entry to 5,000,000 τ) and a write of the chain's module
/// registry fail with a typed outcome and change no balance; the deposit-box example holds TAO
/// only through the token module (approve, deposit); an upgrade of `token` to code lacking its
/// interface is refused when proposed, and the chain goes on producing blocks and transfers.
#[test]
fn uploaded_code_stays_in_its_box_through_a_real_node() {
    let session = Session::start("200ms", &["alice"]);
    let alice = dev_key("alice").address();
    let deploy = |name: &str| {
        let path = contract_wasm(name);
        let deployed = session.tao(&["module", "deploy", "--wallet", "alice", path.to_str().unwrap()]);
        assert_eq!(deployed["receipt"]["outcome"], "Ok", "{deployed}");
        Hash(tao_types::keccak256(&std::fs::read(&path).unwrap()))
    };
    let (attacker, deposit_box) = (deploy("hostile_namespace_attacker"), deploy("example_deposit_box"));
    let balance = || session.node.result("account_get", json!([alice]))["balance"].as_u64().unwrap();
    let call = |contract: &str, entry: &str, args: Vec<u8>| {
        session.tao(&["module", "call", "--wallet", "alice", contract, entry, "--args", &hex::encode(args)])
    };

    let five_million = borsh::to_vec(&(5_000_000u64 * 1_000_000_000)).unwrap();
    let attacks = [
        borsh::to_vec(&(tao_contract_token::balance_key(&alice), five_million)).unwrap(),
        borsh::to_vec(&(tao_chain::keys::module("token"), attacker.0.to_vec())).unwrap(),
    ];
    for attack in attacks {
        let before = balance();
        let refused = call(&attacker.to_string(), "write", attack);
        let outcome = refused["receipt"]["outcome"].to_string();
        assert!(outcome.contains("access denied"), "{refused}");
        assert_eq!(balance(), before - refused["receipt"]["fee"].as_u64().unwrap());
    }

    let account = tao_abi::access::contract_address(&deposit_box);
    let approved = call("token", "entry_approve", borsh::to_vec(&(account, 10_000_000_000u64)).unwrap());
    assert_eq!(approved["receipt"]["outcome"], "Ok", "{approved}");
    let deposited =
        call(&deposit_box.to_string(), "entry_deposit", borsh::to_vec(&10_000_000_000u64).unwrap());
    assert_eq!(deposited["receipt"]["outcome"], "Ok", "{deposited}");
    let held = session.node.result("account_get", json!([account]))["balance"].as_u64().unwrap();
    assert_eq!(held, 10_000_000_000);

    let spec = format!("token={attacker}");
    let proposed = session.tao(&["gov", "propose", "--wallet", "alice", "--upgrade", &spec]);
    assert!(
        proposed["error"]["reason"].to_string().contains("interface"),
        "refused before sending: {proposed}"
    );
    let proposed = session.tao(&["gov", "propose", "--wallet", "alice", "--upgrade", &spec, "--force"]);
    assert!(
        proposed["receipt"]["outcome"].to_string().contains("interface"),
        "the chain refuses it too: {proposed}"
    );
    let sent = session.tao(&[
        "transfer",
        "--wallet",
        "alice",
        "--to",
        &dev_key("bob").address().to_string(),
        "--amount",
        "1",
    ]);
    assert_eq!(sent["receipt"]["outcome"], "Ok", "{sent}");
    session.node.kill();
}

/// No transaction or query stalls or stops the node: loops sent with a 1,000 τ fee limit run
/// with at most `MAX_TX_GAS` and pay for that; 16 threads of epoch-input queries never take
/// block production's VM instances (past the limit they are told the node is busy, and the node
/// lives); meanwhile blocks keep coming and an honest transfer at the default fee is finalized.
#[test]
fn loops_and_query_storms_neither_stall_nor_stop_the_node() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let session = Session::start("500ms", &["alice", "bob"]);
    let (node, cli) = (&session.node, |args: &[&str]| session.tao(args));
    let looping =
        cli(&["module", "deploy", "--wallet", "alice", "../../contracts/hostile/infinite_loop.wat"]);
    let hash = looping["receipt"]["events"][0][1].as_str().unwrap().to_string();
    let (stop, answered, busy) = (AtomicBool::new(false), AtomicU64::new(0), AtomicU64::new(0));
    let height = || session.height();
    std::thread::scope(|s| {
        let attacker = s.spawn(|| {
            let mut receipts = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                receipts.push(cli(&[
                    "module",
                    "call",
                    "--wallet",
                    "alice",
                    &hash,
                    "run",
                    "--fee-limit",
                    "1000 TAO",
                ]));
            }
            receipts
        });
        for _ in 0..16 {
            s.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    let input = hex::encode(borsh::to_vec(&1u16).unwrap());
                    let v = node.call("contract_query", json!(["incentive", "entry_epoch_input", input]));
                    let counter = if v.get("error").is_none() { &answered } else { &busy };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
        let start = height();
        let bob_to = dev_key("charlie").address().to_string();
        let sent = cli(&["transfer", "--wallet", "bob", "--to", &bob_to, "--amount", "1"]);
        assert_eq!(sent["receipt"]["outcome"], "Ok", "an honest transfer at the default fee: {sent}");
        std::thread::sleep(Duration::from_secs(10));
        let end = height();
        stop.store(true, Ordering::Relaxed);
        assert!(end >= start + 2, "blocks kept coming under attack: #{start} → #{end}");
        let receipts = attacker.join().unwrap();
        assert!(!receipts.is_empty());
        for receipt in receipts.iter().filter(|r| r["status"] == "finalized") {
            assert_eq!(receipt["receipt"]["gas_used"], tao_contract_token::MAX_TX_GAS, "{receipt}");
            assert!(
                receipt["receipt"]["fee"].as_u64().unwrap() < 10_000_000,
                "paid for the capped gas: {receipt}"
            );
        }
    });
    assert!(answered.load(Ordering::Relaxed) > 0, "queries were answered");
    assert!(height() > 0, "the node is alive");
    session.node.kill();
}

/// A TCP connection to `addr` from the loopback address `from` (127.0.0.x): to the node, another
/// client than the tests' own 127.0.0.1.
fn connect_from(from: &str, addr: &str) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&format!("{from}:0").parse::<std::net::SocketAddr>().unwrap().into())?;
    socket.connect_timeout(&addr.parse::<std::net::SocketAddr>().unwrap().into(), Duration::from_secs(5))?;
    let stream: TcpStream = socket.into();
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    Ok(stream)
}

/// POSTs `body` from `from`: the status line and the JSON answer (null if none).
fn post_from(from: &str, addr: &str, body: &str) -> (String, Value) {
    let mut stream = connect_from(from, addr).unwrap();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, json_body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or("").to_string(), serde_json::from_str(json_body).unwrap_or(Value::Null))
}

/// A batch of `n` calls of `method` with `params`.
fn batch(method: &str, params: &Value, n: usize) -> String {
    let calls: Vec<Value> =
        (0..n).map(|i| json!({"jsonrpc": "2.0", "id": i, "method": method, "params": params})).collect();
    Value::Array(calls).to_string()
}

/// Whether the peer closed `stream` (end of stream or reset) within its read timeout, reading
/// whatever it sent first.
fn closed_by_peer(stream: &mut TcpStream) -> bool {
    let mut sink = Vec::new();
    match stream.read_to_end(&mut sink) {
        Ok(_) => true,
        Err(e) => !matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut),
    }
}

/// Issue 16's RPC lockout, through the real node: one client opens 256 WebSockets and sends
/// nothing, another trickles request bodies, a third sends batches of 6,000 `subnet_get`; an
/// honest client keeps getting `chain_info` answered, its subscription keeps delivering heads,
/// blocks keep their cadence, and the idle and slow connections are closed by the timeouts.
#[test]
#[allow(clippy::disallowed_methods, reason = "the test times the node: latencies and block cadence")]
fn one_client_cannot_lock_the_others_out_of_rpc() {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(dir.path(), "250ms");
    let addr = node.addr.clone();
    let stop = Arc::new(AtomicBool::new(false));
    // The cadence is measured once the chain runs (its first block compiles the modules).
    wait_until("the first blocks", || node.result("chain_info", json!([]))["height"].as_u64() >= Some(3));

    // The honest subscriber reads continuously (so it answers the node's pings).
    let (mut subscriber, _) = tungstenite::connect(format!("ws://{addr}")).unwrap();
    let subscribe = json!({"jsonrpc": "2.0", "id": 1, "method": "chain_subscribeHeads", "params": []});
    subscriber.send(tungstenite::Message::Text(subscribe.to_string().into())).unwrap();
    let last_head = Arc::new(Mutex::new((Instant::now(), 0u64)));
    let follower = {
        let (last_head, stop) = (last_head.clone(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let message = subscriber.read().expect("the honest subscriber stays connected");
                let Ok(text) = message.to_text() else { continue };
                let Ok(note) = serde_json::from_str::<Value>(text) else { continue };
                if let Some(height) = note["params"]["result"]["height"].as_u64() {
                    *last_head.lock().unwrap() = (Instant::now(), height);
                }
            }
        })
    };

    // 256 WebSocket upgrades from one client, which then send nothing.
    let upgrade = format!(
        "GET / HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    let attack_start = Instant::now();
    let (mut idle, mut refused) = (Vec::new(), 0);
    for _ in 0..256 {
        let Ok(mut socket) = connect_from("127.0.0.2", &addr) else {
            refused += 1;
            continue;
        };
        let _ = socket.write_all(upgrade.as_bytes());
        let mut status = [0u8; 12];
        if socket.read_exact(&mut status).is_ok() && status.starts_with(b"HTTP/1.1 101") {
            idle.push(socket);
        } else {
            refused += 1;
        }
    }
    assert_eq!((idle.len(), refused), (32, 224), "one client holds at most 32 connections");

    // Request bodies trickled a byte at a time by a second client.
    let mut slow = Vec::new();
    for _ in 0..40 {
        let Ok(mut socket) = connect_from("127.0.0.3", &addr) else { continue };
        let head = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n["
        );
        if socket.write_all(head.as_bytes()).is_ok() {
            slow.push(socket);
        }
    }
    let trickle = {
        let (mut streams, stop) =
            (slow.iter().map(|s| s.try_clone().unwrap()).collect::<Vec<_>>(), stop.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                for s in &mut streams {
                    let _ = s.write_all(b" ");
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        })
    };

    // Batch amplification from a third client: every batch refused before it is computed.
    let amplification = batch("subnet_get", &json!([1]), 6_000);
    let refusals = Arc::new(AtomicU64::new(0));
    let slowest_refusal_ms = Arc::new(AtomicU64::new(0));
    let amplifiers: Vec<_> = (0..4)
        .map(|_| {
            let (addr, body, stop) = (addr.clone(), amplification.clone(), stop.clone());
            let (refusals, slowest) = (refusals.clone(), slowest_refusal_ms.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    let (status, answer) = post_from("127.0.0.4", &addr, &body);
                    assert_eq!(answer["error"]["code"], -32010, "{status} {answer}");
                    slowest.fetch_max(started.elapsed().as_millis() as u64, Ordering::Relaxed);
                    refusals.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();

    // The honest client, throughout.
    let mut seen: Vec<(Instant, u64)> = Vec::new();
    let mut slowest_answer = Duration::ZERO;
    while attack_start.elapsed() < Duration::from_secs(17) {
        let asked = Instant::now();
        let height = node.result("chain_info", json!([]))["height"].as_u64().unwrap();
        slowest_answer = slowest_answer.max(asked.elapsed());
        seen.push((Instant::now(), height));
        std::thread::sleep(Duration::from_millis(200));
    }
    let (first, last) = (seen[0], seen[seen.len() - 1]);
    // The longest time the honest client saw the same height.
    let stalled = seen
        .windows(2)
        .fold((Duration::ZERO, Duration::ZERO), |(longest, run), w| {
            let run = if w[1].1 == w[0].1 { run + (w[1].0 - w[0].0) } else { Duration::ZERO };
            (longest.max(run), run)
        })
        .0;
    eprintln!(
        "rpc lockout: {} blocks in {:?}, slowest chain_info {slowest_answer:?}, longest stall {stalled:?}, {} batches refused (slowest {} ms)",
        last.1 - first.1,
        last.0 - first.0,
        refusals.load(Ordering::Relaxed),
        slowest_refusal_ms.load(Ordering::Relaxed)
    );
    assert!(slowest_answer < Duration::from_secs(5), "chain_info took {slowest_answer:?}");
    // 250 ms blocks: ~64 in 16 s; a quarter of the cadence is plenty under load.
    assert!(last.1 - first.1 >= 16, "blocks lost their cadence: {seen:?}");
    assert!(stalled < Duration::from_secs(4), "no block for {stalled:?}: {seen:?}");
    assert!(refusals.load(Ordering::Relaxed) >= 4, "the amplifiers were answered");
    assert!(slowest_refusal_ms.load(Ordering::Relaxed) < 5_000, "a refused batch was computed first");
    let (head_seen, head) = *last_head.lock().unwrap();
    assert!(head_seen.elapsed() < Duration::from_secs(3) && head + 8 >= last.1, "the subscriber fell behind");

    // By now (17 s) the idle WebSockets (15 s without a byte) and the trickled bodies (10 s per
    // request) are closed, and their clients can connect again.
    stop.store(true, Ordering::Relaxed);
    for socket in idle.iter_mut().chain(slow.iter_mut()) {
        socket.set_read_timeout(Some(Duration::from_secs(4))).unwrap();
        assert!(closed_by_peer(socket), "a connection outlived the timeouts");
    }
    let (status, answer) = post_from(
        "127.0.0.3",
        &addr,
        &json!({"jsonrpc": "2.0", "id": 1, "method": "chain_info"}).to_string(),
    );
    assert!(answer["result"]["height"].is_u64(), "{status} {answer}");
    let mut again = connect_from("127.0.0.2", &addr).unwrap();
    again.write_all(upgrade.as_bytes()).unwrap();
    let mut status = [0u8; 12];
    again.read_exact(&mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 101");
    trickle.join().unwrap();
    for a in amplifiers {
        a.join().unwrap();
    }
    follower.join().unwrap();
    node.kill();
}

/// Batches are priced before they run (the wallet's largest still fit), and subscriptions are
/// bounded per connection and per client.
#[test]
#[allow(clippy::disallowed_methods, reason = "the test times the node: latencies and block cadence")]
fn rpc_batches_and_subscriptions_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(dir.path(), "250ms");
    let addr = node.addr.clone();

    // 33 subnet_get cost 33 × 31 = 1,023: answered; 34 are refused whole.
    let (_, fits) = post_from("127.0.0.1", &addr, &batch("subnet_get", &json!([1]), 33));
    let answers = fits.as_array().unwrap();
    assert_eq!(answers.len(), 33);
    assert!(answers.iter().all(|a| a["result"]["netuid"] == 1), "{fits}");
    let (_, over) = post_from("127.0.0.1", &addr, &batch("subnet_get", &json!([1]), 34));
    assert_eq!(over["error"]["code"], -32010, "{over}");
    // The wallet's proof batches: 512 state_get.
    let (_, proofs) = post_from("127.0.0.1", &addr, &batch("state_get", &json!(["0x00"]), 512));
    assert_eq!(proofs.as_array().map(Vec::len), Some(512));
    assert!(proofs.as_array().unwrap().iter().all(|a| a["result"]["proof"].is_string()));
    // The issue's 6,000 subnet_get: refused without being computed.
    let started = std::time::Instant::now();
    let (_, amplified) = post_from("127.0.0.1", &addr, &batch("subnet_get", &json!([1]), 6_000));
    assert_eq!(amplified["error"]["code"], -32010, "{amplified}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Subscriptions: 16 per connection, 32 per client.
    type Ws = tungstenite::WebSocket<TcpStream>;
    let open = || -> Ws {
        tungstenite::client(format!("ws://{addr}"), connect_from("127.0.0.5", &addr).unwrap()).unwrap().0
    };
    // Sends `n` subscriptions: how many were accepted, and the codes of the refusals.
    let subscribe = |ws: &mut Ws, n: u64| -> (usize, Vec<i64>) {
        for id in 0..n {
            let request = json!({"jsonrpc": "2.0", "id": id, "method": "chain_subscribeHeads", "params": []});
            ws.send(tungstenite::Message::Text(request.to_string().into())).unwrap();
        }
        let (mut accepted, mut refused) = (0, Vec::new());
        while accepted + refused.len() < n as usize {
            let message = ws.read().unwrap();
            let Ok(answer) = serde_json::from_str::<Value>(message.to_text().unwrap_or("")) else { continue };
            if answer.get("id").is_none() {
                continue; // a head
            }
            match answer["error"]["code"].as_i64() {
                Some(code) => refused.push(code),
                None => accepted += 1,
            }
        }
        (accepted, refused)
    };
    let mut a = open();
    assert_eq!(subscribe(&mut a, 17), (16, vec![-32006]), "16 per connection");
    let mut b = open();
    assert_eq!(subscribe(&mut b, 16).0, 16);
    let mut c = open();
    assert_eq!(subscribe(&mut c, 4), (0, vec![-32006; 4]), "32 per client");
    // Another client is not affected.
    let mut other =
        tungstenite::client(format!("ws://{addr}"), TcpStream::connect(&addr).unwrap()).unwrap().0;
    assert_eq!(subscribe(&mut other, 1).0, 1);
    // A client that leaves frees its subscriptions.
    drop(a);
    wait_until("the closed connection's subscriptions to be freed", || subscribe(&mut c, 1).0 == 1);
    node.kill();
}

/// `tx_submit` in batches through the real node: a batch's signatures are checked in parallel on
/// the node's worker pool, each call answered for itself in order: a hash, or (for the one badly
/// signed) its own error; every accepted transfer, from many accounts, is included.
#[test]
fn batches_of_submissions_from_many_accounts_are_checked_and_included() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start_with(dir.path(), "250ms");
    let (domain, token) = node.domain_and_token();
    let transfer = |from: &tao_crypto::SecretKey, nonce: u64, to, amount| {
        let args = borsh::to_vec(&TransferArgs { to, amount }).unwrap();
        let call = Call {
            contract: token,
            method: b"entry_transfer".to_vec().try_into().unwrap(),
            args: args.try_into().unwrap(),
        };
        Transaction {
            chain_id: domain.chain_id,
            sender: from.address(),
            nonce,
            fee_limit: Balance(10_000_000),
            call,
        }
        .sign(&domain, from)
    };
    // Submits `txs` as one batch: each call's answer, in order.
    let submit = |txs: &[tao_tx::SignedTransaction]| -> Vec<Value> {
        let calls: Vec<Value> = txs
            .iter()
            .enumerate()
            .map(|(id, tx)| {
                let hex_tx = format!("0x{}", hex::encode(tx.encode()));
                json!({"jsonrpc": "2.0", "id": id, "method": "tx_submit", "params": [hex_tx]})
            })
            .collect();
        let (status, answers) = post_from("127.0.0.1", &node.addr, &Value::Array(calls).to_string());
        assert!(status.contains("200"), "{status}");
        let answers = answers.as_array().unwrap().clone();
        assert_eq!(answers.len(), txs.len());
        for (id, answer) in answers.iter().enumerate() {
            assert_eq!(answer["id"], id, "answers keep the batch's order");
        }
        answers
    };
    let all_finalized = |txs: &[tao_tx::SignedTransaction]| {
        wait_until("every accepted transfer to be included", || {
            txs.iter().all(|tx| node.result("tx_status", json!([tx.hash()]))["status"] == "finalized")
        })
    };

    // 60 new accounts, funded in one batch by the six dev accounts (ten nonces each).
    let funders = ["alice", "bob", "charlie", "dave", "eve", "ferdie"].map(dev_key);
    let senders: Vec<_> = (0..60).map(|i| dev_key(&format!("batch-sender-{i}"))).collect();
    let funding: Vec<_> = senders
        .iter()
        .enumerate()
        .map(|(i, s)| transfer(&funders[i % 6], (i / 6) as u64, s.address(), 1_000_000_000))
        .collect();
    let answers = submit(&funding);
    for (tx, answer) in funding.iter().zip(&answers) {
        assert_eq!(answer["result"], json!(tx.hash()), "{answer}");
    }
    all_finalized(&funding);

    // Each new account pays bob; one of them is forged after signing.
    let bob = dev_key("bob").address();
    let mut payments: Vec<_> = senders.iter().map(|s| transfer(s, 0, bob, 1_000)).collect();
    payments[17].tx.call.args =
        borsh::to_vec(&TransferArgs { to: bob, amount: 999_000 }).unwrap().try_into().unwrap();
    let answers = submit(&payments);
    let forged = &answers[17]["error"];
    assert_eq!(forged["code"], 1, "{forged}");
    assert!(forged["message"].as_str().is_some_and(|m| m.contains("signature does not match")), "{forged}");
    for (i, (tx, answer)) in payments.iter().zip(&answers).enumerate().filter(|(i, _)| *i != 17) {
        assert_eq!(answer["result"], json!(tx.hash()), "call {i}: {answer}");
    }
    let forged = payments.remove(17);
    all_finalized(&payments);
    assert_eq!(node.result("tx_status", json!([forged.hash()]))["status"], "unknown");
    node.kill();
}

#[test]
#[allow(clippy::disallowed_methods, reason = "test code: block cadence is measured against the clock")]
fn a_nonce_gap_flood_neither_stalls_blocks_nor_crowds_out_an_honest_transfer() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::start(dir.path());
    let (domain, token) = node.domain_and_token();
    let sign = move |from: &tao_crypto::SecretKey, nonce: u64, args: Vec<u8>, fee_limit: u64| {
        let call = Call {
            contract: token,
            method: b"entry_transfer".to_vec().try_into().unwrap(),
            args: args.try_into().unwrap(),
        };
        let tx = Transaction {
            chain_id: domain.chain_id,
            sender: from.address(),
            nonce,
            fee_limit: Balance(fee_limit),
            call,
        }
        .sign(&domain, from);
        (tx.hash(), format!("0x{}", hex::encode(tx.encode())))
    };
    let height = || node.result("chain_info", json!([]))["height"].as_u64().unwrap();
    let finalized = |hash: Hash| {
        wait_until("finalization", || node.result("tx_status", json!([hash]))["status"] == "finalized")
    };

    // 40 attacker accounts, funded with 100 τ each by five dev accounts.
    let attackers: Vec<_> = (0..40).map(|i| dev_key(&format!("flooder-{i}"))).collect();
    let funders = ["alice", "bob", "charlie", "dave", "ferdie"].map(dev_key);
    let mut last = None;
    for (i, attacker) in attackers.iter().enumerate() {
        let args = borsh::to_vec(&TransferArgs { to: attacker.address(), amount: 100_000_000_000 }).unwrap();
        let (hash, tx) = sign(&funders[i % 5], (i / 5) as u64, args, 10_000_000);
        node.result("tx_submit", json!([tx]));
        last = Some(hash);
    }
    finalized(last.unwrap());

    // The flood: each attacker sends nonces 1..=8 (never 0) of 40 KB offering 5 τ, from four
    // threads, while an honest transfer at the normal fee goes in.
    let start = (height(), std::time::Instant::now());
    let flood: Vec<_> = (0..4)
        .map(|t| {
            let addr = node.addr.clone();
            std::thread::spawn(move || {
                let (mut accepted, mut refused) = (0, Vec::new());
                for i in (t..40).step_by(4) {
                    let attacker = dev_key(&format!("flooder-{i}"));
                    for n in 1..=8 {
                        let tx = sign(&attacker, n, vec![0xab; 40_000], 5_000_000_000).1;
                        let answer = rpc(&addr, "tx_submit", json!([tx]));
                        match answer["error"]["message"].as_str() {
                            None => accepted += 1,
                            Some(message) => refused.push(message.to_string()),
                        }
                    }
                }
                (accepted, refused)
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let eve = dev_key("eve");
    let args = borsh::to_vec(&TransferArgs { to: dev_key("bob").address(), amount: 1 }).unwrap();
    let (honest, tx) = sign(&eve, 0, args, 10_000_000);
    node.result("tx_submit", json!([tx]));
    finalized(honest);
    let (mut accepted, mut refused) = (0, Vec::new());
    for thread in flood {
        let (a, r) = thread.join().unwrap();
        accepted += a;
        refused.extend(r);
    }
    assert!(accepted <= tao_node::mempool::MAX_GAPPED, "{accepted}");
    assert!(
        refused.iter().all(|m| m.contains("submit nonce 0 first")),
        "{:?}",
        &refused[..3.min(refused.len())]
    );
    assert!(refused.len() >= 40 * 8 - tao_node::mempool::MAX_GAPPED);

    // A second honest transfer right after the flood is accepted at the normal fee too.
    let args = borsh::to_vec(&TransferArgs { to: dev_key("bob").address(), amount: 2 }).unwrap();
    let (again, tx) = sign(&eve, 1, args, 10_000_000);
    node.result("tx_submit", json!([tx]));
    finalized(again);

    // Blocks kept their cadence (200 ms; generous: at least one per 800 ms on average).
    let (h0, t0) = start;
    let elapsed = t0.elapsed().as_millis() as u64;
    let made = height() - h0;
    assert!(made * 800 >= elapsed, "{made} blocks in {elapsed} ms");
    // The attackers paid nothing.
    for a in &attackers {
        let balance = node.result("account_get", json!([a.address()]))["balance"].as_u64().unwrap();
        assert_eq!(balance, 100_000_000_000);
    }
    node.kill();
}

/// A module of `functions` tiny functions (`seed` makes its hash its own), as WebAssembly text.
fn many_functions(functions: u32, seed: u32) -> String {
    let bodies: String =
        (0..functions).map(|i| format!("(func (result i32) (i32.const {}))", i ^ seed)).collect();
    format!(
        "(module (memory (export \"memory\") 1) (func (export \"tao_abi_v1\")) (func (export \"run\")) {bodies})"
    )
}

/// Compiling is not free: modules of hundreds of functions pay their compile gas when deployed
/// and at their first call in a block, several of them in a row leave the chain producing
/// blocks, and an honest transfer at the default fee goes through.
#[test]
fn compile_heavy_modules_pay_for_compiling() {
    let session = Session::start("500ms", &["alice", "bob"]);
    let cli = |args: &[&str]| session.tao(args);
    let functions = 400u64;
    let floor = functions * tao_chain::COMPILE_GAS_PER_FUNCTION;
    let start = session.height();
    for seed in 0..3 {
        let path = session.file(&format!("many-{seed}.wat"));
        std::fs::write(&path, many_functions(functions as u32, seed)).unwrap();
        let deployed = cli(&["module", "deploy", "--wallet", "alice", path.to_str().unwrap()]);
        assert_eq!(deployed["receipt"]["outcome"], "Ok", "{deployed}");
        assert!(
            deployed["receipt"]["gas_used"].as_u64().unwrap() >= floor,
            "deploying paid compile gas: {deployed}"
        );
        let hash = deployed["receipt"]["events"][0][1].as_str().unwrap().to_string();
        let called = cli(&["module", "call", "--wallet", "alice", &hash, "run"]);
        assert_eq!(called["receipt"]["outcome"], "Ok", "{called}");
        assert!(
            called["receipt"]["gas_used"].as_u64().unwrap() >= floor,
            "its first call in a block paid too: {called}"
        );
    }
    let to = dev_key("charlie").address().to_string();
    let sent = cli(&["transfer", "--wallet", "bob", "--to", &to, "--amount", "1"]);
    assert_eq!(sent["receipt"]["outcome"], "Ok", "{sent}");
    let end = session.height();
    assert!(end >= start + 7, "a block for each of the seven transactions at least: #{start} → #{end}");
    session.node.kill();
}

/// The CLI pins the chain it meets at a URL: another dev chain (another genesis, the same public
/// dev validator key) served later at that address is refused with both genesis hashes named,
/// shows no balance, and is trusted only after `tao network forget`.
#[test]
fn the_cli_refuses_another_chain_at_a_pinned_url() {
    let mut session = Session::start("200ms", &["alice"]);
    let first = session.tao(&["wallet", "balance", "--name", "alice"]);
    assert!(first["balance_rao"].as_u64().is_some(), "{first}");
    let pinned = session.node.result("chain_info", json!([]))["genesis_hash"].clone();
    let pins: Value =
        serde_json::from_str(&std::fs::read_to_string(session.wallets.join("networks.json")).unwrap())
            .unwrap();
    assert_eq!(pins["networks"][&session.url]["genesis_hash"], pinned, "{pins}");

    let addr = session.node.addr.clone();
    let other_dir = session.file("other-chain");
    session.node.child.kill().unwrap();
    session.node.child.wait().unwrap();
    session.node =
        DevNode::spawn_at(&other_dir, &addr, "200ms", &["--dev", "--genesis-time", "1767225600001"]);
    let other_genesis = session.node.result("chain_info", json!([]))["genesis_hash"].clone();
    assert_ne!(other_genesis, pinned, "a different genesis under the same dev key");

    let out = tao(
        &session.wallets,
        Session::PASSWORD,
        &["wallet", "balance", "--name", "alice", "--json", "--url", &session.url],
    );
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!out.status.success() && !stdout.contains("balance"), "{stdout}");
    for needed in [pinned.as_str().unwrap(), other_genesis.as_str().unwrap(), "tao network forget"] {
        assert!(stderr.contains(needed), "{needed} missing from: {stderr}");
    }
    // --genesis names the chain to trust: the pinned one is still refused here.
    let given = tao(
        &session.wallets,
        Session::PASSWORD,
        &[
            "wallet",
            "balance",
            "--name",
            "alice",
            "--url",
            &session.url,
            "--genesis",
            pinned.as_str().unwrap(),
        ],
    );
    assert!(!given.status.success());

    // Re-pinning is deliberate: without a terminal, forgetting needs --yes.
    let asked = tao(&session.wallets, Session::PASSWORD, &["network", "forget", &session.url]);
    assert!(String::from_utf8_lossy(&asked.stderr).contains("--yes"));
    let run = |args: &[&str]| json_out(&tao(&session.wallets, Session::PASSWORD, args));
    let forgot = run(&["network", "forget", &session.url, "--yes", "--json"]);
    assert_eq!(forgot["genesis_hash"], pinned, "{forgot}");
    let repinned = session.tao(&["wallet", "balance", "--name", "alice"]);
    assert!(repinned["balance_rao"].as_u64().is_some(), "{repinned}");
    let listed = run(&["network", "list", "--json"]);
    assert_eq!(listed[&session.url]["genesis_hash"], other_genesis, "{listed}");
}

/// One HTTP request to `addr` with extra `headers`: the response's head (status line and
/// headers, lower-cased) and body.
fn http_request(addr: &str, method: &str, headers: &[&str], body: &str) -> (String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    write!(
        stream,
        "{method} / HTTP/1.1\r\nHost: {addr}\r\n{extra}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.to_ascii_lowercase(), body.to_string())
}

/// The node answers pages from its allow-listed origins with CORS headers (preflight and
/// call), its own origin and origin-less clients as before, and refuses every other origin.
#[test]
fn cors_allows_listed_origins_only() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevNode::spawn(dir.path(), "200ms", &["--dev", "--cors-origin", "https://wallet.example"]);
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"chain_info","params":[]}"#;
    let preflight = ["Origin: https://wallet.example", "Access-Control-Request-Method: POST"];
    let (head, _) = http_request(&node.addr, "OPTIONS", &preflight, "");
    assert!(head.starts_with("http/1.1 204"), "{head}");
    assert!(head.contains("access-control-allow-origin: https://wallet.example"), "{head}");
    assert!(head.contains("access-control-allow-methods: post"), "{head}");
    let (head, body) = http_request(&node.addr, "POST", &["Origin: https://wallet.example"], call);
    assert!(head.contains("access-control-allow-origin: https://wallet.example"), "{head}");
    assert!(body.contains("genesis_hash"), "{body}");

    let (head, _) = http_request(&node.addr, "OPTIONS", &["Origin: https://evil.example"], "");
    assert!(head.starts_with("http/1.1 403") && !head.contains("access-control"), "{head}");
    let (head, body) = http_request(&node.addr, "POST", &["Origin: https://evil.example"], call);
    assert!(head.starts_with("http/1.1 403") && !body.contains("genesis_hash"), "{head}{body}");

    let own = format!("Origin: http://{}", node.addr);
    let (head, body) = http_request(&node.addr, "POST", &[&own], call);
    assert!(head.starts_with("http/1.1 200") && body.contains("genesis_hash"), "{head}{body}");
    let (head, body) = http_request(&node.addr, "POST", &[], call);
    assert!(head.starts_with("http/1.1 200") && body.contains("genesis_hash"), "{head}{body}");
}

/// An https front for `backend` with a certificate for `localhost` from a fresh test CA: its
/// port, and the CA's PEM (what `SSL_CERT_FILE` adds to the CLI's trusted roots).
fn https_front(backend: String) -> (u16, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert =
        CertificateParams::new(vec!["localhost".into()]).unwrap().signed_by(&key, &ca, &ca_key).unwrap();
    let tls = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(tls));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            while let Ok((client, _)) = listener.accept().await {
                let (acceptor, backend) = (acceptor.clone(), backend.clone());
                tokio::spawn(async move {
                    let (Ok(mut client), Ok(mut node)) =
                        (acceptor.accept(client).await, tokio::net::TcpStream::connect(backend).await)
                    else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut node).await;
                });
            }
        });
    });
    (port, ca.pem())
}

/// Named networks in `config.toml` and https: `tao network add` names an https node as the
/// default; commands without `--url` reach it, certificate checked against the CA the system
/// trusts (here `SSL_CERT_FILE`) and refused without it; the pin is the network's name;
/// `TAO_URL` and `--url` win over the default; an unknown `--network` is refused by name.
#[test]
fn https_and_named_networks() {
    let session = Session::start("200ms", &["alice"]);
    let (port, ca) = https_front(session.node.addr.clone());
    let ca_file = session.file("ca.pem");
    std::fs::write(&ca_file, ca).unwrap();
    let tao_with = |env: &[(&str, &std::ffi::OsStr)], args: &[&str]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tao"));
        command.args(args).env("TAO_WALLET_PATH", &session.wallets).env("TAO_PASSWORD", Session::PASSWORD);
        command.env_remove("TAO_URL").env_remove("SSL_CERT_FILE").stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        command.output().unwrap()
    };
    let trusted = [("SSL_CERT_FILE", ca_file.as_os_str())];
    let https = format!("https://localhost:{port}");
    let added = json_out(&tao_with(&[], &["network", "add", "devnet", &https, "--default", "--json"]));
    assert_eq!((added["url"].as_str(), added["default"].as_bool()), (Some(https.as_str()), Some(true)));

    let balance = |env: &[(&str, &std::ffi::OsStr)], extra: &[&str]| {
        tao_with(env, &[&["wallet", "balance", "--name", "alice", "--json"], extra].concat())
    };
    let through_https = json_out(&balance(&trusted, &[]));
    let direct = session.tao(&["wallet", "balance", "--name", "alice"]);
    assert_eq!(through_https["balance_rao"], direct["balance_rao"], "{through_https}");

    // Without the CA the certificate is refused: nothing is shown.
    let untrusted = balance(&[], &[]);
    let stderr = String::from_utf8_lossy(&untrusted.stderr);
    let stdout = String::from_utf8_lossy(&untrusted.stdout);
    assert!(!untrusted.status.success() && !stdout.contains("balance_rao"), "{stdout}");
    assert!(stderr.to_lowercase().contains("certificate"), "{stderr}");

    // The default network's pin is under its name; TAO_URL overrides it (pinned by URL).
    let listed = json_out(&tao_with(&[], &["network", "list", "--json"]));
    assert_eq!(listed["devnet"]["url"], https.as_str(), "{listed}");
    assert!(listed["devnet"]["genesis_hash"].is_string(), "{listed}");
    let tao_url = [("TAO_URL", std::ffi::OsStr::new(&session.url))];
    assert_eq!(json_out(&balance(&tao_url, &[]))["balance_rao"], direct["balance_rao"]);

    // A typo in --network is refused by name instead of reaching some other node.
    let typo = balance(&trusted, &["--network", "devent"]);
    let stderr = String::from_utf8_lossy(&typo.stderr);
    assert!(!typo.status.success() && stderr.contains("tao network add devent"), "{stderr}");
    // A plain URL that is not HTTP(S) is refused before anything is sent.
    let ftp = balance(&[], &["--url", "ftp://localhost:1"]);
    assert!(String::from_utf8_lossy(&ftp.stderr).contains("http:// or https://"));
}

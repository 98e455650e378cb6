//! Issue 19 through real nodes: the example subnet's rewards follow its miners' quality (the
//! `tao subnet demo` binary end to end), and an axon refuses every request it must refuse.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};

mod common;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use serde_json::Value;
use tao_crypto::SecretKey;
use tao_neuron::auth::{self, Envelope, header};
use tao_neuron::dendrite::{Dendrite, DendriteError, Target};
use tao_neuron::ml::{self, Diabetes, MinerConfig, Query};
use tao_neuron::{AxonLimits, Chain};
use tao_node::spec::dev_key;
use tao_types::{Address, Hash, RAO_PER_TAO};

/// Four miners of increasing quality: after two epochs their incentive is in the same order,
/// the validator earns dividends, and the best miner, once offline, loses its incentive.
#[test]
fn rewards_follow_quality_and_an_offline_miner_loses_them() {
    let report = demo(&["--offline", "--epochs", "2"]);
    assert_eq!(report["epochs"], 2);
    let miners = report["miners"].as_array().unwrap();
    assert_eq!(miners.len(), 4, "{report}");
    for pair in miners.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(a["quality"].as_f64().unwrap() < b["quality"].as_f64().unwrap(), "{report}");
        assert!(a["incentive"].as_u64().unwrap() < b["incentive"].as_u64().unwrap(), "{report}");
        assert!(a["emission"].as_u64().unwrap() < b["emission"].as_u64().unwrap(), "{report}");
    }
    assert!(report["validators"][0]["dividends"].as_u64().unwrap() > 0, "{report}");
    assert_eq!(report["validators"][0]["uid"], 0, "the validator is the owner's hotkey, seated at UID 0");
    let offline = &report["offline"];
    assert_eq!(offline["uid"], miners[3]["uid"]);
    assert!(
        offline["incentive_after"].as_u64().unwrap() * 4 < offline["incentive_before"].as_u64().unwrap(),
        "{report}"
    );
}

/// `tao subnet demo --json` with `args`: its report.
fn demo(args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["subnet", "demo", "--json"])
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success());
    serde_json::from_slice(&out.stdout).unwrap()
}

/// With commit–reveal on, the validator commits its weights and reveals them once the reveal
/// period opens; the revealed weights pay the best miner more than the worst, and the
/// validator its dividends.
#[test]
fn with_commit_reveal_the_revealed_weights_pay_by_quality() {
    let report = demo(&["--commit-reveal", "--epochs", "3"]);
    let miners = report["miners"].as_array().unwrap();
    let incentive = |m: &Value| m["incentive"].as_u64().unwrap();
    assert!(incentive(&miners[0]) < incentive(&miners[3]), "{report}");
    assert!(incentive(&miners[3]) > 0, "{report}");
    assert!(report["validators"][0]["dividends"].as_u64().unwrap() > 0, "{report}");
}

struct DevNode(Child, String);

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn dev_node(dir: &std::path::Path) -> DevNode {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["node", "--dev", "--rpc-addr", "127.0.0.1:0", "--block-time", "50ms", "--base-path"])
        .arg(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let url = loop {
        let line = lines.next().expect("node exited before serving RPC").unwrap();
        if let Some(a) = line.strip_prefix("rpc listening on ") {
            break a.to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    DevNode(child, url)
}

/// A raw request to `addr`'s diabetes endpoint: `(status, error code or body)`.
fn raw(addr: SocketAddr, headers: &[(&str, String)], body: &[u8]) -> (u16, Value) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = format!(
        "POST /diabetes HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    let _ = stream.write_all(body); // an axon may close early on an oversized body
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    let status = text.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A refusal to check: what, headers, body, the status and error code expected.
type Case = (&'static str, Vec<(&'static str, String)>, Vec<u8>, u16, &'static str);

/// Signed headers from `key` to `target` for `body`.
fn signed(
    key: &SecretKey,
    target: Address,
    genesis: &Hash,
    nonce: u64,
    ts: u64,
    body: &[u8],
) -> Vec<(&'static str, String)> {
    let env = Envelope { caller: key.address(), target, nonce, timestamp_ms: ts };
    vec![
        (header::CALLER, key.address().to_string()),
        (header::TARGET, target.to_string()),
        (header::NONCE, nonce.to_string()),
        (header::TIMESTAMP, ts.to_string()),
        (header::SIGNATURE, auth::sign(key, &env.request_hash(genesis, body))),
    ]
}

/// Every refusal of the axon, each with its own typed error, through a real node's registry;
/// a slow miner times out without holding up the answer of a fast one.
#[test]
fn an_axon_refuses_what_it_must_and_a_slow_miner_does_not_stall_the_validator() {
    let dir = tempfile::tempdir().unwrap();
    let node = dev_node(dir.path());
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let info: Value = {
            let chain_info = common::rpc(&node.1, "chain_info", serde_json::json!([]))["result"].clone();
            serde_json::from_value(chain_info).unwrap()
        };
        let genesis: Hash = serde_json::from_value(info["genesis_hash"].clone()).unwrap();
        let chain = Arc::new(Chain::connect(&node.1, genesis).await.unwrap());
        let (owner, validator) = (dev_key("alice"), dev_key("sec-validator"));
        // The dev chain's network rate limit counts from genesis.
        while chain.view().await.unwrap().height() <= tao_node::spec::DEV_NETWORK_RATE_LIMIT {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let (netuid, owner_uid) = chain.register_network(&owner, validator.address(), "sec").await.unwrap();
        assert_eq!(owner_uid, 0, "the owner's hotkey is seated at creation");
        let ip = tao_neuron::ops::local_ip().unwrap();
        let mut miners = Vec::new();
        for (i, (cold, delay)) in [("bob", 0), ("charlie", 3000)].into_iter().enumerate() {
            let (cold, hot) = (dev_key(cold), dev_key(&format!("sec-miner-{i}")));
            chain.transfer(&cold, hot.address(), RAO_PER_TAO).await.unwrap();
            let uid = chain.burned_register(&cold, netuid, hot.address()).await.unwrap();
            let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
            let addr = listener.local_addr().unwrap();
            let config = MinerConfig {
                netuid,
                spec: "ols".parse().unwrap(),
                publish: addr,
                delay: Duration::from_millis(delay),
                limits: AxonLimits { max_body: 4096, ..AxonLimits::default() },
            };
            let task = ml::start_miner(chain.clone(), hot.clone(), listener, config).await.unwrap();
            miners.push((Target { uid, hotkey: hot.address(), addr }, task));
        }
        let (fast, slow) = (miners[0].0, miners[1].0);
        let query = Query { rows: vec![vec![0.0; ml::FEATURES]] };
        let body = serde_json::to_vec(&query).unwrap();
        let now = auth::now_ms();

        // A registered caller is answered, and the answer is signed by the miner.
        let good = signed(&validator, fast.hotkey, &genesis, 1, now, &body);
        let (status, answer) = raw(fast.addr, &good, &body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["values"].as_array().unwrap().len(), 1);
        let cases: Vec<Case> = vec![
            ("replayed", good.clone(), body.clone(), 409, "replayed"),
            ("unsigned", vec![], body.clone(), 401, "unsigned"),
            (
                "stale",
                signed(&validator, fast.hotkey, &genesis, 2, now - 60_000, &body),
                body.clone(),
                401,
                "stale",
            ),
            (
                "wrong target",
                signed(&validator, slow.hotkey, &genesis, 3, now, &body),
                body.clone(),
                421,
                "wrong_target",
            ),
            (
                "unregistered",
                signed(&dev_key("stranger"), fast.hotkey, &genesis, 4, now, &body),
                body.clone(),
                403,
                "unregistered",
            ),
            (
                "another chain",
                signed(&validator, fast.hotkey, &Hash([7; 32]), 5, now, &body),
                body.clone(),
                401,
                "bad_signature",
            ),
            (
                "oversized",
                signed(&validator, fast.hotkey, &genesis, 6, now, &[b' '; 8192]),
                vec![b' '; 8192],
                413,
                "too_large",
            ),
        ];
        for (what, headers, body, want_status, want_code) in cases {
            let (status, error) = raw(fast.addr, &headers, &body);
            assert_eq!((status, error["code"].as_str()), (want_status, Some(want_code)), "{what}: {error}");
        }

        // An axon asking more stake than the caller has refuses it.
        let strict = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let strict_addr = strict.local_addr().unwrap();
        let metagraph = tao_neuron::follow(chain.clone(), netuid, Duration::from_secs(2)).await.unwrap();
        let limits = AxonLimits { min_stake: u64::MAX, ..AxonLimits::default() };
        let model = Arc::new(ml::Model::train("ols".parse().unwrap()).unwrap());
        let handler: tao_neuron::axon::Handler<Diabetes> = Arc::new(move |q: Query| model.predict(&q));
        let axon =
            tao_neuron::Axon::<Diabetes>::new(dev_key("sec-miner-0"), genesis, limits, metagraph, handler);
        tokio::spawn(axon.serve(strict));
        let headers = signed(&validator, fast.hotkey, &genesis, 7, now, &body);
        let (status, error) = raw(strict_addr, &headers, &body);
        assert_eq!((status, error["code"].as_str()), (403, Some("stake_too_low")), "{error}");

        // The validator's dendrite: the fast answer verified, the slow one timed out, in time.
        let dendrite = Dendrite::new(validator.clone(), genesis);
        let started = Instant::now();
        let answers = dendrite.query::<Diabetes>(&[fast, slow], &query, Duration::from_millis(800)).await;
        assert!(started.elapsed() < Duration::from_millis(2000), "{:?}", started.elapsed());
        assert!(answers[0].result.is_ok(), "{:?}", answers[0].result);
        assert_eq!(answers[1].result.as_ref().err(), Some(&DendriteError::Timeout));
        // An answer from a miner that is not the hotkey asked is refused.
        let impostor = Target { hotkey: slow.hotkey, ..fast };
        let answers = dendrite.query::<Diabetes>(&[impostor], &query, Duration::from_millis(800)).await;
        assert!(
            matches!(answers[0].result, Err(DendriteError::Refused { status: 421, .. })),
            "{:?}",
            answers[0].result
        );

        pay_for_intelligence(&chain, &validator, netuid, genesis, &query, &node.1).await;
    });
}

/// A client pays the validator's gateway for an answer; unpaid, underpaid and reused payments
/// are refused; the payment is on chain, proven.
async fn pay_for_intelligence(
    chain: &Arc<Chain>,
    validator: &SecretKey,
    netuid: u16,
    genesis: Hash,
    query: &Query,
    url: &str,
) {
    use tao_neuron::gateway::{self, GatewayConfig};
    let price = RAO_PER_TAO / 2;
    let config = GatewayConfig {
        netuid,
        price,
        payee: validator.address(),
        top: 2,
        timeout: Duration::from_millis(800),
        max_body: 64 << 10,
        freshness: Duration::from_secs(30),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(gateway::serve::<Diabetes>(chain.clone(), validator.clone(), config, listener));
    let client = dev_key("dave");
    let token = chain.module("token").await.unwrap();
    let transfer = |amount: u64| {
        let args =
            borsh::to_vec(&tao_contract_token::TransferArgs { to: validator.address(), amount }).unwrap();
        chain.sign(&client, token, "entry_transfer", args, tao_neuron::chain::FEE_LIMIT)
    };
    let balance = || async {
        let key = tao_contract_token::balance_key(&validator.address());
        chain.view().await.unwrap().read::<u64>(&key).await.unwrap().unwrap_or(0)
    };
    let ask = |payment: &tao_tx::SignedTransaction| {
        let (body, headers) =
            gateway::paid_request(&client, validator.address(), &genesis, query.clone(), payment);
        (headers, body)
    };
    let before = balance().await;

    let underpaid = transfer(price - 1).await.unwrap();
    let (headers, body) = ask(&underpaid);
    let (status, error) = tokio::task::spawn_blocking(move || raw(addr, &headers, &body)).await.unwrap();
    assert_eq!((status, error["code"].as_str()), (402, Some("underpaid")), "{error}");
    let mut unpaid: Value = serde_json::from_slice(&ask(&underpaid).1).unwrap();
    unpaid["payment"] = "".into();
    let body = serde_json::to_vec(&unpaid).unwrap();
    let headers = signed(&client, validator.address(), &genesis, 99, auth::now_ms(), &body);
    let (status, error) = tokio::task::spawn_blocking(move || raw(addr, &headers, &body)).await.unwrap();
    assert_eq!((status, error["code"].as_str()), (402, Some("unpaid")), "{error}");
    assert_eq!(balance().await, before);

    let paid = transfer(price).await.unwrap();
    let (headers, body) = ask(&paid);
    let (status, answer) = tokio::task::spawn_blocking(move || raw(addr, &headers, &body)).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["answer"]["values"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(answer["payment"], serde_json::to_value(paid.hash()).unwrap());
    assert_eq!(balance().await, before + price, "the payment is on chain");

    let (headers, body) = ask(&paid);
    let (status, error) = tokio::task::spawn_blocking(move || raw(addr, &headers, &body)).await.unwrap();
    assert_eq!((status, error["code"].as_str()), (409, Some("spent")), "{error}");

    // The same through the command line: `tao gateway ask` pays from a wallet and prints the
    // answer the gateway signed.
    let (url, hotkey, gateway) = (url.to_string(), validator.address().to_string(), addr.to_string());
    let rows = serde_json::to_string(&query.rows).unwrap();
    let out = tokio::task::spawn_blocking(move || {
        let wallets = tempfile::tempdir().unwrap();
        let tao = |args: &[&str]| {
            Command::new(env!("CARGO_BIN_EXE_tao"))
                .args(args)
                .env("TAO_WALLET_PATH", wallets.path())
                .env("TAO_PASSWORD", "gateway test")
                .env("TAO_URL", &url)
                .stdin(Stdio::null())
                .output()
                .unwrap()
        };
        assert!(tao(&["wallet", "import", "--name", "dave", "--dev", "dave", "--json"]).status.success());
        let ask = ["gateway", "ask", "--wallet", "dave", "--gateway", &gateway, "--hotkey", &hotkey];
        tao(&[&ask[..], &["--amount", "0.5", "--rows", &rows, "--json", "--yes"]].concat())
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(answer["answer"]["values"].as_array().unwrap().len(), 1, "{answer}");
    assert_eq!(balance().await, before + 2 * price, "the command's payment is on chain too");
}

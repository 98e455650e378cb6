//! `tao light` through the real binaries: in front of a dev node it serves the CLI's reads (each
//! the same as straight from the node) and the proven RPC reads verified (with or without
//! proofs) and a transfer's proven receipt; in front of a tampering proxy (altered value, foreign
//! proof, forged certificate, replayed head) or another chain it refuses them, naming the key or
//! header and the reason, and so does the CLI asking the proxy straight.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
mod common;
use common::{post, rpc, wait_until};

use serde_json::{Value, json};
use tao_node::spec::dev_key;

/// A child process killed when the test ends, passed or not.
#[derive(Debug)]
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `tao args…` and returns it with the first stdout line `prefix` starts (the rest of
/// that line), draining the rest.
fn start(args: &[&str], wallets: &Path, prefix: &str) -> Result<(Running, String), String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(args)
        .env("TAO_WALLET_PATH", wallets)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let found = lines.by_ref().map_while(Result::ok).find_map(|l| l.strip_prefix(prefix).map(str::to_string));
    let Some(found) = found else {
        let mut stderr = String::new();
        child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
        let _ = child.wait();
        return Err(stderr);
    };
    std::thread::spawn(move || lines.for_each(drop));
    Ok((Running(child), found))
}

/// A dev node (another chain for another `genesis_time`) making a block every 200 ms.
fn node(dir: &Path, genesis_time: &str) -> (Running, String) {
    let args = ["node", "--dev", "--rpc-addr", "127.0.0.1:0", "--block-time", "200ms", "--genesis-time"];
    let base = dir.join(genesis_time);
    let mut all: Vec<&str> = args.to_vec();
    all.extend([genesis_time, "--base-path", base.to_str().unwrap()]);
    start(&all, dir, "rpc listening on http://").unwrap()
}

/// `tao light` in front of `upstream` trusting genesis `checkpoint`: its address, or why it
/// refused to start.
fn light(upstream: &str, checkpoint: &str, dir: &Path, extra: &[&str]) -> Result<(Running, String), String> {
    let url = format!("http://{upstream}");
    let mut args = vec!["light", "--rpc", &url, "--checkpoint", checkpoint, "--listen", "127.0.0.1:0"];
    args.extend(extra);
    start(&args, dir, "verified rpc listening on http://")
}

fn result(addr: &str, method: &str, params: Value) -> Value {
    let reply = rpc(addr, method, params);
    assert!(reply.get("error").is_none(), "{method}: {reply}");
    reply["result"].clone()
}

/// The error message of a call that must be refused.
fn refused(addr: &str, method: &str, params: Value) -> String {
    let reply = rpc(addr, method, params);
    assert!(reply.get("result").is_none(), "{method} answered through a lying node: {reply}");
    reply["error"]["message"].as_str().unwrap().to_string()
}

fn tao(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(args)
        .env("TAO_WALLET_PATH", dir)
        .env("TAO_PASSWORD", "pw")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn json_out(out: &std::process::Output) -> Value {
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// What the proxy does to the node's answers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tamper {
    Honest,
    /// A proven value changed.
    AlterValue,
    /// Another key's value and proof, under the asked key.
    ForeignProof,
    /// A byte of every head's certificate signatures flipped.
    ForgeCertificate,
    /// The head replayed: always header #1.
    ReplayHead,
}

/// A lying node: forwards JSON-RPC to `upstream`, changing the answers as `mode` says.
fn proxy(upstream: String, mode: Arc<Mutex<Tamper>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let (upstream, mode) = (upstream.clone(), *mode.lock().unwrap());
            std::thread::spawn(move || serve(stream, &upstream, mode));
        }
    });
    addr
}

fn serve(mut stream: TcpStream, upstream: &str, mode: Tamper) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        if let Some(n) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            length = n.trim().parse().unwrap();
        }
        if line == "\r\n" {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).unwrap();
    let mut request: Value = serde_json::from_slice(&body).unwrap();
    let asked = tamper_request(&mut request, mode);
    let mut reply = post(upstream, &request.to_string());
    tamper_reply(&mut reply, &asked, mode);
    let text = reply.to_string();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
}

/// Rewrites what is asked of the node; returns each call's method and original params.
fn tamper_request(request: &mut Value, mode: Tamper) -> Vec<(String, Value)> {
    let calls: Vec<&mut Value> = match request {
        Value::Array(batch) => batch.iter_mut().collect(),
        single => vec![single],
    };
    let mut asked = Vec::new();
    for call in calls {
        let method = call["method"].as_str().unwrap_or("").to_string();
        asked.push((method.clone(), call["params"].clone()));
        match (mode, method.as_str()) {
            (Tamper::ForeignProof, "state_get") => {
                call["params"][0] = json!(format!("0x{}", hex::encode(b"sys/module/token")));
            }
            (Tamper::ReplayHead, "chain_header") if call["params"].as_array().is_none_or(Vec::is_empty) => {
                call["params"] = json!([1]);
            }
            _ => {}
        }
    }
    asked
}

fn tamper_reply(reply: &mut Value, asked: &[(String, Value)], mode: Tamper) {
    let answers: Vec<&mut Value> = match reply {
        Value::Array(batch) => batch.iter_mut().collect(),
        single => vec![single],
    };
    for (answer, (method, params)) in answers.into_iter().zip(asked) {
        let result = &mut answer["result"];
        match (mode, method.as_str()) {
            (Tamper::AlterValue, "state_get") if result["value"].is_string() => {
                let value = result["value"].as_str().unwrap();
                let flipped = if value.ends_with('0') { "1" } else { "0" };
                result["value"] = json!(format!("{}{flipped}", &value[..value.len() - 1]));
            }
            (Tamper::ForeignProof, "state_get") => result["key"] = params[0].clone(),
            (Tamper::ForgeCertificate, "chain_header") if result["header"]["height"] != 0 => {
                let encoded = result["certificate"]["encoded"].as_str().unwrap().to_string();
                let at = encoded.len() - 20;
                let flipped = if &encoded[at..at + 1] == "0" { "1" } else { "0" };
                result["certificate"]["encoded"] =
                    json!(format!("{}{flipped}{}", &encoded[..at], &encoded[at + 1..]));
            }
            _ => {}
        }
    }
}

/// The CLI's reads (`--url` and `--json` added), each computed on proven state.
const CLI_READS: &[&[&str]] = &[
    &["stake", "list", "--wallet", "alice"],
    &["subnet", "list"],
    &["subnet", "show", "--netuid", "1"],
    &["subnet", "metagraph", "--netuid", "1"],
    &["wallet", "overview", "--name", "alice"],
    &["gov", "list"],
];

/// The CLI's read `args` through `via` and straight from `node`, retried until both were
/// verified at one height (the chain moves on between two runs).
fn at_one_height(dir: &Path, args: &[&str], via: &str, node: &str) -> (Value, Value) {
    let read = |url: &str| json_out(&tao(dir, &[args, &["--url", url, "--json"]].concat()));
    let height = |v: &Value| v.get("height").or(v.get("verified_at")).and_then(Value::as_u64);
    let mut pair = (Value::Null, Value::Null);
    wait_until("both reads at one height", || {
        pair = (read(via), read(node));
        height(&pair.0).is_some() && height(&pair.0) == height(&pair.1)
    });
    pair
}

#[test]
fn tao_light_serves_only_verified_reads() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, upstream) = node(dir.path(), "1767225600000");
    let genesis = result(&upstream, "chain_info", json!([]))["genesis_hash"].as_str().unwrap().to_string();
    wait_until("a few blocks", || result(&upstream, "chain_info", json!([]))["height"].as_u64() > Some(2));
    let (_light, addr) = light(&upstream, &genesis, dir.path(), &[]).unwrap();
    let url = format!("http://{addr}");
    let (alice, hot) = (dev_key("alice").address().to_string(), dev_key("alice-hot").address().to_string());

    // The CLI's proven reads through it: balance and pool, checked again by the CLI.
    let balance =
        json_out(&tao(dir.path(), &["wallet", "balance", "--address", &alice, "--url", &url, "--json"]));
    let at = balance["verified_at"].as_u64().unwrap();
    let direct = result(&upstream, "account_get", json!([alice, at]));
    assert_eq!(balance["balance_rao"], direct["balance"]);
    let pool = json_out(&tao(dir.path(), &["subnet", "pool", "--netuid", "1", "--url", &url, "--json"]));
    assert!(pool["tao"].as_u64() > Some(0), "{pool}");

    // Stake, subnet and metagraph: the node's answer at the same height, rebuilt from checked proofs.
    for (method, params) in [
        ("stake_get", json!([alice, hot, 1])),
        ("subnet_get", json!([1])),
        ("subnet_metagraph", json!([1])),
        ("neuron_get", json!([1, 0])),
        ("pool_get", json!([1])),
    ] {
        let verified = result(&addr, method, params.clone());
        let height = verified["height"].as_u64().unwrap();
        let mut at_height = params.as_array().unwrap().clone();
        at_height.push(json!(height));
        assert_eq!(verified, result(&upstream, method, Value::Array(at_height)), "{method}");
    }
    let metagraph = result(&addr, "subnet_metagraph", json!([1]));
    assert!(metagraph["neurons"][0]["neuron"]["value"].is_string(), "{metagraph}");

    // A transfer: submitted through it, its receipt proven against the certified header.
    json_out(&tao(dir.path(), &["wallet", "import", "--name", "alice", "--dev", "alice", "--json"]));
    let bob = dev_key("bob").address().to_string();
    let sent = json_out(&tao(
        dir.path(),
        &["transfer", "--wallet", "alice", "--to", &bob, "--amount", "1", "--url", &url, "--yes", "--json"],
    ));
    assert_eq!(sent["status"], "finalized", "{sent}");

    // Every CLI read through it gives what it gives straight from the node, at one height: the
    // CLI runs the wallet's views on proven state, so both are verified and neither needs
    // `contract_query`.
    let direct = format!("http://{upstream}");
    for read in CLI_READS {
        let (verified, straight) = at_one_height(dir.path(), read, &url, &direct);
        assert_eq!(verified, straight, "{read:?}");
    }
    let listed = at_one_height(dir.path(), CLI_READS[1], &url, &direct).0;
    let subnets = listed["subnets"].as_array().unwrap();
    assert!(subnets.iter().any(|s| s["netuid"] == 1 && s["name"] == "example"), "{listed}");
    let staked = at_one_height(dir.path(), CLI_READS[0], &url, &direct).0;
    assert!(staked["positions"][0]["stake"].as_u64() > Some(0), "{staked}");

    // What cannot be proven is refused by name.
    assert!(
        refused(&addr, "contract_query", json!(["staking", "entry_positions", "0x"])).contains("unproven")
    );

    // Proofs stripped on request, values still verified.
    let (_stripped, bare) = light(&upstream, &genesis, dir.path(), &["--proofs", "strip"]).unwrap();
    let account = result(&bare, "account_get", json!([alice]));
    assert!(account["proofs"]["balance"].get("proof").is_none() && account["balance"].as_u64() > Some(0));

    // Another chain under the same keys: refused at the start.
    let (_other, elsewhere) = node(&dir.path().join("other"), "1767225600001");
    let why = light(&elsewhere, &genesis, dir.path(), &[]).unwrap_err();
    assert!(why.contains("not the pinned genesis"), "{why}");

    // A lying node, each lie in turn.
    let mode = Arc::new(Mutex::new(Tamper::ForgeCertificate));
    let liar = proxy(upstream.clone(), mode.clone());
    let why = light(&liar, &genesis, dir.path(), &[]).unwrap_err();
    assert!(why.contains("certificate"), "a forged certificate: {why}");
    *mode.lock().unwrap() = Tamper::Honest;
    let (_fooled, addr) = light(&liar, &genesis, dir.path(), &[]).unwrap();
    assert!(result(&addr, "account_get", json!([alice]))["balance"].as_u64() > Some(0));
    *mode.lock().unwrap() = Tamper::AlterValue;
    let why = refused(&addr, "account_get", json!([alice]));
    assert!(why.contains("token/") && why.contains("proof does not match"), "an altered value: {why}");
    *mode.lock().unwrap() = Tamper::ForeignProof;
    let why = refused(&addr, "subnet_get", json!([1]));
    assert!(why.contains("subnet/info/") && why.contains("proof does not match"), "a foreign proof: {why}");
    let cli =
        tao(dir.path(), &["wallet", "balance", "--address", &alice, "--url", &format!("http://{addr}")]);
    assert!(!cli.status.success() && String::from_utf8_lossy(&cli.stderr).contains("not verified"));
    // The CLI's reads refuse a lying node, through `tao light` or asking it straight.
    *mode.lock().unwrap() = Tamper::AlterValue;
    for url in [format!("http://{addr}"), format!("http://{liar}")] {
        for read in CLI_READS {
            let out = tao(dir.path(), &[*read, &["--url", &url, "--json"]].concat());
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success() && stderr.contains("not verified"), "{read:?} via {url}: {stderr}");
        }
    }
    *mode.lock().unwrap() = Tamper::ReplayHead;
    let mut why = String::new();
    wait_until("the replayed head to go stale", || {
        let reply = rpc(&addr, "account_get", json!([alice]));
        why = reply["error"]["message"].as_str().unwrap_or("").to_string();
        !why.is_empty()
    });
    assert!(why.contains("stale") && why.contains("older"), "a replayed head: {why}");
}

#[test]
fn a_recent_certified_header_is_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let (_node, upstream) = node(dir.path(), "1767225600000");
    wait_until("a few blocks", || result(&upstream, "chain_info", json!([]))["height"].as_u64() > Some(4));
    let hash_at = |h: u64| {
        result(&upstream, "chain_header", json!([h]))["header"]["hash"].as_str().unwrap().to_string()
    };
    let checkpoint = format!("3:{}", hash_at(3));
    let (_light, addr) = light(&upstream, &checkpoint, dir.path(), &[]).unwrap();

    // It serves verified reads from there, and the checkpoint of its own head for the next client.
    let alice = dev_key("alice").address().to_string();
    let url = format!("http://{addr}");
    let balance =
        json_out(&tao(dir.path(), &["wallet", "balance", "--address", &alice, "--url", &url, "--json"]));
    assert!(balance["balance_rao"].as_u64() > Some(0), "{balance}");
    let info = result(&addr, "chain_info", json!([]));
    let head = info["height"].as_u64().unwrap();
    assert!(head >= 3, "{info}");
    assert_eq!(info["checkpoint"], format!("{head}:{}", info["head"].as_str().unwrap()));
    assert_eq!(info["genesis_hash"], result(&upstream, "chain_info", json!([]))["genesis_hash"]);
    // The set that signs a header, checked against the header below it; and headers below the
    // checkpoint, believed by their parent hashes.
    assert_eq!(
        result(&addr, "chain_validators", json!([4])),
        result(&upstream, "chain_validators", json!([4]))
    );
    assert_eq!(result(&addr, "chain_header", json!([1]))["header"]["hash"].as_str().unwrap(), hash_at(1));
    let (_next, _) = light(&upstream, info["checkpoint"].as_str().unwrap(), dir.path(), &[]).unwrap();

    // Another header at that height, or a lying node's certificates: refused at the start.
    let why = light(&upstream, &format!("3:{}", hash_at(4)), dir.path(), &[]).unwrap_err();
    assert!(why.contains("not the checkpoint"), "{why}");
    let liar = proxy(upstream.clone(), Arc::new(Mutex::new(Tamper::ForgeCertificate)));
    let why = light(&liar, &checkpoint, dir.path(), &[]).unwrap_err();
    assert!(why.contains("certificate"), "a forged certificate: {why}");
    // A replayed head older than the checkpoint is not followed.
    let replay = proxy(upstream.clone(), Arc::new(Mutex::new(Tamper::ReplayHead)));
    let why = light(&replay, &checkpoint, dir.path(), &[]).unwrap_err();
    assert!(why.contains("older"), "a replayed head: {why}");
}

//! A validator network of real `tao` processes, exactly as `tao testnet init` writes it: the
//! four `commands.txt` lines finalize the same blocks; one is killed with SIGKILL and the other
//! three finalize 10 more; its database is then wiped and, restarted from the same line (same
//! key and spec), it syncs from genesis (every certificate it stored passes a light client),
//! agrees on the newest blocks and signs again. A validator whose peer port is taken refuses
//! to start rather than run cut off.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;
use common::rpc;

/// The password of the operator wallets `tao testnet init` writes, and of the CLI's wallets.
const PASSWORD: &str = "a test password";

/// Heights and hashes a node logged.
type Blocks = Arc<Mutex<BTreeMap<u64, String>>>;

/// One validator process; killed when dropped.
struct Validator {
    child: Child,
    blocks: Blocks,
    /// Its JSON-RPC address.
    rpc: String,
}

impl Drop for Validator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Validator {
    /// Runs one line of `commands.txt` (with `--json`), once it has started serving.
    fn start(line: &str) -> Validator {
        let words: Vec<&str> = line.split_whitespace().collect();
        let mut child = Command::new(words[0])
            .args(&words[1..])
            .arg("--json")
            .env_remove("CARGO_TARGET_DIR")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let rpc = loop {
            let line = lines.next().expect("the node exited before starting").unwrap();
            if line.contains(r#""event":"started""#) {
                let event: serde_json::Value = serde_json::from_str(&line).unwrap();
                break event["rpc"].as_str().unwrap().trim_start_matches("http://").to_string();
            }
        };
        let blocks = Blocks::default();
        let seen = blocks.clone();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                if let (Some("block"), Some(height), Some(hash)) =
                    (event["event"].as_str(), event["height"].as_u64(), event["hash"].as_str())
                {
                    seen.lock().unwrap().insert(height, hash.to_string());
                }
            }
        });
        Validator { child, blocks, rpc }
    }

    /// The header and certificate it stores at `height`, as it serves them.
    fn header(&self, height: u64) -> (tao_chain::Header, tao_chain::Certificate) {
        let reply = rpc(&self.rpc, "chain_header", serde_json::json!([height]));
        tao_light::rpc::header(&reply["result"]).unwrap()
    }

    fn height(&self) -> u64 {
        self.blocks.lock().unwrap().keys().next_back().copied().unwrap_or(0)
    }

    fn hash(&self, height: u64) -> Option<String> {
        self.blocks.lock().unwrap().get(&height).cloned()
    }
}

/// Polls until every validator has logged `height`, within `limit`.
#[allow(clippy::disallowed_methods, reason = "test code: a deadline bounds the wait")]
fn wait_for(validators: &[&Validator], height: u64, limit: Duration) {
    let until = Instant::now() + limit;
    while validators.iter().any(|v| v.hash(height).is_none()) {
        let heights: Vec<u64> = validators.iter().map(|v| v.height()).collect();
        assert!(Instant::now() < until, "heights {heights:?} did not reach {height} in {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The first validator and the three others.
fn all<'a>(first: &'a Validator, others: &'a [Validator]) -> [&'a Validator; 4] {
    [first, &others[0], &others[1], &others[2]]
}

/// A first port with `n` free ports after it on 127.0.0.1.
fn free_ports(n: u16) -> u16 {
    (0..200)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port())
        .find(|base| {
            *base < 60_000 && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok())
        })
        .unwrap()
}

/// `tao testnet init --validators 4 --json --out OUT ARGS` (the operator wallets under the
/// test password); must succeed: its JSON report.
fn testnet_init(out: &Path, args: &[&str]) -> serde_json::Value {
    let init = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["testnet", "init", "--validators", "4", "--json", "--out"])
        .arg(out)
        .args(args)
        .env("TAO_PASSWORD", PASSWORD)
        .output()
        .unwrap();
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    serde_json::from_slice(&init.stdout).unwrap()
}

/// Copies the compiled-module cache of the first node to another's base path: the same modules
/// compile to the same artifacts, and compiling them four times would be most of the test.
fn share_compiled_modules(from: &Path, to: &Path) {
    let (from, to) = (from.join("artifacts"), to.join("artifacts"));
    std::fs::create_dir_all(&to).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

#[test]
fn a_testnet_of_four_processes_survives_a_crash_and_a_wiped_validator_syncs_from_genesis() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let (rpc_port, p2p_port) = (free_ports(4).to_string(), free_ports(4).to_string());
    let report =
        testnet_init(&out, &["--block-time", "300ms", "--rpc-port", &rpc_port, "--p2p-port", &p2p_port]);
    assert_eq!(report["validators"].as_array().unwrap().len(), 4);
    let commands = std::fs::read_to_string(out.join("commands.txt")).unwrap();
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines.len(), 4);
    for (i, line) in lines.iter().enumerate() {
        assert!(line.contains(&format!("validator-{i}.key")) && line.contains("--bootnodes"));
    }
    let first = Validator::start(lines[0]);
    for i in 1..4 {
        share_compiled_modules(&out.join("node-0"), &out.join(format!("node-{i}")));
    }
    let mut others: Vec<Validator> = lines[1..].iter().map(|l| Validator::start(l)).collect();
    wait_for(&all(&first, &others), 5, Duration::from_secs(60));
    for height in 1..=5 {
        let hashes: Vec<Option<String>> = all(&first, &others).iter().map(|v| v.hash(height)).collect();
        assert!(hashes.windows(2).all(|w| w[0] == w[1]), "fork at {height}: {hashes:?}");
    }
    // SIGKILL one: the other three hold more than two thirds and go on.
    drop(others.pop());
    let at = first.height();
    wait_for(&[&first, &others[0], &others[1]], at + 10, Duration::from_secs(30));
    // Its database is wiped (the chain's store and the engine's log; the compiled-module
    // cache is no database and stays), and it restarts from the same line.
    let base = out.join("node-3");
    std::fs::remove_file(base.join("state.redb")).unwrap();
    std::fs::remove_dir_all(base.join("consensus")).unwrap();
    others.push(Validator::start(lines[3]));
    let back = first.height();
    let target = back + 3;
    wait_for(&all(&first, &others), target, Duration::from_secs(60));
    let hashes: Vec<Option<String>> = all(&first, &others).iter().map(|v| v.hash(target)).collect();
    assert!(
        hashes.windows(2).all(|w| w[0] == w[1]),
        "the restarted validator forked at {target}: {hashes:?}"
    );
    // It synced from genesis: every block it stores is the first validator's, with a
    // certificate a light client pinned to genesis accepts in order.
    let wiped = &others[2];
    let (genesis, _) = wiped.header(0);
    let info = rpc(&wiped.rpc, "chain_info", serde_json::json!([]));
    let (_, validators) = tao_light::rpc::chain_info(&info["result"]).unwrap();
    let own = validators[3].key.address();
    let mut light = tao_light::LightClient::new(first.header(0).0.hash(), genesis, validators).unwrap();
    for height in 1..=target {
        let (header, certificate) = wiped.header(height);
        assert_eq!(header.hash(), first.header(height).0.hash(), "the wiped validator forked at {height}");
        light.accept(header, &certificate).unwrap();
    }
    // And it signs again: a later block has its precommit (index 3 in the set) in the
    // certificate, or is its own signed proposal.
    common::wait_until("a block the wiped validator signed", || {
        (target + 1..=first.height()).any(|h| {
            let (header, certificate) = first.header(h);
            header.proposer == own || certificate.signatures.iter().any(|(index, _)| *index == 3)
        })
    });
}

#[test]
fn a_validator_whose_p2p_port_is_taken_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let (rpc_port, p2p_port) = (free_ports(4).to_string(), free_ports(4));
    testnet_init(&out, &["--rpc-port", &rpc_port, "--p2p-port", &p2p_port.to_string()]);
    let commands = std::fs::read_to_string(out.join("commands.txt")).unwrap();
    let words: Vec<&str> = commands.lines().next().unwrap().split_whitespace().collect();
    let _taken = std::net::TcpListener::bind(("127.0.0.1", p2p_port)).unwrap();
    let log = dir.path().join("stderr.log");
    let mut child = Command::new(words[0])
        .args(&words[1..])
        .env_remove("CARGO_TARGET_DIR")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // It opens the chain (compiling its modules) before it starts the engine: up to 2 minutes.
    let status = (0..1_200).find_map(|_| {
        std::thread::sleep(Duration::from_millis(100));
        child.try_wait().unwrap()
    });
    let Some(status) = status else {
        let _ = child.kill();
        panic!("the validator kept running with its peer port taken");
    };
    let stderr = std::fs::read_to_string(&log).unwrap();
    assert!(!status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen for peers on /ip4/127.0.0.1/tcp/{p2p_port}")),
        "{stderr}"
    );
}

/// `tao testnet check --dir` of a fresh `tao testnet init` whose `commands.txt` names `rpc` for
/// every node (none of the network's own started), with `timeout`: its output and status.
fn check_against(rpc: &str, timeout: &str) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    testnet_init(&out, &[]);
    let line = format!("tao node --rpc-addr {rpc}\n");
    std::fs::write(out.join("commands.txt"), line.repeat(4)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["testnet", "check", "--height", "2", "--timeout", timeout, "--json", "--dir"])
        .arg(&out)
        .env("TAO_WALLET_PATH", dir.path().join("wallets"))
        .output()
        .unwrap()
}

#[test]
fn testnet_check_refuses_a_chain_not_certified_by_the_specs_validators() {
    // A dev chain serves blocks, but its validator is not the spec's: nothing it says counts.
    let dev = common::DevChain::start("50ms");
    let checked = check_against(dev.url.trim_start_matches("http://"), "20s");
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(!checked.status.success(), "{stderr}");
    assert!(stderr.contains("not the spec's"), "{stderr}");
    assert!(!String::from_utf8_lossy(&checked.stdout).contains("certificates_verified"));
}

#[test]
#[allow(clippy::disallowed_methods, reason = "test code: the check's own deadline is measured")]
fn testnet_check_of_nodes_that_never_answer_fails_at_its_deadline() {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    drop(silent);
    let started = Instant::now();
    let checked = check_against(&addr, "1s");
    let stderr = String::from_utf8_lossy(&checked.stderr);
    assert!(!checked.status.success(), "{stderr}");
    assert!(stderr.contains("timed out waiting for") && stderr.contains("to serve its genesis"), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "the deadline was not kept: {:?}",
        started.elapsed()
    );
}

/// `tao ARGS --json --yes` against `url` with the wallets in `wallets`; must succeed: its JSON.
fn tao(url: &str, wallets: &Path, args: &[&str]) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(args)
        .args(["--json", "--yes"])
        .env("TAO_URL", url)
        .env("TAO_WALLET_PATH", wallets)
        .env("TAO_PASSWORD", PASSWORD)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{args:?}: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The validator set from stake, through real processes: a testnet of 4 validators and one
/// candidate node (a fresh key outside the genesis set, following without voting). The genesis
/// validators are bound to root hotkeys with stake, so the first epoch recomputes exactly their
/// set and they go on certifying blocks. Alice's hotkey, holding 1,000 τ of root stake from
/// genesis, then registers on root and takes the candidate's key as its consensus key (`tao root`
/// commands): at the next epoch the header names the new set (the 4 and the candidate), a light
/// client following from genesis adopts it by the header's hash and then refuses a header the old
/// set signs, and `tao light` and `tao root validators` (verified reads) follow the change.
#[test]
fn a_stake_change_brings_a_validator_into_the_set_at_an_epoch_and_clients_follow() {
    const EPOCH: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("net");
    let (rpc_port, p2p_port, epoch) =
        (free_ports(5).to_string(), free_ports(5).to_string(), EPOCH.to_string());
    let report = testnet_init(
        &out,
        &[
            "--candidates",
            "1",
            "--block-time",
            "300ms",
            "--set-epoch",
            &epoch,
            "--rpc-port",
            &rpc_port,
            "--p2p-port",
            &p2p_port,
        ],
    );
    assert_eq!(report["candidates"].as_array().unwrap().len(), 1);
    let commands = std::fs::read_to_string(out.join("commands.txt")).unwrap();
    let lines: Vec<&str> = commands.lines().collect();
    assert_eq!(lines.len(), 5);
    let first = Validator::start(lines[0]);
    for i in 1..5 {
        share_compiled_modules(&out.join("node-0"), &out.join(format!("node-{i}")));
    }
    let others: Vec<Validator> = lines[1..4].iter().map(|l| Validator::start(l)).collect();
    let candidate = Validator::start(lines[4]);

    // The genesis validators are the first epoch's candidates: it names their very set, and
    // the blocks after it are certified by them as before.
    let (genesis, _) = first.header(0);
    let info = rpc(&first.rpc, "chain_info", serde_json::json!([]));
    let (_, old_set) = tao_light::rpc::chain_info(&info["result"]).unwrap();
    assert_eq!(old_set.len(), 4);
    wait_for(&[&first, &others[0], &candidate], EPOCH + 2, Duration::from_secs(90));
    let (first_epoch, _) = first.header(EPOCH);
    assert_eq!(first_epoch.next_validators_hash, genesis.validators_hash, "the genesis set recomputed");
    let reply = rpc(&first.rpc, "chain_validators", serde_json::json!([EPOCH + 1]));
    assert_eq!(tao_light::rpc::validator_set(&reply["result"]).unwrap(), old_set);
    let mut light = tao_light::LightClient::new(genesis.hash(), genesis.clone(), old_set.clone()).unwrap();
    for height in 1..=EPOCH + 2 {
        let (header, certificate) = first.header(height);
        assert_eq!(first.hash(height), candidate.hash(height), "fork at {height}");
        light.accept(header, &certificate).unwrap();
    }
    let wallets = tempfile::tempdir().unwrap();
    let cli = |args: &[&str]| tao(&format!("http://{}", first.rpc), wallets.path(), args);
    let shown = cli(&["root", "validators"]);
    assert_eq!(shown["next_epoch_set"], rows(&old_set), "the genesis validators are candidates");
    assert_eq!(shown["min_validators"], 3, "more than two thirds of 4");
    // Each operator is a wallet of the testnet's directory as `tao wallet` reads it.
    let operators = tao(&format!("http://{}", first.rpc), &out, &["wallet", "list"]);
    for (i, operator) in report["operators"].as_array().unwrap().iter().enumerate() {
        assert_eq!(operators[i]["name"], format!("validator-{i}"));
        assert_eq!(operators[i]["coldkey"], operator["coldkey"]);
        assert_eq!(operators[i]["hotkeys"][0]["address"], operator["hotkey"]);
    }

    cli(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    let alice_hot =
        cli(&["subnet", "identity", "--netuid", "1"])["owner_hotkey"].as_str().unwrap().to_string();
    cli(&["root", "register", "--wallet", "alice", "--hotkey", &alice_hot]);
    let key_file = out.join("validator-4.key");
    let set = cli(&[
        "root",
        "set-consensus-key",
        "--wallet",
        "alice",
        "--hotkey",
        &alice_hot,
        "--key-file",
        key_file.to_str().unwrap(),
    ]);
    assert_eq!(set["receipt"]["outcome"], serde_json::json!("Ok"), "{set}");
    let new_key = read_key(&key_file);

    // The next epoch's header names the new set: the 4 (10,000 τ each) first, then the
    // candidate's key, its power the root stake.
    let registered = first.height();
    let epoch = (registered / EPOCH + 1) * EPOCH;
    wait_for(&[&first, &candidate], epoch + 3, Duration::from_secs(60));
    let (named_at, _) = first.header(epoch);
    let (before, _) = first.header(epoch - 1);
    assert_eq!(before.next_validators_hash, before.validators_hash, "no change before the epoch");
    let reply = rpc(&first.rpc, "chain_validators", serde_json::json!([epoch + 1]));
    let new_set = tao_light::rpc::validator_set(&reply["result"]).unwrap();
    assert_eq!(new_set.len(), 5);
    assert_eq!(new_set[..4], old_set[..], "the genesis validators stay, their stake first");
    assert_eq!(new_set[4].key, new_key.public_key());
    assert!(new_set[4].power >= tao_node::spec::DEV_ROOT_STAKE, "power is root stake: {}", new_set[4].power);
    assert_eq!(named_at.next_validators_hash, tao_light::validators_hash(&new_set));
    assert_ne!(named_at.next_validators_hash, named_at.validators_hash);

    // The light client follows: the old set certifies up to the epoch, the set the header names
    // (taken by its hash) after it; every node stores the same blocks.
    for height in EPOCH + 3..=epoch + 3 {
        let (header, certificate) = first.header(height);
        assert_eq!(first.hash(height), candidate.hash(height), "fork at {height}");
        if light.needs_next_set() {
            light.adopt_next_set(new_set.clone()).unwrap();
        }
        light.accept(header, &certificate).unwrap();
    }
    // A header after the change signed by the whole old set is refused, whatever its votes.
    let old_keys: Vec<tao_crypto::SecretKey> =
        (0..4).map(|i| read_key(&out.join(format!("validator-{i}.key")))).collect();
    let (head, _) = first.header(epoch + 3);
    let forged = tao_chain::Header {
        height: epoch + 4,
        parent: head.hash(),
        time_ms: head.time_ms + 1,
        validators_hash: tao_light::validators_hash(&old_set),
        ..head
    };
    let signers: Vec<(u32, &tao_crypto::SecretKey)> = (0..4).zip(&old_keys).collect();
    let forged_certificate = tao_chain::Certificate::sign(light.domain(), &forged, 0, &signers);
    assert!(
        light.accept(forged, &forged_certificate).is_err(),
        "a header the old set signed after the change"
    );

    // `tao light`, pinned to genesis, follows the change and serves the new set it checked.
    let pinned = format!("0x{}", hex::encode(first.header(0).0.hash().0));
    let mut light = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["light", "--rpc", &format!("http://{}", first.rpc), "--checkpoint", &pinned])
        .args(["--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let served = BufReader::new(light.stdout.take().unwrap())
        .lines()
        .map_while(Result::ok)
        .find_map(|l| l.strip_prefix("verified rpc listening on http://").map(str::to_string));
    let followed = served.map(|addr| rpc(&addr, "chain_validators", serde_json::json!([epoch + 1])));
    let _ = light.kill();
    let _ = light.wait();
    let followed = followed.expect("tao light did not start");
    assert_eq!(tao_light::rpc::validator_set(&followed["result"]).unwrap(), new_set, "{followed}");

    // The CLI's verified read follows the change too.
    let shown = cli(&["root", "validators"]);
    assert_eq!(shown["validators"], rows(&new_set));
    assert!(shown["verified_at"].as_u64().unwrap() > epoch);
    assert_eq!(shown["epoch"], EPOCH);
}

/// A set as `tao root validators --json` shows it.
fn rows(set: &[tao_light::Validator]) -> serde_json::Value {
    set.iter()
        .map(|v| serde_json::json!({"key": format!("0x{}", hex::encode(v.key.to_compressed())), "power": v.power}))
        .collect()
}

/// A validator key file's secret.
fn read_key(path: &Path) -> tao_crypto::SecretKey {
    let text = std::fs::read_to_string(path).unwrap();
    tao_crypto::SecretKey::from_bytes(&hex::decode(text.trim()).unwrap().try_into().unwrap()).unwrap()
}

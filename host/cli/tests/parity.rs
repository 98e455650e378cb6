//! btcli's commands beyond the basics, through the real binary against a real dev node, each
//! with `--json` and its effect read back: lock and burn costs, subnet identity, the
//! hyperparameters with the active incentive module, the delegate take, stake transfer,
//! unstake-all and hotkey regeneration.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{DevChain, rpc};
use serde_json::Value;

const PASSWORD: &str = "pw";

/// A dev node and a wallets folder, with `tao` pointed at both.
struct Session {
    node: DevChain,
    wallets: tempfile::TempDir,
}

impl Session {
    fn raw(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(args)
            .args(["--json", "--yes"])
            .env("TAO_URL", &self.node.url)
            .env("TAO_WALLET_PATH", self.wallets.path())
            .env("TAO_PASSWORD", PASSWORD)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// `tao ARGS --json --yes --url …`, which must succeed: its JSON.
    fn ok(&self, args: &[&str]) -> Value {
        let out = self.raw(args);
        assert!(out.status.success(), "{args:?}: {}{}", stdout(&out), String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// `tao ARGS …`, which must fail with exit `code`: its JSON (an error object, or a failed
    /// receipt).
    fn fails(&self, code: i32, args: &[&str]) -> Value {
        let out = self.raw(args);
        assert_eq!(out.status.code(), Some(code), "{args:?}: {}", stdout(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }

    fn nonce(&self, wallet: &str) -> u64 {
        let address = coldkey(self.wallets.path(), wallet);
        let account = rpc(&self.node.url, "account_get", serde_json::json!([address]))["result"].clone();
        account["pending_nonce"].as_u64().unwrap()
    }
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn coldkey(wallets: &Path, name: &str) -> String {
    std::fs::read_to_string(wallets.join("wallets").join(name).join("coldkeypub.txt")).unwrap()
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Stake of `list` (a `stake list --json`) on `netuid`.
fn staked(list: &Value, netuid: u64) -> u64 {
    list["positions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["netuid"] == netuid)
        .map(|p| u(&p["stake"]))
        .sum()
}

#[test]
fn btcli_parity_commands_through_the_binary() {
    let s = Session { node: DevChain::start("50ms"), wallets: tempfile::tempdir().unwrap() };
    for dev in ["alice", "bob"] {
        s.ok(&["wallet", "import", "--name", dev, "--dev", dev]);
    }
    let hot = s.ok(&["wallet", "new-hotkey", "--name", "bob", "--hotkey", "default"]);
    let bob_hot = hot["hotkeys"][0]["address"].as_str().unwrap().to_string();
    let phrase = hot["mnemonic"].as_str().unwrap().to_string();
    let nominator = s.ok(&["wallet", "create", "--name", "nominator"]);
    let nominator_cold = nominator["coldkey"].as_str().unwrap().to_string();
    s.ok(&["transfer", "--wallet", "alice", "--to", &nominator_cold, "--amount", "100"]);

    // Hotkey regen: the phrase `new-hotkey` showed restores the same hotkey, in another wallet.
    s.ok(&["wallet", "create", "--name", "restored"]);
    let regen = ["wallet", "regen-hotkey", "--name", "restored", "--hotkey", "again", "--mnemonic"];
    let restored = s.ok(&[&regen[..], &[phrase.as_str()]].concat());
    let again = restored["hotkeys"].as_array().unwrap().iter().find(|h| h["name"] == "again").unwrap();
    assert_eq!(again["address"], bob_hot.as_str());
    assert!(s.raw(&[&regen[..], &["not a mnemonic"]].concat()).status.code() == Some(2));

    // Lock cost: what `subnet create` locks, less the decay of the blocks in between.
    let quoted = u(&s.ok(&["subnet", "lock-cost"])["lock_cost"]);
    assert!(quoted >= 1_000_000_000_000, "at least the minimum lock: {quoted}");
    let created = s.ok(&["subnet", "create", "--wallet", "bob", "--name", "parity"]);
    let netuid = u(&created["netuid"]);
    let locked = u(&created["locked"]);
    assert!(locked <= quoted && quoted - locked < quoted / 1_000, "quoted {quoted}, locked {locked}");
    assert!(u(&s.ok(&["subnet", "lock-cost"])["lock_cost"]) > locked, "the next lock costs more");
    let n = netuid.to_string();

    // Burn cost: verified, what registering burns (the price decays every block); then bumped.
    let burn = s.ok(&["subnet", "burn-cost", "--netuid", &n]);
    let quoted_burn = u(&burn["burn_cost"]);
    assert!((900_000_000..=1_000_000_000).contains(&quoted_burn), "a new subnet's price starts at 1 τ");
    assert!(burn["verified_at"].as_u64().is_some());
    // Creation seated bob's hotkey at UID 0 without a burn; the first registration takes UID 1.
    assert_eq!(u(&created["owner_uid"]), 0);
    s.ok(&["wallet", "new-hotkey", "--name", "bob", "--hotkey", "miner"]);
    let registered = s.ok(&["subnet", "register", "--wallet", "bob", "--hotkey", "miner", "--netuid", &n]);
    assert_eq!(u(&registered["uid"]), 1);
    assert!(u(&registered["burned"]) <= quoted_burn);
    assert!(u(&s.ok(&["subnet", "burn-cost", "--netuid", &n])["burn_cost"]) > u(&registered["burned"]));
    let missing = s.fails(2, &["subnet", "burn-cost", "--netuid", "99"]);
    assert!(missing["error"]["message"].as_str().unwrap().contains("no subnet 99"), "{missing}");

    // Identity: set by the owner (fields not given are kept), shown verified; anyone else is
    // refused locally, nothing sent.
    s.ok(&[
        "subnet",
        "set-identity",
        "--wallet",
        "bob",
        "--netuid",
        &n,
        "--project-url",
        "https://parity.example",
    ]);
    s.ok(&["subnet", "set-identity", "--wallet", "bob", "--netuid", &n, "--description", "btcli parity"]);
    let identity = s.ok(&["subnet", "identity", "--netuid", &n]);
    assert_eq!(identity["name"], "parity");
    assert_eq!(identity["url"], "https://parity.example");
    assert_eq!(identity["description"], "btcli parity");
    assert_eq!(identity["owner_hotkey"], bob_hot.as_str());
    let before = s.nonce("nominator");
    let refused =
        s.fails(2, &["subnet", "set-identity", "--wallet", "nominator", "--netuid", &n, "--name", "x"]);
    assert!(refused["error"]["message"].as_str().unwrap().contains("only the subnet owner"), "{refused}");
    assert_eq!(s.nonce("nominator"), before, "nothing submitted");
    let long = "x".repeat(257);
    s.fails(2, &["subnet", "set-identity", "--wallet", "bob", "--netuid", &n, "--name", &long]);
    assert_eq!(s.ok(&["subnet", "identity", "--netuid", &n])["name"], "parity");

    // Hyperparameters: every one with its range and setter, and the active incentive module.
    let hp = s.ok(&["subnet", "hyperparameters", "--netuid", &n]);
    assert_eq!(hp["incentive"]["kind"], "yuma");
    assert!(hp["incentive"]["code_hash"].is_null());
    let params = hp["hyperparameters"].as_array().unwrap();
    assert_eq!(params.len(), tao_contract_subnets::params::PARAMS.len());
    let tempo = params.iter().find(|p| p["name"] == "tempo").unwrap();
    assert_eq!((u(&tempo["value"]), tempo["setter"].as_str()), (360, Some("owner")));

    // Fees of a neuron's own calls: bob's hotkey holds no TAO; its coldkey pays (subtensor
    // makes them free), and the preflight previews it so (it passes). A rate-limited call is
    // refused by the preflight; sent anyway it still pays. A hotkey nobody owns pays itself,
    // and the node's refusal names the address to fund.
    let bob_balance = || u(&s.ok(&["wallet", "balance", "--name", "bob"])["balance_rao"]);
    let axon = |wallet: &str, hotkey: &str, force: bool| {
        let force: &[&str] = if force { &["--force"] } else { &[] };
        let serve = ["axon", "serve", "--wallet", wallet, "--hotkey", hotkey, "--netuid", &n];
        s.raw(&[&serve[..], &["--ip", "93.184.216.34", "--port", "8091"], force].concat())
    };
    let hot_balance = |address: &str| u(&s.ok(&["wallet", "balance", "--address", address])["balance_rao"]);
    let paid_before = bob_balance();
    let served = axon("bob", "default", false);
    assert!(served.status.success(), "{}", stdout(&served));
    let fee = u(&serde_json::from_slice::<Value>(&served.stdout).unwrap()["receipt"]["fee"]);
    assert!(fee > 0);
    assert_eq!(bob_balance(), paid_before - fee, "the owner coldkey paid the hotkey's fee");
    assert_eq!(hot_balance(&bob_hot), 0, "the hotkey needs no TAO");
    let previewed = axon("bob", "default", false);
    assert!(stdout(&previewed).contains("rate limited"), "{}", stdout(&previewed));
    let limited = axon("bob", "default", true);
    assert_eq!(limited.status.code(), Some(1), "the serving rate limit holds: {}", stdout(&limited));
    let limited: Value = serde_json::from_slice(&limited.stdout).unwrap();
    assert!(limited["receipt"]["outcome"]["Failed"].as_str().unwrap().contains("rate limited"), "{limited}");
    assert_eq!(bob_balance(), paid_before - fee - u(&limited["receipt"]["fee"]), "a refused call pays too");
    let lonely = s.ok(&["wallet", "new-hotkey", "--name", "nominator", "--hotkey", "lonely"]);
    let lonely =
        lonely["hotkeys"].as_array().unwrap().iter().find(|h| h["name"] == "lonely").unwrap()["address"]
            .as_str()
            .unwrap()
            .to_lowercase();
    let unpaid = axon("nominator", "lonely", true);
    assert_eq!(unpaid.status.code(), Some(2));
    let unpaid: Value = serde_json::from_slice(&unpaid.stdout).unwrap();
    let message = unpaid["error"]["message"].as_str().unwrap().to_lowercase();
    assert!(message.contains(&format!("fund {lonely}")), "{unpaid}");

    // Delegate take: the default, set lower by the hotkey's owner (by name), shown verified.
    let take = |h: &str| s.ok(&["stake", "show-take", "--hotkey", h, "--wallet", "bob"]);
    assert_eq!((u(&take("default")["take"]), take("default")["percent"].as_str()), (11_796, Some("18.00%")));
    let set = s.ok(&["stake", "set-take", "--wallet", "bob", "--hotkey", "default", "--take", "9%"]);
    assert_eq!(set["receipt"]["outcome"], "Ok");
    assert_eq!(u(&take(&bob_hot)["take"]), 5_898, "0.09 of 65535");
    let usage = s.fails(2, &["stake", "set-take", "--wallet", "bob", "--take", "0.19"]);
    assert_eq!(usage["error"]["code"], "usage");
    // Someone else's hotkey: refused before sending (the preflight), the take stays.
    let foreign =
        s.fails(2, &["stake", "set-take", "--wallet", "nominator", "--hotkey", &bob_hot, "--take", "0.01"]);
    assert!(foreign["error"]["reason"].as_str().unwrap().contains("owner"), "{foreign}");
    assert_eq!(u(&take(&bob_hot)["take"]), 5_898);

    // Stake transfer: the nominator gives part of its stake on bob's hotkey to alice's coldkey.
    s.ok(&["stake", "add", "--wallet", "nominator", "--hotkey", &bob_hot, "--netuid", &n, "--amount", "20"]);
    let alice_before = staked(&s.ok(&["stake", "list", "--wallet", "alice"]), netuid);
    let given = s.ok(&[
        "stake",
        "transfer",
        "--wallet",
        "nominator",
        "--hotkey",
        &bob_hot,
        "--netuid",
        &n,
        "--dest",
        &coldkey(s.wallets.path(), "alice"),
        "--amount",
        "1",
    ]);
    assert_eq!(u(&given["moved"]["credited"]), 1_000_000_000, "same subnet: alpha for alpha");
    let alice_after = staked(&s.ok(&["stake", "list", "--wallet", "alice"]), netuid);
    assert!(alice_after >= alice_before + 1_000_000_000, "alice holds it: {alice_before} → {alice_after}");

    // Unstake-all: every position sold, the TAO received on the verified balance.
    let balance = || u(&s.ok(&["wallet", "balance", "--name", "nominator"])["balance_rao"]);
    let free = balance();
    let sold = s.ok(&["stake", "unstake-all", "--wallet", "nominator"]);
    let (received, fee) = (u(&sold["received"]), u(&sold["receipt"]["fee"]));
    assert!(received > 15_000_000_000, "about 19 τ back: {received}");
    assert_eq!(balance(), free + received - fee);
    assert_eq!(staked(&s.ok(&["stake", "list", "--wallet", "nominator"]), netuid), 0);
    let before = s.nonce("nominator");
    let nothing = s.fails(2, &["stake", "unstake-all", "--wallet", "nominator"]);
    assert!(nothing["error"]["message"].as_str().unwrap().contains("no stake"), "{nothing}");
    assert_eq!(s.nonce("nominator"), before, "nothing submitted");
}

/// `tao root register` and `tao root list` (verified), and root dividends: the dev chain's
/// `alice-hot` holds 1,000 τ of root stake from genesis and is subnet 1's only staked hotkey, so
/// its first epoch pays it dividends, all of them root dividends (it holds no alpha yet), sold
/// for TAO and staked on root to it: the root stake grows (the exact amounts are checked against
/// the formula in `tao-contract-incentive`'s `root_stake_counts_in_the_epoch_and_earns_root_dividends`).
#[test]
fn root_register_list_and_root_dividends_through_the_binary() {
    let s = Session { node: DevChain::start("20ms"), wallets: tempfile::tempdir().unwrap() };
    s.ok(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    let alice_hot =
        s.ok(&["subnet", "identity", "--netuid", "1"])["owner_hotkey"].as_str().unwrap().to_string();
    let empty = s.ok(&["root", "list"]);
    assert_eq!(empty["root"], serde_json::json!([]));
    assert_eq!(u(&empty["tao_weight"]), tao_contract_staking::TAO_WEIGHT);

    let registered = s.ok(&["root", "register", "--wallet", "alice", "--hotkey", &alice_hot]);
    assert_eq!((u(&registered["uid"]), &registered["receipt"]["outcome"]), (0, &serde_json::json!("Ok")));
    let listed = s.ok(&["root", "list"]);
    let row = &listed["root"][0];
    assert_eq!((u(&row["uid"]), row["hotkey"].as_str()), (0, Some(alice_hot.as_str())));
    let start = u(&row["stake"]);
    assert!(start >= 1_000_000_000_000, "genesis root stake: {start}");

    // Registering again is refused before signing, nothing sent.
    let nonce = s.nonce("alice");
    let again = s.raw(&["root", "register", "--wallet", "alice", "--hotkey", &alice_hot]);
    assert!(!again.status.success());
    let again: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(again["error"]["code"], "refused");
    assert!(again["error"]["message"].as_str().unwrap().contains("already registered"), "{again}");
    assert_eq!(s.nonce("alice"), nonce);

    // An epoch of subnet 1 pays root dividends into alice-hot's root stake.
    let mut grown = start;
    common::wait_until("root dividends", || {
        grown = u(&s.ok(&["root", "list"])["root"][0]["stake"]);
        grown > start
    });
    let positions = s.ok(&["stake", "list", "--wallet", "alice"]);
    assert!(staked(&positions, 0) >= grown, "alice's root position holds the dividends: {positions}");
}

/// Child hotkeys through the binary: bob's registered hotkey sets an 18% childkey take; alice
/// lends it half of `alice-hot`'s stake weight on subnet 1 (pending, shown verified); bad sets
/// are refused locally with nothing sent; once an epoch puts the set in force bob's hotkey
/// counts the inherited stake, and the next epoch pays it by that stake (it holds none of its
/// own), the take of what it shares with alice-hot staying with bob. The exact split is checked
/// against the formula in `tao-contract-incentive`'s
/// `an_epoch_counts_inherited_stake_and_shares_a_childs_dividends_with_its_parent`.
#[test]
fn child_hotkeys_through_the_binary() {
    let s = Session { node: DevChain::start("20ms"), wallets: tempfile::tempdir().unwrap() };
    for dev in ["alice", "bob"] {
        s.ok(&["wallet", "import", "--name", dev, "--dev", dev]);
    }
    let alice_hot =
        s.ok(&["subnet", "identity", "--netuid", "1"])["owner_hotkey"].as_str().unwrap().to_string();
    let hot = s.ok(&["wallet", "new-hotkey", "--name", "bob", "--hotkey", "default"]);
    let bob_hot = hot["hotkeys"][0]["address"].as_str().unwrap().to_string();
    s.ok(&["subnet", "register", "--wallet", "bob", "--hotkey", "default", "--netuid", "1"]);
    let taken = s.ok(&["stake", "set-childkey-take", "--wallet", "bob", "--netuid", "1", "--take", "18%"]);
    assert_eq!((u(&taken["take"]), &taken["receipt"]["outcome"]), (11_796, &serde_json::json!("Ok")));

    let children = |hotkey: &str| s.ok(&["stake", "children", "--netuid", "1", "--hotkey", hotkey]);
    let set = |wallet: &str, child: &str| {
        s.raw(&[
            "stake",
            "set-children",
            "--wallet",
            wallet,
            "--netuid",
            "1",
            "--hotkey",
            &alice_hot,
            "--child",
            child,
        ])
    };
    // Refused before signing: the parent as its own child, someone else's parent.
    let nonce = (s.nonce("alice"), s.nonce("bob"));
    let own = set("alice", &format!("0.5:{alice_hot}"));
    assert_eq!(own.status.code(), Some(2), "{}", stdout(&own));
    assert!(stdout(&own).contains("must differ from the parent"), "{}", stdout(&own));
    let foreign = set("bob", &format!("0.5:{bob_hot}"));
    assert!(stdout(&foreign).contains("owner"), "{}", stdout(&foreign));
    assert_eq!((s.nonce("alice"), s.nonce("bob")), nonce, "nothing submitted");

    let out = set("alice", &format!("50%:{bob_hot}"));
    assert!(out.status.success(), "{}", stdout(&out));
    let due = u(&serde_json::from_slice::<Value>(&out.stdout).unwrap()["due"]);
    let shown = children(&alice_hot);
    assert_eq!(shown["children"], serde_json::json!([]), "pending first: {shown}");
    assert_eq!(
        (u(&shown["pending"]["due"]), shown["pending"]["children"][0]["hotkey"].as_str()),
        (due, Some(bob_hot.as_str()))
    );
    assert!(shown["verified_at"].as_u64().is_some());
    let again = set("alice", &format!("0.25:{bob_hot}"));
    assert!(stdout(&again).contains("rate limited"), "{}", stdout(&again));

    // In force after an epoch past the cooldown: bob's hotkey inherits half of alice-hot's.
    let mut bob = Value::Null;
    common::wait_until("children in force", || {
        bob = children(&bob_hot);
        !bob["parents"].as_array().unwrap().is_empty()
    });
    assert_eq!(bob["parents"][0]["hotkey"].as_str(), Some(alice_hot.as_str()));
    assert_eq!(bob["parents"][0]["percent"], "50.00%");
    assert!(u(&bob["epoch_stake"]) > 0, "inherited: {bob}");
    let alice = children(&alice_hot);
    assert_eq!(alice["children"][0]["hotkey"].as_str(), Some(bob_hot.as_str()));
    assert!(alice["pending"].is_null());

    // The next epoch pays bob's hotkey by its inherited stake; bob keeps the childkey take.
    common::wait_until("the child's dividends", || {
        staked(&s.ok(&["stake", "list", "--wallet", "bob"]), 1) > 0
    });
}

/// Hotkey swap through the binary: bob's hotkey holds a UID on subnet 1, a root seat and stake
/// on subnet 1; a swap to a hotkey in use (alice's) is refused locally with nothing sent or
/// changed; a swap to bob's unused hotkey moves the stake, the UID and the root seat, costs
/// 0.1 τ plus the fee, and leaves the old hotkey nothing.
#[test]
fn hotkey_swap_through_the_binary() {
    let s = Session { node: DevChain::start("50ms"), wallets: tempfile::tempdir().unwrap() };
    for dev in ["alice", "bob"] {
        s.ok(&["wallet", "import", "--name", dev, "--dev", dev]);
    }
    let alice_hot =
        s.ok(&["subnet", "identity", "--netuid", "1"])["owner_hotkey"].as_str().unwrap().to_lowercase();
    let hotkey = |name: &str| {
        let made = s.ok(&["wallet", "new-hotkey", "--name", "bob", "--hotkey", name]);
        let found = made["hotkeys"].as_array().unwrap().iter().find(|h| h["name"] == name).unwrap().clone();
        found["address"].as_str().unwrap().to_lowercase()
    };
    let (old, new) = (hotkey("default"), hotkey("fresh"));
    s.ok(&["subnet", "register", "--wallet", "bob", "--hotkey", "default", "--netuid", "1"]);
    s.ok(&["root", "register", "--wallet", "bob", "--hotkey", "default"]);
    s.ok(&["stake", "add", "--wallet", "bob", "--hotkey", "default", "--netuid", "1", "--amount", "10"]);
    let holdings = || {
        let list = s.ok(&["stake", "list", "--wallet", "bob"]);
        let rows = list["positions"].as_array().unwrap().clone();
        rows.iter()
            .map(|p| (p["hotkey"].as_str().unwrap().to_lowercase(), u(&p["netuid"]), u(&p["stake"])))
            .collect::<Vec<_>>()
    };
    let uid_of = |hotkey: &str| {
        let graph = s.ok(&["subnet", "metagraph", "--netuid", "1"]);
        let rows = graph["neurons"].as_array().unwrap().clone();
        rows.iter().find(|n| n["hotkey"].as_str().unwrap().to_lowercase() == hotkey).map(|n| u(&n["uid"]))
    };
    let seated = |hotkey: &str| {
        s.ok(&["root", "list"])["root"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["hotkey"].as_str().unwrap().to_lowercase() == hotkey)
    };
    let uid = uid_of(&old).expect("bob's hotkey holds a UID");
    assert!(seated(&old));

    // A hotkey in use: refused before signing; nothing sent, nothing moved.
    let nonce = s.nonce("bob");
    let used = s.fails(
        2,
        &["wallet", "swap-hotkey", "--wallet", "bob", "--hotkey", "default", "--new-hotkey", &alice_hot],
    );
    assert!(used["error"]["message"].as_str().unwrap().contains("already in use"), "{used}");
    assert_eq!(s.nonce("bob"), nonce);
    assert_eq!(uid_of(&old), Some(uid));

    let before = holdings();
    let balance = || u(&s.ok(&["wallet", "balance", "--name", "bob"])["balance_rao"]);
    let free = balance();
    let swapped =
        s.ok(&["wallet", "swap-hotkey", "--wallet", "bob", "--hotkey", "default", "--new-hotkey", "fresh"]);
    assert_eq!(swapped["receipt"]["outcome"], "Ok", "{swapped}");
    let fee = u(&swapped["receipt"]["fee"]);
    assert_eq!(balance(), free - 100_000_000 - fee, "0.1 τ recycled plus the fee");
    let after = holdings();
    for (hotkey, netuid, stake) in &before {
        assert_eq!(hotkey, &old);
        let moved = after.iter().find(|(h, n, _)| h == &new && n == netuid).unwrap();
        assert!(moved.2 >= *stake, "stake on subnet {netuid} follows: {before:?} → {after:?}");
    }
    assert!(after.iter().all(|(h, _, _)| h != &old), "the old hotkey holds nothing: {after:?}");
    assert_eq!((uid_of(&new), uid_of(&old)), (Some(uid), None));
    assert!(seated(&new) && !seated(&old));
}

/// Root stake of a hotkey with a consensus key unbonds: `stake remove` on root pays nothing at
/// once, and `stake unbonding` shows the entry, verified, due an evidence window (7,200 blocks)
/// after it began; `gov propose --slashing` refuses out-of-range parameters (a window shorter than
/// the evidence age among them) before signing.
#[test]
fn validator_root_stake_unbonds_through_the_binary() {
    let s = Session { node: DevChain::start("20ms"), wallets: tempfile::tempdir().unwrap() };
    s.ok(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    let alice_hot =
        s.ok(&["subnet", "identity", "--netuid", "1"])["owner_hotkey"].as_str().unwrap().to_string();
    let none = s.ok(&["stake", "unbonding", "--wallet", "alice"]);
    assert_eq!(none["unbonding"], serde_json::json!([]), "{none}");
    let key_file = s.wallets.path().join("consensus.key");
    std::fs::write(&key_file, format!("0x{}", hex::encode([7u8; 32]))).unwrap();
    let key = key_file.to_str().unwrap();
    let set =
        s.ok(&["root", "set-consensus-key", "--wallet", "alice", "--hotkey", &alice_hot, "--key-file", key]);
    assert_eq!(set["receipt"]["outcome"], serde_json::json!("Ok"), "{set}");
    let removed = s.ok(&[
        "stake", "remove", "--wallet", "alice", "--hotkey", &alice_hot, "--netuid", "0", "--amount", "1",
    ]);
    assert_eq!(removed["receipt"]["outcome"], serde_json::json!("Ok"), "{removed}");
    let listed = s.ok(&["stake", "unbonding", "--wallet", "alice"]);
    let entry = &listed["unbonding"][0];
    assert_eq!(listed["unbonding"].as_array().unwrap().len(), 1, "{listed}");
    assert!(entry["hotkey"].as_str().unwrap().eq_ignore_ascii_case(&alice_hot), "{listed}");
    assert_eq!(u(&entry["rao"]), 1_000_000_000);
    assert_eq!(u(&entry["release"]) - u(&entry["since"]), 7_200);
    assert!(u(&listed["height"]) >= u(&entry["since"]));
    let nonce = s.nonce("alice");
    let short = format!("50000000:{}", tao_types::MAX_EVIDENCE_AGE);
    let evidence_age = format!("longer than the {}-block evidence age", tao_types::MAX_EVIDENCE_AGE);
    for (bad, reason) in [("1000000001:600", "at most 1000000000"), (short.as_str(), evidence_age.as_str())] {
        let refused = s.raw(&["gov", "propose", "--wallet", "alice", "--slashing", bad]);
        let said = format!("{}{}", stdout(&refused), String::from_utf8_lossy(&refused.stderr));
        assert!(!refused.status.success() && said.contains(reason), "{bad}: {said}");
        assert_eq!(s.nonce("alice"), nonce, "{bad}: refused before signing");
    }
}

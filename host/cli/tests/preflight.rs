//! Preflight through the real binary against one dev node: what the chain would refuse — a
//! transfer over the balance, a duplicate registration, an unknown netuid, weights for a missing
//! UID, a non-owner setting a hyperparameter, a stake whose limit cannot fill — is refused before
//! signing with the contract's message: nothing is submitted, the nonce and balance are as
//! before. `--force` still sends, and the chain refuses it, charging the fee.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::Path;
use std::process::{Command, Stdio};
mod common;
use common::{DevChain, rpc};

use serde_json::{Value, json};
use tao_node::spec::dev_key;

/// An account's `(balance, nonce, pending nonce)` straight from the node.
fn account(addr: &str, who: &str) -> (u64, u64, u64) {
    let a = rpc(addr, "account_get", json!([who]))["result"].clone();
    (a["balance"].as_u64().unwrap(), a["nonce"].as_u64().unwrap(), a["pending_nonce"].as_u64().unwrap())
}

struct Cli<'a> {
    wallets: &'a Path,
    url: String,
}

impl Cli<'_> {
    fn run(&self, args: &[&str]) -> std::process::Output {
        self.tao(&[args, &["--url", &self.url, "--yes"]].concat())
    }

    /// `tao args --json`, with this test's wallets.
    fn tao(&self, args: &[&str]) -> std::process::Output {
        Command::new(env!("CARGO_BIN_EXE_tao"))
            .args(args)
            .arg("--json")
            .env("TAO_WALLET_PATH", self.wallets)
            .env("TAO_PASSWORD", "pw")
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str]) -> Value {
        Self::json(self.run(args), args)
    }

    /// A command that talks to no node.
    fn local(&self, args: &[&str]) -> Value {
        Self::json(self.tao(args), args)
    }

    fn json(out: std::process::Output, args: &[&str]) -> Value {
        let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {text}");
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// Runs `args`, which must be refused before signing with `message` (the contract's), and
    /// leaves `payer`'s balance and nonce as they were, with nothing pending.
    fn refused(&self, args: &[&str], payer: &str, message: &str) {
        let addr = self.url.trim_start_matches("http://");
        let before = account(addr, payer);
        let out = self.run(args);
        assert!(!out.status.success(), "{args:?} was not refused");
        let error: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(error["error"]["code"], "refused", "{args:?}: {error}");
        let why = error["error"]["reason"].as_str().unwrap();
        assert!(why.contains(message), "{args:?}: {error}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("refused before sending") && stderr.contains("Nothing was signed or sent"),
            "{stderr}"
        );
        let after = account(addr, payer);
        assert_eq!(after, before, "{args:?}: balance and nonce unchanged");
        assert_eq!(after.1, after.2, "{args:?}: nothing pending");
    }
}

/// A dev chain past its first block, and the CLI with the dev wallets alice and bob in `wallets`.
fn chain_with_wallets(wallets: &Path) -> (DevChain, Cli<'_>) {
    let node = DevChain::start("200ms");
    let cli = Cli { wallets, url: node.url.clone() };
    common::wait_until("the first block", || {
        rpc(&node.url, "chain_info", json!([]))["result"]["height"].as_u64() > Some(0)
    });
    cli.local(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    cli.local(&["wallet", "import", "--name", "bob", "--dev", "bob"]);
    (node, cli)
}

#[test]
fn the_cli_refuses_locally_what_the_chain_would_refuse() {
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let (node, cli) = chain_with_wallets(&wallets);
    let alice = dev_key("alice").address().to_string();
    let bob = dev_key("bob").address().to_string();
    let hot = cli.local(&["wallet", "new-hotkey", "--name", "alice", "--hotkey", "miner"]);
    let hot = hot["hotkeys"].as_array().unwrap().iter().find(|h| h["name"] == "miner").unwrap()["address"]
        .as_str()
        .unwrap()
        .to_string();
    cli.ok(&["transfer", "--wallet", "alice", "--to", &hot, "--amount", "1"]);
    let register = ["subnet", "register", "--wallet", "alice", "--hotkey", "miner", "--netuid", "1"];
    assert_eq!(cli.ok(&register)["receipt"]["outcome"], "Ok");

    let too_much = ["transfer", "--wallet", "alice", "--to", &bob, "--amount", "1000000000"];
    cli.refused(&too_much, &alice, "insufficient");
    cli.refused(&register, &alice, "already registered");
    let unknown = ["subnet", "register", "--wallet", "alice", "--hotkey", "miner", "--netuid", "99"];
    cli.refused(&unknown, &alice, "99");
    // Weights from the subnet's owner hotkey (no permit or stake needed), for a UID that is not there.
    let owner_hot = dev_key("alice-hot");
    let file = json!({"address": owner_hot.address(), "secret": hex::encode(owner_hot.to_bytes())});
    std::fs::write(wallets.join("wallets/alice/hotkeys/owner.json"), file.to_string()).unwrap();
    let owner_hot = owner_hot.address().to_string();
    cli.ok(&["transfer", "--wallet", "alice", "--to", &owner_hot, "--amount", "1"]);
    let weights = ["weights", "set", "--wallet", "alice", "--hotkey", "owner", "--netuid", "1"];
    cli.refused(
        &[&weights[..], &["--uids", "77", "--values", "1"]].concat(),
        &owner_hot,
        "uid does not exist",
    );
    let set = ["subnet", "set", "--wallet", "bob", "--netuid", "1", "--param", "tempo", "--value", "50"];
    cli.refused(&set, &bob, "only the subnet owner");
    let validator = dev_key("alice-hot").address().to_string();
    let limited =
        ["stake", "add", "--wallet", "bob", "--hotkey", &validator, "--netuid", "1", "--amount", "5"];
    cli.refused(
        &[&limited[..], &["--limit-price", "0.000000001"]].concat(),
        &bob,
        "does not fill within its limit price",
    );

    // --force sends it anyway: the chain refuses it in its block and keeps the fee.
    let (balance, nonce, _) = account(&node.url, &alice);
    let out = cli.run(&[&too_much[..], &["--force"]].concat());
    assert!(!out.status.success());
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(status["receipt"]["outcome"].to_string().contains("insufficient"), "{status}");
    let fee = status["receipt"]["fee"].as_u64().unwrap();
    let (after, next, _) = account(&node.url, &alice);
    assert_eq!((after, next), (balance - fee, nonce + 1), "sent and charged");
}

/// Fees by gas used, through the binary: a transfer with a generous 1 τ fee limit is charged its
/// bytes and the gas its receipt says it used, far under the limit (the rest of the hold comes
/// back), and the sender's balance moves by exactly the amount plus that fee.
#[test]
fn a_transfer_pays_its_bytes_and_gas_used_not_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    let node = DevChain::start("200ms");
    let cli = Cli { wallets: &dir.path().join("wallets"), url: node.url.clone() };
    let (alice, bob) = (dev_key("alice"), dev_key("bob").address());
    cli.local(&["wallet", "import", "--name", "alice", "--dev", "alice"]);
    let before = account(&node.url, &alice.address().to_string());

    let amount = 3 * tao_types::RAO_PER_TAO;
    let send = ["transfer", "--wallet", "alice", "--to", &bob.to_string(), "--amount", "3"];
    let status = cli.ok(&[&send[..], &["--fee-limit", "1"]].concat());
    assert_eq!(status["receipt"]["outcome"], "Ok", "{status}");
    let (fee, gas) =
        (status["receipt"]["fee"].as_u64().unwrap(), status["receipt"]["gas_used"].as_u64().unwrap());

    // A transfer's signed length is the same at any nonce and chain: sign one to measure it.
    let draft = tao_client::tx::Draft::transfer(bob, amount, false);
    let domain = tao_crypto::ChainDomain { chain_id: 0, genesis_hash: tao_types::Hash([0; 32]) };
    let bytes = draft.sign(&domain, tao_types::Hash([0; 32]), 0, &alice).unwrap().encode().len() as u64;
    assert!(gas > 0);
    assert_eq!(fee, bytes * tao_contract_token::FEE_PER_BYTE + gas.div_ceil(tao_contract_token::GAS_PER_RAO));
    assert!(fee < tao_types::RAO_PER_TAO / 1_000, "far under the 1 τ limit: {fee}");
    let after = account(&node.url, &alice.address().to_string());
    assert_eq!((after.0, after.1), (before.0 - amount - fee, before.1 + 1), "amount + fee, nothing more");
}

/// The rest of the sending commands take the same preflight path: a gov vote on a proposal that
/// does not exist, a module call to a missing entry point of a system module or to code that
/// was never deployed, a take set by someone who does not own the hotkey, a subnet identity set
/// by a non-owner and an unstake-all with nothing staked are refused before signing, with
/// nothing sent; `--force` still sends, and the chain refuses it for its fee.
#[test]
fn every_other_sending_command_is_preflighted_too() {
    let dir = tempfile::tempdir().unwrap();
    let wallets = dir.path().join("wallets");
    let (node, cli) = chain_with_wallets(&wallets);
    let alice = dev_key("alice").address().to_string();
    let bob = dev_key("bob").address().to_string();
    let owner_hot = dev_key("alice-hot").address().to_string();

    let vote = ["gov", "vote", "--wallet", "bob", "--id", "99", "--approve"];
    cli.refused(&vote, &bob, "no proposal 99");
    cli.refused(&["module", "call", "--wallet", "alice", "token", "entry_nope"], &alice, "entry_nope");
    let nowhere = format!("0x{}", "ab".repeat(32));
    cli.refused(&["module", "call", "--wallet", "alice", &nowhere, "run"], &alice, "no contract");
    let take = ["stake", "set-take", "--wallet", "bob", "--hotkey", &owner_hot, "--take", "0.05"];
    cli.refused(&take, &bob, "only the hotkey's owner");
    let identity = ["subnet", "set-identity", "--wallet", "bob", "--netuid", "1", "--name", "mine"];
    cli.refused(&identity, &bob, "only the subnet owner");
    cli.refused(&["stake", "unstake-all", "--wallet", "bob"], &bob, "no stake to sell");

    // --force sends them anyway: each is included, refused by the chain, and pays its fee.
    for (args, why) in [(&vote[..], "no proposal 99"), (&identity[..], "only the subnet owner")] {
        let (balance, nonce, _) = account(&node.url, &bob);
        let out = cli.run(&[args, &["--force"]].concat());
        assert!(!out.status.success(), "{args:?}");
        let status: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(status["receipt"]["outcome"].to_string().contains(why), "{status}");
        let fee = status["receipt"]["fee"].as_u64().unwrap();
        assert_eq!(
            account(&node.url, &bob),
            (balance - fee, nonce + 1, nonce + 1),
            "{args:?}: sent, charged"
        );
    }
}

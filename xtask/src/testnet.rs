//! `cargo xtask testnet`: a local network of 4 validator processes, exactly as `tao testnet init`
//! writes it (each line of its `commands.txt` run as written). Interactive, it serves the wallet
//! until Ctrl-C; `--check` and `--e2e` run bounded checks against it and stop it (CI).

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::{build_contracts, build_web, cargo, step, tools};

/// Validators `cargo xtask testnet` runs.
const VALIDATORS: usize = 4;
/// Candidate nodes of the bounded runs: each a fresh key outside the genesis set, following
/// without voting until stake brings it into the set (the wallet's E2E does).
const CANDIDATES: &str = "1";
/// The bounded runs recompute the validator set from root stake every this many blocks, so a
/// stake change takes effect within seconds.
const CI_SET_EPOCH: &str = "20";
/// The height `--check` waits for on every node.
const CHECK_HEIGHT: &str = "10";
/// How long `--check` may take once the nodes are started (their start compiles the modules).
const CHECK_TIMEOUT: &str = "120s";
/// Block time of the bounded runs, the dev chain's: a 4-validator debug build on 2 cores makes
/// a block in about 100 ms with it, so the example subnet's epochs (tempo 360) come in under a
/// minute for the wallet's E2E.
const CI_BLOCK_TIME: &str = "50ms";
/// How long the first validator may take to compile the modules and serve.
const START_WAIT: Duration = Duration::from_secs(120);
/// How long a validator may take to stop after SIGINT.
const STOP_WAIT: Duration = Duration::from_secs(15);

/// What `cargo xtask testnet` does once the network runs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Serve the wallet until Ctrl-C.
    Serve,
    /// `tao testnet check`, then stop.
    Check,
    /// `tao testnet check`, the wallet's E2E against the network, then stop.
    EndToEnd,
}

/// `cargo xtask testnet [--check | --e2e]`.
pub(crate) fn run(args: &[String]) -> Result<()> {
    let mode = match args {
        [] => Mode::Serve,
        [a] if a == "--check" => Mode::Check,
        [a] if a == "--e2e" => Mode::EndToEnd,
        _ => bail!("usage: cargo xtask testnet [--check | --e2e] (docs/network.md)"),
    };
    if mode == Mode::Check {
        build_contracts()?;
    } else {
        build_web()?;
    }
    cargo(&["build", "-p", "tao-cli"])?;
    match mode {
        Mode::Serve => serve(),
        Mode::Check => bounded(false),
        Mode::EndToEnd => bounded(true),
    }
}

/// The operator wallets' password when `$TAO_PASSWORD` is unset (docs/network.md).
const TESTNET_PASSWORD: &str = "testnet";

/// `tao` as `cargo build -p tao-cli` left it.
fn tao() -> PathBuf {
    tools::target_dir().join("debug/tao")
}

/// A fresh network in `out` (an old one there is removed: its stores belong to other keys'
/// chains), from `tao testnet init` with `extra` options.
fn init(out: &Path, extra: &[&str]) -> Result<()> {
    if out.exists() {
        std::fs::remove_dir_all(out).with_context(|| format!("removing {}", out.display()))?;
    }
    let validators = VALIDATORS.to_string();
    step(&format!("tao testnet init --validators {validators} --out {} {}", out.display(), extra.join(" ")));
    // The operator wallets' coldkeys are encrypted with $TAO_PASSWORD (else `testnet`): a local
    // network's keys, never for anything of value.
    let password = std::env::var("TAO_PASSWORD").unwrap_or_else(|_| TESTNET_PASSWORD.into());
    let status = Command::new(tao())
        .args(["testnet", "init", "--validators", &validators, "--yes", "--out"])
        .arg(out)
        .args(extra)
        .env("TAO_PASSWORD", password)
        .status()
        .context("running tao testnet init")?;
    if !status.success() {
        bail!("`tao testnet init` failed ({status})");
    }
    Ok(())
}

/// The running validators; any still running when dropped are killed, so a failed run leaves
/// none behind.
struct Network {
    out: PathBuf,
    nodes: Vec<Child>,
}

impl Network {
    /// Runs each line of `out/commands.txt` as written (`exec`ed by `sh`, so the process is the
    /// node itself), logging to `out/node-<i>.log`. The first one compiles the system modules;
    /// the others start once it serves, with a copy of its compiled-module cache (the same
    /// binary compiles the same modules to the same checksummed artifacts), so the modules are
    /// compiled once instead of four times at once on a small machine.
    fn start(out: &Path) -> Result<Network> {
        let commands = std::fs::read_to_string(out.join("commands.txt")).context("reading commands.txt")?;
        let mut network = Network { out: out.to_path_buf(), nodes: Vec::new() };
        for (i, line) in commands.lines().enumerate() {
            if i == 1 {
                network.wait_until_serving(0)?;
                share_compiled_modules(out, commands.lines().count())?;
            }
            let log = std::fs::File::create(network.log(i))?;
            let node = Command::new("sh")
                .arg("-c")
                .arg(format!("exec {line}"))
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("starting validator {i}"))?;
            network.nodes.push(node);
        }
        Ok(network)
    }

    /// Waits until validator `i` logs that it serves RPC (its modules compiled), or fails if it
    /// exits or takes longer than [`START_WAIT`].
    fn wait_until_serving(&mut self, i: usize) -> Result<()> {
        let poll = Duration::from_millis(200);
        for _ in 0..START_WAIT.as_millis() / poll.as_millis() {
            if std::fs::read_to_string(self.log(i)).unwrap_or_default().contains("rpc listening on") {
                return Ok(());
            }
            if let Some(status) = self.nodes[i].try_wait()? {
                bail!("validator {i} exited ({status}); its log ends:\n{}", self.tail(i));
            }
            std::thread::sleep(poll);
        }
        bail!("validator {i} did not serve within {START_WAIT:?}; its log ends:\n{}", self.tail(i))
    }

    fn log(&self, i: usize) -> PathBuf {
        self.out.join(format!("node-{i}.log"))
    }

    /// Stops every validator with SIGINT (as Ctrl-C does) and waits for each; one that does not
    /// stop in time or exits with an error fails the run.
    fn stop(mut self) -> Result<()> {
        for node in &mut self.nodes {
            if matches!(node.try_wait(), Ok(None)) {
                let _ = Command::new("kill").args(["-INT", &node.id().to_string()]).status();
            }
        }
        let mut failed = Vec::new();
        for (i, node) in self.nodes.iter_mut().enumerate() {
            match wait_for_exit(node, STOP_WAIT)? {
                Some(status) if status.success() => {}
                Some(status) => failed.push(format!("validator {i} exited with {status}")),
                None => failed.push(format!("validator {i} did not stop within {STOP_WAIT:?} of SIGINT")),
            }
        }
        if !failed.is_empty() {
            bail!("{} (logs: {}/node-<i>.log)", failed.join("; "), self.out.display());
        }
        println!("    all {} validators stopped cleanly", self.nodes.len());
        Ok(())
    }

    /// The last lines of validator `i`'s log, to say why a run failed.
    fn tail(&self, i: usize) -> String {
        let log = std::fs::read_to_string(self.log(i)).unwrap_or_default();
        let lines: Vec<&str> = log.lines().filter(|l| !l.starts_with("block #")).collect();
        lines[lines.len().saturating_sub(10)..].join("\n")
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if matches!(node.try_wait(), Ok(None)) {
                let _ = node.kill();
                let _ = node.wait();
            }
        }
    }
}

/// Copies the compiled-module cache of `out/node-0` into `out/node-1` … `out/node-<count - 1>`.
fn share_compiled_modules(out: &Path, count: usize) -> Result<()> {
    let from = out.join("node-0/artifacts");
    for i in 1..count {
        let to = out.join(format!("node-{i}/artifacts"));
        std::fs::create_dir_all(&to)?;
        for entry in std::fs::read_dir(&from).with_context(|| format!("reading {}", from.display()))? {
            let entry = entry?;
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}

/// Polls `node` until it exits, for at most `limit`.
fn wait_for_exit(node: &mut Child, limit: Duration) -> Result<Option<std::process::ExitStatus>> {
    let poll = Duration::from_millis(100);
    for _ in 0..limit.as_millis() / poll.as_millis() {
        if let Some(status) = node.try_wait()? {
            return Ok(Some(status));
        }
        std::thread::sleep(poll);
    }
    Ok(node.try_wait()?)
}

/// The interactive network on the documented ports (RPC 9944…, p2p 30333…), until Ctrl-C (which
/// reaches every validator) or until one stops on its own, which stops the others.
fn serve() -> Result<()> {
    let out = tools::target_dir().join("testnet");
    init(&out, &[])?;
    let mut network = Network::start(&out)?;
    for i in 0..VALIDATORS {
        println!("    validator {i}: wallet and RPC at http://127.0.0.1:{}/", 9944 + i);
    }
    println!("\n{VALIDATORS} validators running (logs: {}/node-<i>.log); Ctrl-C stops them.", out.display());
    loop {
        for i in 0..network.nodes.len() {
            if let Some(status) = network.nodes[i].try_wait()? {
                println!("    validator {i} stopped ({status}); its log ends:\n{}", network.tail(i));
                return network.stop();
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A network on free ports under `<target>/testnet-check`, its set recomputed from stake and a
/// candidate node beside the validators: `tao testnet check`, then (with `e2e`) the wallet's E2E
/// against it (which stakes the candidate into the set), then every node stopped cleanly.
pub(crate) fn bounded(e2e: bool) -> Result<()> {
    let out = tools::target_dir().join("testnet-check");
    let nodes = VALIDATORS + CANDIDATES.parse::<usize>()?;
    let rpc = free_ports(2 * nodes)?;
    let p2p = rpc + u16::try_from(nodes)?;
    let (rpc_port, p2p_port) = (rpc.to_string(), p2p.to_string());
    init(
        &out,
        &[
            "--rpc-port",
            &rpc_port,
            "--p2p-port",
            &p2p_port,
            "--block-time",
            CI_BLOCK_TIME,
            "--candidates",
            CANDIDATES,
            "--set-epoch",
            CI_SET_EPOCH,
        ],
    )?;
    let network = Network::start(&out)?;
    step(&format!("tao testnet check --dir {} --height {CHECK_HEIGHT}", out.display()));
    let checked = Command::new(tao())
        .args(["testnet", "check", "--height", CHECK_HEIGHT, "--timeout", CHECK_TIMEOUT, "--dir"])
        .arg(&out)
        .status()
        .context("running tao testnet check")?;
    if !checked.success() {
        let tails: Vec<String> = (0..nodes).map(|i| format!("node {i}:\n{}", network.tail(i))).collect();
        bail!("`tao testnet check` failed ({checked}); the validators' logs end:\n{}", tails.join("\n"));
    }
    if e2e {
        let urls: Vec<String> =
            (0..VALIDATORS).map(|i| format!("http://127.0.0.1:{}", usize::from(rpc) + i)).collect();
        crate::wallet_end_to_end(Some((&urls.join(","), &out)))?;
    }
    network.stop()
}

/// A first port with `n` free ports after it on 127.0.0.1 (not the documented ones, which a
/// developer's own network may hold).
fn free_ports(n: usize) -> Result<u16> {
    let n = u16::try_from(n)?;
    for _ in 0..200 {
        let base = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        if base < 60_000 && (0..n).all(|i| std::net::TcpListener::bind(("127.0.0.1", base + i)).is_ok()) {
            return Ok(base);
        }
    }
    bail!("no {n} free consecutive ports on 127.0.0.1")
}

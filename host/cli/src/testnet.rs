//! `tao testnet init`: the files of a local validator network: a chain spec naming N fresh
//! validator keys, each bound to its operator's root hotkey with stake (power = stake), one key
//! file and one operator wallet per validator, and `commands.txt` with one complete
//! `tao node …` line per validator (its own base path, RPC and p2p ports, the others as
//! bootnodes), runnable as written (docs/network.md).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use tao_crypto::SecretKey;
use tao_node::spec::{ChainSpec, SpecOperator, SpecValidator, SpecValidatorSet};

use crate::keys::{Common, confirm, password, save_coldkey_with, save_hotkey};

mod check;

#[derive(Subcommand)]
pub(crate) enum TestnetCommand {
    /// Write a local validator network's spec, keys and node commands.
    Init(InitArgs),
    /// Check a running network within a deadline: every node at a height with the same headers,
    /// each certificate accepted by a light client of the spec's validators, and a transfer sent
    /// through one node proven through another (what `cargo xtask testnet --check` runs).
    Check(check::CheckArgs),
}

#[derive(Args)]
pub(crate) struct InitArgs {
    /// How many validators (equal power).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    validators: u16,
    /// Extra nodes with fresh keys outside the genesis set (the last lines of `commands.txt`):
    /// they follow the network and join the set once their key is registered with enough
    /// root stake (`tao root set-consensus-key`, with `--set-epoch`).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=64))]
    candidates: u16,
    /// Compute the validator set from root stake every this many blocks (0: the genesis set
    /// stays; docs/network.md "The validator set from stake").
    #[arg(long, default_value_t = 0)]
    set_epoch: u64,
    /// Where to write `spec.json`, `validator-<i>.key`, the operators' wallets
    /// (`wallets/validator-<i>`, coldkeys encrypted with `$TAO_PASSWORD` or a prompted
    /// password), `commands.txt` and each node's data.
    #[arg(long)]
    out: PathBuf,
    /// First RPC port (validator i listens on this + i).
    #[arg(long, default_value_t = 9944)]
    rpc_port: u16,
    /// First p2p port (validator i listens on this + i).
    #[arg(long, default_value_t = 30333)]
    p2p_port: u16,
    /// Time between blocks for every node.
    #[arg(long, default_value = "1s")]
    block_time: String,
    /// Directory of the compiled system contracts the nodes run (default: this workspace's
    /// build), written into each command.
    #[arg(long)]
    modules: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

pub(crate) fn run(command: TestnetCommand) -> Result<ExitCode> {
    match command {
        TestnetCommand::Init(args) => init(&args),
        TestnetCommand::Check(args) => check::run(&args),
    }
}

/// Root stake of each testnet validator's hotkey, and so its power: 10,000 τ in rao.
const VALIDATOR_STAKE: u64 = 10_000 * tao_types::RAO_PER_TAO;
/// What each operator coldkey holds at genesis beyond its stake, for fees: 100 τ.
const OPERATOR_SPARE: u64 = 100 * tao_types::RAO_PER_TAO;
/// The hotkey name of each operator wallet (`tao wallet create`'s default).
const OPERATOR_HOTKEY: &str = "default";

/// A genesis validator: its consensus key and the operator keys it validates for.
struct GenesisValidator {
    key: SecretKey,
    coldkey: SecretKey,
    hotkey: SecretKey,
}

/// `count` fresh validators, ordered as the set from stake orders equal stakes (the lower
/// hotkey first), so the first epoch names exactly the genesis set.
fn genesis_validators(count: usize) -> Result<Vec<GenesisValidator>> {
    let mut validators = (0..count)
        .map(|_| Ok(GenesisValidator { key: new_key()?, coldkey: new_key()?, hotkey: new_key()? }))
        .collect::<Result<Vec<_>>>()?;
    validators.sort_by_key(|v| v.hotkey.address());
    Ok(validators)
}

/// The set from stake of a testnet of `count` validators every `epoch` blocks: at most 64, at
/// least 1,000 τ each, and more than two thirds of `count` of them (so an epoch never hands the
/// chain to fewer operators than a quorum of the genesis set).
fn set_from_stake(count: usize, epoch: u64) -> Option<SpecValidatorSet> {
    (epoch > 0).then(|| SpecValidatorSet {
        max_validators: 64,
        min_stake: tao_node::spec::DEV_ROOT_STAKE,
        epoch,
        min_validators: u16::try_from(count * 2 / 3 + 1).unwrap_or(u16::MAX),
    })
}

/// Writes operator `i`'s wallet under `out/wallets` (as `tao wallet` reads it with
/// `--wallet-path out`).
fn write_operator(
    out: &Path,
    i: usize,
    validator: &GenesisValidator,
    password: &str,
    common: &Common,
) -> Result<()> {
    let dir = out.join("wallets").join(format!("validator-{i}"));
    save_coldkey_with(&dir, &validator.coldkey, password, common)?;
    save_hotkey(&dir, OPERATOR_HOTKEY, &validator.hotkey, common)?;
    Ok(())
}

fn init(args: &InitArgs) -> Result<ExitCode> {
    let count = usize::from(args.validators);
    let nodes = args.validators.checked_add(args.candidates).context("too many nodes")?;
    let last = |first: u16| first.checked_add(nodes - 1).context("the ports run past 65535");
    last(args.rpc_port)?;
    last(args.p2p_port)?;
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        confirm(&format!("{} is not empty: overwrite its testnet files?", args.out.display()), &args.common)?;
    }
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let out = args.out.canonicalize()?;
    let genesis = genesis_validators(count)?;
    let password = password(true)?;
    for (i, validator) in genesis.iter().enumerate() {
        write_operator(&out, i, validator, &password, &args.common)?;
    }
    let candidates = (count..usize::from(nodes)).map(|_| new_key()).collect::<Result<Vec<_>>>()?;
    let keys: Vec<SecretKey> = genesis.iter().map(|v| v.key.clone()).chain(candidates).collect();
    let validators = genesis
        .iter()
        .map(|v| SpecValidator {
            key: format!("0x{}", hex::encode(v.key.public_key().to_compressed())),
            power: VALIDATOR_STAKE,
            operator: Some(SpecOperator::signed(
                &v.key,
                v.coldkey.address(),
                v.hotkey.address(),
                VALIDATOR_STAKE,
            )),
        })
        .collect();
    let dev = ChainSpec::dev(crate::node::DEV_GENESIS_MS);
    let operators = genesis.iter().map(|v| (v.coldkey.address(), VALIDATOR_STAKE + OPERATOR_SPARE));
    let balances = dev.balances.iter().copied().chain(operators).collect();
    let validator_set = set_from_stake(count, args.set_epoch);
    let spec = ChainSpec { validators, validator_set, balances, ..dev };
    let spec_path = out.join("spec.json");
    std::fs::write(&spec_path, serde_json::to_string_pretty(&spec)?)?;
    let tao = std::env::current_exe().context("locating the tao binary")?;
    let modules = args.modules.clone().unwrap_or_else(crate::contracts_dir);
    let modules = modules.canonicalize().with_context(|| {
        format!("{} (build the contracts with `cargo xtask contracts`)", modules.display())
    })?;
    let p2p = |i: usize| format!("/ip4/127.0.0.1/tcp/{}", usize::from(args.p2p_port) + i);
    let mut lines = Vec::with_capacity(count);
    for (i, key) in keys.iter().enumerate() {
        let key_path = out.join(format!("validator-{i}.key"));
        write_secret(&key_path, &hex::encode(key.to_bytes()))?;
        let bootnodes: Vec<String> = (0..keys.len()).filter(|j| *j != i).map(p2p).collect();
        let mut line = format!(
            "{} node --chain {} --modules {} --validator-key-file {} --base-path {} --rpc-addr 127.0.0.1:{} --p2p-addr {} --block-time {}",
            tao.display(),
            spec_path.display(),
            modules.display(),
            key_path.display(),
            out.join(format!("node-{i}")).display(),
            usize::from(args.rpc_port) + i,
            p2p(i),
            args.block_time,
        );
        if !bootnodes.is_empty() {
            line.push_str(&format!(" --bootnodes {}", bootnodes.join(",")));
        }
        lines.push(line);
    }
    std::fs::write(out.join("commands.txt"), lines.join("\n") + "\n")?;
    report(args, &out, &keys, &genesis)?;
    Ok(ExitCode::SUCCESS)
}

fn report(args: &InitArgs, out: &Path, keys: &[SecretKey], genesis: &[GenesisValidator]) -> Result<()> {
    let addresses: Vec<String> = keys.iter().map(|k| k.address().to_string()).collect();
    let (validators, candidates) = addresses.split_at(usize::from(args.validators));
    let operators: Vec<_> = genesis
        .iter()
        .enumerate()
        .map(|(i, v)| {
            json!({"wallet": format!("validator-{i}"), "coldkey": v.coldkey.address(), "hotkey": v.hotkey.address(), "stake": VALIDATOR_STAKE})
        })
        .collect();
    if args.common.json {
        println!(
            "{}",
            json!({"out": out, "spec": out.join("spec.json"), "commands": out.join("commands.txt"), "wallets": out.join("wallets"), "validators": validators, "operators": operators, "candidates": candidates})
        );
    } else {
        println!("wrote a {}-validator testnet to {}", validators.len(), out.display());
        for (i, address) in addresses.iter().enumerate() {
            let role = if i < validators.len() { "validator" } else { "candidate" };
            println!("  {role} {i}: {address} (key {})", out.join(format!("validator-{i}.key")).display());
        }
        println!(
            "each validator's operator (root hotkey `{OPERATOR_HOTKEY}` with {} staked) is wallet validator-<i> of --wallet-path {}",
            tao_types::Balance(VALIDATOR_STAKE),
            out.display()
        );
        println!("start each line of {} in its own terminal", out.join("commands.txt").display());
    }
    Ok(())
}

/// A fresh validator key from the system's randomness.
fn new_key() -> Result<SecretKey> {
    loop {
        let mut bytes = [0u8; 32];
        getrandom::getrandom(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        // Out of range in about 2^-128 of draws: draw again.
        if let Ok(key) = SecretKey::from_bytes(&bytes) {
            return Ok(key);
        }
    }
}

/// Writes a secret readable by its owner only.
fn write_secret(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

/// Reads a validator key file (hex of the 32-byte secret, as `tao testnet init` writes).
pub(crate) fn read_key_file(path: &Path) -> Result<SecretKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse_key(text.trim()).with_context(|| format!("{} is not a validator key file", path.display()))
}

/// A 32-byte secret key in hex (`0x` optional).
pub(crate) fn parse_key(hex_key: &str) -> Result<SecretKey> {
    let bytes: [u8; 32] = hex::decode(hex_key.trim_start_matches("0x"))?
        .try_into()
        .ok()
        .context("a validator key is 32 bytes of hex")?;
    let key = SecretKey::from_bytes(&bytes)?;
    if key.to_bytes() != bytes {
        bail!("not a canonical secret key");
    }
    Ok(key)
}

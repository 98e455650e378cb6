//! `tao module check` and `tao module run`: the VM's verdict on a module, before deploying it;
//! `tao module deploy` and `tao module show`: the module on chain.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use serde_json::json;
use tao_types::{Balance, Hash};
use tao_vm::{Access, AdmissionReport, CallContext, CodeClass, Execution, MemoryStorage, Vm, VmConfig};

use crate::client::Client;
use crate::keys::{self, Common, Net};
use crate::preflight;
use crate::transfer::{finish, submit_to};
use tao_client::tx::Draft;

#[derive(Subcommand)]
pub(crate) enum ModuleCommand {
    /// Run admission on a module: accepted with its code hash and limits used, or why not.
    Check {
        #[command(flatten)]
        file: ModuleFile,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Run one entry point on an empty in-memory state and show what it did.
    Run {
        #[command(flatten)]
        file: ModuleFile,
        /// Entry point to call.
        #[arg(long = "call")]
        entry: String,
        /// Input bytes as hex (with or without 0x).
        #[arg(long, default_value = "")]
        input: String,
        /// Gas (fuel) limit for the call.
        #[arg(long, default_value_t = 10_000_000)]
        fuel: u64,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Deploy a module from a wallet's coldkey (checked locally first); prints its code hash.
    Deploy {
        #[arg(long)]
        wallet: String,
        /// The module: a `.wasm` binary or a `.wat` text file.
        file: PathBuf,
        #[command(flatten)]
        net: Net,
    },
    /// Call an entry point of a deployed contract (a code hash) or a system module (its name:
    /// `token`, `staking`, …) from a wallet's coldkey; prints the receipt.
    Call {
        #[arg(long)]
        wallet: String,
        /// A code hash (0x…) or a system module's name.
        contract: String,
        /// The entry point, e.g. `entry_deposit`.
        entry: String,
        /// Arguments as hex (with or without 0x): the borsh encoding the entry point expects.
        #[arg(long, default_value = "")]
        args: String,
        /// Most the call may cost: `0.1 TAO`, `100000000 rao`.
        #[arg(long, default_value = "0.1 TAO", value_parser = crate::transfer::parse_amount)]
        fee_limit: Balance,
        #[command(flatten)]
        net: Net,
    },
    /// Whether code with `hash` is deployed (verified against a certified header), and its size.
    Show {
        /// The code hash (0x…).
        hash: Hash,
        #[command(flatten)]
        net: Net,
    },
}

#[derive(Args)]
pub(crate) struct ModuleFile {
    /// The module: a `.wasm` binary or a `.wat` text file.
    file: PathBuf,
    /// Admit as system code (floats allowed, canonicalized) instead of uploaded code.
    #[arg(long)]
    system: bool,
}

impl ModuleFile {
    fn bytes(&self) -> Result<Vec<u8>> {
        let bytes = std::fs::read(&self.file).with_context(|| format!("reading {}", self.file.display()))?;
        if is_text(&self.file) {
            return wat::parse_bytes(&bytes)
                .map(|b| b.into_owned())
                .with_context(|| format!("parsing {} as WebAssembly text", self.file.display()));
        }
        Ok(bytes)
    }

    fn class(&self) -> CodeClass {
        if self.system { CodeClass::System } else { CodeClass::Uploaded }
    }

    /// What the module may touch when run: as on chain, uploaded code only its own namespace.
    fn access(&self, code_hash: &Hash) -> Access {
        if self.system {
            Access::System
        } else {
            Access::Contract(tao_abi::access::contract_address(code_hash))
        }
    }
}

fn is_text(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "wat")
}

pub(crate) fn run(command: ModuleCommand) -> Result<ExitCode> {
    let vm = Vm::new(VmConfig::default())?;
    match command {
        ModuleCommand::Check { file, json } => check(&vm, &file, json),
        ModuleCommand::Run { file, entry, input, fuel, json } => call(&vm, &file, &entry, &input, fuel, json),
        ModuleCommand::Deploy { wallet, file, net: Net { url, common } } => {
            deploy(&vm, &ModuleFile { file, system: false }, &wallet, &url, &common)
        }
        ModuleCommand::Show { hash, net } => show_deployed(&hash, &net.url, net.common.json),
        ModuleCommand::Call { wallet, contract, entry, args, fee_limit, net: Net { url, common } } => {
            call_deployed(&wallet, &contract, &entry, &args, fee_limit, &url, &common)
        }
    }
}

/// The code hash `contract` names: itself, or the system module of that name (verified).
fn resolve_contract(client: &Client, contract: &str) -> Result<Hash> {
    if let Ok(hash) = contract.parse::<Hash>() {
        return Ok(hash);
    }
    let key = tao_chain::keys::module(contract);
    let (_, value) = client.verified_state(&key)?;
    let bytes = value.with_context(|| format!("`{contract}` is neither a code hash nor a system module"))?;
    Ok(Hash(bytes.try_into().map_err(|_| anyhow::anyhow!("malformed module hash of `{contract}`"))?))
}

fn call_deployed(
    wallet: &str,
    contract: &str,
    entry: &str,
    args: &str,
    fee_limit: Balance,
    url: &str,
    common: &Common,
) -> Result<ExitCode> {
    let args = hex::decode(args.trim_start_matches("0x")).context("--args must be hex")?;
    let client = Client::new(url)?;
    let hash = resolve_contract(&client, contract)?;
    let question = format!("call {entry} of {contract} for at most {fee_limit}?");
    // A system module named: previewed like every other command (the entry name lives as long
    // as this one-shot process). Code named by hash runs boxed, as its own account, which no
    // client can preview: its code and entry point are checked on proven state instead.
    let system = tao_abi::interfaces::SYSTEM.iter().map(|(name, _)| *name).find(|name| *name == contract);
    let status = match system {
        Some(module) => {
            let method: &'static str = entry.to_string().leak();
            let draft = Draft { module: Some(module), method, args, fee: fee_limit.0 };
            preflight::send_confirmed(&client, common, wallet, &draft, None, &question)?
        }
        None => {
            let summary = check_entry(&client, common, &hash, entry)?;
            keys::confirm(&format!("{question}\n  {summary}\n "), common)?;
            let key = keys::coldkey(common, wallet)?;
            submit_to(&client, &key, hash, entry, args, fee_limit, common.json)?
        }
    };
    Ok(finish(&status, common.json, entry))
}

/// The preflight of a call to uploaded code `hash`: its entry points, proven at the head
/// (`sys/entries/<hash>`), must hold `entry`, else the chain would answer "no contract" or a
/// missing export, for a fee: refused here unless `--force`.
fn check_entry(client: &Client, common: &Common, hash: &Hash, entry: &str) -> Result<String> {
    let key = tao_chain::keys::entries(hash);
    let (height, value) = client.verified_state(&key)?;
    let why = match value {
        None => format!("no contract {hash}"),
        Some(bytes) => {
            let entries: Vec<String> = tao_codec::decode(&bytes, tao_abi::limits::MAX_VALUE_BYTES as usize)?;
            if entries.iter().any(|e| e == entry) {
                return Ok(format!(
                    "preflight at #{height}: code {hash} exports {entry} (its call is not previewed)"
                ));
            }
            format!("code {hash} has no entry point {entry} (it has {})", entries.join(", "))
        }
    };
    if common.force {
        eprintln!("--force: sending although the chain would refuse it ({why})");
        return Ok(format!("--force: {why}"));
    }
    Err(preflight::Refused { why, height }.into())
}

/// Fee limit of a deployment: the per-byte fee of the transaction (module plus envelope) and
/// 0.01 τ of gas.
fn deploy_fee_limit(code_len: usize) -> Balance {
    let bytes = code_len as u64 + 512;
    Balance(bytes.saturating_mul(tao_contract_token::FEE_PER_BYTE).saturating_add(10_000_000))
}

fn deploy(vm: &Vm, file: &ModuleFile, wallet: &str, url: &str, common: &Common) -> Result<ExitCode> {
    let bytes = file.bytes()?;
    if let Err(e) = vm.admit(&bytes, CodeClass::Uploaded) {
        bail!("the chain would refuse this module: {e}");
    }
    let hash = Hash(tao_types::keccak256(&bytes));
    let fee_limit = deploy_fee_limit(bytes.len());
    let client = Client::new(url)?;
    let question = format!(
        "deploy {} ({} bytes, code hash {hash}) for at most {fee_limit}?",
        file.file.display(),
        bytes.len()
    );
    let draft = Draft { module: None, method: "deploy", args: bytes, fee: fee_limit.0 };
    let mut status = preflight::send_confirmed(&client, common, wallet, &draft, None, &question)?;
    status["code_hash"] = json!(hash);
    Ok(finish(&status, common.json, &format!("deployed code hash {hash}")))
}

fn show_deployed(hash: &Hash, url: &str, json: bool) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let key = tao_chain::keys::code(hash);
    let (height, code) = client.verified_state(&key)?;
    let size = code.as_ref().map(Vec::len);
    if json {
        println!(
            "{}",
            json!({"hash": hash, "deployed": size.is_some(), "size": size, "verified_at": height})
        );
    } else if let Some(size) = size {
        println!("{hash}: deployed, {size} bytes (verified at #{height})");
    } else {
        println!("{hash}: not deployed (verified at #{height})");
    }
    Ok(if size.is_some() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn check(vm: &Vm, file: &ModuleFile, json: bool) -> Result<ExitCode> {
    let bytes = file.bytes()?;
    match vm.admit(&bytes, file.class()) {
        Ok(admitted) => {
            if json {
                let out = json!({"accepted": true, "code_hash": admitted.code_hash.to_string(), "report": admitted.report});
                println!("{out}");
            } else {
                println!("accepted  {}", admitted.code_hash);
                print_report(&admitted.report);
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => Ok(print_rejection(&e, json)),
    }
}

fn print_rejection(e: &tao_vm::AdmissionError, json: bool) -> ExitCode {
    if json {
        println!("{}", json!({"accepted": false, "error": e.to_string()}));
    } else {
        println!("rejected  {e}");
    }
    ExitCode::FAILURE
}

fn print_report(r: &AdmissionReport) {
    let limits = tao_vm::Limits::V1;
    println!("  size            {} bytes (limit {})", r.size_bytes, limits.max_code_bytes);
    println!("  functions       {} (limit {})", r.functions, limits.max_functions);
    println!("  entry points    {}", r.entry_points.join(", "));
    println!("  imports         {}", r.imports.join(", "));
    println!("  initial memory  {} pages (limit {})", r.initial_pages, limits.max_initial_pages);
    println!("  table           {} elements (limit {})", r.table_elements, limits.max_table_elements);
    println!("  max locals      {} (limit {})", r.max_locals, limits.max_locals);
    println!("  largest body    {} bytes (limit {})", r.max_body_bytes, limits.max_body_bytes);
    println!(
        "  largest frame   {} stack units (budget {})",
        r.max_frame_units,
        tao_vm::instrument::MAX_STACK_UNITS
    );
}

fn call(vm: &Vm, file: &ModuleFile, entry: &str, input: &str, fuel: u64, json: bool) -> Result<ExitCode> {
    let input = hex::decode(input.trim_start_matches("0x")).context("--input must be hex")?;
    let admitted = match vm.admit(&file.bytes()?, file.class()) {
        Ok(admitted) => admitted,
        Err(e) => return Ok(print_rejection(&e, json)),
    };
    let module = vm.prepare(&admitted)?;
    let storage = Arc::new(MemoryStorage::default());
    let context = CallContext { access: file.access(&admitted.code_hash), ..CallContext::default() };
    let exec = vm.call(&module, entry, &input, context, storage, fuel)?;
    if json {
        println!("{}", execution_json(&exec, fuel));
    } else {
        print_execution(&exec, fuel);
    }
    Ok(if exec.outcome.is_ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Bytes as UTF-8 when printable, hex otherwise.
fn show(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) if !s.is_empty() && s.chars().all(|c| !c.is_control()) => format!("{s:?}"),
        _ => format!("0x{}", hex::encode(bytes)),
    }
}

fn print_execution(exec: &Execution, fuel: u64) {
    println!("outcome   {}", exec.outcome);
    println!("gas used  {} of {fuel}", exec.gas_used);
    println!("output    0x{}", hex::encode(&exec.output));
    for event in &exec.events {
        println!("event     {} {}", show(&event.topic), show(&event.data));
    }
    for (key, value) in &exec.writes {
        match value {
            Some(v) => println!("write     {} = {}", show(key), show(v)),
            None => println!("remove    {}", show(key)),
        }
    }
}

fn execution_json(exec: &Execution, fuel: u64) -> serde_json::Value {
    let events: Vec<_> = exec
        .events
        .iter()
        .map(|e| json!({"topic": hex::encode(&e.topic), "data": hex::encode(&e.data)}))
        .collect();
    let writes: Vec<_> = exec
        .writes
        .iter()
        .map(|(k, v)| json!({"key": hex::encode(k), "value": v.as_ref().map(hex::encode)}))
        .collect();
    json!({
        "ok": exec.outcome.is_ok(),
        "outcome": exec.outcome,
        "gas_used": exec.gas_used,
        "gas_limit": fuel,
        "output": hex::encode(&exec.output),
        "events": events,
        "writes": writes,
    })
}

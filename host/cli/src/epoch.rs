//! `tao epoch simulate`: runs the chain's own Yuma epoch on a JSON description of a subnet, the
//! way subnet designers try hyperparameters before proposing them (like Bittensor's
//! yuma-simulation). By default the compiled incentive contract runs through the VM, exactly as
//! on the chain; `--native` runs the same code built natively.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use tao_contract_incentive::epoch::{self, EpochInput, EpochOutput};
use tao_vm::{CallContext, CodeClass, MemoryStorage, Outcome, Vm, VmConfig};

/// Gas for one simulated epoch: far above what 4096 UIDs need.
const EPOCH_GAS: u64 = 50_000_000_000;
/// Largest input file read.
const MAX_INPUT_BYTES: u64 = 64 << 20;
/// Most epochs one run simulates.
const MAX_EPOCHS: u32 = 10_000;

#[derive(Subcommand)]
pub(crate) enum EpochCommand {
    /// Run epochs on a JSON input (schema: docs/epoch-simulator.md) and print every output.
    Simulate {
        /// The input file.
        #[arg(long)]
        input: PathBuf,
        /// Epochs to run; bonds and permits feed forward, blocks advance by one interval.
        #[arg(long, default_value_t = 1)]
        epochs: u32,
        /// Run the native build instead of the compiled Wasm module.
        #[arg(long)]
        native: bool,
        /// The compiled incentive module to run (default: the workspace build).
        #[arg(long)]
        module: Option<PathBuf>,
        /// Print JSON for scripts.
        #[arg(long)]
        json: bool,
    },
}

pub(crate) fn run(command: EpochCommand) -> Result<ExitCode> {
    let EpochCommand::Simulate { input, epochs, native, module, json } = command;
    if epochs == 0 || epochs > MAX_EPOCHS {
        bail!("--epochs must be between 1 and {MAX_EPOCHS}");
    }
    let first = read_input(&input)?;
    let mut engine = if native { Engine::Native } else { Engine::wasm(module.as_deref())? };
    let mut current = first;
    let mut results = Vec::new();
    for _ in 0..epochs {
        let (output, gas) = engine.run(&current)?;
        let next = advance(&current, &output);
        results.push((current.block, output, gas));
        current = next;
    }
    if json {
        let epochs: Vec<_> = results
            .iter()
            .map(|(block, out, gas)| json!({"block": block, "gas_used": gas, "output": out}))
            .collect();
        println!("{}", json!({"engine": engine.name(), "epochs": epochs}));
    } else {
        for (block, out, gas) in &results {
            print_epoch(*block, out, *gas, engine.name());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn read_input(path: &Path) -> Result<EpochInput> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let len = file.metadata()?.len();
    if len > MAX_INPUT_BYTES {
        bail!("{} is {len} bytes; the limit is {MAX_INPUT_BYTES}", path.display());
    }
    serde_json::from_reader(std::io::BufReader::new(file)).with_context(|| {
        format!("{} is not a valid epoch input (see docs/epoch-simulator.md)", path.display())
    })
}

/// The next epoch's input: bonds and permits from `output`, the block one interval on, and
/// every neuron's weights re-submitted (their last update advances by the same interval).
fn advance(input: &EpochInput, output: &EpochOutput) -> EpochInput {
    let interval = input.block.saturating_sub(input.last_epoch_block).max(1);
    let mut next = input.clone();
    next.last_epoch_block = input.block;
    next.block = input.block.saturating_add(interval);
    for (neuron, out) in next.neurons.iter_mut().zip(&output.neurons) {
        neuron.bonds = out.bonds.clone();
        neuron.permit = out.permit;
        neuron.last_update = neuron.last_update.saturating_add(interval);
    }
    next
}

enum Engine {
    Native,
    /// The compiled built-in Yuma, or (`subnet`) a subnet's own module, which gets the chain's
    /// gas budget and whose output gets the chain's checks.
    Wasm {
        vm: Box<Vm>,
        module: tao_vm::Prepared,
        subnet: bool,
    },
}

impl Engine {
    fn wasm(path: Option<&Path>) -> Result<Self> {
        let subnet = path.is_some();
        let path = path.map(Path::to_path_buf).unwrap_or_else(default_module);
        let bytes = std::fs::read(&path).with_context(|| {
            format!(
                "reading {} (build the contracts with `cargo xtask contracts`, or pass --module)",
                path.display()
            )
        })?;
        let vm = Vm::new(VmConfig::default())?;
        let admitted =
            vm.admit(&bytes, CodeClass::Uploaded).with_context(|| format!("admitting {}", path.display()))?;
        let module = vm.prepare(&admitted)?;
        Ok(Engine::Wasm { vm: Box::new(vm), module, subnet })
    }

    fn name(&self) -> &'static str {
        match self {
            Engine::Native => "native",
            Engine::Wasm { .. } => "wasm",
        }
    }

    /// One epoch; the gas used when run in the VM.
    fn run(&mut self, input: &EpochInput) -> Result<(EpochOutput, Option<u64>)> {
        match self {
            Engine::Native => Ok((epoch::run(input).map_err(|e| anyhow::anyhow!("epoch input: {e}"))?, None)),
            Engine::Wasm { vm, module, subnet } => {
                let bytes = borsh::to_vec(input)?;
                let storage = Arc::new(MemoryStorage::default());
                let gas = if *subnet { tao_chain::MODULE_EPOCH_GAS } else { EPOCH_GAS };
                let exec = vm.call(module, "entry_epoch", &bytes, CallContext::default(), storage, gas)?;
                let fallback = "the chain would pay this epoch with Yuma instead";
                match exec.outcome {
                    Outcome::Ok if *subnet => {
                        let output = decode_output(&exec.output)
                            .map_err(|_| anyhow::anyhow!("{fallback}: output does not decode"))
                            .and_then(|o| {
                                tao_contract_incentive::validate(input, o)
                                    .map_err(|why| anyhow::anyhow!("{fallback}: {why}"))
                            })?;
                        Ok((output, Some(exec.gas_used)))
                    }
                    Outcome::Ok => Ok((decode_output(&exec.output)?, Some(exec.gas_used))),
                    other if *subnet => bail!("{fallback}: {other}"),
                    Outcome::Abort(message) => bail!("{message}"),
                    Outcome::HostError(e) => {
                        bail!(
                            "the epoch module failed: {e} (the VM caps a call's input and output; run graphs this large with --native)"
                        )
                    }
                    other => bail!("the epoch module failed: {other}"),
                }
            }
        }
    }
}

/// A module's epoch output, decoded like any untrusted bytes: the VM caps a call's output at the
/// ABI's limit, so this refuses nothing the chain would accept.
fn decode_output(bytes: &[u8]) -> Result<EpochOutput, tao_codec::DecodeError> {
    tao_codec::decode(bytes, tao_abi::limits::MAX_OUTPUT_BYTES as usize)
}

/// The workspace build of the incentive contract.
fn default_module() -> PathBuf {
    crate::contracts_dir().join("tao_contract_incentive.wasm")
}

/// A stored `u16` fraction as a decimal with four places, in integers.
fn fraction(x: u16) -> String {
    let ten_thousandths = (u32::from(x) * 10_000 + 32_767) / 65_535;
    format!("{}.{:04}", ten_thousandths / 10_000, ten_thousandths % 10_000)
}

fn print_epoch(block: u64, out: &EpochOutput, gas: Option<u64>, engine: &str) {
    let gas = gas.map(|g| format!(", {g} gas")).unwrap_or_default();
    println!("epoch at block {block} ({engine}{gas})");
    println!(
        "{:>5} {:>6} {:>6} {:>7} {:>9} {:>9} {:>9} {:>7} {:>16} {:>16} {:>5}",
        "uid",
        "active",
        "permit",
        "stake",
        "consensus",
        "incentive",
        "dividends",
        "vtrust",
        "miner rao",
        "validator rao",
        "bonds"
    );
    for (uid, n) in out.neurons.iter().enumerate() {
        println!(
            "{uid:>5} {:>6} {:>6} {:>7} {:>9} {:>9} {:>9} {:>7} {:>16} {:>16} {:>5}",
            yes(n.active),
            yes(n.permit),
            fraction(n.stake_weight),
            fraction(n.consensus),
            fraction(n.incentive),
            fraction(n.dividends),
            fraction(n.validator_trust),
            n.server_emission,
            n.validator_emission,
            n.bonds.len()
        );
    }
    println!("undistributed {} rao", out.undistributed);
}

fn yes(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

//! `tao`: the wasmtensor command line: wallets, transfers, subnets, staking, weights, modules,
//! governance, the epoch simulator and the node.

mod bench;
mod children;
mod client;
mod config;
mod delegation;
mod epoch;
mod gov;
mod keys;
mod keystore;
mod light;
mod log;
mod module;
mod neuron;
mod neurons;
mod node;
mod output;
mod preflight;
mod proven;
mod root;
mod subnet;
mod subnet_info;
mod swap;
mod testnet;
mod transfer;
mod trust;
mod wallet;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tao", version, about = "wasmtensor command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    trust: trust::TrustArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Check and run Wasm modules (incentive modules and contracts).
    #[command(subcommand)]
    Module(module::ModuleCommand),
    /// Simulate Yuma epochs with the chain's own code.
    #[command(subcommand)]
    Epoch(epoch::EpochCommand),
    /// Run a node.
    Node(node::NodeArgs),
    /// Create and inspect wallets (coldkeys and hotkeys).
    #[command(subcommand)]
    Wallet(wallet::WalletCommand),
    /// Send TAO.
    Transfer(transfer::TransferArgs),
    /// Create and inspect subnets; register neurons.
    #[command(subcommand)]
    Subnet(subnet::SubnetCommand),
    /// Stake and list stake.
    #[command(subcommand)]
    Stake(subnet::StakeCommand),
    /// The root subnet: register a hotkey, list the root UIDs (docs/cli.md).
    #[command(subcommand)]
    Root(root::RootCommand),
    /// Set, commit and reveal weights as a validator.
    #[command(subcommand)]
    Weights(neuron::WeightsCommand),
    /// Publish a miner's axon.
    #[command(subcommand)]
    Axon(neuron::AxonCommand),
    /// Run a miner of the example subnet (docs/neurons.md).
    #[command(subcommand)]
    Miner(neurons::MinerCommand),
    /// Run a validator of the example subnet (docs/neurons.md).
    #[command(subcommand)]
    Validator(neurons::ValidatorCommand),
    /// Pay a validator's gateway for an answer from its subnet's miners (docs/neurons.md).
    #[command(subcommand)]
    Gateway(neurons::GatewayCommand),
    /// Propose protocol changes and vote on them with stake.
    #[command(subcommand)]
    Gov(gov::GovCommand),
    /// Benchmarks of a real node (docs/cli.md, "Benchmarks").
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// The chains this CLI trusts, pinned per network on first use (docs/cli.md).
    #[command(subcommand)]
    Network(trust::NetworkCommand),
    /// Local validator networks (docs/network.md).
    #[command(subcommand)]
    Testnet(testnet::TestnetCommand),
    /// A local JSON-RPC server answering only with values it verified (docs/light-client.md).
    Light(light::LightArgs),
}

/// Where `cargo xtask contracts` puts the compiled contracts: `target/wasm32-unknown-unknown/
/// contract` of this workspace, or of `$CARGO_TARGET_DIR`.
pub(crate) fn contracts_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("wasm32-unknown-unknown/contract")
}

/// This workspace's built browser wallet (`cargo xtask web`).
pub(crate) fn wallet_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/dist")
}

fn main() -> std::process::ExitCode {
    output::end_quietly_on_closed_stdout();
    let json = output::wants_json();
    let matches = match Cli::command().try_get_matches() {
        Ok(matches) => matches,
        Err(e) if json && e.use_stderr() => {
            println!("{}", output::usage_json(&e));
            return std::process::ExitCode::from(2);
        }
        Err(e) => e.exit(),
    };
    let result = with_network(&matches).and_then(run);
    match result {
        Ok(code) => code,
        Err(e) => {
            if json {
                println!("{}", output::error_json(&e));
            }
            eprintln!("error: {}", tao_types::amounts_in_tao(&format!("{e:#}")));
            std::process::ExitCode::from(2)
        }
    }
}

/// The parsed command line, with the node URL and trust options a configured network supplies
/// (`config.toml`; `--url` and `TAO_URL` win) recorded for every client.
fn with_network(matches: &clap::ArgMatches) -> anyhow::Result<Cli> {
    let cli = Cli::from_arg_matches(matches)?;
    let mut trust = cli.trust.clone();
    let chosen = match config::url_given(matches) {
        Some(url_given) => {
            let dir = trust::default_dir()?;
            config::Config::load(&dir)?.select(&dir, &mut trust, url_given)?
        }
        None => None,
    };
    let cli = match chosen {
        Some(url) => Cli::from_arg_matches(&config::with_default_url(Cli::command(), &url).get_matches())?,
        None => cli,
    };
    trust::configure(trust);
    Ok(cli)
}

fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    match cli.command {
        Command::Module(command) => module::run(command),
        Command::Epoch(command) => epoch::run(command),
        Command::Node(args) => node::run(args),
        Command::Wallet(command) => wallet::run(command),
        Command::Transfer(args) => transfer::run(args),
        Command::Subnet(command) => subnet::run_subnet(command),
        Command::Stake(command) => subnet::run_stake(command),
        Command::Root(command) => root::run(command),
        Command::Weights(command) => neuron::run_weights(command),
        Command::Axon(command) => neuron::run_axon(command),
        Command::Miner(command) => neurons::run_miner(command),
        Command::Validator(command) => neurons::run_validator(command),
        Command::Gateway(command) => neurons::run_gateway(command),
        Command::Gov(command) => gov::run(command),
        Command::Network(command) => trust::run(command),
        Command::Bench(command) => bench::run(command),
        Command::Testnet(command) => testnet::run(command),
        Command::Light(args) => light::run(args),
    }
}

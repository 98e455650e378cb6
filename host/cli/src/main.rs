//! `tao`: the wasmtensor command line. Today it has the module author's tools and the epoch
//! simulator; the node, wallet, staking and subnet commands arrive with the node issue.

mod epoch;
mod module;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "tao", version, about = "wasmtensor command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check and run Wasm modules (incentive modules and contracts).
    #[command(subcommand)]
    Module(module::ModuleCommand),
    /// Simulate Yuma epochs with the chain's own code.
    #[command(subcommand)]
    Epoch(epoch::EpochCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Module(command) => module::run(command),
        Command::Epoch(command) => epoch::run(command),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(2)
        }
    }
}

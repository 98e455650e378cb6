//! `tao transfer`, and how every command that moves funds signs, submits and waits.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Result, bail};
use clap::Args;
use serde_json::{Value, json};
use tao_crypto::SecretKey;
use tao_tx::{Call, Transaction};
use tao_types::{Address, Balance, Hash};

use tao_client::tx::Draft;

use crate::client::Client;
use crate::keys::{self, Net};

/// Default fee limit: 0.01 τ.
const DEFAULT_FEE_LIMIT: &str = "0.01 TAO";
/// How long to wait for finalization.
const WAIT: Duration = Duration::from_secs(120);

#[derive(Args)]
pub(crate) struct TransferArgs {
    /// Wallet whose coldkey pays.
    #[arg(long)]
    wallet: String,
    /// Recipient address.
    #[arg(long)]
    to: Address,
    /// Amount: `1.5` or `1.5 TAO` (τ), or `1500 rao`.
    #[arg(long, value_parser = parse_amount)]
    amount: Balance,
    /// Most fee to pay.
    #[arg(long, default_value = DEFAULT_FEE_LIMIT, value_parser = parse_amount)]
    fee_limit: Balance,
    /// Refuse if the sender would drop below the existential deposit.
    #[arg(long)]
    keep_alive: bool,
    #[command(flatten)]
    net: Net,
}

/// An amount in τ (a bare number) or with a unit.
pub(crate) fn parse_amount(s: &str) -> Result<Balance, String> {
    let s = s.trim();
    let with_unit =
        if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') { format!("{s} TAO") } else { s.to_string() };
    with_unit.parse().map_err(|e| format!("{e}"))
}

/// Signs a call of `method` on system module `module` with `key`, submits it and waits for its
/// block, showing a spinner unless `json`. Returns the final `tx_status`.
pub(crate) fn submit(
    client: &Client,
    key: &SecretKey,
    module: &str,
    method: &str,
    args: Vec<u8>,
    fee_limit: Balance,
    json: bool,
) -> Result<Value> {
    submit_to(client, key, client.module(module)?, method, args, fee_limit, json)
}

/// [`submit`] of a preflighted `draft` (a system module call, or an upload).
pub(crate) fn send(client: &Client, key: &SecretKey, draft: &Draft, json: bool) -> Result<Value> {
    let (args, fee) = (draft.args.clone(), Balance(draft.fee));
    match draft.module {
        Some(module) => submit(client, key, module, draft.method, args, fee, json),
        None => submit_to(client, key, tao_tx::DEPLOY, draft.method, args, fee, json),
    }
}

/// [`submit`] to the contract with code hash `contract` (or `tao_chain::DEPLOY`).
pub(crate) fn submit_to(
    client: &Client,
    key: &SecretKey,
    contract: Hash,
    method: &str,
    args: Vec<u8>,
    fee_limit: Balance,
    json: bool,
) -> Result<Value> {
    let domain = client.domain()?;
    let sender = key.address();
    let nonce = client.request::<tao_rpc::AccountGetMethod>(json!([sender]))?.pending_nonce;
    let call = Call {
        contract,
        method: method.as_bytes().to_vec().try_into().map_err(|e| anyhow::anyhow!("method name: {e}"))?,
        args: args.try_into().map_err(|e| anyhow::anyhow!("arguments: {e}"))?,
    };
    let tx = Transaction { chain_id: domain.chain_id, sender, nonce, fee_limit, call }.sign(&domain, key);
    let hash = client.request::<tao_rpc::TxSubmitMethod>(json!([tao_rpc::Bytes::hex(&tx.encode())]))?;
    let spinner = if json { indicatif::ProgressBar::hidden() } else { indicatif::ProgressBar::new_spinner() };
    spinner.set_message(format!("waiting for {hash} to be finalized"));
    spinner.enable_steady_tick(Duration::from_millis(100));
    let poll = Duration::from_millis(200);
    for _ in 0..WAIT.as_millis() / poll.as_millis() {
        match client.request::<tao_rpc::TxStatusMethod>(json!([hash]))? {
            tao_rpc::TxStatus::Pending => std::thread::sleep(poll),
            status => {
                spinner.finish_and_clear();
                let mut out = tao_rpc::encode(&status);
                out["hash"] = json!(hash);
                return Ok(out);
            }
        }
    }
    bail!("not included after {} s", WAIT.as_secs())
}

/// Prints a final status and turns failure into a non-zero exit.
pub(crate) fn finish(status: &Value, json: bool, what: &str) -> ExitCode {
    let ok = status["status"] == "finalized" && status["receipt"]["outcome"] == "Ok";
    if json {
        println!("{status}");
    } else if ok {
        let fee = Balance(status["receipt"]["fee"].as_u64().unwrap_or_default());
        println!("{what}: finalized in block #{} (fee {fee})", status["height"]);
    } else if status["status"] == "finalized" {
        let why = status["receipt"]["outcome"]["Failed"].as_str().unwrap_or_default();
        println!(
            "{what}: failed in block #{}: {} (fee {} charged)",
            status["height"],
            tao_types::amounts_in_tao(why),
            Balance(status["receipt"]["fee"].as_u64().unwrap_or_default())
        );
    } else {
        println!("{what}: {}: {}", status["status"], status["reason"]);
    }
    if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}

pub(crate) fn run(args: TransferArgs) -> Result<ExitCode> {
    let client = Client::new(&args.net.url)?;
    let from = keys::coldkey_address(&args.net.common, &args.wallet)?;
    let draft = Draft { fee: args.fee_limit.0, ..Draft::transfer(args.to, args.amount.0, args.keep_alive) };
    let question = format!("send {} from {from} to {}?", args.amount, args.to);
    let status =
        crate::preflight::send_confirmed(&client, &args.net.common, &args.wallet, &draft, None, &question)?;
    Ok(finish(&status, args.net.common.json, "transfer"))
}

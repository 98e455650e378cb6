//! btcli's subnet views and identity: registration (burn) and lock costs, the identity (set,
//! and shown verified), and the hyperparameters with the incentive module that is active.
//! Flattened into `tao subnet`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use tao_abi::limits;
use tao_client::views;
use tao_contract_subnets::params::{PARAMS, Setter};
use tao_contract_subnets::{MAX_IDENTITY_FIELD, SubnetIdentity, SubnetInfo};
use tao_types::{Balance, NetUid};

use crate::client::Client;
use crate::keys::{Common, Net};
use crate::preflight;
use crate::proven::Reader;
use crate::transfer::finish;

#[derive(Subcommand)]
pub(crate) enum SubnetInfoCommand {
    /// What registering a neuron on a subnet costs now, verified (btcli `subnets burn-cost`).
    BurnCost {
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
    /// What creating a subnet locks now (btcli `subnets lock-cost`; not proven: the chain's own
    /// formula run on the head state).
    LockCost {
        #[command(flatten)]
        net: Net,
    },
    /// Set the subnet's name, URL and description as its owner; fields not given keep their
    /// value (btcli `subnets set-identity`).
    SetIdentity {
        #[arg(long)]
        wallet: String,
        #[arg(long)]
        netuid: NetUid,
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        project_url: Option<String>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        net: Net,
    },
    /// A subnet's owner and identity, verified (btcli `subnets get-identity`).
    Identity {
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
    /// Every hyperparameter with its range and who may set it, and the incentive module the
    /// subnet's epochs run (verified): built-in Yuma or a deployed module's code hash.
    Hyperparameters {
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
}

/// `netuid`'s owner, lock and identity, verified: `(height, info)`; an absent subnet is an error.
fn verified_subnet(client: &Client, netuid: NetUid) -> Result<(u64, SubnetInfo)> {
    let (height, value) = client.verified_state(&tao_contract_subnets::info_key(netuid))?;
    let bytes = value.with_context(|| format!("no subnet {netuid} (verified at #{height})"))?;
    Ok((height, tao_codec::decode(&bytes, limits::MAX_VALUE_BYTES as usize)?))
}

/// A JSON field or a line: `--json` prints `value`, else `text`.
fn print(common: &Common, value: Value, text: &str) -> ExitCode {
    crate::output::print(&value, common.json, text);
    ExitCode::SUCCESS
}

pub(crate) fn run(command: SubnetInfoCommand) -> Result<ExitCode> {
    match command {
        SubnetInfoCommand::BurnCost { netuid, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            verified_subnet(&client, netuid)?;
            let (height, value) = client.verified_state(&tao_contract_neurons::burn_key(netuid))?;
            let burn = match value {
                Some(bytes) => tao_codec::decode(&bytes, 8)?,
                None => tao_contract_neurons::INITIAL_BURN,
            };
            Ok(print(
                &common,
                json!({"netuid": netuid, "burn_cost": burn, "verified_at": height}),
                &format!("registering on subnet {netuid} costs {} (verified at #{height})", Balance(burn)),
            ))
        }
        SubnetInfoCommand::LockCost { net: Net { url, common } } => {
            let (height, cost) = crate::subnet::lock_cost(&Reader::new(&Client::new(&url)?)?)?;
            Ok(print(
                &common,
                json!({"lock_cost": cost, "verified_at": height}),
                &format!("creating a subnet locks {} (verified at #{height})", Balance(cost)),
            ))
        }
        SubnetInfoCommand::SetIdentity {
            wallet,
            netuid,
            name,
            project_url,
            description,
            net: Net { url, common },
        } => {
            let client = Client::new(&url)?;
            let (_, info) = verified_subnet(&client, netuid)?;
            let current = info.identity;
            let identity = SubnetIdentity {
                name: name.unwrap_or(current.name),
                url: project_url.unwrap_or(current.url),
                description: description.unwrap_or(current.description),
            };
            if [&identity.name, &identity.url, &identity.description]
                .iter()
                .any(|f| f.len() > MAX_IDENTITY_FIELD)
            {
                bail!("each identity field is at most {MAX_IDENTITY_FIELD} bytes");
            }
            let question = format!(
                "set subnet {netuid}'s identity to name \"{}\", URL \"{}\", description \"{}\"?",
                identity.name, identity.url, identity.description
            );
            let draft =
                preflight::draft("subnets", "entry_set_identity", borsh::to_vec(&(netuid, identity))?);
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            Ok(finish(&status, common.json, "identity set"))
        }
        SubnetInfoCommand::Identity { netuid, net: Net { url, common } } => {
            let (height, info) = verified_subnet(&Client::new(&url)?, netuid)?;
            let i = &info.identity;
            Ok(print(
                &common,
                json!({"netuid": netuid, "name": i.name, "url": i.url, "description": i.description,
                    "owner_coldkey": info.owner_coldkey, "owner_hotkey": info.owner_hotkey, "verified_at": height}),
                &format!(
                    "subnet {netuid} (verified at #{height})\n  name         {}\n  url          {}\n  description  {}\n  owner        {} (hotkey {})",
                    i.name, i.url, i.description, info.owner_coldkey, info.owner_hotkey
                ),
            ))
        }
        SubnetInfoCommand::Hyperparameters { netuid, net: Net { url, common } } => {
            hyperparameters(&Client::new(&url)?, netuid, &common)
        }
    }
}

/// The hyperparameters and the incentive module that is active, verified: the wallet's subnet
/// view on state proven at the certified head.
fn hyperparameters(client: &Client, netuid: NetUid, common: &Common) -> Result<ExitCode> {
    let (height, view) = Reader::new(client)?.view(|h| views::subnet(h, netuid))?;
    let view = view.with_context(|| format!("there is no subnet {netuid} (proven at #{height})"))?;
    let values: Vec<u64> = view.hyperparameters.iter().map(|(_, v)| *v).collect();
    let module = view.module;
    let setter = |s: Setter| match s {
        Setter::Owner => "owner",
        Setter::Root => "root",
    };
    let rows: Vec<Value> = PARAMS
        .iter()
        .zip(&values)
        .map(|(p, v)| {
            json!({"name": p.name, "value": v, "default": p.default, "min": p.min, "max": p.max,
                "setter": setter(p.setter)})
        })
        .collect();
    if common.json {
        let incentive = json!({"kind": if module.is_some() { "module" } else { "yuma" }, "code_hash": module,
            "verified_at": height});
        println!(
            "{}",
            json!({"netuid": netuid, "height": height, "incentive": incentive, "hyperparameters": rows})
        );
        return Ok(ExitCode::SUCCESS);
    }
    let active = module.map_or("built-in Yuma".to_string(), |h| format!("incentive module {h}"));
    println!("subnet {netuid}: epochs run {active} (verified at #{height})");
    println!("  {:<30} {:>20} {:>20} {:>24}  SET BY", "NAME", "VALUE", "DEFAULT", "RANGE");
    for (p, v) in PARAMS.iter().zip(&values) {
        println!(
            "  {:<30} {:>20} {:>20} {:>24}  {}",
            p.name,
            v,
            p.default,
            format!("{}..={}", p.min, p.max),
            setter(p.setter)
        );
    }
    Ok(ExitCode::SUCCESS)
}

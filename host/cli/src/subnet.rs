//! `tao subnet` and `tao stake`: the subnet owner's and the nominator's commands. Each signs
//! with the wallet's coldkey, shows what it will do, confirms, submits and waits for the block.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use tao_abi::limits;
use tao_client::tx::Draft;
use tao_client::views::{self, text};
use tao_contract_pools::{self as pools, Side, SubnetPool};
use tao_contract_staking::{Limit, Position, StakeArgs};
use tao_contract_subnets::{RegisterNetworkArgs, SubnetIdentity};
use tao_sdk::Host;
use tao_types::{Address, Balance, Hash, NetUid, Uid};

use crate::client::{Client, unhex};
use crate::keys::{self, Common, HotkeyArg, Net};
use crate::preflight;
use crate::proven::Reader;
use crate::transfer::{finish, parse_amount};

/// Fee limit of these calls: 0.01 τ.
pub(crate) const FEE_LIMIT: Balance = Balance(10_000_000);

#[derive(Subcommand)]
pub(crate) enum SubnetCommand {
    /// Register a new subnet owned by the wallet (locks the current cost).
    Create {
        #[arg(long)]
        wallet: String,
        /// The owner's hotkey, seated at UID 0 of the new subnet.
        #[arg(long, default_value = "default")]
        hotkey: String,
        /// Display name.
        #[arg(long, default_value = "")]
        name: String,
        #[command(flatten)]
        net: Net,
    },
    /// Register a wallet's hotkey as a neuron (burns the current price from the coldkey).
    Register {
        #[arg(long)]
        wallet: String,
        #[arg(long, default_value = "default")]
        hotkey: String,
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
    /// Set a hyperparameter as the subnet's owner (within its range and rate limit).
    Set {
        #[arg(long)]
        wallet: String,
        #[arg(long)]
        netuid: NetUid,
        /// Parameter name, as `subnet show` lists them.
        #[arg(long)]
        param: String,
        #[arg(long)]
        value: u64,
        #[command(flatten)]
        net: Net,
    },
    /// Run the subnet's epochs with a deployed incentive module (`--hash`), or back with Yuma
    /// (`--clear`), as its owner.
    SetModule {
        #[arg(long)]
        wallet: String,
        #[arg(long)]
        netuid: NetUid,
        /// Code hash from `tao module deploy`.
        #[arg(long, required_unless_present = "clear")]
        hash: Option<Hash>,
        /// Go back to built-in Yuma.
        #[arg(long, conflicts_with = "hash")]
        clear: bool,
        #[command(flatten)]
        net: Net,
    },
    /// Every subnet: name, owner, TAO in its pool and its alpha's price.
    List {
        #[command(flatten)]
        net: Net,
    },
    /// A subnet's owner and every hyperparameter.
    Show {
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
    /// A subnet's pool — reserves, staked alpha, spot and moving price — verified against a
    /// certified header; with `--buy` or `--sell`, what that swap would give now.
    Pool {
        #[arg(long)]
        netuid: NetUid,
        /// Quote staking this much TAO.
        #[arg(long, value_parser = parse_amount, conflicts_with = "sell")]
        buy: Option<Balance>,
        /// Quote unstaking this much alpha.
        #[arg(long, value_parser = parse_amount)]
        sell: Option<Balance>,
        #[command(flatten)]
        net: Net,
    },
    /// A whole example subnet on a dev node of its own: validators, four miners of increasing
    /// quality, epochs, and who got paid (docs/neurons.md).
    Demo(crate::neurons::DemoArgs),
    /// A subnet's neurons with their scores and emission from the last epoch.
    Metagraph {
        #[arg(long)]
        netuid: NetUid,
        #[command(flatten)]
        net: Net,
    },
    #[command(flatten)]
    Info(crate::subnet_info::SubnetInfoCommand),
}

/// What `stake add` and `stake remove` act on.
#[derive(clap::Args)]
pub(crate) struct StakeMove {
    #[arg(long)]
    wallet: String,
    /// The hotkey staked to: an address (a validator's, for a nominator) or the name of one of
    /// the wallet's hotkeys.
    #[arg(long)]
    hotkey: HotkeyArg,
    #[arg(long)]
    netuid: NetUid,
    /// Amount: TAO to stake, or alpha to unstake: `1.5` or `1500 rao`.
    #[arg(long, value_parser = parse_amount)]
    amount: Balance,
    /// Limit price in τ per alpha: staking stops above it, unstaking below it.
    #[arg(long, value_parser = parse_amount, conflicts_with = "tolerance")]
    limit_price: Option<Balance>,
    /// Limit the price move to this fraction of the current price (e.g. `0.005`).
    #[arg(long, value_parser = parse_amount)]
    tolerance: Option<Balance>,
    /// With a limit: fill what fits instead of failing.
    #[arg(long)]
    partial: bool,
    #[command(flatten)]
    net: Net,
}

#[derive(Subcommand)]
pub(crate) enum StakeCommand {
    /// Stake TAO from the wallet's coldkey to a hotkey on a subnet.
    Add(StakeMove),
    /// Unstake back to the wallet's coldkey.
    Remove(StakeMove),
    /// Move stake to another hotkey and/or subnet (across subnets it is sold and bought back).
    Move {
        #[arg(long)]
        wallet: String,
        /// An address or the name of one of the wallet's hotkeys.
        #[arg(long)]
        hotkey: HotkeyArg,
        #[arg(long)]
        netuid: NetUid,
        /// Destination hotkey, as `--hotkey` (default: the same).
        #[arg(long)]
        to_hotkey: Option<HotkeyArg>,
        /// Destination subnet (default: the same).
        #[arg(long)]
        to_netuid: Option<NetUid>,
        /// Alpha to move: `1.5` or `1500 rao`.
        #[arg(long, value_parser = parse_amount)]
        amount: Balance,
        #[command(flatten)]
        net: Net,
    },
    /// The wallet's stake positions.
    List {
        #[arg(long)]
        wallet: String,
        #[command(flatten)]
        net: Net,
    },
    /// The wallet's root TAO unbonding from validators' hotkeys, each paid at its release block
    /// (less any slash of its hotkey for an infraction at or before it began).
    Unbonding {
        #[arg(long)]
        wallet: String,
        #[command(flatten)]
        net: Net,
    },
    #[command(flatten)]
    Delegate(crate::delegation::DelegateCommand),
    #[command(flatten)]
    Children(crate::children::ChildrenCommand),
}

/// What a finalized stake call moved, read from its event: `(tao, alpha)` for `stake_added` and
/// `stake_removed`, `(alpha taken, alpha credited)` for `stake_moved`. The receipt comes from
/// `tx_status`, so this is the node's word, shown as such (the balances it changed are proven
/// by `stake list` and `wallet balance`).
fn stake_moved(status: &Value) -> Option<(Value, String)> {
    let decode = |topic: &[u8]| event(status, topic).ok();
    if let Some(data) = decode(b"stake_added") {
        let (_, _, _, tao, alpha_out): (Address, Address, NetUid, u64, u64) =
            tao_codec::decode(&data, 256).ok()?;
        return Some((
            json!({"tao": tao, "alpha": alpha_out}),
            format!("{} for {}", Balance(tao), alpha(alpha_out)),
        ));
    }
    if let Some(data) = decode(b"stake_removed") {
        let (_, _, _, alpha_in, tao): (Address, Address, NetUid, u64, u64) =
            tao_codec::decode(&data, 256).ok()?;
        return Some((
            json!({"alpha": alpha_in, "tao": tao}),
            format!("{} for {}", alpha(alpha_in), Balance(tao)),
        ));
    }
    let data = decode(b"stake_moved")?;
    let (_, _, taken, credited): (Position, Position, u64, u64) = tao_codec::decode(&data, 256).ok()?;
    Some((json!({"alpha": taken, "credited": credited}), format!("{} as {}", alpha(taken), alpha(credited))))
}

/// [`finish`] for a stake call, with what it moved in the line and as `moved` in the JSON.
pub(crate) fn finish_stake(mut status: Value, json: bool, verb: &str) -> ExitCode {
    match stake_moved(&status) {
        Some((moved, text)) => {
            status["moved"] = moved;
            finish(&status, json, &format!("{verb} {text}"))
        }
        None => finish(&status, json, verb),
    }
}

/// The event `topic`'s data in a finalized receipt.
pub(crate) fn event(status: &Value, topic: &[u8]) -> Result<Vec<u8>> {
    let events = status["receipt"]["events"].as_array().context("no events")?;
    let found = events.iter().find(|e| unhex(&e[0]).is_ok_and(|t| t == topic)).context("event missing")?;
    unhex(&found[1])
}

/// An account's stake positions as `--json` lists them.
pub(crate) fn positions_json(account: &views::AccountView) -> Vec<Value> {
    let row = |p: &views::PositionView| json!({"hotkey": p.position.hotkey, "netuid": p.position.netuid, "stake": p.stake, "tao_value": p.tao_value});
    account.positions.iter().map(row).collect()
}

/// An amount of alpha, shown like TAO with its own sign.
pub(crate) fn alpha(rao: u64) -> String {
    Balance(rao).to_string().replace('τ', "α")
}

/// A price in rao per alpha, shown as τ/α.
fn price(rao_per_alpha: u64) -> String {
    format!("{}/α", Balance(rao_per_alpha))
}

/// `netuid`'s pool, verified against a certified header: `(height, pool)`.
fn verified_pool(client: &Client, netuid: NetUid) -> Result<(u64, SubnetPool)> {
    let got = client.request::<tao_rpc::PoolGetMethod>(json!([netuid]))?;
    let (height, value) = client.verified_value(&got.proof, &pools::pool_key(netuid))?;
    let pool = match value {
        Some(bytes) => tao_codec::decode(&bytes, limits::MAX_VALUE_BYTES as usize)?,
        None if netuid == pools::ROOT => SubnetPool::default(),
        None => bail!("subnet {netuid} has no pool at #{height}"),
    };
    Ok((height, pool))
}

fn show_pool(
    netuid: NetUid,
    buy: Option<Balance>,
    sell: Option<Balance>,
    url: &str,
    common: &Common,
) -> Result<ExitCode> {
    let (height, pool) = verified_pool(&Client::new(url)?, netuid)?;
    let spot = pools::price_in_rao(pool.spot_price(netuid));
    let moving = pools::price_in_rao(pool.moving_price);
    let order = buy.map(|b| (Side::Buy, b.0)).or(sell.map(|s| (Side::Sell, s.0)));
    let quote = order
        .map(|(side, amount)| pools::quote(&pool, netuid, side, amount))
        .transpose()
        .map_err(|e| anyhow!("the pool refuses this swap: {e}"))?;
    let price_after = quote.map(|q| pools::price_in_rao(q.price_after(netuid)));
    if common.json {
        let quote = quote
            .map(|q| json!({"input": q.input, "fee": q.fee, "output": q.output, "price_after": price_after}));
        println!(
            "{}",
            json!({"netuid": netuid, "verified_at": height, "tao": pool.tao, "alpha_in": pool.alpha_in,
                "alpha_out": pool.alpha_out, "pending": pool.pending, "pending_owner": pool.pending_owner,
                "spot_price": spot, "moving_price": moving, "quote": quote})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("subnet {netuid} pool (verified at #{height})");
    println!("  TAO reserve     {}", Balance(pool.tao));
    println!("  alpha reserve   {}", alpha(pool.alpha_in));
    println!("  alpha staked    {}", alpha(pool.alpha_out));
    println!("  alpha pending   {}", alpha(pool.pending.saturating_add(pool.pending_owner)));
    println!("  spot price      {}", price(spot));
    println!("  moving price    {}", price(moving));
    if let (Some(q), Some((side, _)), Some(after)) = (quote, order, price_after) {
        let (given, got) = match side {
            Side::Buy => (Balance(q.input).to_string(), alpha(q.output)),
            Side::Sell => (alpha(q.input), Balance(q.output).to_string()),
        };
        println!("  {given} → {got} (fee included), price after {}", price(after));
    }
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn run_subnet(command: SubnetCommand) -> Result<ExitCode> {
    match command {
        SubnetCommand::Create { wallet, hotkey, name, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let owner_hotkey = keys::hotkey(&common, &wallet, &hotkey)?.address();
            let (_, cost) = lock_cost(&Reader::new(&client)?)?;
            let identity = SubnetIdentity { name, url: String::new(), description: String::new() };
            let args = borsh::to_vec(&RegisterNetworkArgs { hotkey: owner_hotkey, identity })?;
            let draft = preflight::draft("neurons", "entry_register_network", args);
            let question = format!("lock {} to create a subnet owned by wallet {wallet}?", Balance(cost));
            let mut status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            if let Ok(data) = event(&status, b"network_registered") {
                let (netuid, _, locked): (NetUid, Address, u64) =
                    tao_codec::decode(&data, limits::MAX_EVENT_DATA_BYTES as usize)?;
                status["netuid"] = json!(netuid);
                status["locked"] = json!(locked);
                if !common.json {
                    println!("subnet {netuid} created, {} locked", Balance(locked));
                }
            }
            if let Ok(data) = event(&status, b"neuron_registered") {
                let (_, uid, hotkey, _): (NetUid, Uid, Address, u64) =
                    tao_codec::decode(&data, limits::MAX_EVENT_DATA_BYTES as usize)?;
                status["owner_uid"] = json!(uid);
                if !common.json {
                    println!("owner hotkey {hotkey} holds UID {uid}");
                }
            }
            Ok(finish(&status, common.json, "subnet create"))
        }
        SubnetCommand::Register { wallet, hotkey, netuid, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let hot = keys::hotkey(&common, &wallet, &hotkey)?.address();
            let draft = preflight::draft("neurons", "entry_burned_register", borsh::to_vec(&(netuid, hot))?);
            let question = format!("burn the registration price to register {hot} on subnet {netuid}?");
            let mut status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            if let Ok(data) = event(&status, b"neuron_registered") {
                let (_, uid, _, price): (NetUid, Uid, Address, u64) =
                    tao_codec::decode(&data, limits::MAX_EVENT_DATA_BYTES as usize)?;
                status["uid"] = json!(uid);
                status["burned"] = json!(price);
                if !common.json {
                    println!("registered {hot} as UID {uid} on subnet {netuid}, burned {}", Balance(price));
                }
            }
            Ok(finish(&status, common.json, "register"))
        }
        SubnetCommand::Set { wallet, netuid, param, value, net: Net { url, common } } => {
            let id = tao_contract_subnets::params::id_of(&param)
                .with_context(|| format!("no parameter {param}"))?;
            let client = Client::new(&url)?;
            let draft =
                preflight::draft("subnets", "entry_set_hyperparameter", borsh::to_vec(&(netuid, id, value))?);
            let question = format!("set {param} = {value} on subnet {netuid}?");
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            Ok(finish(&status, common.json, "subnet set"))
        }
        SubnetCommand::Show { netuid, net: Net { url, common } } => {
            show(&Client::new(&url)?, netuid, &common)
        }
        SubnetCommand::SetModule { wallet, netuid, hash, clear: _, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let what = hash.map_or("built-in Yuma".to_string(), |h| format!("module {h}"));
            let draft =
                preflight::draft("subnets", "entry_set_incentive_module", borsh::to_vec(&(netuid, hash))?);
            let question = format!("run subnet {netuid}'s epochs with {what}?");
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            Ok(finish(&status, common.json, "incentive module set"))
        }
        SubnetCommand::List { net: Net { url, common } } => list(&Client::new(&url)?, &common),
        SubnetCommand::Pool { netuid, buy, sell, net: Net { url, common } } => {
            show_pool(netuid, buy, sell, &url, &common)
        }
        SubnetCommand::Demo(args) => crate::neurons::run_demo(args),
        SubnetCommand::Metagraph { netuid, net: Net { url, common } } => {
            metagraph(&Client::new(&url)?, netuid, &common)
        }
        SubnetCommand::Info(command) => crate::subnet_info::run(command),
    }
}

/// What creating a subnet locks now, by the chain's own formula on proven state: `(height, rao)`.
pub(crate) fn lock_cost(reader: &Reader<'_>) -> Result<(u64, u64)> {
    reader.view(|h| {
        let now = h.block_height();
        tao_contract_subnets::lock_cost(h, now).map_err(text)
    })
}

/// A subnet's page as the wallet shows it: identity, every hyperparameter, its pool.
fn show(client: &Client, netuid: NetUid, common: &Common) -> Result<ExitCode> {
    let (height, view) = Reader::new(client)?.view(|h| views::subnet(h, netuid))?;
    let view = view.with_context(|| format!("there is no subnet {netuid} (proven at #{height})"))?;
    let params: serde_json::Map<String, Value> =
        view.hyperparameters.iter().map(|(name, v)| (name.to_string(), json!(v))).collect();
    if common.json {
        println!(
            "{}",
            json!({"netuid": netuid, "height": height, "owner_coldkey": view.owner, "owner_hotkey": view.owner_hotkey,
                "registered_at": view.registered_at, "locked": view.locked, "name": view.name,
                "pool_tao": view.tao_in, "price": view.price, "incentive_module": view.module, "hyperparameters": params})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!("subnet {netuid} \"{}\" (verified at #{height})", view.name);
    println!("  owner    {} (hotkey {})\n  locked   {}", view.owner, view.owner_hotkey, Balance(view.locked));
    println!("  pool     {}, price {}", Balance(view.tao_in), price(view.price));
    for (name, value) in &params {
        println!("  {name:<30} {value}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Every subnet, proven at the head as the wallet lists them: `(height, subnets)`.
pub(crate) fn subnets(reader: &Reader<'_>) -> Result<(u64, Vec<views::SubnetRow>)> {
    reader.view(views::subnets)
}

fn list(client: &Client, common: &Common) -> Result<ExitCode> {
    let (height, listed) = subnets(&Reader::new(client)?)?;
    if common.json {
        let rows: Vec<Value> = listed
            .iter()
            .map(|l| {
                json!({"netuid": l.netuid, "name": l.name, "owner": l.owner, "registered_at": l.registered_at,
                    "neurons": l.neurons, "pool_tao": l.tao_in, "price": l.price})
            })
            .collect();
        println!("{}", json!({"height": height, "subnets": rows}));
        return Ok(ExitCode::SUCCESS);
    }
    println!("{} subnets (verified at #{height})", listed.len());
    println!(
        "{:>6} {:<20} {:<44} {:>7} {:>22} {:>18}",
        "netuid", "name", "owner", "neurons", "pool TAO", "price"
    );
    for l in &listed {
        println!(
            "{:>6} {:<20} {:<44} {:>7} {:>22} {:>18}",
            l.netuid,
            l.name,
            l.owner.to_string(),
            l.neurons,
            Balance(l.tao_in).to_string(),
            price(l.price)
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A subnet's registered neurons, proven: `(uid, hotkey)`.
pub(crate) fn neurons(reader: &Reader<'_>, netuid: NetUid) -> Result<Vec<(Uid, Address)>> {
    use tao_contract_neurons as neurons;
    let (_, rows) = reader.view(|h| {
        let mut rows = Vec::new();
        for uid in 0..neurons::count(h, netuid).map_err(text)? {
            if let Some(n) = neurons::neuron(h, netuid, uid).map_err(text)? {
                rows.push((uid, n.hotkey));
            }
        }
        Ok(rows)
    })?;
    Ok(rows)
}

/// The metagraph as the wallet computes it, with each UID's scores, bonds and registration.
fn metagraph(client: &Client, netuid: NetUid, common: &Common) -> Result<ExitCode> {
    use tao_contract_incentive as incentive;
    let (height, (price, rows)) = Reader::new(client)?.view(|h| {
        let price = tao_contract_neurons::burn_price(h, netuid).map_err(text)?;
        let mut rows = Vec::new();
        for row in views::metagraph(h, netuid)? {
            let scores = incentive::scores(h, netuid, row.uid).map_err(text)?;
            let bonds = incentive::bonds(h, netuid, row.uid).map_err(text)?.len();
            let neuron = tao_contract_neurons::neuron(h, netuid, row.uid).map_err(text)?;
            rows.push((row, scores, bonds, neuron.map_or(0, |n| n.registered_at)));
        }
        Ok((price, rows))
    })?;
    let neurons: Vec<Value> = rows
        .into_iter()
        .map(|(n, s, bonds, registered_at)| {
            json!({
                "uid": n.uid, "hotkey": n.hotkey, "registered_at": registered_at, "active": n.active,
                "stake": n.stake, "take": n.take, "permit": n.permit, "stake_weight": s.stake_weight,
                "consensus": n.consensus, "incentive": n.incentive, "dividends": n.dividends,
                "validator_trust": n.trust, "server_emission": s.server_emission,
                "validator_emission": s.validator_emission, "bonds": bonds, "axon": n.axon,
            })
        })
        .collect();
    if common.json {
        println!("{}", json!({"netuid": netuid, "height": height, "burn_price": price, "neurons": neurons}));
    } else {
        println!("subnet {netuid} (verified at #{height}), registration price {}", Balance(price));
        print_metagraph(&neurons);
    }
    Ok(ExitCode::SUCCESS)
}

/// A `u16` share (65535 = 1) to four decimals: `0.5000`.
fn share_of_one(value: u64) -> String {
    let ten_thousandths = (value.min(65_535) * 10_000 + 32_767) / 65_535;
    format!("{}.{:04}", ten_thousandths / 10_000, ten_thousandths % 10_000)
}

/// The metagraph as btcli lays it out: aligned columns, shares of 1 from their `u16`, stake and
/// emission in α, a ✓ for a validator permit.
fn print_metagraph(neurons: &[Value]) {
    let share = |n: &Value, field: &str| share_of_one(n[field].as_u64().unwrap_or(0));
    let amount = |rao: u64| alpha(rao);
    let header =
        ["UID", "HOTKEY", "STAKE", "VTRUST", "CONSENSUS", "INCENTIVE", "DIVIDENDS", "EMISSION", "VPERMIT"];
    println!(
        "{:>4}  {:<42}  {:>16}  {:>6}  {:>9}  {:>9}  {:>9}  {:>16}  {:>7}  AXON",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6], header[7], header[8]
    );
    for n in neurons {
        let emission =
            n["server_emission"].as_u64().unwrap_or(0) + n["validator_emission"].as_u64().unwrap_or(0);
        println!(
            "{:>4}  {:<42}  {:>16}  {:>6}  {:>9}  {:>9}  {:>9}  {:>16}  {:>7}  {}",
            n["uid"],
            n["hotkey"].as_str().unwrap_or_default(),
            amount(n["stake"].as_u64().unwrap_or(0)),
            share(n, "validator_trust"),
            share(n, "consensus"),
            share(n, "incentive"),
            share(n, "dividends"),
            amount(emission),
            if n["permit"] == true { "✓" } else { "" },
            n["axon"].as_str().unwrap_or("-"),
        );
    }
}

pub(crate) fn run_stake(command: StakeCommand) -> Result<ExitCode> {
    match command {
        StakeCommand::Add(m) => stake_order(m, Side::Buy),
        StakeCommand::Remove(m) => stake_order(m, Side::Sell),
        StakeCommand::Move {
            wallet,
            hotkey,
            netuid,
            to_hotkey,
            to_netuid,
            amount,
            net: Net { url, common },
        } => {
            let hotkey = hotkey.resolve(&common, &wallet)?;
            let to_hotkey = to_hotkey.map(|h| h.resolve(&common, &wallet)).transpose()?.unwrap_or(hotkey);
            let to_netuid = to_netuid.unwrap_or(netuid);
            let client = Client::new(&url)?;
            let from = views::Position { hotkey, netuid };
            let draft =
                Draft::move_stake(from, views::Position { hotkey: to_hotkey, netuid: to_netuid }, amount.0);
            let question = format!(
                "move {} from {hotkey} on subnet {netuid} to {to_hotkey} on subnet {to_netuid}?",
                alpha(amount.0)
            );
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, Some(from), &question)?;
            Ok(finish_stake(status, common.json, "stake moved"))
        }
        StakeCommand::List { wallet, net: Net { url, common } } => {
            let coldkey = keys::coldkey_address(&common, &wallet)?;
            let (height, account) =
                Reader::new(&Client::new(&url)?)?.view(|h| views::account(h, &coldkey))?;
            if common.json {
                println!(
                    "{}",
                    json!({"coldkey": coldkey, "height": height, "positions": positions_json(&account)})
                );
            } else if account.positions.is_empty() {
                println!("{coldkey} has no stake (verified at #{height})");
            } else {
                println!("{coldkey}'s stake (verified at #{height})");
                for p in &account.positions {
                    let (h, n) = (p.position.hotkey, p.position.netuid);
                    // Root stake is TAO (1:1), every other subnet's is its alpha.
                    let amount = if n == 0 { Balance(p.stake).to_string() } else { alpha(p.stake) };
                    println!("{h}  subnet {n}  {amount}  ≈ {}", Balance(p.tao_value));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        StakeCommand::Unbonding { wallet, net: Net { url, common } } => {
            let coldkey = keys::coldkey_address(&common, &wallet)?;
            let (height, entries) = Reader::new(&Client::new(&url)?)?
                .view(|h| tao_contract_staking::unbonding(h, &coldkey).map_err(|e| e.to_string()))?;
            show_unbonding(&coldkey, height, &entries, common.json);
            Ok(ExitCode::SUCCESS)
        }
        StakeCommand::Delegate(command) => crate::delegation::run(command),
        StakeCommand::Children(command) => crate::children::run(command),
    }
}

/// Prints `coldkey`'s unbonding entries verified at `height`.
fn show_unbonding(coldkey: &Address, height: u64, entries: &[tao_contract_staking::Unbonding], json: bool) {
    if json {
        let list: Vec<Value> = entries
            .iter()
            .map(|e| json!({"hotkey": e.hotkey, "rao": e.rao, "since": e.since, "release": e.release}))
            .collect();
        println!("{}", json!({"coldkey": coldkey, "height": height, "unbonding": list}));
    } else if entries.is_empty() {
        println!("{coldkey} has nothing unbonding (verified at #{height})");
    } else {
        println!("{coldkey}'s unbonding root TAO (verified at #{height})");
        for e in entries {
            println!("{}  {}  since #{}  paid at #{}", e.hotkey, Balance(e.rao), e.since, e.release);
        }
    }
}

/// The limit price of an order: given, or the current price moved by `tolerance` (in
/// billionths) against the order.
fn limit_price(spot: u64, side: Side, given: Option<Balance>, tolerance: Option<Balance>) -> Option<u64> {
    let moved = tolerance.map(|t| {
        let delta = u128::from(spot) * u128::from(t.0) / u128::from(tao_types::RAO_PER_TAO);
        let limit = match side {
            Side::Buy => u128::from(spot).saturating_add(delta),
            Side::Sell => u128::from(spot).saturating_sub(delta),
        };
        u64::try_from(limit).unwrap_or(u64::MAX)
    });
    given.map(|g| g.0).or(moved)
}

/// Stakes (buys alpha) or unstakes (sells it): quotes the order on the verified pool, confirms,
/// submits.
fn stake_order(m: StakeMove, side: Side) -> Result<ExitCode> {
    let StakeMove {
        wallet,
        hotkey,
        netuid,
        amount,
        limit_price: given,
        tolerance,
        partial,
        net: Net { url, common },
    } = m;
    let hotkey = hotkey.resolve(&common, &wallet)?;
    let client = Client::new(&url)?;
    let (height, pool) = verified_pool(&client, netuid)?;
    let spot = pools::price_in_rao(pool.spot_price(netuid));
    let quote = pools::quote(&pool, netuid, side, amount.0)
        .map_err(|e| anyhow!("the pool refuses this order: {e}"))?;
    let limit = limit_price(spot, side, given, tolerance).map(|price| Limit { price, partial });
    let (verb, entry, expected) = match side {
        Side::Buy => ("stake", "entry_add_stake", format!("{amount} for about {}", alpha(quote.output))),
        Side::Sell => (
            "unstake",
            "entry_remove_stake",
            format!("{} for about {}", alpha(amount.0), Balance(quote.output)),
        ),
    };
    let limit_note = limit.map_or(String::new(), |l| {
        format!(", limit {}{}", price(l.price), if l.partial { " (partial fills)" } else { "" })
    });
    let question = format!(
        "{verb} {expected} on {hotkey}, subnet {netuid} (price {} at #{height}{limit_note}), for wallet {wallet}?",
        price(spot)
    );
    let args = borsh::to_vec(&StakeArgs { hotkey, netuid, amount: amount.0, limit })?;
    let draft = preflight::draft("staking", entry, args);
    let status = preflight::send_confirmed(
        &client,
        &common,
        &wallet,
        &draft,
        Some(views::Position { hotkey, netuid }),
        &question,
    )?;
    Ok(finish_stake(status, common.json, verb))
}

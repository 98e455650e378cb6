//! btcli's stake commands beyond add, remove and move: the delegate take (set, and shown
//! verified), unstake-all, and stake transfer to another coldkey. Flattened into `tao stake`.

use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use serde_json::json;
use tao_client::views::{self, Position};
use tao_contract_staking::MAX_TAKE;
use tao_types::{Address, Balance, NetUid};

use crate::client::Client;
use crate::keys::{self, Common, HotkeyArg, Net};
use crate::preflight;
use crate::proven::Reader;
use crate::subnet::{alpha, finish_stake};
use crate::transfer::{finish, parse_amount};

#[derive(Subcommand)]
pub(crate) enum DelegateCommand {
    /// Set the take a validator hotkey keeps of its nominators' dividends (btcli `sudo
    /// set-take`): its owner only; at most 18%; increases at most once per 216,000 blocks.
    SetTake {
        #[arg(long)]
        wallet: String,
        /// An address or the name of one of the wallet's hotkeys.
        #[arg(long, default_value = "default")]
        hotkey: HotkeyArg,
        /// The take as a fraction (`0.09`) or a percentage (`9%`).
        #[arg(long, value_parser = parse_take)]
        take: u16,
        #[command(flatten)]
        net: Net,
    },
    /// A hotkey's take, verified against a certified header (btcli `sudo get-take`).
    ShowTake {
        /// An address, or a hotkey name with `--wallet`.
        #[arg(long)]
        hotkey: HotkeyArg,
        /// The wallet whose hotkey `--hotkey` names.
        #[arg(long)]
        wallet: Option<String>,
        #[command(flatten)]
        net: Net,
    },
    /// Sell every stake position of the wallet for TAO (btcli `stake remove --all`).
    UnstakeAll {
        #[arg(long)]
        wallet: String,
        #[command(flatten)]
        net: Net,
    },
    /// Give stake to another coldkey, on the same hotkey (btcli `stake transfer`); across
    /// subnets it is sold and bought back. Both subnets must allow transfers.
    Transfer {
        #[arg(long)]
        wallet: String,
        /// An address or the name of one of the wallet's hotkeys.
        #[arg(long)]
        hotkey: HotkeyArg,
        #[arg(long)]
        netuid: NetUid,
        /// Destination subnet (default: the same).
        #[arg(long)]
        to_netuid: Option<NetUid>,
        /// The coldkey that receives the stake.
        #[arg(long)]
        dest: Address,
        /// Alpha to transfer: `1.5` or `1500 rao`.
        #[arg(long, value_parser = parse_amount)]
        amount: Balance,
        #[command(flatten)]
        net: Net,
    },
}

/// A take as the chain stores it (parts of 65535) from `0.09` or `9%`, refusing more than
/// [`MAX_TAKE`] (what the chain would refuse, for a fee).
pub(crate) fn parse_take(s: &str) -> Result<u16, String> {
    let (number, per) = match s.trim().strip_suffix('%') {
        Some(p) => (p.trim(), 100u128),
        None => (s.trim(), 1),
    };
    // A fraction to nine decimals, as an amount in τ is.
    let billionths = parse_amount(number)?.0;
    let parts = (u128::from(billionths) * u128::from(u16::MAX) + per * 500_000_000) / (per * 1_000_000_000);
    match u16::try_from(parts) {
        Ok(take) if take <= MAX_TAKE => Ok(take),
        _ => Err(format!("{s} is above the largest take, {}", take_percent(MAX_TAKE))),
    }
}

/// A take in parts of 65535, as a percentage to two decimals: `18.00%`.
pub(crate) fn take_percent(take: u16) -> String {
    let hundredths = (u64::from(take) * 10_000 + 32_767) / 65_535;
    format!("{}.{:02}%", hundredths / 100, hundredths % 100)
}

/// `hotkey`'s take, verified: `(height, take, block of its last increase)`.
fn verified_take(client: &Client, hotkey: &Address) -> Result<(u64, u16, u64)> {
    let (height, value) = client.verified_state(&tao_contract_staking::take_key(hotkey))?;
    let (take, increased_at) = match value {
        Some(bytes) => tao_codec::decode(&bytes, 16)?,
        None => (MAX_TAKE, 0),
    };
    Ok((height, take, increased_at))
}

pub(crate) fn run(command: DelegateCommand) -> Result<ExitCode> {
    match command {
        DelegateCommand::SetTake { wallet, hotkey, take, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let hotkey = hotkey.resolve(&common, &wallet)?;
            let (_, current, _) = verified_take(&client, &hotkey)?;
            let question =
                format!("set {hotkey}'s take from {} to {}?", take_percent(current), take_percent(take));
            let draft = preflight::draft("staking", "entry_set_take", borsh::to_vec(&(hotkey, take))?);
            let mut status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            status["take"] = json!(take);
            Ok(finish(&status, common.json, &format!("take set to {}", take_percent(take))))
        }
        DelegateCommand::ShowTake { hotkey, wallet, net: Net { url, common } } => {
            let hotkey = match (&hotkey, wallet) {
                (HotkeyArg::Address(a), _) => *a,
                (HotkeyArg::Name(_), Some(w)) => hotkey.resolve(&common, &w)?,
                (HotkeyArg::Name(n), None) => bail!("hotkey name {n} needs --wallet (or pass an address)"),
            };
            let (height, take, increased_at) = verified_take(&Client::new(&url)?, &hotkey)?;
            if common.json {
                println!(
                    "{}",
                    json!({"hotkey": hotkey, "take": take, "percent": take_percent(take),
                        "last_increase": increased_at, "verified_at": height})
                );
            } else {
                println!("{hotkey}  take {}  (verified at #{height})", take_percent(take));
            }
            Ok(ExitCode::SUCCESS)
        }
        DelegateCommand::UnstakeAll { wallet, net: Net { url, common } } => {
            unstake_all(&wallet, &url, &common)
        }
        DelegateCommand::Transfer {
            wallet,
            hotkey,
            netuid,
            to_netuid,
            dest,
            amount,
            net: Net { url, common },
        } => {
            let client = Client::new(&url)?;
            let hotkey = hotkey.resolve(&common, &wallet)?;
            let to_netuid = to_netuid.unwrap_or(netuid);
            let question = format!(
                "give {} staked to {hotkey} on subnet {netuid} to coldkey {dest} (on subnet {to_netuid})?",
                alpha(amount.0)
            );
            let args = borsh::to_vec(&(dest, hotkey, netuid, to_netuid, amount.0))?;
            let draft = preflight::draft("staking", "entry_transfer_stake", args);
            let position = Some(Position { hotkey, netuid });
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, position, &question)?;
            Ok(finish_stake(status, common.json, "stake transferred"))
        }
    }
}

/// Sells every position; what it received is the verified balance after, minus before, plus
/// the fee (the call emits no event of its own; epochs never touch balances).
fn unstake_all(wallet: &str, url: &str, common: &Common) -> Result<ExitCode> {
    let client = Client::new(url)?;
    let coldkey = keys::coldkey_address(common, wallet)?;
    let (height, account) = Reader::new(&client)?.view(|h| views::account(h, &coldkey))?;
    let held: Vec<_> = account
        .positions
        .iter()
        .map(|p| (p.position.hotkey, p.position.netuid, p.stake))
        .filter(|(_, _, stake)| *stake > 0)
        .collect();
    // The chain sells nothing without refusing: selling nothing is refused here, as the chain
    // would refuse a call, unless --force.
    if held.is_empty() && !common.force {
        let why = format!("wallet {wallet} ({coldkey}) has no stake to sell");
        return Err(preflight::Refused { why, height }.into());
    }
    let list: Vec<String> =
        held.iter().map(|(h, n, s)| format!("{} on {h}, subnet {n}", alpha(*s))).collect();
    let question = format!("sell all {} positions ({})?", held.len(), list.join("; "));
    let (_, before) = crate::wallet::verified_balance(&client, &coldkey)?;
    let draft = preflight::draft("staking", "entry_unstake_all", Vec::new());
    let mut status = preflight::send_confirmed(&client, common, wallet, &draft, None, &question)?;
    let (height, after) = crate::wallet::verified_balance(&client, &coldkey)?;
    let fee = status["receipt"]["fee"].as_u64().context("receipt fee")?;
    let received = (after + fee).saturating_sub(before);
    status["received"] = json!(received);
    status["positions"] = json!(held.len());
    Ok(finish(
        &status,
        common.json,
        &format!("sold {} positions for {} (balance verified at #{height})", held.len(), Balance(received)),
    ))
}

#[cfg(test)]
mod tests {
    use super::{parse_take, take_percent};

    #[test]
    fn takes_parse_as_fractions_or_percentages_and_never_above_the_largest() {
        assert_eq!(parse_take("0.18"), Ok(11_796));
        assert_eq!(parse_take("18%"), Ok(11_796));
        assert_eq!(parse_take("0"), Ok(0));
        assert_eq!(parse_take("9%"), parse_take("0.09"));
        assert!(parse_take("0.19").unwrap_err().contains("above the largest take, 18.00%"));
        assert!(parse_take("2").is_err());
        assert!(parse_take("ten").is_err());
        assert_eq!(take_percent(11_796), "18.00%");
        assert_eq!(take_percent(0), "0.00%");
        assert_eq!(take_percent(u16::MAX), "100.00%");
    }
}

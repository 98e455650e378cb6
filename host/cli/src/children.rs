//! btcli's child hotkey commands (`stake child set|get|take`): `tao stake set-children`,
//! `tao stake children` (verified) and `tao stake set-childkey-take`. Flattened into `tao stake`.

use std::process::ExitCode;

use anyhow::{Result, bail};
use clap::Subcommand;
use serde_json::json;
use tao_abi::limits;
use tao_contract_staking::{ChildList, ChildrenArgs, ChildrenView};
use tao_types::{Address, Balance, NetUid};

use crate::client::Client;
use crate::delegation::{parse_take, take_percent};
use crate::keys::{HotkeyArg, Net};
use crate::output::print;
use crate::preflight;
use crate::proven::Reader;
use crate::subnet::event;
use crate::transfer::{finish, parse_amount};

#[derive(Subcommand)]
pub(crate) enum ChildrenCommand {
    /// Lend children proportions of a parent hotkey's stake weight on a subnet (btcli `stake
    /// child set`): the parent's owner only, at most 5 children, proportions summing to at most
    /// 1, no loops, not on root, once per 150 blocks. The set waits for the subnet's first epoch
    /// 360 blocks on. Without `--child` it revokes every child.
    SetChildren {
        #[arg(long)]
        wallet: String,
        #[arg(long)]
        netuid: NetUid,
        /// The parent: an address or the name of one of the wallet's hotkeys.
        #[arg(long, default_value = "default")]
        hotkey: HotkeyArg,
        /// `PROPORTION:HOTKEY`, the proportion a fraction (`0.25`) or a percentage (`25%`), the
        /// hotkey an address or a name of the wallet's; repeat for each child.
        #[arg(long = "child", value_parser = parse_child)]
        children: Vec<(u64, HotkeyArg)>,
        #[command(flatten)]
        net: Net,
    },
    /// A hotkey's children, parents, pending set, childkey take and inherited epoch stake on a
    /// subnet, verified against a certified header (btcli `stake child get`).
    Children {
        #[arg(long)]
        netuid: NetUid,
        /// An address, or a hotkey name with `--wallet`.
        #[arg(long)]
        hotkey: HotkeyArg,
        /// The wallet whose hotkey `--hotkey` names.
        #[arg(long)]
        wallet: Option<String>,
        #[command(flatten)]
        net: Net,
    },
    /// Set the take a child hotkey keeps of the dividends it shares with parents of other
    /// coldkeys (btcli `stake child take`): its owner only; at most 18%; increases at most once
    /// per 216,000 blocks.
    SetChildkeyTake {
        #[arg(long)]
        wallet: String,
        #[arg(long)]
        netuid: NetUid,
        /// The child: an address or the name of one of the wallet's hotkeys.
        #[arg(long, default_value = "default")]
        hotkey: HotkeyArg,
        /// The take as a fraction (`0.09`) or a percentage (`9%`).
        #[arg(long, value_parser = parse_take)]
        take: u16,
        #[command(flatten)]
        net: Net,
    },
}

/// A proportion of `u64::MAX` from a fraction (`0.25`, to nine decimals) or a percentage
/// (`25%`); 1 (or 100%) is `u64::MAX`, more is refused.
fn parse_proportion(s: &str) -> Result<u64, String> {
    let (number, per) = match s.trim().strip_suffix('%') {
        Some(p) => (p.trim(), 100u128),
        None => (s.trim(), 1),
    };
    let billionths = parse_amount(number)?.0;
    let whole = per * 1_000_000_000;
    match u64::try_from(u128::from(billionths) * u128::from(u64::MAX) / whole) {
        Ok(p) if u128::from(billionths) <= whole => Ok(p),
        _ => Err(format!("{s} is more than the whole stake")),
    }
}

/// `PROPORTION:HOTKEY`.
fn parse_child(s: &str) -> Result<(u64, HotkeyArg), String> {
    let (proportion, hotkey) =
        s.split_once(':').ok_or_else(|| format!("{s}: expected PROPORTION:HOTKEY, e.g. 0.25:0xABC…"))?;
    Ok((parse_proportion(proportion)?, hotkey.parse()?))
}

/// A proportion of `u64::MAX` as a percentage to two decimals.
fn percent(proportion: u64) -> String {
    let hundredths = (u128::from(proportion) * 10_000 + u128::from(u64::MAX / 2)) / u128::from(u64::MAX);
    format!("{}.{:02}%", hundredths / 100, hundredths % 100)
}

pub(crate) fn run(command: ChildrenCommand) -> Result<ExitCode> {
    match command {
        ChildrenCommand::SetChildren { wallet, netuid, hotkey, children, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let hotkey = hotkey.resolve(&common, &wallet)?;
            let mut list = Vec::with_capacity(children.len());
            for (proportion, child) in children {
                list.push((proportion, child.resolve(&common, &wallet)?));
            }
            let question = match list.is_empty() {
                true => format!("revoke every child of {hotkey} on subnet {netuid}?"),
                false => {
                    let shown: Vec<_> = list.iter().map(|(p, c)| format!("{} to {c}", percent(*p))).collect();
                    format!("lend {} of {hotkey}'s stake weight on subnet {netuid}?", shown.join(", "))
                }
            };
            let args = ChildrenArgs { hotkey, netuid, children: list };
            let draft = preflight::draft("staking", "entry_set_children", borsh::to_vec(&args)?);
            let mut status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            if let Ok(data) = event(&status, b"children_pending") {
                let (_, _, _, due): (Address, NetUid, ChildList, u64) =
                    tao_codec::decode(&data, limits::MAX_EVENT_DATA_BYTES as usize)?;
                status["due"] = json!(due);
            }
            let note = format!("children pending from block {}", status["due"]);
            Ok(finish(&status, common.json, &note))
        }
        ChildrenCommand::Children { netuid, hotkey, wallet, net: Net { url, common } } => {
            let hotkey = match (&hotkey, wallet) {
                (HotkeyArg::Address(a), _) => *a,
                (HotkeyArg::Name(_), Some(w)) => hotkey.resolve(&common, &w)?,
                (HotkeyArg::Name(n), None) => bail!("hotkey name {n} needs --wallet (or pass an address)"),
            };
            let client = Client::new(&url)?;
            let (height, view) = Reader::new(&client)?.view(|h| {
                tao_contract_staking::children_view(h, &hotkey, netuid).map_err(|e| e.to_string())
            })?;
            show(&hotkey, netuid, height, &view, common.json);
            Ok(ExitCode::SUCCESS)
        }
        ChildrenCommand::SetChildkeyTake { wallet, netuid, hotkey, take, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let hotkey = hotkey.resolve(&common, &wallet)?;
            let question =
                format!("set {hotkey}'s childkey take on subnet {netuid} to {}?", take_percent(take));
            let args = borsh::to_vec(&(hotkey, netuid, take))?;
            let draft = preflight::draft("staking", "entry_set_childkey_take", args);
            let mut status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            status["take"] = json!(take);
            Ok(finish(&status, common.json, &format!("childkey take set to {}", take_percent(take))))
        }
    }
}

fn relations(list: &[(u64, Address)]) -> Vec<serde_json::Value> {
    list.iter().map(|(p, k)| json!({"hotkey": k, "proportion": p, "percent": percent(*p)})).collect()
}

fn show(hotkey: &Address, netuid: NetUid, height: u64, view: &ChildrenView, json: bool) {
    let pending = view.pending.as_ref().map(|p| json!({"children": relations(&p.children), "due": p.due}));
    let value = json!({
        "hotkey": hotkey, "netuid": netuid, "children": relations(&view.children),
        "parents": relations(&view.parents), "pending": pending, "childkey_take": view.childkey_take,
        "childkey_take_percent": take_percent(view.childkey_take), "epoch_stake": view.epoch_stake,
        "verified_at": height,
    });
    let mut text = format!(
        "{hotkey} on subnet {netuid} (verified at #{height}): epoch stake {} (α + TaoWeight × τ, \
         inherited), childkey take {}",
        Balance(view.epoch_stake).to_string().replace('τ', "α"),
        take_percent(view.childkey_take)
    );
    for (label, list) in [("child ", &view.children), ("parent", &view.parents)] {
        for (p, k) in list {
            text.push_str(&format!("\n  {label}  {k}  {:>8}", percent(*p)));
        }
    }
    if let Some(p) = &view.pending {
        text.push_str(&format!("\n  pending from block {}:", p.due));
        for (proportion, k) in p.children.iter() {
            text.push_str(&format!("\n    child  {k}  {:>8}", percent(*proportion)));
        }
    }
    print(&value, json, &text);
}

#[cfg(test)]
mod tests {
    use super::{parse_child, parse_proportion, percent};

    #[test]
    fn proportions_parse_as_fractions_or_percentages_and_never_above_the_whole() {
        assert_eq!(parse_proportion("1"), Ok(u64::MAX));
        assert_eq!(parse_proportion("100%"), Ok(u64::MAX));
        assert_eq!(parse_proportion("0.5"), parse_proportion("50%"));
        assert_eq!(parse_proportion("0"), Ok(0));
        assert!(parse_proportion("1.000000001").unwrap_err().contains("more than the whole"));
        assert!(parse_proportion("101%").is_err());
        assert_eq!(percent(parse_proportion("0.25").unwrap()), "25.00%");
        assert!(parse_child("0.5").unwrap_err().contains("PROPORTION:HOTKEY"));
        assert!(parse_child("0.5:default").is_ok());
    }
}

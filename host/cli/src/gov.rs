//! `tao gov`: propose protocol changes, vote with your stake, follow proposals.

use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::Subcommand;
use serde_json::{Value, json};
use tao_contract_governance::{self as governance, Action, GovParams, Proposal, Status};
use tao_contract_subnets::params;
use tao_types::{Address, Balance, Hash, NetUid};

use crate::client::{Client, unhex};
use crate::keys::Net;
use crate::preflight;
use crate::proven::Reader;
use crate::transfer::{finish, parse_amount};
use tao_sdk::Host;

#[derive(Subcommand)]
pub(crate) enum GovCommand {
    /// Propose a change, locking the deposit (returned if the vote reaches quorum).
    Propose {
        #[arg(long)]
        wallet: String,
        #[command(flatten)]
        action: ProposedAction,
        #[command(flatten)]
        net: Net,
    },
    /// Vote for (`--approve`) or against (`--reject`) a proposal with the wallet's stake; a
    /// later vote replaces an earlier one until voting ends.
    Vote {
        #[arg(long)]
        wallet: String,
        #[arg(long)]
        id: u32,
        #[arg(long, conflicts_with = "reject", required_unless_present = "reject")]
        approve: bool,
        #[arg(long)]
        reject: bool,
        #[command(flatten)]
        net: Net,
    },
    /// Recent proposals with their status and tally (live while voting).
    List {
        #[arg(long, default_value_t = 20)]
        limit: u32,
        #[command(flatten)]
        net: Net,
    },
}

/// Exactly one change per proposal.
#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub(crate) struct ProposedAction {
    /// Set a subnet hyperparameter, root-only ones included: `NETUID:NAME=VALUE`.
    #[arg(long, value_name = "NETUID:NAME=VALUE")]
    set_param: Option<String>,
    /// Set the blocks between subnet registrations.
    #[arg(long, value_name = "BLOCKS")]
    network_rate_limit: Option<u64>,
    /// Set the stake a validator needs to set weights (`1.5` or `1500 rao`).
    #[arg(long, value_parser = parse_amount)]
    stake_threshold: Option<Balance>,
    /// Replace a system module's code with deployed code: `MODULE=0xHASH`.
    #[arg(long, value_name = "MODULE=HASH")]
    upgrade: Option<String>,
    /// Set TaoWeight, the weight of root stake on every subnet, as a fraction of u64::MAX
    /// (subtensor's default 971718665099567868 ≈ 0.05268).
    #[arg(long, value_name = "PARTS")]
    tao_weight: Option<u64>,
    /// Set the validator set from stake: at most K validators, each with at least the
    /// minimum root stake, recomputed every EPOCH blocks (0: never), an epoch where fewer than
    /// MIN_VALIDATORS (default 1) qualify keeping the set: `K:MIN_STAKE:EPOCH[:MIN_VALIDATORS]`,
    /// the stake in rao.
    #[arg(long, value_name = "K:MIN_STAKE:EPOCH[:MIN_VALIDATORS]")]
    validator_set: Option<String>,
    /// Set slashing: an equivocating validator's hotkey loses FRACTION_PPB parts per billion of
    /// its root stake (at most 1000000000), and validators' unstaked root TAO unbonds over
    /// WINDOW blocks (33 to 14400: longer than the 32 blocks within which the node accepts
    /// evidence, so no equivocator is paid first): `FRACTION_PPB:WINDOW`.
    #[arg(long, value_name = "FRACTION_PPB:WINDOW")]
    slashing: Option<String>,
}

impl ProposedAction {
    fn action(&self) -> Result<Action> {
        if let Some(spec) = &self.set_param {
            let (netuid, rest) = spec.split_once(':').context("expected NETUID:NAME=VALUE")?;
            let (name, value) = rest.split_once('=').context("expected NETUID:NAME=VALUE")?;
            let netuid: NetUid = netuid.parse().context("netuid")?;
            let id = params::id_of(name).ok_or_else(|| anyhow!("no hyperparameter {name}"))?;
            return Ok(Action::SetHyperparameter { netuid, id, value: value.parse().context("value")? });
        }
        if let Some(blocks) = self.network_rate_limit {
            return Ok(Action::SetNetworkRateLimit(blocks));
        }
        if let Some(stake) = self.stake_threshold {
            return Ok(Action::SetStakeThreshold(stake.0));
        }
        if let Some(weight) = self.tao_weight {
            return Ok(Action::SetTaoWeight(weight));
        }
        if let Some(spec) = &self.validator_set {
            return Ok(Action::SetValidatorParams(parse_validator_set(spec)?));
        }
        if let Some(spec) = &self.slashing {
            let (fraction, window) = spec.split_once(':').context("expected FRACTION_PPB:WINDOW")?;
            let params = tao_contract_staking::SlashParams {
                fraction_ppb: fraction.parse().context("FRACTION_PPB")?,
                evidence_window: window.parse().context("WINDOW")?,
            };
            if !params.is_valid() {
                bail!("{}", tao_contract_staking::StakeError::BadSlashParams);
            }
            return Ok(Action::SetSlashParams(params));
        }
        let spec = self.upgrade.as_deref().context("nothing proposed")?;
        let (name, hash) = spec.split_once('=').context("expected MODULE=HASH")?;
        Ok(Action::UpgradeModule {
            name: name.to_string(),
            code: hash.parse::<Hash>().map_err(|e| anyhow!("{e}"))?,
        })
    }
}

/// `K:MIN_STAKE:EPOCH[:MIN_VALIDATORS]` (the 3-part form keeps the minimum set size at 1).
fn parse_validator_set(spec: &str) -> Result<tao_contract_staking::ValidatorParams> {
    let parts: Vec<&str> = spec.split(':').collect();
    let (k, min, epoch, least) = match parts.as_slice() {
        [k, min, epoch] => (k, min, epoch, "1"),
        [k, min, epoch, least] => (k, min, epoch, *least),
        _ => bail!("expected K:MIN_STAKE:EPOCH[:MIN_VALIDATORS]"),
    };
    let params = tao_contract_staking::ValidatorParams {
        max_validators: k.parse().context("K")?,
        min_stake: min.parse().context("MIN_STAKE")?,
        epoch: epoch.parse().context("EPOCH")?,
        min_validators: least.parse().context("MIN_VALIDATORS")?,
    };
    if !params.is_valid() {
        bail!("K must be 1 to 1024, MIN_STAKE above 0 and MIN_VALIDATORS 1 to K");
    }
    Ok(params)
}

/// A proposal's action in words.
fn describe(action: &Action) -> String {
    match action {
        Action::SetHyperparameter { netuid, id, value } => {
            let name = params::PARAMS.get(usize::from(*id)).map_or("?", |p| p.name);
            format!("set {name} of subnet {netuid} to {value}")
        }
        Action::SetNetworkRateLimit(blocks) => format!("set the network rate limit to {blocks} blocks"),
        Action::SetStakeThreshold(stake) => format!("set the weights stake threshold to {}", Balance(*stake)),
        Action::UpgradeModule { name, code } => format!("upgrade module {name} to code {code}"),
        Action::SetTaoWeight(weight) => format!("set TaoWeight to {weight}/u64::MAX"),
        Action::SetValidatorParams(p) => format!(
            "set the validator set to at most {} validators with at least {} root stake, every {} blocks, keeping the set when fewer than {} qualify",
            p.max_validators,
            Balance(p.min_stake),
            p.epoch,
            p.min_validators
        ),
        Action::SetSlashParams(p) => format!(
            "slash equivocation by {} ppb of root stake, with an evidence and unbonding window of {} blocks",
            p.fraction_ppb, p.evidence_window
        ),
    }
}

fn status(status: &Status) -> String {
    match status {
        Status::Voting => "voting".into(),
        Status::Applied => "passed, applied".into(),
        Status::Scheduled(at) => format!("passed, activates at #{at}"),
        Status::Failed(why) => format!("passed, not applied: {why}"),
        Status::Rejected { quorum_met: true } => "rejected".into(),
        Status::Rejected { quorum_met: false } => "rejected (no quorum, deposit burned)".into(),
    }
}

pub(crate) fn run(command: GovCommand) -> Result<ExitCode> {
    match command {
        GovCommand::Propose { wallet, action, net: Net { url, common } } => {
            let action = action.action()?;
            let client = Client::new(&url)?;
            let question = format!("propose to {} (locks the deposit)?", describe(&action));
            let draft = preflight::draft("governance", "entry_propose", borsh::to_vec(&action)?);
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            let code = finish(&status, common.json, "proposed");
            if !common.json && code == ExitCode::SUCCESS {
                println!("proposal {}", proposal_id(&status)?);
            }
            Ok(code)
        }
        GovCommand::Vote { wallet, id, approve, reject: _, net: Net { url, common } } => {
            let client = Client::new(&url)?;
            let side = if approve { "for" } else { "against" };
            let question = format!("vote {side} proposal {id} with wallet {wallet}'s stake?");
            let draft = preflight::draft("governance", "entry_vote", borsh::to_vec(&(id, approve))?);
            let status = preflight::send_confirmed(&client, &common, &wallet, &draft, None, &question)?;
            Ok(finish(&status, common.json, "voted"))
        }
        GovCommand::List { limit, net } => list(&Client::new(&net.url)?, limit, net.common.json),
    }
}

/// The id in a finalized `proposed` event.
fn proposal_id(status: &Value) -> Result<u32> {
    let events = status["receipt"]["events"].as_array().context("no events")?;
    let proposed = hex::encode("proposed");
    let event = events
        .iter()
        .find(|e| e[0].as_str().is_some_and(|t| t.ends_with(&proposed)))
        .context("no proposal")?;
    let (id, _, _): (u32, Address, u64) =
        tao_codec::decode(&unhex(&event[1])?, tao_abi::limits::MAX_EVENT_DATA_BYTES as usize)?;
    Ok(id)
}

/// Proposal ids read per proof round when listing: ids are dense from 0, so the first proven
/// absent id ends the list.
const ID_WINDOW: u32 = 64;
/// Most proposals `gov list` reads back from the newest.
const MAX_LISTED: u32 = 64;

/// The governance rules and every `(id, proposal)`.
type Proposals = (GovParams, Vec<(u32, Proposal)>);

/// The governance rules and every proposal, proven. Ids are given out in order from 0, so
/// reading ids window by window until one is proven absent finds them all.
fn proposals(reader: &Reader<'_>) -> Result<(u64, Proposals)> {
    reader.view(|h| {
        let rules = governance::params(h).map_err(|e| e.to_string())?;
        let mut found: Vec<(u32, Proposal)> = Vec::new();
        for start in (0..u32::MAX).step_by(ID_WINDOW as usize).take(1_024) {
            let window: Vec<_> = (start..start.saturating_add(ID_WINDOW))
                .map(|id| (id, h.get(&governance::proposal_key(id))))
                .collect();
            for (id, bytes) in &window {
                if let Some(bytes) = bytes {
                    found.push((
                        *id,
                        tao_codec::decode(bytes, tao_abi::limits::MAX_VALUE_BYTES as usize)
                            .map_err(|e| format!("proposal {id}: {e}"))?,
                    ));
                }
            }
            if window.iter().any(|(_, bytes)| bytes.is_none()) {
                break;
            }
        }
        Ok((rules, found))
    })
}

fn list(client: &Client, limit: u32, json: bool) -> Result<ExitCode> {
    let (height, (rules, all)) = proposals(&Reader::new(client)?)?;
    let newest: Vec<_> = all.iter().rev().take(limit.min(MAX_LISTED) as usize).collect();
    // A live tally sums every vote, which one proof per key cannot show complete: only the
    // tally stored when the proposal was decided is proven.
    let tally = |p: &Proposal| (p.status != Status::Voting).then_some(p.tally);
    if json {
        let list: Vec<Value> = newest
            .iter()
            .map(|(id, p)| {
                let tally = tally(p);
                json!({"id": id, "proposer": p.proposer, "action": describe(&p.action),
                    "status": status(&p.status), "ends_at": p.ends_at, "voters": p.voters,
                    "for": tally.map(|t| t.0.to_string()), "against": tally.map(|t| t.1.to_string())})
            })
            .collect();
        println!(
            "{}",
            json!({"height": height, "deposit": rules.deposit, "voting_period": rules.voting_period,
                "quorum": rules.quorum, "threshold": rules.threshold, "proposals": list})
        );
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "governance (verified at #{height}): deposit {}, {} blocks of voting, quorum {}/65535, threshold {}/65535",
        Balance(rules.deposit),
        rules.voting_period,
        rules.quorum,
        rules.threshold
    );
    for (id, p) in newest {
        let tao = |x: u128| Balance(u64::try_from(x).unwrap_or(u64::MAX));
        let votes = tally(p).map_or(format!("{} voters so far", p.voters), |(yes, no)| {
            format!("for {} against {}", tao(yes), tao(no))
        });
        println!(
            "#{:<4} {:<48} {:<40} {votes} (ends #{})",
            id,
            describe(&p.action),
            status(&p.status),
            p.ends_at
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use tao_contract_governance::Action;
    use tao_contract_staking::{MAX_EVIDENCE_WINDOW, MIN_EVIDENCE_WINDOW, SlashParams, StakeError};
    use tao_types::MAX_EVIDENCE_AGE;

    use super::*;

    #[test]
    fn validator_set_takes_three_or_four_parts_and_checks_the_minimum_set_size() {
        let old = parse_validator_set("4:1000:8").unwrap();
        assert_eq!((old.max_validators, old.min_stake, old.epoch, old.min_validators), (4, 1000, 8, 1));
        assert_eq!(parse_validator_set("4:1000:8:3").unwrap().min_validators, 3);
        for bad in ["4:1000:8:5", "4:1000:8:0", "4:1000", "4:1000:8:3:1", "4:1000:8:x"] {
            assert!(parse_validator_set(bad).is_err(), "{bad}");
        }
    }

    #[derive(Parser)]
    struct Propose {
        #[command(flatten)]
        action: ProposedAction,
    }

    fn propose_slashing(value: &str) -> anyhow::Result<Action> {
        Propose::try_parse_from(["propose", "--slashing", value])?.action.action()
    }

    /// Checked by the contract's rule, refused with its reason: a window shorter than the
    /// evidence age (or longer than the longest) is refused, one block more accepted.
    #[test]
    fn slashing_parses_as_fraction_and_window_and_is_checked() {
        let params = SlashParams { fraction_ppb: 20_000_000, evidence_window: 600 };
        assert_eq!(propose_slashing("20000000:600").unwrap(), Action::SetSlashParams(params));
        let shortest = SlashParams { evidence_window: MIN_EVIDENCE_WINDOW, ..params };
        let text = format!("20000000:{MIN_EVIDENCE_WINDOW}");
        assert_eq!(propose_slashing(&text).unwrap(), Action::SetSlashParams(shortest));
        let reason = StakeError::BadSlashParams.to_string();
        for bad in [
            "1000000001:600".to_string(),
            "20000000:0".to_string(),
            format!("20000000:{MAX_EVIDENCE_AGE}"),
            format!("20000000:{}", MAX_EVIDENCE_WINDOW + 1),
        ] {
            assert_eq!(propose_slashing(&bad).unwrap_err().to_string(), reason, "{bad}");
        }
        assert!(propose_slashing("20000000").unwrap_err().to_string().contains("FRACTION_PPB:WINDOW"));
    }

    /// The help names the bounds the contract checks.
    #[test]
    fn slashing_help_names_the_window_bounds() {
        let help = <Propose as clap::CommandFactory>::command().render_long_help().to_string();
        let bounds = format!(
            "WINDOW blocks ({MIN_EVIDENCE_WINDOW} to {MAX_EVIDENCE_WINDOW}: longer than the {MAX_EVIDENCE_AGE} blocks"
        );
        let flowed = help.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(flowed.contains(&bounds), "{help}");
    }
}

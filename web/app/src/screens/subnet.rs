//! One subnet: its pool, incentive module, metagraph and hyperparameters, and its last epoch
//! re-run in this browser from proven inputs.

use tao_types::NetUid;
use tao_wallet::Chain;
use tao_wallet::proven::Context as RunContext;
use tao_wallet::views::{self, EpochCheck, NeuronRow, SubnetView};
use yew::prelude::*;

use crate::node;
use crate::reads::{self, SubnetLoad};
use crate::session::{Action, Load, Shared};
use crate::widgets::{alpha, button, load, share, tao, verified};

#[derive(Clone, PartialEq, Properties)]
pub struct Props {
    pub session: Shared,
    pub netuid: NetUid,
}

#[derive(Clone)]
pub enum Msg {
    /// Boxed: a subnet's page is large beside the other messages.
    Loaded(NetUid, Box<SubnetLoad>),
    CheckEpoch,
    EpochChecked(NetUid, Result<EpochCheck, String>),
}

pub struct Subnet {
    subnet: SubnetLoad,
    epoch: Option<Result<EpochCheck, String>>,
    /// A read is under way (a new head does not start another).
    reading: bool,
}

impl Component for Subnet {
    type Message = Msg;
    type Properties = Props;

    fn create(ctx: &Context<Self>) -> Self {
        let mut subnet = Subnet { subnet: Load::Idle, epoch: None, reading: false };
        subnet.read(ctx);
        subnet
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Props) -> bool {
        let other_subnet = ctx.props().netuid != old.netuid;
        if other_subnet {
            self.epoch = None;
        }
        if other_subnet || (ctx.props().session.newer_than(&old.session) && !self.reading) {
            self.read(ctx);
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let netuid = ctx.props().netuid;
        match msg {
            Msg::Loaded(read, load) => {
                self.reading = false;
                if read != netuid {
                    return false;
                }
                self.subnet = *load;
            }
            Msg::CheckEpoch => self.check_epoch(ctx),
            Msg::EpochChecked(checked, result) => {
                if checked != netuid {
                    return false;
                }
                self.epoch = Some(result);
            }
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let netuid = ctx.props().netuid;
        let link = ctx.link().callback(|m: Msg| m);
        html! {
            <section>
                <h2>{ format!("Subnet {netuid}") }</h2>
                { load(&self.subnet, "subnet", |p| match &p.value.0 {
                    None => html! { <p>{ format!("no subnet {netuid} (proven absent at #{})", p.height) }</p> },
                    Some(s) => page(&link, s, &p.value.1, p.height),
                }) }
                if let Some(check) = &self.epoch {
                    { match check {
                        Ok(c) if c.mismatches.is_empty() => html! { <p class="verified" id="epoch-check">{ format!("✓ the epoch of #{} re-ran in this browser: all {} UIDs match", c.block, c.neurons) }</p> },
                        Ok(c) => html! { <p class="unverified" id="epoch-check">{ format!("the epoch of #{} does not re-run the same: {:?}", c.block, c.mismatches) }</p> },
                        Err(e) => html! { <p class="error" id="epoch-check">{ e }</p> },
                    } }
                }
            </section>
        }
    }
}

impl Subnet {
    /// Reads the subnet and its metagraph at the believed head.
    fn read(&mut self, ctx: &Context<Self>) {
        let Some(chain) = ctx.props().session.chain.clone() else { return };
        let netuid = ctx.props().netuid;
        if !reads::shows_subnet(&self.subnet, netuid) {
            self.subnet = Load::Loading;
        }
        self.reading = true;
        ctx.link()
            .send_future(async move { Msg::Loaded(netuid, Box::new(reads::subnet(chain, netuid).await)) });
    }

    /// Re-runs the last epoch if Yuma computed it: the subnet has no module of its own, or its
    /// module failed (fallback). The "working" line is the root's, so it is cleared there.
    fn check_epoch(&mut self, ctx: &Context<Self>) {
        let (session, netuid) = (&ctx.props().session, ctx.props().netuid);
        let Some(chain) = session.chain.clone() else { return };
        let Load::Ready(subnet) = &self.subnet else { return };
        let record =
            subnet.value.0.as_ref().filter(|s| s.netuid == netuid).and_then(|s| s.last_epoch.clone());
        let block = match record {
            Some(r) if r.module.is_none() || r.fallback.is_some() => r.block,
            Some(_) => {
                return self.epoch = Some(Err("the last epoch ran the subnet's own module, not Yuma".into()));
            }
            None => return self.epoch = Some(Err("no epoch to re-run yet".into())),
        };
        let act = session.act.clone();
        act.emit(Action::Busy(Some(format!("re-running subnet {netuid}'s epoch of block #{block}…"))));
        ctx.link().send_future(async move {
            let result = rerun_epoch(chain, netuid, block).await;
            act.emit(Action::Busy(None));
            Msg::EpochChecked(netuid, result)
        });
    }
}

fn page(link: &Callback<Msg>, s: &SubnetView, rows: &[NeuronRow], height: u64) -> Html {
    html! { <>
        <p>{ format!("{} — owner {}", s.name, s.owner) }{ " " }{ verified(height) }</p>
        <p id="pool">{ format!("Pool: {} and {}; price {} per α (moving {})", tao(s.tao_in), alpha(s.alpha_in), tao(s.price), tao(s.moving_price)) }</p>
        <p>{ match &s.module { Some(m) => format!("Incentive module {m}"), None => "Incentive: built-in Yuma".into() } }</p>
        <p>{ match &s.last_epoch {
            Some(r) => match &r.fallback {
                Some(why) => format!("Last epoch at #{} fell back to Yuma: {why}", r.block),
                None => format!("Last epoch at #{}", r.block),
            },
            None => "No epoch yet".into(),
        } }</p>
        { button(link, "check-epoch", "Re-run the last epoch here", Msg::CheckEpoch) }
        <h3>{ "Metagraph" }</h3>
        <table id="metagraph">
            <tr><th>{ "UID" }</th><th>{ "Hotkey" }</th><th>{ "Stake" }</th><th>{ "Consensus" }</th><th>{ "Incentive" }</th><th>{ "Dividends" }</th><th>{ "Emission" }</th><th>{ "Trust" }</th><th>{ "Permit" }</th></tr>
            { for rows.iter().map(|r| html! { <tr>
                <td>{ r.uid }</td><td><code>{ r.hotkey.to_string() }</code></td><td>{ alpha(r.stake) }</td><td>{ share(r.consensus) }</td>
                <td>{ share(r.incentive) }</td><td>{ share(r.dividends) }</td><td>{ alpha(r.emission) }</td><td>{ share(r.trust) }</td>
                <td>{ if r.permit { "✓" } else { "" } }</td>
            </tr> }) }
        </table>
        <h3>{ "Hyperparameters" }</h3>
        <table id="hyperparameters">
            { for s.hyperparameters.iter().map(|(name, value)| html! { <tr><td>{ *name }</td><td>{ *value }</td></tr> }) }
        </table>
    </> }
}

/// Re-runs Yuma on the inputs proven at the block before the epoch and compares with the scores
/// proven at the epoch's block. Both headers are believed by walking back from the head.
async fn rerun_epoch(mut chain: Chain, netuid: NetUid, block: u64) -> Result<EpochCheck, String> {
    let before = block.checked_sub(1).ok_or("no block before genesis")?;
    node::believe_back(&mut chain, before).await.map_err(|e| e.to_string())?;
    let at = |height| RunContext { block_height: height, ..RunContext::default() };
    let input = node::read(&chain, before, at(block), |h| views::epoch_input(h, netuid))
        .await
        .map_err(|e| e.to_string())?
        .value?;
    let n = input.neurons.len();
    let scores = node::read(&chain, block, at(block), |h| views::epoch_scores(h, netuid, n))
        .await
        .map_err(|e| e.to_string())?
        .value?;
    views::check_epoch(netuid, block, &input, &scores)
}

//! One subnet: its pool (and its price and emission charted from proven samples), incentive
//! module, metagraph (incentive and dividends as bars) and hyperparameters, and its last epoch
//! re-run in this browser from proven inputs.

use tao_types::NetUid;
use tao_wallet::display;
use tao_wallet::series::{self, SubnetSeries};
use tao_wallet::views::{EpochCheck, NeuronRow, SubnetView};
use yew::prelude::*;

use crate::reads::{self, SubnetLoad};
use crate::session::{Action, Load, Shared};
use crate::widgets::{address, alpha, button, load, share, tao, verified};
use crate::{charts, node};

/// Older heights read when the page opens, to chart the recent past at once.
const PAST_SAMPLES: u64 = 24;
/// How far back they reach, in blocks (a default tempo).
const PAST_SPAN: u64 = 360;

#[derive(Clone, PartialEq, Properties)]
pub struct Props {
    pub session: Shared,
    pub netuid: NetUid,
}

#[derive(Clone)]
pub enum Msg {
    /// Boxed: a subnet's page is large beside the other messages.
    Loaded(NetUid, Box<SubnetLoad>),
    /// The subnet proven at an older height: a chart sample only.
    Sampled(Box<SubnetLoad>),
    CheckEpoch,
    EpochChecked(NetUid, Result<EpochCheck, String>),
}

pub struct Subnet {
    subnet: SubnetLoad,
    /// Chart samples, from every page proven while this one is open and from the recent past.
    series: SubnetSeries,
    epoch: Option<Result<EpochCheck, String>>,
    /// A read is under way (a new head does not start another).
    reading: bool,
}

impl Component for Subnet {
    type Message = Msg;
    type Properties = Props;

    fn create(ctx: &Context<Self>) -> Self {
        let series = SubnetSeries::new(ctx.props().netuid);
        let mut subnet = Subnet { subnet: Load::Idle, series, epoch: None, reading: false };
        subnet.read(ctx);
        read_past(ctx);
        subnet
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Props) -> bool {
        let other_subnet = ctx.props().netuid != old.netuid;
        if other_subnet {
            self.epoch = None;
            self.series = SubnetSeries::new(ctx.props().netuid);
            read_past(ctx);
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
                if let Load::Ready(page) = load.as_ref() {
                    self.series.record(page);
                }
                self.subnet = *load;
            }
            Msg::Sampled(load) => match *load {
                Load::Ready(page) => return self.series.record(&page),
                _ => return false,
            },
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
                    Some(s) => page(&link, s, &p.value.1, p.height, &self.series),
                }) }
                if let Some(check) = &self.epoch {
                    { match check {
                        Ok(c) if c.mismatches.is_empty() => html! { <><p class="verified" id="epoch-check">{ format!("✓ the epoch of #{} re-ran in this browser: all {} UIDs match", c.block, c.neurons) }</p><p id="epoch-code">{ c.code.clone() }</p></> },
                        Ok(c) => html! { <><p class="unverified" id="epoch-check">{ format!("the epoch of #{} does not re-run the same: {}", c.block, c.mismatches.join("; ")) }</p><p id="epoch-code">{ c.code.clone() }</p></> },
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

    /// Re-runs the last epoch with the code that computed it: the subnet's own module, or Yuma
    /// if it has none or its module failed (fallback). The "working" line is the root's, so it
    /// is cleared there.
    fn check_epoch(&mut self, ctx: &Context<Self>) {
        let (session, netuid) = (&ctx.props().session, ctx.props().netuid);
        let Some(chain) = session.chain.clone() else { return };
        let Load::Ready(subnet) = &self.subnet else { return };
        let record =
            subnet.value.0.as_ref().filter(|s| s.netuid == netuid).and_then(|s| s.last_epoch.clone());
        let Some(record) = record else { return self.epoch = Some(Err("no epoch to re-run yet".into())) };
        let (block, module) = (record.block, record.module.filter(|_| record.fallback.is_none()));
        let act = session.act.clone();
        act.emit(Action::Busy(Some(format!("re-running subnet {netuid}'s epoch of block #{block}…"))));
        ctx.link().send_future(async move {
            let result = node::rerun_epoch(chain, netuid, block, module).await;
            act.emit(Action::Busy(None));
            Msg::EpochChecked(netuid, result)
        });
    }
}

/// Reads the subnet at older heights, one after the other, each believed by walking parent
/// hashes back from the head: every sample is proven, none is the node's word.
fn read_past(ctx: &Context<Subnet>) {
    let Some(mut chain) = ctx.props().session.chain.clone() else { return };
    let (netuid, link) = (ctx.props().netuid, ctx.link().clone());
    let heights = series::past_heights(chain.head().height, PAST_SPAN, PAST_SAMPLES);
    wasm_bindgen_futures::spawn_local(async move {
        let Some(&oldest) = heights.first() else { return };
        if node::believe_back(&mut chain, oldest).await.is_err() {
            return;
        }
        for height in heights {
            let sample = reads::subnet_at(&chain, netuid, height).await;
            link.send_message(Msg::Sampled(Box::new(sample)));
        }
    });
}

fn page(
    link: &Callback<Msg>,
    s: &SubnetView,
    rows: &[NeuronRow],
    height: u64,
    charts: &SubnetSeries,
) -> Html {
    html! { <>
        <div class="row">
            <h3 class="grow">{ s.name.clone() }</h3>{ verified(height) }
        </div>
        <p class="muted">{ "Owner " }{ address(&s.owner) }</p>
        <div class="tiles" id="pool">
            <div class="tile total"><span class="label">{ "Price" }</span><b class="amount">{ format!("{} / α", tao(s.price)) }</b>
                <span class="muted">{ format!("moving {}", tao(s.moving_price)) }</span></div>
            <div class="tile"><span class="label">{ "TAO in pool" }</span><b class="amount">{ tao(s.tao_in) }</b></div>
            <div class="tile"><span class="label">{ "Alpha in pool" }</span><b class="amount">{ alpha(s.alpha_in) }</b></div>
        </div>
        <div class="grid">
            <div class="card"><h3>{ "Pool price" }</h3>{ charts::line("price", &charts.price, "block", |v| format!("{} / α", tao(v))) }</div>
            <div class="card"><h3>{ "Emission per epoch" }</h3>{ charts::line("emission", &charts.emission, "epoch", alpha) }</div>
        </div>
        <p>{ match &s.module { Some(m) => format!("Incentive module {m}"), None => "Incentive: built-in Yuma".into() } }</p>
        <p>{ match &s.last_epoch {
            Some(r) => match &r.fallback {
                Some(why) => format!("Last epoch at #{} fell back to Yuma: {why}", r.block),
                None => format!("Last epoch at #{}", r.block),
            },
            None => "No epoch yet".into(),
        } }</p>
        { button(link, "check-epoch", "Re-run the last epoch here", Msg::CheckEpoch) }
        <h3>{ "Incentive and dividends" }</h3>
        <div class="grid">
            <div class="card"><h3>{ "Incentive" }</h3>{ charts::bars("incentive", &shares(rows, |r| r.incentive)) }</div>
            <div class="card"><h3>{ "Dividends" }</h3>{ charts::bars("dividends", &shares(rows, |r| r.dividends)) }</div>
        </div>
        <h3>{ "Metagraph" }</h3>
        <table id="metagraph">
            <tr><th>{ "UID" }</th><th>{ "Hotkey" }</th><th class="num">{ "Stake" }</th><th class="num">{ "Consensus" }</th><th class="num">{ "Incentive" }</th><th class="num">{ "Dividends" }</th><th class="num">{ "Emission" }</th><th class="num">{ "Trust" }</th><th>{ "Permit" }</th><th>{ "Axon" }</th></tr>
            { for rows.iter().map(|r| html! { <tr>
                <td>{ r.uid }</td><td>{ address(&r.hotkey) }</td><td class="num">{ alpha(r.stake) }</td><td class="num">{ share(r.consensus) }</td>
                <td class="num">{ share(r.incentive) }</td><td class="num">{ share(r.dividends) }</td><td class="num">{ alpha(r.emission) }</td><td class="num">{ share(r.trust) }</td>
                <td>{ if r.permit { "✓" } else { "" } }</td><td>{ r.axon.clone().unwrap_or_default() }</td>
            </tr> }) }
        </table>
        <h3>{ "Hyperparameters" }</h3>
        <table id="hyperparameters" class="params">
            { for s.hyperparameters.iter().map(|(name, value)| hyperparameter(name, *value)) }
        </table>
    </> }
}

/// Each neuron's share of one measure, labelled by UID.
fn shares(rows: &[NeuronRow], measure: impl Fn(&NeuronRow) -> u16) -> Vec<(String, u16)> {
    rows.iter().map(|r| (format!("UID {}", r.uid), measure(r))).collect()
}

/// A hyperparameter's row: its name and meaning, and its value with its unit.
fn hyperparameter(name: &str, value: u64) -> Html {
    let (shown, meaning) = display::hyperparameter(name, value).unwrap_or((value.to_string(), ""));
    html! { <tr><td>{ name.to_string() }<br /><span class="meaning">{ meaning }</span></td><td class="num">{ shown }</td></tr> }
}

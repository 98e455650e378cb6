//! Staking: a subnet's validators to choose from, then a review of adding, removing or moving
//! stake (an order's limit is priced on the proven pool in the review's own run).

use tao_types::{Address, Balance, NetUid};
use tao_wallet::tx::Draft;
use tao_wallet::views::{NeuronRow, Position, SubnetView};
use yew::prelude::*;

use crate::reads::{self, SubnetLoad};
use crate::session::{Action, Load, Order, Props, Request, Screen};
use crate::widgets::{Form, Input, alpha, balance, button, field, load, share, verified};

/// What the review is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Add,
    Remove,
    Move,
}

#[derive(Clone)]
pub enum Msg {
    Input(Input),
    LoadValidators,
    /// Boxed: a subnet's page is large beside the other messages.
    Loaded(NetUid, Box<SubnetLoad>),
    Review(Kind),
}

pub struct Stake {
    form: Form,
    subnet: SubnetLoad,
    /// A read is under way (a new head does not start another).
    reading: bool,
}

impl Component for Stake {
    type Message = Msg;
    type Properties = Props;

    fn create(ctx: &Context<Self>) -> Self {
        let mut stake = Stake { form: Form::with(&[("netuid", "1")]), subnet: Load::Idle, reading: false };
        stake.read(ctx);
        stake
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Props) -> bool {
        if ctx.props().session.newer_than(&old.session) && !self.reading {
            self.read(ctx);
        }
        true
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let act = &ctx.props().session.act;
        match msg {
            Msg::Input(input) => self.form.set(input),
            Msg::LoadValidators => {
                act.emit(Action::Go(Screen::Stake));
                self.read(ctx);
            }
            Msg::Loaded(netuid, load) => {
                self.reading = false;
                if Some(netuid) != self.netuid() {
                    return false;
                }
                self.subnet = *load;
            }
            Msg::Review(kind) => act.emit(match self.request(kind) {
                Ok(request) => Action::Review(request),
                Err(e) => Action::Notice(Some(Err(e))),
            }),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link().callback(|m: Msg| m);
        let on = ctx.link().callback(Msg::Input);
        let (form, on) = (&self.form, &on);
        html! {
            <section>
                <h2>{ "Stake" }</h2>
                { balance(&ctx.props().session.account) }
                { field(form, on, "netuid", "Subnet", "number") }
                { button(&link, "load-validators", "Show validators", Msg::LoadValidators) }
                { load(&self.subnet, "validators", |p| validators(on, p.value.0.as_ref(), &p.value.1, p.height)) }
                { field(form, on, "hotkey", "Validator hotkey", "text") }
                { field(form, on, "stake_amount", "Amount (τ to stake, alpha to unstake or move)", "text") }
                { field(form, on, "slippage", "Slippage limit (%; empty: this order's price impact + 0.5%)", "text") }
                { button(&link, "review-stake", "Review stake", Msg::Review(Kind::Add)) }
                { button(&link, "review-unstake", "Review unstake", Msg::Review(Kind::Remove)) }
                { field(form, on, "to_hotkey", "Move to hotkey", "text") }
                { field(form, on, "to_netuid", "Move to subnet", "number") }
                { button(&link, "review-move", "Review move", Msg::Review(Kind::Move)) }
            </section>
        }
    }
}

impl Stake {
    fn netuid(&self) -> Option<NetUid> {
        self.form.get("netuid").trim().parse().ok()
    }

    /// Reads the chosen subnet and its neurons at the believed head.
    fn read(&mut self, ctx: &Context<Self>) {
        let Some(chain) = ctx.props().session.chain.clone() else { return };
        let Some(netuid) = self.netuid() else {
            self.subnet = Load::Failed("enter a subnet id".into());
            return;
        };
        if !reads::shows_subnet(&self.subnet, netuid) {
            self.subnet = Load::Loading;
        }
        self.reading = true;
        ctx.link()
            .send_future(async move { Msg::Loaded(netuid, Box::new(reads::subnet(chain, netuid).await)) });
    }

    /// The transaction to review. A stake or unstake is an order priced in the preview's run,
    /// on the proven pool of this very subnet: never another subnet's price, never none.
    fn request(&self, kind: Kind) -> Result<Request, String> {
        let netuid = self.netuid().ok_or("subnet: enter a subnet id")?;
        let hotkey: Result<Address, _> = self.form.get("hotkey").trim().parse();
        let hotkey = hotkey.map_err(|e| format!("validator hotkey: {e}"))?;
        let amount = self.form.amount("stake_amount")?;
        let position = Position { hotkey, netuid };
        let slippage = self.form.get("slippage");
        let slippage_bps = match slippage.trim() {
            "" => None,
            typed => Some(
                parse_percent_bps(typed)
                    .ok_or("slippage: a percentage like 0.5, or empty for the default")?,
            ),
        };
        let order = |buying| Some(Order { buying, amount, slippage_bps });
        let (what, draft, order) = match kind {
            Kind::Add => (
                format!("stake {} on subnet {netuid} via {hotkey}", Balance(amount)),
                Draft::add_stake(position, amount, None),
                order(true),
            ),
            Kind::Remove => (
                format!("unstake {} on subnet {netuid} from {hotkey}", alpha(amount)),
                Draft::remove_stake(position, amount, None),
                order(false),
            ),
            Kind::Move => {
                let to_hotkey: Result<Address, _> = self.form.get("to_hotkey").trim().parse();
                let to_netuid: Result<NetUid, _> = self.form.get("to_netuid").trim().parse();
                let (Ok(th), Ok(tn)) = (to_hotkey, to_netuid) else {
                    return Err("moving needs the destination hotkey and subnet".into());
                };
                let to = Position { hotkey: th, netuid: tn };
                (
                    format!("move {} of stake from subnet {netuid} to subnet {tn}", alpha(amount)),
                    Draft::move_stake(position, to, amount),
                    None,
                )
            }
        };
        Ok(Request { what, limit: None, draft, position: Some(position), order })
    }
}

/// The subnet's neurons to stake through; validators with a permit first. Hotkeys carry no
/// on-chain identity yet: the subnet owner's is named as such.
fn validators(on: &Callback<Input>, subnet: Option<&SubnetView>, rows: &[NeuronRow], height: u64) -> Html {
    let mut rows: Vec<&NeuronRow> = rows.iter().collect();
    rows.sort_by_key(|r| (!r.permit, core::cmp::Reverse(r.stake)));
    let identity = |r: &NeuronRow| match subnet {
        Some(s) if s.owner_hotkey == r.hotkey => format!("{} (subnet owner)", s.name),
        _ => "—".to_string(),
    };
    html! {
        <table id="validators">
            <tr><th>{ "UID" }</th><th>{ "Identity" }</th><th>{ "Hotkey" }</th><th>{ "Stake" }</th><th>{ "Take" }</th><th>{ "Permit" }</th><th>{ verified(height) }</th></tr>
            { for rows.iter().map(|r| {
                let hotkey = r.hotkey.to_string();
                let onclick = on.reform({ let pick = hotkey.clone(); move |_| ("hotkey", pick.clone()) });
                html! { <tr>
                    <td>{ r.uid }</td><td>{ identity(r) }</td><td><code>{ hotkey }</code></td><td>{ alpha(r.stake) }</td><td>{ share(r.take) }</td>
                    <td>{ if r.permit { "yes" } else { "" } }</td><td><button class="pick" {onclick}>{ "choose" }</button></td>
                </tr> }
            }) }
        </table>
    }
}

/// `0.5` (percent) → 50 basis points.
fn parse_percent_bps(text: &str) -> Option<u16> {
    let (whole, frac) = text.trim().split_once('.').unwrap_or((text.trim(), ""));
    let whole: u16 = if whole.is_empty() { 0 } else { whole.parse().ok()? };
    let frac = format!("{frac:0<2}");
    let frac: u16 = frac.get(..2)?.parse().ok()?;
    whole.checked_mul(100)?.checked_add(frac)
}

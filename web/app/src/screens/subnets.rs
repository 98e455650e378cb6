//! Every subnet with its pool, each opening its own page.

use tao_wallet::views::SubnetRow;
use yew::prelude::*;

use crate::reads;
use crate::session::{Action, Load, Props, Screen};
use crate::widgets::{load, tao, verified};

pub enum Msg {
    Loaded(Load<Vec<SubnetRow>>),
}

pub struct Subnets {
    subnets: Load<Vec<SubnetRow>>,
    /// A read is under way (a new head does not start another).
    reading: bool,
}

impl Component for Subnets {
    type Message = Msg;
    type Properties = Props;

    fn create(ctx: &Context<Self>) -> Self {
        let mut subnets = Subnets { subnets: Load::Idle, reading: false };
        subnets.read(ctx);
        subnets
    }

    fn changed(&mut self, ctx: &Context<Self>, old: &Props) -> bool {
        if ctx.props().session.newer_than(&old.session) && !self.reading {
            self.read(ctx);
        }
        true
    }

    fn update(&mut self, _: &Context<Self>, Msg::Loaded(load): Msg) -> bool {
        self.reading = false;
        self.subnets = load;
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let act = &ctx.props().session.act;
        html! {
            <section>
                <h2>{ "Subnets" }</h2>
                { load(&self.subnets, "subnets", |p| html! {
                    <table id="subnets">
                        <tr><th>{ "Netuid" }</th><th>{ "Name" }</th><th>{ "Neurons" }</th><th>{ "Price (τ/α)" }</th><th>{ "TAO in" }</th><th>{ verified(p.height) }</th></tr>
                        { for p.value.iter().map(|s| {
                            let netuid = s.netuid;
                            let onclick = act.reform(move |_| Action::Go(Screen::Subnet(netuid)));
                            html! { <tr>
                                <td>{ netuid }</td><td>{ s.name.clone() }</td><td>{ s.neurons }</td><td>{ tao(s.price) }</td><td>{ tao(s.tao_in) }</td>
                                <td><button id={format!("open-subnet-{netuid}")} {onclick}>{ "open" }</button></td>
                            </tr> }
                        }) }
                    </table>
                }) }
            </section>
        }
    }
}

impl Subnets {
    fn read(&mut self, ctx: &Context<Self>) {
        let Some(chain) = ctx.props().session.chain.clone() else { return };
        if matches!(self.subnets, Load::Idle) {
            self.subnets = Load::Loading;
        }
        self.reading = true;
        ctx.link().send_future(async move { Msg::Loaded(reads::subnets(chain).await) });
    }
}

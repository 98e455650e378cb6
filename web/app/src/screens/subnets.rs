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
                        <tr><th>{ "Netuid" }</th><th>{ "Name" }</th><th class="num">{ "Neurons" }</th><th class="num">{ "Price (τ/α)" }</th><th class="num">{ "TAO in" }</th><th>{ verified(p.height) }</th></tr>
                        { for p.value.iter().map(|s| {
                            let netuid = s.netuid;
                            let onclick = act.reform(move |_| Action::Go(Screen::Subnet(netuid)));
                            html! { <tr>
                                <td>{ netuid }</td><td><b>{ s.name.clone() }</b></td><td class="num">{ s.neurons }</td><td class="num">{ tao(s.price) }</td><td class="num">{ tao(s.tao_in) }</td>
                                <td><button class="small" id={format!("open-subnet-{netuid}")} {onclick}>{ "Open" }</button></td>
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

//! Pieces every screen draws with: amounts, addresses (shortened, with a copy button), the
//! verified badge, a value's load state, the balance, buttons, and form inputs bound to a
//! screen's [`Form`].

use std::collections::BTreeMap;

use tao_types::{Address, Balance};
use tao_wallet::Proven;
use tao_wallet::display::short;
use tao_wallet::views::AccountView;
use web_sys::{HtmlInputElement, HtmlSelectElement, HtmlTextAreaElement};
use yew::prelude::*;

use crate::session::Load;

/// An input's id and its new text, as a screen's `Msg::Input` carries it.
pub type Input = (&'static str, String);

/// A screen's typed inputs by element id: they live as long as the screen is open.
#[derive(Debug, Default)]
pub struct Form(BTreeMap<&'static str, String>);

impl Form {
    pub fn with(values: &[(&'static str, &str)]) -> Self {
        Form(values.iter().map(|(k, v)| (*k, v.to_string())).collect())
    }

    pub fn get(&self, id: &str) -> String {
        self.0.get(id).cloned().unwrap_or_default()
    }

    pub fn set(&mut self, (id, value): Input) {
        self.0.insert(id, value);
    }

    /// The amount typed in `id`, in rao: τ unless it names its unit (`rao` or `τ`).
    pub fn amount(&self, id: &str) -> Result<u64, String> {
        let text = self.get(id);
        let text = text.trim();
        let with_unit = if text.ends_with("rao") || text.ends_with('τ') {
            text.to_string()
        } else {
            format!("{text} τ")
        };
        with_unit.parse::<Balance>().map(|b| b.0).map_err(|e| format!("amount: {e}"))
    }

    /// Forgets a typed secret once it was used.
    pub fn clear(&mut self, id: &'static str) {
        self.0.remove(id);
    }
}

pub fn tao(rao: u64) -> String {
    Balance(rao).to_string()
}

/// Alpha amounts read like TAO ones, with their own sign.
pub fn alpha(rao: u64) -> String {
    Balance(rao).to_string().replace('τ', "α")
}

/// How far `after` moved from `before`, in percent with two decimals (integers only).
pub fn change(before: u64, after: u64) -> String {
    let (b, a) = (i128::from(before), i128::from(after));
    if b == 0 {
        return String::new();
    }
    let bps = (a - b) * 10_000 / b;
    let sign = if bps < 0 { "-" } else { "+" };
    format!(" ({sign}{}.{:02}%)", bps.abs() / 100, bps.abs() % 100)
}

/// A u16 fraction as a percentage with two decimals, in integers.
pub fn share(v: u16) -> String {
    percent(u128::from(v), 65_535)
}

/// `part` of `whole` as a percentage with two decimals, in integers (0% of nothing).
pub fn percent(part: u128, whole: u128) -> String {
    let basis = part.saturating_mul(10_000).checked_div(whole).unwrap_or(0);
    format!("{}.{:02}%", basis / 100, basis % 100)
}

pub fn verified(height: u64) -> Html {
    html! { <span class="verified" title="proven against a certified state root">{ format!("✓ verified at #{height}") }</span> }
}

pub fn field(form: &Form, on: &Callback<Input>, id: &'static str, label: &str, kind: &str) -> Html {
    let on = on.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        on.emit((id, e.target_unchecked_into::<HtmlInputElement>().value()))
    });
    html! {
        <label>{ label }
            <input id={id} type={kind.to_string()} value={form.get(id)} {oninput} autocomplete="off" />
        </label>
    }
}

pub fn area(form: &Form, on: &Callback<Input>, id: &'static str, label: &str) -> Html {
    let on = on.clone();
    let oninput = Callback::from(move |e: InputEvent| {
        on.emit((id, e.target_unchecked_into::<HtmlTextAreaElement>().value()))
    });
    html! { <label>{ label }<textarea id={id} value={form.get(id)} {oninput} rows="3" /></label> }
}

/// A dropdown showing the form's choice (the first option until one is made): an element the
/// page reuses from another screen must not keep that screen's choice on display.
pub fn select(
    form: &Form,
    on: &Callback<Input>,
    id: &'static str,
    label: &str,
    options: &[(&'static str, &'static str)],
) -> Html {
    let on = on.clone();
    let onchange =
        Callback::from(move |e: Event| on.emit((id, e.target_unchecked_into::<HtmlSelectElement>().value())));
    let chosen = form.get(id);
    let chosen = options.iter().find(|(v, _)| *v == chosen).or(options.first()).map(|(v, _)| *v);
    html! {
        <label>{ label }
            <select id={id} {onchange}>
                { for options.iter().map(|(value, text)| html! {
                    <option value={*value} selected={Some(*value) == chosen}>{ *text }</option>
                }) }
            </select>
        </label>
    }
}

/// A secondary button that emits `message` on `to` when pressed.
pub fn button<M: Clone + 'static>(to: &Callback<M>, id: &'static str, label: &str, message: M) -> Html {
    styled_button("", true, to, id, label, message)
}

/// The screen's main action.
pub fn primary<M: Clone + 'static>(to: &Callback<M>, id: &'static str, label: &str, message: M) -> Html {
    styled_button("primary", true, to, id, label, message)
}

/// The screen's main action, which cannot be pressed unless `enabled`.
pub fn primary_if<M: Clone + 'static>(
    enabled: bool,
    to: &Callback<M>,
    id: &'static str,
    label: &str,
    message: M,
) -> Html {
    styled_button("primary", enabled, to, id, label, message)
}

fn styled_button<M: Clone + 'static>(
    class: &'static str,
    enabled: bool,
    to: &Callback<M>,
    id: &'static str,
    label: &str,
    message: M,
) -> Html {
    let onclick = to.reform(move |_: MouseEvent| message.clone());
    html! { <button id={id} class={class} {onclick} disabled={!enabled}>{ label }</button> }
}

/// A button that puts `text` on the clipboard.
pub fn copy(text: String) -> Html {
    let onclick = Callback::from(move |e: MouseEvent| {
        e.stop_propagation();
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&text);
        }
    });
    html! { <button class="copy" title="copy" {onclick}>{ "Copy" }</button> }
}

/// An address as `0x1234…abcd` (the whole one on hover and in `data-address`), with a copy
/// button.
pub fn address(address: &Address) -> Html {
    let full = address.to_string();
    html! {
        <span class="addr" title={full.clone()} data-address={full.clone()}>
            <code>{ short(address) }</code>{ copy(full) }
        </span>
    }
}

pub fn load<T>(l: &Load<T>, what: &str, show: impl FnOnce(&Proven<T>) -> Html) -> Html {
    match l {
        Load::Idle => html! {},
        Load::Loading => {
            html! { <p class="loading"><span class="spinner" />{ format!("verifying {what}…") }</p> }
        }
        Load::Failed(why) => {
            html! { <p class="unverified" id="unverified">{ format!("{what} not shown — not verified: {why}") }</p> }
        }
        Load::Ready(p) => show(p),
    }
}

/// A round badge coloured from the address, so accounts are told apart at a glance.
pub fn avatar(address: &Address) -> Html {
    let bytes = address.0;
    let (a, b) = (u32::from(bytes[0]) * 360 / 256, u32::from(bytes[1]) * 360 / 256);
    let style = format!("background: linear-gradient(135deg, hsl({a} 70% 55%), hsl({b} 70% 45%))");
    html! { <span class="avatar" {style} /> }
}

/// One large amount with its label.
fn tile(class: &'static str, label: &str, id: &'static str, amount: String) -> Html {
    html! {
        <div class={classes!("tile", class)}>
            <span class="label">{ label }</span>
            <b class="amount" id={id}>{ amount }</b>
        </div>
    }
}

/// The selected account's free, staked and total balance and every stake position the chain's
/// index lists for it, wherever it was made.
pub fn balance(account: &Load<AccountView>) -> Html {
    load(account, "balance", |p| {
        html! {
            <div class="balance">
            <div class="tiles">
                { tile("total", "Total", "total", tao(p.value.total)) }
                { tile("", "Free", "free", tao(p.value.free)) }
                { tile("", "Staked", "staked", tao(p.value.staked)) }
            </div>
            { verified(p.height) }
            if !p.value.positions.is_empty() {
                <table id="positions" class="positions"><tr><th>{ "Subnet" }</th><th>{ "Validator" }</th><th class="num">{ "Stake" }</th><th class="num">{ "Worth" }</th></tr>
                { for p.value.positions.iter().map(|s| html! { <tr class="position" data-netuid={s.position.netuid.to_string()}>
                    <td>{ s.position.netuid }</td><td>{ address(&s.position.hotkey) }</td>
                    <td class="stake num">{ if s.position.netuid == 0 { tao(s.stake) } else { alpha(s.stake) } }</td><td class="num">{ tao(s.tao_value) }</td></tr> }) }
                </table>
            }
            </div>
        }
    })
}

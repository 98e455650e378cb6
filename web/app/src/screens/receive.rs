//! The selected account's address, as text to copy and as a QR code.

use qrcode::QrCode;
use qrcode::render::svg;
use yew::prelude::*;

use crate::session::Props;
use crate::widgets::copy;

#[function_component]
pub fn Receive(props: &Props) -> Html {
    let Some(address) = props.session.selected else { return html! {} };
    let text = address.to_string();
    let qr = QrCode::new(text.as_bytes())
        .map(|code| code.render::<svg::Color<'_>>().min_dimensions(180, 180).build())
        .unwrap_or_default();
    html! {
        <section class="receive">
            <h2>{ "Receive" }</h2>
            <p class="muted">{ "Send only TAO on this chain to this address." }</p>
            <div class="qr">{ Html::from_html_unchecked(AttrValue::from(qr)) }</div>
            <code id="address">{ text.clone() }</code>
            <span id="copy">{ copy(text) }</span>
        </section>
    }
}

//! The selected account's address, as text to copy and as a QR code.

use qrcode::QrCode;
use qrcode::render::svg;
use yew::prelude::*;

use crate::session::Props;

#[function_component]
pub fn Receive(props: &Props) -> Html {
    let Some(address) = props.session.selected else { return html! {} };
    let text = address.to_string();
    let qr = QrCode::new(text.as_bytes())
        .map(|code| code.render::<svg::Color<'_>>().min_dimensions(180, 180).build())
        .unwrap_or_default();
    let copy = text.clone();
    let onclick = Callback::from(move |_| {
        if let Some(w) = web_sys::window() {
            let _ = w.navigator().clipboard().write_text(&copy);
        }
    });
    html! {
        <section>
            <h2>{ "Receive" }</h2>
            <code id="address">{ text }</code>
            <button id="copy" {onclick}>{ "Copy" }</button>
            <div class="qr">{ Html::from_html_unchecked(AttrValue::from(qr)) }</div>
        </section>
    }
}

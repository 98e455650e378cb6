//! Uploading a module: the chosen `.wasm` file's size, code hash and fee, then a review.

use tao_types::{Hash, keccak256};
use tao_wallet::tx::Draft;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::session::{Action, Props, Request};
use crate::widgets::{button, tao};

#[derive(Clone)]
pub enum Msg {
    CodeLoaded(Result<Vec<u8>, String>),
    Review,
}

pub struct Deploy {
    code: Option<Vec<u8>>,
}

impl Component for Deploy {
    type Message = Msg;
    type Properties = Props;

    fn create(_: &Context<Self>) -> Self {
        Deploy { code: None }
    }

    fn update(&mut self, ctx: &Context<Self>, msg: Msg) -> bool {
        let act = &ctx.props().session.act;
        match msg {
            Msg::CodeLoaded(Ok(code)) => self.code = Some(code),
            Msg::CodeLoaded(Err(e)) => act.emit(Action::Notice(Some(Err(e)))),
            Msg::Review => act.emit(match self.code.clone() {
                Some(code) => Action::Review(Request {
                    what: "deploy module".into(),
                    limit: None,
                    draft: Draft::deploy(code),
                    position: None,
                    order: None,
                }),
                None => Action::Notice(Some(Err("choose a .wasm file first".into()))),
            }),
        }
        true
    }

    fn view(&self, ctx: &Context<Self>) -> Html {
        let link = ctx.link().callback(|m: Msg| m);
        let onchange = ctx.link().callback_future(|e: Event| async move {
            let input: HtmlInputElement = e.target_unchecked_into();
            let Some(file) = input.files().and_then(|f| f.get(0)) else {
                return Msg::CodeLoaded(Err("no file".into()));
            };
            let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            Msg::CodeLoaded(
                buffer
                    .map(|b| js_sys::Uint8Array::new(&b).to_vec())
                    .map_err(|_| "could not read the file".into()),
            )
        });
        html! {
            <section>
                <h2>{ "Deploy an incentive module" }</h2>
                <input id="wasm-file" type="file" accept=".wasm" {onchange} />
                if let Some(code) = &self.code {
                    <p id="code-hash">{ format!("{} bytes, code hash {}", code.len(), Hash(keccak256(code))) }</p>
                    <p>{ format!("Fee: {}", tao(Draft::deploy(code.clone()).fee)) }</p>
                }
                { button(&link, "review-deploy", "Review", Msg::Review) }
            </section>
        }
    }
}

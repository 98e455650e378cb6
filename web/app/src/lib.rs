//! The wasmtensor browser wallet (Yew). Components stay thin: what to believe, sign and show is
//! decided by `tao_wallet` (tested natively and in the browser); this crate holds the screens
//! and the I/O ([`node`]) and browser storage ([`store`]).

mod app;
mod node;
mod screens;
mod store;
mod trust;

use wasm_bindgen::prelude::*;

/// Mounts the wallet into the page.
#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}

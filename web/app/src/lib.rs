//! The wasmtensor browser wallet (Yew). Components stay thin: what to believe, sign and show is
//! decided by `tao_wallet` (tested natively and in the browser); this crate holds the screens
//! and the I/O ([`node`]) and browser storage ([`store`]).
//!
//! Modules form a tree: [`app`] (the root) → [`screens`] (one component each) → [`session`],
//! [`reads`], [`widgets`], [`charts`] → [`node`], [`store`].

mod app;
mod charts;
mod node;
mod reads;
mod screens;
mod session;
mod store;
mod trust;
mod widgets;

use wasm_bindgen::prelude::*;

/// Mounts the wallet into the page.
#[wasm_bindgen(start)]
pub fn start() {
    yew::Renderer::<app::App>::new().render();
}

//! ScenarioForge in the browser: a Leptos app, rendered on the client, that edits models,
//! runs them with the same engine compiled to WebAssembly (or on the server when they are
//! too big for the browser), and shows and shares the results.
//!
//! Built by Trunk from `index.html` and `Trunk.toml` at the repository root:
//! `trunk build --release` writes `dist/`, which `scenarioforge serve` serves at `/`.
#![forbid(unsafe_code)]
// Leptos components take their props by value (the `#[component]` macro builds a props
// struct from them), even where the body only borrows.
#![allow(clippy::needless_pass_by_value)]

mod api;
mod app;
mod browser;
mod components;
mod edit;
mod editing;
mod examples;
mod format;
mod pages;
mod runner;
mod store;

fn main() {
    leptos::mount::mount_to_body(app::App);
}

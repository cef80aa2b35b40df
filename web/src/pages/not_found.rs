//! What an unknown address or run id shows.

use leptos::prelude::*;

#[component]
pub fn NotFound(#[prop(optional, into)] what: Option<String>) -> impl IntoView {
    view! {
        <main class="not-found">
            <h1>"Not found"</h1>
            <p>{what.unwrap_or_else(|| "There is no page at this address.".to_string())}</p>
            <p><a class="button primary" href="/">"Open the editor"</a></p>
        </main>
    }
}

//! The app: routes to the editor (`/`), a shared run (`/r/{id}`) and a not-found page.

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::pages::editor::EditorPage;
use crate::pages::not_found::NotFound;
use crate::pages::share::SharePage;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("/") view=EditorPage />
                <Route path=path!("/r/:id") view=SharePage />
            </Routes>
        </Router>
    }
}

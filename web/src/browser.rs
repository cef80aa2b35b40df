//! The browser's services the app uses: local storage, the clock, random seeds, downloads.

use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// The value stored under `key`, if any and readable.
pub fn load<T: for<'de> Deserialize<'de>>(key: &str) -> Option<T> {
    let text = storage()?.get_item(key).ok()??;
    serde_json::from_str(&text).ok()
}

/// Stores `value` under `key`; a full or disabled storage is ignored (the app still works,
/// it just forgets on reload).
pub fn save<T: Serialize>(key: &str, value: &T) {
    if let (Some(s), Ok(text)) = (storage(), serde_json::to_string(value)) {
        let _ = s.set_item(key, &text);
    }
}

/// Milliseconds from a fixed point, for measuring speed.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// A fresh seed: 53 random bits (what JavaScript's numbers hold exactly).
pub fn random_seed() -> u64 {
    let hi = (js_sys::Math::random() * f64::from(1u32 << 21)) as u64;
    let lo = (js_sys::Math::random() * 4_294_967_296.0) as u64;
    (hi << 32) | lo
}

/// Offers `text` as a file download named `name`.
pub fn download(name: &str, mime: &str, text: &str) {
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    download_url(name, &url);
    let _ = web_sys::Url::revoke_object_url(&url);
}

/// Follows `url` as a download named `name`.
pub fn download_url(name: &str, url: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let Ok(a) = document.create_element("a") else {
        return;
    };
    let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>() else {
        return;
    };
    a.set_href(url);
    a.set_download(name);
    a.click();
}

/// Scrolls the first element matching `selector` to the top of the window, once the page
/// has rendered it (on the next animation frame). Nothing happens when there is none.
pub fn scroll_into_view(selector: &'static str) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let scroll = wasm_bindgen::closure::Closure::once_into_js(move || {
        if let Some(el) = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(selector).ok().flatten())
        {
            el.scroll_into_view();
        }
    });
    let _ = window.request_animation_frame(scroll.unchecked_ref());
}

/// The page's origin, `http://127.0.0.1:3000`, for links to copy.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// Lets the browser handle input, rendering and timers, then resumes: a message to
/// ourselves through a `MessageChannel`. A zero `setTimeout` would do too, but browsers
/// clamp nested timeouts to 4 ms, which costs a run that yields every slice a tenth of
/// its time.
pub async fn yield_to_event_loop() {
    let Ok(channel) = web_sys::MessageChannel::new() else {
        gloo_timers::future::TimeoutFuture::new(0).await;
        return;
    };
    let promise = js_sys::Promise::new(&mut |resolve, _reject| {
        channel.port1().set_onmessage(Some(&resolve));
        let _ = channel.port2().post_message(&wasm_bindgen::JsValue::NULL);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    channel.port1().set_onmessage(None);
}

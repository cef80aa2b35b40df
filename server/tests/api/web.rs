//! The web app is served at `/`, with its `index.html` for the app's own routes; `/api`
//! paths that do not exist stay JSON 404s.

use axum::body::Body;
use axum::http::{Method, StatusCode};

use crate::helpers::{TestApp, assert_error, parse};

#[tokio::test]
async fn the_app_is_served_with_a_fallback_for_its_routes() {
    let dir = std::env::temp_dir().join(format!("sf-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("index.html"), "<!DOCTYPE html><title>app</title>").unwrap();
    std::fs::write(dir.join("app.wasm"), b"\0asm").unwrap();
    let app = TestApp::spawn_with(&[("WEB_DIR", dir.to_str().unwrap())]).await;

    for path in [
        "/",
        "/r/0b7e3c1e-7a63-4c36-9d5e-4f5b0f1f3a10",
        "/anything/else",
    ] {
        let (status, headers, body) = app.request(Method::GET, path, &[], Body::empty()).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html"),
            "{path}"
        );
        assert!(
            String::from_utf8_lossy(&body).contains("<title>app</title>"),
            "{path}"
        );
    }
    let (status, headers, _) = app
        .request(Method::GET, "/app.wasm", &[], Body::empty())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/wasm");

    let (status, _, body) = app
        .request(Method::GET, "/api/nope", &[], Body::empty())
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&parse(&body), "not_found", "no such endpoint");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn without_a_built_app_the_page_says_how_to_build_it() {
    let app = TestApp::spawn_with(&[("WEB_DIR", "/nonexistent/dist")]).await;
    let (status, _, body) = app.request(Method::GET, "/", &[], Body::empty()).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_error(&parse(&body), "not_found", "trunk build --release");
}

/// Every response says what it is and what it may load: `nosniff`, no referrer, and a content
/// security policy that allows the app's own files, its WebAssembly and the inline start-up
/// script by its hash, and nothing else. (The browser test runs the real app under it.)
#[tokio::test]
async fn responses_carry_security_headers() {
    use base64::Engine;
    use sha2::{Digest, Sha256};

    let dir = std::env::temp_dir().join(format!("sf-csp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = "\nimport init from '/app.js';\nawait init();\n";
    std::fs::write(
        dir.join("index.html"),
        format!(
            "<!DOCTYPE html><title>app</title><script type=\"module\">{script}</script>\
             <script src=\"/other.js\"></script>"
        ),
    )
    .unwrap();
    let app = TestApp::spawn_with(&[("WEB_DIR", dir.to_str().unwrap())]).await;
    let hash = base64::prelude::BASE64_STANDARD.encode(Sha256::digest(script.as_bytes()));
    for path in ["/", "/api/runs/not-a-uuid", "/health"] {
        let (_, headers, _) = app.request(Method::GET, path, &[], Body::empty()).await;
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(csp.starts_with("default-src 'none'; "), "{path}: {csp}");
        assert!(
            csp.contains(&format!(
                "script-src 'self' 'wasm-unsafe-eval' 'sha256-{hash}';"
            )),
            "{path}: {csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

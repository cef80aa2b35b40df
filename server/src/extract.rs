//! Extractors that turn what a client sends into validated values, or into an [`ApiError`] of
//! the one error shape: the JSON body (with the field path and position of a mistake), the run
//! id in the path, and the owner token.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Path, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::error::ApiError;
use crate::state::AppState;

/// The client's address, from the connection (`None` for a request that did not come over
/// a socket, such as a test's `oneshot`).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// A JSON body of type `T`. Unlike axum's `Json`, a mistake names the field (`model.nodes[2].expr`)
/// and its line and column, and the body-size limit is reported with the limit's name.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + Send + 'static> FromRequest<AppState> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        // Only JSON: a `text/plain` body, which a page of any site may send without asking
        // (no CORS preflight), is refused before it is read.
        let kind = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if !kind.as_deref().is_some_and(is_json) {
            return Err(ApiError::UnsupportedMediaType { got: kind });
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| body_error(&e, state.config.max_request_size))?;
        // Parsing a body of several megabytes takes tens of milliseconds: not on the runtime.
        if bytes.len() > BLOCKING_PARSE_BYTES {
            return state
                .blocking(move || parse_json(&bytes))
                .await?
                .map(JsonBody);
        }
        parse_json(&bytes).map(JsonBody)
    }
}

/// `application/json`, or `application/something+json`, with any parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Bodies larger than this are parsed on the blocking pool.
const BLOCKING_PARSE_BYTES: usize = 64 * 1024;

fn body_error(e: &BytesRejection, limit: usize) -> ApiError {
    if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge { limit }
    } else {
        ApiError::InvalidJson {
            message: format!("cannot read the request body: {}", e.body_text()),
            details: serde_json::Value::Null,
        }
    }
}

/// Parses a JSON document: a syntax error is `400 invalid_json`, the wrong shape is
/// `422 invalid_body`, both with the field path, line and column.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::InvalidJson {
            message: "the request body is empty: expected a JSON object".to_string(),
            details: serde_json::Value::Null,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| (e.path().to_string(), e.into_inner()))
        .and_then(|v| de.end().map(|()| v).map_err(|e| (String::new(), e)));
    parsed.map_err(|(path, inner)| {
        // serde_json appends " at line L column C"; the position goes in fields of its own.
        let text = inner.to_string();
        let text = text
            .rsplit_once(" at line ")
            .map_or(text.as_str(), |(m, _)| m)
            .to_string();
        let field = (path != "." && !path.is_empty()).then_some(path);
        let details = json!({ "field": field, "line": inner.line(), "column": inner.column() });
        let place = match &field {
            Some(f) => format!(" at `{f}`"),
            None => String::new(),
        };
        let position = format!("line {}, column {}", inner.line(), inner.column());
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::InvalidBody {
                message: format!("invalid request body{place} ({position}): {text}"),
                details,
            },
            _ => ApiError::InvalidJson {
                message: format!("the request body is not valid JSON ({position}): {text}"),
                details,
            },
        }
    })
}

/// The run id of the path: `400 invalid_id` unless it is a UUID.
#[derive(Clone, Copy, Debug)]
pub struct RunId(pub Uuid);

impl<S: Send + Sync> FromRequestParts<S> for RunId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(text) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::InvalidParameter {
                parameter: "id",
                message: format!("invalid run id: {}", e.body_text()),
            })?;
        Uuid::try_parse(&text)
            .map(RunId)
            .map_err(|_| ApiError::InvalidId { id: text })
    }
}

/// The SHA-256 of the token in `Authorization: Bearer <token>`, if there is one. Only hashes
/// are stored and compared.
#[derive(Clone, Debug)]
pub struct OwnerToken(pub Option<[u8; 32]>);

impl<S: Send + Sync> FromRequestParts<S> for OwnerToken {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| {
                let (scheme, token) = v.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|t| !t.is_empty());
        Ok(OwnerToken(token.map(token_hash)))
    }
}

/// The hash of an owner token as stored.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new owner token: 32 random bytes from the operating system, in hex.
pub fn new_owner_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("no randomness for an owner token: {e}")))?;
    Ok(hex(&bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        model: Inner,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        nodes: Vec<String>,
    }

    fn check(body: &str, status: u16, message: &str) {
        let err = parse_json::<Body>(body.as_bytes()).unwrap_err();
        assert_eq!(err.status().as_u16(), status, "{body}");
        let (crate::error::ApiError::InvalidJson { message: m, .. }
        | crate::error::ApiError::InvalidBody { message: m, .. }) = err
        else {
            panic!("{err:?}");
        };
        assert_eq!(m, message);
    }

    #[test]
    fn mistakes_name_the_field_and_the_position() {
        check("", 400, "the request body is empty: expected a JSON object");
        check(
            "{\"model\": ",
            400,
            "the request body is not valid JSON (line 1, column 10): EOF while parsing a value",
        );
        check(
            "{\"model\": {\"nodes\": [1]}}",
            422,
            "invalid request body at `model.nodes[0]` (line 1, column 22): invalid type: integer `1`, expected a string",
        );
        check(
            "{\"model\": {\"nodes\": []}, \"extra\": 1}",
            422,
            "invalid request body at `extra` (line 1, column 32): unknown field `extra`, expected `model`",
        );
        check(
            "{}",
            422,
            "invalid request body (line 1, column 2): missing field `model`",
        );
        check(
            "{\"model\": {\"nodes\": []}} x",
            400,
            "the request body is not valid JSON (line 1, column 26): trailing characters",
        );
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}

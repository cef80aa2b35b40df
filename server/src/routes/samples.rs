//! `GET /api/runs/{id}/samples`: the stored iteration rows of a run, a keyset page at a time
//! (`?after=ITERATION&limit=N`), or all of them as CSV (`?format=csv`).

use std::fmt::Write as _;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db;
use crate::error::ApiError;
use crate::extract::RunId;
use crate::routes::runs::not_found;
use crate::state::AppState;

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = scenarioforge_core::sample::MAX_PAGE_ROWS as i64;
/// Rows per database round trip while streaming CSV.
const CSV_BATCH: i64 = 2000;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/runs/{id}/samples", get(samples))
}

/// The query as sent: every value a string, so that a bad one is reported with its name.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuery {
    after: Option<String>,
    limit: Option<String>,
    format: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
enum Format {
    Json,
    Csv,
}

#[derive(Debug)]
struct PageQuery {
    after: Option<i64>,
    limit: i64,
    format: Format,
}

impl TryFrom<RawQuery> for PageQuery {
    type Error = ApiError;

    fn try_from(q: RawQuery) -> Result<PageQuery, ApiError> {
        let after =
            match q.after.as_deref() {
                None | Some("") => None,
                Some(text) => Some(text.parse::<i64>().ok().filter(|a| *a >= 0).ok_or_else(
                    || ApiError::InvalidParameter {
                        parameter: "after",
                        message: format!(
                            "after must be an iteration number (0 or more), got `{text}`"
                        ),
                    },
                )?),
            };
        let limit = match q.limit.as_deref() {
            None | Some("") => DEFAULT_LIMIT,
            Some(text) => text
                .parse::<i64>()
                .ok()
                .filter(|l| (1..=MAX_LIMIT).contains(l))
                .ok_or_else(|| ApiError::InvalidParameter {
                    parameter: "limit",
                    message: format!("limit must be from 1 to {MAX_LIMIT}, got `{text}`"),
                })?,
        };
        let format = match q.format.as_deref() {
            None | Some("" | "json") => Format::Json,
            Some("csv") => Format::Csv,
            Some(other) => {
                return Err(ApiError::InvalidParameter {
                    parameter: "format",
                    message: format!("format must be `json` or `csv`, got `{other}`"),
                });
            }
        };
        Ok(PageQuery {
            after,
            limit,
            format,
        })
    }
}

/// `[iteration, value, ...]`; a NaN or infinite value is `null`.
#[derive(Debug)]
struct Row(i64, Vec<f64>);

impl Serialize for Row {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq as _;
        let mut seq = serializer.serialize_seq(Some(self.1.len() + 1))?;
        seq.serialize_element(&self.0)?;
        for v in &self.1 {
            seq.serialize_element(&v.is_finite().then_some(*v))?;
        }
        seq.end()
    }
}

#[derive(Debug, Serialize)]
struct Page {
    columns: Vec<String>,
    rows: Vec<Row>,
    total: i32,
    next_after: Option<i64>,
}

async fn samples(
    State(state): State<AppState>,
    RunId(id): RunId,
    query: Result<Query<RawQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(raw) = query.map_err(|e| ApiError::InvalidParameter {
        parameter: "query",
        message: format!("invalid query string: {}", e.body_text()),
    })?;
    let query = PageQuery::try_from(raw)?;
    let (node_ids, total, _status) = db::sample_info(&state.pool, id)
        .await?
        .ok_or_else(|| not_found(id))?;
    let mut columns = Vec::with_capacity(node_ids.len() + 1);
    columns.push("iteration".to_string());
    columns.extend(node_ids);
    if query.format == Format::Csv {
        return Ok(csv(state.pool.clone(), id, &columns));
    }
    // One row more than asked tells whether there is a next page.
    let mut rows = db::sample_page(&state.pool, id, query.after, query.limit + 1).await?;
    let more = rows.len() as i64 > query.limit;
    rows.truncate(usize::try_from(query.limit).unwrap_or(0));
    let next_after = if more {
        rows.last().map(|(it, _)| *it)
    } else {
        None
    };
    let rows = rows
        .into_iter()
        .map(|(it, values)| Row(it, values))
        .collect();
    Ok(Json(Page {
        columns,
        rows,
        total,
        next_after,
    })
    .into_response())
}

/// Every stored row as CSV, streamed a batch at a time: memory stays flat whatever the size,
/// and no connection is held between batches. Values print as the command line's
/// `--samples-csv` does (`NaN`, `inf`, `-inf` for non-finite ones).
fn csv(pool: PgPool, id: Uuid, columns: &[String]) -> Response {
    let header = format!("{}\n", columns.join(","));
    let state = Some((pool, id, None::<i64>));
    let rows = futures_util::stream::unfold(state, |state| async move {
        let (pool, id, after) = state?;
        match db::sample_page(&pool, id, after, CSV_BATCH).await {
            Ok(rows) if rows.is_empty() => None,
            Ok(rows) => {
                let mut text = String::with_capacity(rows.len() * 64);
                for (iteration, values) in &rows {
                    let _ = write!(text, "{iteration}");
                    for v in values {
                        let _ = write!(text, ",{v}");
                    }
                    text.push('\n');
                }
                let next = rows.last().map(|(it, _)| *it);
                let more = rows.len() as i64 == CSV_BATCH;
                Some((
                    Ok::<_, sqlx::Error>(Bytes::from(text)),
                    more.then_some((pool, id, next)),
                ))
            }
            // The response has started: the error can only cut the stream short.
            Err(e) => {
                tracing::warn!(run = %id, error = %e, "CSV stream interrupted");
                Some((Err(e), None))
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok(Bytes::from(header)) }).chain(rows);
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"run-{id}-samples.csv\""),
            ),
        ],
        Body::from_stream(body),
    )
        .into_response()
}

//! `POST /api/models/validate`: the engine's diagnostics for a model, for clients without the
//! engine. The body is that of `POST /api/runs`; the answer is `200` whether the model is valid
//! or not (the diagnostics are the answer).

use std::sync::Arc;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use scenarioforge_core::{Checked, Diagnostic, Model, Rejected, check};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::runs::{Estimate, RunRequest};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/api/models/validate", post(validate))
}

#[derive(Debug, Serialize)]
struct Validation {
    valid: bool,
    /// Every problem found, model and settings alike: kind, message, node, span, field.
    diagnostics: Vec<Diagnostic>,
    /// The model's stochastic inputs and outputs, when it compiles.
    inputs: Vec<String>,
    outputs: Vec<String>,
    /// What a run of it with these settings would cost on this server, when it compiles.
    #[serde(skip_serializing_if = "Option::is_none")]
    estimate: Option<Estimate>,
}

async fn validate(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RunRequest>,
) -> Result<Json<Validation>, ApiError> {
    let config = Arc::clone(&state.config);
    let validation = state
        .blocking(move || {
            let ids = |model: &Model, nodes: &[usize]| -> Vec<String> {
                nodes.iter().map(|&i| model.nodes[i].id.clone()).collect()
            };
            match check(&request.model, &request.settings, &config.limits()) {
                Ok(Checked { model, settings }) => {
                    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
                    Validation {
                        valid: true,
                        diagnostics: Vec::new(),
                        inputs: ids(&model, &model.inputs),
                        outputs: ids(&model, &model.outputs),
                        estimate: Some(Estimate::of(&model, &settings, threads)),
                    }
                }
                // The model compiles: its inputs and outputs are listed beside what is wrong
                // with the settings.
                Err(Rejected::Settings { model, diagnostics }) => Validation {
                    valid: false,
                    diagnostics,
                    inputs: ids(&model, &model.inputs),
                    outputs: ids(&model, &model.outputs),
                    estimate: None,
                },
                Err(Rejected::Model(diagnostics)) => Validation {
                    valid: false,
                    diagnostics,
                    inputs: Vec::new(),
                    outputs: Vec::new(),
                    estimate: None,
                },
            }
        })
        .await?;
    Ok(Json(validation))
}

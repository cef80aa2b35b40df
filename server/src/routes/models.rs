//! `POST /api/models/validate`: the engine's diagnostics for a model, for clients without the
//! engine. The body is that of `POST /api/runs`; the answer is `200` whether the model is valid
//! or not (the diagnostics are the answer).

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use scenarioforge_core::{Diagnostic, RunSettings, compile};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::JsonBody;
use crate::routes::runs::RunRequest;
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
}

async fn validate(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RunRequest>,
) -> Result<Json<Validation>, ApiError> {
    let effective = request.model.settings.overridden_by(&request.settings);
    let mut diagnostics = Vec::new();
    let (mut inputs, mut outputs) = (Vec::new(), Vec::new());
    let compiled = compile(&request.model);
    match &compiled {
        Ok(model) => {
            let id = |&i: &usize| model.nodes[i].id.clone();
            inputs = model.inputs.iter().map(id).collect();
            outputs = model.outputs.iter().map(id).collect();
        }
        Err(d) => diagnostics.extend(d.iter().cloned()),
    }
    match RunSettings::validate(&effective, state.config.max_iterations) {
        Err(d) => diagnostics.extend(d),
        Ok(settings) => {
            if let Ok(model) = &compiled
                && let Err(d) = settings.check_against(model)
            {
                diagnostics.extend(d);
            }
        }
    }
    Ok(Json(Validation {
        valid: diagnostics.is_empty(),
        diagnostics,
        inputs,
        outputs,
    }))
}

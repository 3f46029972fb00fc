//! `/v1/health`, `/v1/ready`, `/v1/openapi.json`, and the test-only routes that move
//! the clock and fail on purpose (served only with `--allow-clock-control`).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use shared::api::{ApiError as WireError, ClockAdvance, ClockNow, FaultKind, Health, TestFault};

use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::state::AppState;

/// The API's liveness and version.
#[utoipa::path(get, path = "/v1/health", tag = "meta", responses((status = 200, body = Health)))]
pub async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    })
}

/// Whether this node can serve: its database takes a write lock and its
/// server key opens what is sealed with it. 503 names the failed check.
#[utoipa::path(get, path = "/v1/ready", tag = "meta", responses(
    (status = 200, body = Health, description = "status \"ready\""),
    (status = 503, body = WireError, description = "not_ready; the message names the database or the server key")))]
pub async fn ready(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    crate::readiness::check(&state).await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        ApiError::NotReady(e.to_string())
    })?;
    Ok(Json(Health {
        status: "ready".into(),
        version: env!("CARGO_PKG_VERSION").into(),
    }))
}

/// This document.
#[utoipa::path(get, path = "/v1/openapi.json", tag = "meta",
    responses((status = 200, description = "the OpenAPI 3.1 document", content_type = "application/json")))]
pub async fn openapi_json(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json(),
    )
        .into_response()
}

/// Moves the server clock forward (only with `--allow-clock-control`).
#[utoipa::path(post, path = "/v1/test/clock", tag = "test",
    request_body = ClockAdvance,
    responses((status = 200, body = ClockNow)))]
pub async fn advance_clock(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<ClockAdvance>,
) -> ApiResult<Json<ClockNow>> {
    Ok(Json(ClockNow {
        now: state.clock.advance(body.advance_seconds),
    }))
}

/// Runs one janitor pass now (only with `--allow-clock-control`), so a
/// test can move the clock and see what a pass removes and keeps.
#[utoipa::path(post, path = "/v1/test/janitor", tag = "test",
    responses((status = 200, body = JanitorPass)))]
pub async fn run_janitor(State(state): State<AppState>) -> ApiResult<Json<JanitorPass>> {
    Ok(Json(JanitorPass {
        removed: crate::janitor::run_once(&state).await?,
    }))
}

/// What `POST /v1/test/janitor` answers: the rows removed, per table.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct JanitorPass {
    pub removed: crate::janitor::Swept,
}

/// Fails on purpose (only with `--allow-clock-control`): a panic inside a
/// database closure with a transaction open, or in the handler. The test
/// suite uses it to show that the next request is served normally.
#[utoipa::path(post, path = "/v1/test/fault", tag = "test",
    request_body = TestFault,
    responses((status = 500, body = WireError, description = "internal, always")))]
pub async fn test_fault(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<TestFault>,
) -> ApiResult<StatusCode> {
    match body.fault {
        FaultKind::PanicInDatabase => {
            state
                .db
                .call(|conn| -> ApiResult<StatusCode> {
                    conn.execute_batch(
                        "SAVEPOINT test_fault;
                         INSERT INTO audit_log (at, event, detail)
                         VALUES (0, 'test_fault', 'written by a request that panicked');",
                    )?;
                    panic!("test fault: panic inside a database closure");
                })
                .await
        }
        FaultKind::PanicInHandler => panic!("test fault: panic in a handler"),
    }
}

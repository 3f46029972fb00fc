//! Prometheus metrics: what an operator watches (second-factor checks,
//! lockouts, text messages, handoffs, request latency by route).
//!
//! Recording goes through the `metrics` facade and costs nothing until
//! [`install`] sets the Prometheus recorder (`serve --metrics`). Every
//! label value is a `&'static str` chosen here or the route template the
//! router matched, never the raw path: nothing a client sends (a token, an
//! id, a query string) can become a label, and the number of series stays
//! bounded. The scrape endpoint is a router of its own, served only on
//! `--metrics-listen`, never on the public listener.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency in seconds, by route template, method and status.
pub const REQUEST_SECONDS: &str = "dialer_2fa_http_request_duration_seconds";
/// Sign-in second-factor answers, by method and outcome.
pub const SECOND_FACTOR_CHECKS: &str = "dialer_2fa_second_factor_checks_total";
/// Failures that set a lock, by scope (password, second_factor, address).
pub const LOCKOUTS: &str = "dialer_2fa_lockouts_total";
/// Text messages the sender took.
pub const SMS_SENT: &str = "dialer_2fa_sms_sent_total";
/// Text messages not sent, by reason (`cap`: an hourly cap; `provider`:
/// the sender failed).
pub const SMS_REFUSED: &str = "dialer_2fa_sms_refused_total";
/// Handoff codes, by event (created, redeemed, refused).
pub const HANDOFFS: &str = "dialer_2fa_handoffs_total";

/// From a cache hit to an Argon2 check behind a queue.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];
/// How often histogram windows are folded (the exporter asks its owner to).
const UPKEEP_EVERY: Duration = Duration::from_secs(5);

/// Sets the process-wide Prometheus recorder; from here on the counters
/// below are kept. Call once, inside the runtime.
pub fn install() -> Result<PrometheusHandle, BuildError> {
    let handle = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(REQUEST_SECONDS.into()), LATENCY_BUCKETS)?
        .install_recorder()?;
    let upkeep = handle.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(UPKEEP_EVERY);
        loop {
            tick.tick().await;
            upkeep.run_upkeep();
        }
    });
    Ok(handle)
}

/// `GET /metrics` in Prometheus's text format, for the metrics listener.
pub fn router(handle: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render))
        .with_state(handle)
}

async fn render(State(handle): State<PrometheusHandle>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.render(),
    )
        .into_response()
}

/// Times each request under its route template (a layer on the routes, so
/// the matched route is known).
pub async fn record_latency(request: Request, next: Next) -> Response {
    let route = crate::access_log::route_of(&request).to_string();
    let method = request.method().as_str().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    metrics::histogram!(
        REQUEST_SECONDS,
        "route" => route,
        "method" => method,
        "status" => response.status().as_u16().to_string(),
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// One sign-in second-factor answer. `method`: authenticator, sms or
/// recovery_code; `outcome`: success, wrong, reused, too_many_attempts.
pub fn second_factor_check(method: &'static str, outcome: &'static str) {
    metrics::counter!(SECOND_FACTOR_CHECKS, "method" => method, "outcome" => outcome).increment(1);
}

pub fn lockout(scope: &'static str) {
    metrics::counter!(LOCKOUTS, "scope" => scope).increment(1);
}

pub fn sms_sent() {
    metrics::counter!(SMS_SENT).increment(1);
}

pub fn sms_refused(reason: &'static str) {
    metrics::counter!(SMS_REFUSED, "reason" => reason).increment(1);
}

pub fn handoff(event: &'static str) {
    metrics::counter!(HANDOFFS, "event" => event).increment(1);
}

//! The HTTP application: the router, its OpenAPI document, the limits
//! every request passes through, and serving. The state is in `state`.
//!
//! Routes are registered through utoipa-axum's `routes!`, which takes the
//! path and method from each handler's `#[utoipa::path]`: a route cannot be
//! served without being in `/v1/openapi.json`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, Uri};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::Router;
use http_body_util::BodyExt;
use shared::api::ApiError as WireError;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::routes::{accounts, challenge, handoff, meta, sign_in, trusted_devices, two_factor};
use crate::state::{AppState, StartError};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "dialer-2fa account API",
        description = "Users, accounts, two-factor authentication and its policy. \
                       Errors are {\"error\": {\"code\", \"message\"}}."
    ),
    components(schemas(WireError)),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "bearer",
                SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
            );
        }
    }
}

async fn no_route(method: Method, uri: Uri) -> ApiError {
    ApiError::NotFound(format!("no route {} {}", method, uri.path()))
}

/// Axum answers a known path with the wrong method with an empty 405; this
/// keeps the JSON error shape.
async fn wrong_method(method: Method, uri: Uri) -> ApiError {
    ApiError::MethodNotAllowed(format!("{} does not take {}", uri.path(), method))
}

/// The router and its OpenAPI document, built from the same definitions.
pub fn build_router(state: AppState) -> (Router, utoipa::openapi::OpenApi) {
    let mut api = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(meta::health))
        .routes(routes!(meta::ready))
        .routes(routes!(meta::openapi_json))
        .routes(routes!(sign_in::sign_in))
        .routes(routes!(challenge::answer))
        .routes(routes!(challenge::resend))
        .routes(routes!(sign_in::sign_out))
        .routes(routes!(sign_in::sign_out_everywhere))
        .routes(routes!(sign_in::change_password))
        .routes(routes!(two_factor::read_state))
        .routes(routes!(two_factor::authenticator_setup))
        .routes(routes!(two_factor::authenticator_confirm))
        .routes(routes!(two_factor::sms_setup))
        .routes(routes!(two_factor::sms_confirm))
        .routes(routes!(two_factor::switch_method))
        .routes(routes!(two_factor::disable))
        .routes(routes!(two_factor::regenerate_recovery_codes))
        .routes(routes!(two_factor::skip_setup))
        .routes(routes!(trusted_devices::list))
        .routes(routes!(trusted_devices::revoke))
        .routes(routes!(accounts::list_accounts))
        .routes(routes!(
            accounts::get_enforcement,
            accounts::set_enforcement
        ))
        .routes(routes!(accounts::list_members))
        .routes(routes!(accounts::send_reminders))
        .routes(routes!(handoff::create))
        .routes(routes!(handoff::redeem));
    if state.config.allow_clock_control {
        api = api.routes(routes!(meta::advance_clock));
        api = api.routes(routes!(meta::test_fault));
        api = api.routes(routes!(meta::run_janitor));
    }
    let (router, mut doc) = api.split_for_parts();
    document_common_errors(&mut doc);
    let json = doc.to_json().unwrap_or_else(|_| "{}".into());
    state.set_openapi_json(json);
    let router = router
        .merge(crate::web_app::router(&state))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            crate::client_addr::resolve,
        ))
        .with_state(state);
    (
        crate::access_log::layer(with_server_limits(
            router.layer(middleware::from_fn(crate::telemetry::record_latency)),
            REQUEST_TIMEOUT,
        )),
        doc,
    )
}

/// The largest request body, in bytes: the biggest real one (a sign-in or
/// a phone number) is under 1 KiB.
pub const BODY_LIMIT: usize = 64 * 1024;
/// A body over the limit is still read (and thrown away) up to this size,
/// so the client receives the 413 instead of a connection reset; beyond
/// it the connection is closed after the answer.
const DRAIN_LIMIT: usize = 1024 * 1024;
/// The longest any request may take, body upload included. The slowest
/// honest request (an SMS send through Twilio, or an Argon2 check after
/// waiting for a slot) takes a few seconds.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every request passes through, outermost first: a panic anywhere
/// below becomes a JSON 500 (logged), a request that takes longer than
/// `timeout` a JSON 503, and a body over [`BODY_LIMIT`] a JSON 413.
pub fn with_server_limits(router: Router, timeout: Duration) -> Router {
    router
        .layer(axum::extract::DefaultBodyLimit::max(BODY_LIMIT))
        .layer(middleware::from_fn(limit_body))
        .layer(middleware::from_fn_with_state(timeout, time_limit))
        .layer(CatchPanicLayer::custom(panic_response))
}

fn panic_response(panic: Box<dyn std::any::Any + Send + 'static>) -> Response {
    let what = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_string());
    // Logged by the internal error's response; the client sees a generic
    // message.
    ApiError::internal(format!("handler panicked: {what}")).into_response()
}

async fn time_limit(State(timeout): State<Duration>, request: Request, next: Next) -> Response {
    let path = request.uri().path().to_string();
    match tokio::time::timeout(timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(%path, ?timeout, "request timed out");
            ApiError::Timeout {
                seconds: timeout.as_secs().max(1),
            }
            .into_response()
        }
    }
}

/// Reads the whole body before the handler runs, so a body over the limit
/// is answered with the JSON error shape (and after it was read, so the
/// client is not cut off mid-upload), whatever its framing.
async fn limit_body(request: Request, next: Next) -> Response {
    let (parts, mut body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let too_large = ApiError::PayloadTooLarge { limit: BODY_LIMIT };
    if declared.is_some_and(|n| n > DRAIN_LIMIT as u64) {
        return too_large.into_response();
    }
    let mut over = declared.is_some_and(|n| n > BODY_LIMIT as u64);
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                return ApiError::BadRequest(format!("the body could not be read: {e}"))
                    .into_response()
            }
        };
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen = seen.saturating_add(data.len());
        if seen > BODY_LIMIT {
            over = true;
        }
        if over {
            if seen > DRAIN_LIMIT {
                break;
            }
            continue;
        }
        kept.extend_from_slice(&data);
    }
    if over {
        return too_large.into_response();
    }
    next.run(Request::from_parts(parts, Body::from(kept))).await
}

/// Adds the answers every route can give to every operation's list: 400
/// for a body or path that does not parse, 429 where attempts are counted
/// (password re-checks and codes travel in bodies), 401 and 403 where a
/// session is needed,
/// so clients (and schemathesis) see them without each handler repeating
/// them.
fn document_common_errors(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
    let error = |what: &str| {
        ResponseBuilder::new()
            .description(what)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ApiError")))
                    .build(),
            )
            .build()
    };
    for item in doc.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.put.as_mut(),
            item.post.as_mut(),
            item.delete.as_mut(),
            item.patch.as_mut(),
        ];
        for op in operations.into_iter().flatten() {
            let has_input =
                op.request_body.is_some() || op.parameters.as_ref().is_some_and(|p| !p.is_empty());
            if has_input {
                op.responses
                    .responses
                    .entry("400".into())
                    .or_insert_with(|| {
                        error("bad_request: the body or path does not parse").into()
                    });
            }
            if op.request_body.is_some() {
                op.responses
                    .responses
                    .entry("429".into())
                    .or_insert_with(|| {
                        error("rate_limited, too_many_attempts or resend_cooldown; see Retry-After")
                            .into()
                    });
            }
            if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
                op.responses
                    .responses
                    .entry("401".into())
                    .or_insert_with(|| error("unauthorized: no valid session").into());
                op.responses
                    .responses
                    .entry("403".into())
                    .or_insert_with(|| {
                        error("setup_required: this session may only set up 2FA; or forbidden")
                            .into()
                    });
            }
        }
    }
}

/// Serves until the future is dropped or the process ends. Prints the one
/// `listening on http://IP:PORT` line other processes wait for.
pub async fn serve(state: AppState, listener: TcpListener) -> Result<(), StartError> {
    let janitor = tokio::spawn(crate::janitor::run(
        state.clone(),
        state.config.janitor_interval,
    ));
    let (router, _) = build_router(state);
    let served = axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .map_err(StartError::Listen);
    // A pass in progress finishes its transaction or rolls it back.
    janitor.abort();
    served
}

/// Ctrl-C (`make run`) or SIGTERM (service managers, test harnesses) end
/// the server after in-flight requests finish.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::routing::get;

    async fn serve_limited(router: Router, timeout: Duration) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let router = with_server_limits(router, timeout);
        tokio::spawn(async move { axum::serve(listener, router).await });
        format!("http://{addr}")
    }

    #[tokio::test]
    async fn a_request_past_the_time_limit_gets_a_json_503() {
        let slow = Router::new().route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(60)).await;
                "never"
            }),
        );
        let base = serve_limited(slow, Duration::from_millis(200)).await;
        let res = reqwest::get(format!("{base}/slow")).await.unwrap();
        assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(res.headers().contains_key(header::RETRY_AFTER));
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "timeout");
    }

    #[tokio::test]
    async fn a_panicking_handler_gets_a_json_500() {
        async fn boom() -> &'static str {
            panic!("boom")
        }
        let boom = Router::new().route("/boom", get(boom));
        let base = serve_limited(boom, REQUEST_TIMEOUT).await;
        let res = reqwest::get(format!("{base}/boom")).await.unwrap();
        assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = res.json().await.unwrap();
        assert_eq!(body["error"]["code"], "internal");
        assert_eq!(
            body["error"]["message"],
            "the server failed; try again later"
        );
    }
}

//! One log line per request, under a request id the response echoes.
//!
//! The span names the route by its template (`/v1/trusted-devices/{id}`),
//! never the raw path or query string, and no header: the only places a
//! token, code or password travels are headers and bodies, so none of
//! them can reach the log through here. The id is always minted by this
//! server: an incoming `x-request-id` is dropped, because a client that
//! chose its own could give its requests another person's id in the log.
//! A proxy in front keeps its own id in its own log beside ours, which it
//! reads from the response header.

use axum::body::Body;
use axum::extract::{MatchedPath, Request};
use axum::http::HeaderName;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::Router;
use tower_http::request_id::{
    MakeRequestUuid, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tower_http::LatencyUnit;
use tracing::{Level, Span};

/// The request id's header, on the response.
pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The route a request matched, as written in the router; `unmatched` for
/// the fallback. What logs and metrics use instead of the path.
pub fn route_of<B>(request: &axum::http::Request<B>) -> &str {
    request
        .extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or("unmatched")
}

/// Wraps the whole router: drops a client's id, mints one, logs the
/// request under it and echoes it.
pub fn layer(router: Router) -> Router {
    router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID_HEADER))
        .layer(SetRequestIdLayer::new(REQUEST_ID_HEADER, MakeRequestUuid))
        .layer(middleware::from_fn(drop_client_request_id))
}

fn make_span(request: &Request<Body>) -> Span {
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        method = %request.method(),
        route = route_of(request),
        request_id,
    )
}

async fn drop_client_request_id(mut request: Request, next: Next) -> Response {
    request.headers_mut().remove(REQUEST_ID_HEADER);
    next.run(request).await
}

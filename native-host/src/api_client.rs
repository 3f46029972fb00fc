//! The host's HTTP client for the account API: the one way any part of the
//! host talks to it.
//!
//! Only the address from the host's config is ever contacted; no request
//! carries a URL. Timeouts are short because the extension waits on every
//! answer: an API that is down must be reported within a few seconds, not
//! after the OS gives up on a TCP connect. Redirects are off so a token never
//! follows one to another address.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde::de::DeserializeOwned;
use shared::api::{ApiError as WireError, Health, API_PREFIX};
use shared::native::ApiReachability;
use shared::{ErrorBody, ErrorCode};

/// Limit on establishing a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Limit on a whole request, connect included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

/// Pause before the single retry of a connection that was refused or reset
/// before the request was sent: safe for every method, POST included,
/// because the API never saw the request.
const RETRY_PAUSE: Duration = Duration::from_millis(200);

/// API bodies larger than this are refused: the largest real one (a QR code
/// PNG) is a few KiB, and the reply to the extension must stay under 1 MiB.
const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// Why an API call failed, before it becomes an [`ErrorBody`].
#[derive(Debug, thiserror::Error)]
pub(crate) enum CallError {
    /// No answer: refused, reset, timed out.
    #[error("{0}")]
    Unreachable(String),
    /// The API answered with an error body (or a status without one).
    #[error("{}", .0.message)]
    Api(ErrorBody),
    /// The API answered 2xx with a body this host cannot read.
    #[error("{0}")]
    BadBody(String),
}

impl CallError {
    pub(crate) fn is_session_rejected(&self) -> bool {
        matches!(self, CallError::Api(body) if body.code == ErrorCode::Unauthorized)
    }

    pub(crate) fn into_body(self) -> ErrorBody {
        match self {
            CallError::Unreachable(message) => ErrorBody::new(ErrorCode::ApiUnreachable, message),
            CallError::Api(body) => body,
            CallError::BadBody(message) => ErrorBody::new(ErrorCode::Internal, message),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiClientError {
    #[error("could not build the HTTP client: {0}")]
    Build(#[from] reqwest::Error),
}

/// A client bound to one API base address.
#[derive(Clone, Debug)]
pub struct ApiClient {
    base: String,
    http: reqwest::Client,
}

impl ApiClient {
    pub fn new(base_url: &str) -> Result<ApiClient, ApiClientError> {
        let http = reqwest::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // Tokens must never follow a redirect to another address.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("dialer-2fa-host/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(ApiClient {
            base: base_url.trim_end_matches('/').to_string(),
            http,
        })
    }

    /// The configured address, as shown to the user.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /v1/health`, turned into what the extension shows. Never fails:
    /// an unreachable API is an answer, with a reason a person understands.
    pub async fn health(&self) -> ApiReachability {
        let started = Instant::now();
        let outcome = self
            .call_json::<Health>(Method::GET, "/health", None, None)
            .await;
        let elapsed = started.elapsed();
        match outcome {
            Ok(health) => ApiReachability {
                url: self.base.clone(),
                reachable: true,
                version: Some(health.version),
                latency_ms: Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
                problem: None,
            },
            Err(e) => {
                let problem = match e {
                    CallError::Unreachable(message) => message,
                    CallError::Api(body) => format!(
                        "The account API at {} failed its health check: {}",
                        self.base, body.message
                    ),
                    CallError::BadBody(_) => format!(
                        "Something answers at {}, but it is not the dialer-2fa account API.",
                        self.base
                    ),
                };
                ApiReachability {
                    url: self.base.clone(),
                    reachable: false,
                    version: None,
                    latency_ms: None,
                    problem: Some(problem),
                }
            }
        }
    }

    /// One API call. A connection refused or reset before anything was sent
    /// is retried once (the API may be restarting); a timeout is not, since
    /// a POST may have reached the server. Returns the body of a 2xx answer
    /// (empty for 204).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<Vec<u8>, CallError> {
        let started = Instant::now();
        let mut outcome = self.send_once(&method, path, token, body).await;
        if let Err(SendProblem::Connect(_)) = &outcome {
            if started.elapsed() < Duration::from_secs(1) {
                tokio::time::sleep(RETRY_PAUSE).await;
                outcome = self.send_once(&method, path, token, body).await;
            }
        }
        let response = match outcome {
            Ok(response) => response,
            Err(problem) => {
                tracing::info!(path, problem = problem.kind(), "account API not reachable");
                return Err(CallError::Unreachable(problem.describe(&self.base)));
            }
        };
        let status = response.status();
        let bytes = read_bounded(response).await.map_err(|p| {
            tracing::info!(path, problem = p.kind(), "account API answer cut off");
            CallError::Unreachable(p.describe(&self.base))
        })?;
        if status.is_success() {
            return Ok(bytes);
        }
        let error = match serde_json::from_slice::<WireError>(&bytes) {
            Ok(wire) => wire.error,
            Err(_) => status_error(status.as_u16()),
        };
        tracing::info!(path, status = status.as_u16(), code = ?error.code, "account API refused");
        Err(CallError::Api(error))
    }

    async fn send_once(
        &self,
        method: &Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<reqwest::Response, SendProblem> {
        let url = format!("{}{}{}", self.base, API_PREFIX, path);
        let mut request = self.http.request(method.clone(), url);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            // reqwest's `json` feature is off in this crate; this is what it does.
            let bytes = serde_json::to_vec(body).map_err(|e| SendProblem::Other(e.to_string()))?;
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(bytes);
        }
        request.send().await.map_err(SendProblem::from_reqwest)
    }

    pub(crate) async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&serde_json::Value>,
    ) -> Result<T, CallError> {
        let bytes = self.call(method, path, token, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            CallError::BadBody(format!(
                "the account API at {} answered {} with an unexpected body ({}); \
                 are the host and the API the same version?",
                self.base, path, e
            ))
        })
    }
}

/// Reads a body up to [`MAX_RESPONSE_BYTES`].
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, SendProblem> {
    let mut out = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(SendProblem::from_reqwest)? {
        if out.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(SendProblem::Other("the answer was too large".into()));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

/// An error status whose body was not the API's JSON (a proxy in between).
fn status_error(status: u16) -> ErrorBody {
    let code = match status {
        400 => ErrorCode::BadRequest,
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        409 => ErrorCode::Conflict,
        429 => ErrorCode::RateLimited,
        _ => ErrorCode::Internal,
    };
    ErrorBody::new(
        code,
        format!("the account API answered with HTTP status {}", status),
    )
}

#[derive(Debug)]
enum SendProblem {
    Timeout,
    Connect(String),
    Other(String),
}

impl SendProblem {
    fn from_reqwest(e: reqwest::Error) -> SendProblem {
        if e.is_timeout() {
            SendProblem::Timeout
        } else if e.is_connect() {
            SendProblem::Connect(root_cause(&e))
        } else {
            SendProblem::Other(root_cause(&e))
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            SendProblem::Timeout => "timeout",
            SendProblem::Connect(_) => "connect",
            SendProblem::Other(_) => "other",
        }
    }

    fn describe(&self, base: &str) -> String {
        match self {
            SendProblem::Timeout => format!(
                "The account API at {} did not answer within {} seconds. Try again in a moment.",
                base,
                REQUEST_TIMEOUT.as_secs()
            ),
            // rustls's words for a chain that does not lead to a trusted
            // root: the fix is the store, not the address.
            SendProblem::Connect(why) if why.contains("invalid peer certificate") => format!(
                "The account API at {} presented a certificate this computer does not trust \
                 ({}). If your organisation uses its own certificate authority, add it to the \
                 system's certificate store (Debian and Ubuntu: copy it to \
                 /usr/local/share/ca-certificates/ and run update-ca-certificates).",
                base, why
            ),
            SendProblem::Connect(why) => format!(
                "Could not connect to the account API at {} ({}). Is it running, and is the \
                 address right?",
                base, why
            ),
            SendProblem::Other(why) => {
                format!("The account API at {} could not be asked: {}.", base, why)
            }
        }
    }
}

/// The innermost error's text, which says more than reqwest's own.
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closed_port_is_unreachable_with_a_reason() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let client = ApiClient::new(&format!("http://127.0.0.1:{}/", port)).unwrap();
        assert_eq!(client.base_url(), format!("http://127.0.0.1:{}", port));
        let health = client.health().await;
        assert!(!health.reachable);
        let problem = health.problem.unwrap();
        assert!(problem.contains("Could not connect"), "{}", problem);
    }

    #[test]
    fn proxy_statuses_map_to_codes() {
        assert_eq!(status_error(401).code, ErrorCode::Unauthorized);
        assert_eq!(status_error(429).code, ErrorCode::RateLimited);
        assert_eq!(status_error(502).code, ErrorCode::Internal);
    }

    #[test]
    fn only_unauthorized_ends_the_session() {
        let rejected = CallError::Api(ErrorBody::new(ErrorCode::Unauthorized, "x"));
        assert!(rejected.is_session_rejected());
        // A wrong password is also a 401, but the session is fine.
        let wrong = CallError::Api(ErrorBody::new(ErrorCode::InvalidCredentials, "x"));
        assert!(!wrong.is_session_rejected());
        assert!(!CallError::Unreachable("x".into()).is_session_rejected());
        assert_eq!(
            CallError::Unreachable("x".into()).into_body().code,
            ErrorCode::ApiUnreachable
        );
    }

    #[tokio::test]
    async fn closed_port_is_unreachable_quickly() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let http = ApiClient::new(&format!("http://127.0.0.1:{}", port)).unwrap();
        let started = Instant::now();
        let e = http.call(Method::GET, "/two-factor", None, None).await;
        assert!(matches!(e, Err(CallError::Unreachable(_))));
        assert!(started.elapsed() < Duration::from_secs(5));
    }
}

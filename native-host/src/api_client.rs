//! The host's HTTP client for the account API.
//!
//! Only the address from the host's config is ever contacted; no request
//! carries a URL. Timeouts are short because the extension waits on every
//! answer: an API that is down must be reported within a few seconds, not
//! after the OS gives up on a TCP connect.

use std::time::{Duration, Instant};

use shared::api::{Health, API_PREFIX};
use shared::native::ApiReachability;

/// Limit on establishing a connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Limit on a whole request, connect included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);
/// Pause before the single retry of a refused or reset connection (an API
/// restarting under `make run` comes back this fast; a dead one costs little).
const RETRY_PAUSE: Duration = Duration::from_millis(200);

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
        let url = format!("{}{}/health", self.base, API_PREFIX);
        let started = Instant::now();
        let mut outcome = self.fetch_health(&url).await;
        if let Err(HealthProblem::Connect(_)) = &outcome {
            if started.elapsed() < Duration::from_secs(1) {
                tokio::time::sleep(RETRY_PAUSE).await;
                outcome = self.fetch_health(&url).await;
            }
        }
        let elapsed = started.elapsed();
        match outcome {
            Ok(health) => ApiReachability {
                url: self.base.clone(),
                reachable: true,
                version: Some(health.version),
                latency_ms: Some(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX)),
                problem: None,
            },
            Err(problem) => {
                tracing::info!(url = %self.base, problem = %problem.kind(), "account API not reachable");
                ApiReachability {
                    url: self.base.clone(),
                    reachable: false,
                    version: None,
                    latency_ms: None,
                    problem: Some(problem.describe(&self.base)),
                }
            }
        }
    }

    async fn fetch_health(&self, url: &str) -> Result<Health, HealthProblem> {
        let response = self
            .http
            .get(url)
            .send()
            .await
            .map_err(HealthProblem::from_send)?;
        let status = response.status();
        if !status.is_success() {
            return Err(HealthProblem::Status(status.as_u16()));
        }
        let body = response.bytes().await.map_err(HealthProblem::from_send)?;
        serde_json::from_slice::<Health>(&body).map_err(|_| HealthProblem::NotOurApi)
    }
}

/// Why the health check failed, before it is written up for a person.
#[derive(Debug)]
enum HealthProblem {
    Timeout,
    Connect(String),
    Status(u16),
    NotOurApi,
    Other(String),
}

impl HealthProblem {
    fn from_send(e: reqwest::Error) -> HealthProblem {
        if e.is_timeout() {
            HealthProblem::Timeout
        } else if e.is_connect() {
            HealthProblem::Connect(root_cause(&e))
        } else {
            HealthProblem::Other(root_cause(&e))
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            HealthProblem::Timeout => "timeout",
            HealthProblem::Connect(_) => "connect",
            HealthProblem::Status(_) => "status",
            HealthProblem::NotOurApi => "not_our_api",
            HealthProblem::Other(_) => "other",
        }
    }

    fn describe(&self, base: &str) -> String {
        match self {
            HealthProblem::Timeout => format!(
                "The account API at {} did not answer within {} seconds.",
                base,
                REQUEST_TIMEOUT.as_secs()
            ),
            HealthProblem::Connect(why) => format!(
                "Could not connect to the account API at {} ({}). Is it running, and is the address right?",
                base, why
            ),
            HealthProblem::Status(code) => format!(
                "The account API at {} answered its health check with HTTP status {}.",
                base, code
            ),
            HealthProblem::NotOurApi => format!(
                "Something answers at {}, but it is not the dialer-2fa account API.",
                base
            ),
            HealthProblem::Other(why) => {
                format!("The account API at {} could not be asked: {}.", base, why)
            }
        }
    }
}

/// The innermost error's text ("Connection refused (os error 111)"), which
/// says more than reqwest's "error sending request".
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
}

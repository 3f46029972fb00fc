//! `status`: the API's health as this host sees it, cached briefly.

use std::time::{Duration, Instant};

use shared::native::{Event, HostMessage, StatusResult};
use tokio::sync::{mpsc, Mutex};

use super::hello::HOST_VERSION;
use crate::services::Services;

/// How long a health check answers `status` before the API is asked again:
/// the popup asks on every open, and several popups may ask at once.
pub const STATUS_TTL: Duration = Duration::from_secs(5);

/// How long an "unreachable" answer is reused: short, so an API that comes
/// back is seen at the next popup, yet a burst of requests asks only once.
pub const UNREACHABLE_TTL: Duration = Duration::from_secs(1);

struct LastHealth {
    at: Instant,
    status: StatusResult,
    /// When the API last answered, and with which version, so that an
    /// outage can say since when.
    last_ok: Option<(Instant, String)>,
}

/// The last health check, and where a change of reachability is announced.
pub struct Health {
    last: Mutex<Option<LastHealth>>,
    /// Weak so that the port's writer ends when the port's own senders are
    /// gone, whatever still holds the dispatcher.
    events: mpsc::WeakSender<HostMessage>,
}

impl Health {
    /// `events` carries `status_changed` to the port's writer.
    pub fn new(events: &mpsc::Sender<HostMessage>) -> Health {
        Health {
            last: Mutex::new(None),
            events: events.downgrade(),
        }
    }

    /// The API's health, from the cache while it is fresh. The lock makes
    /// concurrent requests share one health check. A change of reachability
    /// is also announced as a `status_changed` event.
    pub async fn status(&self, services: &Services) -> StatusResult {
        let mut cached = self.last.lock().await;
        if let Some(c) = cached.as_ref() {
            let ttl = if c.status.api.reachable {
                STATUS_TTL
            } else {
                UNREACHABLE_TTL
            };
            if c.at.elapsed() < ttl {
                return c.status.clone();
            }
        }
        let mut api = services.api().health().await;
        let previous_ok = cached.as_ref().and_then(|c| c.last_ok.clone());
        let last_ok = match (&api.version, previous_ok) {
            (Some(version), _) if api.reachable => Some((Instant::now(), version.clone())),
            (_, previous) => previous,
        };
        if let (false, Some((at, version)), Some(problem)) =
            (api.reachable, last_ok.as_ref(), api.problem.as_mut())
        {
            problem.push_str(&format!(
                " It last answered {} s ago (version {}).",
                at.elapsed().as_secs(),
                version
            ));
        }
        let status = StatusResult {
            host_version: HOST_VERSION.to_string(),
            api,
        };
        let changed = cached
            .as_ref()
            .map(|c| c.status.api.reachable != status.api.reachable)
            .unwrap_or(false);
        *cached = Some(LastHealth {
            at: Instant::now(),
            status: status.clone(),
            last_ok,
        });
        drop(cached);
        if changed {
            let event = HostMessage::Event(Event::StatusChanged {
                status: status.clone(),
            });
            // The port may be closing; an undelivered event is harmless.
            if let Some(events) = self.events.upgrade() {
                let _ = events.try_send(event);
            }
        }
        status
    }
}

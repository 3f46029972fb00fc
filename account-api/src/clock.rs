//! The server's one source of time.
//!
//! Every expiry (challenges, SMS codes, the 60-day trust, lockouts, handoff
//! codes) and every TOTP step is read from here, so tests and the browser
//! suite can move time forward with `POST /v1/test/clock` instead of
//! sleeping. The offset only ever applies when the server was started with
//! `--allow-clock-control`; otherwise nobody can change it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Wall-clock time plus an offset that tests may advance.
#[derive(Debug, Default)]
pub struct Clock {
    offset_seconds: AtomicI64,
}

impl Clock {
    pub fn new() -> Clock {
        Clock::default()
    }

    /// Unix seconds, as the server sees them.
    pub fn now(&self) -> i64 {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        wall + self.offset_seconds.load(Ordering::SeqCst)
    }

    /// Moves the clock forward (or back, for negative values) and returns the
    /// new time.
    pub fn advance(&self, seconds: i64) -> i64 {
        self.offset_seconds.fetch_add(seconds, Ordering::SeqCst);
        self.now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_now() {
        let c = Clock::new();
        let before = c.now();
        let after = c.advance(61 * 86_400);
        assert!(after - before >= 61 * 86_400);
    }
}

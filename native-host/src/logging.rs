//! Where the host's logs go. Stdout carries frames only, so logs never go
//! there: a browser-started host writes to a file under the XDG state dir
//! (Chrome hides the host's stderr), a command run by a person to stderr.
//!
//! Nothing logged carries a parameter of a request: only ids, message kinds,
//! error codes and timings, so tokens and codes cannot leak into the file.

use std::fs::OpenOptions;
use std::path::PathBuf;
use std::sync::Mutex;

use tracing_subscriber::EnvFilter;

use crate::config;

/// Log filter, in `tracing_subscriber`'s syntax (`debug`, `dialer_2fa_host=trace`).
pub const LOG_ENV: &str = "DIALER_2FA_LOG";

/// The log file is moved aside once it grows past this, keeping one old one.
const MAX_LOG_BYTES: u64 = 5 * 1024 * 1024;

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new(default))
}

/// The log file of browser-started hosts: `$XDG_STATE_HOME/dialer-2fa/host.log`.
pub fn log_path() -> Option<PathBuf> {
    config::state_dir().ok().map(|d| d.join("host.log"))
}

/// Logs to the state dir's file, or to stderr when it cannot be opened.
pub fn init_for_browser() {
    let file = log_path().and_then(|path| {
        std::fs::create_dir_all(path.parent()?).ok()?;
        if std::fs::metadata(&path)
            .map(|m| m.len() > MAX_LOG_BYTES)
            .unwrap_or(false)
        {
            let _ = std::fs::rename(&path, path.with_extension("log.1"));
        }
        OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .ok()
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter("info"))
        .with_ansi(false);
    let result = match file {
        Some(file) => builder.with_writer(Mutex::new(file)).try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    let _ = result;
}

/// Logs to stderr, quietly unless asked.
pub fn init_for_cli() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter("warn"))
        .with_writer(std::io::stderr)
        .try_init();
}

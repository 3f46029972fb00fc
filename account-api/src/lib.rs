//! dialer-2fa account API: the source of truth for users, accounts, 2FA
//! state and policy (rules R1-R10 of the design).
//!
//! The binary (`main.rs`) is a thin clap front; everything here is a library
//! so the HTTP tests can start the same server in-process on a loopback port.
//!
//! A request flows down the layers: `app` (router, serving) to `routes`
//! (thin `/v1/` handlers, taking what they need through `extract`) or
//! `web_app` (the cookie routes), to `rules` (the product's rules, which
//! both call), to `store` (the database). `state` is what they share.
//! No module imports one that imports it back: `tests/import_cycles.rs`
//! fails naming the circle.

pub mod access_log;
pub mod admin;
pub mod app;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod error;
pub mod extract;
pub mod janitor;
pub mod password;
pub mod phone;
pub mod readiness;
pub mod routes;
pub mod rules;
pub mod secret_box;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tokens;
pub mod web_app;
pub mod web_two_factor;

pub use app::{build_router, serve};
pub use config::ServerConfig;
pub use state::{AppState, StartError};

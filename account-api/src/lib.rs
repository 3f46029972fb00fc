//! dialer-2fa account API: the source of truth for users, accounts, 2FA
//! state and policy (rules R1-R10 of the design).
//!
//! The binary (`main.rs`) is a thin clap front; everything here is a library
//! so the HTTP tests can start the same server in-process on a loopback port.

pub mod admin;
pub mod app;
pub mod audit;
pub mod auth;
pub mod authenticator;
pub mod challenge;
pub mod client_addr;
pub mod clock;
pub mod config;
pub mod db;
pub mod enrollment;
pub mod error;
pub mod handoff;
pub mod password;
pub mod phone;
pub mod policy;
pub mod recovery_codes;
pub mod secret_box;
pub mod sign_in;
pub mod sms;
pub mod throttle;
pub mod tokens;
pub mod trusted_device;
pub mod web_app;
pub mod web_two_factor;

pub use app::{build_router, serve, AppState};
pub use config::ServerConfig;

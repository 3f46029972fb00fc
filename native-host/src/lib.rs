//! The dialer-2fa native messaging host.
//!
//! Chrome starts `dialer-2fa-host chrome-extension://<id>/` for each port the
//! extension opens and talks to it over stdin/stdout ([`framing`],
//! [`protocol`], [`port`]). [`dispatch`] sends each request to its action
//! in [`actions`], which uses the one [`services`] value: the account API
//! ([`api_client`]) at the address in its config ([`config`]), secrets in
//! the OS keyring ([`secrets`]), recovery codes in an encrypted SQLite vault
//! ([`vault`]) and the non-secret [`status_cache`]. A person runs the same
//! binary to register it with a browser ([`install`]) and to see what is
//! wrong ([`doctor`]).

pub mod actions;
pub mod api_client;
pub mod cli;
pub mod config;
pub mod dispatch;
pub mod doctor;
mod files;
pub mod framing;
pub mod install;
pub mod logging;
pub mod port;
pub mod protocol;
pub mod secrets;
pub mod services;
pub mod status_cache;
pub mod stdio;
pub mod tls_chain;
pub mod vault;

//! The dialer-2fa native messaging host.
//!
//! Chrome starts `dialer-2fa-host chrome-extension://<id>/` for each port the
//! extension opens and talks to it over stdin/stdout ([`framing`],
//! [`protocol`], [`port`]). The host answers from its own state
//! ([`dispatch`]): the account API ([`api_client`]) at the address in its
//! config ([`config`]), secrets in the OS keyring ([`secrets`]) and recovery
//! codes in an encrypted SQLite vault ([`vault`]). A person runs the same
//! binary to register it with a browser ([`install`]) and to see what is
//! wrong ([`doctor`]).

pub mod account;
pub mod api_client;
pub mod cli;
pub mod config;
pub mod dispatch;
pub mod doctor;
pub mod framing;
pub mod install;
pub mod logging;
pub mod port;
pub mod protocol;
pub mod secrets;
pub mod vault;

//! HTTP-level tests of every 2FA rule, each against a real server on a
//! loopback port with a fresh SQLite file.

mod common;

mod access_log;
mod audit_trail;
mod authenticator;
mod cli;
mod enforcement;
mod handoff;
mod janitor;
mod lockout;
mod method_change;
mod metrics;
mod openapi;
mod proxy;
mod ready;
mod recovery;
mod robustness;
mod rollout;
mod rollout_abuse;
mod setup_only;
mod sign_in;
mod sms;
mod sms_caps;
mod sms_sign_in;
mod store;
mod trusted_device;
mod twilio;
mod web_app;
mod web_client;
mod web_two_factor;

// Two server processes on one database; what the database holds at rest.
mod at_rest;
mod two_processes;

//! HTTP-level tests of every 2FA rule, each against a real server on a
//! loopback port with a fresh SQLite file.

mod common;

mod authenticator;
mod cli;
mod enforcement;
mod handoff;
mod lockout;
mod openapi;
mod recovery;
mod sign_in;
mod sms;
mod trusted_device;
mod twilio;
mod web_app;

// Two server processes on one database; what the database holds at rest.
mod at_rest;
mod two_processes;

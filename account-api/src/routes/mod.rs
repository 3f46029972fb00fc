//! The `/v1/` HTTP handlers, one file per route family. Each takes what
//! the request carries (extractors in `extract`), calls one rule and
//! shapes its answer; the rules live in `rules`.

pub mod accounts;
pub mod challenge;
pub mod handoff;
pub mod meta;
pub mod sign_in;
pub mod trusted_devices;
pub mod two_factor;

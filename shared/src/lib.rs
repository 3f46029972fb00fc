//! The types that cross a process boundary, defined once.
//!
//! This crate is compiled into three processes: the extension's wasm module
//! (with Debian's rustc 1.63, so serde and serde_json only), the native host
//! and the account API. A message that one side writes and the other reads is
//! a type here, so the two sides cannot spell it differently.

pub mod api;
pub mod error;
pub mod native;
pub mod product;
pub mod replies;
pub mod rules;
pub mod two_factor;
pub mod web_sync;

pub use error::{ErrorBody, ErrorCode};

//! The database: either engine's connection behind one interface
//! (`conn`), the schema for both (`migrations`), and opening, pooling and
//! running each request atomically (`db`), and SQLite's one writer thread
//! that commits requests in batches (`group_commit`), with its WAL
//! checkpoints on a thread of their own (`checkpoint`) and read-only
//! connections for requests that only read (`readers`).

pub mod checkpoint;
pub mod conn;
pub mod db;
pub mod group_commit;
pub mod migrations;
pub mod readers;

pub use conn::{Conn, Engine, OptionalExtension, Row, StoreError, ToValue, Tx, Value};

/// What the rules' SQL helpers return.
pub type StoreResult<T> = conn::Result<T>;

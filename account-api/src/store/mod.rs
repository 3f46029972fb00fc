//! The database: pragmas, migrations and the one connection every rule
//! runs its SQL on.

pub mod db;

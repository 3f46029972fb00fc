//! Opening either store, migrating it, and running each request's
//! database work as one atomic unit.
//!
//! SQLite: one connection owned by one writer thread (`group_commit`)
//! serialises every request, which is what makes the single-use rules (recovery codes, TOTP steps, SMS codes,
//! challenges, handoff codes) atomic without relying on SQLite's busy
//! handling. Reads from the admin CLI use their own connection; WAL lets
//! them run while the server writes.
//!
//! PostgreSQL: a pool of connections shared by nodes that do not know of
//! each other, so the single writer is gone and every `Db::call` runs in one
//! SERIALIZABLE transaction instead. PostgreSQL then guarantees the outcome
//! of any set of concurrent calls equals some serial order, the property
//! the single writer gives on SQLite, and aborts a call that lost a race; the call
//! is re-run from the start, where it sees the winner's write. The
//! conditional UPDATEs the rules already use (`... AND used_at IS NULL`)
//! keep working as they do on SQLite. One kind of call orders itself
//! instead: a password attempt's reservation takes its keys' advisory
//! locks and runs READ COMMITTED (`Db::call_read_committed`), since
//! SERIALIZABLE made every pair of sign-ins from one address a lost race.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};

use super::checkpoint::{Checkpointer, WRITER_FALLBACK_PAGES};
use super::conn::{Backend, Conn, End, PgClient, StoreError};
use super::group_commit::Writer;
use super::migrations::MIGRATIONS;
use super::readers::Readers;
use crate::error::{ApiError, ApiResult};
/// Prepared statements one SQLite connection keeps: more than the rules
/// have, so none is parsed twice.
const STATEMENT_CACHE: usize = 256;

/// SQLite's page cache, in KiB (a negative `cache_size`): room for the
/// dirty pages of the largest batch (128 requests), no more. Reads come
/// through the memory map anyway, and every COMMIT walks the cache's hash
/// table: with 64 MiB that walk was 8 % of the writer thread's time, and
/// the writer cost 40-42 us per verification against 34-35 us with 8 MB
/// (`make bench-api`'s load, per-thread CPU time).
const CACHE_KIB: i64 = -8_000;
/// How much of the file SQLite reads through a memory map.
const MMAP_BYTES: i64 = 256 * 1024 * 1024;

/// How long a statement waits for another process's write lock.
pub const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Opens (creating if needed) and migrates the database file.
pub fn open(path: &Path) -> Result<Conn, DbOpenError> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() {
            std::fs::create_dir_all(dir)
                .map_err(|e| DbOpenError::Io(dir.display().to_string(), e))?;
        }
    }
    let mut conn = Connection::open(path)?;
    restrict_to_owner(path);
    conn.busy_timeout(BUSY_WAIT)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // The writer thread re-reads the same index pages for every request:
    // map the file rather than paying a pread system call per page
    // (measured with `make bench-api`); the cache holds the dirty pages.
    conn.pragma_update(None, "cache_size", CACHE_KIB)?;
    conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
    conn.pragma_update(None, "temp_store", "MEMORY")?;
    // Every rule statement goes through the cache (`Conn` prepares with
    // `prepare_cached`); rusqlite's default of 16 would evict them in turn.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    sqlite_migrations().to_latest(&mut conn)?;
    Ok(Conn::sqlite(conn))
}

fn sqlite_migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|m| M::up(m.sqlite)).collect())
}

/// The file holds password hashes and sealed secrets: owner-only, like the
/// key beside it. Best effort; a failure here is not worth refusing to start.
fn restrict_to_owner(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[derive(Debug, thiserror::Error)]
pub enum DbOpenError {
    #[error("cannot create the folder {0}: {1}")]
    Io(String, std::io::Error),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("postgres: {}", super::conn::describe_pg(.0))]
    Postgres(#[from] postgres::Error),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("connection pool: {0}")]
    Pool(#[from] r2d2::Error),
}

/// How long a request waits for a free PostgreSQL connection before it is
/// answered 429 busy with Retry-After, and how long a new connection may
/// take.
pub const POOL_WAIT: Duration = Duration::from_secs(5);

/// How long a request's statement waits for a lock another transaction
/// holds (a row, or a password key's advisory lock) before the request is
/// answered 429 busy with Retry-After: requests hold their locks for
/// milliseconds, so a wait this long means a stuck or hostile holder, and
/// without a bound every request behind it would keep a pool connection
/// for as long as the lock stays. Set on each pooled connection; the
/// migration lock waits without a bound instead (a node starting while
/// another migrates must wait its turn), and the admin CLI's own
/// connections keep PostgreSQL's default.
pub const LOCK_WAIT: Duration = Duration::from_secs(2);

/// Connections one node keeps to PostgreSQL unless told otherwise: enough
/// for the blocking threads that run requests' SQL on a small machine,
/// few enough that ten nodes stay under PostgreSQL's default of 100.
pub const DEFAULT_POOL_SIZE: u32 = 8;

/// A serialization failure is re-run this many times before the request
/// is answered 429 busy with Retry-After; each retry sees the winner's write,
/// so more than a few means heavy contention on one row.
const MAX_ATTEMPTS: u32 = 12;

/// Makes PostgreSQL connections for r2d2 (the pool crate Diesel uses).
pub struct PgManager {
    config: postgres::Config,
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgClient;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgClient, postgres::Error> {
        let mut client = self.config.connect(postgres::NoTls)?;
        client.batch_execute(&format!("SET lock_timeout = {}", LOCK_WAIT.as_millis()))?;
        Ok(PgClient::new(client))
    }

    /// Not called while `test_on_check_out` is off (BEGIN is the test,
    /// `begin_postgres`); kept a real check for r2d2's contract.
    fn is_valid(&self, conn: &mut PgClient) -> Result<(), postgres::Error> {
        match conn.client() {
            Ok(client) => client.simple_query("").map(|_| ()),
            // Closed: r2d2 asks `has_broken` too, which says so.
            Err(_) => Ok(()),
        }
    }

    fn has_broken(&self, conn: &mut PgClient) -> bool {
        conn.is_closed()
    }
}

/// Connects, migrates under an advisory lock, and returns the pool.
pub fn open_postgres(url: &str, pool_size: u32) -> Result<Db, DbOpenError> {
    let config: postgres::Config = url.parse()?;
    let manager = PgManager { config };
    let pool = r2d2::Pool::builder()
        .max_size(pool_size.max(1))
        // BEGIN tests each connection instead (`begin_postgres`).
        .test_on_check_out(false)
        .min_idle(Some(1))
        .connection_timeout(POOL_WAIT)
        .build(manager)?;
    let client = super::conn::off_runtime(|| pool.get())?;
    let conn = Conn::new(Backend::Postgres(Box::new(client)));
    migrate_postgres(&conn)?;
    Ok(Db::Postgres(Arc::new(pool)))
}

/// Opens one PostgreSQL connection outside any pool (admin commands, tests).
pub fn connect_postgres(url: &str) -> Result<Conn, DbOpenError> {
    let config: postgres::Config = url.parse()?;
    let client = PgClient::new(super::conn::off_runtime(|| {
        config.connect(postgres::NoTls)
    })?);
    let conn = Conn::new(Backend::Postgres(Box::new(Owned(client))));
    migrate_postgres(&conn)?;
    Ok(conn)
}

/// A client owned outright, shaped like a pooled one.
struct Owned(PgClient);

impl std::ops::Deref for Owned {
    type Target = PgClient;
    fn deref(&self) -> &PgClient {
        &self.0
    }
}

impl std::ops::DerefMut for Owned {
    fn deref_mut(&mut self) -> &mut PgClient {
        &mut self.0
    }
}

/// Any number written here identifies this schema's lock among other
/// applications' advisory locks on the same database.
const MIGRATION_LOCK: i64 = 0x6469_616c_3266_6101;

/// Applies the versions not yet recorded, in one transaction that first
/// takes an advisory lock: a second node starting at the same moment waits,
/// then finds nothing left to do.
fn migrate_postgres(conn: &Conn) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    // PostgreSQL's NOTICE that the table exists already is not news.
    tx.execute_batch("SET LOCAL client_min_messages = warning")?;
    // No bound for this transaction's waits (`LOCK_WAIT` bounds the rest):
    // the first connection of a pool comes here, and a node starting while
    // another migrates must wait its turn.
    tx.execute_batch("SET LOCAL lock_timeout = 0")?;
    tx.lock_for_transaction(&[MIGRATION_LOCK])?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            applied_at BIGINT NOT NULL
        )",
    )?;
    let done: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        crate::params![],
        |r| r.get(0),
    )?;
    for (i, m) in MIGRATIONS.iter().enumerate() {
        let version = i as i64 + 1;
        if version <= done {
            continue;
        }
        tx.execute_batch(m.postgres)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at)
             VALUES (?1, CAST(EXTRACT(EPOCH FROM now()) AS BIGINT))",
            crate::params![version],
        )?;
    }
    tx.commit()
}

/// The server's store. `call` runs a closure as one atomic unit: on
/// SQLite's writer thread, or on a blocking thread in a SERIALIZABLE PostgreSQL
/// transaction that is re-run when it loses a race. Closures must
/// therefore only touch the database (and pure computation): a side effect
/// outside it could happen once per attempt.
#[derive(Clone)]
pub enum Db {
    /// The writer thread, and the read-only connections when the store is
    /// a file (`Db::new` on a bare connection has none: reads go to the
    /// writer).
    Sqlite(Writer, Option<Arc<Readers>>),
    Postgres(Arc<r2d2::Pool<PgManager>>),
}

impl Db {
    pub fn new(conn: Conn) -> Db {
        Db::Sqlite(Writer::start(conn, None), None)
    }

    /// The server's SQLite store: [`open`], the writer thread, and the WAL
    /// checkpoints on their own thread (`checkpoint`), off the writer's path.
    pub fn serve_sqlite(path: &Path) -> Result<Db, DbOpenError> {
        let conn = open(path)?;
        conn.execute_batch(&format!(
            "PRAGMA wal_autocheckpoint = {WRITER_FALLBACK_PAGES}"
        ))?;
        let checkpointer = Checkpointer::start(path)?;
        let readers = Readers::open(path)?;
        Ok(Db::Sqlite(
            Writer::start(conn, Some(checkpointer)),
            Some(Arc::new(readers)),
        ))
    }

    /// Runs a closure that only reads. On a SQLite file it runs at once on
    /// a read-only connection (`store::readers`), not queued behind the
    /// writer's batches; it sees every write already answered. Elsewhere
    /// it is [`Db::call`].
    pub async fn read<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        match self {
            Db::Sqlite(_, Some(readers)) => readers.read(f),
            _ => self.call(f).await,
        }
    }

    pub async fn call<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        self.call_at(Isolation::Serializable, f).await
    }

    /// [`Db::call`] for a closure that orders itself with locks it takes
    /// first ([`crate::rules::throttle::reserve`]): on PostgreSQL it runs
    /// READ COMMITTED, so each statement sees what the lock's previous
    /// holder committed, and callers of one key wait for each other
    /// instead of failing as a serialization race and running again. Why:
    /// sign-ins from one address (an office behind one NAT) all reserve
    /// that address's key; under SERIALIZABLE every pair of them conflicted
    /// (each read the key's in-flight count the other added to), and a
    /// burst could lose twelve races in a row and be answered 429. The
    /// closure must read what it decides on in one statement after its
    /// locks. On SQLite it is [`Db::call`]: the writer orders everything.
    pub async fn call_read_committed<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        self.call_at(Isolation::ReadCommitted, f).await
    }

    async fn call_at<T, F>(&self, isolation: Isolation, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: Fn(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        match self {
            Db::Sqlite(writer, _) => writer.call(f).await,
            Db::Postgres(pool) => {
                let pool = pool.clone();
                tokio::task::spawn_blocking(move || call_postgres(&pool, isolation, f))
                    .await
                    .map_err(|e| {
                        if e.is_panic() {
                            ApiError::internal(
                                "a database closure panicked; its transaction was rolled back",
                            )
                        } else {
                            ApiError::internal(e)
                        }
                    })?
            }
        }
    }
}

/// The isolation a PostgreSQL call runs at: SERIALIZABLE unless the
/// closure orders itself with locks ([`Db::call_read_committed`]).
#[derive(Clone, Copy, Debug)]
enum Isolation {
    Serializable,
    ReadCommitted,
}

impl Isolation {
    fn begin(self) -> &'static str {
        match self {
            Isolation::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            Isolation::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
        }
    }
}

/// A pooled connection with a transaction begun on it.
///
/// The pool does not test a connection before handing it out (that was an
/// empty query, one round trip of about twelve in a verification): BEGIN is
/// the test. A connection PostgreSQL closed while it sat in the pool (a
/// restart, `pg_terminate_backend`, an idle timeout) fails its BEGIN before
/// anything of the request was sent, so it is dropped (the pool sees it is
/// closed) and the next one is tried, up to one more than the pool holds.
fn begin_postgres(pool: &r2d2::Pool<PgManager>, isolation: Isolation) -> ApiResult<Conn> {
    let mut tries = 0;
    loop {
        tries += 1;
        let client = pool.get().map_err(|e| {
            tracing::warn!(error = %e, "no PostgreSQL connection free");
            ApiError::Busy { retry_after: 1 }
        })?;
        let conn = Conn::new(Backend::Postgres(Box::new(client)));
        match conn.execute_batch(isolation.begin()) {
            Ok(()) => return Ok(conn),
            Err(e) if conn.is_closed() && tries <= pool.max_size() as usize + 1 => {
                tracing::info!(error = %e, "a pooled PostgreSQL connection was closed; trying another");
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn call_postgres<T, F>(pool: &r2d2::Pool<PgManager>, isolation: Isolation, f: F) -> ApiResult<T>
where
    F: Fn(&mut Conn) -> ApiResult<T>,
{
    for attempt in 1..=MAX_ATTEMPTS {
        let mut conn = begin_postgres(pool, isolation)?;
        conn.set_depth(1);
        let result = f(&mut conn);
        // A lost race anywhere in the attempt voids all of it, even when
        // the statement that lost was inside a savepoint the closure then
        // rolled back: committing the writes made before that savepoint
        // and running the closure again would apply them twice (a TOTP
        // step recorded by the first attempt refuses the second as reused).
        if !conn.lost_race() {
            // Committed whether the closure answered Ok or Err, as SQLite's
            // autocommit keeps each statement: a refusal often records
            // something first (a wrong code's attempt, an audit row). A
            // closure that must undo its writes on error opens a `Tx`,
            // which rolls back to its savepoint when dropped. After a failed
            // statement the transaction is rolled back instead
            // (`StoreError::RolledBack`): an Err answer stands as it is, an
            // Ok one for writes that were not kept becomes a 500.
            let committed = conn.end_transaction(End::Commit);
            conn.set_depth(0);
            if !conn.lost_race() {
                match committed {
                    Err(StoreError::RolledBack) if result.is_err() => return result,
                    committed => committed?,
                }
                conn.run_after_commit();
                return result;
            }
        } else {
            if let Err(e) = conn.end_transaction(End::Rollback) {
                tracing::warn!(error = %e, "rolling back a lost attempt failed");
            }
            conn.set_depth(0);
        }
        tracing::debug!(
            attempt,
            "a concurrent transaction won; running the request again"
        );
        // Spread the losers out so they do not collide again in lockstep.
        let jitter = rand::random::<u64>() % (2 * u64::from(attempt)) + 1;
        std::thread::sleep(Duration::from_millis(jitter));
    }
    // Said once here, since the answer (429 busy) does not tell the
    // operator why: `make bench-api`'s mixed load meets it on sign-in,
    // where every client shares one address key.
    tracing::warn!(
        attempts = MAX_ATTEMPTS,
        "a request lost every serialization race it ran; answered busy"
    );
    Err(ApiError::Busy { retry_after: 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(conn: &Conn) -> ApiResult<i64> {
        Ok(
            conn.query_row("SELECT COUNT(*) FROM accounts", crate::params![], |r| {
                r.get(0)
            })?,
        )
    }

    #[tokio::test]
    async fn a_panic_in_a_closure_leaves_the_connection_usable() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::new(open(&dir.path().join("p.sqlite3")).unwrap());
        let r: ApiResult<()> = db
            .call(|conn| {
                conn.execute_batch(
                    "SAVEPOINT left_open; INSERT INTO accounts (name, created_at) VALUES ('half done', 0);",
                )?;
                panic!("a bug in a handler");
            })
            .await;
        assert!(matches!(r, Err(ApiError::Internal(_))));
        // The next call works, and the half-done write was rolled back.
        assert_eq!(db.call(|conn| count(conn)).await.unwrap(), 0);
    }

    /// Requests that share a batch with one that panics keep their writes.
    #[tokio::test]
    async fn a_panic_rolls_back_only_its_own_request() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::new(open(&dir.path().join("p.sqlite3")).unwrap());
        let calls = (0..64).map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.call(move |conn| {
                    conn.execute(
                        "INSERT INTO accounts (name, created_at) VALUES (?1, 0)",
                        crate::params![format!("a{i}")],
                    )?;
                    if i == 20 {
                        panic!("one request's bug");
                    }
                    Ok(())
                })
                .await
            })
        });
        let mut failed = 0;
        for call in calls.collect::<Vec<_>>() {
            if call.await.unwrap().is_err() {
                failed += 1;
            }
        }
        assert_eq!(failed, 1);
        assert_eq!(db.call(|conn| count(conn)).await.unwrap(), 63);
    }

    /// A request is answered only once its writes are committed: another
    /// connection (the admin CLI, or the process after a crash) sees them
    /// the moment the answer arrives.
    #[tokio::test]
    async fn an_answered_write_is_already_committed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.sqlite3");
        let db = Db::new(open(&path).unwrap());
        let other = open(&path).unwrap();
        for i in 0..20 {
            db.call(move |conn| {
                conn.execute(
                    "INSERT INTO accounts (name, created_at) VALUES (?1, 0)",
                    crate::params![format!("a{i}")],
                )?;
                Ok(())
            })
            .await
            .unwrap();
            assert_eq!(count(&other).unwrap(), i + 1);
        }
    }

    /// An error answer keeps the request's writes, as autocommit did: a
    /// refusal records the attempt it refused.
    #[tokio::test]
    async fn a_refused_request_keeps_what_it_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::new(open(&dir.path().join("p.sqlite3")).unwrap());
        let r: ApiResult<()> = db
            .call(|conn| {
                conn.execute(
                    "INSERT INTO accounts (name, created_at) VALUES ('attempt', 0)",
                    crate::params![],
                )?;
                Err(ApiError::InvalidCredentials)
            })
            .await;
        assert!(matches!(r, Err(ApiError::InvalidCredentials)));
        assert_eq!(db.call(|conn| count(conn)).await.unwrap(), 1);
    }

    #[test]
    fn migrations_are_valid() {
        sqlite_migrations().validate().unwrap();
    }

    #[test]
    fn opens_twice_and_uses_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/api.sqlite3");
        drop(open(&path).unwrap());
        let conn = open(&path).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", crate::params![], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

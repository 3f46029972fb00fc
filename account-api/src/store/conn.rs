//! One connection, SQLite or PostgreSQL, behind the few calls the rules
//! make: `execute`, `query_row`, `query_map`, `execute_batch` and nested
//! transactions.
//!
//! Why not a query builder or an ORM: the rules are plain SQL that both
//! engines read the same way (`?N` placeholders are rewritten to `$N` for
//! PostgreSQL, ids come back through `RETURNING`), and keeping the SQL in
//! sight is what lets a reviewer check each single-use rule by eye. What
//! differs between the engines (schema types, the transaction each request
//! runs in, how a lost race is retried) lives in `store::db` and
//! `store::migrations`, not in the rules.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use bytes::BytesMut;
use postgres::error::SqlState;
use postgres::types::{to_sql_checked, IsNull, ToSql, Type};

/// Which engine a connection talks to; only the few places that cannot
/// share SQL (the janitor's advisory lock, listing tables) look at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A value crossing into or out of SQL. Booleans travel as integers, as
/// SQLite stores them.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("the query returned no row")]
    NoRows,
    #[error("column {0}: {1}")]
    Type(usize, String),
    /// A UNIQUE, CHECK or foreign-key constraint refused the write.
    #[error("constraint violated: {0}")]
    Constraint(String),
    #[error("sqlite: {0}")]
    Sqlite(rusqlite::Error),
    #[error("postgres: {}", describe_pg(.0))]
    Postgres(postgres::Error),
    #[error("{0}")]
    Other(String),
    /// COMMIT asked of a PostgreSQL transaction in which a statement had
    /// failed (its error swallowed): PostgreSQL would have rolled it back
    /// without a word, so it was rolled back and this said instead.
    #[error(
        "a statement failed and the transaction went on as if it had not; \
         nothing it wrote was kept"
    )]
    RolledBack,
}

impl StoreError {
    /// Another transaction held a lock past the wait this connection
    /// allows: PostgreSQL's `lock_timeout` (`db::LOCK_WAIT`), or SQLite's
    /// busy timeout (`db::BUSY_WAIT`) while another process writes the
    /// file. The request is answered busy, not failed.
    pub fn is_lock_wait_over(&self) -> bool {
        match self {
            StoreError::Postgres(e) => e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE),
            StoreError::Sqlite(rusqlite::Error::SqliteFailure(f, _)) => {
                f.code == rusqlite::ErrorCode::DatabaseBusy
            }
            _ => false,
        }
    }
}

/// How [`Conn::end_transaction`] ends the transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum End {
    Commit,
    Rollback,
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// `postgres::Error` shows only "db error" for a server's refusal; the
/// server's message and SQLSTATE are what an operator needs.
pub(crate) fn describe_pg(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => StoreError::NoRows,
            rusqlite::Error::SqliteFailure(f, ref msg)
                if f.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                StoreError::Constraint(msg.clone().unwrap_or_else(|| f.to_string()))
            }
            e => StoreError::Sqlite(e),
        }
    }
}

impl From<postgres::Error> for StoreError {
    fn from(e: postgres::Error) -> Self {
        match e.code() {
            Some(code) if code.code().starts_with("23") => StoreError::Constraint(e.to_string()),
            _ => StoreError::Postgres(e),
        }
    }
}

/// `rusqlite`'s `optional()`, for this module's errors.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(StoreError::NoRows) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

pub trait ToValue {
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        match self {
            Some(v) => v.to_value(),
            None => Value::Null,
        }
    }
}

impl ToValue for Value {
    fn to_value(&self) -> Value {
        self.clone()
    }
}

macro_rules! int_to_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(*self as i64)
            }
        }
    )*};
}
int_to_value!(i64, i32, u32, u16, u8);

impl ToValue for usize {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for u64 {
    fn to_value(&self) -> Value {
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for bool {
    fn to_value(&self) -> Value {
        Value::Int(*self as i64)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_string())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}

impl<const N: usize> ToValue for [u8; N] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

/// `rusqlite::params!` for this module: a slice of values to bind to
/// `?1`, `?2`, ...
#[macro_export]
macro_rules! params {
    () => {
        &[] as &[&dyn $crate::store::ToValue]
    };
    ($($p:expr),+ $(,)?) => {
        &[$(&$p as &dyn $crate::store::ToValue),+] as &[&dyn $crate::store::ToValue]
    };
}

pub trait FromValue: Sized {
    fn from_value(v: &Value) -> std::result::Result<Self, String>;
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            other => Err(format!("expected an integer, found {other:?}")),
        }
    }
}

macro_rules! int_from_value {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> std::result::Result<Self, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range"))
            }
        }
    )*};
}
int_from_value!(i32, u32, u64, usize, u16, u8);

impl FromValue for bool {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Real(f) => Ok(*f),
            Value::Int(i) => Ok(*i as f64),
            other => Err(format!("expected a number, found {other:?}")),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            other => Err(format!("expected text, found {other:?}")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            other => Err(format!("expected bytes, found {other:?}")),
        }
    }
}

impl FromValue for Value {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        Ok(v.clone())
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> std::result::Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            other => T::from_value(other).map(Some),
        }
    }
}

/// One result row, read eagerly so both engines hand rules the same thing.
#[derive(Debug)]
pub struct Row {
    values: Vec<Value>,
}

impl Row {
    /// Every column, for code that reads rows it did not write the
    /// query for (tests comparing whole tables).
    pub fn values(&self) -> &[Value] {
        &self.values
    }

    pub fn get<T: FromValue>(&self, i: usize) -> Result<T> {
        let v = self
            .values
            .get(i)
            .ok_or_else(|| StoreError::Type(i, "no such column".into()))?;
        T::from_value(v).map_err(|e| StoreError::Type(i, e))
    }
}

/// A PostgreSQL client with the statements it has prepared, so a rule's
/// SQL is parsed once per connection rather than on every request.
pub struct PgClient {
    /// Always `Some` until dropped; see `Drop`.
    client: Option<postgres::Client>,
    statements: HashMap<String, postgres::Statement>,
}

impl PgClient {
    pub fn new(client: postgres::Client) -> PgClient {
        PgClient {
            client: Some(client),
            statements: HashMap::new(),
        }
    }

    pub(crate) fn client(&mut self) -> Result<&mut postgres::Client> {
        self.client
            .as_mut()
            .ok_or_else(|| StoreError::Other("the PostgreSQL connection is closed".into()))
    }

    pub fn is_closed(&self) -> bool {
        self.client.as_ref().is_none_or(|c| c.is_closed())
    }

    fn statement(&mut self, sql: &str) -> Result<postgres::Statement> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let client = self.client()?;
        let s = off_runtime(|| client.prepare(&dollar_placeholders(sql)))?;
        self.statements.insert(sql.to_string(), s.clone());
        Ok(s)
    }
}

/// Closing a client blocks on the client's own runtime, which tokio
/// forbids on its worker threads (a pool is often dropped there, with the
/// server's state): close it on a thread of its own then.
impl Drop for PgClient {
    fn drop(&mut self) {
        if let Some(client) = self.client.take() {
            if tokio::runtime::Handle::try_current().is_ok() {
                std::thread::spawn(move || drop(client));
            } else {
                drop(client);
            }
        }
    }
}

/// Either engine's connection, for the pool or the mutex that owns it.
pub enum Backend {
    Sqlite(rusqlite::Connection),
    Postgres(Box<dyn std::ops::DerefMut<Target = PgClient> + Send>),
}

/// The connection a rule runs its SQL on. Methods take `&self`, as
/// rusqlite's do, so helpers can share one inside a transaction.
pub struct Conn {
    backend: BackendCell,
    /// Open transactions and savepoints: the outermost is BEGIN, inner
    /// ones are SAVEPOINTs, so a rule can call another rule that opens
    /// its own.
    depth: Cell<u32>,
    /// Set when PostgreSQL aborted a statement because a concurrent
    /// transaction won (serialization failure or deadlock): the whole
    /// request's transaction is then retried (`store::db`).
    lost_race: Cell<bool>,
    /// What to do once the request's writes are final (metrics), each
    /// with the transaction depth it was registered at.
    after_commit: RefCell<Vec<(u32, AfterCommit)>>,
    /// PostgreSQL only: the savepoint whose RELEASE is owed. A committed
    /// inner `Tx` does not send its RELEASE at once: it goes in front of
    /// the next statement sent as text, or is sent on its own before the
    /// next prepared one, and is never sent when COMMIT or ROLLBACK ends
    /// the transaction first (both end every savepoint). A verification
    /// commits its savepoint just before the request's COMMIT, so this
    /// saves it one round trip of about twelve.
    owed_release: Cell<Option<u32>>,
    /// PostgreSQL only: a statement failed inside the open transaction,
    /// which PostgreSQL then refuses to go on with until it is rolled back
    /// (to a savepoint or whole). A savepoint committed meanwhile sends its
    /// RELEASE at once, so the commit fails as it always did, instead of
    /// owing it to a COMMIT that would quietly roll back.
    aborted: Cell<bool>,
}

type AfterCommit = Box<dyn FnOnce() + Send>;

enum BackendCell {
    Sqlite(rusqlite::Connection),
    Postgres(RefCell<Box<dyn std::ops::DerefMut<Target = PgClient> + Send>>),
}

impl Conn {
    pub fn new(backend: Backend) -> Conn {
        Conn {
            backend: match backend {
                Backend::Sqlite(c) => BackendCell::Sqlite(c),
                Backend::Postgres(c) => BackendCell::Postgres(RefCell::new(c)),
            },
            depth: Cell::new(0),
            lost_race: Cell::new(false),
            after_commit: RefCell::new(Vec::new()),
            owed_release: Cell::new(None),
            aborted: Cell::new(false),
        }
    }

    /// Runs `f` once the request's writes are final: after the closure on
    /// SQLite, after COMMIT on PostgreSQL, never for an attempt that was
    /// rolled back and re-run, nor for a `Tx` that rolled back. Counters
    /// use it, so a retried request counts once.
    pub fn after_commit(&self, f: impl FnOnce() + Send + 'static) {
        self.after_commit
            .borrow_mut()
            .push((self.depth.get(), Box::new(f)));
    }

    /// Runs (and forgets) what `after_commit` collected. The writer thread
    /// calls it after each batch's COMMIT; public for code that commits on
    /// a bare connection (`examples/bench_sqlite_floor.rs`).
    pub fn run_after_commit(&self) {
        let hooks = std::mem::take(&mut *self.after_commit.borrow_mut());
        for (_, f) in hooks {
            f();
        }
    }

    /// How many `after_commit` hooks are waiting, so a request that
    /// panics can drop exactly the ones it added (`truncate_after_commit`).
    pub(crate) fn after_commit_len(&self) -> usize {
        self.after_commit.borrow().len()
    }

    pub(crate) fn truncate_after_commit(&self, len: usize) {
        self.after_commit.borrow_mut().truncate(len);
    }

    /// The hooks of a savepoint just released now belong to `depth`, so a
    /// later rollback at a deeper level keeps them (as `Tx::commit` does).
    pub(crate) fn settle_after_commit(&self, depth: u32) {
        for (d, _) in self.after_commit.borrow_mut().iter_mut() {
            *d = (*d).min(depth);
        }
    }

    pub(crate) fn depth(&self) -> u32 {
        self.depth.get()
    }

    /// Forgets what `after_commit` collected, without running it.
    pub(crate) fn forget_after_commit(&self) {
        self.after_commit.borrow_mut().clear();
    }

    pub fn sqlite(conn: rusqlite::Connection) -> Conn {
        Conn::new(Backend::Sqlite(conn))
    }

    pub fn engine(&self) -> Engine {
        match self.backend {
            BackendCell::Sqlite(_) => Engine::Sqlite,
            BackendCell::Postgres(_) => Engine::Postgres,
        }
    }

    /// True when the server closed this connection (PostgreSQL only):
    /// nothing more can be sent on it.
    pub(crate) fn is_closed(&self) -> bool {
        match &self.backend {
            BackendCell::Sqlite(_) => false,
            BackendCell::Postgres(cell) => cell.borrow().is_closed(),
        }
    }

    pub(crate) fn lost_race(&self) -> bool {
        self.lost_race.get()
    }

    pub(crate) fn set_depth(&self, depth: u32) {
        self.depth.set(depth);
    }

    fn note(&self, e: postgres::Error) -> StoreError {
        if self.depth.get() > 0 {
            self.aborted.set(true);
        }
        if matches!(
            e.code(),
            Some(&SqlState::T_R_SERIALIZATION_FAILURE) | Some(&SqlState::T_R_DEADLOCK_DETECTED)
        ) {
            self.lost_race.set(true);
        }
        e.into()
    }

    /// Runs one statement; the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<usize> {
        match &self.backend {
            BackendCell::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                Ok(stmt.execute(rusqlite::params_from_iter(sqlite_values(params)))?)
            }
            BackendCell::Postgres(cell) => {
                let mut pg = cell.borrow_mut();
                self.pay_owed_release(&mut pg)?;
                let stmt = pg.statement(sql).map_err(|e| self.note_store(e))?;
                let values = pg_values(params);
                let client = pg.client()?;
                let n = off_runtime(|| client.execute(&stmt, &pg_refs(&values)))
                    .map_err(|e| self.note(e))?;
                Ok(n as usize)
            }
        }
    }

    /// Sends the owed RELEASE on its own, before a prepared statement.
    fn pay_owed_release(&self, pg: &mut PgClient) -> Result<()> {
        if let Some(level) = self.owed_release.take() {
            let client = pg.client()?;
            let sql = format!("RELEASE SAVEPOINT sp{level}");
            off_runtime(|| client.batch_execute(&sql)).map_err(|e| self.note(e))?;
        }
        Ok(())
    }

    /// Ends the whole transaction with COMMIT or ROLLBACK, which end every
    /// savepoint too: an owed RELEASE is dropped, not sent. A COMMIT after
    /// a failed statement (`aborted`) is sent as the ROLLBACK PostgreSQL
    /// would quietly make of it, and answers [`StoreError::RolledBack`].
    pub(crate) fn end_transaction(&self, end: End) -> Result<()> {
        self.owed_release.set(None);
        let r = match end {
            End::Commit if self.aborted.get() => self
                .execute_batch("ROLLBACK")
                .and(Err(StoreError::RolledBack)),
            End::Commit => self.execute_batch("COMMIT"),
            End::Rollback => self.execute_batch("ROLLBACK"),
        };
        self.aborted.set(false);
        r
    }

    fn note_store(&self, e: StoreError) -> StoreError {
        match e {
            StoreError::Postgres(e) => self.note(e),
            other => other,
        }
    }

    /// Every row of a query, each mapped by `f`.
    pub fn query_map<T, F>(&self, sql: &str, params: &[&dyn ToValue], mut f: F) -> Result<Vec<T>>
    where
        F: FnMut(&Row) -> Result<T>,
    {
        self.rows(sql, params)?.iter().map(&mut f).collect()
    }

    /// The first row of a query, mapped by `f`; `StoreError::NoRows` when
    /// there is none.
    pub fn query_row<T, F>(&self, sql: &str, params: &[&dyn ToValue], f: F) -> Result<T>
    where
        F: FnOnce(&Row) -> Result<T>,
    {
        match self.rows(sql, params)?.first() {
            Some(row) => f(row),
            None => Err(StoreError::NoRows),
        }
    }

    fn rows(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        match &self.backend {
            BackendCell::Sqlite(c) => {
                let mut stmt = c.prepare_cached(sql)?;
                let n = stmt.column_count();
                let mut rows = stmt.query(rusqlite::params_from_iter(sqlite_values(params)))?;
                let mut out = Vec::new();
                while let Some(r) = rows.next()? {
                    let mut values = Vec::with_capacity(n);
                    for i in 0..n {
                        values.push(from_sqlite(r.get_ref(i)?));
                    }
                    out.push(Row { values });
                }
                Ok(out)
            }
            BackendCell::Postgres(cell) => {
                let mut pg = cell.borrow_mut();
                self.pay_owed_release(&mut pg)?;
                let stmt = pg.statement(sql).map_err(|e| self.note_store(e))?;
                let values = pg_values(params);
                let client = pg.client()?;
                let rows = off_runtime(|| client.query(&stmt, &pg_refs(&values)))
                    .map_err(|e| self.note(e))?;
                rows.iter().map(from_pg_row).collect()
            }
        }
    }

    /// Several statements without parameters (schema, BEGIN/COMMIT).
    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        match &self.backend {
            BackendCell::Sqlite(c) => Ok(c.execute_batch(sql)?),
            BackendCell::Postgres(cell) => {
                let mut pg = cell.borrow_mut();
                let client = pg.client()?;
                match self.owed_release.take() {
                    Some(level) => {
                        let both = format!("RELEASE SAVEPOINT sp{level}; {sql}");
                        off_runtime(|| client.batch_execute(&both)).map_err(|e| self.note(e))
                    }
                    None => off_runtime(|| client.batch_execute(sql)).map_err(|e| self.note(e)),
                }
            }
        }
    }

    /// One statement without parameters or rows (BEGIN, COMMIT, SAVEPOINT,
    /// RELEASE). On SQLite it goes through the statement cache: a
    /// verification runs four of them, and parsing each anew was a
    /// measurable share of the writer thread's time.
    pub fn control(&self, sql: &str) -> Result<()> {
        match &self.backend {
            BackendCell::Sqlite(c) => {
                c.prepare_cached(sql)?.execute([])?;
                Ok(())
            }
            BackendCell::Postgres(_) => self.execute_batch(sql),
        }
    }

    /// Opens a transaction, or a savepoint inside the one already open.
    /// It rolls back when dropped without `commit`.
    pub fn transaction(&self) -> Result<Tx<'_>> {
        self.begin("BEGIN")
    }

    /// On SQLite, takes the write lock at once (`BEGIN IMMEDIATE`), so a
    /// read-then-write cannot lose to another process between the two.
    /// PostgreSQL requests already run SERIALIZABLE (`store::db`).
    pub fn transaction_immediate(&self) -> Result<Tx<'_>> {
        self.begin("BEGIN IMMEDIATE")
    }

    fn begin(&self, outer: &str) -> Result<Tx<'_>> {
        let depth = self.depth.get();
        if depth == 0 {
            let sql = match self.engine() {
                Engine::Sqlite => outer,
                Engine::Postgres => "BEGIN ISOLATION LEVEL SERIALIZABLE",
            };
            self.control(sql)?;
        } else {
            self.control(&format!("SAVEPOINT sp{depth}"))?;
        }
        self.depth.set(depth + 1);
        Ok(Tx {
            conn: self,
            level: depth,
            done: false,
        })
    }

    /// The schema's tables, by name: for checks that walk every table
    /// (what is stored at rest, what a request changed).
    pub fn table_names(&self) -> Result<Vec<String>> {
        let sql = match self.engine() {
            Engine::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
            Engine::Postgres => {
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
                 WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'
                 ORDER BY table_name"
            }
        };
        self.query_map(sql, crate::params![], |r| r.get(0))
    }

    /// Takes a lock on each of `ids` for the rest of the transaction,
    /// waiting while another transaction holds one: for a closure that
    /// orders itself rather than rely on SERIALIZABLE
    /// (`Db::call_read_committed`). The ids are taken in ascending order,
    /// so two transactions that share two of them cannot deadlock.
    /// PostgreSQL's advisory locks; on SQLite nothing, since its one writer
    /// runs one request at a time.
    pub fn lock_for_transaction(&self, ids: &[i64]) -> Result<()> {
        if self.engine() != Engine::Postgres {
            return Ok(());
        }
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        for id in ids {
            self.execute("SELECT pg_advisory_xact_lock(?1)", crate::params![id])?;
        }
        Ok(())
    }

    /// How long a statement waits for a lock another connection holds:
    /// SQLite's busy timeout, PostgreSQL's `lock_timeout` (for the rest of
    /// the transaction when one is open).
    pub fn set_busy_timeout(&self, wait: std::time::Duration) -> Result<()> {
        match &self.backend {
            BackendCell::Sqlite(c) => Ok(c.busy_timeout(wait)?),
            BackendCell::Postgres(_) => {
                let scope = if self.depth.get() > 0 { "LOCAL " } else { "" };
                self.execute_batch(&format!("SET {scope}lock_timeout = {}", wait.as_millis()))
            }
        }
    }

    /// True when no transaction is open (SQLite's autocommit mode), used
    /// to recover a connection a panicking request left mid-transaction.
    pub fn is_autocommit(&self) -> bool {
        match &self.backend {
            BackendCell::Sqlite(c) => c.is_autocommit(),
            BackendCell::Postgres(_) => self.depth.get() == 0,
        }
    }
}

/// A PostgreSQL connection goes back to its pool when dropped; one
/// dropped mid-transaction (a panicking request) must not carry that
/// transaction to the next request.
impl Drop for Conn {
    fn drop(&mut self) {
        if self.depth.get() > 0 && self.engine() == Engine::Postgres {
            if let Err(e) = self.end_transaction(End::Rollback) {
                tracing::warn!(error = %e, "rolling back an abandoned transaction failed");
            }
        }
    }
}

/// A transaction or savepoint; see `Conn::transaction`.
pub struct Tx<'c> {
    conn: &'c Conn,
    level: u32,
    done: bool,
}

impl Tx<'_> {
    pub fn commit(mut self) -> Result<()> {
        self.done = true;
        let r = match (self.level, self.conn.engine()) {
            (0, Engine::Postgres) => self.conn.end_transaction(End::Commit),
            (0, Engine::Sqlite) => self.conn.control("COMMIT"),
            // After a failed statement: sent now, so it fails now (see
            // the `aborted` field).
            (level, Engine::Postgres) if self.conn.aborted.get() => {
                self.conn.control(&format!("RELEASE SAVEPOINT sp{level}"))
            }
            // Owed rather than sent (see `Conn::owed_release`). Releasing
            // an outer savepoint releases the inner ones too, so the
            // shallowest owed one is all that has to be sent.
            (level, Engine::Postgres) => {
                let owed = self.conn.owed_release.get().map_or(level, |o| o.min(level));
                self.conn.owed_release.set(Some(owed));
                Ok(())
            }
            (level, Engine::Sqlite) => self.conn.control(&format!("RELEASE SAVEPOINT sp{level}")),
        };
        self.conn.depth.set(self.level);
        // What was registered inside now belongs to the enclosing level,
        // so an outer rollback still forgets it.
        let level = self.level;
        for (depth, _) in self.conn.after_commit.borrow_mut().iter_mut() {
            *depth = (*depth).min(level);
        }
        r
    }

    /// Undoes the transaction's writes now rather than at drop.
    pub fn rollback(mut self) -> Result<()> {
        self.undo();
        Ok(())
    }

    fn undo(&mut self) {
        self.done = true;
        let r = if self.level == 0 {
            self.conn.end_transaction(End::Rollback)
        } else {
            // An owed RELEASE of a savepoint made inside this one is moot:
            // rolling back to this one ends it.
            if self.conn.owed_release.get().is_some_and(|o| o > self.level) {
                self.conn.owed_release.set(None);
            }
            let r = self.conn.execute_batch(&format!(
                "ROLLBACK TO SAVEPOINT sp{0}; RELEASE SAVEPOINT sp{0}",
                self.level
            ));
            if r.is_ok() {
                // Rolled back past whatever failed: usable again.
                self.conn.aborted.set(false);
            }
            r
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "rolling back a transaction failed");
        }
        self.conn.depth.set(self.level);
        let level = self.level;
        self.conn
            .after_commit
            .borrow_mut()
            .retain(|(depth, _)| *depth <= level);
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.undo();
        }
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = Conn;
    fn deref(&self) -> &Conn {
        self.conn
    }
}

/// The `postgres` client runs its own small runtime and blocks on it,
/// which tokio forbids on a thread that is driving async tasks. Requests
/// reach here on blocking threads, where that is allowed; the admin CLI,
/// start-up and tests may call from async code on a multi-threaded
/// runtime, where `block_in_place` steps out of it first.
pub(crate) fn off_runtime<T>(f: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(f)
        }
        _ => f(),
    }
}

/// `?N` to `$N` outside quoted strings; a bare `?` has no PostgreSQL
/// spelling, so rules always number their placeholders.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    for ch in sql.chars() {
        match ch {
            '\'' => {
                quoted = !quoted;
                out.push(ch);
            }
            '?' if !quoted => out.push('$'),
            _ => out.push(ch),
        }
    }
    out
}

fn sqlite_values(params: &[&dyn ToValue]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p.to_value() {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(i),
            Value::Real(f) => rusqlite::types::Value::Real(f),
            Value::Text(s) => rusqlite::types::Value::Text(s),
            Value::Blob(b) => rusqlite::types::Value::Blob(b),
        })
        .collect()
}

fn from_sqlite(v: rusqlite::types::ValueRef<'_>) -> Value {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(f) => Value::Real(f),
        ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}

fn pg_values(params: &[&dyn ToValue]) -> Vec<Value> {
    params.iter().map(|p| p.to_value()).collect()
}

fn pg_refs(values: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    values.iter().map(|v| v as &(dyn ToSql + Sync)).collect()
}

/// Binds a value as whatever type PostgreSQL inferred for its placeholder:
/// an integer may land in a BIGINT column, an INTEGER expression or a
/// boolean test, as it does in SQLite.
impl ToSql for Value {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::NUMERIC => Err("NUMERIC placeholders are not supported; cast".into()),
                _ => i.to_string().as_str().to_sql(ty, out),
            },
            Value::Real(f) => f.to_sql(ty, out),
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn from_pg_row(row: &postgres::Row) -> Result<Row> {
    let mut values = Vec::with_capacity(row.len());
    for (i, col) in row.columns().iter().enumerate() {
        let ty = col.type_();
        let v = match *ty {
            Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Value::Int),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(i)?
                .map(|v| Value::Int(v.into())),
            Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Value::Real),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(i)?
                .map(|v| Value::Real(v.into())),
            Type::BYTEA => row.try_get::<_, Option<Vec<u8>>>(i)?.map(Value::Blob),
            _ => match row.try_get::<_, Option<String>>(i) {
                Ok(v) => v.map(Value::Text),
                Err(_) => {
                    return Err(StoreError::Type(
                        i,
                        format!("unsupported PostgreSQL type {ty}; cast it in the query"),
                    ))
                }
            },
        };
        values.push(v.unwrap_or(Value::Null));
    }
    Ok(Row { values })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_renumbered_outside_strings_only() {
        assert_eq!(
            dollar_placeholders("SELECT '?1', x FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', x FROM t WHERE a = $1 AND b = $12"
        );
    }

    #[test]
    fn nested_transactions_roll_back_only_their_part() {
        let conn = Conn::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        conn.execute_batch("CREATE TABLE t (x INTEGER)").unwrap();
        let outer = conn.transaction().unwrap();
        outer
            .execute("INSERT INTO t VALUES (?1)", params![1])
            .unwrap();
        {
            let inner = outer.transaction().unwrap();
            inner
                .execute("INSERT INTO t VALUES (?1)", params![2])
                .unwrap();
            // dropped: rolled back to the savepoint
        }
        outer.commit().unwrap();
        let xs = conn
            .query_map("SELECT x FROM t ORDER BY x", params![], |r| r.get::<i64>(0))
            .unwrap();
        assert_eq!(xs, vec![1]);
        assert!(conn.is_autocommit());
    }

    #[test]
    fn after_commit_forgets_what_a_rolled_back_transaction_registered() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::Arc;
        let conn = Conn::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        let ran = Arc::new(AtomicU32::new(0));
        let count = |n: u32| {
            let ran = ran.clone();
            move || {
                ran.fetch_add(n, Ordering::SeqCst);
            }
        };
        conn.after_commit(count(1));
        {
            let tx = conn.transaction().unwrap();
            tx.after_commit(count(10));
            let inner = tx.transaction().unwrap();
            inner.after_commit(count(100));
            drop(inner); // rolled back: its 100 is forgotten
            tx.commit().unwrap();
        }
        {
            let tx = conn.transaction().unwrap();
            tx.after_commit(count(1000));
            // dropped: rolled back
        }
        conn.run_after_commit();
        assert_eq!(ran.load(Ordering::SeqCst), 11);
        conn.run_after_commit();
        assert_eq!(ran.load(Ordering::SeqCst), 11, "each runs once");
    }

    #[test]
    fn a_missing_row_is_none_and_types_convert() {
        let conn = Conn::sqlite(rusqlite::Connection::open_in_memory().unwrap());
        let none = conn
            .query_row("SELECT 1 WHERE 0", params![], |r| r.get::<i64>(0))
            .optional()
            .unwrap();
        assert_eq!(none, None);
        let (b, s, n): (bool, String, Option<i64>) = conn
            .query_row("SELECT 1 = 1, 'a', NULL", params![], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert!(b && s == "a" && n.is_none());
    }
}

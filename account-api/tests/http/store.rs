//! The store's own promises, on whichever engine the suite runs on
//! (`DIALER_2FA_TEST_DATABASE_URL`).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use account_api::config::Store;
use account_api::error::ApiError;
use account_api::store::db::{self, Db};
use account_api::store::Engine;

use crate::common::store_for;

/// PostgreSQL's answer when a concurrent transaction won, raised on demand.
const LOSE_A_RACE: &str =
    "DO $$ BEGIN RAISE EXCEPTION 'lost' USING ERRCODE = 'serialization_failure'; END $$";

/// Every row's first column of a query, read in a request of its own.
async fn column<T>(db: &Db, sql: &'static str) -> Vec<T>
where
    T: account_api::store::conn::FromValue + Send + 'static,
{
    db.call(move |conn| Ok(conn.query_map(sql, account_api::params![], |r| r.get(0))?))
        .await
        .unwrap()
}

fn open(store: &Store) -> Db {
    open_pooled(store, 2)
}

/// The store with `pool` PostgreSQL connections (SQLite has its writer).
fn open_pooled(store: &Store, pool: u32) -> Db {
    match store {
        Store::Sqlite(path) => Db::new(db::open(path).unwrap()),
        Store::Postgres { url, .. } => db::open_postgres(url, pool).unwrap(),
    }
}

/// A request whose statement loses a race inside a savepoint it then rolls
/// back must not keep the writes it made before: the whole request runs
/// again, and only the second run's writes stay. (Committing the first
/// run's TOTP step and running again refused valid codes as reused.)
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_loses_a_race_runs_again_from_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("race.sqlite3"));
    let db = open(&store);
    let engine = db.call(|conn| Ok(conn.engine())).await.unwrap();
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = attempts.clone();
    let result = db
        .call(move |conn| {
            let n = counted.fetch_add(1, Ordering::SeqCst) + 1;
            conn.execute(
                "INSERT INTO audit_log (at, event, detail) VALUES (0, 'race test', ?1)",
                account_api::params![format!("attempt {n}")],
            )?;
            let tx = conn.transaction()?;
            if n == 1 {
                tx.execute_batch(LOSE_A_RACE)?;
            }
            tx.commit()?;
            Ok(n)
        })
        .await;
    let rows: Vec<String> = column(
        &db,
        "SELECT detail FROM audit_log WHERE event = 'race test' ORDER BY id",
    )
    .await;
    match engine {
        Engine::Postgres => {
            assert_eq!(result.unwrap(), 2, "the lost attempt is run again");
            assert_eq!(
                rows,
                vec!["attempt 2".to_string()],
                "nothing of attempt 1 stays"
            );
        }
        // One connection, one request at a time: no race to lose. The
        // statement is not SQLite's, the request fails once, and what it
        // wrote before its savepoint stays, as autocommit keeps it.
        Engine::Sqlite => {
            assert!(matches!(result, Err(ApiError::Internal(_))), "{result:?}");
            assert_eq!(attempts.load(Ordering::SeqCst), 1);
            assert_eq!(rows, vec!["attempt 1".to_string()]);
        }
    }
}

/// A request that keeps losing is answered 429 with Retry-After rather
/// than retried forever.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_always_loses_is_told_to_retry() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("race.sqlite3"));
    let db = open(&store);
    let attempts = Arc::new(AtomicU32::new(0));
    let counted = attempts.clone();
    let result: Result<(), ApiError> = db
        .call(move |conn| {
            counted.fetch_add(1, Ordering::SeqCst);
            conn.execute_batch(LOSE_A_RACE)?;
            Ok(())
        })
        .await;
    match store {
        Store::Postgres { .. } => {
            assert!(matches!(result, Err(ApiError::Busy { .. })), "{result:?}");
            assert!(attempts.load(Ordering::SeqCst) > 1);
        }
        Store::Sqlite(_) => {
            assert!(matches!(result, Err(ApiError::Internal(_))), "{result:?}");
            assert_eq!(attempts.load(Ordering::SeqCst), 1);
        }
    }
}

/// On PostgreSQL the two tables a verification updates leave room on each
/// page, so those updates stay on their page (HOT) and add no index entry
/// that concurrent SERIALIZABLE verifications would count as a conflict.
/// (Measured with `make bench-api`'s load: half the serialization
/// failures.) SQLite has no such setting.
#[tokio::test(flavor = "multi_thread")]
async fn verified_tables_leave_room_for_updates_on_postgres() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("fill.sqlite3"));
    let db = open(&store);
    if let Store::Postgres { .. } = store {
        let options: Vec<(String, String)> = db
            .call(|conn| {
                Ok(conn.query_map(
                    "SELECT CAST(relname AS TEXT), COALESCE(array_to_string(reloptions, ','), '')
                     FROM pg_class WHERE relname IN ('users', 'challenges') AND relkind = 'r'
                       AND relnamespace = CAST(current_schema() AS regnamespace)
                     ORDER BY relname",
                    account_api::params![],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?)
            })
            .await
            .unwrap();
        assert_eq!(
            options,
            vec![
                ("challenges".to_string(), "fillfactor=80".to_string()),
                ("users".to_string(), "fillfactor=80".to_string())
            ]
        );
    }
}

/// Connections PostgreSQL closed while they sat in the pool (a restart, an
/// operator's `pg_terminate_backend`, an idle timeout) cost no request: the
/// next requests get working connections.
#[tokio::test(flavor = "multi_thread")]
async fn connections_closed_while_pooled_cost_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("closed.sqlite3"));
    let Store::Postgres { url, .. } = &store else {
        return; // SQLite has no pool of server connections.
    };
    let db = db::open_postgres(url, 4).unwrap();
    // Fill the pool: four requests at once, each holding its connection
    // until all four hold one (closures run on blocking threads, where
    // waiting on a barrier is allowed).
    let all_hold = Arc::new(std::sync::Barrier::new(4));
    let busy = (0..4).map(|_| {
        let db = db.clone();
        let all_hold = all_hold.clone();
        tokio::spawn(async move {
            db.call(move |conn| {
                conn.execute_batch("SELECT 1")?;
                all_hold.wait();
                Ok(())
            })
            .await
        })
    });
    for call in busy.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
    // Close every connection of this database but the one asking.
    let killer = account_api::store::db::connect_postgres(url).unwrap();
    let closed: i64 = killer
        .query_row(
            "SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
              WHERE datname = current_database() AND pid <> pg_backend_pid()) t",
            account_api::params![],
            |r| r.get(0),
        )
        .unwrap();
    assert!(closed >= 4, "only {closed} pooled connections were closed");
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // Every one of the next requests is answered, one after another and
    // then four at once.
    for _ in 0..6 {
        let n: i64 = db
            .call(|conn| Ok(conn.query_row("SELECT 1 + 1", account_api::params![], |r| r.get(0))?))
            .await
            .unwrap();
        assert_eq!(n, 2);
    }
    let again = (0..4).map(|_| {
        let db = db.clone();
        tokio::spawn(async move {
            db.call(|conn| {
                Ok(conn.query_row("SELECT 2 + 2", account_api::params![], |r| r.get::<i64>(0))?)
            })
            .await
        })
    });
    for call in again.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap().unwrap(), 4);
    }
}

/// Savepoints mean the same on both engines however they end, including
/// on PostgreSQL where a committed savepoint's RELEASE is sent late or not
/// at all (`Conn::owed_release`): committed ones keep their rows, rolled
/// back ones (with whatever was committed inside them) lose theirs, and a
/// statement that fails after a committed savepoint leaves the connection
/// usable by the next request. One connection, so the next request gets
/// the same one.
#[tokio::test(flavor = "multi_thread")]
async fn savepoints_keep_their_meaning_however_they_end() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("savepoints.sqlite3"));
    let db = open_pooled(&store, 1);
    let insert = |conn: &account_api::store::Conn, x: i64| {
        conn.execute(
            "INSERT INTO audit_log (at, event, detail) VALUES (?1, 'savepoint test', '')",
            account_api::params![x],
        )
    };
    db.call(move |conn| {
        insert(conn, 1)?;
        let a = conn.transaction()?;
        insert(&a, 2)?;
        a.commit()?;
        {
            let b = conn.transaction()?;
            insert(&b, 3)?;
            // dropped: rolled back
        }
        {
            let c = conn.transaction()?;
            let d = c.transaction()?;
            insert(&d, 4)?;
            d.commit()?;
            // c dropped: 4, committed inside it, goes with it
        }
        let e = conn.transaction()?;
        let f = e.transaction()?;
        insert(&f, 5)?;
        f.commit()?;
        e.commit()?;
        insert(conn, 6)?;
        let g = conn.transaction()?;
        insert(&g, 7)?;
        g.commit()?;
        Ok(())
    })
    .await
    .unwrap();
    let failed: Result<(), ApiError> = db
        .call(move |conn| {
            let h = conn.transaction()?;
            insert(&h, 8)?;
            h.commit()?;
            conn.execute("DELETE FROM no_such_table", account_api::params![])?;
            Ok(())
        })
        .await;
    assert!(failed.is_err());
    let rows: Vec<i64> = column(
        &db,
        "SELECT at FROM audit_log WHERE event = 'savepoint test' ORDER BY at",
    )
    .await;
    match store {
        // The failed statement aborted PostgreSQL's transaction, 8 with it.
        Store::Postgres { .. } => assert_eq!(rows, vec![1, 2, 5, 6, 7]),
        // SQLite keeps what a failing request wrote before (autocommit).
        Store::Sqlite(_) => assert_eq!(rows, vec![1, 2, 5, 6, 7, 8]),
    }
}

/// A savepoint committed after a statement inside it failed (the error
/// swallowed) fails its commit on PostgreSQL, where the failure aborted the
/// transaction, rather than letting the request answer Ok for writes the
/// COMMIT then quietly rolls back. SQLite's failed statement aborts
/// nothing, and the write before it stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_savepoint_committed_after_a_failed_statement_does_not_pass_for_done() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("aborted.sqlite3"));
    let db = open(&store);
    let result: Result<(), ApiError> = db
        .call(|conn| {
            let tx = conn.transaction()?;
            tx.execute(
                "INSERT INTO audit_log (at, event, detail) VALUES (1, 'aborted test', '')",
                account_api::params![],
            )?;
            let _ignored = tx.execute("DELETE FROM no_such_table", account_api::params![]);
            tx.commit()?;
            Ok(())
        })
        .await;
    let kept = audit_rows(&db, "aborted test").await;
    match store {
        Store::Postgres { .. } => {
            assert!(result.is_err(), "answered Ok for a rolled-back write");
            assert_eq!(kept, 0);
        }
        Store::Sqlite(_) => {
            result.unwrap();
            assert_eq!(kept, 1);
        }
    }
}

/// A request that swallowed a failed statement outside any savepoint and
/// answered Ok: on PostgreSQL the failure aborted the transaction, so its
/// COMMIT would have rolled back without an error and the request would
/// have answered Ok for a write that was not kept. It answers an error
/// instead. SQLite's failed statement aborts nothing: Ok, and the write
/// stays.
#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_went_on_after_a_failed_statement_is_not_answered_ok() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("went_on.sqlite3"));
    let db = open(&store);
    let result: Result<(), ApiError> = db
        .call(|conn| {
            conn.execute(
                "INSERT INTO audit_log (at, event, detail) VALUES (1, 'went on test', '')",
                account_api::params![],
            )?;
            let _ignored = conn.execute("DELETE FROM no_such_table", account_api::params![]);
            Ok(())
        })
        .await;
    let kept = audit_rows(&db, "went on test").await;
    match store {
        Store::Postgres { .. } => {
            let e = result.expect_err("answered Ok for a write PostgreSQL rolled back");
            assert!(e.to_string().contains("nothing it wrote was kept"), "{e}");
            assert_eq!(kept, 0);
        }
        Store::Sqlite(_) => {
            result.unwrap();
            assert_eq!(kept, 1);
        }
    }
    // The connection went back to the pool usable: the next request works.
    let after: Vec<i64> = column(&db, "SELECT COUNT(*) FROM audit_log").await;
    assert!(after[0] >= kept);
}

/// How many audit rows `event` left.
async fn audit_rows(db: &Db, event: &'static str) -> i64 {
    db.call(move |conn| {
        Ok(conn.query_row(
            "SELECT COUNT(*) FROM audit_log WHERE event = ?1",
            account_api::params![event],
            |r| r.get(0),
        )?)
    })
    .await
    .unwrap()
}

/// The admin CLI's own transactions (a connection of its own, outside
/// `Db::call`) end with the same COMMIT: after a swallowed failed statement
/// it answers `RolledBack` on PostgreSQL rather than passing for done.
#[tokio::test(flavor = "multi_thread")]
async fn a_cli_transaction_committed_after_a_failed_statement_does_not_pass_for_done() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("cli_aborted.sqlite3"));
    let conn = crate::common::connect(&store);
    let tx = conn.transaction().unwrap();
    tx.execute(
        "INSERT INTO audit_log (at, event, detail) VALUES (1, 'cli aborted test', '')",
        account_api::params![],
    )
    .unwrap();
    let _ignored = tx.execute("DELETE FROM no_such_table", account_api::params![]);
    let committed = tx.commit();
    let kept: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit_log WHERE event = 'cli aborted test'",
            account_api::params![],
            |r| r.get(0),
        )
        .unwrap();
    match store {
        Store::Postgres { .. } => {
            assert!(
                matches!(committed, Err(account_api::store::StoreError::RolledBack)),
                "{committed:?}"
            );
            assert_eq!(kept, 0);
        }
        Store::Sqlite(_) => {
            committed.unwrap();
            assert_eq!(kept, 1);
        }
    }
}

/// Sign-ins from one address (an office behind one NAT) reserve that
/// address's throttle key at the same moment. On PostgreSQL, under
/// SERIALIZABLE, every pair of them conflicted (each read the key's
/// in-flight count the other added to), all but one ran again, and a
/// burst could lose every retry and be answered 429 (`make bench-api`'s
/// mixed load met it). Reservations of one key now wait for each other:
/// each runs once, and together they still never hold more than the key's
/// allowance (20 in flight for an address with no failures).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reservations_of_one_address_at_once_each_run_once_and_keep_the_allowance() {
    use account_api::rules::throttle::{self, Scope};

    let dir = tempfile::tempdir().unwrap();
    let (store, _) = store_for(&dir.path().join("reserve.sqlite3"));
    let db = open_pooled(&store, 8);
    // Five bursts, each from an address of its own: an overrun of the
    // allowance is a race, and one burst does not always show it.
    for round in 0..5 {
        let address = format!("203.0.113.{round}");
        let runs = Arc::new(AtomicU32::new(0));
        let start = Arc::new(tokio::sync::Barrier::new(32));
        let calls: Vec<_> = (0..32)
            .map(|i| {
                let (db, runs, start) = (db.clone(), runs.clone(), start.clone());
                let address = address.clone();
                tokio::spawn(async move {
                    start.wait().await;
                    db.call_read_committed(move |conn| {
                        runs.fetch_add(1, Ordering::SeqCst);
                        let email = format!("person{i}@office.example");
                        let keys = [
                            (Scope::Password, email.as_str()),
                            (Scope::Address, address.as_str()),
                        ];
                        throttle::reserve(conn, &keys, 1_000)
                    })
                    .await
                })
            })
            .collect();
        let (mut reserved, mut refused) = (0, 0);
        for call in calls {
            match call.await.unwrap() {
                Ok(_) => reserved += 1,
                Err(ApiError::RateLimited { retry_after: 1 }) => refused += 1,
                Err(e) => panic!("a reservation failed otherwise: {e:?}"),
            }
        }
        assert_eq!(
            (reserved, refused),
            (20, 12),
            "burst {round}: the address's 20 slots in flight, the rest refused unchecked"
        );
        assert_eq!(
            runs.load(Ordering::SeqCst),
            32,
            "burst {round}: every reservation ran once: none lost a race and ran again"
        );
    }
}

/// Holds a lock from a connection outside the server until told to let
/// go, on a thread of its own (the sync PostgreSQL client blocks on a
/// runtime of its own): on PostgreSQL what `take` locks, in an open
/// transaction; on SQLite the file's write lock, as another process's
/// transaction (the admin CLI's, a backup tool's) holds it.
struct HeldLock {
    release: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

impl HeldLock {
    fn take(store: &Store, take: String) -> HeldLock {
        let store = store.clone();
        let (held, is_held) = std::sync::mpsc::channel::<()>();
        let (release, released) = std::sync::mpsc::channel::<()>();
        let thread = std::thread::spawn(move || match store {
            Store::Postgres { url, .. } => {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let mut tx = client.transaction().unwrap();
                tx.batch_execute(&take).unwrap();
                held.send(()).unwrap();
                let _ = released.recv();
                tx.commit().unwrap();
            }
            Store::Sqlite(path) => {
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch("BEGIN IMMEDIATE").unwrap();
                held.send(()).unwrap();
                let _ = released.recv();
                conn.execute_batch("COMMIT").unwrap();
            }
        });
        is_held.recv().expect("the lock holder failed");
        HeldLock { release, thread }
    }

    /// PostgreSQL: a password key's advisory lock, the one every sign-in
    /// of `email` reserves its attempt under (`throttle::reserve`).
    fn password_key(store: &Store, email: &str) -> HeldLock {
        use account_api::rules::throttle::{lock_id, Scope};
        let key = lock_id(Scope::Password, email);
        HeldLock::take(store, format!("SELECT pg_advisory_xact_lock({key})"))
    }

    fn let_go(self) {
        self.release.send(()).unwrap();
        self.thread.join().unwrap();
    }
}

/// A request's answer, or a failure saying it is still waiting after
/// `patience`, far beyond either store's bound on a lock wait
/// (`db::LOCK_WAIT`; on SQLite `db::BUSY_WAIT` for the batch and again
/// for the request): without a bound it would wait for as long as the
/// lock is held, here for ever.
async fn answered<T>(what: &str, request: impl std::future::Future<Output = T>) -> T {
    let patience = db::LOCK_WAIT * 15;
    tokio::time::timeout(patience, request).await.unwrap_or_else(|_| {
        panic!("{what} was still waiting for a held lock after {patience:?}: lock waits have no bound")
    })
}

/// The store's busy answer: 429 with Retry-After, so a client waits and
/// tries again.
fn assert_busy(r: &crate::common::Resp) {
    r.err(429, "rate_limited");
    assert!(r.retry_after.is_some(), "busy without Retry-After");
}

/// A request that meets a lock another transaction holds for longer than
/// the store allows is answered 429 busy with Retry-After, not a 500 and
/// not held for as long as the lock stays (on PostgreSQL each waiting
/// request would keep a pool connection); nothing it wrote is kept, and
/// the same request works once the lock is gone. The locks: on SQLite the
/// file's write lock held by another process; on PostgreSQL a user's row
/// (a verification records its TOTP step there) and a password key's
/// advisory lock (every sign-in reserves its attempt under it,
/// `throttle::reserve`).
#[tokio::test(flavor = "multi_thread")]
async fn a_request_behind_a_lock_held_too_long_is_answered_busy_and_works_once_it_is_gone() {
    use crate::common::{oathtool, Server};
    use serde_json::json;
    let server = Server::start().await;
    let email = "held@example.com";
    server.user(email);
    let token = server.session(email).await;
    let (secret, _) = server.enroll_authenticator(&token).await;
    let challenge = server.sign_in(email).await;
    let challenge = challenge.ok()["challenge_token"]
        .as_str()
        .unwrap()
        .to_string();
    let answer =
        json!({ "challenge_token": challenge, "code": oathtool(&secret, server.now().await) });

    let row = HeldLock::take(
        &server.store,
        format!("SELECT 1 FROM users WHERE email = '{email}' FOR UPDATE"),
    );
    let r = answered(
        "a verification",
        server.post("/v1/sign-in/challenge", None, answer.clone()),
    )
    .await;
    assert_busy(&r);
    row.let_go();
    // The refused attempt recorded nothing: not the TOTP step (the same
    // code would be refused as reused).
    let r = server.post("/v1/sign-in/challenge", None, answer).await;
    assert!(r.ok()["session_token"].is_string(), "{}", r.body);

    if server.store.sqlite_path().is_some() {
        return; // Advisory locks are PostgreSQL's.
    }
    let advisory = HeldLock::password_key(&server.store, email);
    let r = answered("a sign-in", server.sign_in(email)).await;
    assert_busy(&r);
    advisory.let_go();
    let r = server.sign_in(email).await;
    assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
}

/// PostgreSQL: more sign-ins behind one held lock than the node has pool
/// connections (8 in the tests) are all answered 429 busy, a wave of them
/// per lock wait, and meanwhile another person's sign-in is answered as
/// usual: a lock held on one password key takes the pool for one lock
/// wait at a time, not for as long as it is held. Without the bound every
/// pooled connection would wait on the lock, and the other sign-in would
/// get none (`db::POOL_WAIT`'s busy, or the test's patience).
#[tokio::test(flavor = "multi_thread")]
async fn more_requests_behind_a_held_lock_than_the_pool_has_connections_leave_room_for_others() {
    use crate::common::{Server, PASSWORD};
    let server = Server::start().await;
    if server.store.sqlite_path().is_some() {
        return; // SQLite's one writer: the test below.
    }
    let (held, other) = ("held-many@example.com", "other@example.com");
    server.user(held);
    server.user(other);
    let advisory = HeldLock::password_key(&server.store, held);
    let body = serde_json::json!({ "email": held, "password": PASSWORD });
    // Twelve: more than the pool, few enough that the second wave leaves
    // a connection free for the other sign-in when the first wave ends.
    let (answers, theirs) = tokio::join!(
        answered(
            "twelve sign-ins behind the lock",
            crate::lockout::at_once(&server, "/v1/sign-in", None, body, 12),
        ),
        answered("another person's sign-in", async {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            server.sign_in(other).await
        }),
    );
    assert_eq!(theirs.ok()["status"], "authenticated", "{}", theirs.body);
    for r in answers {
        assert_busy(&r);
    }
    advisory.let_go();
    let r = server.sign_in(held).await;
    assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
}

/// SQLite: while another process holds the file's write lock past the
/// busy wait, every request queued for the writer is answered 429 busy
/// within about one wait (`db::BUSY_WAIT`), not one request per wait (each
/// of eight parallel sign-ins here would then take 5 s more than the one
/// before, and the last ones would run into the 30 s request timeout's
/// 503), and the writer serves again as soon as the lock is gone.
#[tokio::test(flavor = "multi_thread")]
async fn requests_queued_behind_another_processs_write_lock_are_all_answered_busy_at_once() {
    use crate::common::Server;
    let server = Server::start().await;
    if server.store.sqlite_path().is_none() {
        return; // PostgreSQL's lock waits: the test above.
    }
    let email = "queued@example.com";
    server.user(email);
    let lock = HeldLock::take(&server.store, String::new());
    let body = serde_json::json!({ "email": email, "password": crate::common::PASSWORD });
    let answers = crate::lockout::at_once(&server, "/v1/sign-in", None, body, 8).await;
    for r in answers {
        assert_busy(&r);
    }
    lock.let_go();
    let r = server.sign_in(email).await;
    assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
}

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

fn open(store: &Store) -> Db {
    match store {
        Store::Sqlite(path) => Db::new(db::open(path).unwrap()),
        Store::Postgres { url, .. } => db::open_postgres(url, 2).unwrap(),
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
    let rows: Vec<String> = db
        .call(|conn| {
            Ok(conn.query_map(
                "SELECT detail FROM audit_log WHERE event = 'race test' ORDER BY id",
                account_api::params![],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
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

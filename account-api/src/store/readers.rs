//! Read-only SQLite connections for requests that only read (the session
//! behind every signed-in request, the 2FA state, the trusted-device
//! list), run on the calling thread.
//!
//! Why: every request used to queue on the one writer thread, so a page
//! that only reads waited behind whole batches of verifications and
//! sign-ins. In WAL mode readers never wait for the writer: each read
//! runs in its own transaction on the last committed snapshot, which
//! includes every write already answered. The connections are opened
//! with `query_only`, so a closure that writes by mistake fails loudly
//! instead of writing outside the writer's ordering.
//!
//! A read takes tens of microseconds against the memory-mapped file, so
//! it runs inline on the async worker rather than paying a hand-off to
//! another thread; `busy_timeout` is short because a WAL reader only
//! meets a lock while the WAL is being recovered or restarted.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use super::conn::{Conn, Result};

/// Idle connections kept for reuse: one per worker thread is enough.
const KEEP_IDLE: usize = 8;
/// How long a read waits on a lock (WAL recovery or restart) before the
/// request is answered with the error.
const READ_BUSY_WAIT: Duration = Duration::from_millis(500);
/// Pages each reader caches: reads come through the memory map.
const READER_CACHE_KIB: i64 = -1_000;
const READER_MMAP_BYTES: i64 = 256 * 1024 * 1024;

pub struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Conn>>,
}

impl Readers {
    /// Opens one reader now, so a file that cannot be read fails at start.
    pub fn open(path: &Path) -> Result<Readers> {
        let readers = Readers {
            path: path.to_path_buf(),
            idle: Mutex::new(Vec::new()),
        };
        let first = readers.connect()?;
        readers.put_back(first);
        Ok(readers)
    }

    fn connect(&self) -> Result<Conn> {
        let conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(READ_BUSY_WAIT)?;
        conn.pragma_update(None, "query_only", "ON")?;
        conn.pragma_update(None, "cache_size", READER_CACHE_KIB)?;
        conn.pragma_update(None, "mmap_size", READER_MMAP_BYTES)?;
        conn.set_prepared_statement_cache_capacity(64);
        Ok(Conn::sqlite(conn))
    }

    fn take(&self) -> Result<Conn> {
        let reused = self.idle.lock().ok().and_then(|mut idle| idle.pop());
        match reused {
            Some(conn) => Ok(conn),
            None => self.connect(),
        }
    }

    fn put_back(&self, conn: Conn) {
        if let Ok(mut idle) = self.idle.lock() {
            if idle.len() < KEEP_IDLE {
                idle.push(conn);
            }
        }
    }

    /// Runs `f` in one read transaction (one snapshot for all its
    /// statements) on an idle reader.
    pub fn read<T, E, F>(&self, f: F) -> std::result::Result<T, E>
    where
        F: FnOnce(&mut Conn) -> std::result::Result<T, E>,
        E: From<super::conn::StoreError>,
    {
        let mut conn = self.take()?;
        conn.control("BEGIN")?;
        conn.set_depth(1);
        let result = f(&mut conn);
        let ended = conn.control("COMMIT");
        conn.set_depth(0);
        if ended.is_ok() {
            conn.run_after_commit();
        } else {
            conn.forget_after_commit();
        }
        if ended.is_ok() && conn.is_autocommit() {
            self.put_back(conn);
        }
        // A reader whose transaction did not end is dropped, not reused.
        result
    }
}

#[cfg(test)]
mod tests {
    use crate::error::ApiError;
    use crate::params;
    use crate::store::db::Db;
    use std::time::Duration;

    fn count(conn: &crate::store::Conn) -> Result<i64, ApiError> {
        Ok(conn.query_row("SELECT COUNT(*) FROM audit_log", params![], |r| r.get(0))?)
    }

    fn insert(conn: &crate::store::Conn) -> Result<(), ApiError> {
        conn.execute(
            "INSERT INTO audit_log (at, event, detail) VALUES (1, 'test', 'row')",
            params![],
        )?;
        Ok(())
    }

    #[tokio::test]
    async fn a_read_sees_every_write_already_answered() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::serve_sqlite(&dir.path().join("r.sqlite3")).unwrap();
        let start = db.read(|c| count(c)).await.unwrap();
        for i in 1..=50 {
            db.call(|c| insert(c)).await.unwrap();
            assert_eq!(db.read(|c| count(c)).await.unwrap(), start + i);
        }
    }

    #[tokio::test]
    async fn a_reader_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::serve_sqlite(&dir.path().join("r.sqlite3")).unwrap();
        let before = db.call(|c| count(c)).await.unwrap();
        assert!(db.read(|c| insert(c)).await.is_err());
        assert_eq!(db.call(|c| count(c)).await.unwrap(), before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_does_not_wait_for_the_writer() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::serve_sqlite(&dir.path().join("r.sqlite3")).unwrap();
        db.call(|c| insert(c)).await.unwrap();
        let before = db.call(|c| count(c)).await.unwrap();
        // Hold the writer thread inside a request until told to go on.
        let (go_on, wait) = std::sync::mpsc::channel::<()>();
        let wait = std::sync::Mutex::new(wait);
        let held = {
            let db = db.clone();
            tokio::spawn(async move {
                db.call(move |c| {
                    let _ = wait.lock().unwrap().recv_timeout(Duration::from_secs(30));
                    insert(c)
                })
                .await
            })
        };
        let read = tokio::time::timeout(Duration::from_secs(5), db.read(|c| count(c)))
            .await
            .expect("the read waited for the writer");
        assert_eq!(read.unwrap(), before);
        go_on.send(()).unwrap();
        held.await.unwrap().unwrap();
    }
}

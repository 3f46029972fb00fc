//! SQLite's WAL checkpoints, on their own thread and connection.
//!
//! Why: SQLite's automatic checkpoint runs inside the COMMIT that takes
//! the WAL past 1,000 pages, on the writer thread, and fsyncs the database
//! file. Under `make bench-api` that was a fifth of the writer's time, and
//! every request queued behind that COMMIT waited for the fsync, which set
//! the verification's p99. Here a second connection copies the WAL back
//! into the database every [`INTERVAL`] with a PASSIVE checkpoint, which
//! never takes the write lock.
//!
//! Under steady load a PASSIVE checkpoint from another connection can
//! never finish the WAL (the writer commits more while it copies), and
//! only a complete one lets the writer start the WAL from its beginning.
//! So the writer keeps an automatic checkpoint at a far larger threshold
//! ([`WRITER_FALLBACK_PAGES`]): by then this thread has copied almost
//! everything, the writer's own pass copies the last few pages, and the
//! WAL restarts. Measured: the writer's checkpoint share fell from a fifth
//! of its time to a few percent. Near that threshold this thread passes
//! every millisecond ([`CLOSING_PAGES`]), so the writer's pass finds
//! little left to sync.
//!
//! Durability is unchanged: a commit is in the WAL before its request is
//! answered, and a checkpoint only moves committed pages.

use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

use rusqlite::Connection;

/// How often the WAL is copied back: short, so that when the writer does
/// checkpoint (see below) little is left to copy. Measured with `make
/// bench-api` (250,000 users, 10 s windows): the verification's p99 was
/// 10.5 ms at 20 ms and 22.7 ms at 100 ms (300 ms: 21 ms in a shorter
/// run), before [`CLOSING_INTERVAL`] existed.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// The writer's own automatic checkpoint, in WAL pages (128 MiB of WAL at
/// most on disk). Only that pass lets the WAL start over, and it stalls
/// every queued request until it is done. What it costs is the fsync of
/// the WAL written since this thread's last pass: the disk writes that
/// tail out, at about one page per verification under load. Measured with
/// a PASSIVE checkpoint on the writer after every 500 batches of `make
/// bench-api`'s load, the stall was 14-33 ms with passes every 20 ms and
/// 4-10 ms every 5 ms. (The data disk is ext4 without a journal:
/// `ext4_fsync_nojournal` in perf, so no journal commit is involved.)
///
/// Hence [`CLOSING_PAGES`]: near this threshold the passes come every
/// millisecond, the tail is small when the writer's pass comes, and the
/// threshold can be low enough that the WAL file is reused rather than
/// grown. Verification p99 under `make bench-api`'s load (three runs
/// each, 2026-11-29): 131,072 pages without the closing passes 5.0-8.9 ms;
/// with them 4.0-4.2 ms; 32,768 pages with them 3.8-4.1 ms. Readers do
/// not pay for a longer WAL: they search only the frames after the last
/// checkpoint.
pub const WRITER_FALLBACK_PAGES: i64 = 32_768;

/// Once the WAL is this close to [`WRITER_FALLBACK_PAGES`], passes come
/// every [`CLOSING_INTERVAL`] instead, until the writer's pass has let the
/// WAL start over: about half a second of `make bench-api`'s load at
/// 4 KiB pages.
pub const CLOSING_PAGES: i64 = WRITER_FALLBACK_PAGES - 8_192;

/// The interval near the threshold: short, so little is left unsynced
/// when the writer checkpoints; only for the last quarter of a cycle, so
/// the extra fsyncs are few.
pub const CLOSING_INTERVAL: Duration = Duration::from_millis(1);

/// The wait before the next pass, given the WAL's length after the two
/// last: an idle server whose WAL stopped near the threshold keeps the
/// normal pace (nothing is left to sync, and waking every millisecond
/// would be waste).
fn wait_after(before: i64, wal_pages: i64) -> Duration {
    if wal_pages >= CLOSING_PAGES && wal_pages > before {
        CLOSING_INTERVAL
    } else {
        INTERVAL
    }
}

/// How long a pass waits for a lock another process holds (an admin
/// command's write): a PASSIVE checkpoint never waits for this server's
/// own writer.
const BUSY_WAIT: Duration = Duration::from_secs(5);

/// Stops the thread (after one last checkpoint) when dropped, which the
/// writer thread does when the server's last handle to it is gone.
pub struct Checkpointer {
    stop: Option<Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Checkpointer {
    /// Waits for the last checkpoint, so a server that stops leaves its
    /// WAL copied back.
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Checkpointer {
    /// Opens the second connection and starts the thread.
    pub fn start(path: &Path) -> Result<Checkpointer, rusqlite::Error> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_WAIT)?;
        let (stop, stopped) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || {
                let (mut before, mut wal_pages) = (0, 0);
                loop {
                    let last = !matches!(
                        stopped.recv_timeout(wait_after(before, wal_pages)),
                        Err(RecvTimeoutError::Timeout)
                    );
                    match checkpoint(&conn) {
                        Ok((pages, _)) => (before, wal_pages) = (wal_pages, pages),
                        Err(e) => tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoint is the backstop"),
                    }
                    if last {
                        break;
                    }
                }
            });
        let thread = match spawned {
            Ok(thread) => Some(thread),
            Err(e) => {
                tracing::warn!(error = %e, "could not start the WAL checkpoint thread; the writer checkpoints itself");
                None
            }
        };
        Ok(Checkpointer {
            stop: Some(stop),
            thread,
        })
    }
}

/// One PASSIVE checkpoint: copies what no reader still needs, waits for
/// nobody. Returns (WAL frames, frames copied).
pub fn checkpoint(conn: &Connection) -> Result<(i64, i64), rusqlite::Error> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that never checkpoints itself, with `rows` rows of 4 KiB
    /// committed into the WAL only.
    fn write_without_checkpoints(path: &Path, rows: i64) -> Connection {
        let conn = Connection::open(path).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.pragma_update(None, "wal_autocheckpoint", 0).unwrap();
        conn.execute_batch("CREATE TABLE IF NOT EXISTS t (b BLOB)")
            .unwrap();
        for _ in 0..rows {
            conn.execute("INSERT INTO t (b) VALUES (zeroblob(4096))", [])
                .unwrap();
        }
        conn
    }

    fn db_bytes(path: &Path) -> u64 {
        std::fs::metadata(path).unwrap().len()
    }

    #[test]
    fn the_thread_copies_the_wal_back_while_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        let _writer = write_without_checkpoints(&path, 200);
        let before = db_bytes(&path);
        assert!(
            before < 100 * 4096,
            "the rows are only in the WAL: {before}"
        );
        let _checkpointer = Checkpointer::start(&path).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while db_bytes(&path) < 200 * 4096 {
            assert!(
                std::time::Instant::now() < deadline,
                "no checkpoint within 10 s"
            );
            std::thread::sleep(INTERVAL);
        }
    }

    #[test]
    fn passes_come_every_millisecond_only_near_the_writers_threshold() {
        assert_eq!(wait_after(0, 10), INTERVAL);
        assert_eq!(wait_after(0, CLOSING_PAGES - 1), INTERVAL);
        assert_eq!(
            wait_after(CLOSING_PAGES - 1, CLOSING_PAGES),
            CLOSING_INTERVAL
        );
        assert_eq!(
            wait_after(CLOSING_PAGES, WRITER_FALLBACK_PAGES + 100),
            CLOSING_INTERVAL
        );
        // The writer's pass let the WAL start over: back to the normal pace.
        assert_eq!(wait_after(WRITER_FALLBACK_PAGES, 40), INTERVAL);
        // Idle near the threshold: nothing new to sync, no busy loop.
        assert_eq!(wait_after(CLOSING_PAGES + 5, CLOSING_PAGES + 5), INTERVAL);
        // A pass that met another checkpoint reports no length (SQLite's -1).
        assert_eq!(wait_after(CLOSING_PAGES, -1), INTERVAL);
        const { assert!(CLOSING_PAGES > 0 && CLOSING_PAGES < WRITER_FALLBACK_PAGES) };
    }

    #[test]
    fn dropping_it_stops_the_thread_after_a_last_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sqlite3");
        let checkpointer = Checkpointer::start(&path).unwrap();
        let _writer = write_without_checkpoints(&path, 100);
        // Dropped at once: the interval has not passed, so only the last
        // checkpoint can have copied the rows, and drop waits for it.
        drop(checkpointer);
        assert!(db_bytes(&path) >= 100 * 4096, "{}", db_bytes(&path));
    }
}

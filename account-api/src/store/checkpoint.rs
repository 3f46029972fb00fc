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
//! of its time to a few percent.
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
/// run). Each pass fsyncs, and on ext4 a WAL append that meets the journal
/// commit of that fsync waits for it, but that cost less than the longer
/// remainder did.
pub const INTERVAL: Duration = Duration::from_millis(20);

/// The writer's own automatic checkpoint, in WAL pages (512 MiB of WAL at
/// most on disk). Its pass stalls every queued request for 17-20 ms (the
/// fsyncs of the last pages), so it should come rarely: measured under
/// `make bench-api`'s verification load, the verification's p99 was
/// 14-18 ms at 1,000-16,384 pages, 10.0-10.5 ms at 65,536 and 6.8-7.4 ms
/// at 131,072 (two runs each of the last two), and 3.6-4.5 ms with no
/// writer checkpoint at all (not an option: only the writer's pass lets
/// the WAL start over). Readers do not pay for the longer WAL: they
/// search only the frames after the last checkpoint.
pub const WRITER_FALLBACK_PAGES: i64 = 131_072;

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
            .spawn(move || loop {
                let last = !matches!(
                    stopped.recv_timeout(INTERVAL),
                    Err(RecvTimeoutError::Timeout)
                );
                if let Err(e) = checkpoint(&conn) {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the writer's own checkpoint is the backstop");
                }
                if last {
                    break;
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

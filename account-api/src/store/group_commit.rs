//! SQLite's one writer: a thread that owns the connection and runs every
//! request's database work, committing many requests in one transaction.
//!
//! Why: with autocommit, each statement of a verification (the TOTP step,
//! the challenge, the session, the audit row) was its own WAL commit, and
//! each request crossed a mutex from a blocking-pool thread; a third of
//! the server's time went to those threads waking each other. Here the
//! thread takes whatever requests are queued, runs each inside its own
//! SAVEPOINT of one `BEGIN IMMEDIATE` transaction, commits once, and only
//! then answers them: no request hears "done" before its writes are
//! durable, and a crash before the COMMIT loses only requests nobody was
//! answered for.
//!
//! What each request sees is unchanged: requests still run one at a time
//! in arrival order (so the single-use rules stay atomic without relying
//! on SQLite's locking), a request sees every earlier one's writes, and a
//! request's own writes are kept whether it answers Ok or Err, as they
//! were under autocommit. A request that panics has its savepoint rolled
//! back alone; the others in the batch commit.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};

use super::checkpoint::Checkpointer;
use super::conn::Conn;
use crate::error::{ApiError, ApiResult};

/// Requests in one transaction at most, so one slow request cannot hold
/// back an unbounded number of answers.
const MAX_BATCH: usize = 128;

/// The savepoint around one request, written out once rather than
/// formatted per request. `Tx` names its own `sp<depth>`, so this name
/// cannot clash with them.
const OPEN_REQUEST: &str = "SAVEPOINT request";
const KEEP_REQUEST: &str = "RELEASE SAVEPOINT request";
const UNDO_REQUEST: &str = "ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request";

/// What a job leaves to do once its batch's COMMIT has succeeded (`None`)
/// or failed (`Some(reason)`): answer the waiting request.
type Answer = Box<dyn FnOnce(Option<&str>) + Send>;
/// A request's work, run on the connection, or refused unrun (`None`):
/// answered busy without touching the database.
type Job = Box<dyn FnOnce(Option<&mut Conn>) -> Answer + Send>;

/// The handle requests hold; the thread stops when the last one is gone.
#[derive(Clone)]
pub struct Writer {
    jobs: Sender<Job>,
}

impl Writer {
    /// Starts the thread; it owns `checkpointer` (if any) and stops it
    /// when it stops itself.
    pub fn start(conn: Conn, checkpointer: Option<Checkpointer>) -> Writer {
        let (jobs, queue) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                run(conn, queue);
                drop(checkpointer);
            });
        if let Err(e) = spawned {
            // Without the thread every call answers "stopped" below, which
            // /v1/ready reports; there is nothing better to do here.
            tracing::error!(error = %e, "could not start the SQLite writer thread");
        }
        Writer { jobs }
    }

    /// Runs `f` on the writer thread and answers after its batch commits.
    pub async fn call<T, F>(&self, f: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Conn) -> ApiResult<T> + Send + 'static,
    {
        let (tell, told) = tokio::sync::oneshot::channel::<ApiResult<T>>();
        let job: Job = Box::new(move |conn: Option<&mut Conn>| {
            let result = match conn {
                Some(conn) => run_request(conn, f),
                None => Err(ApiError::Busy { retry_after: 1 }),
            };
            Box::new(move |commit_failed: Option<&str>| {
                let answer = match commit_failed {
                    None => result,
                    Some(reason) => Err(ApiError::internal(format!(
                        "database: the transaction was not committed: {reason}"
                    ))),
                };
                // The request may have given up (its client went away).
                let _ = tell.send(answer);
            })
        });
        self.jobs
            .send(job)
            .map_err(|_| ApiError::internal("the SQLite writer thread has stopped"))?;
        told.await
            .map_err(|_| ApiError::internal("the SQLite writer thread dropped a request"))?
    }
}

fn run(conn: Conn, queue: Receiver<Job>) {
    let mut conn = conn;
    while let Ok(first) = queue.recv() {
        let mut answers: Vec<Answer> = Vec::new();
        if let Err(e) = begin(&conn) {
            conn.set_depth(0);
            if e.is_lock_wait_over() {
                // Another process held the write lock for the whole busy
                // wait (`db::BUSY_WAIT`). Every request waiting now is
                // answered busy unrun: each would otherwise wait as long
                // again for the next batch, one after another, and its
                // writes could not be made atomic without the batch.
                let mut refused = 0;
                for job in std::iter::once(first).chain(queue.try_iter()) {
                    job(None)(None);
                    refused += 1;
                }
                tracing::warn!(error = %e, refused, "another process holds the database's write lock; requests answered busy");
                continue;
            }
            // Anything else: the request runs as it did before batching,
            // in autocommit, and meets the same error where it writes.
            tracing::warn!(error = %e, "could not open a batch transaction");
            let answer = first(Some(&mut conn));
            conn.run_after_commit();
            answer(None);
            continue;
        }
        let mut next = Some(first);
        while let Some(job) = next.take() {
            answers.push(job(Some(&mut conn)));
            if conn.is_autocommit() {
                // A request ended the transaction itself (a raw COMMIT or
                // ROLLBACK); start another for the rest of the batch.
                if let Err(e) = begin(&conn) {
                    tracing::error!(error = %e, "could not reopen the batch's transaction");
                    break;
                }
            }
            if answers.len() < MAX_BATCH {
                next = match queue.try_recv() {
                    Ok(job) => Some(job),
                    Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => None,
                };
            }
        }
        let committed = if conn.is_autocommit() {
            Ok(())
        } else {
            conn.control("COMMIT")
        };
        conn.set_depth(0);
        match committed {
            Ok(()) => {
                conn.run_after_commit();
                for answer in answers {
                    answer(None);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, requests = answers.len(), "a batch failed to commit");
                if let Err(e) = conn.execute_batch("ROLLBACK") {
                    tracing::warn!(error = %e, "rolling back a failed batch failed");
                }
                conn.forget_after_commit();
                let reason = e.to_string();
                for answer in answers {
                    answer(Some(&reason));
                }
            }
        }
    }
}

fn begin(conn: &Conn) -> super::conn::Result<()> {
    conn.control("BEGIN IMMEDIATE")?;
    conn.set_depth(1);
    Ok(())
}

/// One request inside its savepoint; a panic rolls back only its writes.
fn run_request<T, F>(conn: &mut Conn, f: F) -> ApiResult<T>
where
    F: FnOnce(&mut Conn) -> ApiResult<T>,
{
    let depth = conn.depth();
    let hooks = conn.after_commit_len();
    conn.control(OPEN_REQUEST)?;
    conn.set_depth(depth + 1);
    let outcome = catch_unwind(AssertUnwindSafe(|| f(&mut *conn)));
    let end = match &outcome {
        Ok(_) => KEEP_REQUEST,
        Err(_) => UNDO_REQUEST,
    };
    let ended = if conn.is_autocommit() {
        Ok(())
    } else if outcome.is_ok() {
        conn.control(end)
    } else {
        // Two statements: not through the cache, and rare.
        conn.execute_batch(end)
    };
    conn.set_depth(if conn.is_autocommit() { 0 } else { depth });
    match outcome {
        Ok(result) => {
            conn.settle_after_commit(depth);
            ended?;
            result
        }
        Err(_) => {
            tracing::error!("a database closure panicked; its writes were rolled back");
            conn.truncate_after_commit(hooks);
            if let Err(e) = ended {
                tracing::warn!(error = %e, "rolling back a panicked request failed");
            }
            Err(ApiError::internal(
                "a database closure panicked; its transaction was rolled back",
            ))
        }
    }
}

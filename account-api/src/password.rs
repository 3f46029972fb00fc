//! Passwords: Argon2id hashes in PHC format, verified off the async runtime.
//!
//! The parameters come from config so the test suite can use cheap ones;
//! the default is the argon2 crate's (OWASP's 19 MiB, 2 passes). Hashes keep
//! their own parameters, so changing them later still verifies old hashes.
//!
//! Every hash and verification in the server goes through one
//! [`HashLimiter`] with one slot (a thread) per core but one
//! ([`slots_for`]): each Argon2 run holds 19 MiB and a core for tens of
//! milliseconds, so hundreds at once would only exhaust memory without
//! finishing any sooner. A request waits a bounded time for a slot and is
//! then answered `429 Busy` with `Retry-After`, unchecked.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::{ApiError, ApiResult};

/// NIST SP 800-63B: at least 8 characters; a generous upper bound keeps
/// hashing cost bounded.
pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 256;

/// Argon2id cost, from config.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        PasswordCost {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
        }
    }
}

impl PasswordCost {
    fn hasher(&self) -> ApiResult<Argon2<'static>> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| ApiError::internal(format!("argon2 parameters: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Checks the length rules before a password is stored.
pub fn validate_new(password: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if n < MIN_LEN {
        return Err(ApiError::WeakPassword(format!(
            "the password must have at least {MIN_LEN} characters"
        )));
    }
    if n > MAX_LEN {
        return Err(ApiError::WeakPassword(format!(
            "the password must have at most {MAX_LEN} characters"
        )));
    }
    Ok(())
}

/// Hashes synchronously (admin CLI, blocking threads).
pub fn hash_blocking(cost: PasswordCost, password: &str) -> ApiResult<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    cost.hasher()?
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("argon2: {e}")))
}

/// Verifies synchronously. An unparsable stored hash is an internal error,
/// not a wrong password.
pub fn verify_blocking(cost: PasswordCost, password: &str, stored: &str) -> ApiResult<bool> {
    let parsed =
        PasswordHash::new(stored).map_err(|e| ApiError::internal(format!("stored hash: {e}")))?;
    Ok(cost
        .hasher()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

/// How long a request may wait for an Argon2 slot before it is refused.
/// Long enough to ride out a burst of legitimate sign-ins (a slot frees
/// every few tens of milliseconds), short enough that a flood is refused
/// quickly instead of piling up.
pub const SLOT_WAIT: Duration = Duration::from_secs(3);
/// Waiters allowed per slot; beyond this a request is refused at once, so
/// even the queue of waiting requests stays bounded.
const WAITERS_PER_SLOT: usize = 64;

/// Argon2 slots for a machine with `cores` cores: one core always stays
/// free of password hashing, so a burst of sign-ins (or a password-guessing
/// flood) cannot take every core from code verification and the rest of
/// the API (issue 12). A one-core machine still gets its one slot.
pub fn slots_for(cores: usize) -> usize {
    cores.saturating_sub(1).max(1)
}

/// Bounds concurrent Argon2 work: `slots` runs at once, at most
/// `slots * WAITERS_PER_SLOT` waiting, none waiting longer than `wait`.
///
/// The slots are `slots` threads of its own that take queued jobs in
/// turn. Why not a semaphore in front of tokio's blocking pool (as before):
/// there a freed slot went to a waiting task, which had to be scheduled
/// on a busy tokio worker before it could hand its hash to a blocking
/// thread, and under `make bench-api`'s mixed load a slot turned over
/// every 1.0 ms for a 0.3 ms check; here the thread that finishes a hash
/// starts the next one at once.
#[derive(Debug)]
pub struct HashLimiter {
    jobs: mpsc::Sender<Job>,
    /// Jobs sent and not yet taken by a thread.
    queued: Arc<AtomicUsize>,
    max_waiting: usize,
    wait: Duration,
}

/// A hash to run. It says it has started first, and is dropped unrun
/// when nobody is waiting any more (its request was answered busy).
type Job = Box<dyn FnOnce() + Send>;

impl HashLimiter {
    pub fn new(slots: usize, wait: Duration) -> HashLimiter {
        let slots = slots.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let queued = Arc::new(AtomicUsize::new(0));
        for _ in 0..slots {
            let (queue, queued) = (queue.clone(), queued.clone());
            let spawned = std::thread::Builder::new()
                .name("argon2".into())
                .spawn(move || take_jobs(&queue, &queued));
            if let Err(e) = spawned {
                // Fewer slots; with none the queue's receiver is gone, and
                // every check answers 500 ("the Argon2 threads have stopped").
                tracing::error!(error = %e, "could not start an Argon2 thread");
            }
        }
        HashLimiter {
            jobs,
            queued,
            max_waiting: slots * WAITERS_PER_SLOT,
            wait,
        }
    }

    /// The server's limiter: see [`slots_for`].
    pub fn global() -> &'static HashLimiter {
        static LIMITER: OnceLock<HashLimiter> = OnceLock::new();
        LIMITER.get_or_init(|| {
            let cores = std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1);
            HashLimiter::new(slots_for(cores), SLOT_WAIT)
        })
    }

    /// Checks queued and not yet started: lets a test know that a
    /// request is waiting for its slot.
    pub fn waiting(&self) -> usize {
        self.queued.load(Ordering::SeqCst)
    }

    /// Runs `work` on one of the limiter's threads once one is free. A job
    /// a thread has taken runs to the end even when the request that asked
    /// for it has gone away, so it keeps its slot until the hash is done.
    pub async fn run<T, F>(&self, work: F) -> ApiResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> ApiResult<T> + Send + 'static,
    {
        let busy = ApiError::Busy {
            retry_after: self.wait.as_secs().max(1) as i64,
        };
        if self.queued.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(busy);
        }
        let (started, taken) = tokio::sync::oneshot::channel::<()>();
        let (tell, told) = tokio::sync::oneshot::channel::<ApiResult<T>>();
        let job: Job = Box::new(move || {
            if started.send(()).is_err() {
                return;
            }
            // A panic answers this request and keeps the thread (the slot).
            let answer = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
                .unwrap_or_else(|_| Err(ApiError::internal("password hashing panicked")));
            let _ = tell.send(answer);
        });
        if self.jobs.send(job).is_err() {
            self.queued.fetch_sub(1, Ordering::SeqCst);
            return Err(ApiError::internal("the Argon2 threads have stopped"));
        }
        // The wait is for a slot; a check that has started runs to the end.
        match tokio::time::timeout(self.wait, taken).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => {
                tracing::warn!("argon2 slots stayed busy; password check refused");
                return Err(busy);
            }
        }
        told.await
            .map_err(|_| ApiError::internal("an Argon2 thread dropped a started check"))?
    }
}

/// One slot's thread: takes the next job as soon as the last is done.
fn take_jobs(queue: &Mutex<mpsc::Receiver<Job>>, queued: &AtomicUsize) {
    loop {
        let job = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = job else { return };
        queued.fetch_sub(1, Ordering::SeqCst);
        job();
    }
}

pub async fn hash(cost: PasswordCost, password: String) -> ApiResult<String> {
    HashLimiter::global()
        .run(move || hash_blocking(cost, &password))
        .await
}

/// Verifies against `stored`, or against a dummy hash when the user does
/// not exist, so the answer takes the same time either way and an attacker
/// cannot tell which emails have accounts.
pub async fn verify(
    cost: PasswordCost,
    password: String,
    stored: Option<String>,
) -> ApiResult<bool> {
    HashLimiter::global()
        .run(move || match stored {
            Some(h) => verify_blocking(cost, &password, &h),
            None => {
                let dummy = dummy_hash(cost)?;
                let _ = verify_blocking(cost, &password, &dummy)?;
                Ok(false)
            }
        })
        .await
}

/// One hash per cost, made on first use, so unknown emails cost one
/// verification like known ones (not a hash and a verification).
fn dummy_hash(cost: PasswordCost) -> ApiResult<String> {
    static DUMMY: Mutex<Vec<(u32, u32, String)>> = Mutex::new(Vec::new());
    let key = (cost.memory_kib, cost.iterations);
    if let Ok(cache) = DUMMY.lock() {
        if let Some((_, _, h)) = cache.iter().find(|(m, t, _)| (*m, *t) == key) {
            return Ok(h.clone());
        }
    }
    let h = hash_blocking(cost, "not-a-user-password")?;
    if let Ok(mut cache) = DUMMY.lock() {
        cache.push((key.0, key.1, h.clone()));
    }
    Ok(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let cost = PasswordCost {
            memory_kib: 1024,
            iterations: 1,
        };
        let h = hash_blocking(cost, "correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_blocking(cost, "correct horse", &h).unwrap());
        assert!(!verify_blocking(cost, "wrong horse", &h).unwrap());
    }

    #[test]
    fn one_core_stays_free_of_password_hashing() {
        assert_eq!(slots_for(0), 1);
        assert_eq!(slots_for(1), 1);
        assert_eq!(slots_for(2), 1);
        assert_eq!(slots_for(8), 7);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_than_the_slots_hash_at_once() {
        let limiter = Arc::new(HashLimiter::new(2, Duration::from_secs(30)));
        let running = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..12 {
            let (limiter, running, most) = (limiter.clone(), running.clone(), most.clone());
            tasks.push(tokio::spawn(async move {
                limiter
                    .run(move || {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        let cost = PasswordCost {
                            memory_kib: 4096,
                            iterations: 2,
                        };
                        let h = hash_blocking(cost, "correct horse");
                        running.fetch_sub(1, Ordering::SeqCst);
                        h
                    })
                    .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(most.load(Ordering::SeqCst) <= 2, "{most:?}");
    }

    /// Occupies the limiter's only thread until the returned sender is
    /// dropped or sent to.
    async fn occupy(
        limiter: &Arc<HashLimiter>,
    ) -> (
        std::sync::mpsc::Sender<()>,
        tokio::task::JoinHandle<ApiResult<()>>,
    ) {
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (started, running) = tokio::sync::oneshot::channel::<()>();
        let l = limiter.clone();
        let holder = tokio::spawn(async move {
            l.run(move || {
                let _ = started.send(());
                let _ = released.recv();
                Ok(())
            })
            .await
        });
        running.await.unwrap();
        (release, holder)
    }

    #[tokio::test]
    async fn a_full_limiter_answers_busy_after_the_bounded_wait() {
        let limiter = Arc::new(HashLimiter::new(1, Duration::from_millis(50)));
        let (release, holder) = occupy(&limiter).await;
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        match limiter
            .run(move || {
                r.fetch_add(1, Ordering::SeqCst);
                Ok(())
            })
            .await
        {
            Err(ApiError::Busy { retry_after }) => assert!(retry_after >= 1),
            other => panic!("{other:?}"),
        }
        drop(release);
        holder.await.unwrap().unwrap();
        limiter.run(|| Ok(())).await.unwrap();
        // The refused job went stale in the queue and was never run.
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn the_queue_of_waiters_is_bounded_too() {
        let limiter = Arc::new(HashLimiter::new(1, Duration::from_secs(30)));
        let (release, holder) = occupy(&limiter).await;
        let mut waiters = Vec::new();
        for _ in 0..WAITERS_PER_SLOT {
            let l = limiter.clone();
            waiters.push(tokio::spawn(async move { l.run(|| Ok(())).await }));
        }
        // Poll until every waiter is queued.
        while limiter.queued.load(Ordering::SeqCst) < WAITERS_PER_SLOT {
            tokio::task::yield_now().await;
        }
        assert!(matches!(
            limiter.run(|| Ok(())).await,
            Err(ApiError::Busy { .. })
        ));
        drop(release);
        holder.await.unwrap().unwrap();
        for w in waiters {
            w.await.unwrap().unwrap();
        }
    }

    #[tokio::test]
    async fn a_panicking_hash_answers_internal_and_keeps_its_slot() {
        let limiter = HashLimiter::new(1, Duration::from_secs(30));
        let panicked = limiter.run(|| -> ApiResult<()> { panic!("boom") }).await;
        assert!(
            matches!(panicked, Err(ApiError::Internal(_))),
            "{panicked:?}"
        );
        // The one thread is still there to run the next check.
        limiter.run(|| Ok(())).await.unwrap();
    }

    #[test]
    fn length_rules() {
        assert!(validate_new("short").is_err());
        assert!(validate_new("long enough").is_ok());
    }
}

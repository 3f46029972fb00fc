//! What a verification costs SQLite, with nothing else: no HTTP and no
//! hand-off to the writer thread. `make bench-api` adds this to the CPU a
//! health request costs (server and wrk) to bound what goal 1 of issue 12
//! can reach on this machine; see `scripts/bench-api.sh`.
//!
//! It runs the product's own verification (`rules::challenge::answer_on`,
//! the whole of what the writer thread runs for one) for each body
//! `bench_prepare` wrote, in order, as the benchmark's verifications come.
//! It uses the server's connection settings (`db::open`) with the
//! checkpoint thread beside it, but is kinder than the server: 32
//! verifications to a transaction, no savepoint around each.
//!
//! With `--writes-only` it writes, for each prepared challenge in order,
//! only the four rows every successful verification writes (the TOTP
//! step, the challenge used up, the audit row, the session with a fresh
//! token), with the same statements and nothing read: what no design that
//! keeps those rows durable can do without.
//!
//!     bench_sqlite_floor --db PATH --server-key-file KEY --bodies FILE
//!                        [--seconds N] [--writes-only]
//!
//! prints `FLOOR|verifications|seconds|cpu_seconds`: the process's user and
//! system CPU, every thread, including the checkpoint thread's last pass
//! over what the verifications left in the WAL, so their whole cost is
//! counted.

use std::path::PathBuf;
use std::time::Instant;

use account_api::params;
use account_api::rules::audit::{self, Event};
use account_api::rules::{challenge, session};
use account_api::secret_box::SecretBox;
use account_api::store::checkpoint::{Checkpointer, WRITER_FALLBACK_PAGES};
use account_api::store::{db, Conn};
use shared::api::ChallengeAnswer;

/// Verifications per transaction: as many as the benchmark has
/// connections, more than the server's batches usually hold.
const BATCH: usize = 32;

/// User and system CPU of this process so far, every thread, in seconds.
fn cpu_seconds() -> f64 {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec through the pointer, which
    // points at `now`, and keeps no pointer to it.
    let status = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) };
    assert_eq!(status, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID)");
    now.tv_sec as f64 + now.tv_nsec as f64 / 1e9
}

/// The store, its key, the bodies `bench_prepare` wrote, and how long.
#[derive(clap::Parser)]
struct Args {
    /// A SQLite store `bench_prepare` filled.
    #[arg(long)]
    db: PathBuf,
    /// The server key the store's TOTP secrets are sealed with.
    #[arg(long)]
    server_key_file: PathBuf,
    /// `verify.txt` from the same `bench_prepare` run.
    #[arg(long)]
    bodies: PathBuf,
    /// Stop after this many seconds if the bodies last longer.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Only the four rows a verification writes (see the module's doc).
    #[arg(long)]
    writes_only: bool,
}

fn main() {
    let Args {
        db: path,
        server_key_file: key_file,
        bodies,
        seconds,
        writes_only,
    } = clap::Parser::parse();
    let secrets = SecretBox::load(&key_file).expect("the server key");
    let answers: Vec<ChallengeAnswer> = std::fs::read_to_string(&bodies)
        .expect("the bodies")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a verification body"))
        .collect();
    let conn = db::open(&path).expect("open the SQLite store");
    conn.execute_batch(&format!(
        "PRAGMA wal_autocheckpoint = {WRITER_FALLBACK_PAGES}"
    ))
    .expect("the writer's checkpoint threshold");
    let checkpointer = Checkpointer::start(&path).expect("the checkpoint thread");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    // (challenge id, user id) in the bodies' order: the prepared rows.
    let open: Vec<(i64, i64)> = conn
        .query_map(
            "SELECT id, user_id FROM challenges WHERE consumed_at IS NULL ORDER BY id",
            params![],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .expect("the prepared challenges");
    assert_eq!(open.len(), answers.len(), "one body per prepared challenge");

    let cpu_before = cpu_seconds();
    let started = Instant::now();
    let mut done = 0usize;
    for (batch, rows) in answers.chunks(BATCH).zip(open.chunks(BATCH)) {
        let tx = conn.transaction_immediate().expect("begin");
        for (answer, &(challenge_id, user_id)) in batch.iter().zip(rows) {
            if writes_only {
                write_rows(&tx, now, challenge_id, user_id);
                continue;
            }
            let verified = challenge::answer_on(&tx, &secrets, now, "127.0.0.1", answer);
            assert!(
                verified.is_ok(),
                "a prepared verification failed: {verified:?}"
            );
        }
        tx.commit().expect("commit");
        conn.run_after_commit();
        done += batch.len();
        if started.elapsed().as_secs_f64() >= seconds {
            break;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    // What the verifications left in the WAL is part of their cost: the
    // thread's last pass copies it when it stops.
    drop(checkpointer);
    let cpu = cpu_seconds() - cpu_before;
    println!("FLOOR|{done}|{elapsed:.3}|{cpu:.3}");
}

/// The rows a successful TOTP verification writes: the two conditional
/// UPDATEs as `rules::challenge::answer_on` and `second_factor` write them
/// inline, the audit row and the session through the rules' own functions.
fn write_rows(conn: &Conn, now: i64, challenge_id: i64, user_id: i64) {
    let step = now / 30;
    let stepped = conn
        .execute(
            "UPDATE users SET totp_last_step = ?1 WHERE id = ?2 AND (totp_last_step IS NULL OR totp_last_step < ?1)",
            params![step, user_id],
        )
        .expect("the TOTP step");
    let consumed = conn
        .execute(
            "UPDATE challenges SET consumed_at = ?1 WHERE id = ?2 AND consumed_at IS NULL",
            params![now, challenge_id],
        )
        .expect("the challenge");
    assert_eq!(
        (stepped, consumed),
        (1, 1),
        "each prepared challenge is used once"
    );
    audit::record(
        conn,
        now,
        Some(user_id),
        Event::SecondFactorVerified,
        "authenticator",
        Some("127.0.0.1"),
    )
    .expect("the audit row");
    session::create_session(conn, now, user_id, Some(now), None).expect("the session");
}

//! Prepares `scripts/bench-api.sh`'s load before any clock starts: users
//! with the authenticator on, one open challenge each, a full session
//! each, written straight into the store a server is about to serve; and
//! the request bodies the load generator (wrk) sends, one per line.
//!
//! Why straight into the store: a steady 10 s window of verifications
//! needs tens of thousands of distinct (challenge, TOTP step) pairs, since
//! each code works once. Minting them over HTTP would cost minutes of
//! sign-ins that are not what is measured; here it is one transaction.
//! Rows are the same as the rules write (the secret sealed with the
//! server's key under the same context, tokens hashed the same way), so
//! the server cannot tell them from real ones.
//!
//!     bench_prepare (--db PATH | --database-url URL) --server-key-file KEY
//!                   --users N --out DIR
//!
//! writes DIR/verify.txt (`{"challenge_token", "code"}` per line, codes for
//! the TOTP step 20 s after the inserts commit, so they are good for the
//! next ~40 s however long the inserts took),
//! DIR/sign_in.txt (`{"email", "password"}` per line) and DIR/sessions.txt
//! (a session token per line).

use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use account_api::params;
use account_api::password::{self, PasswordCost};
use account_api::rules::authenticator::code_at;
use account_api::rules::session;
use account_api::secret_box::SecretBox;
use account_api::store::db;
use account_api::tokens::{hash_token, new_token, TokenKind};
use rand::RngCore;

const PASSWORD: &str = "bench password 1234";
/// A challenge's life, as `rules::challenge` gives it.
const CHALLENGE_TTL: i64 = 15 * 60;

/// Where the load goes and how much of it.
#[derive(clap::Parser)]
#[command(group(clap::ArgGroup::new("store").required(true).args(["db", "database_url"])))]
struct Args {
    /// The SQLite file a server is about to serve.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Or the PostgreSQL database the nodes share.
    #[arg(long)]
    database_url: Option<String>,
    /// The server's key, which seals the TOTP secrets.
    #[arg(long)]
    server_key_file: PathBuf,
    /// Users, each with one open challenge and one session.
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Where the request bodies go.
    #[arg(long)]
    out: PathBuf,
}

fn main() {
    let Args {
        db: db_path,
        database_url,
        server_key_file: key_file,
        users,
        out,
    } = clap::Parser::parse();
    let secrets = SecretBox::load(&key_file).expect("the server key");
    let conn = match (&db_path, &database_url) {
        (Some(path), _) => db::open(path).expect("open the SQLite store"),
        (None, Some(url)) => db::connect_postgres(url).expect("connect to PostgreSQL"),
        (None, None) => unreachable!("clap requires one of --db and --database-url"),
    };
    // Sign-in is measured only in the mixed load, with the cheap cost the
    // server is started with; one hash serves every user (salted once).
    let hash = password::hash_blocking(
        PasswordCost {
            memory_kib: 1024,
            iterations: 1,
        },
        PASSWORD,
    )
    .expect("hash");
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    let started = std::time::Instant::now();
    // (challenge token, TOTP secret): the codes are computed after the
    // commit, so a long insert (PostgreSQL, hundreds of thousands of users)
    // cannot leave them a minute old when the window starts.
    let mut challenges = Vec::with_capacity(users);
    let mut sign_in = Vec::with_capacity(users);
    let mut sessions = Vec::with_capacity(users);
    let tx = conn.transaction().expect("begin");
    let run = std::process::id();
    for i in 0..users {
        let email = format!("bench{run}-{i}@example.com");
        let user_id: i64 = tx
            .query_row(
                "INSERT INTO users (email, password_hash, created_at, tfa_method, tfa_enabled_at)
                 VALUES (?1, ?2, ?3, 'authenticator', ?3) RETURNING id",
                params![email, hash, now],
                |r| r.get(0),
            )
            .expect("insert user");
        let mut secret = [0u8; 20];
        rand::rngs::OsRng.fill_bytes(&mut secret);
        let sealed = secrets
            .seal(&secret, &format!("totp:{user_id}"))
            .expect("seal");
        tx.execute(
            "UPDATE users SET totp_secret = ?1 WHERE id = ?2",
            params![sealed, user_id],
        )
        .expect("store secret");
        let challenge = new_token(TokenKind::Challenge);
        tx.execute(
            "INSERT INTO challenges (user_id, token_hash, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![user_id, hash_token(&challenge), now, now + CHALLENGE_TTL],
        )
        .expect("insert challenge");
        challenges.push((challenge, secret));
        sign_in.push(serde_json::json!({"email": email, "password": PASSWORD}).to_string());
        sessions
            .push(session::create_session(&tx, now, user_id, Some(now), None).expect("session"));
    }
    tx.commit().expect("commit");
    let code_time = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64
        + 20;
    let verify: Vec<String> = challenges
        .iter()
        .map(|(challenge, secret)| {
            let code = code_at(secret, code_time).expect("code");
            serde_json::json!({"challenge_token": challenge, "code": code}).to_string()
        })
        .collect();
    let write = |name: &str, lines: &[String]| {
        let path = out.join(name);
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        for l in lines {
            writeln!(f, "{l}").expect("write");
        }
    };
    write("verify.txt", &verify);
    write("sign_in.txt", &sign_in);
    write("sessions.txt", &sessions);
    println!(
        "prepared {users} users, challenges and sessions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

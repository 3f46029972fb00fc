//! Load driver for `scripts/bench-api.sh`: measures code verification
//! (`POST /v1/sign-in/challenge` with a valid TOTP code) next to
//! `GET /v1/health` against a running server on loopback.
//!
//! Each TOTP step can be used once per user, so the driver enrolls many
//! users and moves the server clock (the server must run with
//! `--allow-clock-control`) one step between rounds; challenges are opened
//! before each round and are not measured. Loops are bounded by count and
//! by a deadline.

use std::sync::Arc;
use std::time::{Duration, Instant};

use account_api::rules::authenticator::code_at;
use data_encoding::BASE32_NOPAD;
use serde_json::{json, Value};
use tokio::sync::Semaphore;

const PASSWORD: &str = "bench password 1234";
const DEADLINE: Duration = Duration::from_secs(240);

struct Args {
    url: String,
    db: String,
    database_url: String,
    /// A PEM certificate to trust (the test proxy's), for an https URL.
    ca: String,
    /// The name the table row carries (`sqlite`, `postgres, 1 node`, ...).
    label: String,
    users: usize,
    rounds: usize,
    concurrency: usize,
}

fn parse_args() -> Args {
    let mut args = Args {
        url: String::new(),
        db: String::new(),
        database_url: String::new(),
        ca: String::new(),
        label: String::new(),
        users: 200,
        rounds: 10,
        concurrency: 32,
    };
    let mut it = std::env::args();
    it.next(); // the program's own name
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_else(|| panic!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value,
            "--db" => args.db = value,
            "--database-url" => args.database_url = value,
            "--ca" => args.ca = value,
            "--label" => args.label = value,
            "--users" => args.users = value.parse().expect("--users N"),
            "--rounds" => args.rounds = value.parse().expect("--rounds N"),
            "--concurrency" => args.concurrency = value.parse().expect("--concurrency N"),
            other => panic!("unknown flag {other}"),
        }
    }
    let host = args
        .url
        .split("://")
        .nth(1)
        .unwrap_or_default()
        .split(['/', ':'])
        .next()
        .unwrap_or_default();
    assert!(
        host.starts_with("127.") || host == "localhost" || host.ends_with(".test"),
        "loopback or a .test name mapped to it only: {}",
        args.url
    );
    assert!(
        args.db.is_empty() != args.database_url.is_empty(),
        "--db PATH or --database-url URL of the server's store"
    );
    args
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: Value,
) -> (u16, Value) {
    let mut req = client.post(url).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let res = req.send().await.expect("request");
    let status = res.status().as_u16();
    let text = res.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn server_now(client: &reqwest::Client, base: &str, advance: i64) -> i64 {
    let (status, body) = post(
        client,
        &format!("{base}/v1/test/clock"),
        None,
        json!({"advance_seconds": advance}),
    )
    .await;
    assert_eq!(
        status, 200,
        "the server must run with --allow-clock-control: {body}"
    );
    body["now"].as_i64().unwrap()
}

struct Stats {
    name: &'static str,
    latencies: Vec<Duration>,
    wall: Duration,
    failures: usize,
}

impl Stats {
    /// Requests/s, p50 and p99 in ms.
    fn figures(&self) -> (f64, f64, f64) {
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: f64| -> f64 {
            if l.is_empty() {
                return 0.0;
            }
            let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
            l[i].as_secs_f64() * 1000.0
        };
        (
            l.len() as f64 / self.wall.as_secs_f64(),
            pct(0.50),
            pct(0.99),
        )
    }

    fn print(&self) {
        let mut l = self.latencies.clone();
        l.sort();
        let pct = |p: f64| -> f64 {
            if l.is_empty() {
                return 0.0;
            }
            let i = ((l.len() as f64 * p).ceil() as usize).clamp(1, l.len()) - 1;
            l[i].as_secs_f64() * 1000.0
        };
        println!(
            "{:<28} {:>7} req  {:>9.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  failures {}",
            self.name,
            l.len(),
            l.len() as f64 / self.wall.as_secs_f64(),
            pct(0.50),
            pct(0.99),
            self.failures
        );
    }
}

/// Runs `jobs` with at most `concurrency` in flight; each returns success.
async fn measure<F, Fut>(name: &'static str, jobs: Vec<F>, concurrency: usize) -> Stats
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let gate = Arc::new(Semaphore::new(concurrency));
    let start = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for job in jobs {
        let permit = gate.clone().acquire_owned().await.unwrap();
        set.spawn(async move {
            let t = Instant::now();
            let ok = job().await;
            drop(permit);
            (t.elapsed(), ok)
        });
    }
    let mut latencies = Vec::new();
    let mut failures = 0;
    while let Some(r) = set.join_next().await {
        let (d, ok) = r.unwrap();
        latencies.push(d);
        if !ok {
            failures += 1;
        }
    }
    Stats {
        name,
        latencies,
        wall: start.elapsed(),
        failures,
    }
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = parse_args();
    let started = Instant::now();
    let mut client = reqwest::Client::builder().pool_max_idle_per_host(args.concurrency);
    if !args.ca.is_empty() {
        let pem = std::fs::read(&args.ca).expect("read --ca");
        client = client
            .add_root_certificate(reqwest::Certificate::from_pem(&pem).expect("a PEM certificate"));
    }
    let client = client.build().unwrap();
    let base = args.url.trim_end_matches('/').to_string();

    // Users straight into the database (cheap Argon2: sign-in is not what
    // is measured), then enrolled in the authenticator over HTTP.
    let cheap = account_api::password::PasswordCost {
        memory_kib: 1024,
        iterations: 1,
    };
    let emails: Vec<String> = (0..args.users)
        .map(|i| format!("bench{i}@example.com"))
        .collect();
    {
        let conn = if args.database_url.is_empty() {
            account_api::admin::open(std::path::Path::new(&args.db)).expect("open db")
        } else {
            account_api::store::db::connect_postgres(&args.database_url).expect("connect")
        };
        for e in &emails {
            account_api::admin::create_user(&conn, cheap, e, PASSWORD).expect("create user");
        }
    }
    let mut secrets = Vec::new();
    let now = server_now(&client, &base, 0).await;
    for e in &emails {
        let (_, r) = post(
            &client,
            &format!("{base}/v1/sign-in"),
            None,
            json!({"email": e, "password": PASSWORD}),
        )
        .await;
        let token = r["session_token"].as_str().expect("session").to_string();
        let (_, setup) = post(
            &client,
            &format!("{base}/v1/two-factor/authenticator/setup"),
            Some(&token),
            json!({}),
        )
        .await;
        let secret = BASE32_NOPAD
            .decode(setup["secret_base32"].as_str().expect("secret").as_bytes())
            .unwrap();
        let code = code_at(&secret, now).unwrap();
        let (status, body) = post(
            &client,
            &format!("{base}/v1/two-factor/authenticator/confirm"),
            Some(&token),
            json!({"code": code}),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        secrets.push(secret);
    }
    println!(
        "setup: {} users enrolled in {:.1} s; {} rounds, concurrency {}",
        args.users,
        started.elapsed().as_secs_f64(),
        args.rounds,
        args.concurrency
    );

    let mut verify = Stats {
        name: "POST /v1/sign-in/challenge",
        latencies: Vec::new(),
        wall: Duration::ZERO,
        failures: 0,
    };
    for _round in 0..args.rounds {
        if started.elapsed() > DEADLINE {
            println!("deadline reached; stopping early");
            break;
        }
        let now = server_now(&client, &base, 30).await;
        // Open one challenge per user (not measured).
        let mut challenges = Vec::new();
        for e in &emails {
            let (_, r) = post(
                &client,
                &format!("{base}/v1/sign-in"),
                None,
                json!({"email": e, "password": PASSWORD}),
            )
            .await;
            challenges.push(
                r["challenge_token"]
                    .as_str()
                    .expect("challenge")
                    .to_string(),
            );
        }
        let jobs: Vec<_> = challenges
            .into_iter()
            .zip(secrets.iter())
            .map(|(challenge, secret)| {
                let client = client.clone();
                let url = format!("{base}/v1/sign-in/challenge");
                let code = code_at(secret, now).unwrap();
                move || async move {
                    let (status, _) = post(
                        &client,
                        &url,
                        None,
                        json!({"challenge_token": challenge, "code": code}),
                    )
                    .await;
                    status == 200
                }
            })
            .collect();
        let s = measure("POST /v1/sign-in/challenge", jobs, args.concurrency).await;
        verify.latencies.extend(s.latencies);
        verify.wall += s.wall;
        verify.failures += s.failures;
    }

    let n = verify.latencies.len().max(1);
    let jobs: Vec<_> = (0..n)
        .map(|_| {
            let client = client.clone();
            let url = format!("{base}/v1/health");
            move || async move {
                match client.get(&url).send().await {
                    Ok(r) => r.status().is_success() && r.bytes().await.is_ok(),
                    Err(_) => false,
                }
            }
        })
        .collect();
    let health = measure("GET /v1/health", jobs, args.concurrency).await;

    println!();
    health.print();
    verify.print();
    let rate = |s: &Stats| s.latencies.len() as f64 / s.wall.as_secs_f64();
    println!(
        "code verification runs at {:.1}% of the health endpoint's rate",
        100.0 * rate(&verify) / rate(&health)
    );
    // One line for scripts/bench-api.sh's table of stores.
    let (v, v50, v99) = verify.figures();
    let (h, h50, h99) = health.figures();
    println!(
        "ROW|{}|{v:.0}|{v50:.2}|{v99:.2}|{h:.0}|{h50:.2}|{h99:.2}|{:.1}",
        if args.label.is_empty() {
            "-"
        } else {
            &args.label
        },
        100.0 * v / h
    );
    if verify.failures > 0 || health.failures > 0 {
        return std::process::ExitCode::FAILURE;
    }
    std::process::ExitCode::SUCCESS
}

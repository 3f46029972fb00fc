//! A real server on a loopback port with a fresh store, and the helpers
//! the HTTP tests share.
//!
//! The store is a SQLite file, or, when `DIALER_2FA_TEST_DATABASE_URL`
//! names a PostgreSQL cluster (`make test` runs the suite both ways), a
//! fresh PostgreSQL database per server: each test's SQLite path names its
//! database, so two servers given one path share it as they would share
//! the file.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;

use account_api::admin;
use account_api::config::{ServerConfig, SmsCaps, SmsConfig, Store};
use account_api::password::PasswordCost;
use account_api::secret_box::ServerKey;
use account_api::store::{db, Conn};
use account_api::AppState;
use reqwest::StatusCode;
use serde_json::{json, Value};
use shared::api::AccountRole;
use shared::web_sync::WebAppOrigin;

/// Cheap Argon2 for tests only; the server takes it from config.
pub const TEST_COST: PasswordCost = PasswordCost {
    memory_kib: 1024,
    iterations: 1,
};

pub const PASSWORD: &str = "correct horse battery";

/// The key every PostgreSQL test server seals with (base64 of 32 bytes
/// 0x5a): a shared store needs one given to it, and tests that want
/// another pass their own.
pub const TEST_KEY_B64: &str = "WlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlpaWlo=";

/// The PostgreSQL cluster the suite runs on, when it runs on one.
pub fn postgres_base() -> Option<String> {
    std::env::var("DIALER_2FA_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.trim().is_empty())
}

/// The PostgreSQL database standing for `db_path`, created on first use.
pub fn postgres_url_for(base: &str, db_path: &std::path::Path) -> String {
    use std::hash::{Hash, Hasher};
    static CREATING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    db_path.hash(&mut h);
    let name = format!("t_{:016x}", h.finish());
    let _one_at_a_time = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    // A thread of its own: the postgres client blocks on a runtime of its
    // own, which the test's async runtime does not allow on its threads.
    let created = std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let mut admin = postgres::Client::connect(base, postgres::NoTls).map_err(|e| {
                    format!(
                        "cannot reach the test PostgreSQL cluster (DIALER_2FA_TEST_DATABASE_URL): {e}"
                    )
                })?;
                match admin.batch_execute(&format!("CREATE DATABASE {name}")) {
                    Err(e) if e.code() != Some(&postgres::error::SqlState::DUPLICATE_DATABASE) => {
                        Err(format!("CREATE DATABASE {name}: {e}"))
                    }
                    _ => Ok(()),
                }
            })
            .join()
            .unwrap()
    });
    if let Err(e) = created {
        panic!("{e}");
    }
    let (before_query, query) = match base.split_once('?') {
        Some((b, q)) => (b, format!("?{q}")),
        None => (base, String::new()),
    };
    let (server, _) = before_query
        .rsplit_once('/')
        .filter(|(s, _)| s.contains("://") && !s.ends_with('/'))
        .unwrap_or((before_query, ""));
    format!("{server}/{name}{query}")
}

/// The store a test server at `db_path` uses, and the key it needs.
pub fn store_for(db_path: &std::path::Path) -> (Store, ServerKey) {
    match postgres_base() {
        Some(base) => (
            Store::Postgres {
                url: postgres_url_for(&base, db_path),
                pool_size: 8,
            },
            ServerKey::from_options(None, Some(TEST_KEY_B64.to_string())).unwrap(),
        ),
        None => (Store::Sqlite(db_path.to_path_buf()), ServerKey::default()),
    }
}

/// The admin CLI's options naming a store.
pub fn store_args(store: &Store) -> Vec<String> {
    match store {
        Store::Sqlite(path) => vec!["--db".into(), path.display().to_string()],
        Store::Postgres { url, .. } => vec!["--database-url".into(), url.clone()],
    }
}

/// A second connection to a store, as the admin CLI opens one.
pub fn connect(store: &Store) -> Conn {
    match store {
        Store::Sqlite(path) => admin::open(path).unwrap(),
        Store::Postgres { url, .. } => db::connect_postgres(url).unwrap(),
    }
}

pub struct Server {
    pub base: String,
    pub db_path: PathBuf,
    pub store: Store,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub struct Options {
    pub sms: SmsConfig,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Off only to show what a production server does not serve.
    pub allow_clock_control: bool,
    pub sms_caps: SmsCaps,
    /// `--public-origin`; `None` is the server's own `http://127.0.0.1:<port>`.
    pub public_origin: Option<&'static str>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sms: SmsConfig::Outbox,
            trusted_proxies: Vec::new(),
            allow_clock_control: true,
            sms_caps: SmsCaps::default(),
            public_origin: None,
        }
    }
}

/// A response: status and JSON body (Null when empty).
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: StatusCode,
    pub body: Value,
    pub retry_after: Option<String>,
}

impl Resp {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or("")
    }
    pub fn ok(&self) -> &Value {
        assert!(
            self.status.is_success(),
            "expected success, got {} {}",
            self.status,
            self.body
        );
        &self.body
    }
    pub fn err(&self, status: u16, code: &str) {
        assert_eq!(
            (self.status.as_u16(), self.code()),
            (status, code),
            "unexpected answer: {}",
            self.body
        );
    }
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(Options::default()).await
    }

    pub async fn start_with(options: Options) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let db_path = dir.path().join("api.sqlite3");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let public_origin = match options.public_origin {
            Some(origin) => origin.to_string(),
            None => format!("http://{addr}"),
        };
        let (store, server_key) = store_for(&db_path);
        let config = ServerConfig {
            store: store.clone(),
            server_key,
            allow_clock_control: options.allow_clock_control,
            sms: options.sms,
            password_cost: TEST_COST,
            trusted_proxies: options.trusted_proxies,
            sms_caps: options.sms_caps,
            public_origin: WebAppOrigin::parse(&public_origin).unwrap(),
            janitor_interval: account_api::janitor::DEFAULT_INTERVAL,
        };
        let state = AppState::open(config).unwrap();
        let (router, _) = account_api::build_router(state);
        let task = tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Server {
            base: format!("http://{addr}"),
            db_path,
            store,
            client: reqwest::Client::new(),
            _dir: dir,
            task,
        }
    }

    /// The admin CLI's options for this server's store.
    pub fn store_args(&self) -> Vec<String> {
        store_args(&self.store)
    }

    /// A separate connection to the server's database, as the admin CLI has.
    pub fn conn(&self) -> Conn {
        connect(&self.store)
    }

    pub fn user(&self, email: &str) -> i64 {
        admin::create_user(&self.conn(), TEST_COST, email, PASSWORD).unwrap()
    }

    pub fn account(&self, name: &str) -> i64 {
        admin::create_account(&self.conn(), name).unwrap()
    }

    pub fn member(&self, account: &str, email: &str, role: AccountRole) {
        admin::add_membership(&self.conn(), account, email, role).unwrap()
    }

    pub fn enforce(&self, account: &str, on: bool) {
        admin::set_enforcement(&self.conn(), account, on).unwrap()
    }

    /// The platform's schedule, as `dialer-2fa-api policy mandatory` sets it
    /// (at the admin's wall-clock time, not the server's moved clock).
    pub fn platform(&self, change: admin::PlatformPolicy) -> String {
        admin::set_platform_policy(&self.conn(), change).unwrap()
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let res = req.send().await.unwrap();
        let status = res.status();
        let retry_after = res
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        let text = res.text().await.unwrap();
        let body = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"))
        };
        Resp {
            status,
            body,
            retry_after,
        }
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> Resp {
        self.send(reqwest::Method::POST, path, token, Some(body))
            .await
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(reqwest::Method::GET, path, token, None).await
    }

    /// Moves the server clock; returns the server's new time.
    pub async fn advance(&self, seconds: i64) -> i64 {
        let r = self
            .post(
                "/v1/test/clock",
                None,
                json!({ "advance_seconds": seconds }),
            )
            .await;
        r.ok()["now"].as_i64().unwrap()
    }

    pub async fn now(&self) -> i64 {
        self.advance(0).await
    }

    pub async fn sign_in(&self, email: &str) -> Resp {
        self.post(
            "/v1/sign-in",
            None,
            json!({ "email": email, "password": PASSWORD }),
        )
        .await
    }

    pub async fn sign_in_with_device(&self, email: &str, device: &str) -> Resp {
        self.post(
            "/v1/sign-in",
            None,
            json!({ "email": email, "password": PASSWORD, "trusted_device_token": device }),
        )
        .await
    }

    /// Signs in a user without 2FA; returns the session token.
    pub async fn session(&self, email: &str) -> String {
        let r = self.sign_in(email).await;
        assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
        r.body["session_token"].as_str().unwrap().to_string()
    }

    /// Sets up SMS on `phone` for a signed-in session; returns the recovery
    /// codes.
    pub async fn enroll_sms(&self, token: &str, phone: &str) -> Vec<String> {
        let r = self
            .post(
                "/v1/two-factor/sms/setup",
                Some(token),
                json!({"phone": phone, "password": PASSWORD}),
            )
            .await;
        r.ok();
        let code = self.last_sms_code(phone);
        let r = self
            .post(
                "/v1/two-factor/sms/confirm",
                Some(token),
                json!({"code": code}),
            )
            .await;
        assert_eq!(r.ok()["method"], "sms");
        r.body["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect()
    }

    /// Sets up the authenticator for a signed-in session; returns the base32
    /// key and the recovery codes.
    pub async fn enroll_authenticator(&self, token: &str) -> (String, Vec<String>) {
        let setup = self
            .post(
                "/v1/two-factor/authenticator/setup",
                Some(token),
                json!({ "password": PASSWORD }),
            )
            .await;
        let secret = setup.ok()["secret_base32"].as_str().unwrap().to_string();
        let code = oathtool(&secret, self.now().await);
        let done = self
            .post(
                "/v1/two-factor/authenticator/confirm",
                Some(token),
                json!({ "code": code }),
            )
            .await;
        let codes = done.ok()["recovery_codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap().to_string())
            .collect();
        // The confirm used this step; later codes need the next one.
        self.advance(30).await;
        (secret, codes)
    }

    /// Signs in a user with the authenticator; returns the session token.
    pub async fn sign_in_totp(&self, email: &str, secret: &str) -> String {
        let r = self.sign_in(email).await;
        assert_eq!(r.ok()["status"], "two_factor_required", "{}", r.body);
        let challenge = r.body["challenge_token"].as_str().unwrap().to_string();
        let code = oathtool(secret, self.now().await);
        let done = self
            .post(
                "/v1/sign-in/challenge",
                None,
                json!({ "challenge_token": challenge, "code": code }),
            )
            .await;
        let token = done.ok()["session_token"].as_str().unwrap().to_string();
        self.advance(30).await;
        token
    }

    /// The newest SMS code sent to `phone`, read from the outbox.
    pub fn last_sms_code(&self, phone: &str) -> String {
        let body: String = self
            .conn()
            .query_row(
                "SELECT body FROM outbox WHERE kind = 'sms' AND recipient = ?1 ORDER BY id DESC LIMIT 1",
                account_api::params![phone],
                |r| r.get(0),
            )
            .unwrap();
        sms_code_in(&body)
    }

    pub fn count(&self, sql: &str) -> i64 {
        self.conn()
            .query_row(sql, account_api::params![], |r| r.get(0))
            .unwrap()
    }
}

pub fn sms_code_in(body: &str) -> String {
    let at = body.find("code: ").expect("an SMS with a code") + 6;
    body[at..at + 6].to_string()
}

/// The TOTP code for `unix_time`, computed by oathtool: an implementation
/// nobody on this project wrote.
pub fn oathtool(secret_b32: &str, unix_time: i64) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "-N", &format!("@{unix_time}"), secret_b32])
        .output()
        .expect("oathtool is installed (make setup)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A 6-digit code that matches no step within ±10 of `unix_time` for this
/// secret (so it is wrong, and not even a skew hint).
pub fn wrong_code_for(secret_b32: &str, unix_time: i64) -> String {
    let out = Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            "-N",
            &format!("@{}", unix_time - 300),
            "-w",
            "20",
            secret_b32,
        ])
        .output()
        .unwrap();
    let near: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| l.trim().to_string())
        .collect();
    assert_eq!(near.len(), 21);
    (0..1_000_000u32)
        .map(|n| format!("{:06}", (n * 7919 + 123_457) % 1_000_000))
        .find(|c| !near.contains(c))
        .unwrap()
}

/// A `dialer-2fa-api serve` process of its own (the real binary, not the
/// in-process router), on a database file that may already be in use by
/// another server: what two servers on one SQLite file need. Derefs to a
/// [`Server`] whose requests go to this process; the process is killed on
/// drop. Its stdout lines and stderr are kept for tests that read them.
pub struct ServeProcess {
    server: Server,
    child: std::process::Child,
    stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    stderr: std::sync::Arc<std::sync::Mutex<String>>,
    stderr_reader: Option<std::thread::JoinHandle<()>>,
}

impl std::ops::Deref for ServeProcess {
    type Target = Server;
    fn deref(&self) -> &Server {
        &self.server
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// The stdout lines so far.
    pub fn stdout_lines(&self) -> Vec<String> {
        self.stdout.lock().unwrap().clone()
    }

    /// Ends the process and returns everything it wrote to stderr.
    pub fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(reader) = self.stderr_reader.take() {
            let _ = reader.join();
        }
        let text = self.stderr.lock().unwrap().clone();
        text
    }
}

impl Server {
    /// Starts `dialer-2fa-api serve` on `db_path` (created and migrated if
    /// new, shared if another server already uses it), with clock control
    /// and the cheap test Argon2, and waits for its `listening on` line.
    pub async fn serve_process(db_path: &std::path::Path) -> ServeProcess {
        Server::serve_process_with(db_path, &[], &[]).await
    }

    /// [`Server::serve_process`] with more flags and environment variables.
    pub async fn serve_process_with(
        db_path: &std::path::Path,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> ServeProcess {
        use std::io::{BufRead, Read};
        let (store, _) = store_for(db_path);
        let mut command = Command::new(env!("CARGO_BIN_EXE_dialer-2fa-api"));
        command.arg("serve");
        match &store {
            Store::Sqlite(path) => {
                command.arg("--db").arg(path);
                command.env_remove("DIALER_2FA_SERVER_KEY");
            }
            Store::Postgres { url, .. } => {
                command.args(["--database-url", url]);
                let keyed = args.contains(&"--server-key-file")
                    || envs.iter().any(|(k, _)| *k == "DIALER_2FA_SERVER_KEY");
                if keyed {
                    command.env_remove("DIALER_2FA_SERVER_KEY");
                } else {
                    command.env("DIALER_2FA_SERVER_KEY", TEST_KEY_B64);
                }
            }
        }
        let mut child = command
            .args(["--listen", "127.0.0.1:0", "--allow-clock-control"])
            .args(["--sms-sender", "outbox"])
            .args(["--argon2-memory-kib", &TEST_COST.memory_kib.to_string()])
            .args(["--argon2-iterations", &TEST_COST.iterations.to_string()])
            .args(args)
            .env_remove("DIALER_2FA_MANDATORY_2FA")
            .env_remove("DIALER_2FA_SEED_DEMO")
            .env_remove("DIALER_2FA_SERVER_KEY_FILE")
            .env_remove("DIALER_2FA_DB")
            .env_remove("DIALER_2FA_DATABASE_URL")
            .env_remove("RUST_LOG")
            .envs(envs.iter().copied())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start dialer-2fa-api serve");
        let stdout = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let stderr = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let sink = stderr.clone();
        // Reads stderr to the end, so the server never blocks on a full pipe.
        let stderr_reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = lines.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads stdout to the end, so the server never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                kept.lock().unwrap().push(line.clone());
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let waited = tokio::task::spawn_blocking(move || {
            rx.recv_timeout(std::time::Duration::from_secs(60))
        })
        .await
        .unwrap();
        let Ok(base) = waited else {
            let _ = child.kill();
            let _ = child.wait();
            let _ = stderr_reader.join();
            panic!(
                "dialer-2fa-api serve printed no `listening on http://IP:PORT`; stderr: {}",
                stderr.lock().unwrap()
            );
        };
        ServeProcess {
            server: Server {
                base,
                db_path: db_path.to_path_buf(),
                store,
                client: reqwest::Client::new(),
                // The database belongs to the caller; this dir stays empty.
                _dir: tempfile::tempdir().unwrap(),
                task: tokio::spawn(async {}),
            },
            child,
            stdout: lines,
            stderr,
            stderr_reader: Some(stderr_reader),
        }
    }
}

/// The codes a TOTP secret has at the steps before, at and after
/// `unix_time`, the window the server accepts, computed by oathtool.
pub fn totp_window(secret_b32: &str, unix_time: i64) -> Vec<String> {
    [-30, 0, 30]
        .iter()
        .map(|offset| oathtool(secret_b32, unix_time + offset))
        .collect()
}

/// A 6-digit code that is none of `right` (the codes that would be
/// accepted: an SMS code just sent, or [`totp_window`]), so a test of "a
/// wrong code is refused" cannot pass by luck. `"000000"` is right about
/// three times in a million runs.
pub fn certainly_wrong_code<S: AsRef<str>>(right: &[S]) -> String {
    (0..1_000_000u32)
        .map(|n| format!("{n:06}"))
        .find(|candidate| right.iter().all(|r| r.as_ref() != candidate))
        .expect("a few codes cannot cover a million")
}

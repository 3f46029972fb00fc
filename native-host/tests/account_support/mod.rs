//! Harness for the account tests: the real API binary on loopback with its
//! own SQLite file, and the real host binary over real pipes, each host with
//! its own XDG dirs and its own keyring service name.
//!
//! Each profile (one computer's host install) gets a Secret Service of its
//! own: a private `dbus-daemon` and an unlocked `gnome-keyring-daemon`
//! whose keyrings live in the profile's temp dir. So the tests neither
//! depend on nor touch the keyring of the session they run in (a
//! `~/.local/share/keyrings/login.keyring` made earlier with another
//! password would leave that one locked), and can lock theirs at will.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use dialer_2fa_host::secrets::SecretKind;
use serde_json::{json, Value};

pub const HOST_BIN: &str = env!("CARGO_BIN_EXE_dialer-2fa-host");
pub const ORIGIN: &str = "chrome-extension://bhhbdjkcpnaokfnpkidgmommfgopepmo/";
pub const PASSWORD: &str = "correct horse battery staple";

/// `target/debug/dialer-2fa-api`, beside the test binary's `deps/`.
pub fn api_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/debug");
    let bin = dir.join(format!("dialer-2fa-api{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --workspace` first (`make test` builds it)",
        bin.display()
    );
    bin
}

/// A Secret Service of one's own: a private session bus with an unlocked
/// gnome-keyring on it. Both daemons are killed on drop.
pub struct PrivateKeyring {
    pub address: String,
    dbus: Child,
    keyring: Child,
}

impl PrivateKeyring {
    /// Starts both daemons with their state under `dir`.
    pub fn start(dir: &Path) -> PrivateKeyring {
        let data = dir.join("keyring-data");
        let runtime = dir.join("keyring-run");
        std::fs::create_dir_all(&data).unwrap();
        std::fs::create_dir_all(&runtime).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let mut dbus = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .env("XDG_DATA_HOME", &data)
            // No service files: nothing may be auto-started on this bus (an
            // early call would otherwise start a second, locked keyring
            // daemon that takes the name from ours).
            .env("XDG_DATA_DIRS", &data)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon (Debian: apt-get install dbus)");
        let mut address = String::new();
        BufReader::new(dbus.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        let address = address.trim().to_string();
        assert!(!address.is_empty(), "dbus-daemon printed no address");
        let mut keyring = Command::new("gnome-keyring-daemon")
            .args(["--unlock", "--components=secrets", "--foreground"])
            .env("DBUS_SESSION_BUS_ADDRESS", &address)
            .env("XDG_DATA_HOME", &data)
            .env("XDG_RUNTIME_DIR", &runtime)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start gnome-keyring-daemon (Debian: apt-get install gnome-keyring)");
        // The password of the new login keyring, then EOF.
        keyring
            .stdin
            .take()
            .unwrap()
            .write_all(b"dialer-2fa-account-tests")
            .unwrap();
        let this = PrivateKeyring {
            address,
            dbus,
            keyring,
        };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !this.secrets_on_bus() || this.login_locked() != Some(false) {
            assert!(
                Instant::now() < deadline,
                "the private gnome-keyring did not come up unlocked"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        this
    }

    fn gdbus(&self) -> Command {
        let mut cmd = Command::new("gdbus");
        cmd.env("DBUS_SESSION_BUS_ADDRESS", &self.address).args([
            "call",
            "--session",
            "--dest",
            "org.freedesktop.secrets",
        ]);
        cmd
    }

    /// Whether the keyring owns its name on the bus yet (asked of the bus
    /// itself, which never starts anything).
    fn secrets_on_bus(&self) -> bool {
        Command::new("gdbus")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args([
                "call",
                "--session",
                "--dest",
                "org.freedesktop.DBus",
                "--object-path",
                "/org/freedesktop/DBus",
                "--method",
                "org.freedesktop.DBus.NameHasOwner",
                "org.freedesktop.secrets",
            ])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).contains("true"))
            .unwrap_or(false)
    }

    /// Whether the login collection is locked; `None` while nobody answers.
    fn login_locked(&self) -> Option<bool> {
        let out = self
            .gdbus()
            .args([
                "--object-path",
                "/org/freedesktop/secrets/collection/login",
                "--method",
                "org.freedesktop.DBus.Properties.Get",
                "org.freedesktop.Secret.Collection",
                "Locked",
            ])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout);
        if text.contains("true") {
            Some(true)
        } else if text.contains("false") {
            Some(false)
        } else {
            None
        }
    }

    /// Locks the login collection, as a screen lock would.
    pub fn lock(&self) {
        let out = self
            .gdbus()
            .args([
                "--object-path",
                "/org/freedesktop/secrets",
                "--method",
                "org.freedesktop.Secret.Service.Lock",
                "['/org/freedesktop/secrets/collection/login']",
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(self.login_locked(), Some(true));
    }

    /// A secret as the zbus Secret Service store files it (attributes
    /// `service` and `username`), read with secret-tool.
    pub fn lookup(&self, service: &str, user: &str) -> Option<String> {
        let out = Command::new("secret-tool")
            .env("DBUS_SESSION_BUS_ADDRESS", &self.address)
            .args(["lookup", "service", service, "username", user])
            .output()
            .expect("secret-tool (Debian: apt-get install libsecret-tools)");
        let value = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        (out.status.success() && !value.is_empty()).then_some(value)
    }
}

impl Drop for PrivateKeyring {
    fn drop(&mut self) {
        let _ = self.keyring.kill();
        let _ = self.keyring.wait();
        let _ = self.dbus.kill();
        let _ = self.dbus.wait();
    }
}

/// A running account API; killed on drop.
pub struct Api {
    pub dir: tempfile::TempDir,
    pub db: PathBuf,
    pub url: String,
    child: Option<Child>,
}

impl Api {
    pub fn start() -> Api {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("api.sqlite");
        let mut child = Command::new(api_bin())
            .args(["serve", "--db"])
            .arg(&db)
            .args(["--listen", "127.0.0.1:0", "--allow-clock-control"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dialer-2fa-api");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("listening on ") {
                    let _ = tx.send(url.trim().to_string());
                }
            }
        });
        let url = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the API printed `listening on http://IP:PORT`");
        Api {
            dir,
            db,
            url,
            child: Some(child),
        }
    }

    /// Runs an admin subcommand on this API's database.
    pub fn admin(&self, args: &[&str]) -> String {
        let out = Command::new(api_bin())
            .args(args)
            .arg("--db")
            .arg(&self.db)
            .env("DIALER_2FA_PASSWORD", PASSWORD)
            .output()
            .expect("run dialer-2fa-api admin command");
        assert!(
            out.status.success(),
            "dialer-2fa-api {:?} failed: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn create_user(&self, email: &str) {
        self.admin(&["user", "create", "--email", email]);
    }

    /// The code of the newest text message to `phone`.
    pub fn last_sms_code(&self, phone: &str) -> String {
        let out = self.admin(&["outbox", "--json"]);
        let code = out
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["recipient"] == phone)
            .filter_map(|m| {
                let body = m["body"].as_str()?.to_string();
                let at = body.find("code: ")?;
                let digits: String = body[at + 6..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                (digits.len() == 6).then_some(digits)
            })
            .next();
        code.unwrap_or_else(|| panic!("no SMS code to {} in the outbox:\n{}", phone, out))
    }

    /// `POST /v1/test/clock`; returns the server's new now.
    pub fn advance_clock(&self, seconds: i64) -> i64 {
        let v = self.http_ok(
            "POST",
            "/v1/test/clock",
            &json!({ "advance_seconds": seconds }),
        );
        v["now"].as_i64().unwrap()
    }

    /// `GET /v1/health`, asked by the test itself: what the real API says
    /// about itself, to compare with what the host reports.
    pub fn health(&self) -> Value {
        self.http_ok("GET", "/v1/health", &Value::Null)
    }

    /// One request on a fresh connection; the JSON body of a 200.
    fn http_ok(&self, method: &str, path: &str, body: &Value) -> Value {
        let addr = self.url.trim_start_matches("http://");
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let mut stream = TcpStream::connect(addr).unwrap();
        write!(
            stream,
            "{} {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\nConnection: close\r\n\r\n{}",
            method,
            path,
            addr,
            body.len(),
            body
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        assert!(response.starts_with("HTTP/1.1 200"), "{}", response);
        let json_start = response.find("\r\n\r\n").unwrap() + 4;
        serde_json::from_str(response[json_start..].trim()).unwrap()
    }

    /// Freezes the API process (SIGSTOP): its socket still accepts
    /// connections (the kernel completes them), but nothing answers. This
    /// is a hung server, made of the real one.
    pub fn pause(&self) {
        self.signal(libc::SIGSTOP);
    }

    /// Lets a paused API run again (SIGCONT).
    pub fn resume(&self) {
        self.signal(libc::SIGCONT);
    }

    fn signal(&self, signal: libc::c_int) {
        let child = self.child.as_ref().expect("the API is running");
        let pid = libc::pid_t::try_from(child.id()).expect("a pid fits pid_t");
        // SAFETY: kill(2) with the pid of our own child, which we have not
        // reaped (`child` is still held), so the pid cannot have been reused.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(
            rc,
            0,
            "kill({}, {}): {}",
            pid,
            signal,
            std::io::Error::last_os_error()
        );
    }

    /// The audit log, read with the API's own CLI (`dialer-2fa-api audit`).
    pub fn audit_rows(&self) -> Vec<Value> {
        self.admin(&["audit", "--json"])
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("`audit --json` prints JSON lines"))
            .collect()
    }

    /// One number from the API's database, opened read-only, so the test
    /// sees the API's state without going through the API.
    pub fn count(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open_with_flags(
            &self.db,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("open the API database read-only");
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Api {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The TOTP code at a Unix time, computed by oathtool (not our code).
pub fn totp_at(secret_base32: &str, unix: i64) -> String {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret_base32, "-N"])
        .arg(format!("@{}", unix))
        .output()
        .expect("oathtool is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A 6-digit code that is certainly not accepted at `unix`: none of the
/// codes oathtool gives for the steps before, at and after it (the window
/// the API accepts). "000000" is right about 3 times in a million.
pub fn certainly_wrong_code(secret_base32: &str, unix: i64) -> String {
    let accepted: Vec<String> = [-30, 0, 30]
        .iter()
        .map(|offset| totp_at(secret_base32, unix + offset))
        .collect();
    (0..1_000_000u32)
        .map(|n| format!("{:06}", n))
        .find(|candidate| !accepted.contains(candidate))
        .expect("three codes cannot cover a million")
}

/// One computer's host setup: XDG dirs, keyring service, installed config.
pub struct Profile {
    pub service: String,
    pub extra_env: Vec<(String, String)>,
    pub keyring: PrivateKeyring,
    // Last, so the daemons are gone before their files.
    pub dir: tempfile::TempDir,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl Profile {
    pub fn new(api_url: &str) -> Profile {
        let dir = tempfile::tempdir().unwrap();
        let service = format!(
            "dialer-2fa-test-{}-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
        );
        let keyring = PrivateKeyring::start(dir.path());
        let profile = Profile {
            service,
            extra_env: Vec::new(),
            keyring,
            dir,
        };
        let out = profile
            .command()
            .args(["install", "--browser", "chromium", "--user-data-dir"])
            .arg(profile.dir.path().join("chromium"))
            .args(["--api-url", api_url])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        profile
    }

    pub fn config_home(&self) -> PathBuf {
        self.dir.path().join("config")
    }
    pub fn data_home(&self) -> PathBuf {
        self.dir.path().join("data")
    }
    pub fn state_home(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(HOST_BIN);
        cmd.env("XDG_CONFIG_HOME", self.config_home())
            .env("XDG_DATA_HOME", self.data_home())
            .env("XDG_STATE_HOME", self.state_home())
            .env("DIALER_2FA_KEYRING_SERVICE", &self.service)
            .env("DBUS_SESSION_BUS_ADDRESS", &self.keyring.address)
            .env("DIALER_2FA_LOG", "trace")
            .env_remove("DIALER_2FA_HOST_CONFIG");
        for (k, v) in &self.extra_env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Starts a host as the browser does, and says `hello`.
    pub fn host(&self) -> Host {
        self.host_with_hello(json!({"type": "hello", "protocol": 1}))
    }

    /// Starts a host and opens the port with this `hello` (which must
    /// succeed).
    pub fn host_with_hello(&self, hello: Value) -> Host {
        let mut cmd = self.command();
        cmd.arg(ORIGIN).arg("--parent-window=0");
        spawn_host(cmd, hello)
    }

    /// The host config `install` wrote for this profile.
    pub fn host_config(&self) -> Value {
        let path = self.config_home().join("dialer-2fa/host.json");
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
    }

    /// What the keyring holds for this profile (read by the test, so it
    /// can grep for the values).
    pub fn secret(&self, kind: SecretKind) -> Option<String> {
        self.keyring.lookup(&self.service, kind.user())
    }

    /// Every file the host wrote under the profile's XDG dirs.
    pub fn host_files(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        for root in [self.config_home(), self.data_home(), self.state_home()] {
            walk(&root, &mut out);
        }
        out
    }

    /// Asserts that no file the host wrote contains `needle`.
    pub fn assert_absent_from_files(&self, needle: &str, what: &str) {
        assert!(needle.len() >= 16, "{} is too short to grep for", what);
        let files = self.host_files();
        assert!(!files.is_empty());
        for file in files {
            let bytes = std::fs::read(&file).unwrap_or_default();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle.as_bytes()),
                "the {} was found in {}",
                what,
                file.display()
            );
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.state_home().join("dialer-2fa/host.log")).unwrap_or_default()
    }
}

/// Spawns a host command on pipes and says `hello`.
fn spawn_host(mut cmd: Command, hello: Value) -> Host {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the host");
    let stdin = child.stdin.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || loop {
        let mut len = [0u8; 4];
        if stdout.read_exact(&mut len).is_err() {
            break;
        }
        let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
        if stdout.read_exact(&mut body).is_err() {
            break;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&body) else {
            break;
        };
        if tx.send(v).is_err() {
            break;
        }
    });
    let mut host = Host {
        child,
        stdin: Some(stdin),
        replies: rx,
        next_id: 1,
    };
    let hello = host.call(hello);
    assert_eq!(hello["ok"], true, "{}", hello);
    host
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// A host process over real pipes.
pub struct Host {
    child: Child,
    stdin: Option<ChildStdin>,
    replies: mpsc::Receiver<Value>,
    next_id: u64,
}

impl Host {
    /// Sends a request and waits (up to 20 s) for its reply, skipping events.
    pub fn call(&mut self, mut request: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        request["id"] = json!(id);
        let bytes = serde_json::to_vec(&request).unwrap();
        let stdin = self.stdin.as_mut().unwrap();
        stdin
            .write_all(&(bytes.len() as u32).to_ne_bytes())
            .unwrap();
        stdin.write_all(&bytes).unwrap();
        stdin.flush().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let reply = self
                .replies
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no reply to {} within 20 s", request["type"]));
            if reply["id"] == json!(id) {
                return reply;
            }
        }
    }

    /// The result of a request that must succeed.
    pub fn ok(&mut self, request: Value) -> Value {
        let kind = request["type"].clone();
        let reply = self.call(request);
        assert_eq!(reply["ok"], true, "{} failed: {}", kind, reply);
        reply["result"].clone()
    }

    /// The error code of a request that must fail.
    pub fn err(&mut self, request: Value) -> (String, String) {
        let kind = request["type"].clone();
        let reply = self.call(request);
        assert_eq!(reply["ok"], false, "{} should have failed: {}", kind, reply);
        let message = reply["error"]["message"].as_str().unwrap_or("").to_string();
        assert!(!message.is_empty(), "error without a message: {}", reply);
        (
            reply["error"]["code"].as_str().unwrap_or("").to_string(),
            message,
        )
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // Closing stdin is how the browser ends a port.
        self.stdin.take();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

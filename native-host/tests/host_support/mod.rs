//! Harness for the host's own tests: the real built binary over real pipes,
//! each run with its own XDG dirs, config and keyring service name, so tests
//! run in parallel without touching each other or a real installation.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use serde_json::{json, Value};

pub const HOST_BIN: &str = env!("CARGO_BIN_EXE_dialer-2fa-host");
pub const ORIGIN: &str = "chrome-extension://bhhbdjkcpnaokfnpkidgmommfgopepmo/";

/// Upper bound on waiting for one reply: a hung host fails the test instead
/// of hanging it. Not a performance assertion; longer than the host's own
/// keyring wait (30 s), so the host's error shows rather than this one.
pub const REPLY_WAIT: Duration = Duration::from_secs(60);

/// A keyring service name no other test (or installation) uses.
pub fn unique_service(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "dialer-2fa-test-{}-{}-{}",
        tag,
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Fails (never skips) with the fix when no Secret Service can answer.
pub fn require_keyring() {
    if let Err(e) = dialer_2fa_host::secrets::Secrets::connect_service("dialer-2fa-test-probe")
        .and_then(|s| s.probe())
    {
        panic!(
            "these tests need an unlocked Secret Service ({}): run them with `make test`, or \
             dbus-run-session -- sh -c 'echo -n pw | gnome-keyring-daemon --unlock \
             --components=secrets >/dev/null; cargo test -p dialer-2fa-host'",
            e
        );
    }
}

/// A private set of the dirs the host reads: config, data, state, home.
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    pub service: String,
}

impl Sandbox {
    pub fn new(tag: &str) -> Sandbox {
        let dir = tempfile::tempdir().expect("tempdir");
        for sub in ["home", "config", "data", "state"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        Sandbox {
            dir,
            service: unique_service(tag),
        }
    }

    pub fn path(&self, sub: &str) -> PathBuf {
        self.dir.path().join(sub)
    }

    pub fn config_file(&self) -> PathBuf {
        self.path("host.json")
    }

    /// Writes the host's config with this API address.
    pub fn write_config(&self, api_url: &str) {
        let config = json!({"api_url": api_url, "allowed_origins": [ORIGIN]});
        std::fs::write(self.config_file(), config.to_string()).unwrap();
    }

    pub fn vault_file(&self) -> PathBuf {
        self.path("data").join("dialer-2fa").join("vault.sqlite3")
    }

    pub fn log_file(&self) -> PathBuf {
        self.path("state").join("dialer-2fa").join("host.log")
    }

    /// The host binary with this sandbox's environment.
    pub fn command(&self) -> Command {
        self.command_for(Path::new(HOST_BIN))
    }

    /// Any program with this sandbox's environment (a wrapper of the host).
    pub fn command_for(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_STATE_HOME", self.path("state"))
            .env("DIALER_2FA_HOST_CONFIG", self.config_file())
            .env("DIALER_2FA_KEYRING_SERVICE", &self.service)
            .env_remove("DIALER_2FA_LOG");
        cmd
    }

    /// Starts the host as Chrome does, with extra args after the origin.
    pub fn spawn_host(&self, extra: &[&str]) -> Host {
        let mut cmd = self.command();
        cmd.arg(ORIGIN).args(extra);
        Host::spawn(cmd)
    }

    /// Removes the keyring entries this sandbox's hosts may have made.
    pub fn forget_secrets(&self) {
        if let Ok(secrets) = dialer_2fa_host::secrets::Secrets::connect_service(&self.service) {
            for kind in [
                dialer_2fa_host::secrets::SecretKind::VaultKey,
                dialer_2fa_host::secrets::SecretKind::SessionToken,
                dialer_2fa_host::secrets::SecretKind::TrustedDeviceToken,
            ] {
                let _ = secrets.delete(kind);
            }
        }
    }
}

/// Encodes one native messaging frame.
pub fn frame(json: &[u8]) -> Vec<u8> {
    let mut out = (json.len() as u32).to_ne_bytes().to_vec();
    out.extend_from_slice(json);
    out
}

/// A running host, its stdin in the test's hand and its stdout read by a
/// thread into a queue of decoded messages.
pub struct Host {
    pub child: Child,
    stdin: Option<ChildStdin>,
    replies: mpsc::Receiver<Value>,
    stderr: mpsc::Receiver<String>,
}

impl Host {
    pub fn spawn(mut cmd: Command) -> Host {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start dialer-2fa-host");
        let stdin = child.stdin.take();
        let mut stdout = child.stdout.take().unwrap();
        let mut stderr_pipe = child.stderr.take().unwrap();
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut len = [0u8; 4];
            if stdout.read_exact(&mut len).is_err() {
                return;
            }
            let mut body = vec![0u8; u32::from_ne_bytes(len) as usize];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            let value: Value = serde_json::from_slice(&body).expect("host wrote a non-JSON frame");
            if tx.send(value).is_err() {
                return;
            }
        });
        let (etx, stderr) = mpsc::channel();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr_pipe.read_to_string(&mut text);
            let _ = etx.send(text);
        });
        Host {
            child,
            stdin,
            replies,
            stderr,
        }
    }

    pub fn write_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin already closed");
        stdin.write_all(bytes).expect("write to host");
        stdin.flush().unwrap();
    }

    pub fn send(&mut self, message: &Value) {
        self.write_raw(&frame(message.to_string().as_bytes()));
    }

    /// The next message the host wrote (reply or event).
    pub fn recv(&mut self) -> Value {
        self.replies
            .recv_timeout(REPLY_WAIT)
            .unwrap_or_else(|_| panic!("no message from the host within {:?}", REPLY_WAIT))
    }

    /// The next reply, skipping events.
    pub fn reply(&mut self) -> Value {
        loop {
            let message = self.recv();
            if message.get("event").is_none() {
                return message;
            }
        }
    }

    /// Sends a request and waits for its reply.
    pub fn call(&mut self, message: Value) -> Value {
        let id = message["id"].clone();
        self.send(&message);
        let reply = self.reply();
        assert_eq!(reply["id"], id, "reply to another request: {}", reply);
        reply
    }

    pub fn hello(&mut self) {
        let reply = self.call(json!({"id": 0, "type": "hello", "protocol": 1}));
        assert_eq!(reply["ok"], true, "hello failed: {}", reply);
    }

    /// Closes stdin (the browser disconnecting the port).
    pub fn close(&mut self) {
        self.stdin.take();
    }

    /// Closes stdin and waits for the exit; returns the status and stderr.
    pub fn finish(mut self) -> (ExitStatus, String) {
        self.close();
        let status = wait_bounded(&mut self.child);
        let stderr = self.stderr.recv_timeout(REPLY_WAIT).unwrap_or_default();
        (status, stderr)
    }

    /// Every message still to come until the host closes stdout.
    pub fn drain(&mut self) -> Vec<Value> {
        let mut out = Vec::new();
        while let Ok(message) = self.replies.recv_timeout(REPLY_WAIT) {
            out.push(message);
        }
        out
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Waits for a child, failing the test if it has not exited within
/// [`REPLY_WAIT`].
pub fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = std::time::Instant::now() + REPLY_WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait for host") {
            return status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the host did not exit within {:?}", REPLY_WAIT);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// An address on loopback where nothing listens.
pub fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{}", addr)
}

/// Whether `needle` occurs in the file's bytes (a missing file has nothing).
pub fn file_contains(path: &Path, needle: &[u8]) -> bool {
    std::fs::read(path)
        .map(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
        .unwrap_or(false)
}

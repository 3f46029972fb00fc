//! The host trusts the operating system's certificate store (rustls with
//! native roots), so an API behind a company's own CA works once that CA is
//! in the store. A test CA and a server certificate made with the `openssl`
//! command, served by `openssl s_server` on loopback; the store is pointed
//! at the CA with `SSL_CERT_FILE`, which the native-roots loader reads as
//! the system's bundle, as Debian's `update-ca-certificates` would write it.

mod host_support;

use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use host_support::Sandbox;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA, and a certificate it signed for 127.0.0.1 and localhost.
fn make_certificates(dir: &Path) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec!["req", "-x509"];
    ca.extend(ec);
    ca.extend([
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=dialer-2fa test CA",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req"];
    csr.extend(ec);
    csr.extend([
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

/// `openssl s_server` answering `GET /v1/health` like the account API.
struct TlsApi {
    child: Child,
    url: String,
}

impl TlsApi {
    fn start(dir: &Path) -> TlsApi {
        let www = dir.join("www");
        std::fs::create_dir_all(www.join("v1")).unwrap();
        let body = r#"{"status":"ok","version":"tls-test"}"#;
        // -HTTP serves each file as the whole response, status line included.
        std::fs::write(
            www.join("v1/health"),
            format!(
                "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
                body.len(),
                body
            ),
        )
        .unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("openssl")
            .args(["s_server", "-quiet", "-HTTP", "-accept"])
            .arg(format!("127.0.0.1:{}", port))
            .arg("-cert")
            .arg(dir.join("server.pem"))
            .arg("-key")
            .arg(dir.join("server.key"))
            .current_dir(&www)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("openssl s_server");
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "openssl s_server did not listen"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        TlsApi {
            child,
            url: format!("https://127.0.0.1:{}", port),
        }
    }
}

impl Drop for TlsApi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `doctor`'s account API section, with the certificate store given.
fn doctor_api_line(sandbox: &Sandbox, ca_bundle: Option<&Path>) -> String {
    let mut cmd = sandbox.command();
    cmd.args(["doctor", "--browser", "chromium"])
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR");
    if let Some(bundle) = ca_bundle {
        cmd.env("SSL_CERT_FILE", bundle);
    }
    let out = cmd.output().expect("run doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let section = stdout
        .split("account API:")
        .nth(1)
        .unwrap_or_else(|| panic!("no account API section: {}", stdout));
    section.lines().nth(1).unwrap_or("").trim().to_string()
}

#[test]
fn an_api_behind_a_ca_in_the_system_store_is_trusted_and_one_outside_it_is_not() {
    let sandbox = Sandbox::new("tls");
    let dir = sandbox.path("tls");
    std::fs::create_dir_all(&dir).unwrap();
    make_certificates(&dir);
    let api = TlsApi::start(&dir);
    sandbox.write_config(&api.url);

    let trusted = doctor_api_line(&sandbox, Some(&dir.join("ca.pem")));
    assert!(
        trusted.starts_with(&format!("{} answers: version tls-test,", api.url)),
        "with the test CA in the store: {}",
        trusted
    );

    // The CA is not in Debian's own store: the same server is refused.
    let untrusted = doctor_api_line(&sandbox, None);
    assert!(untrusted.starts_with("PROBLEM:"), "{}", untrusted);
    // In words a support person can act on.
    assert!(
        untrusted.contains("presented a certificate this computer does not trust")
            && untrusted.contains("update-ca-certificates"),
        "{}",
        untrusted
    );
}

//! Issue 13: the host trusts the operating system's certificate store, so an
//! operator's own CA works. The real API behind Caddy (deploy/Caddyfile) at
//! `https://localhost:PORT`, with a certificate signed by a CA the test
//! makes; the host is given that CA the way the OS store is (`SSL_CERT_FILE`,
//! which rustls-native-certs reads instead of the system bundle). The same
//! host without it refuses the certificate and says why.
//!
//! Needs `caddy` (the pinned one `make setup` installs and `scripts/env.sh`
//! puts on PATH) and `openssl`; fails without them.

mod account_support;
mod host_support;

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use account_support::Api;
use host_support::Sandbox;

const CADDYFILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../deploy/Caddyfile");

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed (make setup)");
    assert!(
        out.status.success(),
        "openssl {:?}: {}",
        args,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a `localhost` certificate it signed: (ca.pem, cert.pem, key.pem).
fn make_ca_and_certificate(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
    let mut ca = vec!["req", "-x509", "-nodes", "-days", "2"];
    ca.extend(ec);
    ca.extend([
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-subj",
        "/CN=dialer-2fa test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    openssl(dir, &ca);
    let mut csr = vec!["req", "-new", "-nodes"];
    csr.extend(ec);
    csr.extend([
        "-keyout",
        "key.pem",
        "-out",
        "cert.csr",
        "-subj",
        "/CN=localhost",
    ]);
    openssl(dir, &csr);
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=critical,CA:FALSE\n\
         extendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "cert.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
            "-out",
            "cert.pem",
        ],
    );
    (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    )
}

/// Caddy in front of `api`; killed on drop.
struct Proxy {
    child: Child,
    origin: String,
}

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proxy {
    fn start(api: &Api, dir: &Path, cert: &Path, key: &Path) -> Proxy {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let upstream = api.url.trim_start_matches("http://").to_string();
        let home = dir.join("caddy");
        let mut child = Command::new("caddy")
            .args(["run", "--adapter", "caddyfile", "--config", CADDYFILE])
            .env("DIALER_2FA_PUBLIC_HOST", "localhost")
            .env("DIALER_2FA_PUBLIC_PORT", port.to_string())
            .env("DIALER_2FA_TLS_CERT", cert)
            .env("DIALER_2FA_TLS_KEY", key)
            .env("DIALER_2FA_UPSTREAM_A", &upstream)
            .env("DIALER_2FA_UPSTREAM_B", &upstream)
            .env("DIALER_2FA_CADDY_ADMIN", "off")
            .env("HOME", &home)
            .env("XDG_DATA_HOME", home.join("data"))
            .env("XDG_CONFIG_HOME", home.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("caddy is on PATH (make setup installs the pinned one; scripts/env.sh adds it to PATH)");
        let end = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("caddy exited with {status} before listening on {port}");
            }
            assert!(Instant::now() < end, "caddy did not listen on {port}");
            std::thread::sleep(Duration::from_millis(50));
        }
        Proxy {
            child,
            origin: format!("https://localhost:{port}"),
        }
    }
}

/// `doctor`'s "account API" section, as a person reads it.
fn doctor_api_section(sandbox: &Sandbox, ca: Option<&Path>) -> String {
    let mut cmd = sandbox.command();
    cmd.arg("doctor")
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        // No keyring is needed for this: fail its check at once.
        .env("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus");
    if let Some(ca) = ca {
        cmd.env("SSL_CERT_FILE", ca);
    }
    let out = cmd.output().expect("run the host's doctor");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let section = stdout
        .split("account API:")
        .nth(1)
        .unwrap_or_else(|| panic!("no account API section in: {stdout}"));
    // The lines after the section's own heading line.
    section
        .split_once('\n')
        .map_or("", |(_, rest)| rest)
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The certificate's end of validity as doctor writes it, from openssl.
fn expiry_of(cert: &Path) -> String {
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-enddate", "-dateopt", "iso_8601", "-in"])
        .arg(cert)
        .output()
        .expect("openssl");
    // notAfter=2026-12-01 10:00:00Z
    let text = String::from_utf8_lossy(&out.stdout);
    let date = text.trim().trim_start_matches("notAfter=");
    format!("{} UTC", &date[..16])
}

#[test]
fn the_host_trusts_a_ca_from_the_os_store_and_refuses_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = make_ca_and_certificate(dir.path());
    let api = Api::start();
    let proxy = Proxy::start(&api, dir.path(), &cert, &key);
    let sandbox = Sandbox::new("tls-roots");
    sandbox.write_config(&proxy.origin);

    // The chain as Caddy presents it (the leaf alone), the same in both runs.
    let chain = format!(
        "certificate chain, as the server presents it:\n\
         1. subject: CN=localhost; issued by: CN=dialer-2fa test CA; expires: {}",
        expiry_of(&cert)
    );

    let trusted = doctor_api_section(&sandbox, Some(&ca));
    assert!(
        trusted.starts_with(&format!("{} answers: version ", proxy.origin)),
        "with the CA in SSL_CERT_FILE: {trusted}"
    );
    assert!(
        trusted.contains(&chain),
        "the chain, with the CA: {trusted}"
    );
    assert!(
        trusted.contains("\ntrusted by this computer's certificate store: yes"),
        "{trusted}"
    );
    assert!(!trusted.contains("PROBLEM"), "{trusted}");

    let untrusted = doctor_api_section(&sandbox, None);
    let first = untrusted.lines().next().unwrap_or("");
    assert!(
        first.starts_with(&format!("PROBLEM: The account API at {}", proxy.origin))
            && first.contains("does not trust")
            && first.contains("UnknownIssuer")
            && first.contains("update-ca-certificates"),
        "without the CA: {untrusted}"
    );
    // Issue 13: doctor shows the chain, says the store does not trust it,
    // and says what to do about the issuer it names.
    assert!(
        untrusted.contains(&chain),
        "the chain, without the CA: {untrusted}"
    );
    assert!(
        untrusted.contains(
            "\nPROBLEM: trusted by this computer's certificate store: no (invalid peer certificate: UnknownIssuer)"
        ),
        "{untrusted}"
    );
    assert!(
        untrusted.contains(
            "\nfix: if \"CN=dialer-2fa test CA\" is your organisation's certificate authority"
        ) && untrusted.contains("/usr/local/share/ca-certificates/"),
        "{untrusted}"
    );
}

#[test]
fn doctor_says_a_plain_http_api_has_no_certificate_chain() {
    let sandbox = Sandbox::new("tls-none");
    sandbox.write_config("http://127.0.0.1:9");
    let section = doctor_api_section(&sandbox, None);
    assert!(
        section.contains(
            "certificate chain: none (plain http: for development on this computer only)"
        ),
        "{section}"
    );
}

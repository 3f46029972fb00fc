//! The certificate chain an `https` account API presents, for `doctor`.
//!
//! When the host's requests fail with "does not trust", a support person
//! needs to know which certificate the server sent, who issued it, when it
//! expires, and whether this computer's store trusts it: that tells a
//! missing company CA from an expired certificate or a proxy in the way.
//! The chain is read with a TLS handshake that records what the server sends
//! and accepts it (nothing is sent over that connection), then judged with
//! the same check the API client makes: rustls's WebPKI verifier over the
//! operating system's store (rustls-native-certs).

use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the chain could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    #[error("{0} is not an address with a host name")]
    Address(String),
    #[error("could not connect to {0}: {1}")]
    Connect(String, String),
    #[error("the TLS handshake with {0} failed: {1}")]
    Handshake(String, String),
    #[error("{0} sent no certificate")]
    Empty(String),
}

/// One certificate as a person reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub expires: String,
    pub expired: bool,
}

/// The chain as presented, and the store's verdict on it.
#[derive(Debug)]
pub struct ChainReport {
    pub certificates: Vec<CertSummary>,
    /// `Ok` when the OS store trusts it for this host name, else rustls's reason.
    pub trusted: Result<(), String>,
}

/// Records the chain the server presents and accepts it; the handshake's
/// signatures are still checked, so what is recorded is what the server holds
/// the key of.
#[derive(Debug)]
struct Recorder {
    seen: Mutex<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| rustls::Error::General("recorder poisoned".into()))?;
        seen.push(end_entity.clone().into_owned());
        seen.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Connects to `url`'s host and port, reads the chain and judges it.
pub async fn inspect(url: &reqwest::Url) -> Result<ChainReport, ChainError> {
    let host = url
        .host_str()
        .ok_or_else(|| ChainError::Address(url.to_string()))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_string();
    let port = url.port_or_known_default().unwrap_or(443);
    let name =
        ServerName::try_from(host.clone()).map_err(|_| ChainError::Address(url.to_string()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let recorder = Arc::new(Recorder {
        seen: Mutex::new(Vec::new()),
        provider: provider.clone(),
    });
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| ChainError::Handshake(host.clone(), e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recorder.clone())
        .with_no_client_auth();
    let address = format!("{}:{}", host, port);
    let tcp = tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(&address))
        .await
        .map_err(|_| ChainError::Connect(address.clone(), "timed out".into()))?
        .map_err(|e| ChainError::Connect(address.clone(), e.to_string()))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    tokio::time::timeout(CONNECT_TIMEOUT, connector.connect(name.clone(), tcp))
        .await
        .map_err(|_| ChainError::Handshake(address.clone(), "timed out".into()))?
        .map_err(|e| ChainError::Handshake(address.clone(), e.to_string()))?;
    let chain = recorder
        .seen
        .lock()
        .map(|seen| seen.clone())
        .unwrap_or_default();
    let (leaf, rest) = chain
        .split_first()
        .ok_or_else(|| ChainError::Empty(address.clone()))?;
    let trusted = trusted_by_os_store(provider, leaf, rest, &name);
    Ok(ChainReport {
        certificates: chain.iter().map(|c| summary(c)).collect(),
        trusted,
    })
}

/// The API client's own verdict: WebPKI over the OS store's roots.
fn trusted_by_os_store(
    provider: Arc<CryptoProvider>,
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    name: &ServerName<'_>,
) -> Result<(), String> {
    let mut roots = RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if roots.is_empty() {
        return Err("this computer's certificate store is empty or unreadable".into());
    }
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|e| e.to_string())?;
    verifier
        .verify_server_cert(leaf, intermediates, name, &[], UnixTime::now())
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Subject, issuer and end of validity; a certificate that does not parse
/// says so in place of its subject.
fn summary(der: &CertificateDer<'_>) -> CertSummary {
    match x509_parser::parse_x509_certificate(der.as_ref()) {
        Ok((_, cert)) => {
            let not_after = cert.validity().not_after;
            let t = not_after.to_datetime();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0);
            CertSummary {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                expires: format!(
                    "{:04}-{:02}-{:02} {:02}:{:02} UTC",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute()
                ),
                expired: not_after.timestamp() < now,
            }
        }
        Err(e) => CertSummary {
            subject: format!("(a certificate that could not be read: {})", e),
            issuer: String::new(),
            expires: String::new(),
            expired: false,
        },
    }
}

/// `doctor`'s lines for the chain, each indented two spaces, with a fix line
/// when the store does not trust it.
pub fn describe(report: &ChainReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  certificate chain, as the server presents it:");
    for (i, c) in report.certificates.iter().enumerate() {
        let _ = writeln!(
            out,
            "    {}. subject: {}; issued by: {}; expires: {}{}",
            i + 1,
            c.subject,
            c.issuer,
            c.expires,
            if c.expired { " (EXPIRED)" } else { "" }
        );
    }
    match &report.trusted {
        Ok(()) => {
            let _ = writeln!(out, "  trusted by this computer's certificate store: yes");
        }
        Err(why) => {
            let _ = writeln!(
                out,
                "  PROBLEM: trusted by this computer's certificate store: no ({})",
                why
            );
            let _ = writeln!(out, "    fix: {}", untrusted_fix(report));
        }
    }
    out
}

/// What to do about a chain the store does not trust, by its cause.
fn untrusted_fix(report: &ChainReport) -> String {
    if report.certificates.iter().any(|c| c.expired) {
        return "a certificate of the server has expired: the API's operator must renew it \
                (nothing to change on this computer)"
            .to_string();
    }
    let top = report
        .certificates
        .last()
        .map(|c| c.issuer.clone())
        .unwrap_or_default();
    format!(
        "if \"{}\" is your organisation's certificate authority, add its certificate to the \
         system's store (Debian and Ubuntu: copy it as a .crt file to \
         /usr/local/share/ca-certificates/ and run `sudo update-ca-certificates`), then run \
         doctor again; if you do not know that issuer, do not add it and ask the API's \
         operator which certificate the server should present",
        top
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert(subject: &str, issuer: &str, expired: bool) -> CertSummary {
        CertSummary {
            subject: subject.into(),
            issuer: issuer.into(),
            expires: "2027-01-02 03:04 UTC".into(),
            expired,
        }
    }

    #[test]
    fn a_trusted_chain_is_listed_without_a_fix() {
        let text = describe(&ChainReport {
            certificates: vec![cert("CN=api.example.com", "CN=Example CA", false)],
            trusted: Ok(()),
        });
        assert!(text.contains(
            "1. subject: CN=api.example.com; issued by: CN=Example CA; expires: 2027-01-02 03:04 UTC\n"
        ));
        assert!(text.contains("trusted by this computer's certificate store: yes"));
        assert!(!text.contains("fix:"));
    }

    #[test]
    fn an_unknown_issuer_gets_the_store_fix_and_an_expired_one_the_operator_fix() {
        let unknown = describe(&ChainReport {
            certificates: vec![cert("CN=api", "CN=Corp CA", false)],
            trusted: Err("invalid peer certificate: UnknownIssuer".into()),
        });
        assert!(unknown.contains("PROBLEM: trusted by this computer's certificate store: no (invalid peer certificate: UnknownIssuer)"));
        assert!(unknown.contains("fix: if \"CN=Corp CA\" is your organisation's"));
        assert!(unknown.contains("update-ca-certificates"));

        let expired = describe(&ChainReport {
            certificates: vec![cert("CN=api", "CN=Corp CA", true)],
            trusted: Err("invalid peer certificate: Expired".into()),
        });
        assert!(expired.contains("(EXPIRED)"));
        assert!(expired.contains("fix: a certificate of the server has expired"));
        assert!(!expired.contains("update-ca-certificates"));
    }
}

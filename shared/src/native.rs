//! The native messaging protocol between the extension and the host.
//!
//! Chrome frames each message as a 32-bit length in native byte order followed
//! by UTF-8 JSON. On top of that: requests carry an `id` and a `type`; replies
//! echo the `id` with `ok` and either `result` or `error`; events are
//! host-initiated and carry `event` instead of `id`.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::error::{ErrorBody, ErrorCode};

/// Bumped when a change would break an older peer.
pub const PROTOCOL_VERSION: u32 = 1;

/// Chrome refuses host-to-browser messages of 1 MiB or more; the host holds
/// incoming frames to the same bound so a hostile or broken peer cannot make
/// it allocate without limit.
pub const MAX_FRAME_BYTES: usize = 1024 * 1024;

/// A request as it travels: `{"id": 7, "type": "hello", ...params}`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct RequestFrame {
    pub id: u64,
    #[serde(flatten)]
    pub request: Request,
}

/// Everything the extension can ask the host.
///
/// `Debug` prints only the request's type: parameters carry passwords,
/// codes and recovery codes, and a stray `{:?}` in a log must not leak them.
#[derive(Serialize, Deserialize, Clone, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Request {
    /// Must be the first request on a port; answered with [`HelloResult`].
    Hello {
        /// The protocol version the extension speaks.
        protocol: u32,
    },
    /// The API's health as the host sees it; answered with [`StatusResult`].
    Status,
    /// Keep an account's recovery codes on this computer, encrypted, replacing
    /// any kept before for that account (regenerating replaces all of them);
    /// answered with [`VaultSaveResult`].
    VaultSave {
        /// The sign-in name the codes belong to.
        account: String,
        codes: Vec<String>,
    },
    /// What the vault holds, without the codes themselves; answered with
    /// [`VaultListResult`].
    VaultList {
        /// Only this account's codes; all accounts when absent.
        #[serde(default)]
        account: Option<String>,
    },
    /// One code in clear, for the person to read or copy; answered with
    /// [`VaultRevealResult`]. (`code_id`, because `id` is the frame's.)
    VaultReveal { code_id: u64 },
    /// Forget an account's codes on this computer; answered with
    /// [`VaultDeleteResult`].
    VaultDelete { account: String },
    /// The web app's "Keep them in the dialer-2fa extension": keep these
    /// codes for the signed-in person, replacing the kept ones, but only if
    /// they are that person's current batch at the API; answered with
    /// [`VaultSaveResult`], or `recovery_codes_not_current`.
    VaultKeepCurrent { codes: Vec<String> },
    /// Sign-in and the person's 2FA, proxied to the account API; the wire
    /// shape stays flat (`{"type": "sign_in", ...}`). Must stay the last
    /// variant: serde tries it when no `type` above matched.
    #[serde(untagged)]
    Account(crate::two_factor::AccountRequest),
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Request({})", self.kind())
    }
}

impl Request {
    /// The `type` string, for logs that must not contain parameters.
    pub fn kind(&self) -> &'static str {
        match self {
            Request::Hello { .. } => "hello",
            Request::Status => "status",
            Request::VaultSave { .. } => "vault_save",
            Request::VaultList { .. } => "vault_list",
            Request::VaultReveal { .. } => "vault_reveal",
            Request::VaultDelete { .. } => "vault_delete",
            Request::VaultKeepCurrent { .. } => "vault_keep_current",
            Request::Account(request) => request.kind(),
        }
    }
}

/// `hello`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct HelloResult {
    pub protocol: u32,
    pub host_version: String,
}

/// `status`'s answer: the host's view of the account API.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct StatusResult {
    pub host_version: String,
    pub api: ApiReachability,
}

/// Whether the API answered the host's health check, and how fast.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct ApiReachability {
    /// The address from the host's own config.
    pub url: String,
    pub reachable: bool,
    /// The API's version when it answered.
    pub version: Option<String>,
    /// Round trip of the health check in milliseconds, when it answered.
    pub latency_ms: Option<u64>,
    /// Why it did not answer, written for a person.
    pub problem: Option<String>,
}

/// `vault_save`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct VaultSaveResult {
    pub account: String,
    /// How many codes are now kept for the account.
    pub saved: u32,
}

/// One kept recovery code, described without revealing it.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct VaultEntry {
    /// What `vault_reveal` takes.
    pub id: u64,
    pub account: String,
    /// 1-based place in the list the API issued.
    pub position: u32,
    /// Whether the API has seen this code used; a used code no longer works.
    pub used: bool,
    /// When it was saved, in seconds since the Unix epoch.
    pub saved_at: u64,
    /// New codes made elsewhere (the web app, another computer) replaced
    /// this code's batch: it no longer works, used or not.
    #[serde(default)]
    pub replaced: bool,
}

/// `vault_list`'s answer, ordered by account, then position.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct VaultListResult {
    pub entries: Vec<VaultEntry>,
}

/// `vault_reveal`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct VaultRevealResult {
    pub id: u64,
    pub account: String,
    pub code: String,
}

/// `vault_delete`'s answer.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq, Eq)]
pub struct VaultDeleteResult {
    /// How many codes were forgotten (0 when none were kept).
    pub deleted: u32,
}

/// A reply: `{"id": 7, "ok": true, "result": {...}}` or
/// `{"id": 7, "ok": false, "error": {"code": "...", "message": "..."}}`.
///
/// `id` is absent only when the request was so broken that its id could not
/// be read (an oversized or non-JSON frame).
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Reply {
    pub id: Option<u64>,
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorBody>,
}

impl Reply {
    pub fn success<T: Serialize>(id: u64, result: &T) -> Reply {
        match serde_json::to_value(result) {
            Ok(value) => Reply {
                id: Some(id),
                ok: true,
                result: Some(value),
                error: None,
            },
            Err(e) => Reply::failure(
                Some(id),
                ErrorBody::new(
                    ErrorCode::Internal,
                    format!("could not encode the reply: {}", e),
                ),
            ),
        }
    }

    pub fn failure(id: Option<u64>, error: ErrorBody) -> Reply {
        Reply {
            id,
            ok: false,
            result: None,
            error: Some(error),
        }
    }

    /// The typed result, or the error the peer sent.
    pub fn into_result<T: DeserializeOwned>(self) -> Result<T, ErrorBody> {
        if !self.ok {
            return Err(self.error.unwrap_or_else(|| {
                ErrorBody::new(ErrorCode::Unknown, "the host failed without saying why")
            }));
        }
        let value = self.result.unwrap_or(serde_json::Value::Null);
        serde_json::from_value(value).map_err(|e| {
            ErrorBody::new(
                ErrorCode::InvalidRequest,
                format!("the host's reply had an unexpected shape: {}", e),
            )
        })
    }
}

/// Host-initiated messages, sent without an `id`.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    /// The host's view of the API or of the session changed.
    StatusChanged { status: StatusResult },
}

/// Anything the host writes to the extension.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(untagged)]
pub enum HostMessage {
    Reply(Reply),
    Event(Event),
}

/// Encodes one frame: native-endian length, then the JSON bytes.
pub fn encode_frame(json: &[u8]) -> Result<Vec<u8>, ErrorBody> {
    if json.len() >= MAX_FRAME_BYTES {
        return Err(ErrorBody::new(
            ErrorCode::FrameTooLarge,
            format!(
                "message of {} bytes is over the {} byte limit",
                json.len(),
                MAX_FRAME_BYTES
            ),
        ));
    }
    let mut out = Vec::with_capacity(4 + json.len());
    out.extend_from_slice(&(json.len() as u32).to_ne_bytes());
    out.extend_from_slice(json);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_has_flat_wire_shape() {
        let frame = RequestFrame {
            id: 7,
            request: Request::Hello { protocol: 1 },
        };
        let json = serde_json::to_value(&frame).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"id": 7, "type": "hello", "protocol": 1})
        );
        let back: RequestFrame = serde_json::from_value(json).unwrap();
        assert_eq!(back, frame);
    }

    #[test]
    fn unit_request_round_trips() {
        let back: RequestFrame = serde_json::from_str(r#"{"id":3,"type":"status"}"#).unwrap();
        assert_eq!(back.request, Request::Status);
    }

    #[test]
    fn unknown_type_is_an_error() {
        assert!(serde_json::from_str::<RequestFrame>(r#"{"id":3,"type":"launch"}"#).is_err());
    }

    #[test]
    fn vault_requests_have_flat_wire_shape() {
        let back: RequestFrame = serde_json::from_str(
            r#"{"id":4,"type":"vault_save","account":"a@example.com","codes":["x1","x2"]}"#,
        )
        .unwrap();
        assert_eq!(
            back.request,
            Request::VaultSave {
                account: "a@example.com".into(),
                codes: vec!["x1".into(), "x2".into()],
            }
        );
        let reveal: RequestFrame =
            serde_json::from_str(r#"{"id":6,"type":"vault_reveal","code_id":2}"#).unwrap();
        assert_eq!(
            (reveal.id, reveal.request),
            (6, Request::VaultReveal { code_id: 2 })
        );
        let list: RequestFrame = serde_json::from_str(r#"{"id":5,"type":"vault_list"}"#).unwrap();
        assert_eq!(list.request, Request::VaultList { account: None });
        assert_eq!(list.request.kind(), "vault_list");
    }

    #[test]
    fn failure_reply_shape() {
        let reply = Reply::failure(Some(7), ErrorBody::new(ErrorCode::InvalidCode, "wrong"));
        assert_eq!(
            serde_json::to_value(&reply).unwrap(),
            serde_json::json!({"id": 7, "ok": false, "error": {"code": "invalid_code", "message": "wrong"}})
        );
        assert_eq!(
            reply.into_result::<HelloResult>().unwrap_err().code,
            ErrorCode::InvalidCode
        );
    }

    #[test]
    fn event_is_not_mistaken_for_reply() {
        let event = Event::StatusChanged {
            status: StatusResult {
                host_version: "1".into(),
                api: ApiReachability {
                    url: "u".into(),
                    reachable: false,
                    version: None,
                    latency_ms: None,
                    problem: Some("down".into()),
                },
            },
        };
        let json = serde_json::to_string(&event).unwrap();
        assert!(json.starts_with(r#"{"event":"status_changed""#));
        match serde_json::from_str::<HostMessage>(&json).unwrap() {
            HostMessage::Event(e) => assert_eq!(e, event),
            other => panic!("decoded as {:?}", other),
        }
    }

    #[test]
    fn frame_has_native_length_prefix() {
        let frame = encode_frame(b"{}").unwrap();
        assert_eq!(&frame[..4], &2u32.to_ne_bytes());
        assert_eq!(&frame[4..], b"{}");
    }

    #[test]
    fn oversized_frame_is_refused() {
        let big = vec![b' '; MAX_FRAME_BYTES];
        assert_eq!(
            encode_frame(&big).unwrap_err().code,
            ErrorCode::FrameTooLarge
        );
    }
}

//! SMS codes (R3) and the senders that deliver them.
//!
//! A code is 6 random digits, stored as a keyed MAC, valid 10 minutes, used
//! once, dead after 3 wrong tries; a new one can be asked for after a 30 s
//! cooldown, and asking supersedes the previous one. Every send is also
//! recorded in `sms_sends`, which the hourly caps ([`SmsCaps`]) count and
//! which no user action deletes. Delivery is separate from issuing so no
//! network call happens while the database is locked.

use crate::params;
use crate::store::Value;
use crate::store::{Conn, OptionalExtension, StoreResult, ToValue};
use rand::Rng;
use serde::Deserialize;
use subtle::ConstantTimeEq;

use crate::config::{SmsCaps, SmsConfig, TwilioConfig};
use crate::error::{ApiError, ApiResult};
use crate::phone;
use crate::secret_box::SecretBox;
use crate::store::db::Db;

pub const CODE_TTL: i64 = shared::rules::SMS_CODE_LIFETIME_SECS;
pub const RESEND_COOLDOWN: i64 = shared::rules::SMS_RESEND_COOLDOWN_SECS;
pub const MAX_ATTEMPTS: i64 = 3;
/// The window of the caps.
pub const CAP_WINDOW: i64 = 3600;
// A code outlives its resend cooldown, so a code inside the cooldown has
// never expired (`issue` relies on it when it reuses one).
const _: () = assert!(CODE_TTL > RESEND_COOLDOWN);

/// Why a code was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    SignIn,
    Setup,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::SignIn => "sign_in",
            Purpose::Setup => "setup",
        }
    }
}

/// How a request that wants a code treats the one sent moments ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reuse {
    /// Setup and an explicit resend: inside the cooldown, refuse.
    Cooldown,
    /// A new sign-in: a code sent moments ago that still works is kept (the
    /// new challenge accepts it, nothing is sent); one that was used up or
    /// killed by wrong tries is replaced at once, since the password was
    /// just proven and the caps still bound how often.
    SignIn,
}

/// A code that must now be delivered.
pub struct IssuedCode {
    pub phone: String,
    /// `None` when a still-valid code from under the cooldown was kept.
    pub code: Option<zeroize::Zeroizing<String>>,
    pub expires_at: i64,
    pub resend_available_at: i64,
    /// The `sms_codes` and `sms_sends` rows of a new code, to undo the code
    /// (not the count) when delivery fails.
    rows: Option<(i64, i64)>,
}

/// Issues a new code, or keeps the live one, or refuses (cooldown, caps).
#[allow(clippy::too_many_arguments)]
pub fn issue(
    conn: &Conn,
    secrets: &SecretBox,
    caps: &SmsCaps,
    now: i64,
    user_id: i64,
    purpose: Purpose,
    phone: &str,
    reuse: Reuse,
) -> ApiResult<IssuedCode> {
    let last: Option<(i64, i64, i64, Option<i64>, String)> = conn
        .query_row(
            "SELECT created_at, expires_at, attempts, consumed_at, phone FROM sms_codes
             WHERE user_id = ?1 AND purpose = ?2 ORDER BY id DESC LIMIT 1",
            params![user_id, purpose.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    if let Some((created_at, expires_at, attempts, consumed_at, last_phone)) = last {
        let cooldown_end = created_at + RESEND_COOLDOWN;
        if now < cooldown_end {
            // Not expired: a code outlives its cooldown.
            let still_usable =
                consumed_at.is_none() && attempts < MAX_ATTEMPTS && last_phone == phone;
            match reuse {
                Reuse::SignIn if still_usable => {
                    return Ok(IssuedCode {
                        phone: phone.to_string(),
                        code: None,
                        expires_at,
                        resend_available_at: cooldown_end,
                        rows: None,
                    });
                }
                Reuse::SignIn => {}
                // Also across numbers: alternating numbers must not
                // multiply the messages one account can trigger.
                Reuse::Cooldown => {
                    return Err(ApiError::ResendCooldown {
                        retry_after: cooldown_end - now,
                    })
                }
            }
        }
    }
    let country = phone::country_code(phone);
    check_caps(conn, caps, now, user_id, phone, country)?;
    prune_send_records(conn, now)?;
    let send_id: i64 = conn.query_row(
        "INSERT INTO sms_sends (user_id, phone, country_code, purpose, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
        params![user_id, phone, country, purpose.as_str(), now],
        |r| r.get(0),
    )?;
    // Only the newest code counts: supersede the others.
    conn.execute(
        "UPDATE sms_codes SET consumed_at = ?1 WHERE user_id = ?2 AND purpose = ?3 AND consumed_at IS NULL",
        params![now, user_id, purpose.as_str()],
    )?;
    let code = zeroize::Zeroizing::new(format!(
        "{:06}",
        rand::rngs::OsRng.gen_range(0..1_000_000u32)
    ));
    let mac = secrets.mac(&mac_context(user_id, purpose), &code);
    let code_id: i64 = conn.query_row(
        "INSERT INTO sms_codes (user_id, purpose, phone, code_mac, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        params![user_id, purpose.as_str(), phone, mac, now, now + CODE_TTL],
        |r| r.get(0),
    )?;
    Ok(IssuedCode {
        phone: phone.to_string(),
        code: Some(code),
        expires_at: now + CODE_TTL,
        resend_available_at: now + RESEND_COOLDOWN,
        rows: Some((code_id, send_id)),
    })
}

/// Refuses a send that would go over any hourly cap, saying when the
/// oldest counted send leaves the window.
fn check_caps(
    conn: &Conn,
    caps: &SmsCaps,
    now: i64,
    user_id: i64,
    phone: &str,
    country: u16,
) -> ApiResult<()> {
    let checks: [(&str, Option<Value>, i64, &str); 4] = [
        (
            "user_id = ?2",
            Some(Value::Int(user_id)),
            caps.per_user,
            "you asked for too many text messages in the last hour",
        ),
        (
            "phone = ?2",
            Some(Value::Text(phone.to_string())),
            caps.per_number,
            "too many text messages went to this number in the last hour",
        ),
        (
            "country_code = ?2",
            Some(Value::Int(i64::from(country))),
            caps.per_country,
            "too many text messages went to this country in the last hour",
        ),
        (
            "1 = 1",
            None,
            caps.global,
            "the service sent its limit of text messages for this hour",
        ),
    ];
    let since = now - CAP_WINDOW;
    for (filter, value, cap, reason) in checks {
        let mut args = vec![Value::Int(since)];
        args.extend(value);
        let count: i64 = conn.query_row(
            &format!("SELECT COUNT(*) FROM sms_sends WHERE created_at > ?1 AND {filter}"),
            &args.iter().map(|a| a as &dyn ToValue).collect::<Vec<_>>(),
            |r| r.get(0),
        )?;
        if count < cap {
            continue;
        }
        // The send whose leaving the window brings the count under the cap.
        args.push(Value::Int(count - cap));
        let offset = args.len();
        let freed_by: Option<i64> = conn
            .query_row(
                &format!(
                    "SELECT created_at FROM sms_sends WHERE created_at > ?1 AND {filter}
                     ORDER BY created_at, id LIMIT 1 OFFSET ?{offset}"
                ),
                &args.iter().map(|a| a as &dyn ToValue).collect::<Vec<_>>(),
                |r| r.get(0),
            )
            .optional()?;
        let retry_after = freed_by
            .map(|at| at + CAP_WINDOW - now)
            .unwrap_or(CAP_WINDOW)
            .max(1);
        tracing::warn!(user_id, country, cap, reason, "sms cap reached");
        conn.after_commit(|| crate::telemetry::sms_refused("cap"));
        return Err(ApiError::SmsCapReached {
            message: format!(
                "{reason}; try again in {}",
                crate::error::wait_words(retry_after)
            ),
            retry_after,
        });
    }
    Ok(())
}

fn mac_context(user_id: i64, purpose: Purpose) -> String {
    format!("sms:{user_id}:{}", purpose.as_str())
}

/// Deletes the send records no cap counts any more (the caps look back one
/// window), so the table keeps nobody's number longer than the caps need it.
pub fn prune_send_records(conn: &Conn, now: i64) -> StoreResult<usize> {
    conn.execute(
        "DELETE FROM sms_sends WHERE created_at <= ?1",
        params![now - CAP_WINDOW],
    )
}

/// Checks a typed code against the newest pending one and uses it up.
/// Wrong tries are counted on the code even though the caller returns an
/// error (no transaction wraps this).
pub fn verify(
    conn: &Conn,
    secrets: &SecretBox,
    now: i64,
    user_id: i64,
    purpose: Purpose,
    typed: &str,
) -> ApiResult<String> {
    let row: Option<(i64, Vec<u8>, i64, i64, String)> = conn
        .query_row(
            "SELECT id, code_mac, expires_at, attempts, phone FROM sms_codes
             WHERE user_id = ?1 AND purpose = ?2 AND consumed_at IS NULL ORDER BY id DESC LIMIT 1",
            params![user_id, purpose.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let (id, mac, expires_at, attempts, phone) = row.ok_or_else(|| {
        ApiError::CodeExpired("no text message code is pending; ask for a new one".into())
    })?;
    if expires_at <= now {
        return Err(ApiError::CodeExpired(
            "this code has expired; ask for a new one".into(),
        ));
    }
    if attempts >= MAX_ATTEMPTS {
        return Err(ApiError::TooManyAttempts(
            "this code took too many wrong tries; ask for a new one".into(),
        ));
    }
    let typed: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    let candidate = secrets.mac(&mac_context(user_id, purpose), &typed);
    if !bool::from(candidate.ct_eq(&mac)) {
        let attempts = attempts + 1;
        conn.execute(
            "UPDATE sms_codes SET attempts = ?1 WHERE id = ?2",
            params![attempts, id],
        )?;
        if attempts >= MAX_ATTEMPTS {
            return Err(ApiError::TooManyAttempts(
                "wrong code, and that was the last try for it; ask for a new one".into(),
            ));
        }
        let left = MAX_ATTEMPTS - attempts;
        let tries = if left == 1 { "try" } else { "tries" };
        return Err(ApiError::InvalidCode(format!(
            "the code is wrong; {left} {tries} left for this code"
        )));
    }
    let used = conn.execute(
        "UPDATE sms_codes SET consumed_at = ?1 WHERE id = ?2 AND consumed_at IS NULL",
        params![now, id],
    )?;
    if used != 1 {
        return Err(ApiError::ReusedCode);
    }
    Ok(phone)
}

/// The text of a code message. No link, and a warning, because SMS codes
/// are phished by people pretending to be support.
pub fn message_text(code: &str) -> String {
    format!(
        "{} code: {code}. It expires in {} minutes. Never share it; we will never ask for it.",
        shared::product::PRODUCT,
        CODE_TTL / 60
    )
}

/// Delivers text messages.
#[derive(Debug, Clone)]
pub enum SmsSender {
    Outbox,
    Twilio(TwilioSender),
}

impl SmsSender {
    pub fn from_config(config: &SmsConfig) -> ApiResult<SmsSender> {
        Ok(match config {
            SmsConfig::Outbox => SmsSender::Outbox,
            SmsConfig::Twilio(t) => SmsSender::Twilio(TwilioSender::new(t.clone())?),
        })
    }

    /// Sends a freshly issued code; nothing when the code from under the
    /// cooldown was kept (it was sent already). When the send fails the code
    /// is dropped, so the next request sends a fresh one instead of keeping
    /// a code nobody received or waiting out its cooldown; the attempt stays
    /// counted by the caps.
    pub async fn deliver(
        &self,
        db: &Db,
        now: i64,
        user_id: i64,
        issued: &IssuedCode,
    ) -> ApiResult<()> {
        let Some(code) = &issued.code else {
            return Ok(());
        };
        let result = self
            .send(db, now, user_id, &issued.phone, message_text(code))
            .await;
        match &result {
            Ok(()) => crate::telemetry::sms_sent(),
            Err(_) => crate::telemetry::sms_refused("provider"),
        }
        if let (Err(_), Some((code_id, send_id))) = (&result, issued.rows) {
            db.call(move |conn| {
                conn.execute("DELETE FROM sms_codes WHERE id = ?1", params![code_id])?;
                conn.execute(
                    "UPDATE sms_sends SET failed_at = ?1 WHERE id = ?2",
                    params![now, send_id],
                )?;
                Ok(())
            })
            .await?;
        }
        result
    }

    pub async fn send(
        &self,
        db: &Db,
        now: i64,
        user_id: i64,
        to: &str,
        body: String,
    ) -> ApiResult<()> {
        match self {
            SmsSender::Outbox => {
                let to = to.to_string();
                db.call(move |conn| {
                    conn.execute(
                        "INSERT INTO outbox (created_at, kind, recipient, body, user_id) VALUES (?1, 'sms', ?2, ?3, ?4)",
                        params![now, to, body, user_id],
                    )?;
                    Ok(())
                })
                .await
            }
            SmsSender::Twilio(t) => {
                // Twilio's words go to the log, not to the client: they can
                // name the account, the sending number or internal codes.
                let sent = t.send(to, &body).await.map_err(|e| {
                    tracing::warn!(error = %e, user_id, "Twilio did not take the text message");
                    ApiError::SmsDeliveryFailed
                })?;
                tracing::info!(sid = %sent.sid, status = %sent.status, "sms handed to Twilio");
                Ok(())
            }
        }
    }
}

/// Twilio's Messages API: `POST /2010-04-01/Accounts/{Sid}/Messages.json`,
/// form-encoded `To`, `From`, `Body`, HTTP basic auth with the account SID
/// and auth token, answered `201` with the message resource.
#[derive(Debug, Clone)]
pub struct TwilioSender {
    config: TwilioConfig,
    client: reqwest::Client,
}

/// The fields of Twilio's message resource that we read.
#[derive(Debug, Clone, Deserialize)]
pub struct TwilioMessage {
    pub sid: String,
    pub status: String,
}

#[derive(Debug, Deserialize)]
struct TwilioErrorBody {
    code: Option<i64>,
    message: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum TwilioError {
    #[error("could not reach Twilio: {0}")]
    Transport(String),
    #[error("Twilio refused the message (HTTP {status}, code {code:?}): {message}")]
    Refused {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error("Twilio answered in an unexpected shape: {0}")]
    Shape(String),
}

impl TwilioSender {
    pub fn new(config: TwilioConfig) -> ApiResult<TwilioSender> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .map_err(|e| ApiError::internal(format!("http client: {e}")))?;
        Ok(TwilioSender { config, client })
    }

    pub async fn send(&self, to: &str, body: &str) -> Result<TwilioMessage, TwilioError> {
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.config.base_url.trim_end_matches('/'),
            self.config.account_sid
        );
        let response = self
            .client
            .post(url)
            .basic_auth(&self.config.account_sid, Some(&self.config.auth_token))
            .form(&[
                ("To", to),
                ("From", self.config.from.as_str()),
                ("Body", body),
            ])
            .send()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .await
            .map_err(|e| TwilioError::Transport(e.without_url().to_string()))?;
        if status.is_success() {
            serde_json::from_slice::<TwilioMessage>(&bytes)
                .map_err(|e| TwilioError::Shape(e.to_string()))
        } else {
            let parsed: Option<TwilioErrorBody> = serde_json::from_slice(&bytes).ok();
            Err(TwilioError::Refused {
                status: status.as_u16(),
                code: parsed.as_ref().and_then(|p| p.code),
                message: parsed
                    .and_then(|p| p.message)
                    .unwrap_or_else(|| "no message".into()),
            })
        }
    }
}

/// One outbox message as the CLI lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OutboxMessage {
    pub id: i64,
    pub created_at: i64,
    pub kind: String,
    pub recipient: String,
    pub body: String,
}

/// The outbox, oldest first.
pub fn outbox(conn: &Conn) -> StoreResult<Vec<OutboxMessage>> {
    conn.query_map(
        "SELECT id, created_at, kind, recipient, body FROM outbox ORDER BY id",
        params![],
        |r| {
            Ok(OutboxMessage {
                id: r.get(0)?,
                created_at: r.get(1)?,
                kind: r.get(2)?,
                recipient: r.get(3)?,
                body: r.get(4)?,
            })
        },
    )
}

//! Handoff (R7): a signed-in client mints a one-time code, valid about 60
//! seconds, that another client of the same user on the same computer
//! redeems for a session of its own, keeping the verification.
//!
//! This is how the web app and the extension share one verification
//! without moving a long-lived token through page scripts: the code is
//! short-lived, single-use, and worth nothing once redeemed. The server
//! cannot prove both clients share a computer; the short life and the
//! single use are what limit a leaked code.
//!
//! A handed-off session belongs to the family of the session that minted
//! the code and ends when that family ends (two weeks after the sign-in
//! that proved the password), so hopping through handoff never extends a
//! session's life.

use crate::params;
use crate::store::OptionalExtension;
use shared::api::{HandoffCode, HandoffRedeem, SessionGrant};

use crate::error::{ApiError, ApiResult};
use crate::rules::audit::{self, Event};
use crate::rules::session::{self, Caller};
use crate::rules::throttle::{self, Scope};
use crate::rules::trusted_device;
use crate::state::AppState;
use crate::tokens::{hash_token, new_token, TokenKind};

pub const HANDOFF_TTL: i64 = 60;

/// Mint a one-time handoff code for another client of this user.
pub async fn create(state: &AppState, caller: Caller) -> ApiResult<HandoffCode> {
    let now = state.clock.now();
    let code = new_token(TokenKind::Handoff);
    let hash = hash_token(&code);
    state
        .db
        .call(move |conn| {
            conn.execute(
                "INSERT INTO handoff_codes (user_id, code_hash, source_session_id, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![caller.user_id, hash, caller.session_id, now, now + HANDOFF_TTL],
            )?;
            Ok(())
        })
        .await?;
    crate::telemetry::handoff("created");
    Ok(HandoffCode {
        code,
        expires_at: now + HANDOFF_TTL,
    })
}

/// A live handoff code and what it passes on from the session that made it.
struct Minting {
    id: i64,
    user_id: i64,
    device_id: Option<i64>,
    family_expires_at: i64,
    /// The grace skip the minting session used, if any.
    skipped: Option<i64>,
}

/// Redeem a handoff code for a new session of the same user.
pub async fn redeem(
    state: &AppState,
    addr: String,
    body: HandoffRedeem,
) -> ApiResult<SessionGrant> {
    let now = state.clock.now();
    let grant = state
        .db
        .call(move |conn| {
            throttle::check(conn, Scope::Address, &addr, now)?;
            let tx = conn.transaction()?;
            let found: Option<Minting> = tx
                .query_row(
                    "SELECT h.id, h.user_id, s.trusted_device_id,
                            COALESCE(s.family_expires_at, s.expires_at), s.skipped_deadline_at
                     FROM handoff_codes h
                     JOIN sessions s ON s.id = h.source_session_id
                     WHERE h.code_hash = ?1 AND h.used_at IS NULL AND h.expires_at > ?2
                       AND s.revoked_at IS NULL AND s.expires_at > ?2",
                    params![hash_token(&body.code), now],
                    |r| {
                        Ok(Minting {
                            id: r.get(0)?,
                            user_id: r.get(1)?,
                            device_id: r.get(2)?,
                            family_expires_at: r.get(3)?,
                            skipped: r.get(4)?,
                        })
                    },
                )
                .optional()?;
            let Some(Minting {
                id,
                user_id,
                device_id,
                family_expires_at,
                skipped,
            }) = found
            else {
                drop(tx);
                throttle::failure(conn, Scope::Address, &addr, now)?;
                conn.after_commit(|| crate::telemetry::handoff("refused"));
                return Err(ApiError::InvalidCode(
                    "the handoff code is wrong, expired or already used".into(),
                ));
            };
            tx.execute(
                "UPDATE handoff_codes SET used_at = ?1 WHERE id = ?2 AND used_at IS NULL",
                params![now, id],
            )?;
            // The minting client's computer trust passes to this client as
            // its own device, ending when that trust ends.
            let (device_token, device_id) =
                match trusted_device::verified_until(&tx, now, device_id)? {
                    Some(until) => {
                        let (token, id, _) = trusted_device::issue_until(
                            &tx,
                            now,
                            user_id,
                            Some("signed in by handoff"),
                            until,
                        )?;
                        (Some(token), Some(id))
                    }
                    None => (None, None),
                };
            // The new session continues the minting session's family: it
            // ends when the first sign-in's two weeks end, never later.
            let session_token =
                session::create_in_family(&tx, now, user_id, None, device_id, family_expires_at)?;
            // A grace skip the minting session used carries over, as the
            // verification does: one skip per person, not per client.
            if skipped.is_some() {
                tx.execute(
                    "UPDATE sessions SET skipped_deadline_at = ?1 WHERE token_hash = ?2",
                    params![skipped, hash_token(&session_token)],
                )?;
            }
            let verified_until = trusted_device::verified_until(&tx, now, device_id)?;
            let email: String = tx.query_row(
                "SELECT email FROM users WHERE id = ?1",
                params![user_id],
                |r| r.get(0),
            )?;
            audit::record(
                &tx,
                now,
                Some(user_id),
                Event::HandoffRedeemed,
                "",
                Some(&addr),
            )?;
            tx.commit()?;
            Ok(SessionGrant {
                session_token,
                verified_until,
                email: Some(email),
                trusted_device_token: device_token,
            })
        })
        .await?;
    crate::telemetry::handoff("redeemed");
    Ok(grant)
}

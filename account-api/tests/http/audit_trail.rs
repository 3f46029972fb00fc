//! Issue 16: every change to a person's second factor, trusted devices or
//! enforcement leaves an audit row and a notification to the person in
//! the outbox, so someone else's change cannot go unnoticed. One person
//! goes through every kind of change; after each, exactly the expected
//! rows are new.

use serde_json::json;
use shared::api::AccountRole;

use crate::common::{oathtool, Server, PASSWORD};

const PHONE: &str = "+14155550177";

/// What the audit log and the outbox held for one user when last looked at.
struct Trail {
    user: i64,
    audit_seen: i64,
    outbox_seen: i64,
}

impl Trail {
    fn new(user: i64) -> Trail {
        Trail {
            user,
            audit_seen: 0,
            outbox_seen: 0,
        }
    }

    /// Asserts that since the last look the user got exactly `events`
    /// (in order) in the audit log, with their client address, and exactly
    /// one notification, containing `notice`.
    fn expect(&mut self, s: &Server, change: &str, events: &[&str], notice: &str) {
        let conn = s.conn();
        let rows: Vec<(i64, String, Option<String>)> = conn
            .query_map(
                "SELECT id, event, client_addr FROM audit_log WHERE user_id = ?1 AND id > ?2 ORDER BY id",
                account_api::params![self.user, self.audit_seen],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        let got: Vec<&str> = rows.iter().map(|(_, e, _)| e.as_str()).collect();
        assert_eq!(got, events, "{change}: audit rows");
        for (_, event, addr) in &rows {
            assert_eq!(addr.as_deref(), Some("127.0.0.1"), "{change}: {event}");
        }
        let notes: Vec<(i64, String, String)> = conn
            .query_map(
                "SELECT o.id, o.body, o.recipient FROM outbox o JOIN users u ON u.id = o.user_id
                 WHERE o.kind = 'notification' AND o.user_id = ?1 AND o.id > ?2 AND o.recipient = u.email
                 ORDER BY o.id",
                account_api::params![self.user, self.outbox_seen],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert_eq!(notes.len(), 1, "{change}: notifications {notes:?}");
        assert!(notes[0].1.contains(notice), "{change}: {:?}", notes[0].1);
        self.audit_seen = rows.last().map(|r| r.0).unwrap_or(self.audit_seen);
        self.outbox_seen = notes[0].0;
    }
}

async fn delete_device(s: &Server, session: &str, id: i64) -> u16 {
    s.send(
        reqwest::Method::DELETE,
        &format!("/v1/trusted-devices/{id}"),
        Some(session),
        None,
    )
    .await
    .status
    .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_change_leaves_an_audit_row_and_a_notification() {
    let s = Server::start().await;
    let user = s.user("ava@example.com");
    let account = s.account("Acme");
    s.member("Acme", "ava@example.com", AccountRole::Owner);
    let mut trail = Trail::new(user);
    let session = s.session("ava@example.com").await;

    // Set up (SMS).
    let codes = s.enroll_sms(&session, PHONE).await;
    trail.expect(
        &s,
        "setup",
        &["two_factor_enabled"],
        "turned on (text message)",
    );

    // Switch to the authenticator app.
    s.advance(31).await;
    let r = s
        .post(
            "/v1/two-factor/switch",
            Some(&session),
            json!({"method": "authenticator", "password": PASSWORD}),
        )
        .await;
    let secret = r.ok()["authenticator"]["secret_base32"]
        .as_str()
        .unwrap()
        .to_string();
    let r = s
        .post(
            "/v1/two-factor/authenticator/confirm",
            Some(&session),
            json!({"code": oathtool(&secret, s.now().await)}),
        )
        .await;
    assert_eq!(r.ok()["method"], "authenticator");
    trail.expect(
        &s,
        "switch to the app",
        &["method_switched"],
        "from text message to authenticator app",
    );

    // And back to SMS, on the kept number.
    s.advance(31).await;
    let r = s
        .post(
            "/v1/two-factor/switch",
            Some(&session),
            json!({"method": "sms", "password": PASSWORD}),
        )
        .await;
    r.ok();
    let r = s
        .post(
            "/v1/two-factor/sms/confirm",
            Some(&session),
            json!({"code": s.last_sms_code(PHONE)}),
        )
        .await;
    assert_eq!(r.ok()["method"], "sms");
    trail.expect(&s, "switch to SMS", &["method_switched"], "to text message");

    // Regenerate the recovery codes.
    let r = s
        .post(
            "/v1/two-factor/recovery-codes",
            Some(&session),
            json!({"password": PASSWORD}),
        )
        .await;
    let codes_now: Vec<String> = r.ok()["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    assert!(codes.iter().all(|c| !codes_now.contains(c)));
    trail.expect(
        &s,
        "regenerate",
        &["recovery_codes_regenerated"],
        "New recovery codes",
    );

    // Remember a device at a sign-in, then revoke it.
    s.advance(31).await;
    let r = s.sign_in("ava@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "code": s.last_sms_code(PHONE), "remember_device": true}),
        )
        .await;
    assert!(r.ok()["trusted_device_token"].as_str().is_some());
    trail.expect(
        &s,
        "remember a device",
        &["second_factor_verified", "trusted_device_added"],
        "remembered",
    );
    let devices = s.get("/v1/trusted-devices", Some(&session)).await;
    let id = devices.ok()["devices"][0]["id"].as_i64().unwrap();
    assert_eq!(delete_device(&s, &session, id).await, 204);
    trail.expect(
        &s,
        "revoke a device",
        &["trusted_device_revoked"],
        "removed",
    );

    // Enforcement on, then off.
    for on in [true, false] {
        let r = s
            .send(
                reqwest::Method::PUT,
                &format!("/v1/accounts/{account}/enforcement"),
                Some(&session),
                Some(json!({"enforce_2fa": on, "password": PASSWORD})),
            )
            .await;
        assert_eq!(r.ok()["enforce_2fa"], on);
        let state = if on { "on" } else { "off" };
        trail.expect(
            &s,
            &format!("enforcement {state}"),
            &["enforcement_changed"],
            &format!("\"Enforce 2FA\" {state}"),
        );
    }

    // A recovery code used at a sign-in.
    let r = s.sign_in("ava@example.com").await;
    let challenge = r.ok()["challenge_token"].as_str().unwrap().to_string();
    let r = s
        .post(
            "/v1/sign-in/challenge",
            None,
            json!({"challenge_token": challenge, "recovery_code": codes_now[0]}),
        )
        .await;
    r.ok();
    trail.expect(
        &s,
        "recovery code used",
        &["second_factor_verified", "recovery_code_used"],
        "recovery code was used",
    );

    // Disable.
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&session),
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    trail.expect(&s, "disable", &["two_factor_disabled"], "turned off");

    // Set up again (the app).
    s.enroll_authenticator(&session).await;
    trail.expect(
        &s,
        "setup",
        &["two_factor_enabled"],
        "turned on (authenticator app)",
    );

    // A password change.
    let r = s
        .post(
            "/v1/password",
            Some(&session),
            json!({"current_password": PASSWORD, "new_password": "another long password"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.body);
    trail.expect(
        &s,
        "password change",
        &["password_changed"],
        "password was changed",
    );
}

//! Scheduled 2FA (issue 14) under attack and at its edges: notice floods
//! through the owners' date, the admin's switch against an owner's date,
//! the skip route used for what is not a skip, owner routes asked by the
//! wrong owner, out-of-range values, and what the owners' page is told
//! (the grace days, who is asking).

use account_api::rules::rollout::MAX_NOTICES_PER_DAY;
use serde_json::json;
use shared::api::AccountRole;

use super::rollout::{account_with, janitor, kinds, notices, schedule, setup_required, skip};
use crate::common::{Server, PASSWORD};

const DAY: i64 = 86_400;

fn outbox_of(s: &Server, email: &str) -> i64 {
    s.count(&format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'notification' AND recipient = '{email}'"
    ))
}

/// Each date an owner picks is a new deadline with notices of its own,
/// and a correct password is not rate-limited: moving the date back and
/// forth, with janitor passes between (whose reminders are per deadline
/// too), must not flood a member's outbox. At most
/// `MAX_NOTICES_PER_DAY` in any 24 hours; a reminder held back goes out
/// once the day has passed.
#[tokio::test(flavor = "multi_thread")]
async fn an_owner_moving_the_date_back_and_forth_cannot_flood_the_members() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let now = s.now().await;
    let mut last = 0;
    for i in 0..13 {
        // Alternately 3 days ahead (inside the 7-day reminder's window)
        // and 40 days ahead, a minute further each time.
        last = if i % 2 == 0 {
            now + 3 * DAY + i * 60
        } else {
            now + 40 * DAY + i * 60
        };
        schedule(&s, &owner, id, Some(last), 0).await.ok();
        janitor(&s).await;
    }
    assert_eq!(outbox_of(&s, "mem@example.com"), MAX_NOTICES_PER_DAY);
    assert_eq!(
        kinds(&s, "mem@example.com").len() as i64,
        MAX_NOTICES_PER_DAY
    );
    // A day later the bound has room again: the reminder of the moment
    // for the date in force goes out, once.
    s.advance(DAY + 600).await;
    assert_eq!(janitor(&s).await, 1);
    assert_eq!(janitor(&s).await, 0);
    assert_eq!(outbox_of(&s, "mem@example.com"), MAX_NOTICES_PER_DAY + 1);
    assert_eq!(
        s.count(&format!(
            "SELECT COUNT(*) FROM deadline_notices WHERE deadline_at = {last} AND kind = 'days_7'"
        )),
        1
    );
}

/// `account enforce` (the admin's switch) means now: it must not bring an
/// owner's old date back, which would leave the members a deadline
/// instead of the requirement the admin asked for.
#[tokio::test(flavor = "multi_thread")]
async fn the_admins_enforce_on_is_immediate_even_after_an_owners_date() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + 10 * DAY;
    schedule(&s, &owner, id, Some(from), 3).await.ok();
    s.enforce("Acme", false);
    s.enforce("Acme", true);
    let (token, deadline) = setup_required(&s, "mem@example.com").await;
    assert!(deadline.is_null(), "required now, no date: {deadline}");
    skip(&s, &token).await.err(403, "grace_exhausted");
    let r = s
        .get(&format!("/v1/accounts/{id}/enforcement"), Some(&owner))
        .await;
    assert_eq!(r.ok()["enforce_2fa"], true);
    assert!(r.body.get("enforce_from").is_none(), "{}", r.body);
    assert_eq!(r.body["grace_days"], 0);
}

/// The settings pages draw the schedule from the accounts list; its grace
/// days come with the date, to owners only, on both the API and the web
/// app's cookie route.
#[tokio::test(flavor = "multi_thread")]
async fn the_accounts_list_gives_owners_the_schedules_grace_days() {
    use crate::web_client::Web;
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + 14 * DAY;
    schedule(&s, &owner, id, Some(from), 3).await.ok();
    let r = s.get("/v1/accounts", Some(&owner)).await;
    assert_eq!(r.ok()["accounts"][0]["enforce_from"], from);
    assert_eq!(r.body["accounts"][0]["grace_days"], 3);
    let member = s.session("mem@example.com").await;
    let r = s.get("/v1/accounts", Some(&member)).await;
    assert!(
        r.ok()["accounts"][0].get("grace_days").is_none(),
        "{}",
        r.body
    );
    assert!(r.body["accounts"][0].get("enforce_from").is_none());
    // The web app's owner tab reads the same list.
    let code = s.post("/v1/handoff", Some(&owner), json!({})).await.ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    let mut tab = Web::new(&s);
    tab.post("/web/handoff/redeem", json!({"code": code}))
        .await
        .ok();
    assert_eq!(
        tab.get("/web/accounts").await.ok()["accounts"][0]["grace_days"],
        3
    );
    // "Now" has no date and so no grace days to show.
    schedule(&s, &owner, id, None, 0).await.ok();
    let r = s.get("/v1/accounts", Some(&owner)).await;
    assert!(
        r.ok()["accounts"][0].get("grace_days").is_none(),
        "{}",
        r.body
    );
}

/// The owner asking is marked in the members list: reminders skip their
/// sender, so the page can say the owner sets up 2FA themselves.
#[tokio::test(flavor = "multi_thread")]
async fn the_members_list_marks_the_owner_asking_whom_reminders_skip() {
    let s = Server::start().await;
    let id = s.account("Acme");
    for (email, role) in [
        ("own@example.com", AccountRole::Owner),
        ("co@example.com", AccountRole::Owner),
        ("amy@example.com", AccountRole::Member),
    ] {
        s.user(email);
        s.member("Acme", email, role);
    }
    // Nobody has 2FA and nothing is enforced: every session is full.
    let own = s.session("own@example.com").await;
    let r = s
        .get(&format!("/v1/accounts/{id}/members"), Some(&own))
        .await;
    assert_eq!(
        r.ok()["members"],
        json!([
            {"email": "amy@example.com", "role": "member", "two_factor_enabled": false},
            {"email": "co@example.com", "role": "owner", "two_factor_enabled": false},
            {"email": "own@example.com", "role": "owner", "two_factor_enabled": false, "you": true},
        ])
    );
    let r = s
        .post(
            &format!("/v1/accounts/{id}/reminders"),
            Some(&own),
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["sent"], 2);
    assert_eq!(notices(&s, "own@example.com", "asks you"), 0);
    assert_eq!(notices(&s, "co@example.com", "asks you"), 1);
}

/// The skip route is for a setup-only session in a grace period, nothing
/// else: not for someone with 2FA, not once the schedule that required it
/// was cancelled after the sign-in, not for a requirement "now".
#[tokio::test(flavor = "multi_thread")]
async fn a_skip_is_refused_with_2fa_on_after_a_cancel_and_for_now() {
    let s = Server::start().await;
    let (id, owner) = account_with(
        &s,
        "Acme",
        "own@example.com",
        &["mem@example.com", "set@example.com"],
    )
    .await;
    let set = s.session("set@example.com").await;
    s.enroll_authenticator(&set).await;
    let from = s.now().await + DAY + 60;
    schedule(&s, &owner, id, Some(from), 2).await.ok();
    s.advance(DAY + 60).await;
    // The owner and a member with 2FA: nothing to skip.
    skip(&s, &owner).await.err(409, "conflict");
    skip(&s, &set).await.err(409, "conflict");
    // Signed in during the grace period, then the owner turns it off:
    // the skip finds nothing required, uses no skip, and the session is
    // a full one anyway.
    let (token, _) = setup_required(&s, "mem@example.com").await;
    s.send(
        reqwest::Method::PUT,
        &format!("/v1/accounts/{id}/enforcement"),
        Some(&owner),
        Some(json!({"enforce_2fa": false, "password": PASSWORD})),
    )
    .await
    .ok();
    skip(&s, &token).await.err(409, "conflict");
    s.get("/v1/accounts", Some(&token)).await.ok();
    assert_eq!(s.count("SELECT COUNT(*) FROM grace_skips"), 0);
    // Turned on "now": no grace, whatever skips the old date had.
    schedule(&s, &owner, id, None, 0).await.ok();
    skip(&s, &token).await.err(403, "grace_exhausted");
    s.get("/v1/accounts", Some(&token))
        .await
        .err(403, "setup_required");
}

/// Being an owner somewhere gives nothing in an account where one is a
/// member: the members list, the reminder and the enforcement setting of
/// that account are all refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_member_of_one_account_who_owns_another_gets_nothing_of_the_first() {
    let s = Server::start().await;
    let (a, _) = account_with(&s, "Acme", "own@example.com", &["amy@example.com"]).await;
    let (b, boss) = account_with(&s, "Beta", "boss@example.com", &[]).await;
    s.member("Acme", "boss@example.com", AccountRole::Member);
    s.get(&format!("/v1/accounts/{b}/members"), Some(&boss))
        .await
        .ok();
    s.get(&format!("/v1/accounts/{a}/members"), Some(&boss))
        .await
        .err(403, "forbidden");
    s.post(
        &format!("/v1/accounts/{a}/reminders"),
        Some(&boss),
        json!({}),
    )
    .await
    .err(403, "forbidden");
    s.get(&format!("/v1/accounts/{a}/enforcement"), Some(&boss))
        .await
        .err(403, "forbidden");
    schedule(&s, &boss, a, Some(s.now().await + 7 * DAY), 0)
        .await
        .err(403, "forbidden");
    assert_eq!(notices(&s, "amy@example.com", "two-factor"), 0);
}

/// Dates and grace days out of any sensible range are a clear 400, never
/// a server error or an overflow: the largest and smallest integers, a
/// negative date, a grace period of u32::MAX, a negative or fractional
/// value the body cannot hold.
#[tokio::test(flavor = "multi_thread")]
async fn dates_and_grace_days_out_of_range_are_bad_requests() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let path = format!("/v1/accounts/{id}/enforcement");
    for body in [
        json!({"enforce_2fa": true, "password": PASSWORD, "from": i64::MAX, "grace_days": 0}),
        json!({"enforce_2fa": true, "password": PASSWORD, "from": i64::MIN, "grace_days": 0}),
        json!({"enforce_2fa": true, "password": PASSWORD, "from": -1, "grace_days": 7}),
        json!({"enforce_2fa": true, "password": PASSWORD, "from": s.now().await + 7 * DAY, "grace_days": u32::MAX}),
        json!({"enforce_2fa": true, "password": PASSWORD, "from": s.now().await + 7 * DAY, "grace_days": -1}),
        json!({"enforce_2fa": true, "password": PASSWORD, "from": 1e30, "grace_days": 0}),
        json!({"enforce_2fa": true, "password": PASSWORD, "from": "9223372036854775808", "grace_days": 0}),
        json!({"enforce_2fa": false, "password": PASSWORD, "from": s.now().await + 7 * DAY}),
    ] {
        let r = s
            .send(
                reqwest::Method::PUT,
                &path,
                Some(&owner),
                Some(body.clone()),
            )
            .await;
        r.err(400, "bad_request");
    }
    let r = s.get(&path, Some(&owner)).await;
    assert_eq!(r.ok()["enforce_2fa"], false);
    assert_eq!(outbox_of(&s, "mem@example.com"), 0);
}

/// Turning enforcement off and on again neither gives the owners a new
/// reminder day nor sends the members the same date's notice twice.
#[tokio::test(flavor = "multi_thread")]
async fn turning_enforcement_off_and_on_resets_neither_the_reminder_day_nor_the_notices() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + 14 * DAY;
    schedule(&s, &owner, id, Some(from), 0).await.ok();
    let path = format!("/v1/accounts/{id}/reminders");
    s.post(&path, Some(&owner), json!({})).await.ok();
    for _ in 0..3 {
        s.send(
            reqwest::Method::PUT,
            &format!("/v1/accounts/{id}/enforcement"),
            Some(&owner),
            Some(json!({"enforce_2fa": false, "password": PASSWORD})),
        )
        .await
        .ok();
        schedule(&s, &owner, id, Some(from), 0).await.ok();
    }
    s.post(&path, Some(&owner), json!({}))
        .await
        .err(429, "reminder_too_soon");
    assert_eq!(notices(&s, "mem@example.com", "will require"), 1);
    assert_eq!(notices(&s, "mem@example.com", "asks you"), 1);
}

/// Someone who left the account gets neither its reminders nor its
/// deadline's notices.
#[tokio::test(flavor = "multi_thread")]
async fn people_who_left_the_account_are_not_reminded() {
    let s = Server::start().await;
    let (id, owner) = account_with(
        &s,
        "Acme",
        "own@example.com",
        &["amy@example.com", "gone@example.com"],
    )
    .await;
    let from = s.now().await + 10 * DAY;
    schedule(&s, &owner, id, Some(from), 0).await.ok();
    assert_eq!(notices(&s, "gone@example.com", "will require"), 1);
    s.conn()
        .execute(
            "DELETE FROM memberships WHERE user_id = (SELECT id FROM users WHERE email = 'gone@example.com')",
            account_api::params![],
        )
        .unwrap();
    let r = s
        .post(
            &format!("/v1/accounts/{id}/reminders"),
            Some(&owner),
            json!({}),
        )
        .await;
    assert_eq!(r.ok()["sent"], 1);
    assert_eq!(notices(&s, "gone@example.com", "asks you"), 0);
    s.advance(3 * DAY + 60).await;
    janitor(&s).await;
    assert_eq!(kinds(&s, "amy@example.com"), ["set", "days_7"]);
    assert_eq!(kinds(&s, "gone@example.com"), ["set"]);
    // And their sign-in carries no deadline any more.
    let r = s.sign_in("gone@example.com").await;
    assert!(r.ok().get("deadline").is_none(), "{}", r.body);
}

/// Past the deadline and its grace period, no way in gives a full
/// session to a person without 2FA: the API's sign-in, the web app's
/// cookie sign-in, and a handoff minted by a skipped session just before
/// the grace period ended (redeemed through the API or the web app just
/// after), or by a session from before the deadline. Every session is
/// judged by `policy::evaluate` on each request, not by how it began.
#[tokio::test(flavor = "multi_thread")]
async fn past_the_grace_period_no_way_in_gives_a_full_session() {
    use crate::web_client::Web;
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + DAY + 60;
    schedule(&s, &owner, id, Some(from), 1).await.ok();
    let before = s.session("mem@example.com").await;
    s.advance(from - s.now().await - 20).await;
    let early_code = s.post("/v1/handoff", Some(&before), json!({})).await.ok()["code"]
        .as_str()
        .unwrap()
        .to_string();
    // The deadline comes: the code minted before it gives a setup-only
    // session, not the full one its minting session had.
    s.advance(from - s.now().await + 1).await;
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": early_code}))
        .await;
    let handed = r.ok()["session_token"].as_str().unwrap().to_string();
    s.get("/v1/accounts", Some(&handed))
        .await
        .err(403, "setup_required");
    // A skip, and two codes minted from it moments before the grace
    // period ends.
    let (token, _) = setup_required(&s, "mem@example.com").await;
    skip(&s, &token).await.ok();
    s.advance(from + DAY - s.now().await - 20).await;
    s.get("/v1/accounts", Some(&token)).await.ok();
    let mut codes = Vec::new();
    for _ in 0..2 {
        let r = s.post("/v1/handoff", Some(&token), json!({})).await;
        codes.push(r.ok()["code"].as_str().unwrap().to_string());
    }
    s.advance(from + DAY - s.now().await + 1).await;
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": codes[0]}))
        .await;
    let handed = r.ok()["session_token"].as_str().unwrap().to_string();
    for t in [&handed, &token] {
        s.get("/v1/accounts", Some(t))
            .await
            .err(403, "setup_required");
    }
    let mut tab = Web::new(&s);
    tab.post("/web/handoff/redeem", json!({"code": codes[1]}))
        .await
        .ok();
    tab.get("/web/accounts").await.err(403, "setup_required");
    let session = tab.get("/web/session").await;
    assert_eq!(session.ok()["two_factor"]["setup_only"], true);
    // Signing in afresh, either way: setup, with nothing to skip.
    let (token, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(deadline["skips_left"], 0);
    skip(&s, &token).await.err(403, "grace_exhausted");
    let mut tab = Web::new(&s);
    let r = tab
        .post(
            "/web/sign-in",
            json!({"email": "mem@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    tab.get("/web/accounts").await.err(403, "setup_required");
    tab.post("/web/two-factor/setup/skip", json!({}))
        .await
        .err(403, "grace_exhausted");
}

/// Parallel skips by two people whose deadlines come from two accounts'
/// schedules: each gets exactly the allowance of their own deadline (the
/// shorter grace where two schedules share a date), never the sum, and
/// one person's skips never use the other's.
#[tokio::test(flavor = "multi_thread")]
async fn parallel_skips_of_two_people_under_two_schedules_keep_each_allowance() {
    let s = Server::start().await;
    let (acme, acme_owner) = account_with(
        &s,
        "Acme",
        "acme@example.com",
        &["both@example.com", "one@example.com"],
    )
    .await;
    let (beta, beta_owner) = account_with(&s, "Beta", "beta@example.com", &[]).await;
    s.member("Beta", "both@example.com", AccountRole::Member);
    let from = s.now().await + DAY + 60;
    schedule(&s, &acme_owner, acme, Some(from), 3).await.ok();
    schedule(&s, &beta_owner, beta, Some(from), 2).await.ok();
    s.advance(DAY + 60).await;
    let mut sessions = Vec::new();
    for _ in 0..6 {
        sessions.push(("both", setup_required(&s, "both@example.com").await.0));
        sessions.push(("one", setup_required(&s, "one@example.com").await.0));
    }
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for (who, token) in sessions {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { (who, skip(&s, &token).await) }));
    }
    let (mut both, mut one) = (0, 0);
    for task in tasks {
        let (who, r) = task.await.unwrap();
        if r.status.is_success() {
            if who == "both" {
                both += 1;
            } else {
                one += 1;
            }
        } else {
            assert!(
                r.code() == "grace_exhausted" || r.code() == "conflict",
                "{}",
                r.body
            );
        }
    }
    assert_eq!(both, 2, "Acme and Beta share the date: Beta's 2 grace days");
    assert_eq!(one, 3, "Acme alone: 3 grace days");
}

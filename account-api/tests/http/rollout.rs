//! Scheduled 2FA (issue 14) on the movable clock: a deadline instead of a
//! switch, the days left before it, the grace period's skips and their
//! count, the forced setup after it, the earliest of several schedules,
//! cancellation, the owners' members list and reminders, and the
//! notices, each sent once.

use account_api::admin::PlatformPolicy;
use serde_json::{json, Value};
use shared::api::AccountRole;

use crate::common::{Resp, Server, PASSWORD};

const DAY: i64 = 86_400;

/// An account with an owner who has 2FA (so the schedule never restricts
/// them) and the given members without it. Returns the account id and
/// the owner's session.
pub(crate) async fn account_with(
    s: &Server,
    name: &str,
    owner: &str,
    members: &[&str],
) -> (i64, String) {
    let id = s.account(name);
    s.user(owner);
    s.member(name, owner, AccountRole::Owner);
    for m in members {
        s.user(m);
        s.member(name, m, AccountRole::Member);
    }
    let token = s.session(owner).await;
    s.enroll_authenticator(&token).await;
    (id, token)
}

pub(crate) async fn schedule(
    s: &Server,
    owner: &str,
    id: i64,
    from: Option<i64>,
    grace_days: u32,
) -> Resp {
    let mut body = json!({"enforce_2fa": true, "password": PASSWORD, "grace_days": grace_days});
    if let Some(from) = from {
        body["from"] = json!(from);
    }
    s.send(
        reqwest::Method::PUT,
        &format!("/v1/accounts/{id}/enforcement"),
        Some(owner),
        Some(body),
    )
    .await
}

pub(crate) async fn skip(s: &Server, token: &str) -> Resp {
    s.post("/v1/two-factor/setup/skip", Some(token), json!({}))
        .await
}

pub(crate) fn token_of(r: &Resp) -> String {
    r.body["session_token"].as_str().unwrap().to_string()
}

/// Signs in a person without 2FA whose setup is required now.
pub(crate) async fn setup_required(s: &Server, email: &str) -> (String, Value) {
    let r = s.sign_in(email).await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required", "{}", r.body);
    (token_of(&r), r.body["deadline"].clone())
}

pub(crate) fn notices(s: &Server, email: &str, like: &str) -> i64 {
    s.count(&format!(
        "SELECT COUNT(*) FROM outbox WHERE kind = 'notification' AND recipient = '{email}'
           AND body LIKE '%{like}%'"
    ))
}

/// Midnight UTC of the day `days` after the one `now` falls in, and that
/// day as `--from` takes it.
fn day_after(now: i64, days: i64) -> (i64, String) {
    let at = (now / DAY + days) * DAY;
    let date = time::OffsetDateTime::from_unix_timestamp(at)
        .unwrap()
        .date();
    (at, date.to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scheduled_deadline_leaves_sign_in_working_and_counts_the_days_left() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let now = s.now().await;
    let from = now + 10 * DAY;
    let r = schedule(&s, &owner, id, Some(from), 2).await;
    assert_eq!(r.ok()["enforce_2fa"], true);
    assert_eq!(r.body["enforce_from"], from);
    assert_eq!(r.body["grace_days"], 2);
    let accounts = s.get("/v1/accounts", Some(&owner)).await;
    assert_eq!(accounts.ok()["accounts"][0]["enforce_from"], from);

    // Sign-in succeeds and carries the deadline.
    let r = s.sign_in("mem@example.com").await;
    assert_eq!(r.ok()["status"], "authenticated", "{}", r.body);
    let expected = json!({"at": from, "days_left": 10, "set_by": ["Acme"], "grace_days": 2});
    assert_eq!(r.body["deadline"], expected);
    let member = token_of(&r);
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert_eq!(state.ok()["deadline"], expected);
    assert_eq!(state.body["required"], false);
    assert_eq!(state.body["required_by"], json!([]));
    assert_eq!(state.body["setup_only"], false);
    s.get("/v1/accounts", Some(&member)).await.ok();
    // The owner has 2FA: nothing to show them.
    let state = s.get("/v1/two-factor", Some(&owner)).await;
    assert!(state.ok().get("deadline").is_none(), "{}", state.body);
    // Turning it off before the date is refused: it is coming.
    let r = s
        .post(
            "/v1/two-factor/disable",
            Some(&owner),
            json!({"password": PASSWORD, "confirm": true}),
        )
        .await;
    r.err(403, "not_allowed_while_enforced");

    // Whole days, rounded up.
    s.advance(3 * DAY + 1).await;
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert_eq!(state.ok()["deadline"]["days_left"], 7);
    s.advance(6 * DAY).await;
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert_eq!(state.ok()["deadline"]["days_left"], 1);
    assert_eq!(state.body["setup_only"], false);
    // The member was told once, when the date was set.
    assert_eq!(notices(&s, "mem@example.com", "will require two-factor"), 1);
    assert_eq!(notices(&s, "own@example.com", "will require"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_picks_a_date_from_tomorrow_to_ninety_days_and_up_to_seven_grace_days() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let now = s.now().await;
    for (from, grace) in [
        (now + DAY - 60, 0),
        (now + 91 * DAY, 0),
        (now - DAY, 0),
        (now + 7 * DAY, 8),
    ] {
        let r = schedule(&s, &owner, id, Some(from), grace).await;
        r.err(400, "bad_request");
        assert!(
            r.message().contains("90 days") || r.message().contains("0 to 7"),
            "{}",
            r.message()
        );
    }
    // Grace without a date, and a date while turning it off, are refused.
    schedule(&s, &owner, id, None, 3)
        .await
        .err(400, "bad_request");
    let r = s
        .send(
            reqwest::Method::PUT,
            &format!("/v1/accounts/{id}/enforcement"),
            Some(&owner),
            Some(json!({"enforce_2fa": false, "password": PASSWORD, "from": now + 7 * DAY})),
        )
        .await;
    r.err(400, "bad_request");
    // Nothing changed.
    let r = s
        .get(&format!("/v1/accounts/{id}/enforcement"), Some(&owner))
        .await;
    assert_eq!(r.ok()["enforce_2fa"], false);
    // The two ends of the range are accepted.
    schedule(&s, &owner, id, Some(now + 90 * DAY), 7).await.ok();
    let from = s.now().await + DAY + 5;
    let r = schedule(&s, &owner, id, Some(from), 0).await;
    assert_eq!(r.ok()["enforce_from"], from);
    // Saving the same date again later is no change, not an error.
    s.advance(DAY / 2).await;
    schedule(&s, &owner, id, Some(from), 0).await.ok();
    // A member cannot schedule, and "now" is today's immediate switch.
    let member = s.session("mem@example.com").await;
    schedule(&s, &member, id, Some(now + 7 * DAY), 0)
        .await
        .err(403, "forbidden");
    let r = schedule(&s, &owner, id, None, 0).await;
    assert!(r.ok().get("enforce_from").is_none(), "{}", r.body);
    s.get("/v1/accounts", Some(&member))
        .await
        .err(403, "setup_required");
    let (token, deadline) = setup_required(&s, "mem@example.com").await;
    assert!(deadline.is_null(), "no date, no deadline: {deadline}");
    skip(&s, &token).await.err(403, "grace_exhausted");
}

#[tokio::test(flavor = "multi_thread")]
async fn grace_skips_are_counted_and_audited_then_setup_is_forced() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let now = s.now().await;
    let from = now + 2 * DAY;
    schedule(&s, &owner, id, Some(from), 2).await.ok();
    // Before the date there is nothing to skip.
    let early = s.session("mem@example.com").await;
    skip(&s, &early).await.err(409, "conflict");

    s.advance(2 * DAY).await;
    // The earlier session is restricted now too.
    s.get("/v1/accounts", Some(&early))
        .await
        .err(403, "setup_required");
    let (first, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(
        deadline,
        json!({"at": from, "days_left": 0, "set_by": ["Acme"], "grace_days": 2, "skips_left": 2})
    );
    s.get("/v1/accounts", Some(&first))
        .await
        .err(403, "setup_required");
    let r = skip(&s, &first).await;
    assert_eq!(r.ok()["skips_left"], 1);
    // This session is a full one now; the state says what is left.
    s.get("/v1/accounts", Some(&first)).await.ok();
    let state = s.get("/v1/two-factor", Some(&first)).await;
    assert_eq!(state.ok()["setup_only"], false);
    assert_eq!(state.body["required"], true);
    assert_eq!(state.body["required_by"], json!(["Acme"]));
    assert_eq!(state.body["deadline"]["skips_left"], 1);
    // One skip per session.
    skip(&s, &first).await.err(409, "conflict");
    // The other session is still restricted: a skip is per session.
    s.get("/v1/accounts", Some(&early))
        .await
        .err(403, "setup_required");

    let (second, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(deadline["skips_left"], 1);
    assert_eq!(skip(&s, &second).await.ok()["skips_left"], 0);
    let (third, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(deadline["skips_left"], 0);
    skip(&s, &third).await.err(403, "grace_exhausted");
    s.get("/v1/accounts", Some(&third))
        .await
        .err(403, "setup_required");
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'setup_skipped'"),
        2
    );

    // After the grace period even the skipped sessions are restricted.
    s.advance(2 * DAY).await;
    for token in [&first, &second] {
        s.get("/v1/accounts", Some(token))
            .await
            .err(403, "setup_required");
    }
    let (after, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(deadline["skips_left"], 0);
    skip(&s, &after).await.err(403, "grace_exhausted");
    // Setting up is the way out.
    s.enroll_authenticator(&after).await;
    s.get("/v1/accounts", Some(&after)).await.ok();
    let state = s.get("/v1/two-factor", Some(&after)).await;
    assert!(state.ok().get("deadline").is_none(), "{}", state.body);
}

#[tokio::test(flavor = "multi_thread")]
async fn parallel_skips_never_use_more_than_the_grace_allows() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + DAY + 60;
    schedule(&s, &owner, id, Some(from), 3).await.ok();
    s.advance(DAY + 60).await;
    let mut sessions = Vec::new();
    for _ in 0..8 {
        sessions.push(setup_required(&s, "mem@example.com").await.0);
    }
    let s = std::sync::Arc::new(s);
    let mut tasks = Vec::new();
    for token in sessions {
        let s = s.clone();
        tasks.push(tokio::spawn(async move { skip(&s, &token).await }));
    }
    let mut ok = 0;
    for task in tasks {
        let r = task.await.unwrap();
        if r.status.is_success() {
            ok += 1;
        } else {
            assert!(
                r.code() == "grace_exhausted" || r.code() == "conflict",
                "{}",
                r.body
            );
        }
    }
    assert_eq!(ok, 3, "three grace days, three skips");
    assert_eq!(s.count("SELECT COUNT(*) FROM grace_skips"), 3);
    let (_, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(deadline["skips_left"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_earliest_of_two_accounts_and_the_platform_wins() {
    let s = Server::start().await;
    let (acme, acme_owner) =
        account_with(&s, "Acme", "acme@example.com", &["mem@example.com"]).await;
    let (beta, beta_owner) = account_with(&s, "Beta", "beta@example.com", &[]).await;
    s.member("Beta", "mem@example.com", AccountRole::Member);
    let now = s.now().await;
    schedule(&s, &acme_owner, acme, Some(now + 30 * DAY), 7)
        .await
        .ok();
    schedule(&s, &beta_owner, beta, Some(now + 20 * DAY), 1)
        .await
        .ok();
    let (platform_at, day) = day_after(now, 11);
    let done = s.platform(PlatformPolicy::From {
        at: account_api::rules::policy::parse_day(&day).unwrap(),
        grace_days: 3,
    });
    assert!(done.contains("notified"), "{done}");
    let member = s.session("mem@example.com").await;
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert_eq!(state.ok()["deadline"]["at"], platform_at);
    assert_eq!(state.body["deadline"]["set_by"], json!(["server policy"]));
    assert_eq!(state.body["deadline"]["grace_days"], 3);
    // An owner moves their date before the platform's: theirs wins, and
    // the member hears that it moved earlier.
    let earlier = now + 5 * DAY;
    schedule(&s, &beta_owner, beta, Some(earlier), 1).await.ok();
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert_eq!(
        state.ok()["deadline"],
        json!({"at": earlier, "days_left": 5, "set_by": ["Beta"], "grace_days": 1})
    );
    // Each date the member's deadline took was announced once: Acme's
    // (30 days), then Beta's (20 days), the platform's and Beta's new
    // one, the last three as moves earlier.
    assert_eq!(
        s.count(
            "SELECT COUNT(*) FROM deadline_notices n JOIN users u ON u.id = n.user_id
              WHERE u.email = 'mem@example.com' AND n.kind = 'set'"
        ),
        4
    );
    assert_eq!(notices(&s, "mem@example.com", "will require"), 1);
    assert_eq!(notices(&s, "mem@example.com", "moved earlier"), 3);
    // Moving a date later than the earliest one tells nobody anything.
    schedule(&s, &acme_owner, acme, Some(now + 40 * DAY), 7)
        .await
        .ok();
    assert_eq!(notices(&s, "mem@example.com", "two-factor"), 4);
    // At Beta's date its one grace day applies, and Beta is what requires.
    s.advance(5 * DAY).await;
    let (_, deadline) = setup_required(&s, "mem@example.com").await;
    assert_eq!(deadline["set_by"], json!(["Beta"]));
    assert_eq!(deadline["skips_left"], 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cancelling_the_platform_schedule_removes_the_deadline_and_the_requirement() {
    let s = Server::start().await;
    s.user("solo@example.com");
    let now = s.now().await;
    let (at, day) = day_after(now, 4);
    s.platform(PlatformPolicy::From {
        at: account_api::rules::policy::parse_day(&day).unwrap(),
        grace_days: 0,
    });
    let r = s.sign_in("solo@example.com").await;
    assert_eq!(r.ok()["status"], "authenticated");
    assert_eq!(r.body["deadline"]["at"], at);
    assert_eq!(r.body["deadline"]["set_by"], json!(["server policy"]));
    let token = token_of(&r);
    s.platform(PlatformPolicy::Cancel);
    let state = s.get("/v1/two-factor", Some(&token)).await;
    assert!(state.ok().get("deadline").is_none(), "{}", state.body);
    let r = s.sign_in("solo@example.com").await;
    assert!(r.ok().get("deadline").is_none(), "{}", r.body);

    // Past the date with no grace: forced setup; cancelled: free again.
    s.platform(PlatformPolicy::From {
        at: account_api::rules::policy::parse_day(&day).unwrap(),
        grace_days: 0,
    });
    s.advance(at - now + 60).await;
    let (forced, deadline) = setup_required(&s, "solo@example.com").await;
    assert_eq!(deadline["skips_left"], 0);
    skip(&s, &forced).await.err(403, "grace_exhausted");
    s.get("/v1/trusted-devices", Some(&forced))
        .await
        .err(403, "setup_required");
    s.platform(PlatformPolicy::Cancel);
    s.get("/v1/trusted-devices", Some(&forced)).await.ok();
    let state = s.get("/v1/two-factor", Some(&forced)).await;
    assert_eq!(state.ok()["required"], false);
    assert!(state.body.get("deadline").is_none(), "{}", state.body);

    // "Now" is R10 as before: no date, no grace.
    s.platform(PlatformPolicy::Now);
    let (token, deadline) = setup_required(&s, "solo@example.com").await;
    assert!(deadline.is_null());
    skip(&s, &token).await.err(403, "grace_exhausted");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_sees_who_has_not_set_up_and_only_owners_do() {
    let s = Server::start().await;
    let (id, owner) = account_with(
        &s,
        "Acme",
        "own@example.com",
        &["zed@example.com", "amy@example.com", "set@example.com"],
    )
    .await;
    let done = s.session("set@example.com").await;
    s.enroll_authenticator(&done).await;
    let (other_id, other_owner) = account_with(&s, "Other", "boss@example.com", &[]).await;
    let path = format!("/v1/accounts/{id}/members");
    let r = s.get(&path, Some(&owner)).await;
    assert_eq!(
        r.ok()["members"],
        json!([
            {"email": "amy@example.com", "role": "member", "two_factor_enabled": false},
            {"email": "zed@example.com", "role": "member", "two_factor_enabled": false},
            {"email": "own@example.com", "role": "owner", "two_factor_enabled": true, "you": true},
            {"email": "set@example.com", "role": "member", "two_factor_enabled": true},
        ])
    );
    assert!(r.body.get("next_reminder_at").is_none(), "{}", r.body);
    // A member of the account, an owner of another one: refused, and so
    // is an account id that does not exist.
    let member = s.session("amy@example.com").await;
    for (who, account) in [(&member, id), (&other_owner, id), (&owner, other_id + 100)] {
        let path = format!("/v1/accounts/{account}/members");
        s.get(&path, Some(who)).await.err(403, "forbidden");
        let path = format!("/v1/accounts/{account}/reminders");
        s.post(&path, Some(who), json!({}))
            .await
            .err(403, "forbidden");
    }
    s.get(&path, None).await.err(401, "unauthorized");
    // The owner's own other account is theirs to see, not this one's.
    s.get(&format!("/v1/accounts/{other_id}/members"), Some(&owner))
        .await
        .err(403, "forbidden");
    assert_eq!(notices(&s, "amy@example.com", "asks you"), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn reminders_go_to_members_without_2fa_once_a_day() {
    let s = Server::start().await;
    let (id, owner) = account_with(
        &s,
        "Acme",
        "own@example.com",
        &["amy@example.com", "set@example.com"],
    )
    .await;
    let done = s.session("set@example.com").await;
    s.enroll_authenticator(&done).await;
    let from = s.now().await + 14 * DAY;
    schedule(&s, &owner, id, Some(from), 0).await.ok();
    let path = format!("/v1/accounts/{id}/reminders");
    let now = s.now().await;
    let r = s.post(&path, Some(&owner), json!({})).await;
    assert_eq!(r.ok()["sent"], 1);
    let next = r.body["next_reminder_at"].as_i64().unwrap();
    assert!((now + DAY..now + DAY + 5).contains(&next), "{next}");
    assert_eq!(
        notices(&s, "amy@example.com", "own@example.com of Acme asks you"),
        1
    );
    assert_eq!(notices(&s, "set@example.com", "asks you"), 0);
    assert_eq!(notices(&s, "own@example.com", "asks you"), 0);
    let listed = s
        .get(&format!("/v1/accounts/{id}/members"), Some(&owner))
        .await;
    assert_eq!(listed.ok()["next_reminder_at"], next);
    // Again within the day: refused, nothing sent, Retry-After says when.
    s.advance(DAY - 120).await;
    let r = s.post(&path, Some(&owner), json!({})).await;
    r.err(429, "reminder_too_soon");
    let wait: i64 = r.retry_after.unwrap().parse().unwrap();
    assert!((1..=130).contains(&wait), "{wait}");
    assert_eq!(notices(&s, "amy@example.com", "asks you"), 1);
    // A day later: one more.
    s.advance(120).await;
    assert_eq!(s.post(&path, Some(&owner), json!({})).await.ok()["sent"], 1);
    assert_eq!(notices(&s, "amy@example.com", "asks you"), 2);
    assert_eq!(
        s.count("SELECT COUNT(*) FROM audit_log WHERE event = 'reminders_sent'"),
        2
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn two_owners_asking_at_once_send_one_reminder() {
    let s = Server::start().await;
    let (id, first) = account_with(&s, "Acme", "own@example.com", &["amy@example.com"]).await;
    s.user("co@example.com");
    s.member("Acme", "co@example.com", AccountRole::Owner);
    let second = s.session("co@example.com").await;
    s.enroll_authenticator(&second).await;
    let s = std::sync::Arc::new(s);
    let path = format!("/v1/accounts/{id}/reminders");
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (s, path) = (s.clone(), path.clone());
        let token = if i % 2 == 0 {
            first.clone()
        } else {
            second.clone()
        };
        tasks.push(tokio::spawn(async move {
            s.post(&path, Some(&token), json!({})).await
        }));
    }
    let mut ok = 0;
    for task in tasks {
        let r = task.await.unwrap();
        if r.status.is_success() {
            ok += 1;
        } else {
            r.err(429, "reminder_too_soon");
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(notices(&s, "amy@example.com", "asks you"), 1);
}

pub(crate) async fn janitor(s: &Server) -> i64 {
    let r = s.post("/v1/test/janitor", None, json!({})).await;
    r.ok()["removed"]["deadline_notices"].as_i64().unwrap()
}

/// Runs passes until `email`'s notices are `expected` (a process's own
/// pass, running as it starts, may hold the PostgreSQL pass lock for a
/// moment, and a pass that finds it held does nothing), then one more,
/// which must find nothing to send.
async fn janitor_until(s: &Server, email: &str, expected: &[&str]) {
    for _ in 0..100 {
        janitor(s).await;
        if kinds(s, email) == expected {
            assert_eq!(janitor(s).await, 0, "a second pass sent more");
            return;
        }
    }
    panic!(
        "{email}'s notices are {:?}, not {expected:?}",
        kinds(s, email)
    );
}

pub(crate) fn kinds(s: &Server, email: &str) -> Vec<String> {
    s.conn()
        .query_map(
            "SELECT n.kind FROM deadline_notices n JOIN users u ON u.id = n.user_id
              WHERE u.email = ?1 ORDER BY n.sent_at, n.kind",
            account_api::params![email],
            |r| r.get::<String>(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn each_reminder_goes_out_once_and_not_again_after_a_restart() {
    // Each process also runs a pass of its own as it starts, which may
    // land after the clock moved: what counts is what the store holds.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("api.sqlite3");
    let node = Server::serve_process(&db).await;
    let (id, owner) = account_with(
        &node,
        "Acme",
        "own@example.com",
        &["mem@example.com", "late@example.com"],
    )
    .await;
    let from = node.now().await + 10 * DAY;
    schedule(&node, &owner, id, Some(from), 1).await.ok();
    assert_eq!(kinds(&node, "mem@example.com"), ["set"]);
    janitor(&node).await;
    assert_eq!(kinds(&node, "mem@example.com"), ["set"], "10 days ahead");

    // Seven days before: each member without 2FA once, however many passes.
    node.advance(3 * DAY + 60).await;
    janitor_until(&node, "mem@example.com", &["set", "days_7"]).await;
    assert_eq!(kinds(&node, "late@example.com"), ["set", "days_7"]);
    assert_eq!(notices(&node, "mem@example.com", "(7 days left"), 1);
    // One of them sets up 2FA: no more reminders for them.
    let late = node.session("late@example.com").await;
    node.enroll_authenticator(&late).await;

    // A restart on the same database: the new process's clock starts
    // unmoved, so it is moved to the same moment; nothing goes out again.
    let last = node.now().await;
    node.stop();
    let node = Server::serve_process(&db).await;
    node.advance(last - node.now().await).await;
    assert_eq!(janitor(&node).await, 0);
    assert_eq!(notices(&node, "mem@example.com", "(7 days left"), 1);

    // One day before, and on the day: once each.
    node.advance(from - DAY + 60 - node.now().await).await;
    janitor_until(&node, "mem@example.com", &["set", "days_7", "days_1"]).await;
    assert_eq!(notices(&node, "mem@example.com", "(1 day left"), 1);
    node.advance(DAY).await;
    janitor_until(
        &node,
        "mem@example.com",
        &["set", "days_7", "days_1", "due"],
    )
    .await;
    assert_eq!(notices(&node, "mem@example.com", "from today"), 1);
    // The day after: nothing more, on this process or the next.
    node.advance(DAY).await;
    assert_eq!(janitor(&node).await, 0);
    node.stop();
    let node = Server::serve_process(&db).await;
    node.advance(from + 60 - node.now().await).await;
    assert_eq!(janitor(&node).await, 0);

    assert_eq!(
        kinds(&node, "mem@example.com"),
        ["set", "days_7", "days_1", "due"]
    );
    assert_eq!(kinds(&node, "late@example.com"), ["set", "days_7"]);
    assert!(kinds(&node, "own@example.com").is_empty());
    assert_eq!(
        node.count(
            "SELECT COUNT(*) FROM outbox WHERE recipient = 'mem@example.com' AND kind = 'notification'"
        ),
        4
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_set_inside_a_window_skips_that_reminder_and_moving_it_earlier_tells_again() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let now = s.now().await;
    schedule(&s, &owner, id, Some(now + 5 * DAY), 0).await.ok();
    // The "set" notice said 5 days moments ago: no 7-day reminder too.
    assert_eq!(janitor(&s).await, 0);
    // Moved earlier: told again, for the new date.
    schedule(&s, &owner, id, Some(now + 2 * DAY), 0).await.ok();
    assert_eq!(notices(&s, "mem@example.com", "moved earlier"), 1);
    s.advance(DAY + 60).await;
    assert_eq!(janitor(&s).await, 1);
    assert_eq!(kinds(&s, "mem@example.com"), ["set", "set", "days_1"]);
    // Cancelled: nothing more is due.
    let r = s
        .send(
            reqwest::Method::PUT,
            &format!("/v1/accounts/{id}/enforcement"),
            Some(&owner),
            Some(json!({"enforce_2fa": false, "password": PASSWORD})),
        )
        .await;
    r.ok();
    s.advance(DAY).await;
    assert_eq!(janitor(&s).await, 0);
    let member = s.session("mem@example.com").await;
    let state = s.get("/v1/two-factor", Some(&member)).await;
    assert!(state.ok().get("deadline").is_none(), "{}", state.body);
}

/// The web app gets the same schedule through its cookie routes: the
/// deadline in its sign-in outcome and session, the skip, and the owners'
/// members list and reminders, with the v1 answers.
#[tokio::test(flavor = "multi_thread")]
async fn the_web_app_shows_the_deadline_skips_and_lists_members_through_cookies() {
    use crate::web_client::Web;
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + 3 * DAY;
    schedule(&s, &owner, id, Some(from), 1).await.ok();

    let mut tab = Web::new(&s);
    let r = tab
        .post(
            "/web/sign-in",
            json!({"email": "mem@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.ok()["status"], "authenticated");
    assert_eq!(r.body["deadline"]["days_left"], 3);
    let session = tab.get("/web/session").await;
    assert_eq!(session.ok()["two_factor"]["deadline"]["at"], from);
    // A member is refused the owners' routes here too.
    tab.get(&format!("/web/accounts/{id}/members"))
        .await
        .err(403, "forbidden");
    tab.post(&format!("/web/accounts/{id}/reminders"), json!({}))
        .await
        .err(403, "forbidden");

    s.advance(3 * DAY).await;
    let mut tab = Web::new(&s);
    let r = tab
        .post(
            "/web/sign-in",
            json!({"email": "mem@example.com", "password": PASSWORD}),
        )
        .await;
    assert_eq!(r.ok()["status"], "two_factor_setup_required");
    assert_eq!(r.body["deadline"]["skips_left"], 1);
    tab.get("/web/accounts").await.err(403, "setup_required");
    let r = tab.post("/web/two-factor/setup/skip", json!({})).await;
    assert_eq!(r.ok()["skips_left"], 0);
    tab.get("/web/accounts").await.ok();

    // The owner's tab (signed in by a handoff from their API session):
    // who has not set up, and one reminder a day.
    let r = s.post("/v1/handoff", Some(&owner), json!({})).await;
    let code = r.ok()["code"].as_str().unwrap().to_string();
    let mut own = Web::new(&s);
    own.post("/web/handoff/redeem", json!({"code": code}))
        .await
        .ok();
    let r = own.get(&format!("/web/accounts/{id}/members")).await;
    assert_eq!(r.ok()["members"][0]["email"], "mem@example.com");
    assert_eq!(r.body["members"][0]["two_factor_enabled"], false);
    let r = own
        .post(&format!("/web/accounts/{id}/reminders"), json!({}))
        .await;
    assert_eq!(r.ok()["sent"], 1);
    own.post(&format!("/web/accounts/{id}/reminders"), json!({}))
        .await
        .err(429, "reminder_too_soon");
}

/// A skip is the person's, like a verification: a handoff from the
/// session that used it gives a full session; one from a session that
/// did not is refused (a setup-only session cannot mint one).
#[tokio::test(flavor = "multi_thread")]
async fn a_handoff_from_a_skipped_session_carries_the_skip() {
    let s = Server::start().await;
    let (id, owner) = account_with(&s, "Acme", "own@example.com", &["mem@example.com"]).await;
    let from = s.now().await + DAY + 60;
    schedule(&s, &owner, id, Some(from), 2).await.ok();
    s.advance(DAY + 60).await;
    let (token, _) = setup_required(&s, "mem@example.com").await;
    s.post("/v1/handoff", Some(&token), json!({}))
        .await
        .err(403, "setup_required");
    skip(&s, &token).await.ok();
    let r = s.post("/v1/handoff", Some(&token), json!({})).await;
    let code = r.ok()["code"].as_str().unwrap().to_string();
    let r = s
        .post("/v1/handoff/redeem", None, json!({"code": code}))
        .await;
    r.ok();
    let handed = token_of(&r);
    s.get("/v1/accounts", Some(&handed)).await.ok();
    // Still one skip used, not two.
    let state = s.get("/v1/two-factor", Some(&handed)).await;
    assert_eq!(state.ok()["deadline"]["skips_left"], 1);
    // And the grace period's end ends both.
    s.advance(2 * DAY).await;
    s.get("/v1/accounts", Some(&handed))
        .await
        .err(403, "setup_required");
}

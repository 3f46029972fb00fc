//! An owner's enforcement date near its 24-hour edge, in a test process of
//! its own: the test holds every slot of the server's one Argon2 limiter
//! (`HashLimiter::global`), which would stall the HTTP suite's sign-ins if
//! it ran among them.

#[path = "http/common.rs"]
mod common;

use std::sync::{Arc, Barrier};

use account_api::password::{slots_for, HashLimiter};
use account_api::rules::policy::DAY;
use common::{Server, PASSWORD};
use serde_json::json;
use shared::api::AccountRole;

/// A date 24 hours (and a little) after the request arrived stays accepted
/// however long the password check takes: the date is judged against the
/// arrival both times, before the password and again in the write. Judged
/// again against a later reading of the clock, it was refused after the
/// password was spent. Here the clock moves a minute while the request
/// waits for its password check, every Argon2 slot being held until then.
#[tokio::test(flavor = "multi_thread")]
async fn a_date_judged_on_arrival_stays_accepted_while_the_clock_moves_during_the_password_check() {
    let s = Server::start().await;
    let id = s.account("Acme");
    s.user("own@example.com");
    s.member("Acme", "own@example.com", AccountRole::Owner);
    let owner = s.session("own@example.com").await;
    s.enroll_authenticator(&owner).await;

    // Every slot held by a check that waits for the test.
    let limiter = HashLimiter::global();
    let slots = slots_for(
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
    );
    let all_held = Arc::new(Barrier::new(slots + 1));
    let let_go = Arc::new(Barrier::new(slots + 1));
    let holders: Vec<_> = (0..slots)
        .map(|_| {
            let (all_held, let_go) = (all_held.clone(), let_go.clone());
            tokio::spawn(limiter.run(move || {
                all_held.wait();
                let_go.wait();
                Ok(())
            }))
        })
        .collect();
    let held = all_held.clone();
    tokio::task::spawn_blocking(move || held.wait())
        .await
        .unwrap();

    // 30 s of slack for a slow machine between reading the clock and the
    // request's arrival; the clock then moves 60 s.
    let from = s.now().await + DAY + 30;
    let body = json!({"enforce_2fa": true, "password": PASSWORD, "from": from, "grace_days": 0});
    let put = {
        let (client, url, owner) = (
            s.client.clone(),
            format!("{}/v1/accounts/{id}/enforcement", s.base),
            owner.clone(),
        );
        tokio::spawn(async move { client.put(url).bearer_auth(owner).json(&body).send().await })
    };
    // The request has passed the first check and waits for a slot.
    while limiter.waiting() == 0 {
        assert!(
            !put.is_finished(),
            "the request was answered before its password check"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    s.advance(60).await;
    tokio::task::spawn_blocking(move || let_go.wait())
        .await
        .unwrap();
    for holder in holders {
        holder.await.unwrap().unwrap();
    }

    let r = put.await.unwrap().unwrap();
    let status = r.status();
    let answer: serde_json::Value = r.json().await.unwrap();
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["enforce_from"], from, "{answer}");
}

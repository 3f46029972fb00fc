//! `list_accounts`, `set_enforcement` (R9, owners only, with the owner's
//! password), and the owners' rollout view (`list_members`,
//! `send_reminder`), passed to the API as they are.

use reqwest::Method;
use shared::api::{AccountList, AccountMembers, Enforcement, RemindersSent, SetEnforcement};
use shared::ErrorBody;

use super::forward::Forward;

pub fn list() -> Forward<AccountList> {
    Forward::get("/accounts")
}

pub fn set_enforcement(
    account_id: i64,
    enforce_2fa: bool,
    password: String,
    from: Option<i64>,
    grace_days: u32,
) -> Result<Forward<Enforcement>, ErrorBody> {
    Forward::with_body(
        Method::PUT,
        format!("/accounts/{}/enforcement", account_id),
        &SetEnforcement {
            enforce_2fa,
            password,
            from,
            grace_days,
        },
    )
}

pub fn list_members(account_id: i64) -> Forward<AccountMembers> {
    Forward::get(format!("/accounts/{}/members", account_id))
}

pub fn send_reminder(account_id: i64) -> Result<Forward<RemindersSent>, ErrorBody> {
    Forward::with_body(
        Method::POST,
        format!("/accounts/{}/reminders", account_id),
        &serde_json::json!({}),
    )
}

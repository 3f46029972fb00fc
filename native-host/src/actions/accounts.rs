//! `list_accounts` and `set_enforcement` (R9, owners only, with the
//! owner's password), passed to the API as they are.

use reqwest::Method;
use shared::api::{AccountList, Enforcement, SetEnforcement};
use shared::ErrorBody;

use super::forward::Forward;

pub fn list() -> Forward<AccountList> {
    Forward::get("/accounts")
}

pub fn set_enforcement(
    account_id: i64,
    enforce_2fa: bool,
    password: String,
) -> Result<Forward<Enforcement>, ErrorBody> {
    Forward::with_body(
        Method::PUT,
        format!("/accounts/{}/enforcement", account_id),
        &SetEnforcement {
            enforce_2fa,
            password,
        },
    )
}

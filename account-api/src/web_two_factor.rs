//! The web app's own 2FA settings: My Account → Two-Factor Authentication
//! and, for owners, Account Settings → Two-Factor Authentication, as cookie
//! routes under `/web/` (issue 15).
//!
//! Each route takes its session from the HttpOnly cookie (through
//! `web_app`'s cookie-to-bearer layer), passes the same Origin check as every
//! other state-changing `/web/` request, and is then served by the very
//! `/v1/` handler of `routes/`, mounted a second time: the same extractor
//! decides which sessions may use it (a setup-only session may set up 2FA
//! and nothing else, exactly as on v1) and the same rule function runs. So
//! the page is a view, the API's rules stay the only rules, and the answers
//! (errors included) are the v1 answers by construction, not by copying.
//!
//! Nothing here returns a token. The values a page does receive are the
//! ones it must show the person: the authenticator key and its QR code
//! during setup, and recovery codes once, when they are made.
//!
//! These routes are not in `/v1/openapi.json`: like the rest of `/web/`
//! they exist for the web app's page only, which the server itself serves.

use axum::routing::{delete, get, post};
use axum::Router;

use crate::routes::{accounts, trusted_devices, two_factor};
use crate::state::AppState;

/// The routes, to be merged where the session cookie becomes the bearer
/// token and the Origin check applies (`web_app::router`).
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/web/two-factor/authenticator/setup",
            post(two_factor::authenticator_setup),
        )
        .route(
            "/web/two-factor/authenticator/confirm",
            post(two_factor::authenticator_confirm),
        )
        .route("/web/two-factor/sms/setup", post(two_factor::sms_setup))
        .route("/web/two-factor/sms/confirm", post(two_factor::sms_confirm))
        .route("/web/two-factor/switch", post(two_factor::switch_method))
        .route("/web/two-factor/disable", post(two_factor::disable))
        .route(
            "/web/two-factor/recovery-codes",
            post(two_factor::regenerate_recovery_codes),
        )
        .route("/web/trusted-devices", get(trusted_devices::list))
        .route("/web/trusted-devices/{id}", delete(trusted_devices::revoke))
        .route("/web/accounts", get(accounts::list_accounts))
        .route(
            "/web/accounts/{id}/enforcement",
            get(accounts::get_enforcement).put(accounts::set_enforcement),
        )
        .route("/web/accounts/{id}/members", get(accounts::list_members))
        .route(
            "/web/accounts/{id}/reminders",
            post(accounts::send_reminders),
        )
        .route("/web/two-factor/setup/skip", post(two_factor::skip_setup))
}

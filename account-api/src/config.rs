//! What the server is told at start: where its data lives and which rules
//! and senders are on.

use std::path::PathBuf;

use shared::web_sync::WebAppOrigin;

use crate::password::PasswordCost;

/// Where text messages go.
#[derive(Debug, Clone)]
pub enum SmsConfig {
    /// Stored in the database's outbox; `dialer-2fa-api outbox` lists them.
    Outbox,
    /// Twilio's Messages REST API.
    Twilio(TwilioConfig),
}

/// Twilio credentials. The auth token comes from the environment or a flag,
/// is never logged, and `Debug` hides it.
#[derive(Clone)]
pub struct TwilioConfig {
    pub account_sid: String,
    pub auth_token: String,
    pub from: String,
    /// `https://api.twilio.com` in production; tests point it at loopback.
    pub base_url: String,
}

impl std::fmt::Debug for TwilioConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwilioConfig")
            .field("account_sid", &self.account_sid)
            .field("from", &self.from)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub db_path: PathBuf,
    /// R10: 2FA is required for every user.
    pub mandatory_2fa: bool,
    /// Mounts `POST /v1/test/clock`. Never on in production.
    pub allow_clock_control: bool,
    pub sms: SmsConfig,
    pub password_cost: PasswordCost,
    /// The web app's origin as browsers write it (`--public-origin`): the
    /// only `Origin` the `/web/` routes accept, and https here makes their
    /// cookies `__Host-` and `Secure`.
    pub public_origin: WebAppOrigin,
}

impl ServerConfig {
    /// Defaults for a database path: outbox SMS, nothing mandatory.
    pub fn new(db_path: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            db_path: db_path.into(),
            mandatory_2fa: false,
            allow_clock_control: false,
            sms: SmsConfig::Outbox,
            password_cost: PasswordCost::default(),
            public_origin: WebAppOrigin::default(),
        }
    }
}

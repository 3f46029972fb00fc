//! What the server is told at start: where its data lives and which rules
//! and senders are on.

use std::path::PathBuf;

use shared::web_sync::WebAppOrigin;

use crate::password::PasswordCost;
use crate::secret_box::ServerKey;

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

/// How often `serve` runs a janitor pass unless told otherwise: often
/// enough that expired rows never pile up, rarely enough to cost nothing.
pub const DEFAULT_JANITOR_INTERVAL: std::time::Duration = std::time::Duration::from_secs(300);

/// Where the data lives: a SQLite file (the default, one node) or a
/// PostgreSQL database that several nodes share.
#[derive(Clone)]
pub enum Store {
    Sqlite(PathBuf),
    Postgres { url: String, pool_size: u32 },
}

impl Store {
    /// The SQLite file, which the default server key sits beside.
    pub fn sqlite_path(&self) -> Option<&std::path::Path> {
        match self {
            Store::Sqlite(path) => Some(path),
            Store::Postgres { .. } => None,
        }
    }

    /// For messages: the file, or the database URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Store::Sqlite(path) => path.display().to_string(),
            Store::Postgres { url, .. } => match url.parse::<postgres::Config>() {
                Ok(c) => format!(
                    "PostgreSQL database {} on {:?} as {}",
                    c.get_dbname().unwrap_or("(default)"),
                    c.get_hosts(),
                    c.get_user().unwrap_or("(default user)")
                ),
                Err(_) => "PostgreSQL (unreadable URL)".to_string(),
            },
        }
    }
}

/// The URL may carry a password: never print it.
impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub store: Store,
    /// Where the key that seals TOTP secrets comes from.
    pub server_key: ServerKey,
    /// Mounts `POST /v1/test/clock`. Never on in production.
    pub allow_clock_control: bool,
    pub sms: SmsConfig,
    pub password_cost: PasswordCost,
    /// Peers whose `X-Forwarded-For` is believed (see `client_addr`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Hourly caps on text messages (SMS pumping).
    pub sms_caps: SmsCaps,
    /// The web app's origin as browsers write it (`--public-origin`): the
    /// only `Origin` the `/web/` routes accept, and https here makes their
    /// cookies `__Host-` and `Secure`.
    pub public_origin: WebAppOrigin,
    /// How often `serve` runs a janitor pass.
    pub janitor_interval: std::time::Duration,
}

impl ServerConfig {
    /// Defaults for a database path: outbox SMS. Whether 2FA is mandatory
    /// for everyone is in the database (`policy`), not here.
    pub fn new(db_path: impl Into<PathBuf>) -> ServerConfig {
        ServerConfig {
            store: Store::Sqlite(db_path.into()),
            server_key: ServerKey::BesideDatabase,
            allow_clock_control: false,
            sms: SmsConfig::Outbox,
            password_cost: PasswordCost::default(),
            trusted_proxies: Vec::new(),
            sms_caps: SmsCaps::default(),
            public_origin: WebAppOrigin::default(),
            janitor_interval: DEFAULT_JANITOR_INTERVAL,
        }
    }
}

/// Text messages the server sends per rolling hour, counted from every send
/// it attempted (`sms_sends`), which nothing a user does can delete. Each
/// message costs money and can be aimed at a number the attacker is paid
/// for (SMS pumping), so each cap bounds one way of multiplying them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SmsCaps {
    /// One user, all purposes and numbers together.
    pub per_user: i64,
    /// One destination number, whichever users ask.
    pub per_number: i64,
    /// One country calling code (pumping targets a country's ranges).
    pub per_country: i64,
    /// The whole server.
    pub global: i64,
}

impl Default for SmsCaps {
    fn default() -> Self {
        SmsCaps {
            per_user: 10,
            per_number: 10,
            per_country: 200,
            global: 1000,
        }
    }
}

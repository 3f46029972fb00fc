//! `dialer-2fa-api`: the account API server and its admin commands.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use account_api::admin::{self, PlatformPolicy, Seeded};
use account_api::config::{ServerConfig, SmsCaps, SmsConfig, Store, TwilioConfig};
use account_api::password::PasswordCost;
use account_api::rules::{audit, sms};
use account_api::secret_box::{ServerKey, KEY_ENV};
use account_api::store::db;
use account_api::store::Conn;
use account_api::AppState;
use clap::{Args, Parser, Subcommand, ValueEnum};
use shared::api::AccountRole;
use shared::web_sync::WebAppOrigin;

/// mimalloc instead of glibc's malloc. Why: a request's database job is
/// allocated on a tokio worker and freed on the SQLite writer thread, and
/// glibc serialises such frees on the allocating arena's lock (perf's
/// sched_switch events on the writer: 12 % of its sleeps were in
/// `_int_free`'s lock wait). Under `make bench-api`'s load, three runs
/// each on 2026-11-29: the HTTP workers' CPU per verification went from
/// 36-39 to 34-35 us and health's from 25-27 to 24-26 us; the writer's
/// stayed at 28-29 us, and the verification rate moved within noise.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "dialer-2fa-api",
    version,
    about = "dialer-2fa account API: users, accounts, 2FA state and policy",
    after_help = "Admin subcommands work on the database file directly; no server is needed."
)]
struct Cli {
    /// How log lines on stderr are written: `text` for people, `json` (one
    /// object per line) for a log collector.
    #[arg(
        long,
        global = true,
        env = "DIALER_2FA_LOG_FORMAT",
        value_enum,
        default_value = "text"
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (creates and migrates the database first).
    Serve(Box<ServeArgs>),
    /// Manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage memberships (a user's role in an account).
    #[command(subcommand)]
    Membership(MembershipCommand),
    /// Manage the platform's own phone lines (refused as personal SMS numbers).
    #[command(subcommand, name = "platform-line")]
    PlatformLine(PlatformLineCommand),
    /// The platform's 2FA policy, which every node reads from the database.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// List SMS and notification messages in the outbox, newest last.
    Outbox {
        #[command(flatten)]
        db: DbArg,
        /// One JSON object per line instead of text.
        #[arg(long)]
        json: bool,
    },
    /// List the audit log, newest last.
    Audit {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        json: bool,
    },
}

/// The store: the database and the server key that seals its secrets.
#[derive(Args)]
struct DbArg {
    /// The SQLite database file (one node).
    #[arg(
        long,
        env = "DIALER_2FA_DB",
        required_unless_present = "database_url",
        conflicts_with = "database_url"
    )]
    db: Option<PathBuf>,
    /// A PostgreSQL database that several nodes share, as
    /// postgres://USER[:PASSWORD]@HOST[:PORT]/DB (prefer the environment
    /// variable when it carries a password: flags show in process lists).
    /// Needs --server-key-file or DIALER_2FA_SERVER_KEY.
    #[arg(long, env = "DIALER_2FA_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
    /// The server key: a file of 32 raw bytes (like the default `<db>.key`),
    /// which must exist. Or set DIALER_2FA_SERVER_KEY to the key in base64
    /// (not both). Without either, `<db>.key` is used, created on first start.
    #[arg(long, env = "DIALER_2FA_SERVER_KEY_FILE", value_name = "PATH")]
    server_key_file: Option<PathBuf>,
}

impl DbArg {
    /// Where the server key comes from. The key itself is read from the
    /// environment by hand rather than through a flag: a flag's value shows
    /// in every process list.
    fn server_key(&self) -> Result<ServerKey, String> {
        let env = match std::env::var(KEY_ENV) {
            Ok(text) => Some(text),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                return Err(format!("{KEY_ENV} is not base64"))
            }
        };
        ServerKey::from_options(self.server_key_file.clone(), env).map_err(|e| e.to_string())
    }

    fn store(&self, pool_size: u32) -> Store {
        match (&self.db, &self.database_url) {
            (_, Some(url)) => Store::Postgres {
                url: url.clone(),
                pool_size,
            },
            (Some(path), None) => Store::Sqlite(path.clone()),
            // clap requires one of the two
            (None, None) => Store::Sqlite(PathBuf::from("dialer-2fa.sqlite3")),
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum SenderKind {
    Outbox,
    Twilio,
}

#[derive(Clone, Copy, ValueEnum)]
enum Role {
    Owner,
    Member,
}

#[derive(Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArg,
    /// PostgreSQL connections this node keeps at most; requests beyond it
    /// wait up to 5 s for one, then get 429 with Retry-After.
    #[arg(long, env = "DIALER_2FA_DB_POOL_SIZE", default_value_t = db::DEFAULT_POOL_SIZE)]
    db_pool_size: u32,
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "DIALER_2FA_LISTEN", default_value = "127.0.0.1:8787")]
    listen: SocketAddr,
    /// The web app's origin as browsers write it (scheme://host[:port]), the
    /// same value the extension was built with (`make build WEB_APP_ORIGIN=`):
    /// the only Origin the web app's routes accept; https makes its cookies
    /// `__Host-` and `Secure`. Without it, `http://<listen address>` when that
    /// is a specific IP (plain http on loopback: development only).
    #[arg(long, env = "DIALER_2FA_PUBLIC_ORIGIN")]
    public_origin: Option<String>,
    /// When the database has no users, create a demo owner, account and member
    /// and print their credentials.
    #[arg(long, env = "DIALER_2FA_SEED_DEMO")]
    seed_demo: bool,
    /// Where text messages go.
    #[arg(
        long,
        env = "DIALER_2FA_SMS_SENDER",
        value_enum,
        default_value = "outbox"
    )]
    sms_sender: SenderKind,
    /// Kept for existing deployments: at start, records in the database
    /// that 2FA is mandatory for everyone now, like `policy mandatory
    /// --now` (so every node agrees). Leaving the flag out later does not
    /// lift it; `policy mandatory --cancel` does.
    #[arg(long, env = "DIALER_2FA_MANDATORY_2FA")]
    mandatory_2fa: bool,
    /// Enable POST /v1/test/clock to move the server clock. Tests only.
    #[arg(long, env = "DIALER_2FA_ALLOW_CLOCK_CONTROL")]
    allow_clock_control: bool,
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    twilio_account_sid: Option<String>,
    /// Prefer the environment variable: flags show up in process lists.
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// The sending number (E.164), sent as `From`.
    #[arg(long, env = "TWILIO_FROM")]
    twilio_from: Option<String>,
    #[arg(
        long,
        env = "TWILIO_BASE_URL",
        default_value = "https://api.twilio.com"
    )]
    twilio_base_url: String,
    /// Argon2id memory cost in KiB for new password hashes.
    #[arg(long, env = "DIALER_2FA_ARGON2_MEMORY_KIB", default_value_t = PasswordCost::default().memory_kib)]
    argon2_memory_kib: u32,
    /// Argon2id passes for new password hashes.
    #[arg(long, env = "DIALER_2FA_ARGON2_ITERATIONS", default_value_t = PasswordCost::default().iterations)]
    argon2_iterations: u32,
    /// A proxy (CIDR or address) whose X-Forwarded-For is believed; repeat
    /// for several. Without one, the client is the socket's peer.
    #[arg(
        long = "trusted-proxy",
        value_name = "CIDR",
        env = "DIALER_2FA_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = account_api::client_addr::parse_trusted_proxy
    )]
    trusted_proxies: Vec<ipnet::IpNet>,
    #[command(flatten)]
    sms_caps: SmsCapArgs,
    /// Keep Prometheus metrics and serve them at /metrics on
    /// --metrics-listen (never on the public --listen address).
    #[arg(long, env = "DIALER_2FA_METRICS")]
    metrics: bool,
    /// Where /metrics is served with --metrics: an internal address only
    /// the monitoring system reaches; port 0 picks a free one.
    #[arg(
        long,
        env = "DIALER_2FA_METRICS_LISTEN",
        default_value = "127.0.0.1:9464",
        requires = "metrics"
    )]
    metrics_listen: SocketAddr,
    /// Seconds between janitor passes, which delete expired sessions,
    /// challenges and codes and throttle rows that no longer count.
    #[arg(
        long,
        env = "DIALER_2FA_JANITOR_INTERVAL_SECONDS",
        default_value_t = account_api::janitor::DEFAULT_INTERVAL.as_secs(),
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    janitor_interval_seconds: u64,
}

/// Hourly SMS caps (SMS pumping); see `SmsCaps`.
#[derive(Args)]
struct SmsCapArgs {
    /// Text messages one user can trigger per hour.
    #[arg(long, env = "DIALER_2FA_SMS_PER_USER_HOUR", default_value_t = SmsCaps::default().per_user)]
    sms_per_user_hour: i64,
    /// Text messages one destination number gets per hour, all users together.
    #[arg(long, env = "DIALER_2FA_SMS_PER_NUMBER_HOUR", default_value_t = SmsCaps::default().per_number)]
    sms_per_number_hour: i64,
    /// Text messages per hour to one country calling code (+1, +44, ...).
    #[arg(long, env = "DIALER_2FA_SMS_PER_COUNTRY_HOUR", default_value_t = SmsCaps::default().per_country)]
    sms_per_country_hour: i64,
    /// Text messages the whole server sends per hour.
    #[arg(long, env = "DIALER_2FA_SMS_GLOBAL_HOUR", default_value_t = SmsCaps::default().global)]
    sms_global_hour: i64,
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user with a password.
    Create {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        email: String,
        #[arg(long, env = "DIALER_2FA_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Clear a user's lockout (100 consecutive second-factor failures never expire).
    Unlock {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        email: String,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account.
    Create {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        name: String,
    },
    /// Turn "Enforce 2FA" on (or off with --off) for an account.
    Enforce {
        #[command(flatten)]
        db: DbArg,
        #[arg(long)]
        name: String,
        #[arg(long)]
        off: bool,
    },
}

#[derive(Subcommand)]
enum MembershipCommand {
    /// Add a user to an account (or change their role).
    Add {
        #[command(flatten)]
        db: DbArg,
        /// The account's name.
        #[arg(long)]
        account: String,
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: Role,
    },
}

#[derive(Subcommand)]
enum PlatformLineCommand {
    /// Register one of the platform's own numbers.
    Add {
        #[command(flatten)]
        db: DbArg,
        /// E.164, e.g. +14155550100.
        #[arg(long)]
        phone: String,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Make 2FA mandatory for everyone from a date (with an optional grace
    /// period), now, or cancel that. Everyone without 2FA whose deadline
    /// this sets or moves is notified through the outbox.
    #[command(group(clap::ArgGroup::new("when").required(true).args(["from", "now", "cancel"])))]
    Mandatory {
        #[command(flatten)]
        db: DbArg,
        /// The first day (UTC, from midnight) on which 2FA is required.
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: Option<String>,
        /// Required from now on, with no grace period.
        #[arg(long)]
        now: bool,
        /// Lift the platform's requirement, scheduled or in force.
        #[arg(long)]
        cancel: bool,
        /// With --from: days after it during which people may still skip
        /// setup at sign-in, as many times in all as there are grace days
        /// (0 to 7).
        #[arg(long, default_value_t = 0, requires = "from",
              value_parser = clap::value_parser!(u32).range(0..=7))]
        grace_days: u32,
    },
    /// Print the platform's 2FA policy.
    Show {
        #[command(flatten)]
        db: DbArg,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        );
    match cli.log_format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("dialer-2fa-api: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the store for an admin command. A server key the operator named
/// is loaded too, so a wrong one fails here as it would at `serve`; the
/// default `<db>.key` is left for `serve` to create.
fn open(db: &DbArg) -> Result<Conn, String> {
    let key = db.server_key()?;
    if !matches!(key, ServerKey::BesideDatabase) {
        key.load(db.db.as_deref()).map_err(|e| e.to_string())?;
    }
    let store = db.store(1);
    match &store {
        Store::Sqlite(path) => admin::open(path),
        Store::Postgres { url, .. } => db::connect_postgres(url),
    }
    .map_err(|e| format!("{}: {e}", store.describe()))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Serve(args) => serve(*args),
        Command::User(UserCommand::Create {
            db,
            email,
            password,
        }) => {
            let id = admin::create_user(&open(&db)?, PasswordCost::default(), &email, &password)
                .map_err(|e| e.to_string())?;
            println!("created user {id} {email}");
            Ok(())
        }
        Command::User(UserCommand::Unlock { db, email }) => {
            admin::unlock_user(&open(&db)?, &email).map_err(|e| e.to_string())?;
            println!("unlocked {email}");
            Ok(())
        }
        Command::Account(AccountCommand::Create { db, name }) => {
            let id = admin::create_account(&open(&db)?, &name).map_err(|e| e.to_string())?;
            println!("created account {id} {name}");
            Ok(())
        }
        Command::Account(AccountCommand::Enforce { db, name, off }) => {
            admin::set_enforcement(&open(&db)?, &name, !off).map_err(|e| e.to_string())?;
            println!("enforce 2FA {} for {name}", if off { "off" } else { "on" });
            Ok(())
        }
        Command::Membership(MembershipCommand::Add {
            db,
            account,
            email,
            role,
        }) => {
            let role = match role {
                Role::Owner => AccountRole::Owner,
                Role::Member => AccountRole::Member,
            };
            admin::add_membership(&open(&db)?, &account, &email, role)
                .map_err(|e| e.to_string())?;
            println!(
                "{email} is now {} of {account}",
                if role == AccountRole::Owner {
                    "an owner"
                } else {
                    "a member"
                }
            );
            Ok(())
        }
        Command::PlatformLine(PlatformLineCommand::Add { db, phone }) => {
            let phone = admin::add_platform_line(&open(&db)?, &phone).map_err(|e| e.to_string())?;
            println!("platform line {phone} registered");
            Ok(())
        }
        Command::Policy(PolicyCommand::Mandatory {
            db,
            from,
            now,
            cancel,
            grace_days,
        }) => {
            let change = match (from, now, cancel) {
                (Some(day), _, _) => PlatformPolicy::From {
                    at: account_api::rules::policy::parse_day(&day)
                        .map_err(|e| format!("--from: {e}"))?,
                    grace_days,
                },
                (None, true, _) => PlatformPolicy::Now,
                _ => PlatformPolicy::Cancel,
            };
            let done =
                admin::set_platform_policy(&open(&db)?, change).map_err(|e| e.to_string())?;
            println!("{done}");
            Ok(())
        }
        Command::Policy(PolicyCommand::Show { db }) => {
            println!(
                "{}",
                admin::show_platform_policy(&open(&db)?).map_err(|e| e.to_string())?
            );
            Ok(())
        }
        Command::Outbox { db, json } => {
            let messages = sms::outbox(&open(&db)?).map_err(|e| e.to_string())?;
            for m in messages {
                if json {
                    println!("{}", serde_json::to_string(&m).map_err(|e| e.to_string())?);
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}",
                        m.id, m.created_at, m.kind, m.recipient, m.body
                    );
                }
            }
            Ok(())
        }
        Command::Audit { db, json } => {
            let rows = audit::list(&open(&db)?, None).map_err(|e| e.to_string())?;
            for r in rows {
                if json {
                    println!("{}", serde_json::to_string(&r).map_err(|e| e.to_string())?);
                } else {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}",
                        r.id,
                        r.at,
                        r.user_id.map(|u| u.to_string()).unwrap_or_default(),
                        r.event,
                        r.detail.unwrap_or_default(),
                        r.client_addr.unwrap_or_default()
                    );
                }
            }
            Ok(())
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let sms = match args.sms_sender {
        SenderKind::Outbox => SmsConfig::Outbox,
        SenderKind::Twilio => {
            let missing = |what: &str| format!("--sms-sender twilio needs {what}");
            SmsConfig::Twilio(TwilioConfig {
                account_sid: args
                    .twilio_account_sid
                    .ok_or_else(|| missing("TWILIO_ACCOUNT_SID"))?,
                auth_token: args
                    .twilio_auth_token
                    .ok_or_else(|| missing("TWILIO_AUTH_TOKEN"))?,
                from: args.twilio_from.ok_or_else(|| missing("TWILIO_FROM"))?,
                base_url: args.twilio_base_url,
            })
        }
    };
    let public_origin = match &args.public_origin {
        Some(text) => {
            Some(WebAppOrigin::parse(text.trim()).map_err(|e| format!("--public-origin: {e}"))?)
        }
        None => None,
    };
    let mut config = ServerConfig {
        store: args.db.store(args.db_pool_size),
        server_key: args.db.server_key()?,
        allow_clock_control: args.allow_clock_control,
        sms,
        password_cost: PasswordCost {
            memory_kib: args.argon2_memory_kib,
            iterations: args.argon2_iterations,
        },
        trusted_proxies: args.trusted_proxies,
        sms_caps: SmsCaps {
            per_user: args.sms_caps.sms_per_user_hour,
            per_number: args.sms_caps.sms_per_number_hour,
            per_country: args.sms_caps.sms_per_country_hour,
            global: args.sms_caps.sms_global_hour,
        },
        public_origin: WebAppOrigin::default(),
        janitor_interval: std::time::Duration::from_secs(args.janitor_interval_seconds),
    };
    if args.mandatory_2fa {
        let done = admin::set_platform_policy(&open(&args.db)?, PlatformPolicy::Now)
            .map_err(|e| e.to_string())?;
        tracing::warn!(
            "--mandatory-2fa: {done}, recorded in the database for every node; \
             `dialer-2fa-api policy mandatory --cancel` lifts it"
        );
    }
    if args.seed_demo {
        let conn = open(&args.db)?;
        match admin::seed_demo(&conn, config.password_cost).map_err(|e| e.to_string())? {
            Seeded::Created {
                owner_password,
                member_password,
            } => {
                println!("demo account: {}", admin::DEMO_ACCOUNT);
                println!(
                    "demo owner:   {}  password: {owner_password}",
                    admin::DEMO_OWNER
                );
                println!(
                    "demo member:  {}  password: {member_password}",
                    admin::DEMO_MEMBER
                );
            }
            Seeded::AlreadyThere => println!(
                "demo users exist already ({} / {}); their passwords were printed on first start",
                admin::DEMO_OWNER,
                admin::DEMO_MEMBER
            ),
        }
    }
    if config.allow_clock_control {
        tracing::warn!(
            "clock control is on: POST /v1/test/clock can move time; never use this in production"
        );
    }
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let addr = listener.local_addr().map_err(|e| e.to_string())?;
        config.public_origin = match public_origin {
            Some(origin) => origin,
            None => derived_public_origin(addr)?,
        };
        let state = AppState::open(config).map_err(|e| e.to_string())?;
        if args.metrics {
            serve_metrics(args.metrics_listen).await?;
        }
        let mut out = std::io::stdout();
        writeln!(out, "listening on http://{addr}").map_err(|e| e.to_string())?;
        out.flush().map_err(|e| e.to_string())?;
        account_api::serve(state, listener)
            .await
            .map_err(|e| e.to_string())
    })
}

/// Installs the Prometheus recorder and serves `/metrics` on its own
/// listener; prints `metrics on http://ADDR/metrics`.
async fn serve_metrics(listen: SocketAddr) -> Result<(), String> {
    let handle = account_api::telemetry::install().map_err(|e| format!("metrics: {e}"))?;
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen} for metrics: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let mut out = std::io::stdout();
    writeln!(out, "metrics on http://{addr}/metrics").map_err(|e| e.to_string())?;
    out.flush().map_err(|e| e.to_string())?;
    let router = account_api::telemetry::router(handle);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::error!(error = %e, "the metrics listener stopped");
        }
    });
    Ok(())
}

/// `http://<listen address>` when the server listens on one specific IP (the
/// port as bound, so `--listen 127.0.0.1:0` works). A wildcard address
/// names no origin a browser could use, so the server refuses to start
/// rather than guess.
fn derived_public_origin(addr: SocketAddr) -> Result<WebAppOrigin, String> {
    if addr.ip().is_unspecified() {
        return Err(format!(
            "cannot tell the web app's public origin from --listen {addr}: pass \
             --public-origin (or DIALER_2FA_PUBLIC_ORIGIN), e.g. https://app.example.com"
        ));
    }
    WebAppOrigin::parse(&format!("http://{addr}"))
        .map_err(|e| format!("cannot derive the web app's public origin: {e}"))
}

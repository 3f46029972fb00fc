//! The command line: the browser's form (`dialer-2fa-host
//! chrome-extension://<id>/ [--parent-window=N ...]`) and a person's
//! subcommands (`install`, `uninstall`, `doctor`).
//!
//! The browser's form is recognised before clap sees the arguments, because
//! Chrome adds arguments of its own (and may add more in future versions)
//! that clap would reject, and because clap's help or error text on stdout
//! would corrupt the frame stream.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use shared::product;

use crate::config::{self, HostConfig};
use crate::dispatch::Dispatcher;
use crate::install::{self, Browser, InstallOptions};
use crate::{doctor, logging, port, stdio};

/// Exit code when the config cannot be read.
pub const EXIT_CONFIG: u8 = 2;
/// Exit code when argv[1] is an origin the host was not installed for.
pub const EXIT_ORIGIN_REFUSED: u8 = 3;

const ORIGIN_PREFIX: &str = "chrome-extension://";

#[derive(Debug, Parser)]
#[command(
    name = "dialer-2fa-host",
    version,
    about = "dialer-2fa native messaging host: keeps the 2FA secrets and talks to the account API",
    long_about = "dialer-2fa native messaging host. The browser starts it as \
                  `dialer-2fa-host chrome-extension://<id>/`; people use the subcommands below."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Register the host with a browser and write the host's config.
    Install {
        #[arg(long, value_enum)]
        browser: Browser,
        /// A custom browser profile (Chrome's --user-data-dir); the manifest
        /// goes into DIR/NativeMessagingHosts.
        #[arg(long, value_name = "DIR")]
        user_data_dir: Option<PathBuf>,
        /// The account API's base address.
        #[arg(long, value_name = "URL", default_value = product::DEFAULT_API_URL)]
        api_url: String,
        /// The extension allowed to start the host.
        #[arg(long, value_name = "ID", default_value = product::EXTENSION_ID)]
        extension_id: String,
    },
    /// Remove the host's registration with a browser (config and vault stay).
    Uninstall {
        #[arg(long, value_enum)]
        browser: Browser,
        #[arg(long, value_name = "DIR")]
        user_data_dir: Option<PathBuf>,
    },
    /// Forget the recovery-code vault: its file and its key in the keyring.
    /// For when the key is lost and the kept codes cannot be read any more.
    ResetVault {
        /// Really delete (without it, only says what would go).
        #[arg(long)]
        yes: bool,
    },
    /// Show what is installed where, whether the keyring and the API answer.
    Doctor {
        /// Only this browser (default: all).
        #[arg(long, value_enum)]
        browser: Option<Browser>,
        #[arg(long, value_name = "DIR")]
        user_data_dir: Option<PathBuf>,
    },
}

/// Runs the program with its full argument list (argv[0] first).
pub fn main(args: Vec<OsString>) -> ExitCode {
    if let Some(origin) = args
        .get(1)
        .and_then(|a| a.to_str())
        .filter(|a| a.starts_with(ORIGIN_PREFIX))
    {
        return run_for_browser(origin);
    }
    logging::init_for_cli();
    let cli = Cli::parse_from(args);
    match run_command(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dialer-2fa-host: {:#}", e);
            ExitCode::FAILURE
        }
    }
}

fn run_command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Install {
            browser,
            user_data_dir,
            api_url,
            extension_id,
        } => {
            let report = install::install(&InstallOptions {
                browser,
                user_data_dir: user_data_dir.map(absolute).transpose()?,
                api_url,
                extension_id,
            })?;
            println!("{}", report);
            Ok(())
        }
        Command::Uninstall {
            browser,
            user_data_dir,
        } => {
            let user_data_dir = user_data_dir.map(absolute).transpose()?;
            let removed = install::uninstall(browser, user_data_dir.as_deref())?;
            if removed.is_empty() {
                println!(
                    "nothing to remove: no host manifest for {} at {}",
                    browser.name(),
                    install::manifest_path(browser, user_data_dir.as_deref())?.display()
                );
            }
            for line in removed {
                println!("{}", line);
            }
            println!("kept the host config and the vault (delete them by hand to forget them)");
            Ok(())
        }
        Command::ResetVault { yes } => reset_vault(yes),
        Command::Doctor {
            browser,
            user_data_dir,
        } => {
            let browsers = match browser {
                Some(b) => vec![b],
                None => Browser::ALL.to_vec(),
            };
            let user_data_dir = user_data_dir.map(absolute).transpose()?;
            let runtime = runtime()?;
            let report = runtime.block_on(doctor::run(&browsers, user_data_dir.as_deref()));
            println!("{}", report);
            Ok(())
        }
    }
}

fn reset_vault(yes: bool) -> anyhow::Result<()> {
    let path = config::data_dir()?.join(crate::vault::VAULT_FILE);
    if !yes {
        anyhow::bail!(
            "this deletes {} and the vault key in the OS keyring; the codes kept there are \
             lost. Run again with --yes to do it",
            path.display()
        );
    }
    for file in crate::vault::remove_files(&path)? {
        println!("deleted {}", file.display());
    }
    match crate::secrets::Secrets::connect()
        .and_then(|s| s.delete(crate::secrets::SecretKind::VaultKey))
    {
        Ok(true) => println!("deleted the vault key from the OS keyring"),
        Ok(false) => println!("the OS keyring held no vault key"),
        Err(e) => println!(
            "could not reach the OS keyring to delete the vault key: {}",
            e
        ),
    }
    println!("the next vault request starts an empty vault");
    Ok(())
}

fn absolute(path: PathBuf) -> anyhow::Result<PathBuf> {
    Ok(std::path::absolute(path)?)
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
}

/// The browser's form: check the origin, then serve the port on stdio.
fn run_for_browser(origin: &str) -> ExitCode {
    logging::init_for_browser();
    let config_path = match config::config_path() {
        Ok(path) => path,
        Err(e) => {
            tracing::error!(error = %e, "no config path");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    let config = match HostConfig::load(&config_path) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!(error = %e, "cannot start without a readable config");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if !config.allows_origin(origin) {
        // Refuse before reading a byte: another extension must not get
        // anything out of this host.
        tracing::error!(
            %origin,
            config = %config_path.display(),
            "refused: origin is not in allowed_origins"
        );
        return ExitCode::from(EXIT_ORIGIN_REFUSED);
    }
    let data_dir = match config::data_dir() {
        Ok(dir) => dir,
        Err(e) => {
            tracing::error!(error = %e, "no data dir");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    tracing::info!(%origin, api = %config.api_url, "port opened");
    let runtime = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            tracing::error!(error = %e, "could not start the async runtime");
            return ExitCode::FAILURE;
        }
    };
    let end = runtime.block_on(async {
        let (tx, rx) = port::outbox();
        let dispatcher = match Dispatcher::new(&config, data_dir, &tx) {
            Ok(d) => Arc::new(d),
            Err(e) => {
                tracing::error!(error = %e, "could not set up the API client");
                return None;
            }
        };
        let (input, output) = stdio::browser_stdio();
        Some(port::serve(input, output, dispatcher, tx, rx).await)
    });
    // Blocking keyring or SQLite work still running must not keep a
    // finished port's process alive.
    runtime.shutdown_timeout(std::time::Duration::from_millis(100));
    match end {
        Some(end) => {
            tracing::info!(?end, "port closed");
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

//! `dialer-2fa-host`: started by the browser with an extension origin, or by
//! a person with a subcommand. See [`dialer_2fa_host::cli`].

fn main() -> std::process::ExitCode {
    dialer_2fa_host::cli::main(std::env::args_os().collect())
}

//! The browser's end of the port: stdin and stdout as async streams.
//!
//! Chrome connects the host through two anonymous pipes. Tokio's own
//! `stdin()`/`stdout()` serve any kind of file by running each read and
//! write on a blocking-pool thread, so every message crossed three threads
//! (reader thread, runtime, writer thread), each hop a futex wake-up and a
//! context switch on the critical path. Measured with `make bench-host`,
//! that hand-off was most of a cached `status` round trip. When both ends
//! are pipes they are instead put in non-blocking mode and registered with
//! the runtime's reactor, so the runtime thread reads and writes them
//! itself. Anything else (a file, a terminal, a socket from a test
//! harness) keeps tokio's blocking-pool streams, which work on every kind
//! of file.

use tokio::io::{AsyncRead, AsyncWrite};

/// Where the port reads the browser's frames from.
pub type Input = Box<dyn AsyncRead + Unpin + Send>;
/// Where the port writes its frames to.
pub type Output = Box<dyn AsyncWrite + Unpin + Send>;

/// Stdin and stdout for [`crate::port::serve`]; must be called inside the
/// runtime (the pipes register with its reactor).
pub fn browser_stdio() -> (Input, Output) {
    #[cfg(unix)]
    {
        (unix::input(), unix::output())
    }
    #[cfg(not(unix))]
    {
        (Box::new(tokio::io::stdin()), Box::new(tokio::io::stdout()))
    }
}

#[cfg(unix)]
mod unix {
    use std::os::fd::AsFd;

    use tokio::net::unix::pipe;

    use super::{Input, Output};

    /// A duplicate of fd 0 as a reactor-driven pipe, else tokio's stdin.
    /// The duplicate shares the pipe's open file description, so the
    /// non-blocking flag it sets is the pipe's; fd 0 itself stays open
    /// until the process exits, as with tokio's stdin.
    pub(super) fn input() -> Input {
        let pipe = std::io::stdin()
            .as_fd()
            .try_clone_to_owned()
            .and_then(pipe::Receiver::from_owned_fd);
        match pipe {
            Ok(pipe) => Box::new(pipe),
            Err(e) => {
                tracing::debug!(error = %e, "stdin is not a pipe; reading it on the blocking pool");
                Box::new(tokio::io::stdin())
            }
        }
    }

    /// A duplicate of fd 1 as a reactor-driven pipe, else tokio's stdout.
    pub(super) fn output() -> Output {
        let pipe = std::io::stdout()
            .as_fd()
            .try_clone_to_owned()
            .and_then(pipe::Sender::from_owned_fd);
        match pipe {
            Ok(pipe) => Box::new(pipe),
            Err(e) => {
                tracing::debug!(error = %e, "stdout is not a pipe; writing it on the blocking pool");
                Box::new(tokio::io::stdout())
            }
        }
    }
}

//! The one shutdown signal both servers (`serve`, `serve-http`) stop on: SIGTERM or SIGINT
//! (Ctrl-C), with the handlers installed when [`on_signal`] is called, not when the future is
//! first polled, so a signal that arrives while a server is still starting is neither lost
//! nor fatal.
//!
//! Installing a handler replaces the signal's default action (ending the process) for the
//! rest of its life, so the CLI calls [`on_signal`] only once the library is open: a Ctrl-C
//! during a long index build still ends the process at once.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// Resolves once SIGTERM or SIGINT arrives (on other platforms, Ctrl-C).
pub struct Signal(Pin<Box<dyn Future<Output = ()> + Send>>);

impl Future for Signal {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

/// Installs the SIGTERM and SIGINT handlers now and returns the future that resolves on the
/// first of them. Must be called inside a tokio runtime.
pub fn on_signal() -> std::io::Result<Signal> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        Ok(Signal(Box::pin(async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!("{name}: shutting down, finishing the work in flight");
        })))
    }
    #[cfg(not(unix))]
    {
        Ok(Signal(Box::pin(async {
            let _ = tokio::signal::ctrl_c().await;
            tracing::info!("Ctrl-C: shutting down, finishing the work in flight");
        })))
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A signal raised after `on_signal` but before anyone polls the future is not lost: the
    /// handler was installed by the call itself.
    #[tokio::test]
    async fn a_signal_before_the_first_poll_is_kept() {
        let signal = on_signal().unwrap();
        // SIGTERM to ourselves: with the handler installed it is caught, not fatal.
        let status = std::process::Command::new("kill")
            .args(["-TERM", &std::process::id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        signal.await;
    }
}

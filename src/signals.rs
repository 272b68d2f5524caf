//! Every operating-system signal kvsync handles, registered in one place.
//!
//! - Stop: SIGTERM or SIGINT on Unix, Ctrl-C elsewhere. [`StopSignals`] (every stop signal, one
//!   after the other) and [`stop`] (the first one) take over the signals when they are made, not
//!   when first polled, so a caller makes them before it announces readiness (an address, a
//!   banner): a supervisor that signals as soon as it reads that finds the handler in place
//!   instead of the default action, death.
//! - Reload: SIGHUP on Unix, as the stream [`Hangups`]; elsewhere a stream that never yields.
//!
//! All of them need a Tokio runtime with IO enabled when made.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_util::Stream;

/// SIGTERM and SIGINT (Ctrl-C where there are no Unix signals), watched from [`new`](Self::new) on.
#[derive(Debug)]
pub struct StopSignals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Takes over SIGTERM and SIGINT now. Fails when a handler cannot be installed.
    pub fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(StopSignals {
                term: signal(SignalKind::terminate())?,
                interrupt: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(StopSignals {})
        }
    }

    /// The next stop signal; `true` when one came, `false` when no more can.
    pub async fn next(&mut self) -> bool {
        #[cfg(unix)]
        {
            tokio::select! {
                got = self.term.recv() => got.is_some(),
                got = self.interrupt.recv() => got.is_some(),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c().await.is_ok()
        }
    }
}

/// The first stop signal from this call on. When the handlers cannot be installed it never
/// resolves (the signals keep their default action).
pub fn stop() -> Pin<Box<dyn Future<Output = ()> + Send>> {
    match StopSignals::new() {
        Ok(mut signals) => Box::pin(async move {
            signals.next().await;
        }),
        Err(_) => Box::pin(std::future::pending()),
    }
}

/// SIGHUP, one item per signal, watched from [`new`](Self::new) on. Without Unix signals, a
/// stream that never yields.
#[derive(Debug)]
pub struct Hangups {
    #[cfg(unix)]
    hangup: tokio::signal::unix::Signal,
}

impl Hangups {
    /// Takes over SIGHUP now. Fails when the handler cannot be installed.
    pub fn new() -> io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Hangups {
                hangup: signal(SignalKind::hangup())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Hangups {})
        }
    }

    /// The next SIGHUP; `None` when no more can come.
    pub async fn recv(&mut self) -> Option<()> {
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    fn poll_recv(&mut self, cx: &mut Context<'_>) -> Poll<Option<()>> {
        #[cfg(unix)]
        {
            self.hangup.poll_recv(cx)
        }
        #[cfg(not(unix))]
        {
            let _ = cx;
            Poll::Pending
        }
    }
}

impl Stream for Hangups {
    type Item = ();

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<()>> {
        self.get_mut().poll_recv(cx)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Duration;

    use super::*;

    // One test sends every signal, in turn, so no other test of this binary sees them.
    #[tokio::test]
    async fn signals_sent_after_registration_are_seen() {
        let mut hangups = Hangups::new().unwrap();
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::HUP)
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), hangups.recv()).await;
        assert_eq!(got.unwrap(), Some(()));

        let mut stops = StopSignals::new().unwrap();
        rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::TERM)
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), stops.next()).await;
        assert!(got.unwrap());
    }
}

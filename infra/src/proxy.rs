//! A TCP proxy on loopback that can be cut: `make chaos` puts it between the API and the
//! emulator to play an AWS outage as the API sees it. Cut, it either refuses connections
//! (and closes those open), or stalls them (a network that drops packets): new ones are
//! accepted and go through only once restored, those open get nothing more and are closed
//! when restored.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// How the proxy treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Forward,
    /// Connecting is refused; connections open are closed.
    Refuse,
    /// Connections are accepted (and those open kept) but nothing goes through.
    Stall,
}

#[derive(Clone)]
pub struct CutProxy {
    addr: SocketAddr,
    mode: Arc<watch::Sender<Mode>>,
}

impl CutProxy {
    /// Listens on a free loopback port and forwards every connection to `upstream`
    /// (`host:port`).
    pub async fn start(upstream: &str) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the proxy")?;
        let addr = listener.local_addr()?;
        let mode = Arc::new(watch::channel(Mode::Forward).0);
        tokio::spawn(serve(listener, addr, upstream.to_owned(), mode.clone()));
        Ok(Self { addr, mode })
    }

    /// The proxy as an endpoint URL for the AWS SDK.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `Refuse` or `Stall` cut it; `Forward` restores it.
    pub fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// Resolves once the mode is one that `pred` accepts.
async fn until(rx: &mut watch::Receiver<Mode>, pred: impl Fn(Mode) -> bool) -> Mode {
    rx.wait_for(|m| pred(*m)).await.map(|m| *m).unwrap_or(Mode::Forward)
}

async fn serve(
    mut listener: TcpListener,
    addr: SocketAddr,
    upstream: String,
    mode: Arc<watch::Sender<Mode>>,
) {
    let mut state = mode.subscribe();
    loop {
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    if let Ok((client, _)) = accepted {
                        tokio::spawn(pipe(client, upstream.clone(), mode.subscribe()));
                    }
                }
                _ = until(&mut state, |m| m == Mode::Refuse) => break,
            }
        }
        // No listener: connecting is refused until the mode changes.
        drop(listener);
        until(&mut state, |m| m != Mode::Refuse).await;
        listener = loop {
            match TcpListener::bind(addr).await {
                Ok(l) => break l,
                Err(e) => {
                    tracing::warn!(error = %e, %addr, "proxy cannot listen again yet");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
        };
    }
}

async fn pipe(mut client: TcpStream, upstream: String, mut mode: watch::Receiver<Mode>) {
    // Accepted while stalled: held, and forwarded once restored (as TCP would retransmit).
    if until(&mut mode, |m| m != Mode::Stall).await == Mode::Refuse {
        return;
    }
    let Ok(mut server) = TcpStream::connect(&upstream).await else {
        return;
    };
    let cut = tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => return,
        cut = until(&mut mode, |m| m != Mode::Forward) => cut,
    };
    if cut == Mode::Stall {
        // Nothing more goes through; both sockets close when the proxy is restored.
        until(&mut mode, |m| m != Mode::Stall).await;
    }
    // Dropping both sockets closes them: a request in flight fails mid-way.
    drop((client, server));
}

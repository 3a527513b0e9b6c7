//! Listening sockets, TLS, connection serving and graceful shutdown.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::auth::KeyTagger;
use crate::reload;
use crate::routes::{self, Peer};
use crate::settings::{self, TlsFiles};
use crate::state::{DEFAULT_RELEASES_API, Shared, SharedParts};

/// How long a stopping engine waits for open requests before closing anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// How long a client may take to send request headers or finish a TLS handshake.
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `-password` keeps the engine alive without a `/keep-alive` ping.
pub const KEEP_ALIVE_TIMEOUT: Duration = Duration::from_secs(10);

/// How to start an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub config_path: PathBuf,
    /// `-password`: local-only management password; also arms the keep-alive watchdog.
    pub local_password: Option<String>,
    /// `MANAGEMENT_PASSWORD` (blank means unset).
    pub env_password: Option<String>,
    /// Verify the key with bcrypt on every request, as upstream does (for benchmarks).
    pub disable_key_cache: bool,
    /// Base URL of the releases API for `latest-version`.
    pub releases_api: String,
}

impl EngineOptions {
    /// Options for `config_path` with everything else at its default.
    pub fn new(config_path: impl Into<PathBuf>) -> Self {
        Self {
            config_path: config_path.into(),
            local_password: None,
            env_password: None,
            disable_key_cache: false,
            releases_api: DEFAULT_RELEASES_API.to_string(),
        }
    }
}

/// Start-up failure, as one line naming the file or port.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(pub String);

/// A running engine.
pub struct Engine {
    local_addrs: Vec<SocketAddr>,
    display_address: String,
    shutdown: watch::Sender<bool>,
    stopped: watch::Receiver<bool>,
    connections_done: mpsc::Receiver<()>,
    _watcher: Option<reload::ConfigWatcher>,
}

impl Engine {
    /// Loads the config, binds the listeners and starts serving.
    ///
    /// Returns once the sockets are bound, so the reported port is final.
    pub async fn start(options: EngineOptions) -> Result<Engine, StartError> {
        let config_path = std::path::absolute(&options.config_path).map_err(|err| {
            StartError(format!(
                "failed to resolve config path {}: {err}",
                options.config_path.display()
            ))
        })?;
        let load_path = config_path.clone();
        let loaded = tokio::task::spawn_blocking(move || settings::load(&load_path))
            .await
            .map_err(|err| StartError(format!("config load task failed: {err}")))?
            .map_err(StartError)?;

        let acceptor = match &loaded.tls {
            None => None,
            Some(Err(message)) => return Err(StartError(message.clone())),
            Some(Ok(files)) => Some(tls_acceptor(files)?),
        };
        let host = loaded.host.clone();
        let port = loaded.port;
        let listeners = bind(&host, port, &config_path).await?;
        let local_addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(TcpListener::local_addr)
            .collect::<Result<_, _>>()
            .map_err(|err| StartError(format!("failed to read the bound address: {err}")))?;
        let Some(bound_port) = local_addrs.first().map(SocketAddr::port) else {
            return Err(StartError(format!(
                "failed to listen on {host}:{port}: no socket was bound"
            )));
        };

        let tagger = KeyTagger::new().map_err(|err| {
            StartError(format!(
                "failed to read random bytes for the key cache: {err}"
            ))
        })?;
        let (keep_alive_sender, keep_alive_receiver) = match &options.local_password {
            Some(password) if !password.is_empty() => {
                let (sender, receiver) = mpsc::unbounded_channel();
                (Some(sender), Some(receiver))
            }
            _ => (None, None),
        };
        let shared = Arc::new(Shared::new(
            loaded,
            SharedParts {
                config_path,
                tagger,
                cache_enabled: !options.disable_key_cache,
                env_password: options
                    .env_password
                    .map(|value| value.trim().to_string())
                    .filter(|value| !value.is_empty()),
                local_password: options.local_password.filter(|value| !value.is_empty()),
                releases_api: options.releases_api,
                keep_alive: keep_alive_sender,
            },
        ));
        if shared.started_in_safe_mode {
            tracing::error!(
                "unsafe example API key configured; proxy API endpoints disabled until api-keys is updated"
            );
        }

        let (shutdown, shutdown_receiver) = watch::channel(false);
        let (stopped_sender, stopped) = watch::channel(false);
        // Serving without hot reload beats not serving (upstream exits here).
        let watcher = match reload::start(shared.clone(), shutdown_receiver.clone()) {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!("{err}; config changes apply only after a restart");
                None
            }
        };

        let router = Router::new()
            .fallback(routes::handle)
            .with_state(shared.clone());
        let (connection_sender, connections_done) = mpsc::channel::<()>(1);
        for listener in listeners {
            tokio::spawn(accept_loop(
                listener,
                router.clone(),
                acceptor.clone(),
                shutdown_receiver.clone(),
                connection_sender.clone(),
            ));
        }
        drop(connection_sender);

        spawn_prune_task(shared.clone(), shutdown_receiver.clone());
        if let Some(receiver) = keep_alive_receiver {
            spawn_keep_alive_watchdog(
                receiver,
                shutdown.clone(),
                shutdown_receiver.clone(),
                stopped_sender,
            );
        } else {
            drop(stopped_sender);
        }

        Ok(Engine {
            local_addrs,
            display_address: format!("{host}:{bound_port}"),
            shutdown,
            stopped,
            connections_done,
            _watcher: watcher,
        })
    }

    /// Returns the first bound address (with the real port when port 0 was configured).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addrs[0]
    }

    /// Returns every bound address.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Returns `<host>:<port>` as upstream prints it (`:8317` for all interfaces).
    pub fn display_address(&self) -> &str {
        &self.display_address
    }

    /// Completes when the engine stops by itself (the `-password` keep-alive expired).
    pub async fn stopped_by_itself(&mut self) {
        while !*self.stopped.borrow() {
            if self.stopped.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }

    /// Stops accepting, lets open requests finish (up to 10 s), then returns.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        let drained = tokio::time::timeout(SHUTDOWN_GRACE, self.connections_done.recv()).await;
        if drained.is_err() {
            tracing::warn!("closing connections that were still open after {SHUTDOWN_GRACE:?}");
        }
    }
}

impl Drop for Engine {
    /// Stops accepting when the handle goes away without [`Engine::shutdown`].
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}

/// Binds `host:port` like Go's `net.Listen("tcp", host:port)`.
///
/// An empty host means every interface: `[::]` (dual-stack where the system
/// allows it) plus `0.0.0.0` on the same port when the IPv6 socket does not
/// already cover IPv4. A host name binds its first resolved address.
async fn bind(host: &str, port: u16, config: &Path) -> Result<Vec<TcpListener>, StartError> {
    let failure = |address: &str, err: std::io::Error| {
        let hint = if err.kind() == std::io::ErrorKind::AddrInUse {
            format!(
                "stop the program using port {port} or change `port` in {}",
                config.display()
            )
        } else {
            format!("check `host` and `port` in {}", config.display())
        };
        StartError(format!("failed to listen on {address}: {err}; {hint}"))
    };

    if host.is_empty() {
        let v6 = std_bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port));
        return match v6 {
            Ok(v6) => {
                let actual = v6
                    .local_addr()
                    .map_err(|err| failure(&format!(":{port}"), err))?
                    .port();
                let mut listeners = vec![v6];
                match std_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), actual)) {
                    Ok(v4) => listeners.push(v4),
                    // The IPv6 socket is dual-stack and already takes IPv4.
                    Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {}
                    Err(err) => return Err(failure(&format!("0.0.0.0:{actual}"), err)),
                }
                listeners
                    .into_iter()
                    .map(into_tokio)
                    .collect::<Result<_, _>>()
                    .map_err(|err| failure(&format!(":{port}"), err))
            }
            Err(err) if err.kind() == std::io::ErrorKind::AddrInUse => {
                Err(failure(&format!(":{port}"), err))
            }
            Err(_) => {
                let v4 = std_bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port))
                    .map_err(|err| failure(&format!(":{port}"), err))?;
                Ok(vec![
                    into_tokio(v4).map_err(|err| failure(&format!(":{port}"), err))?,
                ])
            }
        };
    }

    let address = format!("{host}:{port}");
    let literal = host
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .unwrap_or(host)
        .parse::<IpAddr>();
    let target = match literal {
        Ok(ip) => SocketAddr::new(ip, port),
        Err(_) => tokio::net::lookup_host((host, port))
            .await
            .map_err(|err| failure(&address, err))?
            .next()
            .ok_or_else(|| {
                StartError(format!(
                    "failed to listen on {address}: host name did not resolve; check `host` in {}",
                    config.display()
                ))
            })?,
    };
    let listener = std_bind(target).map_err(|err| failure(&address, err))?;
    Ok(vec![
        into_tokio(listener).map_err(|err| failure(&address, err))?,
    ])
}

fn std_bind(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    std::net::TcpListener::bind(address)
}

fn into_tokio(listener: std::net::TcpListener) -> std::io::Result<TcpListener> {
    listener.set_nonblocking(true)?;
    TcpListener::from_std(listener)
}

fn tls_acceptor(files: &TlsFiles) -> Result<TlsAcceptor, StartError> {
    let read = |path: &Path| {
        std::fs::read(path).map_err(|err| {
            StartError(format!(
                "failed to start HTTPS server: cannot read {}: {err}",
                path.display()
            ))
        })
    };
    let cert_pem = read(&files.cert)?;
    let key_pem = read(&files.key)?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut cert_pem.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|err| {
            StartError(format!(
                "failed to start HTTPS server: invalid certificate PEM in {}: {err}",
                files.cert.display()
            ))
        })?;
    if certs.is_empty() {
        return Err(StartError(format!(
            "failed to start HTTPS server: no certificate found in {}",
            files.cert.display()
        )));
    }
    let key = rustls_pemfile::private_key(&mut key_pem.as_slice())
        .map_err(|err| {
            StartError(format!(
                "failed to start HTTPS server: invalid key PEM in {}: {err}",
                files.key.display()
            ))
        })?
        .ok_or_else(|| {
            StartError(format!(
                "failed to start HTTPS server: no private key found in {}",
                files.key.display()
            ))
        })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|err| StartError(format!("failed to start HTTPS server: {err}")))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|err| {
            StartError(format!(
                "failed to start HTTPS server: {} and {} do not form a usable pair: {err}",
                files.cert.display(),
                files.key.display()
            ))
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    acceptor: Option<TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
    connections: mpsc::Sender<()>,
) {
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = shutdown.changed() => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(err) => {
                // Running out of file descriptors must not spin the loop.
                tracing::warn!("failed to accept a connection: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let acceptor = acceptor.clone();
        let shutdown = shutdown.clone();
        let guard = connections.clone();
        tokio::spawn(async move {
            serve_stream(stream, peer, router, acceptor, shutdown).await;
            drop(guard);
        });
    }
    // Close the socket before reporting this loop done, so the port is free
    // once `Engine::shutdown` returns.
    drop(listener);
    drop(connections);
}

async fn serve_stream(
    stream: TcpStream,
    peer: SocketAddr,
    router: Router,
    acceptor: Option<TlsAcceptor>,
    shutdown: watch::Receiver<bool>,
) {
    match acceptor {
        None => serve_io(TokioIo::new(stream), peer, router, shutdown).await,
        Some(acceptor) => {
            match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => serve_io(TokioIo::new(tls), peer, router, shutdown).await,
                Ok(Err(err)) => tracing::debug!("TLS handshake with {peer} failed: {err}"),
                Err(_) => tracing::debug!("TLS handshake with {peer} timed out"),
            }
        }
    }
}

async fn serve_io<I>(io: I, peer: SocketAddr, router: Router, mut shutdown: watch::Receiver<bool>)
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(Peer(peer));
        router.clone().oneshot(request)
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(io, service);
    tokio::pin!(connection);
    let mut stopping = *shutdown.borrow();
    if stopping {
        connection.as_mut().graceful_shutdown();
    }
    loop {
        if stopping {
            let _ = connection.as_mut().await;
            return;
        }
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(err) = result {
                    tracing::debug!("connection from {peer} ended with an error: {err}");
                }
                return;
            }
            _ = shutdown.changed() => {
                connection.as_mut().graceful_shutdown();
                stopping = true;
            }
        }
    }
}

fn spawn_prune_task(shared: Arc<Shared>, mut shutdown: watch::Receiver<bool>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(Duration::from_secs(3600));
        interval.tick().await;
        loop {
            tokio::select! {
                _ = interval.tick() => shared.bans.prune(std::time::Instant::now()),
                _ = shutdown.changed() => return,
            }
        }
    });
}

/// Stops the engine when `-password` was given and no `/keep-alive` ping
/// arrived for 10 seconds, as upstream does.
fn spawn_keep_alive_watchdog(
    mut pings: mpsc::UnboundedReceiver<()>,
    shutdown: watch::Sender<bool>,
    mut shutdown_receiver: watch::Receiver<bool>,
    stopped: watch::Sender<bool>,
) {
    tokio::spawn(async move {
        loop {
            tokio::select! {
                ping = tokio::time::timeout(KEEP_ALIVE_TIMEOUT, pings.recv()) => {
                    if let Ok(Some(())) = ping {
                        continue;
                    }
                    tracing::warn!("keep-alive endpoint idle for 10s, shutting down");
                    let _ = stopped.send(true);
                    let _ = shutdown.send(true);
                    return;
                }
                _ = shutdown_receiver.changed() => return,
            }
        }
    });
}

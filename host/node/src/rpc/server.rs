//! The RPC server's own accept loop, so that no single client can make the node refuse the
//! others: connections are counted per client (an IPv4 address, or an IPv6 /64), a connection
//! that sends nothing for [`IDLE_TIMEOUT`](super::IDLE_TIMEOUT) is closed (HTTP keep-alive,
//! half-sent headers, WebSocket), a request must arrive and be answered within
//! [`REQUEST_TIMEOUT`](super::REQUEST_TIMEOUT), a client computes at most
//! [`MAX_CALLS_PER_CLIENT`](super::MAX_CALLS_PER_CLIENT) calls at once, and a batch is priced
//! ([`super::cost`]) and refused before any of its calls runs. The limits are in docs/rpc.md.

use std::collections::BTreeMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv6Addr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use jsonrpsee::server::middleware::rpc::{
    Batch, BatchEntry, Extensions, MethodResponse, Notification, Request, RpcServiceT,
};
use jsonrpsee::server::{
    BatchRequestConfig, BatchResponseBuilder, HttpBody, PingConfig, ServerConfig, ServerHandle, StopHandle,
    stop_channel,
};
use jsonrpsee::types::{ErrorObject, Id};
use jsonrpsee::{Methods, RpcModule};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};
use tower::Service;

use crate::cors::Cors;
use crate::files::WalletFiles;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
type Answer = Pin<Box<dyn Future<Output = Result<http::Response<HttpBody>, BoxError>> + Send>>;

/// JSON-RPC's code for a refused batch (jsonrpsee's "batch request was too large").
pub const BATCH_REFUSED: i32 = -32010;
/// JSON-RPC's code for a refused subscription (jsonrpsee's "too many subscriptions").
pub const TOO_MANY_SUBSCRIPTIONS: i32 = -32006;

/// The client a connection belongs to: its IPv4 address, or the /64 of its IPv6 address (one
/// host usually holds a whole /64).
pub fn client_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(u128::from(v6) & !u128::from(u64::MAX))),
        },
    }
}

#[derive(Debug)]
struct Entry {
    connections: u32,
    subscriptions: u32,
    calls: Arc<tokio::sync::Semaphore>,
}

#[derive(Debug, Default)]
struct Table {
    clients: BTreeMap<IpAddr, Entry>,
    connections: u32,
}

/// Connection and subscription counts per client, and each client's call slots.
#[derive(Debug)]
pub struct Clients {
    table: Mutex<Table>,
    limits: Limits,
}

/// The numbers [`Clients`] enforces (the node uses [`Limits::default`], the constants of
/// [`super`]).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Open connections, all clients together.
    pub connections: u32,
    /// Open connections of one client.
    pub connections_per_client: u32,
    /// Live subscriptions of one client, over all its connections.
    pub subscriptions_per_client: u32,
    /// Calls (or batches) of one client computed at once; more wait their turn.
    pub calls_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connections: super::MAX_CONNECTIONS,
            connections_per_client: super::MAX_CONNECTIONS_PER_CLIENT,
            subscriptions_per_client: super::MAX_SUBSCRIPTIONS_PER_CLIENT,
            calls_per_client: super::MAX_CALLS_PER_CLIENT,
        }
    }
}

impl Clients {
    /// An empty table enforcing `limits`.
    pub fn new(limits: Limits) -> Arc<Clients> {
        Arc::new(Clients { table: Mutex::new(Table::default()), limits })
    }

    fn lock(&self) -> MutexGuard<'_, Table> {
        // Counters stay consistent even if a holder panicked: every update is one statement.
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A connection slot for a connection from `ip`, or `None` when the node or that client is
    /// at its limit.
    pub fn connect(self: &Arc<Self>, ip: IpAddr) -> Option<(ConnectionSlot, Client)> {
        let ip = client_of(ip);
        let mut table = self.lock();
        if table.connections >= self.limits.connections {
            return None;
        }
        let calls = self.limits.calls_per_client;
        let entry = table.clients.entry(ip).or_insert_with(|| Entry {
            connections: 0,
            subscriptions: 0,
            calls: Arc::new(tokio::sync::Semaphore::new(calls)),
        });
        if entry.connections >= self.limits.connections_per_client {
            return None;
        }
        entry.connections += 1;
        let calls = entry.calls.clone();
        table.connections += 1;
        let client = Client { clients: self.clone(), ip, calls };
        Some((ConnectionSlot(client.clone()), client))
    }

    /// Open connections of all clients.
    pub fn connections(&self) -> u32 {
        self.lock().connections
    }

    fn release(&self, ip: IpAddr, connection: bool) {
        let mut table = self.lock();
        if connection {
            table.connections = table.connections.saturating_sub(1);
        }
        if let Some(entry) = table.clients.get_mut(&ip) {
            if connection {
                entry.connections = entry.connections.saturating_sub(1);
            } else {
                entry.subscriptions = entry.subscriptions.saturating_sub(1);
            }
            if entry.connections == 0 && entry.subscriptions == 0 {
                table.clients.remove(&ip);
            }
        }
    }
}

/// One client as seen by its requests (in each request's extensions): takes subscription slots
/// and call slots.
#[derive(Debug, Clone)]
pub struct Client {
    clients: Arc<Clients>,
    ip: IpAddr,
    calls: Arc<tokio::sync::Semaphore>,
}

impl Client {
    /// A subscription slot, or `None` when this client holds as many as allowed.
    pub fn subscription(&self) -> Option<SubscriptionSlot> {
        let mut table = self.clients.lock();
        let entry = table.clients.get_mut(&self.ip)?;
        if entry.subscriptions >= self.clients.limits.subscriptions_per_client {
            return None;
        }
        entry.subscriptions += 1;
        Some(SubscriptionSlot(self.clone()))
    }
}

/// Held while a connection is open (its socket holds it, also after a WebSocket upgrade).
#[derive(Debug)]
pub struct ConnectionSlot(Client);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.clients.release(self.0.ip, true);
    }
}

/// Held while a subscription is live.
#[derive(Debug)]
pub struct SubscriptionSlot(Client);

impl Drop for SubscriptionSlot {
    fn drop(&mut self) {
        self.0.clients.release(self.0.ip, false);
    }
}

/// A socket that fails with `TimedOut` once its peer has sent nothing for `idle` while it is
/// being read (an idle keep-alive, a connection that never sends its request, a WebSocket that
/// answers no ping), or has read nothing for `idle` while an answer waits to be written (a
/// client that asks and never reads). It holds the connection's slot, so the slot is free when
/// it is dropped.
struct IdleTimeout {
    stream: TcpStream,
    idle: Duration,
    read_deadline: Pin<Box<Sleep>>,
    /// Armed while a write cannot proceed.
    write_deadline: Pin<Box<Sleep>>,
    write_stalled: bool,
    _slot: ConnectionSlot,
}

impl IdleTimeout {
    fn new(stream: TcpStream, idle: Duration, slot: ConnectionSlot) -> Self {
        IdleTimeout {
            stream,
            idle,
            read_deadline: Box::pin(tokio::time::sleep(idle)),
            write_deadline: Box::pin(tokio::time::sleep(idle)),
            write_stalled: false,
            _slot: slot,
        }
    }

    /// Passes on a write's outcome; a write that cannot proceed for `idle` fails.
    fn write_progress<T>(
        &mut self,
        cx: &mut Context<'_>,
        outcome: Poll<io::Result<T>>,
    ) -> Poll<io::Result<T>> {
        if outcome.is_ready() {
            self.write_stalled = false;
            return outcome;
        }
        if !self.write_stalled {
            self.write_stalled = true;
            self.write_deadline.as_mut().reset(Instant::now() + self.idle);
        }
        match self.write_deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client read nothing for too long",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl AsyncRead for IdleTimeout {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.read_deadline.as_mut().reset(Instant::now() + this.idle);
                }
                Poll::Ready(result)
            }
            Poll::Pending => match this.read_deadline.as_mut().poll(cx) {
                Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client sent nothing for too long",
                ))),
                Poll::Pending => Poll::Pending,
            },
        }
    }
}

impl AsyncWrite for IdleTimeout {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.write_progress(cx, outcome)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let outcome = Pin::new(&mut self.stream).poll_flush(cx);
        self.write_progress(cx, outcome)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let outcome = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.write_progress(cx, outcome)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}

/// RPC middleware: prices a batch before any of its calls runs ([`super::cost`]; over
/// [`MAX_BATCH_COST`](super::MAX_BATCH_COST) it is refused whole), and computes at most
/// [`MAX_CALLS_PER_CLIENT`](super::MAX_CALLS_PER_CLIENT) calls or batches of one client at once.
#[derive(Debug, Clone)]
pub struct Metered<S> {
    inner: S,
}

impl<S> Metered<S> {
    /// Meters `inner`.
    pub fn new(inner: S) -> Self {
        Metered { inner }
    }
}

type Permit = Option<tokio::sync::OwnedSemaphorePermit>;

async fn call_slot(extensions: &Extensions) -> Permit {
    let calls = extensions.get::<Client>()?.calls.clone();
    calls.acquire_owned().await.ok()
}

/// The cost of `batch`'s calls, stopping once it is over `limit`.
pub fn batch_cost(batch: &Batch<'_>, limit: u64) -> u64 {
    let mut total = 0u64;
    for entry in batch.iter() {
        let method = match entry {
            Ok(BatchEntry::Call(request)) => request.method_name(),
            Ok(BatchEntry::Notification(notification)) => notification.method_name(),
            Err(_) => "",
        };
        total = total.saturating_add(super::cost(method));
        if total > limit {
            break;
        }
    }
    total
}

/// Runs `batch`'s calls concurrently (jsonrpsee's own batch runs them one after another), so
/// that calls which wait on a worker, like `tx_submit`'s signature checks, are checked in
/// parallel; the answers keep the batch's order and the response size limit.
async fn concurrently<S>(inner: S, batch: Batch<'_>) -> MethodResponse
where
    S: RpcServiceT<MethodResponse = MethodResponse, NotificationResponse = MethodResponse>,
{
    let calls = batch.into_iter().map(|entry| {
        let inner = &inner;
        async move {
            match entry {
                Ok(BatchEntry::Call(request)) => Some(inner.call(request).await),
                Ok(BatchEntry::Notification(notification)) => {
                    inner.notification(notification).await;
                    None
                }
                Err(refused) => {
                    let (error, id) = refused.into_parts();
                    Some(MethodResponse::error(id, error))
                }
            }
        }
    });
    let answers = futures_util::future::join_all(calls).await;
    let mut response = BatchResponseBuilder::new_with_limit(super::MAX_RESPONSE_BYTES as usize);
    let mut notified = false;
    for answer in answers {
        match answer {
            Some(answer) => {
                if let Err(too_large) = response.append(answer) {
                    return too_large;
                }
            }
            None => notified = true,
        }
    }
    // As jsonrpsee answers: only notifications, no answer; an empty batch is invalid.
    if response.is_empty() && notified {
        MethodResponse::notification()
    } else {
        MethodResponse::from_batch(response.finish())
    }
}

impl<S> RpcServiceT for Metered<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Clone
        + Send
        + Sync
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = Self::MethodResponse> + Send + 'a {
        let inner = self.inner.clone();
        async move {
            // A synchronous method runs inside `call`, so the slot is taken first.
            let _slot = call_slot(request.extensions()).await;
            inner.call(request).await
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = Self::BatchResponse> + Send + 'a {
        let inner = self.inner.clone();
        async move {
            let cost = batch_cost(&batch, super::MAX_BATCH_COST);
            if cost > super::MAX_BATCH_COST {
                let message = format!(
                    "batch refused: its calls cost more than {} (a state_get costs 1; docs/rpc.md, Limits)",
                    super::MAX_BATCH_COST
                );
                return MethodResponse::error(
                    Id::Null,
                    ErrorObject::owned(BATCH_REFUSED, message, None::<()>),
                );
            }
            let _slot = match batch.iter().next() {
                Some(Ok(entry)) => call_slot(entry.extensions()).await,
                _ => None,
            };
            concurrently(inner, batch).await
        }
    }

    fn notification<'a>(
        &self,
        notification: Notification<'a>,
    ) -> impl Future<Output = Self::NotificationResponse> + Send + 'a {
        self.inner.notification(notification)
    }
}

fn is_upgrade(request: &http::Request<hyper::body::Incoming>) -> bool {
    request.headers().contains_key(http::header::UPGRADE)
}

fn timed_out() -> http::Response<HttpBody> {
    let mut response = http::Response::new(HttpBody::from("the request was not received in time\n"));
    *response.status_mut() = http::StatusCode::REQUEST_TIMEOUT;
    response.headers_mut().insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}

fn refused() -> &'static [u8] {
    b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n"
}

/// Serves `methods` and `files` on `listener` to the node's own origin and `cors`' until the
/// returned handle is stopped.
pub fn start<C: Send + Sync + 'static>(
    listener: TcpListener,
    methods: RpcModule<C>,
    files: WalletFiles,
    cors: Cors,
) -> ServerHandle {
    let (stop, handle) = stop_channel();
    let http = Http { files, cors };
    tokio::spawn(accept(listener, methods.into(), http, stop, Clients::new(Limits::default())));
    handle
}

fn config() -> ServerConfig {
    ServerConfig::builder()
        .max_request_body_size(super::MAX_REQUEST_BYTES)
        .max_response_body_size(super::MAX_RESPONSE_BYTES)
        // Requests in flight and open WebSockets; each needs a connection, so the connection
        // limits govern.
        .max_connections(super::MAX_CONNECTIONS)
        .max_subscriptions_per_connection(super::MAX_SUBSCRIPTIONS_PER_CONNECTION)
        .set_batch_request_config(BatchRequestConfig::Limit(super::MAX_BATCH_LEN))
        .set_message_buffer_capacity(super::MAX_QUEUED_MESSAGES)
        .enable_ws_ping(
            PingConfig::new()
                .ping_interval(super::PING_INTERVAL)
                .inactive_limit(super::IDLE_TIMEOUT)
                .max_failures(1),
        )
        .build()
}

/// The HTTP layers before JSON-RPC: cross-origin checks, then the wallet's files.
struct Http {
    files: WalletFiles,
    cors: Cors,
}

async fn accept(
    listener: TcpListener,
    methods: Methods,
    http: Http,
    stop: StopHandle,
    clients: Arc<Clients>,
) {
    let builder = jsonrpsee::server::Server::builder()
        .set_config(config())
        .set_rpc_middleware(
            jsonrpsee::server::middleware::rpc::RpcServiceBuilder::new().layer_fn(Metered::new),
        )
        .set_http_middleware(tower::ServiceBuilder::new().layer(http.cors).layer(http.files))
        .to_service_builder();
    let stopped = stop.clone().shutdown();
    tokio::pin!(stopped);
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(_) => {
                    // Out of file descriptors, typically: wait for some to close.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stopped => break,
        };
        let Some((slot, client)) = clients.connect(peer.ip()) else {
            // Best effort, never waiting: the client learns why before the close.
            let _ = socket.try_write(refused());
            continue;
        };
        let _ = socket.set_nodelay(true);
        let service = builder.clone().build(methods.clone(), stop.clone());
        tokio::spawn(serve(
            IdleTimeout::new(socket, super::IDLE_TIMEOUT, slot),
            client,
            service,
            stop.clone(),
        ));
    }
}

/// One connection's service: marks each request with its client and bounds the time to read
/// and answer it (not a WebSocket upgrade's, whose connection then lives on its own).
#[derive(Clone)]
struct PerConnection<S> {
    inner: S,
    client: Client,
}

impl<S> Service<http::Request<hyper::body::Incoming>> for PerConnection<S>
where
    S: Service<http::Request<HttpBody>, Response = http::Response<HttpBody>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<HttpBody>;
    type Error = BoxError;
    type Future = Answer;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<hyper::body::Incoming>) -> Answer {
        let upgrade = is_upgrade(&request);
        request.extensions_mut().insert(self.client.clone());
        let answer = self.inner.call(request.map(HttpBody::new));
        if upgrade {
            return Box::pin(answer);
        }
        Box::pin(async move {
            match tokio::time::timeout(super::REQUEST_TIMEOUT, answer).await {
                Ok(answer) => answer,
                Err(_) => Ok(timed_out()),
            }
        })
    }
}

async fn serve<S>(io: IdleTimeout, client: Client, inner: S, stop: StopHandle)
where
    S: Service<http::Request<HttpBody>, Response = http::Response<HttpBody>, Error = BoxError>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let service = hyper_util::service::TowerToHyperService::new(PerConnection { inner, client });
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(super::HEADER_TIMEOUT);
    builder.http2().timer(TokioTimer::new()).max_concurrent_streams(1);
    let connection = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        () = stop.shutdown() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    #[test]
    fn clients_are_counted_per_address_and_per_ipv6_64() {
        let limits = Limits {
            connections: 5,
            connections_per_client: 2,
            subscriptions_per_client: 1,
            calls_per_client: 1,
        };
        let clients = Clients::new(limits);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let (a1, client) = clients.connect(a).unwrap();
        let _a2 = clients.connect(a).unwrap();
        assert!(clients.connect(a).is_none(), "a third connection of one client");
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let _b1 = clients.connect(v6("2001:db8::1")).unwrap();
        let _b2 = clients.connect(v6("2001:db8::2:3")).unwrap();
        assert!(clients.connect(v6("2001:db8::ffff")).is_none(), "the same /64");
        assert!(clients.connect(v6("::ffff:10.0.0.1")).is_none(), "a v4-mapped address is the v4 client");
        let _c = clients.connect(v6("2001:db8:0:1::1")).unwrap();
        assert!(clients.connect("10.0.0.9".parse().unwrap()).is_none(), "the node is full");

        let subscription = client.subscription().unwrap();
        assert!(client.subscription().is_none(), "one subscription per client");
        drop(subscription);
        let subscription = client.subscription().unwrap();
        drop(a1);
        let _a3 = clients.connect(a).expect("a closed connection frees its slot");
        assert_eq!(clients.connections(), 5);
        drop(subscription);
    }

    /// A batch's calls run at once: three calls that each wait for the other two are answered,
    /// in the batch's order, with a notification among them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_batchs_calls_run_concurrently() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut module = RpcModule::new(Arc::new(tokio::sync::Barrier::new(3)));
        module
            .register_async_method("meet", |params, barrier, _| async move {
                barrier.wait().await;
                params.one::<u8>()
            })
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let handle = start(listener, module, WalletFiles::default(), Cors::new(Vec::new()));
        let call = |id: u8| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"meet","params":[{id}]}}"#);
        let note = r#"{"jsonrpc":"2.0","method":"meet","params":[9]}"#;
        let body = format!("[{},{},{note},{}]", call(1), call(2), call(3));
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        let read = stream.read_to_string(&mut response);
        tokio::time::timeout(Duration::from_secs(30), read).await.expect("the calls met").unwrap();
        let json = response.split_once("\r\n\r\n").unwrap().1;
        let answers: serde_json::Value = serde_json::from_str(json).unwrap();
        let results: Vec<_> =
            answers.as_array().unwrap().iter().map(|a| (a["id"].clone(), a["result"].clone())).collect();
        let expected: Vec<_> = (1..=3).map(|i| (serde_json::json!(i), serde_json::json!(i))).collect();
        assert_eq!(results, expected, "{answers}");
        handle.stop().unwrap();
    }

    /// A connected pair: the node's side wrapped with `idle`, and the client's.
    async fn pair(idle: Duration) -> (IdleTimeout, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (server, peer) = listener.accept().await.unwrap();
        let (slot, _) = Clients::new(Limits::default()).connect(peer.ip()).unwrap();
        (IdleTimeout::new(server, idle, slot), client)
    }

    #[tokio::test]
    async fn silent_and_unread_clients_time_out() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let idle = Duration::from_millis(200);
        // A client that sends a byte, then nothing.
        let (mut server, mut client) = pair(idle).await;
        client.write_all(b"x").await.unwrap();
        let mut byte = [0u8; 1];
        server.read_exact(&mut byte).await.unwrap();
        let error = server.read(&mut byte).await.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        // A client that never reads what it is sent.
        let (mut server, _client) = pair(idle).await;
        let chunk = vec![0u8; 1 << 20];
        let error = loop {
            if let Err(e) = server.write_all(&chunk).await {
                break e;
            }
        };
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
    }
}

//! The ws transport module is responsible for handling websocket connections
//! The only public function is [`new_req`] which is used to upgrade a http request to a websocket connection
//!
//! Other functions are used internally to handle the websocket connection through tasks and channels
//! and to handle upgrade from polling to ws

use std::{sync::Arc, time::Duration};

use futures_util::{
    SinkExt, StreamExt, TryStreamExt,
    stream::{SplitSink, SplitStream},
};
use http::{HeaderValue, Request, Response, StatusCode, request::Parts};
use smallvec::smallvec;
use tokio::{
    io::{AsyncRead, AsyncWrite},
    time::Instant,
};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        self, Message,
        handshake::derive_accept_key,
        protocol::{Role, WebSocketConfig},
    },
};
use tokio_util::future::FutureExt as _;

use engineioxide_core::{Packet, PacketBuf, ProtocolVersion, Sid, Str, TransportType};

use crate::{
    DisconnectReason, Socket, body::ResponseBody, config::EngineIoConfig, engine::EngineIo,
    errors::Error, handler::EngineIoHandler, socket::InternalRx, transport::make_open_packet,
};

/// Create a response for websocket upgrade
fn ws_response<B>(ws_key: &HeaderValue) -> Response<ResponseBody<B>> {
    let derived = derive_accept_key(ws_key.as_bytes());
    let sec = derived.parse::<HeaderValue>().unwrap();
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(http::header::UPGRADE, HeaderValue::from_static("websocket"))
        .header(
            http::header::CONNECTION,
            HeaderValue::from_static("Upgrade"),
        )
        .header(http::header::SEC_WEBSOCKET_ACCEPT, sec)
        .body(ResponseBody::empty_response())
        .unwrap() // we are only using constants
}

/// Upgrade a websocket request to create a websocket connection.
///
/// If a sid is provided in the query it means that is is upgraded from an existing HTTP polling request.
/// In this case the http polling request is closed and the SID is kept for the websocket
pub fn new_req<R: Send + 'static, B, H: EngineIoHandler>(
    engine: Arc<EngineIo<H>>,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req: Request<R>,
) -> Result<Response<ResponseBody<B>>, Error> {
    let (mut parts, _body) = req.into_parts();
    // The upgrade handle is taken out of the parts the session keeps for its
    // whole life (its clone pinned hyper's upgrade state: 184 bytes per socket).
    let on_upgrade = parts.extensions.remove::<hyper::upgrade::OnUpgrade>();

    let ws_key = parts
        .headers
        .get("Sec-WebSocket-Key")
        .ok_or(Error::InvalidWebSocketKey)?
        .clone();

    tokio::spawn(async move {
        let conn = match on_upgrade {
            Some(on_upgrade) => on_upgrade.await.map(hyper_util::rt::TokioIo::new),
            None => {
                #[cfg(feature = "tracing")]
                tracing::debug!("ws upgrade error: the request cannot be upgraded");
                return;
            }
        };

        let res = match conn {
            Ok(conn) => on_init(engine.clone(), conn, protocol, sid, parts).await,
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!("ws upgrade error: {}", _e);
                return;
            }
        };

        match res {
            Ok(_) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed")
            }
            Err(Error::MultipleWebsocketRequests) => {}
            Err(_e) => {
                #[cfg(feature = "tracing")]
                tracing::debug!(?sid, "ws closed with error: {_e}");
                if let Some(sid) = sid {
                    engine.close_session(sid, DisconnectReason::TransportError);
                }
            }
        }
    });

    Ok(ws_response(&ws_key))
}

/// Handle a websocket connection upgrade
///
/// Sends an open packet if it is not an upgrade from a polling request
///
/// Then reads packets from the websocket and handles them in a task of its own (as the writer),
/// so this future ends once the connection is set up.
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", name = "init_websocket", skip(engine, conn, req_data))
)]
pub async fn on_init<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    conn: S,
    protocol: ProtocolVersion,
    sid: Option<Sid>,
    req_data: Parts,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(engine.config.ws_read_buffer_size)
        .max_message_size(Some(engine.config.ws_max_message_size))
        .max_frame_size(Some(engine.config.ws_max_frame_size));

    let ws_init = move || WebSocketStream::from_raw_socket(conn, Role::Server, Some(ws_config));
    let (socket, ws) = if let Some(sid) = sid {
        match engine.get_socket(sid) {
            None => return Err(Error::UnknownSessionID(sid)),
            Some(socket) if socket.is_ws() => return Err(Error::MultipleWebsocketRequests),
            Some(socket) => {
                let mut ws = ws_init().await;

                let upgrade_fut = upgrade_handshake::<H, S>(&socket, &mut ws);
                match tokio::time::timeout(engine.config.upgrade_timeout, upgrade_fut)
                    .with_cancellation_token(&socket.cancellation_token)
                    .await
                {
                    Some(Ok(res)) => res?,
                    Some(Err(_)) => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(?sid, "ws upgrade timed out, closing session");
                        engine.close_session(socket.id, DisconnectReason::TransportError);
                        return Err(Error::Upgrade);
                    }
                    None => {
                        #[cfg(feature = "tracing")]
                        tracing::debug!(?sid, "socket is being closed");
                        return Err(Error::Upgrade);
                    }
                }
                (socket, ws)
            }
        }
    } else {
        let socket = engine.create_session(protocol, TransportType::Websocket, req_data, false);

        #[cfg(feature = "tracing")]
        tracing::debug!("new websocket connection");

        let mut ws = ws_init().await;
        init_handshake(socket.id, &mut ws, &engine.config).await?;
        (socket, ws)
    };
    // A session opened on the WebSocket has its heartbeat run by its reader task; one
    // upgraded from polling keeps the heartbeat task it started with.
    let beat = sid.is_none().then(|| Beat {
        protocol,
        interval: engine.config.ping_interval,
        timeout: engine.config.ping_timeout,
        ping_sent: None,
    });
    let (tx, rx) = ws.split();

    // Pipe between websocket and internal socket channel.
    tokio::spawn(forward_to_socket::<H, S>(socket.clone(), tx));

    // pipe between internal socket channel and websocket, in a task of its own: this
    // function's state (the request parts, the handshake and upgrade futures) is freed
    // now rather than kept for the connection's whole life.
    tokio::spawn(read_until_closed::<H, S>(engine, rx, socket, beat));
    Ok(())
}

/// The heartbeat of a session opened on the WebSocket, run by its reader task
/// ([`forward_to_handler`]) rather than by a task of its own: that task and its
/// timer were 1.5 KiB per idle socket. Same rules as [`Socket`]'s heartbeat job
/// (engine.io protocol, <https://socket.io/docs/v4/engine-io-protocol/#heartbeat>):
/// * v4: the server sends a ping every `interval` (the first one `interval`
///   after the open packet, as the reference server does) and closes the
///   session when its pong has not come `timeout` after the ping;
/// * v3: the client pings; the server answers each with a pong and closes the
///   session when no ping came for `interval + timeout`.
///
/// A ping or pong that cannot be queued (the socket's queue is full or closed)
/// is a heartbeat timeout, as in the heartbeat job.
struct Beat {
    protocol: ProtocolVersion,
    interval: Duration,
    timeout: Duration,
    /// v4: when the ping whose pong is awaited was sent.
    ping_sent: Option<Instant>,
}

impl Beat {
    /// The first deadline for a session opened at `now`.
    fn first_deadline(&self, now: Instant) -> Instant {
        match self.protocol {
            ProtocolVersion::V4 => now + self.interval,
            ProtocolVersion::V3 => now + self.interval + self.timeout,
        }
    }

    /// The deadline has passed: v4 sends a ping unless one is unanswered.
    /// Returns the next deadline.
    ///
    /// # Errors
    /// [`Error::HeartbeatTimeout`] when the client is late or the ping cannot be queued.
    fn on_deadline<D>(&mut self, socket: &Socket<D>, now: Instant) -> Result<Instant, Error>
    where
        D: Default + Send + Sync + 'static,
    {
        match self.protocol {
            ProtocolVersion::V4 if self.ping_sent.is_none() => {
                socket
                    .internal_tx
                    .try_send(smallvec![Packet::Ping])
                    .map_err(|_| Error::HeartbeatTimeout)?;
                self.ping_sent = Some(now);
                Ok(now + self.timeout)
            }
            _ => Err(Error::HeartbeatTimeout),
        }
    }

    /// A pong (v4) or ping (v3) arrived at `now`: v3 answers it. Returns the new
    /// deadline, or `None` to keep the current one (a pong no ping asked for).
    ///
    /// # Errors
    /// [`Error::HeartbeatTimeout`] when the v3 pong cannot be queued.
    fn on_signal<D>(&mut self, socket: &Socket<D>, now: Instant) -> Result<Option<Instant>, Error>
    where
        D: Default + Send + Sync + 'static,
    {
        match self.protocol {
            ProtocolVersion::V4 => Ok(self.ping_sent.take().map(|sent| sent + self.interval)),
            ProtocolVersion::V3 => {
                socket
                    .internal_tx
                    .try_send(smallvec![Packet::Pong])
                    .map_err(|_| Error::HeartbeatTimeout)?;
                Ok(Some(now + self.interval + self.timeout))
            }
        }
    }
}

/// Reads the websocket until it ends or the session is closed, then closes the session
/// with the matching [`DisconnectReason`].
async fn read_until_closed<H: EngineIoHandler, S>(
    engine: Arc<EngineIo<H>>,
    rx: SplitStream<WebSocketStream<S>>,
    socket: Arc<Socket<H::Data>>,
    beat: Option<Beat>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    match forward_to_handler(&engine, rx, &socket, beat)
        .with_cancellation_token(&socket.cancellation_token)
        .await
    {
        // As the heartbeat job does: the client is told (a close packet, queued
        // before the session is cancelled, so the writer still sends it).
        Some(Err(Error::HeartbeatTimeout)) => socket.close(DisconnectReason::HeartbeatTimeout),
        Some(Err(ref e)) => {
            let reason =
                Option::<DisconnectReason>::from(e).unwrap_or(DisconnectReason::TransportError);

            #[cfg(feature = "tracing")]
            tracing::debug!("error when handling packet: {:?}", e);
            engine.close_session(socket.id, reason);
        }
        Some(Ok(())) => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "ws transport was closed");
            engine.close_session(socket.id, DisconnectReason::TransportClose);
        }
        None => {
            #[cfg(feature = "tracing")]
            tracing::debug!(sid = %socket.id, "socket is closing");
        }
    }
}

/// Forwards all packets received from a websocket to a EngineIo [`Socket`], and runs
/// the session's heartbeat when it is given one ([`Beat`]).
async fn forward_to_handler<H: EngineIoHandler, S>(
    engine: &Arc<EngineIo<H>>,
    mut rx: SplitStream<WebSocketStream<S>>,
    socket: &Arc<Socket<H::Data>>,
    mut beat: Option<Beat>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let now = Instant::now();
    let deadline = tokio::time::sleep_until(beat.as_ref().map_or(now, |b| b.first_deadline(now)));
    tokio::pin!(deadline);
    loop {
        let msg = tokio::select! {
            // The deadline first: a client that keeps sending frames is still
            // timed out when it does not answer pings.
            biased;
            () = &mut deadline, if beat.is_some() => {
                if let Some(b) = beat.as_mut() {
                    let next = b.on_deadline(socket, Instant::now())?;
                    deadline.as_mut().reset(next);
                }
                continue;
            }
            msg = rx.try_next() => match msg? {
                Some(msg) => msg,
                None => break,
            },
        };
        match msg {
            Message::Text(msg) => match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
                Packet::Close => {
                    #[cfg(feature = "tracing")]
                    tracing::debug!("[sid={}] closing session", socket.id);
                    engine.close_session(socket.id, DisconnectReason::TransportClose);
                    break;
                }
                Packet::Pong | Packet::Ping => match beat.as_mut() {
                    Some(b) => {
                        if let Some(next) = b.on_signal(socket, Instant::now())? {
                            deadline.as_mut().reset(next);
                        }
                        Ok::<(), Error>(())
                    }
                    None => {
                        // At most one signal is kept: a pending one means that the client is already known to be alive.
                        socket.heartbeat.notify_one();
                        Ok(())
                    }
                },
                Packet::Message(msg) => {
                    engine.handler.on_message(msg, socket.clone());
                    Ok(())
                }
                p => return Err(Error::BadPacket(p)),
            },
            Message::Binary(mut data) => {
                if socket.protocol == ProtocolVersion::V3 && !data.is_empty() {
                    // The first byte is the message type, which we don't need.
                    data = data.split_off(1);
                }
                engine.handler.on_binary(data, socket.clone());
                Ok(())
            }
            Message::Close(_) => {
                #[cfg(feature = "tracing")]
                tracing::debug!("websocket closed, closing session");
                engine.close_session(socket.id, DisconnectReason::TransportClose);
                break;
            }
            _ => {
                #[cfg(feature = "tracing")]
                tracing::debug!(sid = ?socket.id, "unexpected ws message");
                Ok(())
            }
        }?
    }
    Ok(())
}

/// Returns `Pending` once, waking its task first: the scheduler runs the
/// task again behind the tasks that are runnable now. Unlike
/// `tokio::task::yield_now`, which defers the wake-up until the runtime next
/// polls its I/O driver (on a busy worker, every `event_interval` ticks),
/// this keeps the writer's turn in the run queue, so a socket's writer is
/// never held back while its buffer fills.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            std::task::Poll::Ready(())
        } else {
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
}

/// Forwards all packets waiting to be sent to the websocket
///
/// The websocket stream is flushed only when the internal channel is drained
async fn forward_to_socket<H: EngineIoHandler, S>(
    socket: Arc<Socket<H::Data>>,
    mut tx: SplitSink<WebSocketStream<S>, Message>,
) where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    // A polling request that was in progress during the upgrade may still hold the lock.
    let lock = socket.internal_rx.lock();
    let Some(mut internal_rx) = lock
        .with_cancellation_token(&socket.cancellation_token)
        .await
    else {
        #[cfg(feature = "tracing")]
        tracing::debug!(sid = %socket.id, "session closed before starting the ws writer");
        return;
    };
    let InternalRx { buffered_rx, .. } = &mut *internal_rx;

    // Forward buffered packets (then the volatile slot's) until the channel is closed
    // or the session is cancelled.
    loop {
        let packets = tokio::select! {
            biased;
            items = buffered_rx.recv() => match items {
                Some(packets) => packets,
                None => break,
            },
            _ = socket.cancellation_token.cancelled() => break,
        };
        // The write's state (packet iterators, the sink's futures) is on the heap only
        // while it runs: the task, which an idle socket keeps, holds just the wait above.
        Box::pin(write_batch(&socket, &mut tx, buffered_rx, packets)).await;
    }

    #[cfg(feature = "tracing")]
    tracing::trace!(sid = %socket.id, "ws closing flush");

    tx.flush().await.ok();
    tx.close().await.ok();
}

/// Writes `first`, then every packet queued meanwhile, into the websocket sink,
/// and flushes it once: the packets of one turn leave in one write.
async fn write_batch<D, S>(
    socket: &Socket<D>,
    tx: &mut SplitSink<WebSocketStream<S>, Message>,
    buffered_rx: &mut crate::queue::Receiver,
    first: PacketBuf,
) where
    D: Default + Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    feed(socket, tx, first).await;
    while let Ok(packets) = buffered_rx.try_recv() {
        feed(socket, tx, packets).await;
    }
    // Let the tasks that are runnable now queue their packets too (an ack and the
    // broadcast of the same event are emitted by different tasks): they then leave in
    // the same write as these.
    YieldOnce(false).await;
    while let Ok(packets) = buffered_rx.try_recv() {
        feed(socket, tx, packets).await;
    }

    #[cfg(feature = "tracing")]
    tracing::trace!(sid = %socket.id, "ws flush");
    tx.flush().await.ok();
}

/// Feeds `packets` to the websocket sink as messages (not flushed).
async fn feed<D, S>(
    socket: &Socket<D>,
    tx: &mut SplitSink<WebSocketStream<S>, Message>,
    packets: PacketBuf,
) where
    D: Default + Send + Sync + 'static,
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    for item in packets {
        let Some(msg) = to_message(socket.protocol, item) else {
            continue;
        };
        if let Err(_e) = tx.feed(msg).await {
            #[cfg(feature = "tracing")]
            tracing::debug!("[sid={}] error sending packet: {}", socket.id, _e);
        }
    }
}

/// The websocket message of a packet; `None` for a [`Packet::Noop`], which the server
/// may queue to end a polling request during an upgrade: if no poll took it, it is
/// discarded here.
fn to_message(protocol: ProtocolVersion, packet: Packet) -> Option<Message> {
    Some(match packet {
        Packet::Binary(bin) | Packet::BinaryV3(bin) => {
            if protocol == ProtocolVersion::V3 {
                // v3 protocol requires packet type as the first byte.
                // This requires a new buffer. This is OK as it is only for the V3 protocol.
                let mut buff = Vec::with_capacity(bin.len() + 1);
                buff.push(0x04);
                buff.extend(bin);
                Message::Binary(buff.into())
            } else {
                Message::Binary(bin)
            }
        }
        Packet::Noop => return None,
        packet => {
            let packet: String = packet.try_into().unwrap();
            Message::Text(packet.into())
        }
    })
}

/// Send a Engine.IO [`OpenPacket`] to initiate a websocket connection
async fn init_handshake<S>(
    sid: Sid,
    ws: &mut WebSocketStream<S>,
    config: &EngineIoConfig,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let packet = Packet::Open(make_open_packet(TransportType::Websocket, sid, config));
    let packet: String = packet.into();
    ws.send(Message::Text(packet.into())).await?;
    Ok(())
}

/// Upgrade a session from a polling request to a websocket request.
///
/// Before upgrading the session the server should send a NOOP packet to any pending polling request.
///
/// ## Handshake :
/// ```text
/// CLIENT                                                 SERVER
///│                                                      │
///│   GET /engine.io/?EIO=4&transport=websocket&sid=...  │
///│ ───────────────────────────────────────────────────► │
///│  ◄─────────────────────────────────────────────────┘ │
///│            HTTP 101 (WebSocket handshake)            │
///│                                                      │
///│            -----  WebSocket frames -----             │
///│  ─────────────────────────────────────────────────►  │
///│                         2probe                       │ (ping packet)
///│  ◄─────────────────────────────────────────────────  │
///│                         3probe                       │ (pong packet)
///│  ─────────────────────────────────────────────────►  │
///│                         5                            │ (upgrade packet)
///│                                                      │
///│            -----  WebSocket frames -----             │
/// ```
#[cfg_attr(
    feature = "tracing",
    tracing::instrument(level = "trace", skip(socket, ws))
)]
async fn upgrade_handshake<H: EngineIoHandler, S>(
    socket: &Arc<Socket<H::Data>>,
    ws: &mut WebSocketStream<S>,
) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    #[cfg(feature = "tracing")]
    tracing::debug!("starting websocket connection upgrade");

    // The socket is upgrading, from now on all polling
    // request will return a `Packet::Noop`
    socket.start_upgrade();

    // We send a last Noop request to close a potential waiting polling request.
    socket
        .internal_tx
        .send(smallvec![Packet::Noop])
        .await
        .map_err(|_| Error::Upgrade)?;

    // wait for any current polling connection to finish by waiting for the socket to be unlocked
    // All other polling connection will be immediately closed with a NOOP packet.
    let _lock = socket.internal_rx.lock().await;

    // Fetch the next packet from the ws stream, it should be a PingUpgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        _ => Err(Error::Upgrade)?,
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::PingUpgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("received first ping upgrade");
            // Respond with a PongUpgrade packet
            ws.send(Message::Text(String::from(Packet::PongUpgrade).into()))
                .await?;
        }
        p => Err(Error::BadPacket(p))?,
    };

    // Fetch the next packet from the ws stream, it should be an Upgrade packet
    let msg = match ws.next().await {
        Some(Ok(Message::Text(d))) => d,
        Some(Ok(Message::Close(_))) => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws stream closed before upgrade");
            Err(Error::Upgrade)?
        }
        _ => {
            #[cfg(feature = "tracing")]
            tracing::debug!("unexpected ws message before upgrade");
            Err(Error::Upgrade)?
        }
    };
    match Packet::parse(socket.protocol, ws_bytes_to_str(msg))? {
        Packet::Upgrade => {
            #[cfg(feature = "tracing")]
            tracing::debug!("ws upgraded successfully")
        }
        p => Err(Error::BadPacket(p))?,
    };

    socket.upgrade_to_websocket();
    Ok(())
}

fn ws_bytes_to_str(bytes: tungstenite::Utf8Bytes) -> Str {
    // SAFETY: the bytes are guaranteed to be valid UTF-8 by the tungstenite parser
    unsafe { Str::from_bytes_unchecked(bytes.into()) }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use futures_util::StreamExt;
    use http::Request;
    use tokio::io::DuplexStream;

    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(1);

    #[derive(Debug)]
    struct StubHandler;
    impl EngineIoHandler for StubHandler {
        type Data = ();
        fn on_connect(self: Arc<Self>, _: Arc<Socket<()>>) {}
        fn on_disconnect(&self, _: Arc<Socket<()>>, _: DisconnectReason) {}
        fn on_message(self: &Arc<Self>, _: Str, _: Arc<Socket<()>>) {}
        fn on_binary(self: &Arc<Self>, _: Bytes, _: Arc<Socket<()>>) {}
    }

    fn socket() -> Arc<Socket<()>> {
        Arc::new(Socket::new(
            ProtocolVersion::V4,
            TransportType::Websocket,
            &EngineIoConfig::default(),
            Request::<()>::default().into_parts().0,
            Box::new(|_, _| ()),
            false,
        ))
    }

    async fn ws_pair() -> (WebSocketStream<DuplexStream>, WebSocketStream<DuplexStream>) {
        let (server, client) = tokio::io::duplex(1024);
        (
            WebSocketStream::from_raw_socket(server, Role::Server, None).await,
            WebSocketStream::from_raw_socket(client, Role::Client, None).await,
        )
    }

    /// A polling request can still hold the lock at the end of an upgrade.
    #[tokio::test]
    async fn writer_waits_for_the_lock_of_a_polling_request() {
        let socket = socket();
        let (server, mut client) = ws_pair().await;
        let (tx, _rx) = server.split();

        let polling = socket.internal_rx.lock().await;
        let writer = tokio::spawn(forward_to_socket::<StubHandler, _>(socket.clone(), tx));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!writer.is_finished(), "the writer should wait for the lock");

        drop(polling);
        socket.emit(Str::from("hello")).unwrap();
        let msg = tokio::time::timeout(TIMEOUT, client.next())
            .await
            .expect("the writer should send the packet")
            .unwrap()
            .unwrap();
        assert_eq!(msg, Message::text("4hello"));
    }

    #[tokio::test]
    async fn writer_waiting_for_the_lock_stops_with_the_session() {
        let socket = socket();
        let (server, _client) = ws_pair().await;
        let (tx, _rx) = server.split();

        let _polling = socket.internal_rx.lock().await;
        let writer = tokio::spawn(forward_to_socket::<StubHandler, _>(socket.clone(), tx));
        tokio::time::sleep(Duration::from_millis(20)).await;

        socket.cancellation_token.cancel();
        tokio::time::timeout(TIMEOUT, writer)
            .await
            .expect("the writer should stop")
            .unwrap();
    }

    fn beat(protocol: ProtocolVersion) -> Beat {
        Beat {
            protocol,
            interval: Duration::from_secs(25),
            timeout: Duration::from_secs(20),
            ping_sent: None,
        }
    }

    /// The packets queued for the client, as text.
    fn queued(socket: &Socket<()>) -> Vec<String> {
        let mut rx = socket.internal_rx.try_lock().unwrap();
        let mut out = Vec::new();
        while let Ok(packets) = rx.buffered_rx.try_recv() {
            out.extend(packets.into_iter().map(|p| String::try_from(p).unwrap()));
        }
        out
    }

    #[tokio::test]
    async fn v4_beat_pings_after_the_interval_and_times_out_without_a_pong() {
        let socket = socket();
        let mut b = beat(ProtocolVersion::V4);
        let t0 = Instant::now();
        assert_eq!(b.first_deadline(t0), t0 + Duration::from_secs(25));
        // A pong nobody asked for keeps the deadline.
        assert_eq!(b.on_signal(&socket, t0).unwrap(), None);
        let t1 = t0 + Duration::from_secs(25);
        assert_eq!(b.on_deadline(&socket, t1).unwrap(), t1 + Duration::from_secs(20));
        assert_eq!(queued(&socket), ["2"]);
        // The pong: the next ping an interval after this one.
        let t2 = t1 + Duration::from_secs(3);
        assert_eq!(b.on_signal(&socket, t2).unwrap(), Some(t1 + Duration::from_secs(25)));
        let t3 = t1 + Duration::from_secs(25);
        assert_eq!(b.on_deadline(&socket, t3).unwrap(), t3 + Duration::from_secs(20));
        assert_eq!(queued(&socket), ["2"]);
        // No pong within the timeout.
        assert!(matches!(
            b.on_deadline(&socket, t3 + Duration::from_secs(20)),
            Err(Error::HeartbeatTimeout)
        ));
    }

    #[tokio::test]
    async fn v3_beat_answers_pings_and_times_out_without_one() {
        let socket = socket();
        let mut b = beat(ProtocolVersion::V3);
        let t0 = Instant::now();
        assert_eq!(b.first_deadline(t0), t0 + Duration::from_secs(45));
        let t1 = t0 + Duration::from_secs(10);
        assert_eq!(b.on_signal(&socket, t1).unwrap(), Some(t1 + Duration::from_secs(45)));
        assert_eq!(queued(&socket), ["3"]);
        assert!(matches!(
            b.on_deadline(&socket, t1 + Duration::from_secs(45)),
            Err(Error::HeartbeatTimeout)
        ));
    }

    #[tokio::test]
    async fn a_ping_that_cannot_be_queued_is_a_heartbeat_timeout() {
        let socket = socket();
        socket.internal_rx.try_lock().unwrap().buffered_rx.close();
        let mut b = beat(ProtocolVersion::V4);
        assert!(matches!(
            b.on_deadline(&socket, Instant::now()),
            Err(Error::HeartbeatTimeout)
        ));
    }
}

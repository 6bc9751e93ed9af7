//! A QUIC client for endcap's protocol: one connection, one long-lived stream, requests answered
//! in order. Used by `endcap query`, the tests, and the load generator.

use std::net::SocketAddr;
use std::sync::Arc;

use quinn::crypto::rustls::QuicClientConfig;

use crate::protocol::{self, DecodeError, RecommendRequest, Request, Response, request};
use crate::transport::tls::{self, ClientIdentity, Trust};

/// What can go wrong talking to a server.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// Name resolution or socket setup failed.
    #[error("cannot reach {0}")]
    Resolve(String),
    /// TLS configuration failed (for example a bad fingerprint).
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    /// The QUIC handshake failed (wrong certificate, wrong ALPN, server down).
    #[error("QUIC connection failed: {0}")]
    Connect(String),
    /// The stream failed mid-request.
    #[error("stream failed: {0}")]
    Stream(String),
    /// The server sent bytes that are not a valid answer.
    #[error("invalid answer from the server: {0}")]
    Decode(#[from] DecodeError),
    /// The server's answer frame is over the client's limit.
    #[error("answer frame of {0} bytes is over the client limit")]
    TooLarge(usize),
}

/// Largest answer frame the client accepts.
const MAX_ANSWER_BYTES: usize = 16 << 20;

/// Opens a QUIC connection to `server` (`host:port`) from a new endpoint (its own UDP socket),
/// with ALPN `endcap/1`. For clients that manage their own streams (the load generator).
pub async fn connect_quic(server: &str, trust: Trust) -> Result<(quinn::Endpoint, quinn::Connection), ClientError> {
    connect_quic_as(server, trust, None).await
}

/// As [`connect_quic`], presenting a device certificate (`endcap ca issue`) when given.
pub async fn connect_quic_as(
    server: &str,
    trust: Trust,
    identity: Option<&ClientIdentity>,
) -> Result<(quinn::Endpoint, quinn::Connection), ClientError> {
    let addr: SocketAddr = tokio::net::lookup_host(server)
        .await
        .map_err(|e| ClientError::Resolve(format!("{server}: {e}")))?
        .next()
        .ok_or_else(|| ClientError::Resolve(server.to_string()))?;
    let host = server.rsplit_once(':').map_or(server, |(h, _)| h).trim_matches(['[', ']']);
    let name = if host.parse::<std::net::IpAddr>().is_ok() { "localhost" } else { host };
    let crypto = QuicClientConfig::try_from(tls::client_tls_for(trust, identity, protocol::ALPN)?)
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    let bind: SocketAddr = if addr.is_ipv6() { "[::]:0" } else { "0.0.0.0:0" }.parse().expect("literal");
    let mut endpoint = quinn::Endpoint::client(bind).map_err(|e| ClientError::Resolve(e.to_string()))?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connection = endpoint
        .connect(addr, name)
        .map_err(|e| ClientError::Connect(e.to_string()))?
        .await
        .map_err(|e| ClientError::Connect(e.to_string()))?;
    Ok((endpoint, connection))
}

/// A connected client.
pub struct Client {
    endpoint: quinn::Endpoint,
    connection: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    next_id: u64,
    out: Vec<u8>,
    answer: Vec<u8>,
}

impl Client {
    /// Connects to `server` (`host:port`) and opens the request stream.
    pub async fn connect(server: &str, trust: Trust) -> Result<Client, ClientError> {
        Client::connect_as(server, trust, None).await
    }

    /// Connects presenting a device certificate (`endcap ca issue`) when given.
    pub async fn connect_as(
        server: &str,
        trust: Trust,
        identity: Option<&ClientIdentity>,
    ) -> Result<Client, ClientError> {
        let (endpoint, connection) = connect_quic_as(server, trust, identity).await?;
        let (send, recv) = connection.open_bi().await.map_err(|e| ClientError::Connect(e.to_string()))?;
        Ok(Client { endpoint, connection, send, recv, next_id: 1, out: Vec::new(), answer: Vec::new() })
    }

    /// Sends one request and waits for its answer.
    pub async fn call(&mut self, op: request::Op) -> Result<Response, ClientError> {
        let req = Request { id: self.next_id, op: Some(op) };
        self.next_id += 1;
        self.out.clear();
        protocol::encode_request_frame(&mut self.out, &req);
        let frame = std::mem::take(&mut self.out);
        let result = self.send_raw(&frame).await;
        self.out = frame;
        result
    }

    /// Writes raw bytes on the stream and reads one answer frame (for tests of bad input).
    pub async fn send_raw(&mut self, bytes: &[u8]) -> Result<Response, ClientError> {
        self.send.write_all(bytes).await.map_err(|e| ClientError::Stream(e.to_string()))?;
        self.read_answer().await
    }

    /// Reads one answer frame.
    pub async fn read_answer(&mut self) -> Result<Response, ClientError> {
        let mut prefix = [0u8; protocol::LEN_PREFIX];
        self.recv.read_exact(&mut prefix).await.map_err(|e| ClientError::Stream(e.to_string()))?;
        let len = protocol::frame_len(prefix, MAX_ANSWER_BYTES)
            .map_err(|_| ClientError::TooLarge(u32::from_be_bytes(prefix) as usize))?;
        self.answer.resize(len, 0);
        self.recv.read_exact(&mut self.answer).await.map_err(|e| ClientError::Stream(e.to_string()))?;
        Ok(protocol::decode_response(&self.answer)?)
    }

    /// `ping`.
    pub async fn ping(&mut self) -> Result<Response, ClientError> {
        self.call(request::Op::Ping(protocol::Ping {})).await
    }

    /// `model_info`.
    pub async fn model_info(&mut self) -> Result<Response, ClientError> {
        self.call(request::Op::ModelInfo(protocol::ModelInfoRequest {})).await
    }

    /// `recommend`.
    pub async fn recommend(&mut self, r: RecommendRequest) -> Result<Response, ClientError> {
        self.call(request::Op::Recommend(r)).await
    }

    /// `events`: a batch of shopper events; the answer is an `EventsAck`.
    pub async fn events(&mut self, events: Vec<protocol::Event>) -> Result<Response, ClientError> {
        self.call(request::Op::Events(protocol::EventsRequest { events })).await
    }

    /// `forget`: erase a customer (ops devices).
    pub async fn forget(&mut self, customer: &str) -> Result<Response, ClientError> {
        self.call(request::Op::Forget(protocol::ForgetRequest { customer: customer.into() })).await
    }

    /// `opt_out`: opt a customer out of personalisation (`out`), or back in.
    pub async fn opt_out(&mut self, customer: &str, out: bool) -> Result<Response, ClientError> {
        self.call(request::Op::OptOut(protocol::OptOutRequest { customer: customer.into(), out })).await
    }

    /// `audience`: who buys a product (ops devices).
    pub async fn audience(&mut self, r: protocol::AudienceRequest) -> Result<Response, ClientError> {
        self.call(request::Op::Audience(r)).await
    }

    /// `segments`: the model's customer segments (ops devices).
    pub async fn segments(&mut self) -> Result<Response, ClientError> {
        self.call(request::Op::Segments(protocol::SegmentsRequest {})).await
    }

    /// Opens another stream on the same connection (for concurrency, or after a stream was ended
    /// by the server).
    pub async fn new_stream(&mut self) -> Result<(), ClientError> {
        let (send, recv) = self.connection.open_bi().await.map_err(|e| ClientError::Stream(e.to_string()))?;
        self.send = send;
        self.recv = recv;
        Ok(())
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        self.connection.close(0u8.into(), b"bye");
        self.endpoint.wait_idle().await;
    }
}

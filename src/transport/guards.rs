//! Who a QUIC connection is, and what it may take: the connection cap, the device's identity from
//! its certificate (and whether it is revoked), and the request rates of the connection and the
//! device. Built once per server and shared by every endpoint.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rustls::pki_types::CertificateDer;
use tracing::warn;

use super::limits::{DeviceRates, LogOnce, Rate, Revocations};
use crate::ca::{self, Role};
use crate::config::ServerConfig;
use crate::metrics::Limit;
use crate::ops::Caller;

/// The limits and identities every QUIC endpoint of a server shares.
#[derive(Debug)]
pub struct Guards {
    /// Revoked device names.
    pub revocations: Arc<Revocations>,
    devices: DeviceRates,
    /// Logs each refusal once per device (or address) and limit a minute.
    pub log: LogOnce,
    /// `server.max_connections`.
    pub max_connections: usize,
    open: Arc<AtomicUsize>,
    /// Devices are identified by certificates (`server.client_ca`).
    identity: bool,
    require_cert: bool,
    connection_rate: f64,
    connection_burst: u32,
    epoch: Instant,
}

/// A place among the open connections; freed when dropped.
#[derive(Debug)]
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One connected device: who it is and the rates it draws on.
#[derive(Debug)]
pub struct Peer {
    /// Its role, for the operations.
    pub caller: Caller,
    /// Its certificate name (none without device identity).
    pub device: Option<String>,
    /// Its address.
    pub remote: SocketAddr,
    connection_rate: Rate,
    device_rate: Option<Arc<Rate>>,
}

impl Peer {
    /// Admits one request at `now`, or names the limit it is over and when to retry.
    #[inline]
    pub fn admit(&self, now: Instant) -> Result<(), (Limit, Duration)> {
        self.connection_rate.check(now).map_err(|wait| (Limit::ConnectionRate, wait))?;
        match &self.device_rate {
            Some(rate) => rate.check(now).map_err(|wait| (Limit::DeviceRate, wait)),
            None => Ok(()),
        }
    }
}

impl Guards {
    /// The guards of a server configured by `cfg`, with the revocation list read (an unreadable
    /// list is an error: it would revoke nothing).
    pub fn new(cfg: &ServerConfig) -> Result<Guards, String> {
        Ok(Guards {
            revocations: Arc::new(Revocations::load(cfg.revoked_devices.clone())?),
            devices: DeviceRates::new(cfg.rate_per_device, cfg.burst_per_device),
            log: LogOnce::default(),
            max_connections: cfg.max_connections as usize,
            open: Arc::new(AtomicUsize::new(0)),
            identity: cfg.client_ca.is_some(),
            require_cert: cfg.require_client_cert,
            connection_rate: cfg.rate_per_connection,
            connection_burst: cfg.burst_per_connection,
            epoch: Instant::now(),
        })
    }

    /// A place for one more connection, if the cap allows.
    pub fn connection_slot(&self) -> Option<Slot> {
        let taken = self.open.fetch_add(1, Ordering::Relaxed);
        let slot = Slot(self.open.clone());
        (taken < self.max_connections).then_some(slot)
    }

    /// Who a handshaken connection is; the error names the limit and the reason to give it.
    pub fn identify(&self, conn: &quinn::Connection) -> Result<Peer, (Limit, String)> {
        let certs = conn.peer_identity().and_then(|any| any.downcast::<Vec<CertificateDer<'static>>>().ok());
        let leaf = certs.as_deref().and_then(|c| c.first());
        self.peer(leaf, conn.remote_address())
    }

    /// Who presents `leaf` (if anything) from `remote`.
    pub fn peer(&self, leaf: Option<&CertificateDer<'_>>, remote: SocketAddr) -> Result<Peer, (Limit, String)> {
        let connection_rate = Rate::new(self.connection_rate, self.connection_burst, self.epoch);
        let peer =
            |caller, device: Option<String>, device_rate| Peer { caller, device, remote, connection_rate, device_rate };
        if !self.identity {
            return Ok(peer(Caller::OPEN, None, None));
        }
        match leaf {
            Some(cert) => {
                let (name, role) = ca::identity(cert).ok_or_else(|| {
                    (Limit::NoIdentity, "the certificate carries no endcap device name and role".to_string())
                })?;
                if self.revocations.is_revoked(&name) {
                    return Err((Limit::Revoked, format!("device {name} is revoked")));
                }
                let rate = self.devices.of(&name);
                Ok(peer(Caller { role: Some(role), device: ca::DeviceName::new(&name) }, Some(name), Some(rate)))
            }
            None if self.require_cert => Err((Limit::NoIdentity, "a device certificate is required".to_string())),
            // A fleet still migrating: no certificate, no name, anonymous answers only.
            None => Ok(peer(Caller::role(Role::Beacon), None, None)),
        }
    }

    /// Logs `limit` for `peer` if not logged for it in the last minute.
    pub fn log_limit(&self, peer: &Peer, limit: Limit, now: Instant) {
        let who = peer.device.clone().unwrap_or_else(|| peer.remote.ip().to_string());
        if self.log.due(&format!("{}:{who}", limit.label()), now) {
            warn!(device = %who, limit = limit.label(), "request refused by a limit (logged once a minute per device)");
        }
    }
}

//! TLS 1.3 for QUIC (and HTTPS): the server's certificate (from files, or self-signed at start),
//! the devices' certificates when a store CA is configured (verified by rustls against the CA;
//! their name and role are read by `ca::identity`), and the client's side: its trust in the
//! server (a pinned SHA-256 fingerprint, or none at all for local testing) and its own
//! certificate.
//!
//! In-store devices pin the server's certificate by fingerprint rather than trusting a public
//! CA: stores run on private networks and names. The server logs the fingerprint it serves.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};

use crate::config::ServerConfig;
use crate::protocol::ALPN;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A certificate or key file could not be read or parsed.
    #[error("cannot use {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// rustls or rcgen refused the configuration.
    #[error("TLS setup failed: {0}")]
    Setup(String),
    /// A `--cert-sha256` value that is not 64 hex digits.
    #[error("certificate fingerprint must be 64 hex digits (SHA-256), got {0:?}")]
    BadFingerprint(String),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// SHA-256 of a DER certificate, lower-case hex.
pub fn fingerprint(cert: &[u8]) -> String {
    ring::digest::digest(&ring::digest::SHA256, cert).as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The server side: rustls configs with ALPN set, and the served certificate's fingerprint.
pub struct ServerTls {
    /// Ready for `quinn::crypto::rustls::QuicServerConfig`.
    pub config: rustls::ServerConfig,
    /// The same certificate and client verification for HTTPS (ALPN `http/1.1`).
    pub https: rustls::ServerConfig,
    /// SHA-256 of the leaf certificate, hex.
    pub fingerprint: String,
    /// True when the certificate was generated at start.
    pub self_signed: bool,
}

/// Loads the configured certificate and key, or generates a self-signed pair.
pub fn server_tls(cfg: &ServerConfig) -> Result<ServerTls, TlsError> {
    let (chain, key, self_signed) = match (&cfg.tls_cert, &cfg.tls_key) {
        (Some(cert), Some(key)) => (read_certs(cert)?, read_key(key)?, false),
        _ => {
            let generated = rcgen::generate_simple_self_signed(cfg.server_names.clone())
                .map_err(|e| TlsError::Setup(format!("generating a self-signed certificate: {e}")))?;
            let key = PrivateKeyDer::Pkcs8(generated.signing_key.serialize_der().into());
            (vec![generated.cert.der().clone()], key, true)
        }
    };
    let fingerprint = fingerprint(chain.first().map_or(&[][..], |c| c.as_ref()));
    let verifier = match &cfg.client_ca {
        None => None,
        Some(path) => {
            let mut roots = rustls::RootCertStore::empty();
            for ca in read_certs(path)? {
                roots
                    .add(ca)
                    .map_err(|e| TlsError::File { path: path.display().to_string(), reason: e.to_string() })?;
            }
            let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider());
            let builder = if cfg.require_client_cert { builder } else { builder.allow_unauthenticated() };
            Some(builder.build().map_err(|e| TlsError::Setup(format!("client verification: {e}")))?)
        }
    };
    let make = |alpn: &[u8]| -> Result<rustls::ServerConfig, TlsError> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError::Setup(e.to_string()))?;
        let builder = match &verifier {
            Some(v) => builder.with_client_cert_verifier(v.clone()),
            None => builder.with_no_client_auth(),
        };
        let mut config =
            builder.with_single_cert(chain.clone(), key.clone_key()).map_err(|e| TlsError::Setup(e.to_string()))?;
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(config)
    };
    Ok(ServerTls { config: make(ALPN)?, https: make(b"http/1.1")?, fingerprint, self_signed })
}

/// A device's own certificate chain and key, presented to the server (`endcap ca issue` makes
/// them).
#[derive(Debug)]
pub struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for ClientIdentity {
    fn clone(&self) -> Self {
        ClientIdentity { chain: self.chain.clone(), key: self.key.clone_key() }
    }
}

impl ClientIdentity {
    /// Reads a PEM certificate chain and its private key.
    pub fn load(cert: &Path, key: &Path) -> Result<ClientIdentity, TlsError> {
        Ok(ClientIdentity { chain: read_certs(cert)?, key: read_key(key)? })
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let err = |reason: String| TlsError::File { path: path.display().to_string(), reason };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| err(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(e.to_string()))?;
    if certs.is_empty() {
        return Err(err("no PEM certificate in the file".into()));
    }
    Ok(certs)
}

fn read_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| TlsError::File { path: path.display().to_string(), reason: e.to_string() })
}

/// How a client decides to trust the server.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Accept only a leaf certificate with this SHA-256.
    Pinned([u8; 32]),
    /// Accept any certificate (local testing only: no protection against interception).
    Insecure,
}

impl Trust {
    /// Parses a hex SHA-256 fingerprint (colons allowed, as some tools print them; a `sha256=`
    /// prefix allowed, as the server logs it).
    pub fn pinned(hex: &str) -> Result<Trust, TlsError> {
        let bare = hex.trim().strip_prefix("sha256=").unwrap_or(hex.trim());
        let clean: String = bare.chars().filter(|c| *c != ':').collect();
        let bad = || TlsError::BadFingerprint(hex.to_string());
        if clean.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(clean.get(i * 2..i * 2 + 2).ok_or_else(bad)?, 16).map_err(|_| bad())?;
        }
        Ok(Trust::Pinned(out))
    }
}

#[derive(Debug)]
struct PinVerifier {
    trust: Trust,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.trust {
            Trust::Insecure => Ok(ServerCertVerified::assertion()),
            Trust::Pinned(want) => {
                let got = ring::digest::digest(&ring::digest::SHA256, end_entity.as_ref());
                if got.as_ref() == want {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(rustls::Error::General(format!(
                        "server certificate SHA-256 is {}, not the pinned one",
                        fingerprint(end_entity.as_ref())
                    )))
                }
            }
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

/// A client rustls config (TLS 1.3, ALPN `alpn`) that trusts per `trust` and presents
/// `identity` when given.
pub fn client_tls_for(
    trust: Trust,
    identity: Option<&ClientIdentity>,
    alpn: &[u8],
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(PinVerifier { trust, provider: provider.clone() });
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Setup(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let mut config = match identity {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .map_err(|e| TlsError::Setup(format!("client certificate: {e}")))?,
        None => builder.with_no_client_auth(),
    };
    config.alpn_protocols = vec![alpn.to_vec()];
    Ok(config)
}

/// A QUIC client rustls config (ALPN `endcap/1`) that trusts per `trust`.
pub fn client_tls(trust: Trust) -> Result<rustls::ClientConfig, TlsError> {
    client_tls_for(trust, None, ALPN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_with_or_without_colons() {
        let hex = "ab".repeat(32);
        assert!(matches!(Trust::pinned(&hex), Ok(Trust::Pinned(p)) if p == [0xab; 32]));
        let logged = format!("sha256={hex}");
        assert!(matches!(Trust::pinned(&logged), Ok(Trust::Pinned(p)) if p == [0xab; 32]), "the form the server logs");
        let colons = vec!["AB"; 32].join(":");
        assert!(matches!(Trust::pinned(&colons), Ok(Trust::Pinned(p)) if p == [0xab; 32]));
        assert!(Trust::pinned("abc").is_err());
        assert!(Trust::pinned(&"zz".repeat(32)).is_err());
    }

    #[test]
    fn self_signed_certificate_has_a_fingerprint() {
        let tls = server_tls(&ServerConfig::default()).expect("self-signed");
        assert!(tls.self_signed);
        assert_eq!(tls.fingerprint.len(), 64);
        assert_eq!(tls.config.alpn_protocols, vec![ALPN.to_vec()]);
    }
}

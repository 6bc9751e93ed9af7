//! The store's certificate authority and device identities.
//!
//! `endcap ca init` makes a CA (an ECDSA P-256 key and a self-signed certificate) in a folder;
//! `endcap ca issue --device NAME --role ROLE` signs a client certificate for one device. A device
//! certificate carries its identity as two URI subject alternative names,
//! `urn:endcap:device:NAME` and `urn:endcap:role:ROLE`, so any TLS stack can present it and the
//! server reads it back with [`identity`] after rustls has verified the chain against the CA. The
//! role decides which operations a device may call (`ops`); the name is what revocation lists and
//! per-device limits key on. Files: `ca.pem` (public, goes to every server), `ca.key` (private,
//! mode 0600, stays on the machine that issues), `ca.name`; `NAME.pem` and `NAME.key` per device.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};
use rustls::pki_types::CertificateDer;

/// What a device may do; carried in its certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// An in-aisle screen: recommendations for the shopper in front of it.
    Screen,
    /// A beacon or the shopper's phone app: anonymous, zone-level answers only.
    Beacon,
    /// A checkout terminal: the shopper at the till, by id.
    Terminal,
    /// Store staff and back office: everything, audiences included.
    Ops,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [Role::Screen, Role::Beacon, Role::Terminal, Role::Ops];

    /// The name in certificates, flags and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Role::Screen => "screen",
            Role::Beacon => "beacon",
            Role::Terminal => "terminal",
            Role::Ops => "ops",
        }
    }

    /// The role called `name`.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// URI prefix of the device-name SAN.
const DEVICE_URI: &str = "urn:endcap:device:";
/// URI prefix of the role SAN.
const ROLE_URI: &str = "urn:endcap:role:";
/// Longest device name.
pub const MAX_DEVICE_NAME: usize = 64;

/// Why a CA operation failed.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The CA folder already holds a CA.
    #[error("{0} already holds a CA (ca.pem); refusing to overwrite it")]
    Exists(PathBuf),
    /// A device name with characters other than letters, digits, `-`, `_`, `.`.
    #[error("device name {0:?} must be 1 to 64 letters, digits, '-', '_' or '.'")]
    BadName(String),
    /// rcgen refused.
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CaError + '_ {
    move |source| CaError::Io { path: path.to_path_buf(), source }
}

/// True for a device name that fits in a URI and a log line as it is.
pub fn valid_device_name(name: &str) -> bool {
    (1..=MAX_DEVICE_NAME).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A device's name held inline (at most [`MAX_DEVICE_NAME`] bytes), so that the `Caller` a
/// request carries stays `Copy`: naming the caller costs no allocation per request.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceName {
    len: u8,
    bytes: [u8; MAX_DEVICE_NAME],
}

impl DeviceName {
    /// `name` when it is a valid device name.
    pub fn new(name: &str) -> Option<DeviceName> {
        if !valid_device_name(name) {
            return None;
        }
        let mut bytes = [0u8; MAX_DEVICE_NAME];
        bytes[..name.len()].copy_from_slice(name.as_bytes());
        Some(DeviceName { len: name.len() as u8, bytes })
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        // Built from a valid (ASCII) name only.
        std::str::from_utf8(&self.bytes[..self.len as usize]).unwrap_or("")
    }
}

impl std::fmt::Debug for DeviceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}

impl std::fmt::Display for DeviceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Writes `bytes` to `path`, readable by the owner only when `private`.
fn write(path: &Path, bytes: &[u8], private: bool) -> Result<(), CaError> {
    #[cfg(unix)]
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mode = if private { 0o600 } else { 0o644 };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(mode)
            .open(path)
            .map_err(io(path))?;
        f.write_all(bytes).map_err(io(path))
    }
    #[cfg(not(unix))]
    {
        let _ = private;
        std::fs::write(path, bytes).map_err(io(path))
    }
}

/// The CA's certificate parameters: rebuilt identically for every issue, so the issuer name and
/// key identifier in device certificates match the CA certificate.
fn ca_params(name: &str, days: u32) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, format!("endcap store CA {name}"));
    dn.push(DnType::OrganizationName, "endcap");
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let now = time_now();
    params.not_before = now - Duration::from_secs(3600);
    params.not_after = now + Duration::from_secs(days as u64 * 86_400);
    params
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// Makes a CA called `name` in `dir` (created if missing), valid for `days`.
pub fn init(dir: &Path, name: &str, days: u32) -> Result<(), CaError> {
    if !valid_device_name(name) {
        return Err(CaError::BadName(name.to_string()));
    }
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    if dir.join("ca.pem").exists() {
        return Err(CaError::Exists(dir.to_path_buf()));
    }
    let key = KeyPair::generate()?;
    let cert = ca_params(name, days).self_signed(&key)?;
    write(&dir.join("ca.key"), key.serialize_pem().as_bytes(), true)?;
    write(&dir.join("ca.name"), name.as_bytes(), false)?;
    write(&dir.join("ca.pem"), cert.pem().as_bytes(), false)
}

/// Signs a client certificate for `device` with `role` using the CA in `dir`, valid for `days`;
/// writes `out/DEVICE.pem` and `out/DEVICE.key` and returns their paths.
pub fn issue(dir: &Path, device: &str, role: Role, out: &Path, days: u32) -> Result<(PathBuf, PathBuf), CaError> {
    if !valid_device_name(device) {
        return Err(CaError::BadName(device.to_string()));
    }
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read_to_string(&path).map_err(io(&path))
    };
    let ca_name = read("ca.name")?;
    let ca_key = KeyPair::from_pem(&read("ca.key")?)?;
    let issuer = Issuer::new(ca_params(ca_name.trim(), days), ca_key);

    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, device);
    dn.push(DnType::OrganizationalUnitName, role.name());
    params.distinguished_name = dn;
    params.subject_alt_names = vec![
        SanType::URI(format!("{DEVICE_URI}{device}").try_into()?),
        SanType::URI(format!("{ROLE_URI}{}", role.name()).try_into()?),
    ];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let now = time_now();
    params.not_before = now - Duration::from_secs(3600);
    params.not_after = now + Duration::from_secs(days as u64 * 86_400);
    let key = KeyPair::generate()?;
    let cert = params.signed_by(&key, &issuer)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    let (cert_path, key_path) = (out.join(format!("{device}.pem")), out.join(format!("{device}.key")));
    write(&key_path, key.serialize_pem().as_bytes(), true)?;
    write(&cert_path, cert.pem().as_bytes(), false)?;
    Ok((cert_path, key_path))
}

/// A verified device's name and role, read from its certificate; `None` when the certificate
/// does not carry exactly one valid name and one known role.
pub fn identity(cert: &CertificateDer<'_>) -> Option<(String, Role)> {
    let parsed = webpki::EndEntityCert::try_from(cert).ok()?;
    let (mut device, mut role) = (None, None);
    for uri in parsed.valid_uri_names() {
        if let Some(name) = uri.strip_prefix(DEVICE_URI) {
            if device.replace(name).is_some() || !valid_device_name(name) {
                return None;
            }
        } else if let Some(r) = uri.strip_prefix(ROLE_URI)
            && role.replace(Role::parse(r)?).is_some()
        {
            return None;
        }
    }
    Some((device?.to_string(), role?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::pem::PemObject;

    #[test]
    fn issued_certificates_carry_the_device_and_role_and_the_ca_refuses_to_be_overwritten() {
        let dir = std::env::temp_dir().join(format!("endcap-ca-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        init(&dir, "store-7", 3650).expect("init");
        assert!(matches!(init(&dir, "store-7", 3650), Err(CaError::Exists(_))));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("ca.key")).expect("key").permissions().mode();
            assert_eq!(mode & 0o077, 0, "the CA key is private");
        }
        let (cert, _key) = issue(&dir, "aisle-7-screen", Role::Screen, &dir.join("devices"), 365).expect("issue");
        let pem = std::fs::read(&cert).expect("cert");
        let der = rustls::pki_types::CertificateDer::pem_slice_iter(&pem).next().expect("one").expect("pem");
        assert_eq!(identity(&der), Some(("aisle-7-screen".to_string(), Role::Screen)));
        assert!(matches!(issue(&dir, "bad name!", Role::Ops, &dir, 1), Err(CaError::BadName(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

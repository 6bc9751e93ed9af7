//! Optional Ed25519 signatures of model artifacts, so a server configured with the publisher's
//! public key (`model.signing_key`) serves only models the publisher signed: a file that
//! validates (checksums catch corruption, not forgery) but was written by anyone else is refused.
//!
//! The signature covers the whole file: Ed25519 over `"endcap-model-v1\0" || SHA-256(file)`, the
//! prefix keeping the signature from meaning anything in another protocol. It lives beside the
//! model as `MODEL.sig` (one line, `ed25519 <signature hex> sha256=<digest hex>`) and must be in
//! place before the model is published (renamed over the served path): `endcap train --sign-key`
//! and `endcap model sign` write it first. Keys: `endcap model keygen --out DIR` writes
//! `model-signing.pk8` (the private key, PKCS#8, mode 0600: keep it on the training machine) and
//! `model-signing.pub` (`ed25519 <public key hex>`, for the servers).

use std::io::Write;
use std::path::{Path, PathBuf};

use ring::rand::SystemRandom;
use ring::signature::{ED25519, Ed25519KeyPair, KeyPair, UnparsedPublicKey};

/// Domain separation for what is signed.
const CONTEXT: &[u8] = b"endcap-model-v1\0";

/// The signature file of the model at `model`: `MODEL.sig`.
pub fn sig_path(model: &Path) -> PathBuf {
    let mut name = model.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn message(parts: &[&[u8]]) -> ([u8; 32], Vec<u8>) {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    parts.iter().for_each(|p| ctx.update(p));
    let digest = ctx.finish();
    let mut sum = [0u8; 32];
    sum.copy_from_slice(digest.as_ref());
    (sum, [CONTEXT, &sum].concat())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

/// A publisher's public key, checking models' signatures.
#[derive(Debug, Clone)]
pub struct Verifier {
    key: [u8; 32],
    from: PathBuf,
}

impl Verifier {
    /// Reads a public key file (`ed25519 <64 hex digits>`).
    pub fn from_file(path: &Path) -> Result<Verifier, String> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("cannot read signing key {}: {e}", path.display()))?;
        let hex_key = text.trim().strip_prefix("ed25519 ").map(str::trim);
        let key = hex_key.and_then(unhex).filter(|k| k.len() == 32).ok_or_else(|| {
            format!("{} is not an endcap public key (one line: `ed25519 <64 hex digits>`)", path.display())
        })?;
        Ok(Verifier { key: key.try_into().expect("32 bytes"), from: path.to_path_buf() })
    }

    /// Checks `file` (a whole artifact) against the signature file beside `model`.
    pub fn verify(&self, model: &Path, file: &[u8]) -> Result<(), String> {
        let sig_file = sig_path(model);
        let text = std::fs::read_to_string(&sig_file).map_err(|e| {
            format!(
                "no signature ({}: {e}); a server with model.signing_key serves only signed models",
                sig_file.display()
            )
        })?;
        let sig = text
            .split_whitespace()
            .nth(1)
            .filter(|_| text.starts_with("ed25519 "))
            .and_then(unhex)
            .filter(|s| s.len() == 64)
            .ok_or_else(|| format!("{} is not an endcap signature", sig_file.display()))?;
        let (sum, msg) = message(&[file]);
        UnparsedPublicKey::new(&ED25519, &self.key).verify(&msg, &sig).map_err(|_| {
            format!(
                "the signature in {} does not verify with {} (file sha256={}): not signed by this publisher, or \
                 changed since",
                sig_file.display(),
                self.from.display(),
                hex(&sum)
            )
        })
    }
}

/// Writes a new key pair into `dir`: `model-signing.pk8` (private, 0600) and
/// `model-signing.pub`. Refuses to overwrite an existing private key.
pub fn keygen(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let (private, public) = (dir.join("model-signing.pk8"), dir.join("model-signing.pub"));
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).map_err(|_| "no system randomness".to_string())?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|e| e.to_string())?;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&private).map_err(|e| format!("cannot create {}: {e}", private.display()))?;
    f.write_all(pkcs8.as_ref()).and_then(|_| f.sync_all()).map_err(|e| format!("{}: {e}", private.display()))?;
    std::fs::write(&public, format!("ed25519 {}\n", hex(pair.public_key().as_ref())))
        .map_err(|e| format!("cannot write {}: {e}", public.display()))?;
    Ok((private, public))
}

/// Signs the artifact at `model` with the private key at `key`, writing `MODEL.sig` atomically.
pub fn sign_file(key: &Path, model: &Path) -> Result<PathBuf, String> {
    let file = std::fs::read(model).map_err(|e| format!("cannot read {}: {e}", model.display()))?;
    sign_parts(key, model, &[&file])
}

/// Signs the bytes that will be published at `model` (the concatenation of `parts`), writing
/// `MODEL.sig` atomically: call it before the model itself is published.
pub fn sign_parts(key: &Path, model: &Path, parts: &[&[u8]]) -> Result<PathBuf, String> {
    let pkcs8 = std::fs::read(key).map_err(|e| format!("cannot read signing key {}: {e}", key.display()))?;
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8)
        .map_err(|_| format!("{} is not an Ed25519 private key (endcap model keygen)", key.display()))?;
    let (sum, msg) = message(parts);
    let line = format!("ed25519 {} sha256={}\n", hex(pair.sign(&msg).as_ref()), hex(&sum));
    let sig = sig_path(model);
    let tmp = sig.with_extension("sig.tmp");
    std::fs::write(&tmp, line)
        .and_then(|_| std::fs::rename(&tmp, &sig))
        .map_err(|e| format!("{}: {e}", sig.display()))?;
    Ok(sig)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_file_verifies_and_any_change_or_other_key_is_refused() {
        let dir = std::env::temp_dir().join(format!("endcap-sign-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (private, public) = keygen(&dir).expect("keys");
        assert!(keygen(&dir).is_err(), "never overwrites a private key");
        let model = dir.join("m.endcap");
        std::fs::write(&model, b"model bytes").expect("write");
        sign_file(&private, &model).expect("signs");
        let v = Verifier::from_file(&public).expect("public key");
        v.verify(&model, b"model bytes").expect("verifies");
        let e = v.verify(&model, b"model bytez").unwrap_err();
        assert!(e.contains("does not verify"), "{e}");
        let other = keygen(&dir.join("other")).expect("keys").1;
        assert!(Verifier::from_file(&other).expect("key").verify(&model, b"model bytes").is_err());
        std::fs::remove_file(sig_path(&model)).expect("rm");
        assert!(v.verify(&model, b"model bytes").unwrap_err().contains("no signature"));
        std::fs::write(&public, "rsa 1234").expect("write");
        assert!(Verifier::from_file(&public).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}

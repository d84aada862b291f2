//! The token signing key read from a file (`--signing-key-file`), for
//! deployments that keep it in a secret store (a Kubernetes Secret) rather than
//! in the users database, where the service otherwise creates it.
//!
//! The file holds an Ed25519 private key as PKCS#8, PEM (`-----BEGIN PRIVATE
//! KEY-----`, what `openssl genpkey -algorithm ed25519` writes) or DER. Its key
//! id is the key's RFC 7638 thumbprint, so every replica reading the same file
//! publishes and signs with the same `kid`, and a new key gets a new one.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use kit::auth::SigningKey;
use std::path::{Path, PathBuf};

/// The command that writes a suitable key, named in every error.
pub const GENERATE: &str = "openssl genpkey -algorithm ed25519 -out signing-key.pem";

/// Why a key file cannot be used; the message names the file.
#[derive(Debug, thiserror::Error)]
#[error("signing key file {}: {problem} (create one with `{GENERATE}`)", path.display())]
pub struct KeyFileError {
    pub path: PathBuf,
    pub problem: String,
}

/// Reads and checks the key in `path`.
pub fn load(path: &Path) -> Result<SigningKey, KeyFileError> {
    let fail = |problem: String| KeyFileError {
        path: path.to_owned(),
        problem,
    };
    let bytes = std::fs::read(path).map_err(|e| fail(format!("cannot read it: {e}")))?;
    let der = pkcs8_der(&bytes).map_err(fail)?;
    // The key id depends on the public key, known only once the key is parsed.
    let unnamed = SigningKey::from_pkcs8(String::new(), &der)
        .map_err(|e| fail(format!("not an Ed25519 PKCS#8 private key ({e})")))?;
    let kid = thumbprint(&unnamed.jwk().x);
    SigningKey::from_pkcs8(kid, &der).map_err(|e| fail(e.to_string()))
}

/// The DER bytes of a PEM `PRIVATE KEY` block, or the file itself when it is
/// not PEM.
fn pkcs8_der(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err("it is empty".into());
    }
    let Some(text) = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| t.trim_start().starts_with("-----BEGIN "))
    else {
        return Ok(bytes.to_vec());
    };
    let mut lines = text.lines().map(str::trim).skip_while(|l| l.is_empty());
    let label = lines
        .next()
        .and_then(|l| l.strip_prefix("-----BEGIN ")?.strip_suffix("-----"))
        .ok_or("a PEM file whose first line is not a BEGIN line")?;
    if label != "PRIVATE KEY" {
        return Err(format!(
            "a PEM `{label}` block, expected an unencrypted PKCS#8 `PRIVATE KEY`"
        ));
    }
    let end = format!("-----END {label}-----");
    let body: String = lines
        .by_ref()
        .take_while(|l| *l != end)
        .collect::<Vec<_>>()
        .concat();
    STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM block is not valid base64 ({e})"))
}

/// RFC 7638 thumbprint of an Ed25519 public key (`x`, base64url): SHA-256 of
/// the JWK's required members in lexical order.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(ring::digest::digest(
        &ring::digest::SHA256,
        canonical.as_bytes(),
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// RFC 8037 appendix A.1's key: its thumbprint is given in A.3.
    const RFC8037_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n\
        -----END PRIVATE KEY-----\n";

    fn write(name: &str, bytes: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("banter-key-file-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn the_key_id_is_the_rfc_7638_thumbprint() {
        let key = load(&write("rfc.pem", RFC8037_PEM.as_bytes())).unwrap();
        assert_eq!(key.jwk().x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
        assert_eq!(key.kid(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
    }

    #[test]
    fn pem_and_der_of_one_key_load_alike() {
        let pem = load(&write("a.pem", RFC8037_PEM.as_bytes())).unwrap();
        let der = load(&write("a.der", pem.pkcs8())).unwrap();
        assert_eq!(pem.jwk(), der.jwk());
    }

    #[test]
    fn unusable_files_are_refused_with_the_file_and_the_reason() {
        let missing = std::env::temp_dir().join("banter-no-such-key.pem");
        let cases: [(PathBuf, &str); 5] = [
            (missing, "cannot read it"),
            (write("empty.pem", b"\n"), "it is empty"),
            (
                write(
                    "rsa.pem",
                    b"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                ),
                "a PEM `RSA PRIVATE KEY` block",
            ),
            (
                write(
                    "bad64.pem",
                    b"-----BEGIN PRIVATE KEY-----\n!!!\n-----END PRIVATE KEY-----\n",
                ),
                "not valid base64",
            ),
            (
                write("junk.der", b"\x30\x03\x02\x01\x00"),
                "not an Ed25519 PKCS#8 private key",
            ),
        ];
        for (path, problem) in cases {
            let err = load(&path).err().unwrap().to_string();
            assert!(err.contains(&path.display().to_string()), "{err}");
            assert!(err.contains(problem), "{err}");
            assert!(
                err.ends_with(&format!("(create one with `{GENERATE}`)")),
                "{err}"
            );
        }
    }
}

//! HTTPS served by the binary itself, for deployments without a terminating proxy
//! (`scim-server serve --tls-cert chain.pem --tls-key key.pem`).
//!
//! rustls with the ring crypto provider (the one ureq and ldap3 already use, so no second
//! crypto library is linked), TLS 1.2 and 1.3, HTTP/1.1 (ALPN `http/1.1`, set by actix-web;
//! identity providers speak HTTP/1.1, so actix-web's `http2` feature is not built).
//! Everything that can be wrong with the files is found before the server binds: unreadable
//! files, no certificate, no or several private keys, a key that does not belong to the
//! certificate. Each is a [`TlsError`] naming the file, so a bad deployment stops at start
//! with a message instead of failing every handshake later.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls::pki_types::pem::{self, PemObject, SectionKind};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// The two PEM files HTTPS needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The certificate chain, leaf first (as issued: `fullchain.pem`).
    pub cert: PathBuf,
    /// The leaf certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Why HTTPS can't be set up. Messages name the file and what to do; none carries key
/// material.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// One of the two options was given without the other.
    #[error(
        "--tls-cert (SCIM_TLS_CERT) and --tls-key (SCIM_TLS_KEY) go together: give both to \
         serve HTTPS, or neither to serve plain HTTP; {0} is missing"
    )]
    Incomplete(&'static str),
    /// A file could not be read.
    #[error("cannot read the TLS {what} file {path}: {cause}")]
    Read {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What the system said.
        cause: String,
    },
    /// A file is not the PEM it should be.
    #[error("the TLS {what} file {path} is not usable: {cause}")]
    Invalid {
        /// `certificate` or `private key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        cause: String,
    },
    /// rustls refused the pair (most often: the key is not the certificate's).
    #[error("the TLS private key {key} does not fit the certificate {cert}: {cause}")]
    Mismatch {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls' reason.
        cause: String,
    },
}

/// Both files or neither: `Ok(None)` means plain HTTP.
pub fn files(cert: Option<PathBuf>, key: Option<PathBuf>) -> Result<Option<TlsFiles>, TlsError> {
    // An empty value (e.g. `SCIM_TLS_CERT=` in an env file) counts as not given.
    let given = |p: Option<PathBuf>| p.filter(|p| !p.as_os_str().is_empty());
    match (given(cert), given(key)) {
        (None, None) => Ok(None),
        (Some(cert), Some(key)) => Ok(Some(TlsFiles { cert, key })),
        (Some(_), None) => Err(TlsError::Incomplete("--tls-key")),
        (None, Some(_)) => Err(TlsError::Incomplete("--tls-cert")),
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        what,
        path: path.to_path_buf(),
        cause: e.to_string(),
    })
}

fn invalid(what: &'static str, path: &Path, cause: impl ToString) -> TlsError {
    TlsError::Invalid {
        what,
        path: path.to_path_buf(),
        cause: cause.to_string(),
    }
}

/// The certificate chain in a PEM file, in file order (leaf first).
pub fn load_chain(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    const WHAT: &str = "certificate";
    let pem = read(WHAT, path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, pem::Error>>()
        .map_err(|e| invalid(WHAT, path, format!("bad PEM ({e})")))?;
    if chain.is_empty() {
        return Err(invalid(
            WHAT,
            path,
            "no certificate in it (expected PEM `BEGIN CERTIFICATE` blocks)",
        ));
    }
    Ok(chain)
}

/// The one private key in a PEM file. A file with several keys is refused rather than
/// guessing which one is meant.
pub fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    const WHAT: &str = "private key";
    let pem = read(WHAT, path)?;
    let mut keys = Vec::new();
    for section in <(SectionKind, Vec<u8>) as PemObject>::pem_slice_iter(&pem) {
        let (kind, der) = section.map_err(|e| invalid(WHAT, path, format!("bad PEM ({e})")))?;
        let key = match kind {
            SectionKind::PrivateKey => PrivateKeyDer::Pkcs8(der.into()),
            SectionKind::RsaPrivateKey => PrivateKeyDer::Pkcs1(der.into()),
            SectionKind::EcPrivateKey => PrivateKeyDer::Sec1(der.into()),
            _ => continue,
        };
        keys.push(key);
    }
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 => Err(invalid(
            WHAT,
            path,
            "no unencrypted private key in it (expected `BEGIN PRIVATE KEY`, `BEGIN RSA PRIVATE \
             KEY` or `BEGIN EC PRIVATE KEY`)",
        )),
        n => Err(invalid(
            WHAT,
            path,
            format!("{n} private keys in it; keep only the certificate's"),
        )),
    }
}

/// The rustls server configuration for these files: ring provider, its safe default
/// protocol versions (TLS 1.2 and 1.3), no client certificates, and the key checked against
/// the leaf certificate.
pub fn server_config(files: &TlsFiles) -> Result<ServerConfig, TlsError> {
    let chain = load_chain(&files.cert)?;
    let key = load_key(&files.key)?;
    let mismatch = |e: rustls::Error| TlsError::Mismatch {
        cert: files.cert.clone(),
        key: files.key.clone(),
        cause: e.to_string(),
    };
    ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(mismatch)?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn both_files_or_neither() {
        assert_eq!(files(None, None).unwrap(), None);
        assert_eq!(
            files(Some("".into()), Some("".into())).unwrap(),
            None,
            "empty values count as not given"
        );
        let both = files(Some("c.pem".into()), Some("k.pem".into())).unwrap();
        assert_eq!(
            both,
            Some(TlsFiles {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        let e = files(Some("c.pem".into()), None).unwrap_err();
        assert!(e.to_string().contains("--tls-key is missing"), "{e}");
        let e = files(None, Some("k.pem".into())).unwrap_err();
        assert!(e.to_string().contains("--tls-cert is missing"), "{e}");
    }

    #[test]
    fn good_pair_loads_and_bad_files_say_which() {
        let dir = tempfile::tempdir().unwrap();
        let a = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let b = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert = write(dir.path(), "a.crt", &a.cert.pem());
        let key = write(dir.path(), "a.key", &a.signing_key.serialize_pem());
        let other_key = write(dir.path(), "b.key", &b.signing_key.serialize_pem());
        let garbage = write(dir.path(), "garbage.pem", "not a pem file\n");
        let two_keys = write(
            dir.path(),
            "two.key",
            &format!(
                "{}{}",
                a.signing_key.serialize_pem(),
                b.signing_key.serialize_pem()
            ),
        );
        let missing = dir.path().join("missing.pem");

        let ok = TlsFiles {
            cert: cert.clone(),
            key: key.clone(),
        };
        assert!(server_config(&ok).is_ok());

        let cases: Vec<(TlsFiles, &str)> = vec![
            (
                TlsFiles {
                    cert: cert.clone(),
                    key: other_key.clone(),
                },
                "does not fit the certificate",
            ),
            (
                TlsFiles {
                    cert: garbage.clone(),
                    key: key.clone(),
                },
                "no certificate in it",
            ),
            (
                TlsFiles {
                    cert: cert.clone(),
                    key: garbage.clone(),
                },
                "no unencrypted private key",
            ),
            (
                TlsFiles {
                    cert: cert.clone(),
                    key: two_keys,
                },
                "2 private keys",
            ),
            (
                TlsFiles {
                    cert: missing.clone(),
                    key: key.clone(),
                },
                "cannot read the TLS certificate file",
            ),
            (
                TlsFiles {
                    cert: cert.clone(),
                    key: cert.clone(),
                },
                "no unencrypted private key",
            ),
        ];
        for (files, expected) in cases {
            let e = server_config(&files).unwrap_err().to_string();
            assert!(e.contains(expected), "{files:?}: {e}");
            assert!(!e.contains("PRIVATE KEY-----"), "key material in {e}");
        }
    }
}

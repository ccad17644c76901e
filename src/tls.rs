//! TLS as libpq's `sslmode` defines it, with rustls (pure Rust with the `ring` provider: a
//! fresh machine builds it with no OpenSSL headers).
//!
//! | sslmode     | encrypts              | verifies                                   |
//! |-------------|-----------------------|--------------------------------------------|
//! | disable     | never                 | -                                          |
//! | allow       | only if the server insists (plaintext tried first) | nothing       |
//! | prefer      | if the server can     | nothing                                    |
//! | require     | always                | nothing, unless a root certificate is there (then as verify-ca) |
//! | verify-ca   | always                | the chain up to sslrootcert                |
//! | verify-full | always                | the chain and that the certificate names the host |
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

use crate::error::usage;

/// How the server's certificate is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// Encrypt only (libpq's require, prefer, allow).
    Nothing,
    /// The chain up to a trusted root, any host name (verify-ca).
    Chain,
    /// The chain and the host name (verify-full).
    Full,
}

/// The TLS settings of one connection, resolved from sslmode and friends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsPlan {
    /// What to verify.
    pub verify: Verify,
    /// Trusted roots: a PEM file, or the OS store (`sslrootcert=system`).
    pub roots: Option<Roots>,
    /// Client certificate and key files.
    pub client_cert: Option<(PathBuf, PathBuf)>,
}

/// Where trusted roots come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// A PEM file of CA certificates.
    File(PathBuf),
    /// The operating system's trust store.
    System,
}

/// libpq's default files under `~/.postgresql`.
fn default_file(home: Option<&Path>, name: &str) -> Option<PathBuf> {
    home.map(|h| h.join(".postgresql").join(name))
}

/// Resolve the TLS plan for an sslmode the way libpq does.
pub fn plan(
    sslmode: &str,
    sslrootcert: Option<&str>,
    sslcert: Option<&str>,
    sslkey: Option<&str>,
    home: Option<&Path>,
) -> Result<TlsPlan> {
    let default_root = default_file(home, "root.crt");
    let roots = match sslrootcert {
        Some("system") => Some(Roots::System),
        Some(path) => Some(Roots::File(PathBuf::from(path))),
        None => default_root.filter(|p| p.is_file()).map(Roots::File),
    };
    if roots == Some(Roots::System) && sslmode != "verify-full" {
        return Err(usage(format!(
            "weak sslmode \"{sslmode}\" may not be used with sslrootcert=system (use \"verify-full\")"
        )));
    }
    let verify = match sslmode {
        "verify-full" => Verify::Full,
        "verify-ca" => Verify::Chain,
        // libpq: with a root certificate, require behaves as verify-ca
        "require" if roots.is_some() => Verify::Chain,
        _ => Verify::Nothing,
    };
    if verify != Verify::Nothing && roots.is_none() {
        let path = default_file(home, "root.crt")
            .map_or("~/.postgresql/root.crt".to_string(), |p| {
                p.display().to_string()
            });
        return Err(usage(format!(
            "root certificate file \"{path}\" does not exist; either provide the file, use the system's trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification"
        )));
    }
    let cert = sslcert
        .map(PathBuf::from)
        .or_else(|| default_file(home, "postgresql.crt").filter(|p| p.is_file()));
    let key = sslkey
        .map(PathBuf::from)
        .or_else(|| default_file(home, "postgresql.key").filter(|p| p.is_file()));
    let client_cert = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (Some(c), None) if sslcert.is_some() => {
            bail!(
                "client certificate {} given without its key (sslkey)",
                c.display()
            )
        }
        _ => None,
    };
    Ok(TlsPlan {
        verify: if verify == Verify::Nothing {
            Verify::Nothing
        } else {
            verify
        },
        roots: if verify == Verify::Nothing {
            None
        } else {
            roots
        },
        client_cert,
    })
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_roots(roots: &Roots) -> Result<RootCertStore> {
    let mut store = RootCertStore::empty();
    match roots {
        Roots::File(path) => {
            let certs = CertificateDer::pem_file_iter(path)
                .with_context(|| format!("reading root certificates from {}", path.display()))?;
            for cert in certs {
                let cert = cert.with_context(|| format!("parsing {}", path.display()))?;
                store.add(cert).with_context(|| {
                    format!("adding a root certificate from {}", path.display())
                })?;
            }
            if store.is_empty() {
                bail!("no certificates found in {}", path.display());
            }
        }
        Roots::System => {
            let found = rustls_native_certs::load_native_certs();
            for cert in found.certs {
                let _ = store.add(cert);
            }
            if store.is_empty() {
                bail!("the system trust store has no certificates (sslrootcert=system)");
            }
        }
    }
    Ok(store)
}

/// Checks signatures but trusts any certificate: libpq's require/prefer/allow.
#[derive(Debug)]
struct EncryptOnly(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for EncryptOnly {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// The chain must lead to a trusted root; the host name is not checked (verify-ca).
#[derive(Debug)]
struct ChainOnly(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for ChainOnly {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls client configuration for a plan.
pub fn client_config(plan: &TlsPlan) -> Result<ClientConfig> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .context("setting up TLS")?;
    let verifier: Arc<dyn ServerCertVerifier> = match (&plan.verify, &plan.roots) {
        (Verify::Nothing, _) | (_, None) => {
            Arc::new(EncryptOnly(provider.signature_verification_algorithms))
        }
        (verify, Some(roots)) => {
            let webpki = WebPkiServerVerifier::builder_with_provider(
                Arc::new(load_roots(roots)?),
                provider.clone(),
            )
            .build()
            .context("setting up certificate verification")?;
            if *verify == Verify::Full {
                webpki
            } else {
                Arc::new(ChainOnly(webpki))
            }
        }
    };
    let builder = builder
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let config = match &plan.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = CertificateDer::pem_file_iter(cert)
                .with_context(|| format!("reading the client certificate {}", cert.display()))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("parsing the client certificate {}", cert.display()))?;
            let key = PrivateKeyDer::from_pem_file(key)
                .with_context(|| format!("reading the client key {}", key.display()))?;
            builder
                .with_client_auth_cert(certs, key)
                .context("using the client certificate")?
        }
    };
    Ok(config)
}

/// Parse `--root-cert` as `sslrootcert` reads it: `system` (the OS trust store) or a PEM file.
pub fn parse_roots(s: &str) -> Result<Roots, String> {
    match s {
        "" => Err("--root-cert needs a PEM file or `system`".to_string()),
        "system" => Ok(Roots::System),
        path => Ok(Roots::File(PathBuf::from(path))),
    }
}

/// TLS for HTTPS (webhooks): always libpq's verify-full — the chain up to `roots` and the
/// host name — with the same trust store options as the database's `sslrootcert` (a PEM
/// file, or `system`).
pub fn https_config(roots: &Roots) -> Result<ClientConfig> {
    client_config(&TlsPlan {
        verify: Verify::Full,
        roots: Some(roots.clone()),
        client_cert: None,
    })
}

/// A person's words for a certificate problem found anywhere in an error chain.
pub fn explain(err: &anyhow::Error, host: &str) -> Option<String> {
    let tls = err.chain().find_map(|c| {
        let io = c.downcast_ref::<std::io::Error>()?;
        io.get_ref()?.downcast_ref::<rustls::Error>()
    })?;
    Some(match tls {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer => {
                "the server's certificate is not signed by a trusted CA (unknown issuer): check sslrootcert".to_string()
            }
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => format!(
                "the server's certificate does not name host \"{host}\" (host name mismatch): connect with a name it lists, or use sslmode=verify-ca"
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                "the server's certificate has expired".to_string()
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                "the server's certificate is not valid yet (check the clocks)".to_string()
            }
            CertificateError::Revoked => "the server's certificate has been revoked".to_string(),
            other => format!("the server's certificate was rejected: {other:?}"),
        },
        other => format!("TLS failed: {other}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sslmodes_map_to_libpq_verification() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path();
        assert_eq!(
            plan("prefer", None, None, None, Some(home)).unwrap().verify,
            Verify::Nothing
        );
        assert_eq!(
            plan("require", None, None, None, Some(home))
                .unwrap()
                .verify,
            Verify::Nothing
        );
        let ca = home.join("ca.pem");
        std::fs::write(&ca, "x").unwrap();
        let p = ca.to_str().unwrap();
        assert_eq!(
            plan("require", Some(p), None, None, Some(home))
                .unwrap()
                .verify,
            Verify::Chain
        );
        assert_eq!(
            plan("verify-ca", Some(p), None, None, Some(home))
                .unwrap()
                .verify,
            Verify::Chain
        );
        assert_eq!(
            plan("verify-full", Some(p), None, None, Some(home))
                .unwrap()
                .verify,
            Verify::Full
        );
        let e = plan("verify-full", None, None, None, Some(home)).unwrap_err();
        assert!(e.to_string().contains("root certificate file"), "{e}");
        assert!(plan("verify-ca", Some("system"), None, None, Some(home)).is_err());
        assert_eq!(
            plan("verify-full", Some("system"), None, None, Some(home))
                .unwrap()
                .roots,
            Some(Roots::System)
        );
        // ~/.postgresql/root.crt makes require verify the chain, as libpq does
        std::fs::create_dir_all(home.join(".postgresql")).unwrap();
        std::fs::write(home.join(".postgresql/root.crt"), "x").unwrap();
        assert_eq!(
            plan("require", None, None, None, Some(home))
                .unwrap()
                .verify,
            Verify::Chain
        );
        assert_eq!(
            plan("prefer", None, None, None, Some(home)).unwrap().verify,
            Verify::Nothing
        );
    }
}

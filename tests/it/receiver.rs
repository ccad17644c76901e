//! A webhook receiver on 127.0.0.1 for the alert tests: a small HTTP/1.1 server that
//! answers from a script (status codes, Retry-After, hanging) and checks every delivery's
//! Standard Webhooks signature with an HMAC-SHA256 of its own (written here over SHA-256,
//! not usagectl's code).
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// This status, empty body.
    Status(u16),
    /// This status with a Retry-After header.
    RetryAfter(u16, u64),
    /// Read the request, then say nothing for this long.
    Hang(Duration),
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Got {
    pub path: String,
    pub webhook_id: String,
    pub timestamp: i64,
    pub signature_ok: bool,
    pub body: String,
    pub content_type: String,
}

impl Got {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the body is JSON")
    }
}

#[derive(Default)]
struct Inner {
    script: VecDeque<Reply>,
    got: Vec<Got>,
    secret: String,
}

pub struct Receiver {
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
}

/// HMAC-SHA256 (RFC 2104) over SHA-256.
fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let mut inner = Sha256::new();
    inner.update(k.map(|b| b ^ 0x36));
    inner.update(msg);
    let mut outer = Sha256::new();
    outer.update(k.map(|b| b ^ 0x5c));
    outer.update(inner.finalize());
    outer.finalize().into()
}

/// Whether `header` (space-separated `v1,<sig>` entries) holds a valid signature.
fn verify(secret: &str, id: &str, ts: i64, body: &[u8], header: &str) -> bool {
    let Some(key) = secret
        .strip_prefix("whsec_")
        .and_then(|k| B64.decode(k).ok())
    else {
        return false;
    };
    let mut msg = format!("{id}.{ts}.").into_bytes();
    msg.extend_from_slice(body);
    let want = B64.encode(hmac_sha256(&key, &msg));
    header
        .split(' ')
        .any(|s| s.strip_prefix("v1,") == Some(want.as_str()))
}

impl Receiver {
    /// Listen on an ephemeral port of 127.0.0.1; every request is answered from the script,
    /// 200 once it is empty.
    pub fn start() -> Receiver {
        Receiver::listen(None)
    }

    /// The same over TLS with this certificate chain and key (PEM files).
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Receiver {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let certs = CertificateDer::pem_file_iter(cert)
            .unwrap()
            .collect::<Result<Vec<_>, _>>()
            .unwrap();
        let key = PrivateKeyDer::from_pem_file(key).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .unwrap();
        Receiver::listen(Some(Arc::new(config)))
    }

    fn listen(tls: Option<Arc<rustls::ServerConfig>>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binding the receiver");
        let port = listener.local_addr().unwrap().port();
        let inner: Arc<Mutex<Inner>> = Default::default();
        let shared = inner.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let shared = shared.clone();
                let tls = tls.clone();
                std::thread::spawn(move || match tls {
                    None => handle(stream, &shared),
                    Some(config) => {
                        let Ok(conn) = rustls::ServerConnection::new(config) else {
                            return;
                        };
                        handle(rustls::StreamOwned::new(conn, stream), &shared)
                    }
                });
            }
        });
        Receiver { port, inner }
    }

    /// A URL of this receiver with `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// The secret signatures are checked with.
    pub fn set_secret(&self, secret: &str) {
        self.inner.lock().unwrap().secret = secret.to_string();
    }

    /// The next answers, in order.
    pub fn script(&self, replies: &[Reply]) {
        self.inner
            .lock()
            .unwrap()
            .script
            .extend(replies.iter().cloned());
    }

    /// Every request so far.
    pub fn got(&self) -> Vec<Got> {
        self.inner.lock().unwrap().got.clone()
    }
}

fn handle<S: Read + Write>(mut stream: S, shared: &Mutex<Inner>) {
    let mut reader = BufReader::new(&mut stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let path = line.split(' ').nth(1).unwrap_or("").to_string();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let len: usize = header("content-length").parse().unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let id = header("webhook-id");
    let ts: i64 = header("webhook-timestamp").parse().unwrap_or(0);
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let reply = {
        let mut inner = shared.lock().unwrap();
        let signature_ok = (now - ts).abs() <= 300
            && verify(&inner.secret, &id, ts, &body, &header("webhook-signature"));
        inner.got.push(Got {
            path,
            webhook_id: id,
            timestamp: ts,
            signature_ok,
            body: String::from_utf8_lossy(&body).into_owned(),
            content_type: header("content-type"),
        });
        inner.script.pop_front().unwrap_or(Reply::Status(200))
    };
    drop(reader);
    let answer = match reply {
        Reply::Status(s) => {
            format!("HTTP/1.1 {s} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        }
        Reply::RetryAfter(s, secs) => format!(
            "HTTP/1.1 {s} X\r\nretry-after: {secs}\r\ncontent-length: 4\r\nconnection: close\r\n\r\nslow"
        ),
        Reply::Hang(d) => {
            std::thread::sleep(d);
            return;
        }
    };
    let _ = stream.write_all(answer.as_bytes());
}

#[test]
fn the_receivers_own_hmac_matches_the_standard_webhooks_test_vector() {
    // from the Standard Webhooks reference libraries
    assert!(verify(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265330,
        br#"{"test": 2432232314}"#,
        "v1,bad v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    ));
    assert!(!verify(
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "msg_p5jXN8AQM9LWM0D4loKWxJek",
        1614265331,
        br#"{"test": 2432232314}"#,
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    ));
}

//! Webhooks as the Standard Webhooks spec defines them: the `whsec_` secret, the
//! `webhook-id` / `webhook-timestamp` / `webhook-signature` headers (`v1,` + base64 of
//! HMAC-SHA256 over `id.timestamp.body`), and one HTTP POST with bounded timeouts, no
//! redirects, and HTTPS verified like the database's `verify-full`.
//!
//! A webhook URL can carry a token (Slack's do) and a secret signs every delivery: neither
//! is ever printed, logged or put in an error. [`Endpoint::shown`] is the only form of a URL
//! that leaves this module; errors are built here from the kind of failure, never from the
//! HTTP client's own messages (which quote the URL).
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, KeyInit, Mac};

/// A signing secret: `whsec_` + base64 of 24 to 64 random bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(whsec_…)")
    }
}

impl Secret {
    /// The prefix of every secret.
    pub const PREFIX: &'static str = "whsec_";

    /// A new secret of 32 random bytes from the operating system.
    pub fn generate() -> Result<Secret> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key)
            .map_err(|e| anyhow::anyhow!("{e}"))
            .context("reading random bytes for a webhook secret")?;
        Ok(Secret(format!("{}{}", Self::PREFIX, B64.encode(key))))
    }

    /// Parse a secret (surrounding white space ignored). The message never quotes it.
    pub fn parse(text: &str) -> Result<Secret, String> {
        let text = text.trim();
        let Some(b64) = text.strip_prefix(Self::PREFIX) else {
            return Err(format!(
                "a webhook secret starts with {} (the Standard Webhooks format)",
                Self::PREFIX
            ));
        };
        match B64.decode(b64) {
            Ok(key) if (24..=64).contains(&key.len()) => Ok(Secret(text.to_string())),
            Ok(key) => Err(format!(
                "a webhook secret holds 24 to 64 bytes after {}; this one holds {}",
                Self::PREFIX,
                key.len()
            )),
            Err(_) => Err(format!(
                "a webhook secret is {} followed by base64; this one is not base64",
                Self::PREFIX
            )),
        }
    }

    /// The secret as stored (for the database only).
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn key(&self) -> Vec<u8> {
        // parse() checked it
        B64.decode(&self.0[Self::PREFIX.len()..])
            .unwrap_or_default()
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&self.key())
            .expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", B64.encode(mac.finalize().into_bytes()))
    }
}

/// A webhook URL, checked: http or https, a host, no user name or password.
#[derive(Clone, PartialEq, Eq)]
pub struct Endpoint {
    url: url::Url,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({})", self.shown())
    }
}

/// What an [`Endpoint`] is for: it decides the words of its messages and whether plain
/// http may go beyond loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlRole {
    /// An alert rule's webhook; plain http beyond loopback only when the rule allows it.
    Webhook {
        /// The rule was added with `--allow-insecure-http`.
        allow_insecure_http: bool,
    },
    /// Stripe's API base (`--api-base`): Stripe is https; plain http only to a loopback test
    /// server or proxy, with no flag to allow more (the API key travels in every request).
    StripeApiBase,
}

impl UrlRole {
    /// What the URL is called in messages.
    fn noun(self) -> &'static str {
        match self {
            UrlRole::Webhook { .. } => "webhook URL",
            UrlRole::StripeApiBase => "API base URL",
        }
    }

    fn allows_plain_http(self) -> bool {
        matches!(
            self,
            UrlRole::Webhook {
                allow_insecure_http: true
            }
        )
    }

    /// What to do about plain http to a host that is not loopback.
    fn plain_http_advice(self) -> &'static str {
        match self {
            UrlRole::Webhook { .. } => {
                "use https, or --allow-insecure-http to send alerts unencrypted"
            }
            UrlRole::StripeApiBase => {
                "use https (plain http is sent only to a test server or proxy on loopback, since every request carries the API key)"
            }
        }
    }
}

impl Endpoint {
    /// Parse and check a webhook URL. Plain `http://` only to a loopback host unless
    /// `allow_insecure_http`. Messages show the URL only as [`Endpoint::shown`] would.
    pub fn parse(text: &str, allow_insecure_http: bool) -> Result<Endpoint, String> {
        Endpoint::parse_as(
            text,
            UrlRole::Webhook {
                allow_insecure_http,
            },
        )
    }

    /// Parse and check a URL used as `role`. Plain `http://` only to a loopback host unless
    /// the role allows it. Messages show the URL only as [`Endpoint::shown`] would.
    pub fn parse_as(text: &str, role: UrlRole) -> Result<Endpoint, String> {
        let noun = role.noun();
        let url =
            url::Url::parse(text.trim()).map_err(|e| format!("the {noun} is not a URL ({e})"))?;
        let ep = Endpoint { url };
        let shown = ep.shown();
        match ep.url.scheme() {
            "https" => {}
            "http" if role.allows_plain_http() || ep.is_loopback() => {}
            "http" => {
                return Err(format!(
                    "the {noun} {shown} is plain http to a host that is not loopback: {}",
                    role.plain_http_advice()
                ));
            }
            other => {
                return Err(format!(
                    "the {noun}'s scheme is {other}: only https (and http to loopback) is sent to"
                ));
            }
        }
        if ep.url.host().is_none() {
            return Err(format!("the {noun} {shown} names no host"));
        }
        if !ep.url.username().is_empty() || ep.url.password().is_some() {
            return Err(format!(
                "the {noun} {shown} carries a user name or password: put the credential in \
                 the path or query, which usagectl never shows, or sign with the secret instead"
            ));
        }
        Ok(ep)
    }

    /// Whether the host is a loopback address or `localhost`.
    pub fn is_loopback(&self) -> bool {
        match self.url.host() {
            Some(url::Host::Ipv4(a)) => IpAddr::V4(a).is_loopback(),
            Some(url::Host::Ipv6(a)) => IpAddr::V6(a).is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        }
    }

    /// The URL as it may be shown: scheme, host and port, with any path or query masked
    /// (`https://hooks.slack.com/…`).
    pub fn shown(&self) -> String {
        let host = match self.url.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]"),
            Some(h) => h.to_string(),
            None => String::new(),
        };
        let port = self.url.port().map(|p| format!(":{p}")).unwrap_or_default();
        let masked = if self.url.path() != "/" || self.url.query().is_some() {
            "/…"
        } else {
            "/"
        };
        format!("{}://{host}{port}{masked}", self.url.scheme())
    }

    /// The full URL (for the database and the request only).
    pub fn expose(&self) -> &str {
        self.url.as_str()
    }
}

/// How long one delivery may take.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// To open the TCP connection (and finish the TLS handshake).
    pub connect: Duration,
    /// For the whole request, connecting included.
    pub total: Duration,
}

/// The result of one attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A 2xx answer.
    Delivered {
        /// The status.
        status: u16,
    },
    /// Worth trying again: a timeout, a connection failure, 408, 429 or 5xx.
    Retry {
        /// The status, when there was an answer.
        status: Option<u16>,
        /// What went wrong (no URL, no secret).
        error: String,
        /// The receiver's Retry-After, when it sent one.
        after: Option<Duration>,
    },
    /// Not worth trying again: another 4xx, a redirect, a bad URL.
    Fail {
        /// The status, when there was an answer.
        status: Option<u16>,
        /// What went wrong (no URL, no secret).
        error: String,
    },
}

impl Outcome {
    /// The HTTP status, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Delivered { status } => Some(*status),
            Outcome::Retry { status, .. } | Outcome::Fail { status, .. } => *status,
        }
    }

    /// The error, if any.
    pub fn error(&self) -> Option<&str> {
        match self {
            Outcome::Delivered { .. } => None,
            Outcome::Retry { error, .. } | Outcome::Fail { error, .. } => Some(error),
        }
    }
}

/// THE retry rule for an HTTP answer: 2xx delivered; 408, 429 and 5xx retried (with the
/// receiver's `Retry-After`, in seconds or as an HTTP date); redirects are not followed;
/// every other status fails at once. `snippet` is the start of the answer's body.
pub fn classify(
    status: u16,
    retry_after: Option<&str>,
    snippet: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> Outcome {
    let said = if snippet.is_empty() {
        String::new()
    } else {
        format!(": {}", crate::error::echo(snippet))
    };
    match status {
        200..=299 => Outcome::Delivered { status },
        408 | 429 | 500..=599 => Outcome::Retry {
            status: Some(status),
            error: format!("HTTP {status}{said}"),
            after: retry_after.and_then(|v| parse_retry_after(v, now)),
        },
        300..=399 => Outcome::Fail {
            status: Some(status),
            error: format!(
                "HTTP {status}: a redirect, which usagectl does not follow (give the final URL)"
            ),
        },
        _ => Outcome::Fail {
            status: Some(status),
            error: format!("HTTP {status}{said}"),
        },
    }
}

/// `Retry-After`: a number of seconds, or an HTTP date (RFC 9110).
pub fn parse_retry_after(v: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let v = v.trim();
    // at most a day: a receiver's number is data, not a reason to wait for ever
    let day = Duration::from_secs(86_400);
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs).min(day));
    }
    let at = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    Some(
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
            .min(day),
    )
}

/// THE HTTP client settings of every request usagectl makes (webhooks, Stripe): these
/// timeouts, HTTPS verified like verify-full against `roots`, no redirects, no proxies.
pub fn agent(timeouts: Timeouts, roots: &crate::tls::Roots) -> Result<ureq::Agent> {
    let tls = crate::tls::https_config(roots)?;
    Ok(ureq::AgentBuilder::new()
        .timeout_connect(timeouts.connect.min(timeouts.total))
        .timeout(timeouts.total)
        .redirects(0)
        .user_agent(concat!("usagectl/", env!("CARGO_PKG_VERSION")))
        .tls_config(Arc::new(tls))
        .build())
}

/// The HTTP client every delivery of a run shares.
pub struct Sender {
    agent: ureq::Agent,
    timeouts: Timeouts,
}

impl Sender {
    /// A client with these timeouts that verifies HTTPS against `roots` and the host name
    /// (libpq's verify-full), follows no redirects and reads no proxy settings.
    pub fn new(timeouts: Timeouts, roots: &crate::tls::Roots) -> Result<Sender> {
        Ok(Sender {
            agent: agent(timeouts, roots)?,
            timeouts,
        })
    }

    /// POST `body` (JSON) to `endpoint`, signed with `secret` as message `id`; the
    /// outcome and how long it took.
    pub fn post(
        &self,
        endpoint: &Endpoint,
        secret: &Secret,
        id: &str,
        body: &str,
    ) -> (Outcome, Duration) {
        let started = Instant::now();
        let now = chrono::Utc::now();
        let ts = now.timestamp();
        let result = self
            .agent
            .post(endpoint.expose())
            .set("content-type", "application/json")
            .set("webhook-id", id)
            .set("webhook-timestamp", &ts.to_string())
            .set("webhook-signature", &secret.sign(id, ts, body.as_bytes()))
            .send_string(body);
        let outcome = match result {
            Ok(resp) => {
                let status = resp.status();
                let retry_after = resp.header("retry-after").map(str::to_string);
                let snippet = body_snippet(resp);
                classify(status, retry_after.as_deref(), &snippet, now)
            }
            Err(ureq::Error::Status(status, resp)) => {
                let retry_after = resp.header("retry-after").map(str::to_string);
                let snippet = body_snippet(resp);
                classify(status, retry_after.as_deref(), &snippet, now)
            }
            Err(ureq::Error::Transport(t)) => self.transport(&t, started.elapsed()),
        };
        (outcome, started.elapsed())
    }

    /// An error before any answer, described by its kind and the underlying I/O error,
    /// never by ureq's message (which quotes the URL).
    fn transport(&self, t: &ureq::Transport, took: Duration) -> Outcome {
        use ureq::ErrorKind as K;
        let cause = std::error::Error::source(t)
            .map(|c| c.to_string())
            .unwrap_or_default();
        let timed_out = std::error::Error::source(t)
            .and_then(|c| c.downcast_ref::<std::io::Error>())
            .is_some_and(|e| {
                matches!(
                    e.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                )
            })
            || took >= self.timeouts.total;
        let error = if timed_out {
            format!(
                "no answer within the timeout (connect {}, total {})",
                crate::output::human_duration(self.timeouts.connect),
                crate::output::human_duration(self.timeouts.total)
            )
        } else {
            let kind = match t.kind() {
                K::Dns => "the host name did not resolve",
                K::ConnectionFailed => "the connection failed",
                K::Io => "the connection broke",
                K::BadStatus | K::BadHeader => "the answer was not HTTP",
                _ => "the request failed",
            };
            if cause.is_empty() {
                kind.to_string()
            } else {
                format!("{kind}: {cause}")
            }
        };
        match t.kind() {
            K::InvalidUrl
            | K::UnknownScheme
            | K::InsecureRequestHttpsOnly
            | K::TooManyRedirects => Outcome::Fail {
                status: None,
                error,
            },
            _ => Outcome::Retry {
                status: None,
                error,
                after: None,
            },
        }
    }
}

/// The first 200 characters of an answer's body (for the history: receivers say why they
/// refused); the rest is read and dropped so the connection can be reused.
fn body_snippet(resp: ureq::Response) -> String {
    use std::io::Read;
    let mut buf = Vec::new();
    let _ = resp.into_reader().take(64 * 1024).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf);
    text.trim().chars().take(200).collect()
}

/// Parse an HTTP timeout (`--timeout`, `--connect-timeout`): `500ms`, `10s`, `1m`; from
/// 1 ms to 5 minutes.
pub fn parse_timeout(s: &str) -> Result<Duration, String> {
    let d = crate::time::parse_duration(s)?;
    if d.is_zero() || d > Duration::from_secs(300) {
        return Err(format!(
            "{} is not a timeout from 1ms to 5m",
            crate::error::echo(s)
        ));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    // the Standard Webhooks reference implementation's test vector
    // (standard-webhooks/libraries, javascript/src/index.test.ts)
    #[test]
    fn signs_like_the_reference_implementation() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let sig = secret.sign(
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_checked_and_never_shown() {
        assert!(Secret::parse("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(Secret::parse("whsec_short").is_err());
        assert!(Secret::parse("whsec_!!!notbase64!!!").is_err());
        let s = Secret::generate().unwrap();
        assert!(Secret::parse(s.expose()).is_ok());
        assert_ne!(s, Secret::generate().unwrap());
        assert_eq!(format!("{s:?}"), "Secret(whsec_…)");
        let err = Secret::parse("whsec_aGVsbG8=").unwrap_err();
        assert!(!err.contains("aGVsbG8"), "{err}");
    }

    #[test]
    fn urls_are_masked_and_plain_http_only_to_loopback() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        let ep = Endpoint::parse(slack, false).unwrap();
        assert_eq!(ep.shown(), "https://hooks.slack.com/…");
        assert_eq!(format!("{ep:?}"), "Endpoint(https://hooks.slack.com/…)");
        assert_eq!(
            Endpoint::parse("http://127.0.0.1:8080/hook?token=abc", false)
                .unwrap()
                .shown(),
            "http://127.0.0.1:8080/…"
        );
        assert_eq!(
            Endpoint::parse("http://[::1]:9/x", false).unwrap().shown(),
            "http://[::1]:9/…"
        );
        assert_eq!(
            Endpoint::parse("https://example.com", false)
                .unwrap()
                .shown(),
            "https://example.com/"
        );
        assert!(Endpoint::parse("http://localhost:1/x", false).is_ok());
        let err = Endpoint::parse("http://example.com/tok3n", false).unwrap_err();
        assert!(
            err.contains("--allow-insecure-http") && !err.contains("tok3n"),
            "{err}"
        );
        assert!(Endpoint::parse("http://example.com/tok3n", true).is_ok());
        let err = Endpoint::parse("https://user:pa55@example.com/x", false).unwrap_err();
        assert!(!err.contains("pa55"), "{err}");
        assert!(Endpoint::parse("ftp://example.com/x", false).is_err());
        // Stripe's API base has no flag for plain http: the advice must not name one
        let err = Endpoint::parse_as("http://stripe-proxy.internal/v1", UrlRole::StripeApiBase)
            .unwrap_err();
        assert_eq!(
            err,
            "the API base URL http://stripe-proxy.internal/… is plain http to a host that is not loopback: \
             use https (plain http is sent only to a test server or proxy on loopback, since every request carries the API key)"
        );
        assert!(Endpoint::parse_as("http://127.0.0.1:9/v1", UrlRole::StripeApiBase).is_ok());
        assert!(Endpoint::parse("not a url", false).is_err());
    }

    #[test]
    fn retry_rule() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            classify(200, None, "", now),
            Outcome::Delivered { status: 200 }
        );
        assert_eq!(
            classify(204, None, "", now),
            Outcome::Delivered { status: 204 }
        );
        for s in [408, 429, 500, 502, 503, 599] {
            assert!(
                matches!(classify(s, None, "", now), Outcome::Retry { .. }),
                "{s}"
            );
        }
        for s in [301, 302, 307, 400, 401, 403, 404, 410, 422] {
            assert!(
                matches!(classify(s, None, "", now), Outcome::Fail { .. }),
                "{s}"
            );
        }
        let Outcome::Retry { after, error, .. } = classify(429, Some("7"), "slow down", now) else {
            panic!()
        };
        assert_eq!(after, Some(Duration::from_secs(7)));
        assert_eq!(error, "HTTP 429: 'slow down'");
        assert_eq!(
            parse_retry_after("Tue, 01 Dec 2026 00:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 00:00:30 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            parse_retry_after("18446744073709551615", now),
            Some(Duration::from_secs(86_400))
        );
    }
}

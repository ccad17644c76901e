//! A fake Stripe on 127.0.0.1 for the push and reconcile tests, implementing the Billing
//! Meter endpoints as Stripe's API reference documents them: bearer auth, form fields in
//! bracket notation, whole-number values, the timestamp window (35 days back, 5 minutes
//! ahead), identifier deduplication ("An event already exists with identifier ..."),
//! Idempotency-Key replay (the same answer for the same key and parameters, an
//! idempotency_error for other parameters), 429 with Retry-After, and daily event summaries
//! with day-aligned bounds. It can be told to drop an event, rate-limit, or record and then
//! hang.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Something to do to the next meter event request.
#[derive(Debug, Clone, Copy)]
pub enum Inject {
    /// Answer 429 with this Retry-After (seconds).
    RateLimit(u64),
    /// Answer 200 but keep nothing (an event Stripe lost).
    Drop,
    /// Record the event, then say nothing for this long.
    RecordThenHang(Duration),
    /// Wait this long, then handle the request normally.
    Slow(Duration),
}

/// A meter event the fake holds.
#[derive(Debug, Clone)]
pub struct Event {
    pub identifier: String,
    pub event_name: String,
    pub customer: String,
    pub value: i64,
    pub timestamp: i64,
}

#[derive(Default)]
struct State {
    key: String,
    /// meter id -> event name
    meters: HashMap<String, String>,
    customers: Vec<String>,
    events: Vec<Event>,
    /// Idempotency-Key -> (form body, status, answer)
    idem: HashMap<String, (String, u16, String)>,
    script: VecDeque<Inject>,
    /// (method, path, Idempotency-Key, Stripe-Version) of every request
    requests: Vec<(String, String, String, String)>,
}

pub struct FakeStripe {
    pub port: u16,
    state: Arc<Mutex<State>>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn err(status: u16, kind: &str, code: Option<&str>, message: &str) -> (u16, String) {
    let mut e = serde_json::json!({"type": kind, "message": message});
    if let Some(c) = code {
        e["code"] = c.into();
    }
    (status, serde_json::json!({ "error": e }).to_string())
}

impl FakeStripe {
    /// Start with the key it accepts, meters (id, event name) and customers.
    pub fn start(key: &str, meters: &[(&str, &str)], customers: &[&str]) -> FakeStripe {
        let state = Arc::new(Mutex::new(State {
            key: key.to_string(),
            meters: meters
                .iter()
                .map(|(id, n)| (id.to_string(), n.to_string()))
                .collect(),
            customers: customers.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }));
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let shared = state.clone();
        std::thread::spawn(move || {
            for s in listener.incoming() {
                let Ok(s) = s else { continue };
                let shared = shared.clone();
                std::thread::spawn(move || handle(s, &shared));
            }
        });
        FakeStripe { port, state }
    }

    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn inject(&self, what: &[Inject]) {
        self.state
            .lock()
            .unwrap()
            .script
            .extend(what.iter().cloned());
    }

    pub fn events(&self) -> Vec<Event> {
        self.state.lock().unwrap().events.clone()
    }

    /// Keep an event as if it had been sent earlier.
    pub fn preload(&self, e: Event) {
        self.state.lock().unwrap().events.push(e);
    }

    /// (method, path, Idempotency-Key, Stripe-Version) of every request so far.
    pub fn requests(&self) -> Vec<(String, String, String, String)> {
        self.state.lock().unwrap().requests.clone()
    }

    /// Sum of values per (customer, event name, UTC day as YYYY-MM-DD).
    pub fn sums(&self) -> BTreeMap<(String, String, String), i64> {
        let mut out = BTreeMap::new();
        for e in self.events() {
            let day = chrono::DateTime::from_timestamp(e.timestamp, 0)
                .unwrap()
                .date_naive()
                .to_string();
            *out.entry((e.customer, e.event_name, day)).or_insert(0) += e.value;
        }
        out.retain(|_, v| *v != 0);
        out
    }
}

fn handle(stream: std::net::TcpStream, shared: &Mutex<State>) {
    let mut stream = stream;
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_string();
    let target = parts.next().unwrap_or("").to_string();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    let _ = reader.read_exact(&mut body);
    let body = String::from_utf8_lossy(&body).into_owned();
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (status, answer, extra, hang) = respond(shared, &method, path, query, &headers, &body);
    if let Some(d) = hang {
        std::thread::sleep(d);
        return;
    }
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n{extra}content-length: {}\r\nconnection: close\r\n\r\n{answer}",
        answer.len()
    );
}

type Answer = (u16, String, String, Option<Duration>);

fn respond(
    shared: &Mutex<State>,
    method: &str,
    path: &str,
    query: &str,
    headers: &HashMap<String, String>,
    body: &str,
) -> Answer {
    let plain = |(s, b): (u16, String)| (s, b, String::new(), None);
    let idem_key = headers.get("idempotency-key").cloned().unwrap_or_default();
    let inject = {
        let mut st = shared.lock().unwrap();
        st.requests.push((
            method.to_string(),
            path.to_string(),
            idem_key.clone(),
            headers.get("stripe-version").cloned().unwrap_or_default(),
        ));
        let auth = headers.get("authorization").cloned().unwrap_or_default();
        if auth != format!("Bearer {}", st.key) {
            let shown = auth.trim_start_matches("Bearer ");
            let tail: String = shown
                .chars()
                .rev()
                .take(4)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect();
            return plain(err(
                401,
                "invalid_request_error",
                None,
                &format!("Invalid API Key provided: sk_test_********{tail}"),
            ));
        }
        if method == "POST" && path == "/v1/billing/meter_events" {
            st.script.pop_front()
        } else {
            None
        }
    };
    if let Some(Inject::Slow(d)) = &inject {
        std::thread::sleep(*d);
    }
    if let Some(Inject::RateLimit(secs)) = inject {
        let (s, b) = err(
            429,
            "invalid_request_error",
            Some("rate_limit"),
            "Too many requests",
        );
        return (s, b, format!("retry-after: {secs}\r\n"), None);
    }
    match (method, path) {
        ("POST", "/v1/billing/meter_events") => {
            let mut st = shared.lock().unwrap();
            if !idem_key.is_empty()
                && let Some((b, s, a)) = st.idem.get(&idem_key)
            {
                if b == body {
                    return (
                        *s,
                        a.clone(),
                        "idempotent-replayed: true\r\n".to_string(),
                        None,
                    );
                }
                return plain(err(
                    400,
                    "idempotency_error",
                    None,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                ));
            }
            let form: HashMap<String, String> = url::form_urlencoded::parse(body.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            let (status, answer) =
                meter_event(&mut st, &form, matches!(inject, Some(Inject::Drop)));
            if !idem_key.is_empty() && status != 429 {
                st.idem
                    .insert(idem_key, (body.to_string(), status, answer.clone()));
            }
            let hang = match inject {
                Some(Inject::RecordThenHang(d)) => Some(d),
                _ => None,
            };
            (status, answer, String::new(), hang)
        }
        ("GET", p) if p.starts_with("/v1/billing/meters/") && p.ends_with("/event_summaries") => {
            let id = p
                .trim_start_matches("/v1/billing/meters/")
                .trim_end_matches("/event_summaries");
            let q: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            plain(summaries(&shared.lock().unwrap(), id, &q))
        }
        _ => plain(err(
            404,
            "invalid_request_error",
            Some("resource_missing"),
            "Unrecognized request URL",
        )),
    }
}

fn meter_event(st: &mut State, f: &HashMap<String, String>, drop: bool) -> (u16, String) {
    let need = |k: &str| f.get(k).cloned().filter(|v| !v.is_empty());
    let Some(name) = need("event_name") else {
        return err(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: event_name.",
        );
    };
    if !st.meters.values().any(|n| *n == name) {
        return err(
            400,
            "invalid_request_error",
            None,
            &format!("No active meter was found for event_name {name}."),
        );
    }
    let Some(customer) = need("payload[stripe_customer_id]") else {
        return err(
            400,
            "invalid_request_error",
            None,
            "Missing payload[stripe_customer_id].",
        );
    };
    if !st.customers.contains(&customer) {
        return err(
            400,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such customer: '{customer}'"),
        );
    }
    let Some(value) = need("payload[value]").and_then(|v| v.parse::<i64>().ok()) else {
        return err(
            400,
            "invalid_request_error",
            Some("parameter_invalid_integer"),
            "payload[value] must be a whole number.",
        );
    };
    let ts = match need("timestamp").map(|t| t.parse::<i64>()) {
        None => now(),
        Some(Ok(t)) => t,
        Some(Err(_)) => {
            return err(
                400,
                "invalid_request_error",
                Some("parameter_invalid_integer"),
                "Invalid timestamp.",
            );
        }
    };
    if ts < now() - 35 * 86_400 || ts > now() + 300 {
        return err(
            400,
            "invalid_request_error",
            Some("timestamp_out_of_range"),
            "Timestamp must be within the past 35 calendar days and not more than 5 minutes in the future.",
        );
    }
    let identifier = need("identifier").unwrap_or_else(|| format!("gen_{}", st.events.len()));
    if identifier.len() > 100 {
        return err(
            400,
            "invalid_request_error",
            None,
            "identifier is longer than 100 characters.",
        );
    }
    if st.events.iter().any(|e| e.identifier == identifier) {
        return err(
            400,
            "invalid_request_error",
            None,
            &format!("An event already exists with identifier {identifier}."),
        );
    }
    if !drop {
        st.events.push(Event {
            identifier: identifier.clone(),
            event_name: name.clone(),
            customer: customer.clone(),
            value,
            timestamp: ts,
        });
    }
    (
        200,
        serde_json::json!({
            "object": "billing.meter_event", "created": now(), "event_name": name,
            "identifier": identifier, "livemode": false,
            "payload": {"stripe_customer_id": customer, "value": value.to_string()},
            "timestamp": ts,
        })
        .to_string(),
    )
}

fn summaries(st: &State, meter: &str, q: &HashMap<String, String>) -> (u16, String) {
    let Some(name) = st.meters.get(meter) else {
        return err(
            404,
            "invalid_request_error",
            Some("resource_missing"),
            &format!("No such billing meter: '{meter}'"),
        );
    };
    let Some(customer) = q.get("customer") else {
        return err(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "Missing required param: customer.",
        );
    };
    let (Some(start), Some(end)) = (
        q.get("start_time").and_then(|v| v.parse::<i64>().ok()),
        q.get("end_time").and_then(|v| v.parse::<i64>().ok()),
    ) else {
        return err(
            400,
            "invalid_request_error",
            Some("parameter_missing"),
            "start_time and end_time are required.",
        );
    };
    if q.get("value_grouping_window").map(String::as_str) == Some("day")
        && (start % 86_400 != 0 || end % 86_400 != 0)
    {
        return err(
            400,
            "invalid_request_error",
            None,
            "start_time and end_time must align with UTC day boundaries.",
        );
    }
    let mut days: BTreeMap<i64, i64> = BTreeMap::new();
    for e in &st.events {
        if &e.customer == customer
            && &e.event_name == name
            && e.timestamp >= start
            && e.timestamp < end
        {
            *days.entry(e.timestamp - e.timestamp % 86_400).or_insert(0) += e.value;
        }
    }
    let data: Vec<serde_json::Value> = days
        .iter()
        .map(|(d, v)| {
            serde_json::json!({"id": format!("mtrusg_{d}"), "object": "billing.meter_event_summary",
                "aggregated_value": *v as f64, "start_time": d, "end_time": d + 86_400,
                "livemode": false, "meter": meter})
        })
        .collect();
    (
        200,
        serde_json::json!({"object": "list", "data": data, "has_more": false,
            "url": format!("/v1/billing/meters/{meter}/event_summaries")})
        .to_string(),
    )
}

//! libpq connection conventions, written by hand because the `postgres` crate reads no
//! PG* variables and no password file: parse URLs and key=value strings, fill unset
//! keywords from the environment, find the password in PGPASSFILE / ~/.pgpass.
//!
//! See <https://www.postgresql.org/docs/15/libpq-connect.html>.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Result, bail};

use crate::error::usage;

/// Keywords usagectl understands, with the environment variable libpq reads for each.
const KEYWORDS: &[(&str, Option<&str>)] = &[
    ("host", Some("PGHOST")),
    ("hostaddr", Some("PGHOSTADDR")),
    ("port", Some("PGPORT")),
    ("dbname", Some("PGDATABASE")),
    ("user", Some("PGUSER")),
    ("password", Some("PGPASSWORD")),
    ("passfile", Some("PGPASSFILE")),
    ("application_name", Some("PGAPPNAME")),
    ("fallback_application_name", None),
    ("connect_timeout", Some("PGCONNECT_TIMEOUT")),
    ("sslmode", Some("PGSSLMODE")),
    ("sslrootcert", Some("PGSSLROOTCERT")),
    ("sslcert", Some("PGSSLCERT")),
    ("sslkey", Some("PGSSLKEY")),
    ("options", Some("PGOPTIONS")),
    ("target_session_attrs", Some("PGTARGETSESSIONATTRS")),
    ("keepalives", None),
    ("keepalives_idle", None),
];

/// Connection timeout used when neither the string nor PGCONNECT_TIMEOUT sets one.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// application_name reported to the server unless the user sets one.
pub const APPLICATION_NAME: &str = "usagectl";

/// Keyword → value, as libpq would hold them after parsing.
pub type Options = BTreeMap<String, String>;

/// Parse a `postgres://` / `postgresql://` URL or a `key=value` string.
pub fn parse(conninfo: &str) -> Result<Options> {
    let trimmed = conninfo.trim();
    let opts = if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        parse_url(trimmed)?
    } else {
        parse_keyvalue(trimmed)?
    };
    for key in opts.keys() {
        if !KEYWORDS.iter().any(|(k, _)| k == key) {
            return Err(usage(format!(
                "invalid connection option \"{key}\" (known: {})",
                KEYWORDS
                    .iter()
                    .map(|(k, _)| *k)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    Ok(opts)
}

fn parse_keyvalue(s: &str) -> Result<Options> {
    let mut opts = Options::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            // the word is not shown: it may be part of a password with a space in it
            return Err(usage(
                "invalid connection string: a word without \"=\" (write keyword=value pairs; quote a value that has spaces: password='a b')",
            ));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            let mut closed = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '\'' => {
                        closed = true;
                        break;
                    }
                    c => value.push(c),
                }
            }
            if !closed {
                return Err(usage(
                    "invalid connection string: unterminated quoted value",
                ));
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        value.push(n);
                    }
                } else {
                    value.push(c);
                }
            }
        }
        if key.is_empty() {
            return Err(usage("invalid connection string: empty keyword"));
        }
        opts.insert(key, value);
    }
    Ok(opts)
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(b) => out.push(b),
                None => return Err(usage("invalid connection URL: bad percent-encoding")),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| usage("invalid connection URL: percent-encoding is not UTF-8"))
}

fn parse_url(url: &str) -> Result<Options> {
    let mut opts = Options::new();
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let (before_query, query) = match rest.split_once('?') {
        Some((a, q)) => (a, Some(q)),
        None => (rest, None),
    };
    let (authority, path) = match before_query.find('/') {
        Some(i) => (&before_query[..i], Some(&before_query[i + 1..])),
        None => (before_query, None),
    };
    let hostspec = match authority.rsplit_once('@') {
        Some((userinfo, hosts)) => {
            let (user, password) = match userinfo.split_once(':') {
                Some((u, p)) => (u, Some(p)),
                None => (userinfo, None),
            };
            if !user.is_empty() {
                opts.insert("user".into(), percent_decode(user)?);
            }
            if let Some(p) = password {
                opts.insert("password".into(), percent_decode(p)?);
            }
            hosts
        }
        None => authority,
    };
    if !hostspec.is_empty() {
        let mut hosts = Vec::new();
        let mut ports = Vec::new();
        for spec in hostspec.split(',') {
            let (host, port) = if let Some(inner) = spec.strip_prefix('[') {
                let (h, after) = inner
                    .split_once(']')
                    .ok_or_else(|| usage("invalid connection URL: unterminated [IPv6 address]"))?;
                (h.to_string(), after.strip_prefix(':').unwrap_or(""))
            } else {
                match spec.rsplit_once(':') {
                    Some((h, p)) => (percent_decode(h)?, p),
                    None => (percent_decode(spec)?, ""),
                }
            };
            hosts.push(host);
            ports.push(port.to_string());
        }
        if hosts.iter().any(|h| !h.is_empty()) {
            opts.insert("host".into(), hosts.join(","));
        }
        if ports.iter().any(|p| !p.is_empty()) {
            opts.insert("port".into(), ports.join(","));
        }
    }
    if let Some(db) = path.filter(|p| !p.is_empty()) {
        opts.insert("dbname".into(), percent_decode(db)?);
    }
    if let Some(q) = query {
        for pair in q.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').ok_or_else(|| {
                usage("invalid connection URL: a query parameter without \"=value\"")
            })?;
            let k = percent_decode(k)?;
            // libpq accepts ssl=true as an alias for sslmode=require
            let (k, v) = if k == "ssl" && v == "true" {
                ("sslmode".to_string(), "require".to_string())
            } else {
                (k, percent_decode(v)?)
            };
            opts.insert(k, v);
        }
    }
    Ok(opts)
}

/// Fill every keyword the string left unset from its PG* variable, as libpq does.
pub fn add_env_defaults(opts: &mut Options, env: &dyn Fn(&str) -> Option<String>) {
    for (key, var) in KEYWORDS {
        if let Some(var) = var
            && !opts.contains_key(*key)
            && let Some(value) = env(var).filter(|v| !v.is_empty())
        {
            opts.insert((*key).to_string(), value);
        }
    }
}

/// Where a server's socket is looked for when no host is given. libpq tries the one
/// directory it was built with: `/tmp` upstream, `/var/run/postgresql` in Debian's and
/// Red Hat's packages (`strings libpq.so.5` shows it). usagectl is built against no libpq,
/// so it tries both, Debian's first, and then [`DEFAULT_TCP_HOST`].
pub const DEFAULT_SOCKET_DIRS: &[&str] = &["/var/run/postgresql", "/tmp"];

/// The host tried after the socket directories when no host is given (libpq's default
/// where it has no Unix sockets).
pub const DEFAULT_TCP_HOST: &str = "localhost";

/// Everything needed to open a connection, resolved; never printed whole.
#[derive(Clone)]
pub struct ConnParams {
    /// Host names, IP addresses or socket directories, in the order to try.
    pub hosts: Vec<String>,
    /// One port for all hosts, or one per host.
    pub ports: Vec<u16>,
    /// Role name.
    pub user: String,
    /// Password from the string or PGPASSWORD; else each host's is looked up in
    /// `passfile` (see [`ConnParams::password_for`]).
    pub password: Option<String>,
    /// The password file: passfile, PGPASSFILE or ~/.pgpass (it may not exist).
    pub passfile: Option<PathBuf>,
    /// Database name.
    pub dbname: String,
    /// application_name sent to the server.
    pub application_name: String,
    /// How long to wait for each host.
    pub connect_timeout: Duration,
    /// libpq sslmode.
    pub sslmode: String,
    /// What TLS verifies, resolved from sslmode, sslrootcert, sslcert and sslkey.
    pub tls: crate::tls::TlsPlan,
    /// IP addresses to connect to instead of resolving the host names (libpq hostaddr).
    pub hostaddrs: Vec<std::net::IpAddr>,
    /// Server options (`-c name=value ...`).
    pub options: Option<String>,
    /// target_session_attrs.
    pub target_session_attrs: Option<String>,
}

impl std::fmt::Debug for ConnParams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl ConnParams {
    /// What was tried, for messages: host, port, database and user; never the password.
    pub fn describe(&self) -> String {
        let ports: Vec<String> = self.ports.iter().map(u16::to_string).collect();
        let mut s = format!(
            "host={} port={} dbname={} user={}",
            self.hosts.join(","),
            ports.join(","),
            self.dbname,
            self.user
        );
        if !self.hostaddrs.is_empty() {
            let addrs: Vec<String> = self.hostaddrs.iter().map(|a| a.to_string()).collect();
            s.push_str(&format!(" hostaddr={}", addrs.join(",")));
        }
        s.push_str(&format!(" sslmode={}", self.sslmode));
        s
    }

    /// The first host, for messages about its certificate.
    pub fn first_host(&self) -> &str {
        self.hosts.first().map_or("", String::as_str)
    }

    /// The port of host `i` (one port may serve every host).
    pub fn port_for(&self, i: usize) -> u16 {
        match self.ports.as_slice() {
            [one] => *one,
            many => many.get(i).copied().unwrap_or(5432),
        }
    }

    /// The password for host `i`: the one given, else the password file's line for that
    /// host and its port, as libpq looks it up for each host it tries.
    pub fn password_for(&self, i: usize) -> Result<Passfile> {
        if let Some(p) = &self.password {
            return Ok(Passfile::Found(p.clone()));
        }
        let (Some(path), Some(host)) = (&self.passfile, self.hosts.get(i)) else {
            return Ok(Passfile::NoMatch);
        };
        pgpass_lookup(path, host, self.port_for(i), &self.dbname, &self.user)
    }
}

/// Resolve a connection: the string (if any), then PG* variables, then defaults, then the
/// password file. `env` is the process environment in production and a map in tests.
pub fn resolve(conninfo: Option<&str>, env: &dyn Fn(&str) -> Option<String>) -> Result<ConnParams> {
    let mut opts = match conninfo {
        Some(s) if !s.trim().is_empty() => parse(s)?,
        _ => Options::new(),
    };
    add_env_defaults(&mut opts, env);

    let hosts: Vec<String> = match opts.get("host").filter(|h| !h.is_empty()) {
        Some(h) => h.split(',').map(|s| s.trim().to_string()).collect(),
        None => match opts.get("hostaddr") {
            Some(a) => a.split(',').map(|s| s.trim().to_string()).collect(),
            None => DEFAULT_SOCKET_DIRS
                .iter()
                .chain([&DEFAULT_TCP_HOST])
                .map(|h| h.to_string())
                .collect(),
        },
    };
    let ports: Vec<u16> = match opts.get("port").filter(|p| !p.is_empty()) {
        Some(p) => p
            .split(',')
            .map(|s| {
                let s = s.trim();
                if s.is_empty() {
                    return Ok(5432);
                }
                s.parse::<u16>().ok().filter(|&n| n > 0).ok_or_else(|| {
                    // only digits are shown: from a URL whose password has an unencoded
                    // "/" or "@", the "port" is a piece of the password
                    if s.bytes().all(|b| b.is_ascii_digit()) {
                        usage(format!("invalid port number: {s} (1 to 65535)"))
                    } else {
                        usage("invalid port number: not a number (percent-encode \"/\", \"@\" and \":\" in a URL's password)")
                    }
                })
            })
            .collect::<Result<_>>()?,
        None => vec![5432],
    };
    if ports.len() != 1 && ports.len() != hosts.len() {
        return Err(usage(format!(
            "could not match {} port numbers to {} hosts",
            ports.len(),
            hosts.len()
        )));
    }
    let user = match opts.get("user").filter(|u| !u.is_empty()) {
        Some(u) => u.clone(),
        None => os_user_name().unwrap_or_else(|| "postgres".to_string()),
    };
    let dbname = opts
        .get("dbname")
        .filter(|d| !d.is_empty())
        .cloned()
        .unwrap_or_else(|| user.clone());
    let application_name = opts
        .get("application_name")
        .or_else(|| opts.get("fallback_application_name"))
        .cloned()
        .unwrap_or_else(|| APPLICATION_NAME.to_string());
    let connect_timeout = match opts.get("connect_timeout") {
        Some(t) => {
            let secs: i64 = t
                .trim()
                .parse()
                .map_err(|_| usage(format!("invalid connect_timeout: \"{t}\"")))?;
            // libpq: zero or negative waits forever; a timeout below 2 s is raised to 2 s.
            if secs <= 0 {
                Duration::from_secs(u32::MAX as u64)
            } else {
                Duration::from_secs(secs.max(2) as u64)
            }
        }
        None => DEFAULT_CONNECT_TIMEOUT,
    };
    let sslmode = opts
        .get("sslmode")
        .cloned()
        .unwrap_or_else(|| "prefer".to_string());
    const SSLMODES: &[&str] = &[
        "disable",
        "allow",
        "prefer",
        "require",
        "verify-ca",
        "verify-full",
    ];
    if !SSLMODES.contains(&sslmode.as_str()) {
        return Err(usage(format!(
            "invalid sslmode \"{sslmode}\" (valid: {})",
            SSLMODES.join(", ")
        )));
    }
    let tls = crate::tls::plan(
        &sslmode,
        opts.get("sslrootcert").map(String::as_str),
        opts.get("sslcert").map(String::as_str),
        opts.get("sslkey").map(String::as_str),
        env("HOME").as_deref().map(Path::new),
    )?;
    let hostaddrs: Vec<std::net::IpAddr> =
        match opts.get("hostaddr").filter(|_| opts.contains_key("host")) {
            Some(a) => a
                .split(',')
                .map(|s| {
                    s.trim()
                        .parse()
                        .map_err(|_| usage(format!("invalid hostaddr \"{s}\": not an IP address")))
                })
                .collect::<Result<_>>()?,
            None => Vec::new(),
        };
    let password = opts.get("password").cloned();
    let passfile = opts
        .get("passfile")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".pgpass")));
    Ok(ConnParams {
        hosts,
        ports,
        user,
        password,
        passfile,
        dbname,
        application_name,
        connect_timeout,
        sslmode,
        tls,
        hostaddrs,
        options: opts.get("options").cloned(),
        target_session_attrs: opts.get("target_session_attrs").cloned(),
    })
}

/// The name of the effective OS user, from the password database through NSS
/// (`getpwuid_r`, as libpq does), so that LDAP, SSSD and systemd users are found too.
/// The one source of the OS user: the connection's default user and every audit column
/// (grants, settings, adjustments) take it from here, never from `$USER`, which cron,
/// systemd and containers leave unset.
pub fn os_user_name() -> Option<String> {
    // SAFETY: geteuid cannot fail
    let uid = unsafe { libc::geteuid() };
    let mut buf: Vec<libc::c_char> = vec![0; 1024];
    loop {
        // SAFETY: passwd is plain data that getpwuid_r fills in; its strings point into
        // `buf`, which outlives their use below
        let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        let rc =
            unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
        if rc == libc::ERANGE && buf.len() < 1 << 20 {
            buf.resize(buf.len() * 4, 0);
            continue;
        }
        if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
            return None;
        }
        // SAFETY: pw_name is a NUL-terminated string inside `buf`
        let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
        return Some(name.to_string_lossy().into_owned()).filter(|n| !n.is_empty());
    }
}

/// The host name a password-file line is matched against: libpq uses `localhost` for
/// its default socket directory.
fn pgpass_host(host: &str) -> &str {
    if DEFAULT_SOCKET_DIRS.contains(&host.trim_end_matches('/')) {
        "localhost"
    } else {
        host
    }
}

/// Split one password-file line into its five fields (`:` and `\` escaped by `\`).
fn pgpass_fields(line: &str) -> Option<Vec<String>> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => fields.last_mut()?.push(chars.next()?),
            ':' if fields.len() < 5 => fields.push(String::new()),
            c => fields.last_mut()?.push(c),
        }
    }
    (fields.len() == 5).then_some(fields)
}

/// What a password file holds for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Passfile {
    /// The password of the first matching line.
    Found(String),
    /// No file, or no line matches.
    NoMatch,
    /// The file has group or world access and is ignored, as libpq does (the caller
    /// warns: [`Passfile::insecure_warning`]).
    Insecure,
}

impl Passfile {
    /// The password, if one was found.
    pub fn password(self) -> Option<String> {
        match self {
            Passfile::Found(p) => Some(p),
            Passfile::NoMatch | Passfile::Insecure => None,
        }
    }

    /// libpq's warning about a password file others can read.
    pub fn insecure_warning(path: &Path) -> String {
        format!(
            "password file \"{}\" has group or world access; permissions should be u=rw (0600) or less",
            path.display()
        )
    }
}

/// Find the password for this connection in a libpq password file.
pub fn pgpass_lookup(path: &Path, host: &str, port: u16, db: &str, user: &str) -> Result<Passfile> {
    use std::os::unix::fs::PermissionsExt;
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(Passfile::NoMatch),
    };
    if !meta.is_file() {
        return Ok(Passfile::NoMatch);
    }
    if meta.permissions().mode() & 0o077 != 0 {
        return Ok(Passfile::Insecure);
    }
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => bail!("reading password file {}: {e}", path.display()),
    };
    let host = pgpass_host(host);
    let port = port.to_string();
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let Some(f) = pgpass_fields(line) else {
            continue;
        };
        let matches = |pat: &str, value: &str| pat == "*" || pat == value;
        if matches(&f[0], host)
            && matches(&f[1], &port)
            && matches(&f[2], db)
            && matches(&f[3], user)
        {
            return Ok(Passfile::Found(f[4].clone()));
        }
    }
    Ok(Passfile::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Write;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn url_with_everything() {
        let o = parse("postgresql://al%40ice:p%3Ass@db.example.com:6543/billing%20db?sslmode=require&application_name=x").unwrap();
        assert_eq!(o["user"], "al@ice");
        assert_eq!(o["password"], "p:ss");
        assert_eq!(o["host"], "db.example.com");
        assert_eq!(o["port"], "6543");
        assert_eq!(o["dbname"], "billing db");
        assert_eq!(o["sslmode"], "require");
        assert_eq!(o["application_name"], "x");
    }

    #[test]
    fn url_multi_host_ipv6_and_socket_query() {
        let o = parse("postgres://a:5432,[::1]:5433,b/db").unwrap();
        assert_eq!(o["host"], "a,::1,b");
        assert_eq!(o["port"], "5432,5433,");
        let o = parse("postgres:///db?host=/var/run/postgresql").unwrap();
        assert_eq!(o["host"], "/var/run/postgresql");
        assert_eq!(o["dbname"], "db");
        let o = parse("postgres://%2Ftmp%2Fsock/db").unwrap();
        assert_eq!(o["host"], "/tmp/sock");
    }

    #[test]
    fn keyvalue_with_quotes_and_escapes() {
        let o =
            parse("host=localhost  port = 5433 password='it\\'s' user='a b' dbname=x\\ y").unwrap();
        assert_eq!(o["host"], "localhost");
        assert_eq!(o["port"], "5433");
        assert_eq!(o["password"], "it's");
        assert_eq!(o["user"], "a b");
        assert_eq!(o["dbname"], "x y");
    }

    #[test]
    fn unknown_keyword_and_bad_url_are_usage_errors() {
        let e = parse("hots=x").unwrap_err();
        assert!(e.to_string().contains("invalid connection option \"hots\""));
        assert_eq!(crate::error::exit_code(&e), 2);
        assert!(parse("postgres://h/db?sslmode").is_err());
        assert!(parse("postgres://h/%zz").is_err());
        assert!(parse("host").is_err());
    }

    #[test]
    fn env_fills_only_what_the_string_left_unset() {
        let env = env_of(&[
            ("PGHOST", "envhost"),
            ("PGPORT", "7777"),
            ("PGUSER", "envuser"),
            ("PGDATABASE", "envdb"),
            ("PGPASSWORD", "envpw"),
            ("PGCONNECT_TIMEOUT", "30"),
            ("PGAPPNAME", "cron"),
        ]);
        let p = resolve(Some("postgres://urluser@urlhost/urldb"), &env).unwrap();
        assert_eq!(p.hosts, vec!["urlhost"]);
        assert_eq!(p.ports, vec![7777]);
        assert_eq!(p.user, "urluser");
        assert_eq!(p.dbname, "urldb");
        assert_eq!(p.password.as_deref(), Some("envpw"));
        assert_eq!(p.connect_timeout, Duration::from_secs(30));
        assert_eq!(p.application_name, "cron");
        let p = resolve(None, &env).unwrap();
        assert_eq!(
            p.describe(),
            "host=envhost port=7777 dbname=envdb user=envuser sslmode=prefer"
        );
    }

    #[test]
    fn defaults_are_libpq_like_with_usagectl_name_and_10s_timeout() {
        let p = resolve(Some("host=h user=u"), &env_of(&[])).unwrap();
        assert_eq!(p.ports, vec![5432]);
        assert_eq!(p.dbname, "u");
        assert_eq!(p.application_name, "usagectl");
        assert_eq!(p.connect_timeout, Duration::from_secs(10));
        assert_eq!(p.sslmode, "prefer");
        assert!(p.password.is_none());
    }

    #[test]
    fn describe_and_debug_never_show_the_password() {
        let p = resolve(Some("postgres://u:s3cret@h/db"), &env_of(&[])).unwrap();
        assert!(!p.describe().contains("s3cret"));
        assert!(!format!("{p:?}").contains("s3cret"));
    }

    /// A password typed wrong (a space unquoted, a "/" unencoded in a URL) reaches the
    /// parser as some other piece of the string; the error must not show it.
    #[test]
    fn errors_never_echo_a_misplaced_password() {
        for s in [
            "host=h user=u password=s3cret w0rd",
            "postgres://u:s3cret/w0rd@h/db",
            "postgres://u@h/db?s3cret",
        ] {
            let e = resolve(Some(s), &env_of(&[])).unwrap_err();
            let msg = format!("{e:#}");
            assert_eq!(crate::error::exit_code(&e), 2, "{s}: {msg}");
            assert!(
                !msg.contains("s3cret") && !msg.contains("w0rd"),
                "{s}: {msg}"
            );
        }
        let e = resolve(Some("port=70000"), &env_of(&[])).unwrap_err();
        assert!(e.to_string().contains("invalid port number: 70000"), "{e}");
    }

    #[test]
    fn bad_values_are_usage_errors() {
        for s in [
            "port=abc",
            "port=0",
            "sslmode=sometimes",
            "connect_timeout=soon",
            "host=a,b port=1,2,3",
        ] {
            let e = resolve(Some(s), &env_of(&[])).unwrap_err();
            assert_eq!(crate::error::exit_code(&e), 2, "{s}");
        }
    }

    fn write_pgpass(contents: &str, mode: u32) -> tempfile::NamedTempFile {
        use std::os::unix::fs::PermissionsExt;
        let mut f = tempfile::NamedTempFile::new().unwrap();
        f.write_all(contents.as_bytes()).unwrap();
        std::fs::set_permissions(f.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        f
    }

    #[test]
    fn pgpass_matching_wildcards_and_escapes() {
        let f = write_pgpass(
            "# comment\nother:5432:*:*:nope\ndb.host:5432:billing:al\\:ice:pa\\:ss\\\\w\n*:*:*:bob:bobpw\nlocalhost:5432:*:carol:carolpw\n",
            0o600,
        );
        let p = f.path();
        assert_eq!(
            pgpass_lookup(p, "db.host", 5432, "billing", "al:ice")
                .unwrap()
                .password()
                .as_deref(),
            Some("pa:ss\\w")
        );
        assert_eq!(
            pgpass_lookup(p, "db.host", 5433, "billing", "al:ice").unwrap(),
            Passfile::NoMatch
        );
        assert_eq!(
            pgpass_lookup(p, "anything", 1, "x", "bob")
                .unwrap()
                .password()
                .as_deref(),
            Some("bobpw")
        );
        assert_eq!(
            pgpass_lookup(p, "/var/run/postgresql", 5432, "x", "carol")
                .unwrap()
                .password()
                .as_deref(),
            Some("carolpw")
        );
    }

    /// Ignored, and said as a fact for the caller to warn about: nothing is printed here
    /// (a print from a unit test reaches the terminal past cargo's capture).
    #[test]
    fn pgpass_readable_by_others_is_ignored() {
        let f = write_pgpass("*:*:*:*:pw\n", 0o644);
        assert_eq!(
            pgpass_lookup(f.path(), "h", 5432, "d", "u").unwrap(),
            Passfile::Insecure
        );
        assert!(Passfile::insecure_warning(f.path()).contains("has group or world access"));
    }

    #[test]
    fn resolve_uses_passfile_only_without_a_password() {
        let f = write_pgpass("h:5432:d:u:frompass\n", 0o600);
        let path = f.path().to_str().unwrap().to_string();
        let env = env_of(&[("PGPASSFILE", &path)]);
        let p = resolve(Some("host=h dbname=d user=u"), &env).unwrap();
        assert_eq!(p.password, None);
        assert_eq!(
            p.password_for(0).unwrap(),
            Passfile::Found("frompass".into())
        );
        let p = resolve(Some("host=h dbname=d user=u password=given"), &env).unwrap();
        assert_eq!(p.password_for(0).unwrap(), Passfile::Found("given".into()));
    }

    /// libpq looks the password up for each host it tries, with that host's port.
    #[test]
    fn pgpass_is_matched_per_host_and_port() {
        let f = write_pgpass(
            "a:5432:d:u:pw-a\nb:6000:d:u:pw-b\nlocalhost:5432:d:u:pw-local\n",
            0o600,
        );
        let path = f.path().to_str().unwrap().to_string();
        let env = env_of(&[("PGPASSFILE", &path)]);
        let p = resolve(Some("host=a,b,c port=5432,6000,5432 dbname=d user=u"), &env).unwrap();
        let got: Vec<Option<String>> = (0..3)
            .map(|i| p.password_for(i).unwrap().password())
            .collect();
        assert_eq!(got, [Some("pw-a".into()), Some("pw-b".into()), None]);
        // no host: both socket directories match "localhost", and so does localhost
        let p = resolve(Some("dbname=d user=u"), &env).unwrap();
        for i in 0..3 {
            assert_eq!(
                p.password_for(i).unwrap().password().as_deref(),
                Some("pw-local")
            );
        }
    }

    /// No host: the socket directories in libpq's order (Debian's build, then upstream's),
    /// then localhost; the port applies to each.
    #[test]
    fn no_host_tries_the_socket_directories_then_localhost() {
        let p = resolve(Some("port=6543 user=u"), &env_of(&[])).unwrap();
        assert_eq!(p.hosts, ["/var/run/postgresql", "/tmp", "localhost"]);
        assert_eq!((0..3).map(|i| p.port_for(i)).collect::<Vec<_>>(), [6543; 3]);
        let p = resolve(Some("host='' user=u"), &env_of(&[("PGHOST", "")])).unwrap();
        assert_eq!(p.hosts, ["/var/run/postgresql", "/tmp", "localhost"]);
        let p = resolve(Some("user=u"), &env_of(&[("PGHOST", "elsewhere")])).unwrap();
        assert_eq!(p.hosts, ["elsewhere"]);
    }

    /// The default user name is the effective user's, from NSS.
    #[test]
    fn os_user_is_the_effective_users_name() {
        let out = std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap();
        let want = String::from_utf8(out.stdout).unwrap().trim().to_string();
        assert_eq!(os_user_name().as_deref(), Some(want.as_str()));
        let p = resolve(Some("host=h"), &env_of(&[])).unwrap();
        assert_eq!(
            (p.user.as_str(), p.dbname.as_str()),
            (want.as_str(), want.as_str())
        );
    }
}

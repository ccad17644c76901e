//! TLS against a local PostgreSQL with ssl=on, a CA and server certificate made here, and
//! a pg_hba.conf that lets the app role in only over hostssl with scram-sha-256.
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use usagectl::localpg::LocalPg;

use crate::support::*;

const ROLE: &str = "tls_app";
const PASSWORD: &str = "Tls-S3cret-pw-42";
const DB: &str = "tls_db";
const CERT_ROLE: &str = "tls_cert";

struct TlsServer {
    pg: LocalPg,
    certs: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.crt`), another CA (`other.crt`), a server certificate for `localhost`
/// signed by the first (`server.crt`, `server.key`) and a client certificate.
pub fn make_certs(dir: &Path) {
    for (name, cn) in [("ca", "usagectl test CA"), ("other", "some other CA")] {
        openssl(
            dir,
            &[
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.crt"),
                "-days",
                "3",
                "-subj",
                &format!("/CN={cn}"),
                "-addext",
                "basicConstraints=critical,CA:TRUE",
                "-addext",
                "keyUsage=critical,keyCertSign,cRLSign",
            ],
        );
    }
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ],
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "3",
            "-extfile",
            "ext.cnf",
        ],
    );
    // a client certificate for the role that logs in with one
    let subject = format!("/CN={CERT_ROLE}");
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "client.key",
            "-out",
            "client.csr",
            "-subj",
            &subject,
        ],
    );
    std::fs::write(
        dir.join("client.cnf"),
        "basicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "client.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "client.crt",
            "-days",
            "3",
            "-extfile",
            "client.cnf",
        ],
    );
}

fn server() -> &'static TlsServer {
    static S: OnceLock<TlsServer> = OnceLock::new();
    S.get_or_init(|| {
        let hba = [
            format!("hostssl all {CERT_ROLE} 127.0.0.1/32 cert"),
            format!("hostssl all {ROLE} 127.0.0.1/32 scram-sha-256"),
            format!("host all {ROLE} 127.0.0.1/32 reject"),
        ];
        let hba: Vec<&str> = hba.iter().map(String::as_str).collect();
        // the server's certificate and key go into the data directory; ssl=on needs a restart
        let pg = start_cluster("usagectl-tls-", &hba, &FAST);
        // certificates live beside the cluster, and go when the watchdog removes it
        let certs = pg.root.parent().unwrap().join("certs");
        std::fs::create_dir_all(&certs).unwrap();
        make_certs(&certs);
        pg.install_file("server.crt", &std::fs::read(certs.join("server.crt")).unwrap()).unwrap();
        pg.install_file("server.key", &std::fs::read(certs.join("server.key")).unwrap()).unwrap();
        pg.install_file("root.crt", &std::fs::read(certs.join("ca.crt")).unwrap()).unwrap();
        pg.stop().unwrap();
        pg.start(&["ssl=on", "ssl_ca_file=root.crt", "fsync=off"]).unwrap();
        let mut admin = postgres::Client::connect(&pg.conninfo("postgres"), postgres::NoTls).unwrap();
        admin
            .batch_execute(&format!("CREATE ROLE {ROLE} LOGIN PASSWORD '{PASSWORD}'; CREATE ROLE {CERT_ROLE} LOGIN"))
            .unwrap();
        admin.batch_execute(&format!("CREATE DATABASE {DB} OWNER {ROLE}")).unwrap();
        let out = run(usagectl().env("DATABASE_URL", pg.conninfo(DB)).args(["migrate"]));
        out.assert_ok();
        let mut c = postgres::Client::connect(&pg.conninfo(DB), postgres::NoTls).unwrap();
        c.batch_execute(&format!(
            "GRANT ALL ON ALL TABLES IN SCHEMA public TO {ROLE};
             GRANT SELECT ON ALL TABLES IN SCHEMA public TO {CERT_ROLE};
             INSERT INTO usage_events (org_id, event_type, quantity) VALUES ('acme', 'chat_message', 3);"
        ))
        .unwrap();
        TlsServer { pg, certs }
    })
}

/// `usagectl summary` over TCP with this connection string; the password from PGPASSWORD.
fn summary(conn: &str) -> Run {
    let s = server();
    let url = format!("host={conn} port={} user={ROLE} dbname={DB}", s.pg.port);
    let out = run(usagectl()
        .env("DATABASE_URL", url)
        .env("PGPASSWORD", PASSWORD)
        .args(["summary", "--org", "acme", "-o", "json"]));
    assert!(
        !out.stdout.contains(PASSWORD) && !out.stderr.contains(PASSWORD),
        "password leaked"
    );
    out
}

fn ca(name: &str) -> String {
    server().certs.join(name).display().to_string()
}

#[test]
fn verify_full_passes_with_the_right_ca_and_host_name() {
    let out = summary(&format!(
        "localhost sslmode=verify-full sslrootcert={}",
        ca("ca.crt")
    ));
    out.assert_ok();
    assert_eq!(
        out.json()["summary_by_type"]["chat_message"]["total_quantity"],
        3
    );
}

#[test]
fn verify_full_names_the_certificate_problem() {
    let out = summary(&format!(
        "localhost sslmode=verify-full sslrootcert={}",
        ca("other.crt")
    ));
    out.assert_fails(1);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
    let out = summary(&format!(
        "127.0.0.1 sslmode=verify-full sslrootcert={}",
        ca("ca.crt")
    ));
    out.assert_fails(1);
    assert!(out.stderr.contains("host name mismatch"), "{}", out.stderr);
    assert!(out.stderr.contains("\"127.0.0.1\""), "{}", out.stderr);
}

#[test]
fn verify_ca_checks_the_chain_but_not_the_name() {
    summary(&format!(
        "127.0.0.1 sslmode=verify-ca sslrootcert={}",
        ca("ca.crt")
    ))
    .assert_ok();
    let out = summary(&format!(
        "127.0.0.1 sslmode=verify-ca sslrootcert={}",
        ca("other.crt")
    ));
    out.assert_fails(1);
    assert!(out.stderr.contains("unknown issuer"), "{}", out.stderr);
}

#[test]
fn require_encrypts_without_a_root_certificate_and_disable_is_refused() {
    summary("127.0.0.1 sslmode=require").assert_ok();
    summary("127.0.0.1 sslmode=prefer").assert_ok();
    summary("127.0.0.1 sslmode=allow").assert_ok();
    // require with a root certificate verifies the chain, as libpq does
    let out = summary(&format!(
        "127.0.0.1 sslmode=require sslrootcert={}",
        ca("other.crt")
    ));
    out.assert_fails(1);
    let out = summary("127.0.0.1 sslmode=disable");
    out.assert_fails(1);
    assert!(
        out.stderr.contains("accepts only encrypted connections"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("no encryption"), "{}", out.stderr);
    // verify-ca without any root certificate is misuse, before connecting
    summary("127.0.0.1 sslmode=verify-ca").assert_fails(2);
}

#[test]
fn pgsslmode_pgsslrootcert_and_a_password_file_work() {
    let s = server();
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(
        &pgpass,
        format!("localhost:{}:{DB}:{ROLE}:{PASSWORD}\n", s.pg.port),
    )
    .unwrap();
    std::fs::set_permissions(&pgpass, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
    let out = run(usagectl()
        .env("PGHOST", "localhost")
        .env("PGPORT", s.pg.port.to_string())
        .env("PGUSER", ROLE)
        .env("PGDATABASE", DB)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", ca("ca.crt"))
        .env("PGPASSFILE", &pgpass)
        .args(["summary", "--org", "acme", "-o", "json"]));
    out.assert_ok();
    assert!(!out.stderr.contains(PASSWORD));
    let out = run(usagectl()
        .env("PGHOST", "localhost")
        .env("PGPORT", s.pg.port.to_string())
        .env("PGUSER", ROLE)
        .env("PGDATABASE", DB)
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", ca("other.crt"))
        .env("PGPASSFILE", &pgpass)
        .args(["summary", "--org", "acme"]));
    out.assert_fails(1);
    assert!(out.stderr.contains("unknown issuer"));
}

#[test]
fn a_client_certificate_logs_in_where_the_server_asks_for_one() {
    let s = server();
    let base = format!(
        "host=localhost port={} user={CERT_ROLE} dbname={DB} sslmode=verify-full sslrootcert={}",
        s.pg.port,
        ca("ca.crt")
    );
    let with_cert = format!(
        "{base} sslcert={} sslkey={}",
        ca("client.crt"),
        ca("client.key")
    );
    let out = run(usagectl()
        .env("DATABASE_URL", &with_cert)
        .args(["summary", "--org", "acme", "-o", "json"]));
    out.assert_ok();
    assert_eq!(out.json()["total_events"], 1);
    let out = run(usagectl()
        .env("DATABASE_URL", &base)
        .args(["summary", "--org", "acme"]));
    out.assert_fails(1);
    assert!(out.stderr.contains("certificate"), "{}", out.stderr);
    // the same files from PGSSLCERT / PGSSLKEY
    let out = run(usagectl()
        .env("DATABASE_URL", &base)
        .env("PGSSLCERT", ca("client.crt"))
        .env("PGSSLKEY", ca("client.key"))
        .args(["summary", "--org", "acme", "-o", "json"]));
    out.assert_ok();
}

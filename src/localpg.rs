//! A private PostgreSQL cluster made with the machine's own `initdb` and `pg_ctl`, for
//! `usagectl demo` and the test suite. When run as root (initdb refuses root) the
//! server runs as the unprivileged `postgres` (or `nobody`) system user.
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};

/// Superuser name of clusters made here.
pub const SUPERUSER: &str = "postgres";

/// A cluster living under one directory: `data/`, its log, and its Unix socket.
#[derive(Debug, Clone)]
pub struct LocalPg {
    /// The directory holding everything (also the socket directory).
    pub root: PathBuf,
    /// Port (the socket's name; TCP only when listening on an address).
    pub port: u16,
    /// `listen_addresses`: empty for socket only.
    pub listen: String,
    bindir: PathBuf,
    run_as: Option<(u32, u32)>,
}

/// Where the server binaries are: `pg_ctl` on PATH, `pg_config --bindir`, or the newest
/// `/usr/lib/postgresql/*/bin`.
pub fn find_bindir() -> Result<PathBuf> {
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            if dir.join("initdb").is_file() && dir.join("pg_ctl").is_file() {
                // Debian links only some binaries into PATH; use where they really live.
                let real = std::fs::canonicalize(dir.join("pg_ctl")).unwrap_or(dir.join("pg_ctl"));
                if let Some(parent) = real.parent()
                    && parent.join("postgres").is_file()
                {
                    return Ok(parent.to_path_buf());
                }
            }
        }
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output()
        && out.status.success()
    {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if dir.join("initdb").is_file() {
            return Ok(dir);
        }
    }
    let mut candidates: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let v: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((v, bin))
        })
        .collect();
    candidates.sort();
    match candidates.pop() {
        Some((_, dir)) => Ok(dir),
        None => bail!(
            "no PostgreSQL server binaries found (initdb, pg_ctl): install the `postgresql` package (e.g. `apt-get install postgresql`)"
        ),
    }
}

/// uid/gid of an unprivileged user to run the server as, when we are root.
fn unprivileged_user() -> Result<Option<(u32, u32)>> {
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").context("reading /etc/passwd")?;
    for wanted in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() >= 4 && f[0] == wanted {
                let uid = f[2].parse().context("parsing /etc/passwd")?;
                let gid = f[3].parse().context("parsing /etc/passwd")?;
                return Ok(Some((uid, gid)));
            }
        }
    }
    bail!(
        "running as root and no unprivileged `postgres` or `nobody` user exists to run the server"
    )
}

impl LocalPg {
    /// Describe a cluster under `root` (nothing is created yet).
    pub fn new(root: &Path, port: u16, listen: &str) -> Result<LocalPg> {
        Ok(LocalPg {
            root: root.to_path_buf(),
            port,
            listen: listen.to_string(),
            bindir: find_bindir()?,
            run_as: unprivileged_user()?,
        })
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    fn command(&self, program: &str) -> Command {
        let mut c = Command::new(self.bindir.join(program));
        c.current_dir(&self.root)
            .env("LC_ALL", "C")
            .env_remove("PGDATA");
        if let Some((uid, gid)) = self.run_as {
            c.uid(uid).gid(gid);
        }
        c
    }

    fn run(&self, mut cmd: Command, what: &str) -> Result<()> {
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("running {what}"))?;
        if !out.status.success() {
            bail!(
                "{what} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(())
    }

    /// Create the cluster's directory, private to the server's user, and check that user
    /// can reach it.
    fn prepare_root(&self) -> Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("creating {}", self.root.display()))?;
        std::fs::set_permissions(&self.root, std::fs::Permissions::from_mode(0o700))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&self.root, Some(uid), Some(gid))
                .with_context(|| format!("handing {} to the server's user", self.root.display()))?;
            // the server's user must be able to reach the directory
            let mut p = self.root.parent();
            while let Some(dir) = p {
                let mode = std::fs::metadata(dir)?.permissions().mode();
                if mode & 0o001 == 0 {
                    bail!(
                        "{} is not searchable by the server's unprivileged user: choose a directory under /tmp",
                        dir.display()
                    );
                }
                p = dir.parent();
            }
        }
        Ok(())
    }

    /// Create the directory and run initdb, unless the cluster exists already.
    /// `hba_first` lines go before the trust rules in pg_hba.conf.
    pub fn init(&self, hba_first: &[&str]) -> Result<()> {
        if self.data_dir().join("PG_VERSION").is_file() {
            return Ok(());
        }
        self.prepare_root()?;
        let mut c = self.command("initdb");
        c.arg("-D").arg(self.data_dir()).args([
            "-U",
            SUPERUSER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        ]);
        self.run(c, "initdb")?;
        let hba = self.data_dir().join("pg_hba.conf");
        let mut text = String::from("# written by usagectl\n");
        for line in hba_first {
            text.push_str(line);
            text.push('\n');
        }
        text.push_str(
            "local all all trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\nlocal replication all trust\nhost replication all 127.0.0.1/32 trust\n",
        );
        std::fs::write(&hba, text).with_context(|| format!("writing {}", hba.display()))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&hba, Some(uid), Some(gid))?;
        }
        Ok(())
    }

    /// Put a file (a certificate, a key) into the data directory, owned by the server's
    /// user and readable by it alone.
    pub fn install_file(&self, name: &str, contents: &[u8]) -> Result<PathBuf> {
        let path = self.data_dir().join(name);
        std::fs::write(&path, contents).with_context(|| format!("writing {}", path.display()))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        if let Some((uid, gid)) = self.run_as {
            std::os::unix::fs::chown(&path, Some(uid), Some(gid))?;
        }
        Ok(path)
    }

    /// Make this cluster a streaming replica of `primary` with pg_basebackup (it writes
    /// standby.signal and primary_conninfo), unless it exists already.
    pub fn init_replica_of(&self, primary: &LocalPg) -> Result<()> {
        if self.data_dir().join("PG_VERSION").is_file() {
            return Ok(());
        }
        self.prepare_root()?;
        let mut c = self.command("pg_basebackup");
        c.arg("-D")
            .arg(self.data_dir())
            .arg("-h")
            .arg(&primary.root)
            .args([
                "-p",
                &primary.port.to_string(),
                "-U",
                SUPERUSER,
                "-R",
                "-X",
                "stream",
                "--no-sync",
                "--checkpoint=fast",
            ]);
        self.run(c, "pg_basebackup")
    }

    /// Whether the server is up.
    pub fn is_running(&self) -> bool {
        let mut c = self.command("pg_ctl");
        c.arg("status").arg("-D").arg(self.data_dir());
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Start the server (waiting until it accepts connections) unless it is running.
    /// `settings` are extra `-c name=value` server settings.
    pub fn start(&self, settings: &[&str]) -> Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let mut opts = format!(
            "-k '{}' -p {} -c listen_addresses='{}'",
            self.root.display(),
            self.port,
            self.listen
        );
        for s in settings {
            opts.push_str(&format!(" -c {s}"));
        }
        let mut c = self.command("pg_ctl");
        c.arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.root.join("server.log"))
            .args(["-w", "-t", "60", "-o", &opts]);
        // the server must not inherit our stdout: a caller reading it to the end would hang
        c.stdout(Stdio::null());
        self.run(c, "pg_ctl start")
            .with_context(|| format!("see {}", self.root.join("server.log").display()))
    }

    /// Stop the server (fast shutdown).
    pub fn stop(&self) -> Result<()> {
        if !self.is_running() {
            return Ok(());
        }
        let mut c = self.command("pg_ctl");
        c.arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w"]);
        c.stdout(Stdio::null());
        self.run(c, "pg_ctl stop")
    }

    /// A libpq key=value string for `dbname` over the Unix socket.
    pub fn conninfo(&self, dbname: &str) -> String {
        format!(
            "host={} port={} user={SUPERUSER} dbname={dbname}",
            self.root.display(),
            self.port
        )
    }
}

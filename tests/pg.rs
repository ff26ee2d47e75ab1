//! A throwaway PostgreSQL server per test: the machine's PostgreSQL 15 binaries, a cluster
//! made by `initdb` in a temporary folder and started with `pg_ctl` on a free loopback port,
//! stopped and removed when the value is dropped. PostgreSQL refuses to run as root, so as
//! root (CI) both run as `nobody` (through `setpriv`), in a folder handed to it.
//!
//! Missing binaries fail the test with what is missing and how to install it: the state
//! tests never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the server binaries are looked for, in order: `ARTICLEBOT_PG_BIN`, then Debian's and
/// the PGDG packages' folder for version 15.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("ARTICLEBOT_PG_BIN") {
        return PathBuf::from(dir);
    }
    PathBuf::from("/usr/lib/postgresql/15/bin")
}

/// The uid and gid the server runs as when the tests run as root: `nobody`/`nogroup`.
const NOBODY: u32 = 65534;

/// A running PostgreSQL server with one database, `articlebot`, that trusts loopback
/// connections.
pub struct Postgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    pub port: u16,
}

impl Postgres {
    /// Makes a cluster and starts it. Panics, naming what is missing, when PostgreSQL is not
    /// installed.
    pub fn start() -> Postgres {
        let bin = bin_dir();
        for tool in ["initdb", "pg_ctl", "postgres"] {
            assert!(
                bin.join(tool).is_file(),
                "PostgreSQL 15 is needed by the state tests and {} is missing: install the \
                 server (Debian: `apt-get install postgresql-15`), or set ARTICLEBOT_PG_BIN to \
                 the folder holding initdb, pg_ctl and postgres",
                bin.join(tool).display()
            );
        }
        let dir = tempfile::Builder::new()
            .prefix("articlebot-pg")
            .tempdir()
            .unwrap();
        if as_root() {
            std::os::unix::fs::chown(dir.path(), Some(NOBODY), Some(NOBODY)).unwrap();
        }
        let data = dir.path().join("data");
        let out = server_command(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"])
            .arg("--no-sync")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let pg = Postgres {
            port: free_port(),
            dir,
            bin,
        };
        pg.resume();
        let out = Command::new(pg.bin.join("psql"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &pg.port.to_string(),
                "-U",
                "postgres",
            ])
            .args(["-v", "ON_ERROR_STOP=1", "-c", "CREATE DATABASE articlebot"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "cannot create the database: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        pg
    }

    /// `postgres://…` for the test database.
    pub fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/articlebot?connect_timeout=5",
            self.port
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// Stops the server at once (in-flight connections are cut, as in a crash).
    pub fn halt(&self) {
        let status = server_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .unwrap();
        assert!(status.status.success(), "pg_ctl stop failed");
    }

    /// Starts the (stopped) server again on the same port.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let out = server_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.data())
            .arg("-l")
            .arg(self.dir.path().join("server.log"))
            .args(["-o", &options, "-w", "start"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
        );
    }

    /// The server's own log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    #[allow(dead_code)]
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = server_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.data())
            .args(["-m", "immediate", "-w", "stop"])
            .output();
    }
}

fn as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `tool` of the server, run as `nobody` when the tests run as root.
fn server_command(bin: &Path, tool: &str) -> Command {
    if as_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args([
            &format!("--reuid={NOBODY}"),
            &format!("--regid={NOBODY}"),
            "--clear-groups",
        ])
        .arg(bin.join(tool));
        cmd
    } else {
        Command::new(bin.join(tool))
    }
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

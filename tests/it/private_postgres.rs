//! A PostgreSQL server of one test's own (its own data directory and port), so the test can stop
//! and start it without touching the server every other test uses.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{Part, need};

pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

/// The server binaries of the newest PostgreSQL installed, when there is one.
fn binaries() -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|bin| bin.join("pg_ctl").is_file())
        .collect();
    found.sort();
    found.pop()
}

/// Runs `program` as the `postgres` user (the server refuses to run as root).
fn as_postgres(program: &std::path::Path) -> Command {
    let mut command = Command::new("runuser");
    command.args(["-u", "postgres", "--"]).arg(program);
    command.current_dir("/");
    command
}

impl PrivatePostgres {
    /// A new cluster, started; `None` when PostgreSQL is not installed and may be skipped.
    pub fn start() -> Option<Self> {
        let bin = binaries();
        if !need(
            Part::Postgres,
            bin.is_some(),
            "no PostgreSQL server under /usr/lib/postgresql",
        ) {
            return None;
        }
        let bin = bin.expect("checked");
        let dir = tempfile::tempdir().expect("tmp");
        let chown = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(chown.success(), "chown the private cluster's directory");
        let init = as_postgres(&bin.join("initdb"))
            .args(["--auth=trust", "--username=lmnop", "--encoding=UTF8", "-D"])
            .arg(dir.path().join("data"))
            .output()
            .expect("initdb runs");
        assert!(init.status.success(), "initdb: {init:?}");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let server = Self { dir, bin, port };
        server.resume();
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("postgres://lmnop@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again), waiting until it accepts connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let started = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-l")
            .arg(self.dir.path().join("log"))
            .args(["-o", &options, "-w", "start"])
            .output()
            .expect("pg_ctl runs");
        assert!(started.status.success(), "pg_ctl start: {started:?}");
    }

    /// Stops the server at once, cutting its connections (`pg_ctl -m immediate`).
    pub fn stop(&self) {
        let stopped = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "-w", "stop"])
            .output()
            .expect("pg_ctl runs");
        assert!(stopped.status.success(), "pg_ctl stop: {stopped:?}");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let _ = as_postgres(&self.bin.join("pg_ctl"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

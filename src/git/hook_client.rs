//! `lmnop hook pre-receive`, `reference-transaction STATE` and `post-receive`: run by
//! `git receive-pack`. Hands the ref updates (and the quarantine) to the server, prints what the
//! server streams back (git relays pre- and post-receive output to the pusher as `remote: …`),
//! and exits with the server's verdict.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::process::ExitCode;

use super::hook_server::{Hook, HookMessage, HookRequest, SOCKET_ENV, TOKEN_ENV};
use super::receive::{Quarantine, RefUpdate};

/// Runs the hook; any failure rejects the push with a line saying why.
pub fn run_pre_receive() -> ExitCode {
    run(Hook::PreReceive)
}

/// `reference-transaction STATE`. Outside a push lmnop serves (no token in the environment)
/// it allows everything, so git used by hand in a repository is not held up.
pub fn run_reference_transaction(state: &str) -> ExitCode {
    if std::env::var_os(TOKEN_ENV).is_none() {
        return ExitCode::SUCCESS;
    }
    run(Hook::ReferenceTransaction {
        state: state.to_owned(),
    })
}

pub fn run_post_receive() -> ExitCode {
    run(Hook::PostReceive)
}

fn run(hook: Hook) -> ExitCode {
    match relay(hook) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            println!("error: lmnop's pre-receive hook failed: {error}");
            ExitCode::FAILURE
        }
    }
}

fn relay(hook: Hook) -> anyhow::Result<bool> {
    let socket = std::env::var(SOCKET_ENV)
        .map_err(|_| anyhow::anyhow!("{SOCKET_ENV} is not set: this hook runs only under lmnop"))?;
    let token = std::env::var(TOKEN_ENV)
        .map_err(|_| anyhow::anyhow!("{TOKEN_ENV} is not set: this hook runs only under lmnop"))?;
    let mut updates = Vec::new();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        let mut fields = line.split_whitespace();
        if let (Some(old), Some(new), Some(name)) = (fields.next(), fields.next(), fields.next()) {
            updates.push(RefUpdate {
                old: old.to_owned(),
                new: new.to_owned(),
                name: name.to_owned(),
            });
        }
    }
    let env = |name: &str| std::env::var(name).ok();
    let request = HookRequest {
        token,
        hook,
        updates,
        quarantine: Quarantine {
            object_directory: env("GIT_OBJECT_DIRECTORY"),
            alternate_object_directories: env("GIT_ALTERNATE_OBJECT_DIRECTORIES"),
            quarantine_path: env("GIT_QUARANTINE_PATH"),
        },
    };
    let mut stream = UnixStream::connect(&socket)
        .map_err(|error| anyhow::anyhow!("cannot reach the lmnop server at {socket}: {error}"))?;
    let mut line = serde_json::to_vec(&request)?;
    line.push(b'\n');
    stream.write_all(&line)?;
    let stdout = std::io::stdout();
    for line in BufReader::new(stream).lines() {
        match serde_json::from_str::<HookMessage>(&line?)? {
            HookMessage::Line { text } => {
                let mut out = stdout.lock();
                writeln!(out, "{text}")?;
                out.flush()?;
            }
            HookMessage::Verdict { accept } => return Ok(accept),
        }
    }
    anyhow::bail!("the lmnop server closed the connection before deciding")
}

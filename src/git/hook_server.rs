//! The server end of git's hooks: a Unix socket (owner-only) where `lmnop hook pre-receive`,
//! `reference-transaction` and `post-receive` hand over a push's ref updates with its per-push
//! token, and get the push handler's output and verdict back as JSON lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::output::Output;
use super::receive::{Push, PushHandler, Quarantine, RefUpdate, Verdict};
use crate::store::DataDir;

/// Environment variables that tell the hook where the server is and which push it is.
pub const SOCKET_ENV: &str = "LMNOP_HOOK_SOCKET";
pub const TOKEN_ENV: &str = "LMNOP_HOOK_TOKEN";

/// The largest request a hook may send (ref updates of a big push fit easily).
const MAX_REQUEST_BYTES: u64 = 4 * 1024 * 1024;
/// After this long without a line, the pusher gets a line saying the push is still working.
const HEARTBEAT: Duration = Duration::from_secs(10);

/// What the hook sends: one JSON line.
#[derive(Debug, Serialize, Deserialize)]
pub struct HookRequest {
    pub token: String,
    #[serde(default)]
    pub hook: Hook,
    pub updates: Vec<RefUpdate>,
    pub quarantine: Quarantine,
}

/// Which of git's hooks is calling.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Hook {
    #[default]
    PreReceive,
    /// `state`: `prepared`, `committed` or `aborted`.
    ReferenceTransaction {
        state: String,
    },
    PostReceive,
}

/// What the server sends back: lines to show, then one verdict.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
pub enum HookMessage {
    Line { text: String },
    Verdict { accept: bool },
}

/// A push waiting for its hook.
#[derive(Debug, Clone)]
pub struct PushSession {
    pub push: Push,
    /// Fires when the pusher goes away: the pipeline stops.
    pub cancel: CancellationToken,
}

/// Pushes in flight, by token.
pub struct HookServer {
    socket: PathBuf,
    sessions: Mutex<HashMap<String, PushSession>>,
    /// The handler [`Self::serve`] was given, told when git has exited.
    handler: std::sync::OnceLock<Arc<dyn PushHandler>>,
}

impl std::fmt::Debug for HookServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HookServer")
            .field("socket", &self.socket)
            .finish_non_exhaustive()
    }
}

impl HookServer {
    /// Binds the data directory's hook socket (in an owner-only folder), replacing a stale one.
    pub fn bind(data_dir: &DataDir) -> std::io::Result<(Arc<Self>, UnixListener)> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = data_dir.run();
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)?;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        let socket = data_dir.hook_socket();
        let _ = std::fs::remove_file(&socket);
        let listener = UnixListener::bind(&socket)?;
        std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
        let server = Arc::new(Self {
            socket,
            sessions: Mutex::new(HashMap::new()),
            handler: std::sync::OnceLock::new(),
        });
        Ok((server, listener))
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// Registers a push; the token goes to the hook through git's environment.
    pub fn register(&self, session: PushSession) -> String {
        let token = crate::accounts::random_password().expose().to_owned();
        self.sessions
            .lock()
            .expect("the session map is never poisoned")
            .insert(token.clone(), session);
        token
    }

    pub fn unregister(&self, token: &str) {
        self.sessions
            .lock()
            .expect("the session map is never poisoned")
            .remove(token);
    }

    /// git has exited: the handler settles the push, and its token is forgotten.
    pub async fn finish(&self, token: &str) -> Option<super::receive::Refusal> {
        let session = self
            .sessions
            .lock()
            .expect("the session map is never poisoned")
            .remove(token);
        match (session, self.handler.get()) {
            (Some(session), Some(handler)) => handler.settle(&session.push).await,
            _ => None,
        }
    }

    fn session(&self, token: &str) -> Option<PushSession> {
        self.sessions
            .lock()
            .expect("the session map is never poisoned")
            .get(token)
            .cloned()
    }

    /// Accepts hook connections until the listener fails.
    pub async fn serve(self: Arc<Self>, listener: UnixListener, handler: Arc<dyn PushHandler>) {
        let _ = self.handler.set(handler.clone());
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    let server = self.clone();
                    let handler = handler.clone();
                    tokio::spawn(async move {
                        if let Err(error) = server.handle(stream, handler.as_ref()).await {
                            tracing::warn!(%error, "pre-receive hook connection failed");
                        }
                    });
                }
                Err(error) => {
                    tracing::error!(%error, "the hook socket stopped accepting");
                    return;
                }
            }
        }
    }

    async fn handle(&self, stream: UnixStream, handler: &dyn PushHandler) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut line = String::new();
        BufReader::new(read.take(MAX_REQUEST_BYTES))
            .read_line(&mut line)
            .await?;
        let request: HookRequest = serde_json::from_str(&line).map_err(std::io::Error::other)?;
        let Some(session) = self.session(&request.token) else {
            send(
                &mut write,
                &HookMessage::Line {
                    text:
                        "error: this push is unknown to lmnop (did the server restart?); push again"
                            .to_owned(),
                },
            )
            .await?;
            return send(&mut write, &HookMessage::Verdict { accept: false }).await;
        };
        if let Hook::ReferenceTransaction { state } = &request.hook {
            let verdict = handler
                .transaction(&session.push, state, &request.updates)
                .await;
            return send(
                &mut write,
                &HookMessage::Verdict {
                    accept: verdict == Verdict::Accept,
                },
            )
            .await;
        }

        let (tx, mut rx) = mpsc::unbounded_channel::<String>();
        let run = async {
            let output = Output::new(tx);
            let decide = async {
                if request.hook == Hook::PostReceive {
                    handler.post_receive(&session.push, &output).await;
                    Verdict::Accept
                } else {
                    handler
                        .handle(
                            &session.push,
                            &request.updates,
                            &request.quarantine,
                            &output,
                        )
                        .await
                }
            };
            let verdict = tokio::select! {
                verdict = decide => verdict,
                () = session.cancel.cancelled() => {
                    tracing::info!(function = %session.push.function, "push cancelled: the pusher went away");
                    Verdict::Reject
                }
            };
            drop(output);
            verdict
        };
        let forward = async {
            let mut connected = true;
            let mut quiet = Duration::ZERO;
            loop {
                let text = match tokio::time::timeout(HEARTBEAT, rx.recv()).await {
                    Ok(Some(text)) => {
                        quiet = Duration::ZERO;
                        text
                    }
                    Ok(None) => break,
                    // A silent step still shows it is alive, and writing is how a pusher that
                    // went away is noticed (the push is then cancelled).
                    Err(_) => {
                        quiet += HEARTBEAT;
                        format!(
                            "       … still working ({}s without output)",
                            quiet.as_secs()
                        )
                    }
                };
                if connected && send(&mut write, &HookMessage::Line { text }).await.is_err() {
                    connected = false;
                }
            }
        };
        let (verdict, ()) = tokio::join!(run, forward);
        send(
            &mut write,
            &HookMessage::Verdict {
                accept: verdict == Verdict::Accept,
            },
        )
        .await
    }
}

async fn send(
    write: &mut tokio::net::unix::OwnedWriteHalf,
    message: &HookMessage,
) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message).map_err(std::io::Error::other)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    write.flush().await
}

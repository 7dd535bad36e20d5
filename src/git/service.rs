//! Running `git upload-pack` and `git receive-pack` for smart HTTP: a clean environment, the
//! request body streamed into the child (gunzipped when the client compressed it), and the
//! child's output streamed back. A pack is never held whole in memory.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::process::Stdio;
use std::task::{Context, Poll};

use async_compression::tokio::bufread::GzipDecoder;
use axum::body::{Body, Bytes};
use futures_util::{Stream, TryStreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::io::{ReaderStream, StreamReader};
use tokio_util::sync::CancellationToken;

use super::receive::Refusal;

/// The smart-HTTP services: fetch, push, and `git archive --remote` (protocol v2 clients).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    UploadPack,
    ReceivePack,
    UploadArchive,
}

impl Service {
    /// From `git-upload-pack` / `git-receive-pack`, the services with a ref advertisement
    /// (an archive client asks for upload-pack's).
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "git-upload-pack" => Some(Self::UploadPack),
            "git-receive-pack" => Some(Self::ReceivePack),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::UploadPack => "git-upload-pack",
            Self::ReceivePack => "git-receive-pack",
            Self::UploadArchive => "git-upload-archive",
        }
    }

    fn subcommand(self) -> &'static str {
        match self {
            Self::UploadPack => "upload-pack",
            Self::ReceivePack => "receive-pack",
            Self::UploadArchive => "upload-archive",
        }
    }
}

/// The only environment git children get: the server's PATH, no user or system config, and a
/// fixed locale. Nothing from the request enters except through [`protocol_env`].
pub fn base_env() -> Vec<(&'static str, String)> {
    vec![
        (
            "PATH",
            std::env::var("PATH").unwrap_or_else(|_| "/usr/local/bin:/usr/bin:/bin".to_owned()),
        ),
        ("HOME", "/nonexistent".to_owned()),
        ("GIT_CONFIG_NOSYSTEM", "1".to_owned()),
        ("GIT_CONFIG_GLOBAL", "/dev/null".to_owned()),
        ("LANG", "C".to_owned()),
        ("LC_ALL", "C".to_owned()),
    ]
}

/// `GIT_PROTOCOL` from the client's `Git-Protocol` header, keeping only `version=N` entries.
pub fn protocol_env(header: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = header?
        .split(':')
        .filter(|entry| {
            entry
                .strip_prefix("version=")
                .is_some_and(|v| v.len() == 1 && v.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join(":"))
}

/// The `git` binary, found once on the server's PATH. An absolute program path also lets the
/// standard library start children with `posix_spawn` instead of copying the whole server with
/// `fork` (it must fork to search a PATH that differs from its own).
pub fn git_program() -> &'static Path {
    static PROGRAM: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();
    PROGRAM.get_or_init(|| {
        std::env::var_os("PATH")
            .iter()
            .flat_map(std::env::split_paths)
            .map(|dir| dir.join("git"))
            .find(|candidate| candidate.is_file())
            .unwrap_or_else(|| std::path::PathBuf::from("git"))
    })
}

/// Read and write buffers for streaming packs.
const STREAM_BUFFER: usize = 64 * 1024;

/// `git --git-dir=PATH` with the clean environment.
pub fn git(repo: &Path) -> Command {
    let mut command = Command::new(git_program());
    command
        .env_clear()
        .envs(base_env())
        .arg(format!("--git-dir={}", repo.display()));
    command.kill_on_drop(true);
    command
}

/// What a service run needs besides the repository.
#[derive(Debug, Default)]
pub struct ServiceOptions {
    /// `-c key=value` settings.
    pub config: Vec<(String, String)>,
    /// Extra environment (the hook socket and token).
    pub env: Vec<(String, String)>,
    pub protocol: Option<String>,
}

fn service_command(service: Service, options: &ServiceOptions) -> Command {
    let mut command = Command::new(git_program());
    command.env_clear().envs(base_env());
    for (key, value) in &options.config {
        command.arg("-c").arg(format!("{key}={value}"));
    }
    command.envs(options.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    if let Some(protocol) = &options.protocol {
        command.env("GIT_PROTOCOL", protocol);
    }
    command.arg(service.subcommand());
    // upload-archive is one request and one answer already; the others need telling.
    if service != Service::UploadArchive {
        command.arg("--stateless-rpc");
    }
    command
}

/// The ref advertisement for `info/refs`, whole (it is small).
pub async fn advertise(
    service: Service,
    repo: &Path,
    options: &ServiceOptions,
) -> std::io::Result<Vec<u8>> {
    let output = service_command(service, options)
        .arg("--advertise-refs")
        .arg("--")
        .arg(repo)
        .stdin(Stdio::null())
        .output()
        .await?;
    if !output.status.success() {
        return Err(std::io::Error::other(format!(
            "git {} --advertise-refs failed: {}",
            service.subcommand(),
            String::from_utf8_lossy(&output.stderr).trim()
        )));
    }
    Ok(output.stdout)
}

/// A running service: its output as a body stream, and a way to wait for it.
pub struct RunningService {
    pub child: Child,
    pub stdout: ReaderStream<tokio::process::ChildStdout>,
    pub stderr: tokio::process::ChildStderr,
}

/// Starts the service and feeds it `body` in the background (at most `limit` bytes after
/// decompression; past that the input is cut and git reports the truncated stream).
pub fn start(
    service: Service,
    repo: &Path,
    options: &ServiceOptions,
    body: Body,
    gzip: bool,
    limit: u64,
) -> std::io::Result<RunningService> {
    let mut command = service_command(service, options);
    // upload-archive takes no `--` (its writer would read it as the repository); the path is
    // absolute, so it cannot be read as an option.
    if service != Service::UploadArchive {
        command.arg("--");
    }
    let mut child = command
        .arg(repo)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    tokio::spawn(async move {
        let stream = body.into_data_stream().map_err(std::io::Error::other);
        let raw = StreamReader::new(stream);
        let input: Pin<Box<dyn AsyncRead + Send>> = if gzip {
            Box::pin(GzipDecoder::new(BufReader::with_capacity(
                STREAM_BUFFER,
                raw,
            )))
        } else {
            Box::pin(raw)
        };
        let mut limited = BufReader::with_capacity(STREAM_BUFFER, input.take(limit));
        // A client that goes away or sends junk ends the input; git then reports what it got.
        if let Err(error) = tokio::io::copy_buf(&mut limited, &mut stdin).await {
            tracing::debug!(%error, "git request body ended early");
        }
        let _ = stdin.shutdown().await;
    });
    Ok(RunningService {
        child,
        stdout: ReaderStream::with_capacity(stdout, STREAM_BUFFER),
        stderr,
    })
}

/// The response body: git's output, and a cancellation of the push when the client goes away
/// before the end.
///
/// The body ends only once `settled` fires (git has exited and the server has cleaned up), so
/// when `git push` returns, the server's state is final. When lmnop refused the ref update in
/// git's `prepared` state, git dies without its report and a client would wait for it forever:
/// the report is written here instead, with lmnop's reason.
pub struct ServiceBody {
    inner: ReaderStream<tokio::process::ChildStdout>,
    output_done: bool,
    settled: tokio::sync::oneshot::Receiver<Option<Refusal>>,
    finished: bool,
    cancel: CancellationToken,
    /// For receive-pack: where the output's pkt-lines are, to see its closing flush.
    framing: Option<PktFraming>,
}

impl ServiceBody {
    pub fn new(
        service: Service,
        inner: ReaderStream<tokio::process::ChildStdout>,
        settled: tokio::sync::oneshot::Receiver<Option<Refusal>>,
        cancel: CancellationToken,
    ) -> Self {
        Self {
            inner,
            output_done: false,
            settled,
            finished: false,
            cancel,
            framing: (service == Service::ReceivePack).then(PktFraming::default),
        }
    }

    /// Whether the client has had all git had to say: receive-pack's report ends with the
    /// output's one top-level flush, after the refs were updated.
    fn reported(&self) -> bool {
        self.output_done || self.framing.as_ref().is_some_and(|framing| framing.flushed)
    }
}

/// Follows pkt-line framing (`XXXX` hex length, payload; `0000` flush) across chunks.
#[derive(Debug, Default)]
struct PktFraming {
    header: Vec<u8>,
    remaining: usize,
    flushed: bool,
    broken: bool,
    /// The first byte of git's first payload: its band (1, 2 or 3) when the client asked for a
    /// side band.
    first: Option<u8>,
}

impl PktFraming {
    fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() && !self.broken {
            if self.remaining > 0 {
                self.first.get_or_insert(bytes[0]);
                let skip = self.remaining.min(bytes.len());
                self.remaining -= skip;
                bytes = &bytes[skip..];
                continue;
            }
            let take = (4 - self.header.len()).min(bytes.len());
            self.header.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            if self.header.len() < 4 {
                return;
            }
            let length = std::str::from_utf8(&self.header)
                .ok()
                .and_then(|hex| usize::from_str_radix(hex, 16).ok());
            self.header.clear();
            match length {
                Some(0) => self.flushed = true,
                // 0001 and 0002 (protocol v2's delimiters) carry nothing.
                Some(1..=3) => {}
                Some(length) => self.remaining = length - 4,
                None => self.broken = true,
            }
        }
    }
}

impl Stream for ServiceBody {
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if !self.output_done {
            match Pin::new(&mut self.inner).poll_next(cx) {
                Poll::Ready(None) => self.output_done = true,
                Poll::Ready(Some(Ok(bytes))) => {
                    if let Some(framing) = self.framing.as_mut() {
                        framing.feed(&bytes);
                    }
                    return Poll::Ready(Some(Ok(bytes)));
                }
                other => return other,
            }
        }
        if self.finished {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.settled).poll(cx) {
            Poll::Ready(refusal) => {
                self.finished = true;
                let unreported = self
                    .framing
                    .as_ref()
                    .filter(|framing| !framing.flushed && !framing.broken);
                match (refusal, unreported) {
                    (Ok(Some(refusal)), Some(framing)) => {
                        let banded = !matches!(framing.first, Some(byte) if byte > 3);
                        Poll::Ready(Some(Ok(Bytes::from(closing_report(&refusal, banded)))))
                    }
                    _ => Poll::Ready(None),
                }
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// receive-pack's report for a ref lmnop refused after git died without one: the reason as
/// the pusher's `remote: error:` line and the ref rejected, in the side band when the client
/// asked for one (every git since 1.6 does), else the report alone with the reason in it.
fn closing_report(refusal: &Refusal, banded: bool) -> Vec<u8> {
    fn pkt(out: &mut Vec<u8>, payload: &[u8]) {
        out.extend_from_slice(format!("{:04x}", payload.len() + 4).as_bytes());
        out.extend_from_slice(payload);
    }
    // In packets small enough for `side-band` as for `side-band-64k`.
    fn band(out: &mut Vec<u8>, band: u8, bytes: &[u8]) {
        for chunk in bytes.chunks(990) {
            let mut payload = vec![band];
            payload.extend_from_slice(chunk);
            pkt(out, &payload);
        }
    }
    // A reason is one line in the report.
    let reason: String = refusal
        .reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let shown = if banded {
        "refused by lmnop (see above)"
    } else {
        reason.as_str()
    };
    let mut report = Vec::new();
    pkt(&mut report, b"unpack ok\n");
    pkt(
        &mut report,
        format!("ng {} {shown}\n", refusal.ref_name).as_bytes(),
    );
    report.extend_from_slice(b"0000");
    if !banded {
        return report;
    }
    let mut out = Vec::new();
    band(&mut out, 2, format!("error: {reason}\n").as_bytes());
    band(&mut out, 1, &report);
    out.extend_from_slice(b"0000");
    out
}

impl Drop for ServiceBody {
    /// A client that leaves before git has said everything stops git; one that leaves after
    /// (dulwich closes right after receive-pack's report) lets it finish.
    fn drop(&mut self) {
        if !self.finished && !self.reported() {
            self.cancel.cancel();
        }
    }
}

/// Reads at most `limit` bytes of a child's stderr (the rest is drained and dropped).
pub async fn read_stderr(mut stderr: tokio::process::ChildStderr, limit: usize) -> String {
    let mut kept = Vec::new();
    let mut buffer = [0u8; 8192];
    loop {
        match stderr.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = limit.saturating_sub(kept.len());
                kept.extend_from_slice(&buffer[..n.min(room)]);
            }
        }
    }
    String::from_utf8_lossy(&kept).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_closing_flush_is_seen_across_chunks_and_not_inside_payloads() {
        let mut framing = PktFraming::default();
        // A sideband progress line whose payload contains "0000", split mid-header.
        framing.feed(b"00");
        framing.feed(b"11\x02remote: 0000");
        assert!(!framing.flushed, "a 0000 inside a payload is not a flush");
        framing.feed(b"0013\x01000eunpack ok\n");
        assert!(!framing.flushed);
        framing.feed(b"00");
        assert!(!framing.flushed);
        framing.feed(b"00");
        assert!(framing.flushed, "the report's closing flush");

        let mut junk = PktFraming::default();
        junk.feed(b"zzzz0000");
        assert!(
            !junk.flushed,
            "output that is not pkt-lines never counts as reported"
        );
    }

    #[test]
    fn a_closing_report_rejects_the_ref_with_the_reason_in_the_side_band_or_the_report() {
        let refusal = Refusal {
            ref_name: "refs/heads/main".to_owned(),
            reason: "v2 did not answer\nin time".to_owned(),
        };
        let banded = closing_report(&refusal, true);
        let mut framing = PktFraming::default();
        framing.feed(&banded);
        assert!(framing.flushed && !framing.broken);
        assert_eq!(
            framing.first,
            Some(2),
            "the reason comes first, as progress"
        );
        let text = String::from_utf8_lossy(&banded);
        assert!(
            text.contains("\x02error: v2 did not answer in time\n"),
            "{text:?}"
        );
        assert!(
            text.contains("\x01000eunpack ok\n")
                && text.contains("ng refs/heads/main refused by lmnop (see above)\n"),
            "{text:?}"
        );
        assert!(
            text.ends_with("00000000"),
            "the report's flush, then the band's"
        );

        let plain = String::from_utf8_lossy(&closing_report(&refusal, false)).into_owned();
        assert_eq!(
            plain,
            "000eunpack ok\n0031ng refs/heads/main v2 did not answer in time\n0000"
        );
    }

    #[test]
    fn only_version_entries_reach_git() {
        assert_eq!(
            protocol_env(Some("version=2")).as_deref(),
            Some("version=2")
        );
        assert_eq!(
            protocol_env(Some("version=2:object-format=sha1")).as_deref(),
            Some("version=2")
        );
        assert_eq!(protocol_env(Some("version=22")), None);
        assert_eq!(protocol_env(Some("x=$(id)")), None);
        assert_eq!(protocol_env(None), None);
    }
}

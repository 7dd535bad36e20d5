//! Pushes meant to hurt: objects git's fsck refuses (`.git` and `..` in trees, `.gitmodules` that
//! escape or smuggle options), a gzip bomb and a body that never ends. Each ends cleanly, with
//! the branch unmoved and no quarantine left.

use std::io::Write;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::StreamExt;

use crate::gitutil::{WorkTree, git_command, git_ok, ls_remote, pkt_line, quarantines, ref_id};
use crate::support::{ADMIN_PASSWORD, TestApp, spawn_app, spawn_app_with};

/// Runs git with `input` on standard input and returns its trimmed output.
fn git_stdin(work: &WorkTree, args: &[&str], input: &[u8]) -> String {
    let mut child = git_command(&work.path, args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("git runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    let output = child.wait_with_output().expect("git ends");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// A tree object with one entry, written as raw bytes so that git's own checks cannot stop it.
fn raw_tree(work: &WorkTree, mode: &str, name: &str, id: &str) -> String {
    let mut tree = format!("{mode} {name}\0").into_bytes();
    tree.extend_from_slice(&hex::decode(id).expect("hex id"));
    git_stdin(
        work,
        &["hash-object", "-t", "tree", "--literally", "-w", "--stdin"],
        &tree,
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn objects_that_fsck_refuses_are_rejected_and_leave_no_trace() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("fsck");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("a.txt", "a\n");
    let first = work.commit("first");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);

    let blob = git_stdin(&work, &["hash-object", "-w", "--stdin"], b"x\n");
    let hostile_trees = [
        (
            "a tree entry named .git",
            raw_tree(&work, "100644", ".git", &blob),
            "hasDotgit",
        ),
        (
            "a tree entry named ..",
            raw_tree(&work, "100644", "..", &blob),
            "hasDotdot",
        ),
        (
            "a tree entry named .GIT",
            raw_tree(&work, "100644", ".GIT", &blob),
            "hasDotgit",
        ),
    ];
    let gitmodules = [
        (
            "a submodule name that climbs out",
            "[submodule \"../../hooks\"]\n\tpath = sub\n\turl = https://example.com/x\n",
            "gitmodulesName",
        ),
        (
            "a submodule URL that is an option",
            "[submodule \"x\"]\n\tpath = sub\n\turl = --upload-pack=touch /tmp/pwned\n",
            "gitmodulesUrl",
        ),
        (
            "a submodule path that is an option",
            "[submodule \"x\"]\n\tpath = --sub\n\turl = https://example.com/x\n",
            "gitmodulesPath",
        ),
    ];
    let mut cases = Vec::new();
    for (what, tree, check) in hostile_trees {
        cases.push((what, tree, check));
    }
    for (what, text, check) in gitmodules {
        let blob = git_stdin(&work, &["hash-object", "-w", "--stdin"], text.as_bytes());
        cases.push((what, raw_tree(&work, "100644", ".gitmodules", &blob), check));
    }

    for (what, tree, check) in cases {
        let commit = git_ok(
            &work.path,
            &["commit-tree", &tree, "-p", &first, "-m", what],
        );
        let push = work.git(&["push", &url, &format!("{}:refs/heads/dev", commit.trim())]);
        assert!(!push.ok, "{what}: the push is refused");
        assert!(
            push.stderr.contains(check),
            "{what}: git's fsck names the problem ({check}): {}",
            push.stderr
        );
        assert_eq!(
            ref_id(&ls_remote(tmp.path(), &url), "refs/heads/dev"),
            Some(first.clone()),
            "{what}: dev is unchanged"
        );
        assert_eq!(
            quarantines(&app.repos_dir().join("fsck.git")),
            Vec::<String>::new(),
            "{what}"
        );
    }
    app.stop().await;
}

/// The start of a push of `dev` from `old` to a made-up commit: the command, a flush, and the
/// header of a pack whose one blob claims `size` bytes.
fn push_prefix(old: &str, size: u64) -> Vec<u8> {
    let new = "1".repeat(40);
    let mut body = pkt_line(&format!("{old} {new} refs/heads/dev\0report-status\n"));
    body.extend_from_slice(b"0000PACK\0\0\0\x02\0\0\0\x01");
    // Object header: type 3 (blob), then the size 4 bits and 7 bits at a time.
    let mut rest = size >> 4;
    let mut byte = 0x30 | (size & 0x0f) as u8;
    while rest > 0 {
        body.push(byte | 0x80);
        byte = (rest & 0x7f) as u8;
        rest >>= 7;
    }
    body.push(byte);
    body
}

async fn send_receive_pack(app: &TestApp, body: reqwest::Body, gzip: bool) -> Option<String> {
    let mut request = reqwest::Client::new()
        .post(app.url("/scm/limited/git-receive-pack"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Content-Type", "application/x-git-receive-pack-request")
        .timeout(Duration::from_secs(90))
        .body(body);
    if gzip {
        request = request.header("Content-Encoding", "gzip");
    }
    // The server may answer, or close the connection on a body it stopped reading: both are a
    // clean end. A time-out is not.
    match request.send().await {
        Ok(response) => Some(response.text().await.unwrap_or_default()),
        Err(error) => {
            assert!(!error.is_timeout(), "the request hung: {error}");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_bomb_and_an_endless_body_stop_at_the_push_limit() {
    const LIMIT: u64 = 1 << 20;
    let app = spawn_app_with(|config| config.max_push_bytes = LIMIT).await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("limited");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("a.txt", "a\n");
    let first = work.commit("first");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);

    // 64 MiB of pack (a blob stored without compression) in about a tenth of a megabyte of gzip.
    const INFLATED: usize = 64 << 20;
    let mut pack_data = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::none());
    pack_data.write_all(&vec![0; INFLATED]).expect("zlib");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&push_prefix(&first, INFLATED as u64))
        .expect("gzip");
    gzip.write_all(&pack_data.finish().expect("zlib"))
        .expect("gzip");
    let bomb = gzip.finish().expect("gzip");
    assert!(bomb.len() < INFLATED / 50, "a bomb: {} bytes", bomb.len());
    let answer = send_receive_pack(&app, bomb.into(), true).await;
    assert!(
        !answer.as_deref().unwrap_or_default().contains("unpack ok"),
        "{answer:?}"
    );

    // A body that never ends: the server stops reading soon after the limit.
    let sent = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&sent);
    let prefix = bytes::Bytes::from(push_prefix(&first, 1 << 40));
    let zeros = bytes::Bytes::from(vec![0u8; 64 << 10]);
    let endless = futures_util::stream::iter(0u64..).map(move |index| {
        let chunk = if index == 0 {
            prefix.clone()
        } else {
            zeros.clone()
        };
        counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        Ok::<_, std::io::Error>(chunk)
    });
    let answer = send_receive_pack(&app, reqwest::Body::wrap_stream(endless), false).await;
    assert!(
        !answer.as_deref().unwrap_or_default().contains("unpack ok"),
        "{answer:?}"
    );
    let sent = sent.load(Ordering::Relaxed);
    assert!(
        sent < 32 * LIMIT,
        "the server read on well past the limit: {sent} bytes sent"
    );

    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/dev"),
        Some(first),
        "dev is unchanged"
    );
    assert_eq!(
        quarantines(&app.repos_dir().join("limited.git")),
        Vec::<String>::new()
    );
    let health = reqwest::get(app.url("/healthz")).await.expect("healthz");
    assert_eq!(health.status(), 200);
    app.stop().await;
}

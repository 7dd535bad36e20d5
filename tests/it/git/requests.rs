//! Requests git never sends well: invalid repository names and path tricks, dumb-HTTP and
//! internal paths, junk pkt-lines, wrong content types, truncated packs, and gzip bodies.

use std::io::Write as _;

use super::{Pushed, raw_status, repos_on_disk};
use crate::gitutil::{WorkTree, git_ok, pkt_line, quarantines};
use crate::support::{ADMIN_PASSWORD, TestApp, spawn_app};

const RECEIVE: (&str, &str) = ("Content-Type", "application/x-git-receive-pack-request");
const UPLOAD: (&str, &str) = ("Content-Type", "application/x-git-upload-pack-request");

/// The server still answers `/healthz`.
async fn assert_healthy(app: &TestApp) {
    assert_eq!(
        reqwest::get(app.url("/healthz"))
            .await
            .expect("healthz")
            .status(),
        200
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_repository_names_and_path_tricks_are_refused_without_creating_anything() {
    let app = spawn_app().await;
    let long = "a".repeat(64);
    let names = [
        "..",
        "../x",
        "a/b",
        "App",
        "-x",
        "x-",
        long.as_str(),
        "%2e%2e",
        "a%2fb",
        "a;id",
        "a%00b",
        "a\\b",
        "%EF%BD%81",
    ];
    for name in names {
        for path in [
            format!("/scm/{name}/info/refs?service=git-receive-pack"),
            format!("/scm/{name}/git-receive-pack"),
        ] {
            let method = if path.ends_with("receive-pack") {
                "POST"
            } else {
                "GET"
            };
            let status = raw_status(&app, method, &path, b"0000", &[RECEIVE]);
            assert!((400..500).contains(&status), "{path} answered {status}");
        }
    }
    assert!(repos_on_disk(&app).is_empty(), "{:?}", repos_on_disk(&app));
    assert!(!app.state.config.data_dir.path().join("x").exists());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invalid_repository_name_is_answered_with_the_naming_rule() {
    let app = spawn_app().await;
    let response = reqwest::Client::new()
        .get(app.url("/scm/App/info/refs?service=git-receive-pack"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 400);
    assert!(
        response
            .text()
            .await
            .expect("body")
            .contains("lowercase letters")
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn dumb_http_files_and_repository_internals_are_not_served() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.commit("first");
    git_ok(
        &work.path,
        &["push", "-q", &app.admin_url("real"), "main:dev"],
    );
    for path in [
        "/scm/real/objects/info/alternates",
        "/scm/real/config",
        "/scm/real/HEAD",
        "/scm/real//info/refs",
        "/scm/real/info/refs",
        "/scm//real/info/refs",
    ] {
        let status = raw_status(&app, "GET", path, b"", &[]);
        assert!(status == 404 || status == 400, "{path} answered {status}");
    }
    assert_eq!(repos_on_disk(&app), ["real.git"]);
    assert!(!app.state.config.data_dir.path().join("x").exists());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn junk_pkt_lines_are_answered_cleanly_and_change_nothing() {
    let pushed = Pushed::to_dev("solid").await;
    let app = &pushed.app;
    // Bad lengths, no flush, binary noise.
    for body in [
        &b"zzzzjunk"[..],
        b"0004",
        b"ffff",
        b"0009abc",
        &[0u8, 159, 146, 150, 7, 7],
    ] {
        let status = raw_status(app, "POST", "/scm/solid/git-receive-pack", body, &[RECEIVE]);
        assert!(status < 500, "receive-pack {body:?}: {status}");
        let status = raw_status(app, "POST", "/scm/solid/git-upload-pack", body, &[UPLOAD]);
        assert!(status < 500, "upload-pack {body:?}: {status}");
    }
    assert_eq!(
        pushed.remote_ref("refs/heads/dev"),
        Some(pushed.first.clone()),
        "dev is unchanged"
    );
    let leftovers = quarantines(&app.repos_dir().join("solid.git"));
    assert!(leftovers.is_empty(), "no quarantine left: {leftovers:?}");
    assert_healthy(app).await;
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_receive_pack_with_the_wrong_content_type_is_refused_with_415() {
    let pushed = Pushed::to_dev("solid").await;
    assert_eq!(
        raw_status(
            &pushed.app,
            "POST",
            "/scm/solid/git-receive-pack",
            b"0000",
            &[UPLOAD]
        ),
        415
    );
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_pack_leaves_the_branch_unchanged_and_no_quarantine() {
    let pushed = Pushed::to_dev("solid").await;
    let (app, work, first) = (&pushed.app, &pushed.work, &pushed.first);
    // A real update command, then half a pack.
    let second = pushed.second_commit();
    let pack = std::process::Command::new("git")
        .args(["pack-objects", "--stdout", "--revs"])
        .current_dir(&work.path)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(format!("{second}\n^{first}\n").as_bytes())?;
            child.wait_with_output()
        })
        .expect("pack-objects");
    let mut body = pkt_line(&format!("{first} {second} refs/heads/dev\0report-status\n"));
    body.extend_from_slice(b"0000");
    body.extend_from_slice(&pack.stdout[..pack.stdout.len() / 2]);
    raw_status(
        app,
        "POST",
        "/scm/solid/git-receive-pack",
        &body,
        &[RECEIVE],
    );

    assert_eq!(
        pushed.remote_ref("refs/heads/dev"),
        Some(first.clone()),
        "dev is unchanged"
    );
    let leftovers = quarantines(&app.repos_dir().join("solid.git"));
    assert!(leftovers.is_empty(), "quarantine removed: {leftovers:?}");
    assert_healthy(app).await;
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_request_bodies_are_accepted() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("zipped");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("a.txt", "a\n");
    let head = work.commit("first");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);

    let mut request = pkt_line(&format!("want {head} ofs-delta\n"));
    request.extend_from_slice(b"0000");
    request.extend_from_slice(&pkt_line("done\n"));
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(&request).expect("gzip");
    let compressed = encoder.finish().expect("gzip");
    let response = reqwest::Client::new()
        .post(app.url("/scm/zipped/git-upload-pack"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("Content-Type", "application/x-git-upload-pack-request")
        .header("Content-Encoding", "gzip")
        .body(compressed)
        .send()
        .await
        .expect("request");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-git-upload-pack-result"
    );
    let body = response.bytes().await.expect("body");
    assert!(body.windows(4).any(|w| w == b"PACK"), "a pack comes back");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn git_s_probe_before_a_large_push_touches_no_repository() {
    let app = spawn_app().await;
    // Held, as by a push in progress: the probe needs no lock and creates nothing.
    let _held = app.state.push_locks.lock("probed").await;
    let probe = reqwest::Client::new()
        .post(app.url("/scm/probed/git-receive-pack"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .header("content-type", "application/x-git-receive-pack-request")
        .body("0000")
        .send();
    let response = tokio::time::timeout(std::time::Duration::from_secs(10), probe)
        .await
        .expect("the probe waits for no push")
        .expect("answers");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/x-git-receive-pack-result"
    );
    assert_eq!(response.text().await.expect("body"), "");
    assert!(repos_on_disk(&app).is_empty(), "{:?}", repos_on_disk(&app));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_push_larger_than_git_s_post_buffer_goes_through_its_probe() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    // Text that does not compress, so the pack is larger than the post buffer.
    let noise: String = (0u64..20_000)
        .map(|i| format!("{:016x}\n", i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
        .collect();
    work.write("big.txt", &noise);
    work.commit("big");
    let push = work.git(&[
        "-c",
        "http.postBuffer=1024",
        "push",
        &app.admin_url("large"),
        "main:dev",
    ]);
    assert!(push.ok, "{}", push.stderr);
    assert_eq!(repos_on_disk(&app), ["large.git"]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_partial_clone_fetches_old_blobs_only_when_they_are_needed() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("notes.txt", "first version\n");
    work.commit("one");
    work.write("notes.txt", "second version\n");
    work.commit("two");
    let url = app.admin_url("partial");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);
    for version in ["0", "2"] {
        let clone = tmp.path().join(format!("clone-v{version}"));
        let cloned = crate::gitutil::git(
            tmp.path(),
            &[
                "-c",
                &format!("protocol.version={version}"),
                "clone",
                "--filter=blob:none",
                "--branch",
                "dev",
                &url,
                clone.to_str().expect("utf-8 path"),
            ],
        );
        assert!(cloned.ok, "v{version}: {}", cloned.stderr);
        assert!(
            !cloned.stderr.contains("filtering not recognized"),
            "v{version}: the filter is honoured: {}",
            cloned.stderr
        );
        let missing = git_ok(
            &clone,
            &["rev-list", "--objects", "--missing=print", "HEAD~1"],
        );
        assert!(
            missing.lines().any(|line| line.starts_with('?')),
            "v{version}: the old blob was left out: {missing}"
        );
        // Checking out the old commit fetches its blob lazily.
        let checkout = crate::gitutil::git(
            &clone,
            &[
                "-c",
                &format!("protocol.version={version}"),
                "checkout",
                "-q",
                "HEAD~1",
            ],
        );
        assert!(checkout.ok, "v{version}: {}", checkout.stderr);
        assert_eq!(
            std::fs::read_to_string(clone.join("notes.txt")).expect("checked out"),
            "first version\n"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn git_archive_remote_returns_the_tree_to_those_who_may_read_it() {
    let app = spawn_app().await;
    app.add_user("mallory", "mallory-password-1").await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("notes.txt", "archived\n");
    work.write("sub/more.txt", "more\n");
    work.commit("one");
    let url = app.admin_url("archived");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);
    let tar = tmp.path().join("out.tar");
    let archive = crate::gitutil::git(
        &work.path,
        &[
            "-c",
            "protocol.version=2",
            "archive",
            "--format=tar",
            "-o",
            tar.to_str().expect("utf-8 path"),
            &format!("--remote={url}"),
            "dev",
        ],
    );
    assert!(archive.ok, "{}", archive.stderr);
    let listed = std::process::Command::new("tar")
        .arg("tf")
        .arg(&tar)
        .output()
        .expect("tar");
    assert_eq!(
        String::from_utf8_lossy(&listed.stdout),
        "notes.txt\nsub/\nsub/more.txt\n"
    );
    // Another member does not see the repository, archive or not.
    let other = app.git_url("mallory", "mallory-password-1", "archived");
    let refused = crate::gitutil::git(
        &work.path,
        &[
            "archive",
            "--format=tar",
            &format!("--remote={other}"),
            "dev",
        ],
    );
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains("404") || refused.stderr.contains("not found"),
        "{}",
        refused.stderr
    );
    app.stop().await;
}

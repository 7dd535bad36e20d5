//! git over smart HTTP with the real `git` client: push, clone, fetch, refusals, concurrency and
//! malformed input.

use std::io::{Read, Write};
use std::time::Duration;

use crate::gitutil::{WorkTree, git, git_ok, ls_remote, pkt_line, quarantines, ref_id};
use crate::support::{ADMIN_PASSWORD, TestApp, spawn_app};

/// Repositories on disk (names of `repos/*.git`).
fn repos_on_disk(app: &TestApp) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(app.repos_dir())
        .expect("repos dir")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn push_clone_fetch_tags_force_and_shallow() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("hello");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("README.md", "hello\n")
        .write("src/app.py", "print('hi')\n");
    let first = work.commit("first");
    let push = work.git(&["push", &url, "main:dev"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("remote: -----> branch dev stored"),
        "{}",
        push.stderr
    );
    assert!(push.stderr.contains("only main deploys"), "{}", push.stderr);

    // Clone (also with the .git suffix): the content equals what was pushed.
    git_ok(
        tmp.path(),
        &["clone", "-q", "-b", "dev", &format!("{url}.git"), "clone"],
    );
    let cloned = tmp.path().join("clone");
    assert_eq!(
        std::fs::read_to_string(cloned.join("src/app.py")).expect("file"),
        "print('hi')\n"
    );
    assert_eq!(git_ok(&cloned, &["rev-parse", "HEAD"]).trim(), first);

    // A second commit and a tag; fetch brings both.
    work.write("README.md", "hello again\n");
    let second = work.commit("second");
    git_ok(&work.path, &["tag", "v1"]);
    git_ok(&work.path, &["push", "-q", &url, "main:dev", "v1"]);
    git_ok(&cloned, &["fetch", "-q", "--tags", "origin"]);
    assert_eq!(git_ok(&cloned, &["rev-parse", "origin/dev"]).trim(), second);
    assert_eq!(
        git_ok(&cloned, &["rev-parse", "v1^{commit}"]).trim(),
        second
    );

    // Force push rewinds the branch.
    git_ok(&work.path, &["reset", "-q", "--hard", &first]);
    let rejected = work.git(&["push", &url, "main:dev"]);
    assert!(!rejected.ok, "a non-fast-forward needs --force");
    git_ok(&work.path, &["push", "-q", "--force", &url, "main:dev"]);
    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/dev"),
        Some(first.clone())
    );

    // Shallow clone over protocol v2 and v0.
    for protocol in ["2", "0"] {
        let dir = format!("shallow-v{protocol}");
        git_ok(
            tmp.path(),
            &[
                "-c",
                &format!("protocol.version={protocol}"),
                "clone",
                "-q",
                "--depth",
                "1",
                "-b",
                "dev",
                &url,
                &dir,
            ],
        );
        let count = git_ok(&tmp.path().join(&dir), &["rev-list", "--count", "HEAD"]);
        assert_eq!(count.trim(), "1");
    }

    // Another branch can be deleted.
    git_ok(&work.path, &["push", "-q", &url, "main:feature"]);
    let deleted = work.git(&["push", &url, ":feature"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains("branch feature deleted"),
        "{}",
        deleted.stderr
    );
    let refs = ls_remote(tmp.path(), &url);
    assert_eq!(ref_id(&refs, "refs/heads/feature"), None);
    assert_eq!(ref_id(&refs, "refs/tags/v1"), Some(second));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_deploy_branch_needs_function_yml_and_cannot_be_deleted() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("web");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("index.html", "<h1>hi</h1>\n");
    let stored = work.commit("no function.yml");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);

    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok);
    assert!(
        push.stderr
            .contains("error: function.yml is missing at the root of main"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("template: python3.12"),
        "shows an example: {}",
        push.stderr
    );
    // The installed templates, as loaded, not a list written into the message.
    let installed = lmnop::build::templates::Templates::load(&app.state.config.templates_dir);
    assert!(
        push.stderr
            .contains(&format!("Templates: {}.", installed.names().join(", "))),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("pre-receive hook declined"),
        "{}",
        push.stderr
    );

    // --atomic with one bad ref: nothing is updated.
    work.write("more.txt", "x\n");
    let next = work.commit("more");
    let atomic = work.git(&["push", "--atomic", &url, "main:dev", "main:main"]);
    assert!(!atomic.ok);
    let refs = ls_remote(tmp.path(), &url);
    assert_eq!(
        ref_id(&refs, "refs/heads/dev"),
        Some(stored.clone()),
        "dev kept its old id"
    );
    assert_eq!(ref_id(&refs, "refs/heads/main"), None);
    assert_ne!(stored, next);

    // With function.yml the push gets as far as the build step (which cannot pull the
    // template's default base image here, so the branch stays where it was).
    work.write("function.yml", "template: python3.12\n");
    work.write("function/entrypoint", "#!/bin/sh\n");
    work.commit("add function.yml");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok);
    assert!(
        push.stderr.contains("template python3.12, 1 to 1 replicas"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("-----> Building web v1"),
        "{}",
        push.stderr
    );
    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/main"),
        None
    );

    // Refs outside branches and tags are refused.
    let notes = work.git(&["push", &url, "main:refs/notes/x"]);
    assert!(!notes.ok);
    assert!(
        notes.stderr.contains("not a branch or a tag"),
        "{}",
        notes.stderr
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_the_deploy_branch_is_refused() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("keep");
    let work = WorkTree::new(tmp.path(), "work");
    work.commit("first");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);
    // Put a main branch in place behind lmnop's back, as a deploy would.
    let repo = app.repos_dir().join("keep.git");
    git_ok(&repo, &["update-ref", "refs/heads/main", &work.head()]);
    let delete = work.git(&["push", &url, ":main"]);
    assert!(!delete.ok);
    assert!(
        delete.stderr.contains("refusing to delete main"),
        "{}",
        delete.stderr
    );
    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/main"),
        Some(work.head())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_credentials_are_refused_and_nothing_is_written() {
    let app = spawn_app().await;
    app.add_user("mallory", "mallory-password").await;
    app.state
        .accounts
        .set_state(
            "mallory",
            lmnop::db::users::UserState::Disabled,
            &lmnop::accounts::Actor::cli(),
        )
        .await
        .expect("disable");
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.commit("first");
    let address = app.address;
    let cases = [
        (
            format!("http://admin:wrong-password@{address}/scm/app"),
            "401",
        ),
        (
            format!("http://nobody:whatever-pw@{address}/scm/app"),
            "401",
        ),
        (format!("http://{address}/scm/app"), "401"),
        (app.git_url("mallory", "mallory-password", "app"), "403"),
    ];
    for (url, status) in &cases {
        let push = work.git(&["push", url, "main:dev"]);
        assert!(!push.ok, "{url}");
        let clone = git(tmp.path(), &["clone", url, "never"]);
        assert!(!clone.ok);
        if *status == "403" {
            assert!(
                push.stderr.contains("403") || push.stderr.contains("disabled"),
                "{}",
                push.stderr
            );
        }
    }
    assert!(repos_on_disk(&app).is_empty(), "{:?}", repos_on_disk(&app));

    // The raw answers: 401 with a challenge, 403 for the disabled account.
    let client = reqwest::Client::new();
    let url = app.url("/scm/app/info/refs?service=git-receive-pack");
    let anonymous = client.get(&url).send().await.expect("request");
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().get("www-authenticate").is_some());
    let disabled = client
        .get(&url)
        .basic_auth("mallory", Some("mallory-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(disabled.status(), 403);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_push_and_other_users_cannot_see_the_repository() {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    app.add_user("bob", "bob-password").await;
    let token = app
        .state
        .accounts
        .create_token("alice", "git", &lmnop::accounts::Actor::cli())
        .await
        .expect("token");
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.commit("first");
    let alice = app.git_url("alice", token.expose(), "alices");
    git_ok(&work.path, &["push", "-q", &alice, "main:dev"]);

    let bob = app.git_url("bob", "bob-password", "alices");
    let clone = git(tmp.path(), &["clone", &bob, "bobs"]);
    assert!(!clone.ok);
    assert!(
        clone.stderr.contains("404") || clone.stderr.contains("not found"),
        "{}",
        clone.stderr
    );
    assert!(
        !work.git(&["push", &bob, "main:other"]).ok,
        "bob cannot push"
    );

    // The admin can.
    git_ok(
        tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "dev",
            &app.admin_url("alices"),
            "admins",
        ],
    );
    app.stop().await;
}

/// Sends a raw HTTP/1.1 request (paths exactly as given) and returns the status code.
fn raw_status(
    app: &TestApp,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> u16 {
    use base64::Engine;
    let mut stream = std::net::TcpStream::connect(app.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Basic {auth}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    stream.write_all(body).expect("send body");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response);
    text.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("no HTTP status in {text:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_names_and_path_tricks_are_refused_without_creating_anything() {
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
            let status = raw_status(
                &app,
                method,
                &path,
                b"0000",
                &[("Content-Type", "application/x-git-receive-pack-request")],
            );
            assert!((400..500).contains(&status), "{path} answered {status}");
        }
    }
    // The rule is stated.
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

    // Dumb-HTTP files and repository internals are not served.
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
async fn concurrent_pushes_to_one_repository_all_end_cleanly() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("busy");
    let seed = WorkTree::new(tmp.path(), "seed");
    seed.commit("seed");
    git_ok(&seed.path, &["push", "-q", &url, "main:dev"]);

    let mut pushes = Vec::new();
    for i in 0..5 {
        let dir = tmp.path().to_owned();
        let url = url.clone();
        pushes.push(std::thread::spawn(move || {
            let work = WorkTree::new(&dir, &format!("w{i}"));
            work.write("n.txt", &i.to_string());
            let id = work.commit(&format!("push {i}"));
            let push = work.git(&["push", &url, &format!("main:b{i}")]);
            (i, id, push)
        }));
    }
    let refs_expected: Vec<(usize, String)> = pushes
        .into_iter()
        .map(|handle| {
            let (i, id, push) = handle.join().expect("push thread");
            assert!(push.ok, "push {i}: {}", push.stderr);
            (i, id)
        })
        .collect();
    let refs = ls_remote(tmp.path(), &url);
    for (i, id) in refs_expected {
        assert_eq!(ref_id(&refs, &format!("refs/heads/b{i}")), Some(id));
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_waiting_on_one_repository_does_not_hold_up_another() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.commit("first");
    // Hold repository a's push lock, as a long build would.
    let held = app.state.push_locks.lock("slow").await;
    let slow_url = app.admin_url("slow");
    let dir = work.path.clone();
    let slow =
        std::thread::spawn(move || crate::gitutil::git(&dir, &["push", &slow_url, "main:dev"]));

    let fast = work.git(&["push", &app.admin_url("fast"), "main:dev"]);
    assert!(fast.ok, "{}", fast.stderr);
    assert!(!slow.is_finished(), "the push to the held repository waits");
    drop(held);
    let slow = slow.join().expect("slow push");
    assert!(
        slow.ok,
        "and completes once the lock is free: {}",
        slow.stderr
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_requests_and_truncated_packs_end_cleanly() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("solid");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("a.txt", "a\n");
    let first = work.commit("first");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);

    let receive = ("Content-Type", "application/x-git-receive-pack-request");
    let upload = ("Content-Type", "application/x-git-upload-pack-request");
    // Junk pkt-lines: bad lengths, no flush, binary noise.
    for body in [
        &b"zzzzjunk"[..],
        b"0004",
        b"ffff",
        b"0009abc",
        &[0u8, 159, 146, 150, 7, 7],
    ] {
        let status = raw_status(
            &app,
            "POST",
            "/scm/solid/git-receive-pack",
            body,
            &[receive],
        );
        assert!(
            status < 500 || status == 200,
            "receive-pack {body:?}: {status}"
        );
        let status = raw_status(&app, "POST", "/scm/solid/git-upload-pack", body, &[upload]);
        assert!(
            status < 500 || status == 200,
            "upload-pack {body:?}: {status}"
        );
    }
    // A wrong content type is refused outright.
    assert_eq!(
        raw_status(
            &app,
            "POST",
            "/scm/solid/git-receive-pack",
            b"0000",
            &[upload]
        ),
        415
    );

    // A truncated pack: a real update command, then half a pack.
    work.write("b.txt", "b\n");
    let second = work.commit("second");
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
        &app,
        "POST",
        "/scm/solid/git-receive-pack",
        &body,
        &[receive],
    );

    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/dev"),
        Some(first),
        "dev is unchanged"
    );
    let leftovers = quarantines(&app.repos_dir().join("solid.git"));
    assert!(leftovers.is_empty(), "quarantine removed: {leftovers:?}");
    // The server is fine.
    assert_eq!(
        reqwest::get(app.url("/healthz"))
            .await
            .expect("healthz")
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn gzip_request_bodies_are_accepted() {
    use std::io::Write as _;
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
async fn a_bad_function_yml_gets_field_specific_errors_before_any_build() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("checked");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("function/entrypoint", "#!/bin/sh\n");
    let bomb = "a: &a [\"x\",\"x\"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\ntemplate: python3.12\n";
    let cases: &[(&str, &str)] = &[
        (
            "template: python3.12\nscaling: {min: two}\n",
            "line 2, scaling.min",
        ),
        ("tempalte: python3.12\n", "did you mean `template`"),
        (
            "template: python3.12\nlimits: {memory: 8Gi}\n",
            "line 2, limits.memory",
        ),
        ("template: cobol\n", "unknown template `cobol`"),
        ("template: ../x\n", "template"),
        (bomb, "anchors and aliases"),
        (
            "template: python3.12\nsecrets: [db-password]\n",
            "secret `db-password` does not exist",
        ),
    ];
    for (content, expected) in cases {
        work.write("function.yml", content);
        work.commit("try");
        let push = work.git(&["push", &url, "main"]);
        assert!(!push.ok, "{content}");
        assert!(
            push.stderr.contains(expected),
            "{content:?}: expected {expected:?} in\n{}",
            push.stderr
        );
        assert!(
            !push.stderr.contains("-----> Building"),
            "stopped before the build: {}",
            push.stderr
        );
    }
    // Once the secret exists, the same file passes the check.
    app.state
        .secrets()
        .set(
            &lmnop::domain::SecretName::parse("db-password").expect("name"),
            &lmnop::domain::Secret::new("pw"),
        )
        .expect("set secret");
    work.write(
        "function.yml",
        "template: python3.12\nsecrets: [db-password]\n",
    );
    work.commit("with secret");
    let push = work.git(&["push", &url, "main"]);
    assert!(
        push.stderr.contains("template python3.12"),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("does not exist"), "{}", push.stderr);
    assert!(!push.stderr.contains("pw"), "{}", push.stderr);

    // A file the template needs is missing.
    std::fs::remove_file(work.path.join("function/entrypoint")).expect("rm");
    work.write("function.yml", "template: python3.12\n");
    work.commit("no entrypoint");
    let push = work.git(&["push", &url, "main"]);
    assert!(
        push.stderr
            .contains("the python3.12 template needs function/entrypoint"),
        "{}",
        push.stderr
    );
    assert!(
        repos_on_disk(&app).is_empty(),
        "every push was rejected: no repository is left"
    );
    app.stop().await;
}

/// Successful `GET …/info/refs` answers so far, from `/metrics`.
async fn ref_advertisements(app: &TestApp) -> u64 {
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .expect("metrics")
        .text()
        .await
        .expect("text");
    metrics
        .lines()
        .filter(|line| {
            line.starts_with("lmnop_http_requests_total")
                && line.contains("route=\"/scm/{repo}/info/refs\"")
                && line.contains("status=\"200\"")
        })
        .filter_map(|line| line.rsplit(' ').next()?.parse::<u64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_overtaken_while_it_waited_is_refused_before_anything_runs() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("raced");
    let work = WorkTree::new(tmp.path(), "work");
    let first = work.commit("first");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);
    let other = WorkTree::new(tmp.path(), "other");
    other.write("theirs.txt", "theirs\n");
    let theirs = other.commit("theirs");
    git_ok(&other.path, &["push", "-q", &url, "main:theirs"]);
    work.write("mine.txt", "mine\n");
    work.commit("mine");

    // The push reads the refs (dev at `first`), then waits for the repository's lock while
    // another push moves dev.
    let seen = ref_advertisements(&app).await;
    let held = app.state.push_locks.lock("raced").await;
    let (dir, push_url) = (work.path.clone(), url.clone());
    let waiting =
        std::thread::spawn(move || git(&dir, &["push", "--force", &push_url, "main:dev"]));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while ref_advertisements(&app).await == seen {
        assert!(
            std::time::Instant::now() < deadline,
            "the push never read the refs"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    git_ok(
        &app.repos_dir().join("raced.git"),
        &["update-ref", "refs/heads/dev", &theirs, &first],
    );
    drop(held);
    let push = waiting.join().expect("push thread");
    assert!(!push.ok, "{}", push.stdout);
    assert!(
        push.stderr.contains(&format!(
            "dev moved from {} to {} by another push while this one waited",
            &first[..7],
            &theirs[..7]
        )),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("fetch and push again"),
        "{}",
        push.stderr
    );
    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/dev"),
        Some(theirs),
        "dev stays where the other push put it"
    );
    app.stop().await;
}

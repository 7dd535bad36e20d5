//! git over smart HTTP with the real `git` client: push, clone, fetch, branches and the deploy
//! branch, and concurrent pushes here; who may push and clone in [`access`], refused and
//! malformed requests in [`requests`], and the checks of function.yml in [`function_yml`].

mod access;
mod function_yml;
mod requests;

use crate::gitutil::{GitRun, WorkTree, git, git_ok, ls_remote, ref_id};
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

/// Sends a raw HTTP/1.1 request (paths exactly as given) as the admin and returns the status
/// code.
fn raw_status(
    app: &TestApp,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> u16 {
    use base64::Engine;
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: test\r\nAuthorization: Basic {auth}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    let (status, answer) = crate::support::raw_http(app.address, &bytes);
    assert_ne!(status, 0, "no HTTP status in {answer:?}");
    status
}

/// A server with the repository `repo` whose `dev` branch holds one commit (README.md and
/// src/app.py), pushed by the admin from the `main` of `work`.
struct Pushed {
    app: TestApp,
    tmp: tempfile::TempDir,
    work: WorkTree,
    /// The admin's git URL of the repository.
    url: String,
    /// The commit on dev.
    first: String,
    /// The push that stored it.
    push: GitRun,
}

impl Pushed {
    async fn to_dev(repo: &str) -> Self {
        let app = spawn_app().await;
        let tmp = tempfile::tempdir().expect("tmp");
        let url = app.admin_url(repo);
        let work = WorkTree::new(tmp.path(), "work");
        work.write("README.md", "hello\n")
            .write("src/app.py", "print('hi')\n");
        let first = work.commit("first");
        let push = work.git(&["push", &url, "main:dev"]);
        assert!(push.ok, "{}", push.stderr);
        Self {
            app,
            tmp,
            work,
            url,
            first,
            push,
        }
    }

    /// A second commit on main (README.md changed), not pushed.
    fn second_commit(&self) -> String {
        self.work.write("README.md", "hello again\n");
        self.work.commit("second")
    }

    /// The id of `name` in the repository, from `git ls-remote`.
    fn remote_ref(&self, name: &str) -> Option<String> {
        ref_id(&ls_remote(self.tmp.path(), &self.url), name)
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_to_a_branch_other_than_main_is_stored_and_not_deployed() {
    let pushed = Pushed::to_dev("hello").await;
    let stderr = &pushed.push.stderr;
    assert!(
        stderr.contains("remote: -----> branch dev stored"),
        "{stderr}"
    );
    assert!(stderr.contains("only main deploys"), "{stderr}");
    assert_eq!(pushed.remote_ref("refs/heads/dev"), Some(pushed.first));
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clone_through_the_git_suffix_has_what_was_pushed() {
    let pushed = Pushed::to_dev("hello").await;
    let dir = pushed.tmp.path();
    git_ok(
        dir,
        &[
            "clone",
            "-q",
            "-b",
            "dev",
            &format!("{}.git", pushed.url),
            "clone",
        ],
    );
    let cloned = dir.join("clone");
    assert_eq!(
        std::fs::read_to_string(cloned.join("src/app.py")).expect("file"),
        "print('hi')\n"
    );
    assert_eq!(git_ok(&cloned, &["rev-parse", "HEAD"]).trim(), pushed.first);
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn fetch_brings_new_commits_and_tags() {
    let pushed = Pushed::to_dev("hello").await;
    let (dir, url) = (pushed.tmp.path(), &pushed.url);
    git_ok(dir, &["clone", "-q", "-b", "dev", url, "clone"]);
    let cloned = dir.join("clone");
    let second = pushed.second_commit();
    git_ok(&pushed.work.path, &["tag", "v1"]);
    git_ok(&pushed.work.path, &["push", "-q", url, "main:dev", "v1"]);
    git_ok(&cloned, &["fetch", "-q", "--tags", "origin"]);
    assert_eq!(git_ok(&cloned, &["rev-parse", "origin/dev"]).trim(), second);
    assert_eq!(
        git_ok(&cloned, &["rev-parse", "v1^{commit}"]).trim(),
        second
    );
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_non_fast_forward_push_needs_force_and_a_forced_one_rewinds_the_branch() {
    let pushed = Pushed::to_dev("hello").await;
    let (work, url) = (&pushed.work, &pushed.url);
    pushed.second_commit();
    git_ok(&work.path, &["push", "-q", url, "main:dev"]);
    git_ok(&work.path, &["reset", "-q", "--hard", &pushed.first]);
    let rejected = work.git(&["push", url, "main:dev"]);
    assert!(!rejected.ok, "a non-fast-forward needs --force");
    git_ok(&work.path, &["push", "-q", "--force", url, "main:dev"]);
    assert_eq!(
        pushed.remote_ref("refs/heads/dev"),
        Some(pushed.first.clone())
    );
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn shallow_clones_work_over_protocol_v2_and_v0() {
    let pushed = Pushed::to_dev("hello").await;
    // Two commits on dev, so that a depth of 1 leaves one out.
    pushed.second_commit();
    git_ok(&pushed.work.path, &["push", "-q", &pushed.url, "main:dev"]);
    for protocol in ["2", "0"] {
        let dir = format!("shallow-v{protocol}");
        git_ok(
            pushed.tmp.path(),
            &[
                "-c",
                &format!("protocol.version={protocol}"),
                "clone",
                "-q",
                "--depth",
                "1",
                "-b",
                "dev",
                &pushed.url,
                &dir,
            ],
        );
        let count = git_ok(
            &pushed.tmp.path().join(&dir),
            &["rev-list", "--count", "HEAD"],
        );
        assert_eq!(count.trim(), "1", "protocol v{protocol}");
    }
    pushed.app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_other_than_main_can_be_deleted_and_tags_stay() {
    let pushed = Pushed::to_dev("hello").await;
    let (work, url) = (&pushed.work, &pushed.url);
    let second = pushed.second_commit();
    git_ok(&work.path, &["tag", "v1"]);
    git_ok(&work.path, &["push", "-q", url, "main:feature", "v1"]);
    let deleted = work.git(&["push", url, ":feature"]);
    assert!(deleted.ok, "{}", deleted.stderr);
    assert!(
        deleted.stderr.contains("branch feature deleted"),
        "{}",
        deleted.stderr
    );
    let refs = ls_remote(pushed.tmp.path(), url);
    assert_eq!(ref_id(&refs, "refs/heads/feature"), None);
    assert_eq!(ref_id(&refs, "refs/tags/v1"), Some(second));
    pushed.app.stop().await;
}

/// A server with the repository `web` whose dev branch holds a static page and no
/// function.yml; returns the app, the temp dir, the admin's URL, the work tree and the commit
/// on dev.
async fn web_without_function_yml() -> (TestApp, tempfile::TempDir, String, WorkTree, String) {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url("web");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("index.html", "<h1>hi</h1>\n");
    let stored = work.commit("no function.yml");
    git_ok(&work.path, &["push", "-q", &url, "main:dev"]);
    (app, tmp, url, work, stored)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_to_main_without_function_yml_is_refused_with_an_example_and_the_templates() {
    let (app, _tmp, url, work, _) = web_without_function_yml().await;
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
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_atomic_push_with_one_refused_ref_updates_nothing() {
    let (app, tmp, url, work, stored) = web_without_function_yml().await;
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
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn with_function_yml_a_push_to_main_gets_as_far_as_the_build() {
    let (app, tmp, url, work, _) = web_without_function_yml().await;
    // The build cannot pull the template's default base image here, so the branch stays
    // where it was.
    work.write("function.yml", "template: python3.12\n");
    work.write("function/entrypoint", "#!/bin/sh\n");
    crate::deploy_support::make_executable(&work, "function/entrypoint");
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
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn refs_outside_branches_and_tags_are_refused() {
    let (app, _tmp, url, work, _) = web_without_function_yml().await;
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
    let slow = std::thread::spawn(move || git(&dir, &["push", &slow_url, "main:dev"]));

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
    let push = app
        .push_overtaken(
            &work.path,
            &["push", "--force", &url, "main:dev"],
            "raced",
            ["refs/heads/dev", &theirs, &first],
        )
        .await;
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

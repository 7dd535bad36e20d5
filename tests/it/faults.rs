//! Faults in a deploy push's last steps, injected on real parts (git's ref update, a PostgreSQL
//! server of the test's own) with the fake builder and runtime. Each test checks the same four
//! things: what the pusher saw, that the previous release answered throughout (a poller), where
//! the branch is, and how the release is recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde_json::Value;

use crate::deploy_support::python_function;
use crate::gitutil::{WorkTree, ls_remote, ref_id};
use crate::private_postgres::PrivatePostgres;
use crate::support::{ADMIN_PASSWORD, TestApp, spawn_fake_app, spawn_fake_app_with};

/// Asks the function for its answer every 20 ms and keeps every answer that is not `expected`.
pub struct Poller {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Vec<String>)>,
}

impl Poller {
    pub fn start(app: &TestApp, name: &str, expected: &'static str) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let url = app.url(&format!("/function/{name}/"));
        let task = {
            let stop = stop.clone();
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let (mut answers, mut wrong) = (0, Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let answer = match client.get(&url).send().await {
                        Ok(response) => format!(
                            "{} {}",
                            response.status().as_u16(),
                            response.text().await.unwrap_or_default()
                        ),
                        Err(error) => format!("error {error}"),
                    };
                    if answer != format!("200 {expected}") {
                        wrong.push(answer);
                    }
                    answers += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                (answers, wrong)
            })
        };
        Self { stop, task }
    }

    /// Stops and asserts every answer was the expected one.
    pub async fn assert_steady(self) {
        self.stop.store(true, Ordering::Relaxed);
        let (answers, wrong) = self.task.await.expect("poller");
        assert!(answers > 5, "the poller ran ({answers} answers)");
        assert!(
            wrong.is_empty(),
            "the previous release answered throughout; also got {wrong:?}"
        );
    }
}

/// A server on the fake seams whose database is a PostgreSQL server of the test's own.
async fn app_on_private_postgres() -> Option<(PrivatePostgres, TestApp)> {
    let postgres = PrivatePostgres::start()?;
    let url = postgres.url();
    let app = spawn_fake_app_with(|config| {
        config.database = lmnop::config::DatabaseConfig {
            url: lmnop::domain::Secret::new(url),
        };
    })
    .await;
    Some((postgres, app))
}

async fn first_release(app: &TestApp, work: &WorkTree, name: &str) -> String {
    crate::pipeline::first_release(app, work, name, "").await
}

/// Pushes `main` (whose build takes a few seconds, see `FAKE_SLOW_FILE`) and brings `fault`
/// about 1.5 s into it, while the build runs.
fn push_with_fault_mid_build(
    work: &WorkTree,
    url: &str,
    fault: impl FnOnce() + Send,
) -> crate::gitutil::GitRun {
    std::thread::scope(|scope| {
        scope.spawn(|| {
            std::thread::sleep(Duration::from_millis(1500));
            fault();
        });
        work.git(&["push", url, "main"])
    })
}

/// The function's releases as the API shows them, newest first.
pub async fn releases(app: &TestApp, name: &str) -> Vec<Value> {
    let response = reqwest::Client::new()
        .get(app.url(&format!("/api/v1/functions/{name}")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(response.status(), 200);
    let detail: Value = response.json().await.expect("json");
    detail["releases"].as_array().cloned().unwrap_or_default()
}

pub fn branch(work: &WorkTree, app: &TestApp, name: &str) -> Option<String> {
    ref_id(
        &ls_remote(&work.path, &app.admin_url(name)),
        "refs/heads/main",
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_git_cannot_update_keeps_the_previous_release_serving() {
    // A git that crashed while updating the branch leaves `main.lock`; every later update of
    // the branch fails, after lmnop has built and started the new release.
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let v1 = first_release(&app, &work, "locked").await;
    let lock = app.repos_dir().join("locked.git/refs/heads/main.lock");
    std::fs::write(&lock, "").expect("a leftover lock");

    let poller = Poller::start(&app, "locked", "one (v1)\n");
    python_function(&work, "two", "");
    work.commit("v2");
    let push = work.git(&["push", &app.admin_url("locked"), "main"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    poller.assert_steady().await;
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("main.lock"),
        "git says why: {}",
        push.stderr
    );
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);
    assert_eq!(branch(&work, &app, "locked"), Some(v1));
    let recorded = releases(&app, "locked").await;
    assert_eq!(recorded[0]["number"], 2);
    assert_eq!(recorded[0]["status"], "failed", "{recorded:?}");
    assert!(
        recorded[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("main.lock")),
        "{recorded:?}"
    );
    assert_eq!(recorded[1]["status"], "deployed");

    // Once the lock is gone, the next push deploys.
    std::fs::remove_file(&lock).expect("rm lock");
    let push = work.git(&["push", &app.admin_url("locked"), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("success: locked v3 is live"),
        "{}",
        push.stderr
    );
    let answer = reqwest::get(app.url("/function/locked/"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    assert_eq!(answer, "two (v3)\n");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_stops_mid_build_keeps_the_previous_release_serving() {
    let Some((postgres, app)) = app_on_private_postgres().await else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let v1 = first_release(&app, &work, "unrecorded").await;

    let poller = Poller::start(&app, "unrecorded", "one (v1)\n");
    python_function(&work, "two", "");
    work.write(lmnop::build::builder::FAKE_SLOW_FILE, "3\n");
    work.commit("v2, built slowly");
    // The database stops while the build runs.
    let push = push_with_fault_mid_build(&work, &app.admin_url("unrecorded"), || postgres.stop());
    tokio::time::sleep(Duration::from_millis(300)).await;
    poller.assert_steady().await;
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("lmnop could not record v2")
            && push.stderr.contains("does not answer"),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);

    // Once the database is back, the release is closed with the reason, and the branch is
    // where it was.
    postgres.resume();
    let mut recorded = Vec::new();
    for _ in 0..60 {
        recorded = releases(&app, "unrecorded").await;
        if recorded[0]["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(recorded[0]["number"], 2);
    assert_eq!(recorded[0]["status"], "failed", "{recorded:?}");
    assert!(
        recorded[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("does not answer")),
        "{recorded:?}"
    );
    assert_eq!(branch(&work, &app, "unrecorded"), Some(v1));
    let served = reqwest::get(app.url("/function/unrecorded/"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    assert_eq!(served, "one (v1)\n");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_first_push_leaves_no_function_no_repository_and_no_taken_name() {
    let app = spawn_fake_app().await;
    app.add_user("alice", "alice-password-1").await;
    app.add_user("bob", "bob-password-1").await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "alice's", "");
    work.write(lmnop::build::builder::FAKE_FAILING_FILE, "");
    work.commit("a build that fails");
    let push = work.git(&[
        "push",
        &app.git_url("alice", "alice-password-1", "wanted"),
        "main",
    ]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("nothing was deployed"),
        "{}",
        push.stderr
    );
    assert!(
        !app.repos_dir().join("wanted.git").exists(),
        "no repository"
    );
    let listed = reqwest::Client::new()
        .get(app.url("/api/v1/functions/wanted"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(listed.status(), 404, "no function");

    // The name is free: someone else's first push takes it.
    std::fs::remove_file(work.path.join(lmnop::build::builder::FAKE_FAILING_FILE)).expect("rm");
    python_function(&work, "bob's", "");
    work.commit("bob's");
    let push = work.git(&[
        "push",
        &app.git_url("bob", "bob-password-1", "wanted"),
        "main",
    ]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("success: wanted v1 is live"),
        "{}",
        push.stderr
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_functions_answer_from_the_first_request_and_leftovers_are_gone() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    first_release(&app, &work, "kept").await;
    // What pushes cut off by a kill -9 leave: git's quarantine of a push that never finished,
    // and the empty repository of a first push that never finished.
    let quarantine = app
        .repos_dir()
        .join("kept.git/objects/tmp_objdir-incoming-Ab12Cd");
    std::fs::create_dir_all(quarantine.join("pack")).expect("quarantine");
    std::fs::write(quarantine.join("pack/big.pack"), vec![0u8; 4096]).expect("pack");
    let init = std::process::Command::new("git")
        .args(["init", "--bare", "-q"])
        .arg(app.repos_dir().join("unfinished.git"))
        .status()
        .expect("git init");
    assert!(init.success());

    let app = app.restart().await;
    let answer = reqwest::get(app.url("/function/kept/"))
        .await
        .expect("answers");
    assert_eq!(
        answer.status(),
        200,
        "routes are restored before lmnop serves"
    );
    assert_eq!(answer.text().await.expect("text"), "one (v1)\n");
    assert!(!quarantine.exists(), "the cut-off push's objects are gone");
    assert!(
        !app.repos_dir().join("unfinished.git").exists(),
        "the empty repository is gone"
    );
    assert!(app.repos_dir().join("kept.git/HEAD").exists());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_database_that_stops_while_idle_changes_nothing_that_serves() {
    let Some((postgres, app)) = app_on_private_postgres().await else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    first_release(&app, &work, "idle").await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .expect("client");
    let health = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("answers");
    assert_eq!(health.status(), 200);

    let poller = Poller::start(&app, "idle", "one (v1)\n");
    postgres.stop();
    // /healthz says so within a second (the client would give up at 3 s).
    let health = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("answers before the client gives up");
    assert_eq!(health.status(), 503);
    assert_eq!(
        health.text().await.expect("text"),
        "database: does not answer\n"
    );
    // A reconcile pass fails and touches nothing.
    let routes = app.state.routes.backends("idle");
    assert!(
        lmnop::release::reconcile::reconcile(&app.state.releaser)
            .await
            .is_err()
    );
    assert_eq!(app.state.routes.backends("idle"), routes);
    poller.assert_steady().await;

    // Back again, everything works as before.
    postgres.resume();
    let mut status = 0;
    for _ in 0..50 {
        status = client
            .get(app.url("/healthz"))
            .send()
            .await
            .map_or(0, |r| r.status().as_u16());
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, 200);
    python_function(&work, "two", "");
    work.commit("v2");
    let push = work.git(&["push", &app.admin_url("idle"), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("success: idle v2 is live"),
        "{}",
        push.stderr
    );
    app.stop().await;
}

/// A small tmpfs mounted at a directory of the test's own (lmnop's tests run as root).
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Self {
        let dir = tempfile::tempdir().expect("tmp");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .expect("mount runs");
        assert!(
            mounted.status.success(),
            "mounting a tmpfs needs root, as scripts/test runs the tests: {mounted:?}"
        );
        Self { dir }
    }

    fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Writes zeros until the disk is full.
    fn fill(&self) {
        use std::io::Write;
        let mut filler = std::fs::File::create(self.path().join("filler")).expect("filler");
        let chunk = vec![0u8; 64 * 1024];
        while filler.write_all(&chunk).is_ok() {}
        let _ = filler.flush();
    }

    fn free(&self) {
        std::fs::remove_file(self.path().join("filler")).expect("rm filler");
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_data_directory_keeps_the_previous_release_serving() {
    // The repositories live on a small disk that fills up while the new release builds: git
    // has the objects, but cannot write the branch's new value.
    let disk = SmallDisk::mount("32m");
    let data_dir = disk.path().join("data");
    let app = spawn_fake_app_with(|config| {
        // The database stays where it was (off the small disk): only git's writes fail.
        use std::os::unix::fs::DirBuilderExt;
        let original = config.data_dir.repos();
        let original = original.parent().expect("the data directory");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(original)
            .expect("the database's directory");
        config.data_dir = lmnop::store::DataDir::new(&data_dir).expect("absolute");
    })
    .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let v1 = first_release(&app, &work, "full").await;

    let poller = Poller::start(&app, "full", "one (v1)\n");
    python_function(&work, "two", "");
    work.write(lmnop::build::builder::FAKE_SLOW_FILE, "3\n");
    work.commit("v2, while the disk fills");
    let push = push_with_fault_mid_build(&work, &app.admin_url("full"), || disk.fill());
    tokio::time::sleep(Duration::from_millis(300)).await;
    poller.assert_steady().await;
    assert!(!push.ok, "{}", push.stderr);
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);
    disk.free();
    assert_eq!(branch(&work, &app, "full"), Some(v1));
    let recorded = releases(&app, "full").await;
    assert_eq!(recorded[0]["number"], 2);
    assert_eq!(recorded[0]["status"], "failed", "{recorded:?}");
    assert!(
        recorded[0]["error"]
            .as_str()
            .is_some_and(|e| e.contains("git did not update refs/heads/main")),
        "{recorded:?}"
    );
    assert_eq!(recorded[1]["status"], "deployed");

    // With room again, the next push deploys.
    let push = work.git(&["push", &app.admin_url("full"), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("success: full v3 is live"),
        "{}",
        push.stderr
    );
    app.stop().await;
}

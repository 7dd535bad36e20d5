//! Pushes that build and deploy on the real Docker engine, with base images built offline and
//! the watchdog stand-in: the new code answers, a change switches without a failed request, and
//! broken builds, unhealthy code or a pusher that goes away leave the previous release serving.
//! Restarts and the reconciler are in [`restarts`], the dockerfile template in [`dockerfile`].
//!
//! Every test here builds real images, so a test checks what one deploy shows rather than
//! pushing again for each behaviour; what a test reads of releases and logs it reads through the
//! JSON API.

mod dockerfile;
mod engine;
mod isolation;
mod restarts;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::deploy_support::{
    Leftovers, deploy_app, fetch, get, make_executable, python_function, python_image,
    remove_containers, unique, watchdog_image,
};
use crate::gitutil::{WorkTree, git_ok, ls_remote, ref_id};
use crate::support::{Part, TestApp, docker_available, need, statuses};

#[tokio::test(flavor = "multi_thread")]
async fn a_python_function_deploys_and_switches_without_a_failed_request() {
    // One test on purpose: the switch needs v1 serving, and going back needs v1's image and
    // v2 serving; splitting it would build the same images again for every step.
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("hello");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url(&name);
    let work = WorkTree::new(tmp.path(), "work");
    // A file unique to this run, so the first build is a real one.
    work.write("build-id.txt", &name);
    python_function(&work, "first version", "");
    let v1 = work.commit("v1");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!("success: {name} v1 is live")),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("Step 1/"),
        "build lines reach the pusher: {}",
        push.stderr
    );
    assert_eq!(
        get(&app, &format!("/function/{name}"), None).await,
        (200, "first version\n".to_owned())
    );
    assert_eq!(
        get(&app, "/anything", Some(&format!("{name}.apps.test"))).await,
        (200, "first version\n".to_owned())
    );
    // Bodies reach the function whole, by path and by host, with a length or chunked (the
    // watchdog passes both on chunked).
    let client = reqwest::Client::new();
    let echoed = client
        .post(app.url(&format!("/function/{name}/echo")))
        .body("a body with a length")
        .send()
        .await
        .expect("POST");
    assert_eq!(echoed.status(), 200);
    assert_eq!(echoed.text().await.expect("body"), "a body with a length");
    let chunks = futures_util::stream::iter(["chunked ", "body"].map(Ok::<_, std::io::Error>));
    let echoed = client
        .post(app.url("/echo"))
        .header("Host", format!("{name}.apps.test"))
        .body(reqwest::Body::wrap_stream(chunks))
        .send()
        .await
        .expect("POST");
    assert_eq!(echoed.status(), 200);
    assert_eq!(echoed.text().await.expect("body"), "chunked body");

    // A client polls throughout the second deploy: every answer is a 200 from v1 or v2.
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(AtomicUsize::new(0));
    let poller = {
        let (stop, failures, answers) = (stop.clone(), failures.clone(), answers.clone());
        let endpoint = app.url(&format!("/function/{name}"));
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            while !stop.load(Ordering::Relaxed) {
                match client.get(&endpoint).send().await {
                    Ok(r) if r.status() == 200 => {
                        let body = r.text().await.unwrap_or_default();
                        if body != "first version\n" && body != "second version\n" {
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => {
                        failures.fetch_add(1, Ordering::Relaxed);
                    }
                }
                answers.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    // Past the default `timeout` (30 s) a request is cut with a 504 that names the setting.
    let too_slow = {
        let endpoint = app.url(&format!("/function/{name}/slow?seconds=40"));
        tokio::spawn(fetch(endpoint))
    };
    // A long request is in flight on v1 when the switch comes: v1 finishes it before it stops
    // (the watchdog would pass SIGTERM to the function at once and drop it).
    let slow = {
        let endpoint = app.url(&format!("/function/{name}/slow?seconds=20"));
        tokio::spawn(fetch(endpoint))
    };
    python_function(&work, "second version", "");
    work.commit("v2");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    if slow.is_finished() {
        let ended = slow.await.expect("request");
        panic!(
            "the long request ended before the switch had drained v1: {ended:?} (a 200 means the \
             build took over 20 s)"
        );
    }
    // The old containers are stopped gracefully in the background; keep polling through that.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::Relaxed);
    poller.await.expect("poller");
    assert_eq!(
        failures.load(Ordering::Relaxed),
        0,
        "no failed request during the switch"
    );
    assert!(answers.load(Ordering::Relaxed) > 10);
    assert_eq!(
        slow.await.expect("request"),
        (200, "first version\n".to_owned()),
        "the request in flight across the switch answers in full"
    );
    assert_eq!(
        get(&app, &format!("/function/{name}"), None).await,
        (200, "second version\n".to_owned())
    );

    let (status, body) = too_slow.await.expect("request");
    assert_eq!(status, 504, "{body}");
    assert!(
        body.contains("within 30s") && body.contains("`timeout`"),
        "{body}"
    );

    // Going back to the first tree reuses its image.
    let back = work.git(&["push", "--force", &url, &format!("{v1}:refs/heads/main")]);
    assert!(back.ok, "{}", back.stderr);
    assert!(back.stderr.contains("reused the image"), "{}", back.stderr);
    assert_eq!(
        get(&app, &format!("/function/{name}"), None).await,
        (200, "first version\n".to_owned())
    );

    let metrics = get(&app, "/metrics", None).await.1;
    assert!(
        metrics.contains(&format!(
            "lmnop_function_invocations_total{{function=\"{name}\"}}"
        )),
        "{metrics}"
    );
    remove_containers(&name).await;
    app.stop().await;
}

/// A deploy server with a good Python function serving as release 1.
struct Serving {
    app: TestApp,
    name: String,
    _leftovers: Leftovers,
    tmp: tempfile::TempDir,
    work: WorkTree,
    url: String,
    /// The commit release 1 was built from.
    good: String,
}

impl Serving {
    async fn start(prefix: &str) -> Option<Self> {
        let app = deploy_app().await?;
        let name = unique(prefix);
        let leftovers = Leftovers(name.clone());
        let tmp = tempfile::tempdir().expect("tmp");
        let url = app.admin_url(&name);
        let work = WorkTree::new(tmp.path(), "work");
        python_function(&work, "good", "");
        let good = work.commit("good");
        git_ok(&work.path, &["push", "-q", &url, "main"]);
        Some(Self {
            app,
            name,
            _leftovers: leftovers,
            tmp,
            work,
            url,
            good,
        })
    }

    /// Release 1 still answers, main still points at it, and the API shows release 2 failed
    /// and release 1 serving.
    async fn assert_release_1_still_serves(&self) {
        assert_eq!(
            get(&self.app, &format!("/function/{}", self.name), None).await,
            (200, "good\n".to_owned())
        );
        assert_eq!(
            ref_id(&ls_remote(self.tmp.path(), &self.url), "refs/heads/main"),
            Some(self.good.clone())
        );
        let detail = self
            .app
            .function_detail(&self.name)
            .await
            .expect("the function");
        let releases = detail["releases"].as_array().expect("releases");
        assert_eq!(statuses(releases), [(2, "failed"), (1, "deployed")]);
        assert_eq!(detail["release"], 1, "release 1 is the serving one");
    }

    async fn stop(self) {
        remove_containers(&self.name).await;
        self.app.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_build_leaves_the_previous_release_serving_and_its_log_recorded() {
    let Some(serving) = Serving::start("sturdy").await else {
        return;
    };
    let work = &serving.work;
    work.write(
        "function/initialize",
        "echo 'about to fail on purpose'\nexit 3\n",
    );
    work.commit("broken build");
    let push = work.git(&["push", &serving.url, "main"]);
    assert!(!push.ok);
    assert!(
        push.stderr.contains("error: build failed"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("about to fail on purpose"),
        "the lines that matter: {}",
        push.stderr
    );
    assert!(
        push.stderr.contains("previous release keeps serving"),
        "{}",
        push.stderr
    );
    serving.assert_release_1_still_serves().await;
    let log = serving.app.release_log(&serving.name, 2).await;
    assert!(log.contains("about to fail on purpose"), "{log}");
    serving.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn code_that_never_answers_leaves_the_previous_release_serving() {
    let Some(serving) = Serving::start("sturdy").await else {
        return;
    };
    let work = &serving.work;
    // It builds, but the entrypoint exits at once.
    python_function(work, "never", "health: {timeout: 5s}\n");
    work.write(
        "function/entrypoint",
        "#!/bin/sh\necho 'crashing on start'\nexit 1\n",
    );
    make_executable(work, "function/entrypoint");
    work.commit("unhealthy");
    let push = work.git(&["push", &serving.url, "main"]);
    assert!(!push.ok);
    assert!(
        push.stderr.contains("error: health check failed"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("crashing on start"),
        "the container's output is shown: {}",
        push.stderr
    );
    serving.assert_release_1_still_serves().await;
    serving.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pusher_that_disconnects_mid_build_leaves_a_failed_release_and_the_branch_unmoved() {
    use std::os::unix::process::CommandExt;
    // Over a serving release 1: a refused first push leaves nothing at all to look at.
    let Some(serving) = Serving::start("gone").await else {
        return;
    };
    let (app, name, work) = (&serving.app, &serving.name, &serving.work);
    work.write("function.yml", "template: dockerfile\n");
    work.write(
        "Dockerfile",
        &format!(
            "FROM {}\nRUN echo building-{:x} && sleep 60\n",
            python_image(),
            rand::random::<u64>()
        ),
    );
    work.commit("slow build");
    let mut push = crate::gitutil::git_command(&work.path, &["push", &serving.url, "main"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn()
        .expect("git push starts");

    // Wait for the build to be under way, then take git and its helpers away at once.
    let mut started = false;
    for _ in 0..240 {
        started = app
            .releases(name)
            .await
            .iter()
            .any(|release| release["number"] == 2);
        if started {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(started, "the push started release 2");
    tokio::time::sleep(Duration::from_secs(1)).await;
    std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", push.id())])
        .status()
        .expect("kill");
    let _ = push.wait();

    // The server notices when a heartbeat line cannot be written (every 10 s of silence).
    let mut closed = None;
    for _ in 0..240 {
        let now = app
            .releases(name)
            .await
            .into_iter()
            .find(|r| r["number"] == 2)
            .expect("the release");
        if now["status"] == "failed" {
            closed = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let closed = closed.expect("the release is closed as failed without a restart");
    assert!(
        closed["error"]
            .as_str()
            .is_some_and(|e| e.contains("pusher disconnected")),
        "{:?}",
        closed["error"]
    );
    let log = app.release_log(name, 2).await;
    assert!(log.contains("Building"), "the log so far is kept: {log}");
    serving.assert_release_1_still_serves().await;
    serving.stop().await;
}

/// A Python function whose build installs a package from PyPI and imports it.
fn pypi_function(work: &WorkTree) {
    python_function(work, "with six", "");
    work.write("function/requirements.txt", "six==1.16.0\n");
    // Code of its own, so neither an image nor a cached layer of an earlier run is reused and
    // pip really runs.
    work.write("function/nonce", &format!("{:x}", rand::random::<u64>()));
    work.write(
        "function/initialize",
        "python3 -c 'import six; print(\"imported six\", six.__version__)'\n",
    );
}

/// Pushes a new function that installs from PyPI; (its name, the push, its cleanup).
fn push_pypi_function(app: &TestApp) -> (String, crate::gitutil::GitRun, Leftovers) {
    let name = unique("pypi");
    let leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    pypi_function(&work);
    work.commit("needs six");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    (name, push, leftovers)
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_extra_ca_certificates_a_build_that_needs_pypi_fails_clearly() {
    let Some(app) = deploy_app().await else {
        return;
    };
    // Without the bundle this machine's HTTPS needs, pip cannot verify PyPI.
    let (_, push, _leftovers) = push_pypi_function(&app);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("build failed") && push.stderr.to_lowercase().contains("ssl"),
        "the failing step and pip's reason are shown: {}",
        push.stderr
    );
    assert!(
        push.stderr.contains("a RUN step exited with code 1"),
        "{}",
        push.stderr
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn builds_reach_pypi_through_the_extra_ca_certificates() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    // With LMNOP_BUILD_CA_FILE the build installs from PyPI and the function serves.
    let watchdog = watchdog_image();
    let app = crate::support::spawn_app_with(|config| {
        config.build_args = lmnop::config::parse_build_args(&format!(
            "python3.12.BASE_IMAGE={},WATCHDOG_IMAGE={watchdog}",
            python_image()
        ))
        .expect("build args");
        config.build_ca = Some(
            lmnop::config::CaCertificates::read("/etc/ssl/certs/ca-certificates.crt".as_ref())
                .expect("the machine's CA bundle"),
        );
    })
    .await;
    let (name, push, _leftovers) = push_pypi_function(&app);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("imported six 1.16.0"),
        "{}",
        push.stderr
    );
    let (status, body) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!((status, body.trim()), (200, "with six"));
    remove_containers(&name).await;
    app.stop().await;
}

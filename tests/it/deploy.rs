//! Pushes that build and deploy on the real Docker engine, with base images built offline and
//! the watchdog stand-in: the new code answers, a change switches without a failed request, and
//! broken builds or unhealthy code leave the previous release serving.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::deploy_support::{
    Leftovers, containers_of, deploy_app, get, make_executable, python_function, python_image,
    remove_containers, start_labelled_container, unique, watchdog_image,
};
use crate::gitutil::{WorkTree, git_ok, ls_remote, ref_id};
use crate::support::{ADMIN_PASSWORD, Part, Workspace, docker_available, free_port, need};

#[tokio::test(flavor = "multi_thread")]
async fn a_python_function_deploys_and_switches_without_a_failed_request() {
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
    python_function(&work, "second version", "");
    work.commit("v2");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
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
        get(&app, &format!("/function/{name}"), None).await,
        (200, "second version\n".to_owned())
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

#[tokio::test(flavor = "multi_thread")]
async fn broken_builds_and_unhealthy_code_leave_the_previous_release_serving() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("sturdy");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url(&name);
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "good", "");
    let good = work.commit("good");
    git_ok(&work.path, &["push", "-q", &url, "main"]);

    // A build step fails.
    work.write(
        "function/initialize",
        "echo 'about to fail on purpose'\nexit 3\n",
    );
    work.commit("broken build");
    let push = work.git(&["push", &url, "main"]);
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
    assert_eq!(
        get(&app, &format!("/function/{name}"), None).await,
        (200, "good\n".to_owned())
    );
    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/main"),
        Some(good.clone())
    );

    // It builds, but never answers: the entrypoint exits at once.
    std::fs::remove_file(work.path.join("function/initialize")).expect("rm");
    python_function(&work, "never", "health: {timeout: 5s}\n");
    work.write(
        "function/entrypoint",
        "#!/bin/sh\necho 'crashing on start'\nexit 1\n",
    );
    make_executable(&work, "function/entrypoint");
    work.commit("unhealthy");
    let push = work.git(&["push", &url, "main"]);
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
    assert_eq!(
        get(&app, &format!("/function/{name}"), None).await,
        (200, "good\n".to_owned())
    );
    assert_eq!(
        ref_id(&ls_remote(tmp.path(), &url), "refs/heads/main"),
        Some(good)
    );

    // Both failures are recorded with their logs.
    let function = lmnop::db::functions::find(&app.state.db, &name)
        .await
        .expect("db")
        .expect("function");
    let releases = lmnop::db::releases::list(&app.state.db, function.id)
        .await
        .expect("releases");
    let statuses: Vec<_> = releases
        .iter()
        .map(|r| (r.number, r.status.as_str()))
        .collect();
    assert_eq!(statuses, [(3, "failed"), (2, "failed"), (1, "deployed")]);
    assert_eq!(function.current_release_id, Some(releases[2].id));
    let log = lmnop::db::releases::build_log(&app.state.db, releases[1].id)
        .await
        .expect("db")
        .expect("log");
    assert!(log.contains("about to fail on purpose"), "{log}");
    remove_containers(&name).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_the_reconciler_restores_routes_and_containers_and_removes_orphans() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("again");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "still here", "");
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let instance = app.state.instance.clone();

    // An orphan: a container of this installation that no function owns.
    let orphan_id = start_labelled_container(&instance, "ghost");

    // Restart: the new server knows no routes until the reconciler has run.
    let app = app.restart().await;
    let mut answer = (0, String::new());
    for _ in 0..100 {
        answer = get(&app, &format!("/function/{name}"), None).await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, (200, "still here\n".to_owned()));
    // It is stopped and removed.
    let mut orphan_gone = false;
    for _ in 0..60 {
        let left = std::process::Command::new("docker")
            .args(["ps", "-aq", "--filter", &format!("id={orphan_id}")])
            .output()
            .expect("docker ps");
        if String::from_utf8_lossy(&left.stdout).trim().is_empty() {
            orphan_gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(orphan_gone, "the orphan is removed");

    // Its containers gone (as after a host reboot), the function comes back by itself.
    remove_containers(&name).await;
    let report = lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("reconcile");
    assert_eq!(report.restarted, std::slice::from_ref(&name));
    assert_eq!(
        get(&app, &format!("/function/{name}"), None).await,
        (200, "still here\n".to_owned())
    );
    remove_containers(&name).await;
    app.stop().await;
}

/// `lmnop serve` as a process of its own, so it can be killed.
fn serve_process(ws: &Workspace, port: u16, log: &std::path::Path) -> std::process::Child {
    ws.lmnop()
        .arg("serve")
        .env("LMNOP_LISTEN", format!("127.0.0.1:{port}"))
        .env("LMNOP_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env(
            "LMNOP_BUILD_ARGS",
            format!(
                "python3.12.BASE_IMAGE={},WATCHDOG_IMAGE={}",
                python_image(),
                watchdog_image()
            ),
        )
        .stderr(std::fs::File::create(log).expect("log file"))
        .spawn()
        .expect("lmnop serve starts")
}

async fn wait_for(url: &str, expected: &str) -> bool {
    for _ in 0..300 {
        if let Ok(response) = reqwest::get(url).await {
            if response.status() == 200 && response.text().await.unwrap_or_default() == expected {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_lmnop_during_a_deploy_leaves_one_serving_release_and_no_orphans() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    let ws = Workspace::new().await;
    let port = free_port();
    let log = ws.dir.path().join("serve.log");
    let mut server = serve_process(&ws, port, &log);
    let base = format!("http://127.0.0.1:{port}");
    assert!(
        wait_for(&format!("{base}/healthz"), "ok\n").await,
        "lmnop starts"
    );

    let name = unique("killed");

    let _leftovers = Leftovers(name.clone());
    let url = format!("http://admin:{ADMIN_PASSWORD}@127.0.0.1:{port}/scm/{name}");
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("build-id.txt", &name);
    python_function(&work, "v1 answers", "");
    work.commit("v1");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);

    // v2 builds slowly; kill lmnop in the middle of it.
    work.write("function/initialize", "sleep 30\n");
    python_function(&work, "v2 answers", "");
    work.commit("v2");
    let pusher = {
        let (dir, url) = (work.path.clone(), url.clone());
        std::thread::spawn(move || crate::gitutil::git(&dir, &["push", &url, "main"]))
    };
    let db = lmnop::db::Db::open(&ws.db.config).await.expect("db");
    let mut building = false;
    for _ in 0..300 {
        if let Some(function) = lmnop::db::functions::find(&db, &name).await.expect("db") {
            let releases = lmnop::db::releases::list(&db, function.id)
                .await
                .expect("db");
            if releases.first().is_some_and(|r| r.number == 2) {
                building = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(building, "v2 started");
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.kill().expect("kill -9");
    server.wait().expect("reaped");
    let push = pusher.join().expect("pusher");
    assert!(!push.ok, "the interrupted push is not accepted");

    // Start again: v1 serves, v2 is failed, one container is left.
    let mut server = serve_process(&ws, port, &log);
    assert!(
        wait_for(&format!("{base}/function/{name}"), "v1 answers\n").await,
        "v1 serves after the restart: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let function = lmnop::db::functions::find(&db, &name)
        .await
        .expect("db")
        .expect("function");
    let releases = lmnop::db::releases::list(&db, function.id)
        .await
        .expect("db");
    let statuses: Vec<_> = releases
        .iter()
        .map(|r| (r.number, r.status.as_str()))
        .collect();
    assert_eq!(statuses, [(2, "failed"), (1, "deployed")]);
    assert_eq!(function.current_release_id, Some(releases[1].id));
    let ids = containers_of(&name, true);
    assert_eq!(
        ids.len(),
        1,
        "exactly the serving container is left: {ids:?}"
    );
    server.kill().expect("kill");
    server.wait().expect("reaped");
    db.close().await;
    remove_containers(&name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dockerfile_app_builds_without_host_or_ignored_files_and_keeps_secrets_out() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("ownfile");
    let _leftovers = Leftovers(name.clone());
    // A file only the host has, and a secret value; neither may reach the image or any output.
    let marker = format!("host-only-{}", rand::random::<u64>());
    let host_file = std::env::temp_dir().join(format!("lmnop-leak-{:x}", rand::random::<u32>()));
    std::fs::write(&host_file, &marker).expect("host file");
    let secret_value = format!("s3cret-{}", rand::random::<u64>());
    app.state
        .secrets()
        .set(
            &lmnop::domain::SecretName::parse("api-key").expect("name"),
            &lmnop::domain::Secret::new(secret_value.clone()),
        )
        .expect("secret");

    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("function.yml", "template: dockerfile\nsecrets: [api-key]\n");
    work.write("site/index.html", "<h1>own Dockerfile</h1>\n");
    // What .dockerignore lists stays out of the context, as with `docker build`.
    work.write(
        ".dockerignore",
        "# not for the image\nnotes\n**/*.bak\n!site/keep.bak\n",
    );
    work.write("notes/todo.txt", "private notes\n");
    work.write("site/old.bak", "old\n");
    work.write("site/keep.bak", "kept\n");
    // The engine's layer cache does not tell symlinks apart by target: give every run its own
    // tree so `COPY` really runs.
    work.write("nonce", &format!("{:x}", rand::random::<u64>()));
    work.write(
        "docker/Dockerfile.real",
        &format!(
            "FROM {}\nCOPY . /app\nRUN ls -la /app && cat /app/leak || true\n\
             CMD [\"python3\", \"-m\", \"http.server\", \"8080\", \"--directory\", \"/app/site\"]\n",
            python_image()
        ),
    );
    std::os::unix::fs::symlink("docker/Dockerfile.real", work.path.join("Dockerfile"))
        .expect("symlink");
    std::os::unix::fs::symlink(&host_file, work.path.join("leak")).expect("symlink");
    work.commit("own Dockerfile");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    // notes/, notes/todo.txt and site/old.bak (the exception brings site/keep.bak back).
    assert!(
        push.stderr.contains("3 paths left out by .dockerignore"),
        "the pusher hears what .dockerignore left out: {}",
        push.stderr
    );
    assert!(
        !push.stderr.contains(&marker),
        "no host file content in the build: {}",
        push.stderr
    );
    assert!(
        !push.stderr.contains(&secret_value),
        "no secret in the build output"
    );
    let (status, body) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!((status, body.as_str()), (200, "<h1>own Dockerfile</h1>\n"));

    let image = format!("lmnop/{name}:{}", work.head());
    let source = std::process::Command::new("docker")
        .args([
            "image",
            "inspect",
            "--format",
            "{{ index .Config.Labels \"lmnop.source\" }}",
            &image,
        ])
        .output()
        .expect("docker image inspect");
    assert_eq!(
        String::from_utf8_lossy(&source.stdout).trim(),
        format!("{name}@{} by admin", work.head()),
        "the image says what it was built from"
    );
    let look = std::process::Command::new("docker")
        .args([
            "run",
            "--rm",
            &image,
            "sh",
            "-c",
            "readlink /app/leak; cat /app/leak 2>&1; grep -rs host-only /app /etc /home /root /usr/local /srv /opt | head -1; \
             ls -d /app/notes /app/site/old.bak /app/site/keep.bak 2>&1",
        ])
        .output()
        .expect("docker run");
    let seen = String::from_utf8_lossy(&look.stdout);
    assert!(
        seen.contains(&host_file.display().to_string()),
        "the symlink stays a symlink: {seen}"
    );
    assert!(
        !seen.contains(&marker),
        "the host file is not in the image: {seen}"
    );
    for ignored in ["/app/notes", "/app/site/old.bak"] {
        assert!(
            seen.contains(&format!("cannot access '{ignored}'")),
            "{ignored} is left out by .dockerignore: {seen}"
        );
    }
    assert!(
        seen.contains("\n/app/site/keep.bak\n"),
        "an exception brings a file back: {seen}"
    );

    // The secret is mounted read-only where OpenFaaS puts it, and is not in the config.
    let id = containers_of(&name, false).remove(0);
    let read = std::process::Command::new("docker")
        .args(["exec", &id, "cat", "/var/openfaas/secrets/api-key"])
        .output()
        .expect("docker exec");
    assert_eq!(String::from_utf8_lossy(&read.stdout), secret_value);
    let inspect = std::process::Command::new("docker")
        .args(["inspect", &id])
        .output()
        .expect("inspect");
    assert!(
        !String::from_utf8_lossy(&inspect.stdout).contains(&secret_value),
        "not in docker inspect"
    );
    let history = std::process::Command::new("docker")
        .args(["history", "--no-trunc", &image])
        .output()
        .expect("history");
    assert!(
        !String::from_utf8_lossy(&history.stdout).contains(&secret_value),
        "not in the image history"
    );
    let function = lmnop::db::functions::find(&app.state.db, &name)
        .await
        .expect("db")
        .expect("function");
    let release = lmnop::db::releases::list(&app.state.db, function.id)
        .await
        .expect("db")
        .remove(0);
    let log = lmnop::db::releases::build_log(&app.state.db, release.id)
        .await
        .expect("db")
        .unwrap_or_default();
    assert!(!log.contains(&secret_value) && !release.config.to_record().contains(&secret_value));

    let _ = std::fs::remove_file(&host_file);
    remove_containers(&name).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pusher_that_disconnects_mid_build_leaves_a_failed_release_and_the_branch_unmoved() {
    use std::os::unix::process::CommandExt;
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("gone");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
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
    let mut push =
        crate::gitutil::git_command(&work.path, &["push", &app.admin_url(&name), "main"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .expect("git push starts");

    // Wait for the build to be under way, then take git and its helpers away at once.
    let mut release = None;
    for _ in 0..240 {
        if let Some(function) = lmnop::db::functions::find(&app.state.db, &name)
            .await
            .expect("db")
        {
            release = lmnop::db::releases::list(&app.state.db, function.id)
                .await
                .expect("db")
                .pop();
            if release.is_some() {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let release = release.expect("the push started a release");
    tokio::time::sleep(Duration::from_secs(1)).await;
    std::process::Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", push.id())])
        .status()
        .expect("kill");
    let _ = push.wait();

    // The server notices when a heartbeat line cannot be written (every 10 s of silence).
    let mut closed = None;
    for _ in 0..240 {
        let now = lmnop::db::releases::find(&app.state.db, release.id)
            .await
            .expect("db")
            .expect("release");
        if now.status == lmnop::db::releases::ReleaseStatus::Failed {
            closed = Some(now);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let closed = closed.expect("the release is closed as failed without a restart");
    assert!(
        closed
            .error
            .as_deref()
            .is_some_and(|e| e.contains("pusher disconnected")),
        "{:?}",
        closed.error
    );
    let log = lmnop::db::releases::build_log(&app.state.db, release.id)
        .await
        .expect("db")
        .unwrap_or_default();
    assert!(log.contains("Building"), "the log so far is kept: {log}");
    assert!(
        !app.repos_dir()
            .join(format!("{name}.git/refs/heads/main"))
            .exists(),
        "the branch did not move"
    );
    let (status, _) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!(status, 404);
    remove_containers(&name).await;
    app.stop().await;
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

#[tokio::test(flavor = "multi_thread")]
async fn builds_reach_pypi_through_the_extra_ca_certificates_and_fail_clearly_without_them() {
    let Some(app) = deploy_app().await else {
        return;
    };
    // Without the bundle this machine's HTTPS needs, pip cannot verify PyPI: a clear failure.
    let name = unique("pypi");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    pypi_function(&work);
    work.commit("needs six");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
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

    // With LMNOP_BUILD_CA_FILE the same push builds, installs and serves.
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
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
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

//! After a restart, and after lmnop is killed mid-deploy: the reconciler brings routes and
//! containers back and removes what no function owns.

use std::time::Duration;

use crate::deploy_support::{
    Leftovers, containers_of, deploy_app, get, python_function, python_image, remove_containers,
    start_labelled_container, unique, watchdog_image,
};
use crate::frozen_proxy::FreezableProxy;
use crate::gitutil::WorkTree;
use crate::support::{
    ADMIN_PASSWORD, Part, TestApp, Workspace, docker_available, free_port, function_detail_at,
    need, releases_at, statuses, test_registry,
};

/// A deploy server serving the Python function `prefix-…` ("still here"); returns the app,
/// the function's name and what removes its containers and images at the end.
async fn still_here(prefix: &str) -> Option<(TestApp, String, Leftovers)> {
    let app = deploy_app().await?;
    let name = unique(prefix);
    let leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "still here", "");
    // An image of this test's own: tests building the same image at once would share it, and
    // one test's clean-up would then untag it from under another's build.
    work.write("function/build-id.txt", &name);
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    Some((app, name, leftovers))
}

/// What `/function/NAME` answers once it answers 200, or its last answer after 10 s.
async fn first_success(app: &TestApp, name: &str) -> (u16, String) {
    let mut answer = (0, String::new());
    for _ in 0..100 {
        answer = get(app, &format!("/function/{name}"), None).await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_the_reconciler_restores_the_routes() {
    let Some((app, name, _leftovers)) = still_here("again").await else {
        return;
    };
    // The new server knows no routes until the reconciler has run.
    let app = app.restart().await;
    assert_eq!(
        first_success(&app, &name).await,
        (200, "still here\n".to_owned())
    );
    remove_containers(&name).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_restart_containers_no_function_owns_are_removed() {
    let Some(app) = deploy_app().await else {
        return;
    };
    // An orphan: a container of this installation that no function owns.
    let ghost = unique("ghost");
    let _leftovers = Leftovers(ghost.clone());
    let orphan_id = start_labelled_container(&app.state.instance, &ghost);
    let app = app.restart().await;
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
    assert!(orphan_gone, "the orphan is stopped and removed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_whose_containers_are_gone_is_started_again_by_the_reconciler() {
    let Some((app, name, _leftovers)) = still_here("again").await else {
        return;
    };
    // A restart and its first pass first, so that the next periodic pass is 30 s away and
    // the pass below is the one that finds the containers gone.
    let app = app.restart().await;
    assert_eq!(first_success(&app, &name).await.0, 200);
    // Its containers removed behind lmnop's back, the function comes back by itself: the
    // engine says they went, and lmnop reconciles the function at once rather than at the
    // next pass, 30 s away (first_success gives up after 10 s).
    let old = containers_of(&name, true);
    remove_containers(&name).await;
    assert_eq!(
        first_success(&app, &name).await,
        (200, "still here\n".to_owned())
    );
    let now = containers_of(&name, true);
    assert!(
        !now.is_empty() && now.iter().all(|id| !old.contains(id)),
        "{old:?} -> {now:?}"
    );
    remove_containers(&name).await;
    app.stop().await;
}

/// `lmnop serve` as a process of its own, so it can be killed.
fn serve_process(
    ws: &Workspace,
    port: u16,
    log: &std::path::Path,
    env: &[(&str, String)],
) -> std::process::Child {
    ws.lmnop()
        .arg("serve")
        .envs(env.iter().map(|(key, value)| (key, value)))
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

/// Where a push is when lmnop is killed.
#[derive(Clone, Copy, Debug)]
enum KillPoint {
    /// v2's build runs (its `initialize` sleeps).
    Build,
    /// v2's image is being pushed to a registry that hangs.
    RegistryPush,
    /// v2's container runs but does not answer yet (its entrypoint sleeps first).
    HealthWait,
}

/// Serves v1 from a `lmnop serve` process, kills it with SIGKILL at `point` of v2's push, starts
/// it again, and checks that v1 serves, v2 is failed, and only v1's container is left.
async fn killed_at(point: KillPoint) {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    // For the registry push, a registry of the test's own in front of the real one, so that it
    // can hang without touching other tests.
    let mut proxy: Option<FreezableProxy> = None;
    let mut env = Vec::new();
    if let KillPoint::RegistryPush = point {
        let (registry, answers) = test_registry().await;
        if !need(
            Part::Registry,
            answers,
            &format!("nothing answers at {registry}/v2/"),
        ) {
            return;
        }
        let front = FreezableProxy::start(registry.parse().expect("registry address")).await;
        env.push(("LMNOP_REGISTRY", format!("{}/lmnop-test", front.address)));
        proxy = Some(front);
    }
    let ws = Workspace::new().await;
    let port = free_port();
    let log = ws.dir.path().join("serve.log");
    let mut server = serve_process(&ws, port, &log, &env);
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
    work.write("function/build-id.txt", &name);
    work.commit("v1");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);

    python_function(&work, "v2 answers", "health: {timeout: 60s}\n");
    match point {
        KillPoint::Build => {
            work.write("function/initialize", "sleep 30\n");
        }
        KillPoint::RegistryPush => {
            // A layer v1 did not have, so v2's push has something to upload.
            work.write("function/v2.txt", "v2");
            proxy.as_ref().expect("proxy").freeze();
        }
        KillPoint::HealthWait => {
            work.write(
                "function/entrypoint",
                "#!/bin/sh\nsleep 30\nexec python3 /home/lmnop/function/app.py\n",
            );
            crate::deploy_support::make_executable(&work, "function/entrypoint");
        }
    }
    work.commit("v2");
    let pusher = {
        let (dir, url) = (work.path.clone(), url.clone());
        std::thread::spawn(move || crate::gitutil::git(&dir, &["push", &url, "main"]))
    };
    let mut reached = false;
    for _ in 0..600 {
        reached = match point {
            KillPoint::Build => releases_at(&base, &name)
                .await
                .first()
                .is_some_and(|r| r["number"] == 2),
            KillPoint::RegistryPush => proxy.as_ref().is_some_and(|p| p.held() > 0),
            KillPoint::HealthWait => containers_of(&name, false).len() == 2,
        };
        if reached {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(reached, "v2 reached {point:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.kill().expect("kill -9");
    server.wait().expect("reaped");
    let push = pusher.join().expect("pusher");
    assert!(!push.ok, "the interrupted push is not accepted");
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);

    // Start again (the registry answering again): v1 serves, v2 is failed, one container is
    // left.
    if let Some(proxy) = &proxy {
        proxy.thaw();
    }
    let mut server = serve_process(&ws, port, &log, &env);
    assert!(
        wait_for(&format!("{base}/function/{name}"), "v1 answers\n").await,
        "v1 serves after the restart: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    let detail = function_detail_at(&base, &name)
        .await
        .expect("the function");
    let releases = detail["releases"].as_array().expect("releases");
    assert_eq!(statuses(releases), [(2, "failed"), (1, "deployed")]);
    assert_eq!(detail["release"], 1, "release 1 is the serving one");
    let ids = containers_of(&name, true);
    assert_eq!(
        ids.len(),
        1,
        "exactly the serving container is left: {ids:?}"
    );
    let branch = crate::gitutil::ref_id(
        &crate::gitutil::ls_remote(&work.path, &url),
        "refs/heads/main",
    );
    assert_eq!(
        branch.as_deref(),
        Some(releases[1]["commit"].as_str().expect("commit"))
    );
    server.kill().expect("kill");
    server.wait().expect("reaped");
    remove_containers(&name).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_lmnop_during_a_deploy_leaves_one_serving_release_and_no_orphans() {
    killed_at(KillPoint::Build).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_lmnop_during_the_registry_push_leaves_one_serving_release_and_no_orphans() {
    killed_at(KillPoint::RegistryPush).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn killing_lmnop_during_the_health_wait_leaves_one_serving_release_and_no_orphans() {
    killed_at(KillPoint::HealthWait).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_route_never_points_at_another_function_s_container() {
    // After an engine restart the engine may hand an address the router still knows to another
    // function's new container. Simulated: A's route is pointed at B's container.
    let Some((app, a, _a_leftovers)) = still_here("mine").await else {
        return;
    };
    let b = unique("theirs");
    let _b_leftovers = Leftovers(b.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "somebody else", "");
    work.write("function/build-id.txt", &b);
    work.commit("b");
    let push = work.git(&["push", &app.admin_url(&b), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let theirs = app.state.routes.backends(&b);
    let _ = app
        .state
        .routes
        .set(&a, theirs.clone(), std::time::Duration::from_secs(30));
    assert_eq!(
        get(&app, &format!("/function/{a}"), None).await,
        (200, "somebody else\n".to_owned()),
        "the simulated mix-up"
    );
    // The next pass (after the engine comes back, or the periodic one) first takes every
    // backend that is not its own function's container out, then restores A.
    lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("reconcile");
    let mine = app.state.routes.backends(&a);
    assert!(
        mine.iter().all(|backend| !theirs.contains(backend)),
        "{mine:?} still has {theirs:?}"
    );
    assert_eq!(
        first_success(&app, &a).await,
        (200, "still here\n".to_owned())
    );
    remove_containers(&a).await;
    remove_containers(&b).await;
    app.stop().await;
}

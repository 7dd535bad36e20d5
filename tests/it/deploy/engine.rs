//! The Docker engine going away before and during a push, on the real engine behind a socket of
//! the test's own (`EngineSocket`): the push is refused naming the engine's address, the branch
//! stays, the release is closed with the reason, the running release goes on answering, and
//! pushes work again once the engine is back.

use std::time::Duration;

use crate::deploy_support::{Leftovers, python_function, python_image, unique, watchdog_image};
use crate::faults::{Poller, branch, releases};
use crate::frozen_proxy::EngineSocket;
use crate::gitutil::WorkTree;
use crate::support::{Part, docker_available, need, spawn_app_with};

#[tokio::test(flavor = "multi_thread")]
async fn an_engine_that_goes_away_before_or_during_a_push_refuses_it_and_changes_nothing() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    let sockets = tempfile::tempdir().expect("tmp");
    let engine = EngineSocket::start(
        sockets.path().join("docker.sock"),
        "/var/run/docker.sock".into(),
    );
    let host = engine.host();
    let watchdog = watchdog_image();
    let app = spawn_app_with(move |config| {
        config.docker_host = lmnop::engine::DockerHost::new(Some(host));
        config.build_args = lmnop::config::parse_build_args(&format!(
            "python3.12.BASE_IMAGE={},WATCHDOG_IMAGE={watchdog}",
            python_image()
        ))
        .expect("build args");
    })
    .await;
    let name = unique("engineless");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let url = app.admin_url(&name);
    python_function(&work, "v1 answers", "");
    work.write("function/build-id.txt", &name);
    let v1 = work.commit("v1");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);

    // Gone before the push.
    let poller = Poller::start(&app, &name, "v1 answers\n");
    engine.stop();
    python_function(&work, "v2 answers", "");
    work.commit("v2");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("cannot reach the Docker engine (")
            && push.stderr.contains(&format!(
                "hint: the Docker engine at {} does not answer",
                engine.host()
            )),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);
    assert!(
        !push.stderr.contains("hyper"),
        "the client library's words stay in the log: {}",
        push.stderr
    );
    assert_eq!(branch(&work, &app, &name).as_deref(), Some(v1.as_str()));
    let recorded = releases(&app, &name).await;
    assert_eq!(
        (
            recorded[0]["number"].as_i64(),
            recorded[0]["status"].as_str()
        ),
        (Some(2), Some("failed")),
        "{recorded:?}"
    );
    assert!(
        recorded[0]["error"]
            .as_str()
            .is_some_and(|error| error.contains("cannot reach the Docker engine")),
        "{recorded:?}"
    );

    // Gone in the middle of the build.
    engine.resume();
    python_function(&work, "v3 answers", "");
    work.write("function/initialize", "sleep 20\n");
    work.commit("v3, built slowly");
    let push = std::thread::scope(|scope| {
        let pusher = scope.spawn(|| work.git(&["push", &url, "main"]));
        std::thread::sleep(Duration::from_secs(4));
        engine.stop();
        pusher.join().expect("pusher")
    });
    assert!(!push.ok, "{}", push.stderr);
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);
    assert!(
        push.stderr
            .contains("error: build failed: cannot reach the Docker engine"),
        "the build step failed, saying it was the engine: {}",
        push.stderr
    );
    assert_eq!(branch(&work, &app, &name).as_deref(), Some(v1.as_str()));
    let recorded = releases(&app, &name).await;
    assert_eq!(
        (
            recorded[0]["number"].as_i64(),
            recorded[0]["status"].as_str()
        ),
        (Some(3), Some("failed")),
        "{recorded:?}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    poller.assert_steady().await;

    // Back: the next push deploys.
    engine.resume();
    std::fs::remove_file(work.path.join("function/initialize")).expect("rm");
    work.commit("v4");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!("success: {name} v4 is live")),
        "{}",
        push.stderr
    );
    crate::deploy_support::remove_containers(&name).await;
    app.stop().await;
}

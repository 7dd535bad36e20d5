//! The release pipeline on the fake builder and runtime: real git, a real server and database,
//! no engine. What a push promises around the build and the deploy (a failed step keeps the
//! previous release serving and the branch where it was; scaling converges) is checked here in
//! every `cargo test`, through git, the router and the API only.

use serde_json::Value;

use crate::deploy_support::python_function;
use crate::gitutil::{WorkTree, ls_remote, ref_id};
use crate::support::{ADMIN_PASSWORD, TestApp, spawn_fake_app};

/// `GET path` through the router; (status, body).
async fn get(app: &TestApp, path: &str) -> (u16, String) {
    let response = reqwest::get(app.url(path)).await.expect("lmnop answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

/// An API call as the admin; (status, JSON body or Null).
async fn api(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .basic_auth("admin", Some(ADMIN_PASSWORD));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    let text = response.text().await.unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The main branch's commit as the server has it.
fn served_branch(work: &WorkTree, app: &TestApp, name: &str) -> Option<String> {
    ref_id(
        &ls_remote(&work.path, &app.admin_url(name)),
        "refs/heads/main",
    )
}

/// A first push that deploys v1, answering "one (v1)"; its commit.
pub async fn first_release(app: &TestApp, work: &WorkTree, name: &str, extra_yml: &str) -> String {
    python_function(work, "one", extra_yml);
    let v1 = work.commit("v1");
    let push = work.git(&["push", &app.admin_url(name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!("success: {name} v1 is live")),
        "{}",
        push.stderr
    );
    assert_eq!(
        get(app, &format!("/function/{name}/")).await,
        (200, "one (v1)\n".to_owned())
    );
    v1
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_that_never_becomes_healthy_leaves_the_previous_one_serving() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let v1 = first_release(&app, &work, "steady", "").await;

    python_function(&work, "two", "");
    work.write(
        "function.yml",
        "template: python3.12\nenvironment:\n  GREETING: two\n  FAKE_HEALTH: fail\n",
    );
    work.commit("v2 never answers");
    let push = work.git(&["push", &app.admin_url("steady"), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("error: health check failed: the new version did not become healthy"),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains("the previous release keeps serving"),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);
    assert_eq!(
        get(&app, "/function/steady/").await,
        (200, "one (v1)\n".to_owned())
    );
    assert_eq!(served_branch(&work, &app, "steady"), Some(v1));

    let (status, detail) = api(&app, reqwest::Method::GET, "/api/v1/functions/steady", None).await;
    assert_eq!(status, 200, "{detail}");
    assert_eq!(detail["release"], 1, "{detail}");
    assert_eq!(detail["releases"][0]["number"], 2, "{detail}");
    assert_eq!(detail["releases"][0]["status"], "failed", "{detail}");
    let error = detail["releases"][0]["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("health check: "), "{detail}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_build_leaves_the_previous_release_serving_and_the_branch_unmoved() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let v1 = first_release(&app, &work, "sturdy", "").await;

    python_function(&work, "two", "");
    work.write(lmnop::build::builder::FAKE_FAILING_FILE, "\n");
    work.commit("v2 does not build");
    let push = work.git(&["push", &app.admin_url("sturdy"), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("error: build failed: a RUN step exited with code 1"),
        "{}",
        push.stderr
    );
    assert_eq!(
        get(&app, "/function/sturdy/").await,
        (200, "one (v1)\n".to_owned())
    );
    assert_eq!(served_branch(&work, &app, "sturdy"), Some(v1));
    let (_, detail) = api(&app, reqwest::Method::GET, "/api/v1/functions/sturdy", None).await;
    assert_eq!(detail["release"], 1, "{detail}");
    assert_eq!(detail["releases"][0]["status"], "failed", "{detail}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_push_after_a_failed_one_serves_the_new_release() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    first_release(&app, &work, "onward", "").await;
    python_function(&work, "three", "");
    let v3 = work.commit("v3");
    let push = work.git(&["push", &app.admin_url("onward"), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("success: onward v2 is live"),
        "{}",
        push.stderr
    );
    assert_eq!(
        get(&app, "/function/onward/").await,
        (200, "three (v2)\n".to_owned())
    );
    assert_eq!(served_branch(&work, &app, "onward"), Some(v3));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn scaling_converges_and_later_pushes_keep_the_number() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    first_release(&app, &work, "wide", "scaling: {min: 1, max: 3}\n").await;
    let runtime = app.state.runtime.fake().expect("the fake runtime");

    let scale = "/api/v1/functions/wide/scale";
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        scale,
        Some(serde_json::json!({"replicas": 3})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(runtime.running("wide"), Some((1, 3)));
    for _ in 0..6 {
        assert_eq!(
            get(&app, "/function/wide/").await,
            (200, "one (v1)\n".to_owned())
        );
    }
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        scale,
        Some(serde_json::json!({"replicas": 4})),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap_or_default()
            .contains("may run 1 to 3"),
        "{body}"
    );
    let (status, _) = api(
        &app,
        reqwest::Method::PUT,
        scale,
        Some(serde_json::json!({"replicas": 2})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(runtime.running("wide"), Some((1, 2)));

    python_function(&work, "two", "scaling: {min: 1, max: 3}\n");
    work.commit("v2");
    let push = work.git(&["push", &app.admin_url("wide"), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("Starting 2 containers of v2"),
        "{}",
        push.stderr
    );
    assert_eq!(runtime.running("wide"), Some((2, 2)));

    let (status, _) = api(
        &app,
        reqwest::Method::DELETE,
        "/api/v1/functions/wide",
        None,
    )
    .await;
    assert_eq!(status, 204);
    assert_eq!(runtime.running("wide"), None);
    assert_eq!(get(&app, "/function/wide/").await.0, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reconciler_brings_back_crashed_replicas_and_removes_what_no_release_owns() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    first_release(&app, &work, "phoenix", "scaling: {min: 1, max: 3}\n").await;
    let runtime = app.state.runtime.fake().expect("the fake runtime");
    let (status, body) = api(
        &app,
        reqwest::Method::PUT,
        "/api/v1/functions/phoenix/scale",
        Some(serde_json::json!({"replicas": 2})),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // Both replicas die; the reconciler starts new ones and points the router at them.
    runtime.crash("phoenix");
    assert_eq!(runtime.running("phoenix"), Some((1, 0)));
    let before = app.state.routes.backends("phoenix");
    let report = lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("reconcile");
    assert_eq!(report.restarted, ["phoenix"], "{report:?}");
    assert_eq!(report.removed, 2, "{report:?}");
    assert_eq!(runtime.running("phoenix"), Some((1, 2)), "the asked number");
    let after = app.state.routes.backends("phoenix");
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|backend| !before.contains(backend)),
        "{before:?} {after:?}"
    );
    assert_eq!(
        get(&app, "/function/phoenix/").await,
        (200, "one (v1)\n".to_owned())
    );

    // Something runs that no release owns: the next pass removes it.
    let stray = lmnop::runtime::Deployment {
        instance: app.state.instance.clone(),
        function: "stray".to_owned(),
        release: 7,
        commit: "0".repeat(40),
        pusher: None,
        image: "none".to_owned(),
        spec: lmnop::spec::FunctionSpec {
            template: "python3.12".to_owned(),
            requests: lmnop::spec::Resources::DEFAULT_REQUESTS,
            limits: lmnop::spec::Resources::DEFAULT_LIMITS,
            environment: Default::default(),
            secrets: Vec::new(),
            options: Default::default(),
            scaling: lmnop::spec::Scaling { min: 1, max: 1 },
            health: lmnop::spec::Health::default(),
            timeout: lmnop::spec::DEFAULT_REQUEST_TIMEOUT,
        },
        port: 8080,
        readiness: None,
        app_port: None,
        watchdog: false,
        replicas: 1,
    };
    app.state
        .runtime
        .deploy(&stray, None)
        .await
        .expect("deploy");
    let report = lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("reconcile");
    assert_eq!(
        report,
        lmnop::release::reconcile::Report {
            restarted: Vec::new(),
            removed: 1
        }
    );
    assert_eq!(runtime.running("stray"), None);
    assert_eq!(get(&app, "/function/stray/").await.0, 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_s_replica_output_is_read_through_the_api() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    first_release(&app, &work, "chatty", "").await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/functions/chatty/logs?lines=5"))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .send()
        .await
        .expect("logs");
    assert_eq!(response.status(), 200);
    let text = response.text().await.expect("text");
    assert!(
        text.starts_with("==> chatty v1 replica 0 <==\nfake replica listening on 127.0.0.1:"),
        "{text}"
    );
    // Another user's function does not exist for them.
    app.add_user("mallory", "mallory-password-1").await;
    let response = reqwest::Client::new()
        .get(app.url("/api/v1/functions/chatty/logs"))
        .basic_auth("mallory", Some("mallory-password-1"))
        .send()
        .await
        .expect("logs");
    assert_eq!(response.status(), 404);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deploy_push_overtaken_while_it_waited_is_refused_before_anything_is_built() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let v1 = first_release(&app, &work, "overtaken", "").await;
    // Another commit reaches the repository on a side branch.
    let other = WorkTree::new(tmp.path(), "other");
    python_function(&other, "theirs", "");
    let theirs = other.commit("theirs");
    let url = app.admin_url("overtaken");
    let pushed = other.git(&["push", "-q", &url, "main:side"]);
    assert!(pushed.ok, "{}", pushed.stderr);

    // The next push reads the refs, then waits for the function's lock while main moves
    // under it.
    python_function(&work, "two", "");
    work.commit("v2");
    let push = app
        .push_overtaken(
            &work.path,
            &["push", &url, "main"],
            "overtaken",
            ["refs/heads/main", &theirs, &v1],
        )
        .await;
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!(
            "main moved from {} to {} by another push while this one waited",
            &v1[..7],
            &theirs[..7]
        )),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("Building"), "{}", push.stderr);
    assert_eq!(served_branch(&work, &app, "overtaken"), Some(theirs));
    // Nothing was released: v1 keeps serving and is the only release.
    let runtime = app.state.runtime.fake().expect("the fake runtime");
    assert_eq!(runtime.running("overtaken"), Some((1, 1)));
    assert_eq!(
        get(&app, "/function/overtaken/").await,
        (200, "one (v1)\n".to_owned())
    );
    let (_, detail) = api(
        &app,
        reqwest::Method::GET,
        "/api/v1/functions/overtaken",
        None,
    )
    .await;
    assert_eq!(
        detail["releases"].as_array().map(Vec::len),
        Some(1),
        "{detail}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_first_push_to_a_reserved_name_is_refused_with_the_list() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "");
    work.commit("v1");
    for name in ["api", "portal", "www"] {
        let push = work.git(&["push", &app.admin_url(name), "main"]);
        assert!(!push.ok, "{}", push.stderr);
        assert!(
            push.stderr
                .contains(&format!("error: {name} is a reserved name")),
            "{}",
            push.stderr
        );
        assert!(
            push.stderr.contains("reserved: admin, api,"),
            "{}",
            push.stderr
        );
        assert!(!push.stderr.contains("Building"), "{}", push.stderr);
        assert_eq!(app.function_detail(name).await, None, "no {name} function");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn other_refs_are_said_to_be_stored_only_when_the_push_is_accepted() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "sick", "");
    work.write(
        "function.yml",
        "template: python3.12\nenvironment:\n  GREETING: sick\n  FAKE_HEALTH: fail\n",
    );
    work.commit("v1 that never answers");
    let url = app.admin_url("together");
    let push = work.git(&["push", &url, "main", "main:side"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("health check failed"),
        "{}",
        push.stderr
    );
    assert!(
        !push.stderr.contains("stored at"),
        "nothing was stored: {}",
        push.stderr
    );

    python_function(&work, "well", "");
    work.commit("v2 that answers");
    let push = work.git(&["push", &url, "main", "main:side"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("branch side stored at"),
        "{}",
        push.stderr
    );
    app.stop().await;
}

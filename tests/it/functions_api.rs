//! The functions API on the real engine: list and show, scale within the function's range (new
//! containers serve once healthy, the number survives a push and the reconciler), full logs, and
//! delete (containers, routes, releases and repository gone; the name free again).

use serde_json::Value;

use crate::deploy_support::{
    Leftovers, containers_of, deploy_app, fetch, get, python_function, remove_containers, unique,
};
use crate::gitutil::WorkTree;
use crate::support::{ADMIN_PASSWORD, TestApp};

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    user: (&str, &str),
    body: Option<Value>,
) -> (u16, String) {
    let mut request = reqwest::Client::new()
        .request(method, app.url(path))
        .basic_auth(user.0, Some(user.1));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the API answers");
    let status = response.status().as_u16();
    (status, response.text().await.unwrap_or_default())
}

fn running(name: &str) -> usize {
    containers_of(name, false).len()
}

const ADMIN: (&str, &str) = ("admin", ADMIN_PASSWORD);

#[tokio::test(flavor = "multi_thread")]
async fn functions_are_listed_scaled_within_their_range_logged_and_deleted() {
    let Some(app) = deploy_app().await else {
        return;
    };
    app.add_user("bob", "bob-password-1").await;
    let name = unique("api");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "scaling: {min: 1, max: 3}\n");
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);

    // List and show.
    let (status, body) = call(&app, reqwest::Method::GET, "/api/v1/functions", ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    let list: Value = serde_json::from_str(&body).expect("json");
    let mine = list
        .as_array()
        .expect("a list")
        .iter()
        .find(|f| f["name"] == name.as_str())
        .expect("listed");
    assert_eq!(mine["release"], 1);
    assert_eq!(mine["owner"], "admin");
    assert_eq!(mine["scaling"]["max"], 3);
    let path = format!("/api/v1/functions/{name}");
    let (status, body) = call(&app, reqwest::Method::GET, &path, ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(detail["releases"][0]["status"], "deployed");
    assert_eq!(detail["releases"][0]["commit"], work.head().as_str());

    // Someone else sees nothing and changes nothing.
    let bob = ("bob", "bob-password-1");
    let (status, _) = call(&app, reqwest::Method::GET, &path, bob, None).await;
    assert_eq!(status, 404);
    let (status, body) = call(&app, reqwest::Method::GET, "/api/v1/functions", bob, None).await;
    assert_eq!((status, body.as_str()), (200, "[]"));
    let scale = format!("{path}/scale");
    let three = Some(serde_json::json!({"replicas": 3}));
    let (status, _) = call(&app, reqwest::Method::PUT, &scale, bob, three.clone()).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, reqwest::Method::DELETE, &path, bob, None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, reqwest::Method::GET, &path, ("admin", "wrong"), None).await;
    assert_eq!(status, 401);

    // Scale up: three containers, all serving.
    let (status, body) = call(&app, reqwest::Method::PUT, &scale, ADMIN, three).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(running(&name), 3);
    assert_eq!(app.state.routes.backends(&name).len(), 3);
    for _ in 0..6 {
        let (status, body) = get(&app, &format!("/function/{name}/"), None).await;
        assert_eq!((status, body.trim()), (200, "one"));
    }

    // Out of range, or not a number: refused with the range, nothing changes.
    let (status, body) = call(
        &app,
        reqwest::Method::PUT,
        &scale,
        ADMIN,
        Some(serde_json::json!({"replicas": 5})),
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("may run 1 to 3 containers"), "{body}");
    let (status, _) = call(
        &app,
        reqwest::Method::PUT,
        &scale,
        ADMIN,
        Some(serde_json::json!({"replicas": "many"})),
    )
    .await;
    assert!((400..500).contains(&status), "{status}");
    assert_eq!(running(&name), 3);

    // Down to two; a push keeps two; the reconciler brings a lost one back.
    let two = Some(serde_json::json!({"replicas": 2}));
    let (status, body) = call(&app, reqwest::Method::PUT, &scale, ADMIN, two).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(running(&name), 2);
    python_function(&work, "two", "scaling: {min: 1, max: 3}\n");
    work.commit("v2");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("Starting 2 containers of v2"),
        "{}",
        push.stderr
    );
    let gone = app.state.routes.backends(&name).len();
    assert_eq!(gone, 2);
    let victim = containers_of(&name, false).remove(0);
    std::process::Command::new("docker")
        .args(["rm", "-f", &victim])
        .output()
        .expect("docker rm");
    // The engine reports the container gone; lmnop starts another at once.
    let mut serving = (0, 0);
    for _ in 0..200 {
        serving = (running(&name), app.state.routes.backends(&name).len());
        if serving == (2, 2) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(serving, (2, 2), "running containers and routed backends");

    // Full logs, by number or vN.
    let (status, log) = call(
        &app,
        reqwest::Method::GET,
        &format!("{path}/releases/v1/log"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(log.contains("Building"), "{log}");
    let (status, _) = call(
        &app,
        reqwest::Method::GET,
        &format!("{path}/releases/9/log"),
        ADMIN,
        None,
    )
    .await;
    assert_eq!(status, 404);

    // Delete: nothing of it is left, and the name can be pushed afresh.
    let (status, body) = call(&app, reqwest::Method::DELETE, &path, ADMIN, None).await;
    assert_eq!(status, 204, "{body}");
    assert_eq!(running(&name), 0);
    let (status, _) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!(status, 404);
    let (status, _) = call(&app, reqwest::Method::GET, &path, ADMIN, None).await;
    assert_eq!(status, 404);
    assert!(!app.repos_dir().join(format!("{name}.git")).exists());
    let audit = lmnop::db::audit::recent(&app.state.db, 10)
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "function.delete" && e.target == name)
    );
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!("{name} v1 is live")),
        "{}",
        push.stderr
    );

    remove_containers(&name).await;
    app.stop().await;
}

/// The release's recorded function.yml is read back as it was recorded: a function with build
/// `options` shows its scaling range, is restarted by the reconciler and can be scaled (its
/// recorded options were once refused on reading back, so none of this happened).
#[tokio::test(flavor = "multi_thread")]
async fn a_function_with_options_is_reconciled_and_scaled() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("opts");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(
        &work,
        "opts",
        "options:\n  PIP_INDEX_URL: https://pypi.org/simple\nscaling: {min: 1, max: 2}\n",
    );
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let path = format!("/api/v1/functions/{name}");
    let (status, body) = call(&app, reqwest::Method::GET, &path, ADMIN, None).await;
    assert_eq!(status, 200, "{body}");
    let detail: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(detail["scaling"]["max"], 2, "{body}");

    // Its container goes away behind lmnop's back; lmnop brings it back from the recorded
    // release (options and all) and it answers again.
    for victim in containers_of(&name, false) {
        std::process::Command::new("docker")
            .args(["rm", "-f", &victim])
            .output()
            .expect("docker rm");
    }
    let mut answer = (0, String::new());
    for _ in 0..200 {
        answer = get(&app, &format!("/function/{name}/"), None).await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!((answer.0, answer.1.trim()), (200, "opts"));
    assert_eq!(running(&name), 1);

    // And it scales within its range.
    let two = Some(serde_json::json!({"replicas": 2}));
    let (status, body) = call(
        &app,
        reqwest::Method::PUT,
        &format!("{path}/scale"),
        ADMIN,
        two,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(running(&name), 2);

    remove_containers(&name).await;
    app.stop().await;
}

/// Behind the watchdog, a request may run as long as the function's `timeout`, past the
/// watchdog's own 30 s default (lmnop sets its timeouts), and scaling down waits for the
/// requests the container that goes is answering before it stops it.
#[tokio::test(flavor = "multi_thread")]
async fn long_requests_run_to_the_function_s_timeout_and_survive_a_scale_down() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("long");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(
        &work,
        "patient",
        "timeout: 45s\nscaling: {min: 1, max: 2}\n",
    );
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let scale = format!("/api/v1/functions/{name}/scale");
    let two = Some(serde_json::json!({"replicas": 2}));
    let (status, body) = call(&app, reqwest::Method::PUT, &scale, ADMIN, two).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(running(&name), 2);

    // Round robin: one long request on each container.
    let slow = app.url(&format!("/function/{name}/slow?seconds=40"));
    let requests: Vec<_> = (0..2).map(|_| tokio::spawn(fetch(slow.clone()))).collect();
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    let one = Some(serde_json::json!({"replicas": 1}));
    let (status, body) = call(&app, reqwest::Method::PUT, &scale, ADMIN, one).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(running(&name), 1);
    for request in requests {
        assert_eq!(
            request.await.expect("request"),
            (200, "patient\n".to_owned()),
            "a 40 s request answers in full"
        );
    }
    remove_containers(&name).await;
    app.stop().await;
}

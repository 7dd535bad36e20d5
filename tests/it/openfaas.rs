//! The OpenFaaS runtime, pushed to with real git, built on the real engine and pushed to the real
//! local registry, deployed through a stand-in of the gateway (`tests/standins/gateway`) that
//! answers as the real one does (`OPENFAAS-OBSERVED.md`) and records what it was asked: the
//! tests check those requests, not only what lmnop printed.

use std::io::BufRead;
use std::time::Duration;

use serde_json::Value;

use crate::deploy_support::{
    Leftovers, containers_of, python_function, python_image, unique, watchdog_image,
};
use crate::faults::{branch, releases};
use crate::gitutil::WorkTree;
use crate::support::{Part, TestApp, docker_available, need, spawn_app_with, test_registry};

pub const GATEWAY_PASSWORD: &str = "gateway-pw-31c9e";

/// A stand-in gateway of the test's own.
pub struct StandinGateway {
    child: std::process::Child,
    pub url: String,
}

impl StandinGateway {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// With more of the stand-in's options (`--provider faas-netes`, `--max-functions N`).
    pub fn start_with(options: &[&str]) -> Self {
        let binary = std::path::Path::new(env!("CARGO_BIN_EXE_lmnop"))
            .parent()
            .expect("target dir")
            .join("examples/gateway-standin");
        assert!(
            binary.is_file(),
            "the gateway stand-in is missing: run `cargo build --example gateway-standin` first \
             (scripts/test does): {}",
            binary.display()
        );
        let mut child = std::process::Command::new(binary)
            .args(["--listen", "127.0.0.1:0", "--user", "admin", "--password"])
            .arg(GATEWAY_PASSWORD)
            .args(options)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("the stand-in starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the stand-in says where it listens");
        let address = line
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .to_owned();
        Self {
            child,
            url: format!("http://{address}"),
        }
    }

    /// Every `/system` request it received, in order.
    pub async fn requests(&self) -> Vec<Value> {
        reqwest::get(format!("{}/_standin/requests", self.url))
            .await
            .expect("the stand-in answers")
            .json()
            .await
            .expect("json")
    }

    /// Deploys `name` straight at the gateway, as somebody other than lmnop would, from an image
    /// put in the test registry for it.
    pub async fn deploy_directly(&self, name: &str, annotations: Value) {
        let (registry, _) = test_registry().await;
        let image = format!("{registry}/elsewhere/{name}:1");
        for args in [
            vec!["tag".to_owned(), python_image(), image.clone()],
            vec!["push".to_owned(), "--quiet".to_owned(), image.clone()],
        ] {
            let done = std::process::Command::new("docker")
                .args(&args)
                .output()
                .expect("docker runs");
            assert!(done.status.success(), "docker {args:?}: {done:?}");
        }
        let answer = reqwest::Client::new()
            .post(format!("{}/system/functions", self.url))
            .basic_auth("admin", Some(GATEWAY_PASSWORD))
            .json(&serde_json::json!({
                "service": name,
                "image": image,
                "namespace": "openfaas-fn",
                "annotations": annotations,
            }))
            .send()
            .await
            .expect("the stand-in answers");
        assert!(answer.status().is_success(), "{:?}", answer.status());
    }

    /// Deletes `name` at the gateway behind lmnop's back.
    pub async fn delete_directly(&self, name: &str) {
        let answer = reqwest::Client::new()
            .delete(format!("{}/system/functions", self.url))
            .basic_auth("admin", Some(GATEWAY_PASSWORD))
            .json(&serde_json::json!({ "functionName": name }))
            .send()
            .await
            .expect("the stand-in answers");
        assert!(answer.status().is_success(), "{:?}", answer.status());
    }

    /// Forgets the requests received so far.
    pub async fn forget_requests(&self) {
        reqwest::Client::new()
            .delete(format!("{}/_standin/requests", self.url))
            .send()
            .await
            .expect("the stand-in answers");
    }

    /// Makes `/system/*` go `down`, `slow`, answer `error500`, or work again (`none`).
    pub async fn fault(&self, kind: &str, seconds: u64) {
        let answer = reqwest::Client::new()
            .post(format!("{}/_standin/fault", self.url))
            .json(&serde_json::json!({ "kind": kind, "seconds": seconds }))
            .send()
            .await
            .expect("the stand-in answers");
        assert!(answer.status().is_success());
    }
}

impl Drop for StandinGateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server on the OpenFaaS runtime: builds with the offline base images, pushes to the real
/// local registry, deploys through `gateway` with `password`.
async fn openfaas_app(gateway: &StandinGateway, password: &str) -> Option<TestApp> {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return None;
    }
    let (registry, answers) = test_registry().await;
    if !need(
        Part::Registry,
        answers,
        &format!("nothing answers at {registry}/v2/"),
    ) {
        return None;
    }
    let watchdog = watchdog_image();
    let url = gateway.url.clone();
    let password = password.to_owned();
    Some(
        spawn_app_with(move |config| {
            config.build_args = lmnop::config::parse_build_args(&format!(
                "python.BASE_IMAGE={},WATCHDOG_IMAGE={watchdog}",
                python_image()
            ))
            .expect("build args");
            config.runtime = lmnop::config::RuntimeConfig::OpenFaas {
                gateway: lmnop::config::GatewayConfig {
                    url,
                    user: "admin".to_owned(),
                    password: Some(lmnop::domain::Secret::new(password)),
                },
                registry: lmnop::config::RegistryConfig {
                    address: format!("{registry}/lmnop-test"),
                    user: None,
                    password: None,
                    insecure: true,
                },
            };
        })
        .await,
    )
}

/// The recorded requests with this method and path.
fn sent<'a>(requests: &'a [Value], method: &str, path: &str) -> Vec<&'a Value> {
    requests
        .iter()
        .filter(|request| request["method"] == method && request["path"] == path)
        .collect()
}

/// `GET path` over a plain connection, the path exactly as given; the whole answer.
async fn raw_get(app: &TestApp, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(app.address)
        .await
        .expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: lmnop\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("send");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.expect("read");
    String::from_utf8_lossy(&answer).into_owned()
}

async fn function_answer(app: &TestApp, name: &str) -> (u16, String) {
    crate::deploy_support::get(app, &format!("/function/{name}/"), None).await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_is_built_pushed_and_deployed_through_the_gateway_and_served_by_the_router() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let name = unique("faas");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "hello", "scaling: {min: 1, max: 3}\n");
    work.write("function/build-id.txt", &name);
    let v1 = work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!("success: {name} v1 is live")),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr.contains(&format!("/function/{name}")),
        "the URL is printed: {}",
        push.stderr
    );
    assert!(
        push.stderr.contains(
            "the gateway's provider runs 1 replica of a function whatever is asked (faasd)"
        ),
        "{}",
        push.stderr
    );

    // What the gateway was asked: an update (404, there is none), then a create, with the
    // release's image from the real registry and its settings.
    let requests = gateway.requests().await;
    assert!(
        requests.iter().all(|request| request["auth_ok"] == true),
        "{requests:#?}"
    );
    let puts = sent(&requests, "PUT", "/system/functions");
    let posts = sent(&requests, "POST", "/system/functions");
    assert_eq!((puts.len(), posts.len()), (1, 1), "{requests:#?}");
    let body = &posts[0]["body"];
    assert_eq!(body["service"], name.as_str());
    let image = body["image"].as_str().expect("image");
    let (registry, _) = test_registry().await;
    assert!(
        image.starts_with(&format!("{registry}/lmnop-test/{name}:")),
        "{image}"
    );
    assert_eq!(body["envVars"]["GREETING"], "hello");
    assert_eq!(body["labels"]["com.openfaas.scale.min"], "1");
    assert_eq!(body["labels"]["com.openfaas.scale.max"], "3");
    assert_eq!(body["annotations"]["lmnop.release"], "1");
    assert_eq!(body["annotations"]["lmnop.commit"], v1.as_str());
    assert_eq!(body["annotations"]["lmnop.pusher"], "admin");
    assert_eq!(body["readOnlyRootFilesystem"], true);
    assert_eq!(body["limits"]["memory"], "128Mi");
    assert_eq!(body["namespace"], "openfaas-fn");

    // The router sends the function's requests to the gateway's /function/NAME; nothing ran on
    // the local engine.
    assert_eq!(
        function_answer(&app, &name).await,
        (200, format!("{name} {image}\n"))
    );
    assert!(containers_of(&name, true).is_empty(), "no local container");
    // faasd runs one replica: a scale to 3 says so, and asks nothing of the gateway.
    gateway.forget_requests().await;
    let scaled = reqwest::Client::new()
        .put(app.url(&format!("/api/v1/functions/{name}/scale")))
        .basic_auth("admin", Some(crate::support::ADMIN_PASSWORD))
        .json(&serde_json::json!({"replicas": 3}))
        .send()
        .await
        .expect("the API answers");
    assert_eq!(scaled.status(), 200);
    let scaled: Value = scaled.json().await.expect("json");
    assert_eq!(scaled["replicas"], 1, "{scaled}");
    let requests = gateway.requests().await;
    assert!(
        sent(&requests, "POST", &format!("/system/scale-function/{name}")).is_empty(),
        "{requests:#?}"
    );
    // A path that would climb out of /function/NAME never reaches the gateway's API.
    // Sent as written: an HTTP client library would remove the dot segments itself.
    for path in ["%2e%2e/%2e%2e/system/functions", "../../system/functions"] {
        let answer = raw_get(&app, &format!("/function/{name}/{path}")).await;
        assert!(
            answer.starts_with("HTTP/1.1 400") && answer.contains("`.` or `..` segments"),
            "{path}: {answer}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_release_that_never_becomes_ready_puts_the_previous_one_back_and_refuses_the_push() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let name = unique("faasnr");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "");
    work.write("function/build-id.txt", &name);
    let v1 = work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let (_, first) = function_answer(&app, &name).await;

    python_function(
        &work,
        "two",
        "  STANDIN_NEVER_READY: '1'\nhealth: {timeout: 5s}\n",
    );
    work.commit("v2 never answers");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(!push.stderr.contains("success:"), "{}", push.stderr);
    // git dies when its reference-transaction hook refuses, without a report: lmnop writes
    // the report, so the pusher sees the reason and git's own rejection instead of a hang.
    assert!(
        push.stderr
            .contains("remote: error: v2 could not be switched to")
            && push.stderr.contains("did not become ready")
            && push
                .stderr
                .contains("! [remote rejected] main -> main (refused by lmnop"),
        "{}",
        push.stderr
    );
    // v1 deployed again: the last update the gateway got is v1's.
    let requests = gateway.requests().await;
    let puts = sent(&requests, "PUT", "/system/functions");
    assert_eq!(
        puts.last().expect("updates")["body"]["annotations"]["lmnop.release"],
        "1",
        "{requests:#?}"
    );
    let mut answer = (0, String::new());
    for _ in 0..50 {
        answer = function_answer(&app, &name).await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer, (200, first));
    assert_eq!(branch(&work, &app, &name).as_deref(), Some(v1.as_str()));
    let mut recorded = releases(&app, &name).await;
    for _ in 0..20 {
        if recorded[0]["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        recorded = releases(&app, &name).await;
    }
    assert_eq!(
        (
            recorded[0]["number"].as_i64(),
            recorded[0]["status"].as_str()
        ),
        (Some(2), Some("failed")),
        "{recorded:?}"
    );
    assert_eq!(recorded[1]["status"], "deployed", "{recorded:?}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gateway_that_is_down_refuses_or_fails_gives_a_clear_error_and_keeps_the_release() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let name = unique("faasdown");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "");
    work.write("function/build-id.txt", &name);
    let v1 = work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);

    // Down and slow are found before the build (the gateway is asked about the CE limits
    // first): no release is started. A deploy answered with 500 fails the release built for it.
    for (fault, seconds, said) in [
        ("down", 0, "closed the connection without answering"),
        ("slow", 12, "did not answer listing functions within 10s"),
        ("error500", 0, "answered the deploy of"),
    ] {
        gateway.fault(fault, seconds).await;
        python_function(&work, &format!("during {fault}"), "");
        work.commit(&format!("while the gateway is {fault}"));
        let push = work.git(&["push", &app.admin_url(&name), "main"]);
        assert!(!push.ok, "{fault}: {}", push.stderr);
        assert!(push.stderr.contains(said), "{fault}: {}", push.stderr);
        assert!(!push.stderr.contains("success:"), "{}", push.stderr);
        assert_eq!(branch(&work, &app, &name).as_deref(), Some(v1.as_str()));
        let recorded = releases(&app, &name).await;
        if fault == "error500" {
            assert_eq!(recorded[0]["status"], "failed", "{recorded:?}");
        } else {
            assert!(
                !push.stderr.contains("Building"),
                "{fault}: nothing is built: {}",
                push.stderr
            );
        }
        let current: Vec<_> = recorded
            .iter()
            .filter(|release| release["status"] == "deployed")
            .collect();
        assert!(
            current.len() == 1 && current[0]["number"] == 1,
            "v1 stays the serving release: {recorded:?}"
        );
        gateway.fault("none", 0).await;
    }
    app.stop().await;

    // Wrong credentials: the 401 is named with the settings to fix.
    let app = openfaas_app(&gateway, "not-the-password")
        .await
        .expect("the parts were there a moment ago");
    python_function(&work, "wrong password", "");
    work.commit("with a wrong gateway password");
    let push = work.git(&["push", &app.admin_url(&unique("faas401")), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("refused lmnop's credentials (401)")
            && push.stderr.contains("LMNOP_GATEWAY_PASSWORD"),
        "{}",
        push.stderr
    );
    app.stop().await;
}

/// `PUT …/scale`, `GET …/logs` and `DELETE` go to the gateway as OpenFaaS asks for them; the
/// reconciler deploys again what was deleted behind lmnop's back and removes what lmnop deployed
/// and no longer knows, leaving others' functions alone.
#[tokio::test(flavor = "multi_thread")]
async fn scale_logs_delete_and_the_reconciler_go_through_the_gateway() {
    let gateway = StandinGateway::start_with(&["--provider", "faas-netes"]);
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let name = unique("faasops");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "ops", "scaling: {min: 1, max: 3}\n");
    work.write("function/build-id.txt", &name);
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let api = |method: reqwest::Method, path: &str, body: Option<Value>| {
        let mut request = reqwest::Client::new()
            .request(method, app.url(path))
            .basic_auth("admin", Some(crate::support::ADMIN_PASSWORD));
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move {
            let response = request.send().await.expect("the API answers");
            let status = response.status().as_u16();
            (status, response.text().await.unwrap_or_default())
        }
    };
    let path = format!("/api/v1/functions/{name}");

    // Scale: the provider acts on the body's serviceName.
    gateway.forget_requests().await;
    let (status, body) = api(
        reqwest::Method::PUT,
        &format!("{path}/scale"),
        Some(serde_json::json!({"replicas": 3})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let requests = gateway.requests().await;
    let scales = sent(&requests, "POST", &format!("/system/scale-function/{name}"));
    assert_eq!(scales.len(), 1, "{requests:#?}");
    assert_eq!(scales[0]["body"]["serviceName"], name.as_str());
    assert_eq!(scales[0]["body"]["replicas"], 3);

    // Logs: what the provider printed, from /system/logs.
    let (status, logs) = api(reqwest::Method::GET, &format!("{path}/logs"), None).await;
    assert_eq!(status, 200, "{logs}");
    let (registry, _) = test_registry().await;
    assert!(
        logs.contains(&format!("==> {name} v1"))
            && logs.contains(&format!("deployed {registry}/lmnop-test/{name}:")),
        "{logs}"
    );

    // Behind lmnop's back: its function deleted, a function with its annotation it never
    // deployed, and somebody else's.
    gateway.delete_directly(&name).await;
    let ghost = unique("faasghost");
    gateway
        .deploy_directly(
            &ghost,
            serde_json::json!({"lmnop.instance": app.state.instance, "lmnop.release": "4"}),
        )
        .await;
    let theirs = unique("faastheirs");
    gateway
        .deploy_directly(&theirs, serde_json::json!({"owner": "somebody else"}))
        .await;
    gateway.forget_requests().await;
    lmnop::release::reconcile::reconcile(&app.state.releaser)
        .await
        .expect("a pass");
    let requests = gateway.requests().await;
    let deployed = sent(&requests, "POST", "/system/functions");
    assert!(
        deployed.len() == 1
            && deployed[0]["body"]["service"] == name.as_str()
            && deployed[0]["body"]["annotations"]["lmnop.release"] == "1",
        "{requests:#?}"
    );
    let removed: Vec<_> = sent(&requests, "DELETE", "/system/functions")
        .into_iter()
        .map(|request| request["body"]["functionName"].clone())
        .collect();
    assert_eq!(removed, vec![Value::from(ghost.as_str())], "{requests:#?}");
    let mut answer = (0, String::new());
    for _ in 0..50 {
        answer = function_answer(&app, &name).await;
        if answer.0 == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answer.0, 200, "{answer:?}");
    // Both processes' lines are in the logs now, each line saying whose.
    let (_, logs) = api(reqwest::Method::GET, &format!("{path}/logs"), None).await;
    let instances: std::collections::BTreeSet<&str> = logs
        .lines()
        .filter_map(|line| line.strip_prefix("[instance ")?.split(']').next())
        .collect();
    assert_eq!(instances.len(), 2, "{logs}");

    // Delete: gone at the gateway and from the router.
    gateway.forget_requests().await;
    let (status, body) = api(reqwest::Method::DELETE, &path, None).await;
    assert_eq!(status, 204, "{body}");
    let requests = gateway.requests().await;
    let deleted = sent(&requests, "DELETE", "/system/functions");
    assert!(
        deleted.len() == 1 && deleted[0]["body"]["functionName"] == name.as_str(),
        "{requests:#?}"
    );
    assert_eq!(function_answer(&app, &name).await.0, 404);
    app.stop().await;
}

/// The Community Edition's limits are told before anything is built: more than five replicas,
/// and a sixteenth function.
#[tokio::test(flavor = "multi_thread")]
async fn the_community_edition_s_limits_are_told_before_the_build() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "many", "scaling: {min: 1, max: 6}\n");
    work.commit("six replicas");
    let name = unique("faasce");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("OpenFaaS Community Edition runs at most 5 replicas of a function")
            && push
                .stderr
                .contains("set scaling.max in function.yml to 5 or less")
            && !push.stderr.contains("Building"),
        "{}",
        push.stderr
    );

    for index in 0..15 {
        gateway
            .deploy_directly(&format!("{name}-{index}"), serde_json::json!({}))
            .await;
    }
    gateway.forget_requests().await;
    python_function(&work, "sixteenth", "");
    work.commit("a sixteenth function");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("the OpenFaaS gateway already runs 15 functions, the most OpenFaaS Community Edition allows")
            && !push.stderr.contains("Building"),
        "{}",
        push.stderr
    );
    let requests = gateway.requests().await;
    assert!(
        requests.iter().all(|request| request["method"] == "GET"),
        "nothing was asked to change: {requests:#?}"
    );
    app.stop().await;
}

/// `lmnop secret set` and `rm` keep the gateway's secrets with lmnop's; a function that uses one
/// is deployed with it, and a secret the gateway never had is removed without an error.
#[tokio::test(flavor = "multi_thread")]
async fn secrets_are_kept_at_the_gateway_and_deployed_with_the_functions_that_use_them() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let (registry, _) = test_registry().await;
    let secret = |args: &[&str], value: &str| {
        let mut command = app.lmnop();
        command
            .arg("secret")
            .args(args)
            .env("LMNOP_RUNTIME", "openfaas")
            .env("LMNOP_GATEWAY_URL", &gateway.url)
            .env("LMNOP_GATEWAY_PASSWORD", GATEWAY_PASSWORD)
            .env("LMNOP_REGISTRY", format!("{registry}/lmnop-test"));
        crate::support::run(&mut command, value)
    };
    let name = unique("faassec");
    let key = format!("{name}-key");
    let (code, out, err) = secret(&["set", &key], "the value 7f3a\n");
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains(&format!("set secret {key} at the OpenFaaS gateway")),
        "{out}"
    );
    let requests = gateway.requests().await;
    let puts = sent(&requests, "PUT", "/system/secrets");
    assert!(
        puts.len() == 1 && puts[0]["body"]["name"] == key.as_str() && puts[0]["auth_ok"] == true,
        "{requests:#?}"
    );
    assert!(
        !format!("{requests:?}").contains("7f3a") && !out.contains("7f3a") && !err.contains("7f3a"),
        "the value is never shown"
    );

    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "secretive", &format!("secrets: [{key}]\n"));
    work.commit("uses the key");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let requests = gateway.requests().await;
    let deployed = sent(&requests, "POST", "/system/functions");
    assert_eq!(
        deployed.last().expect("deployed")["body"]["secrets"],
        serde_json::json!([key]),
        "{requests:#?}"
    );

    // The gateway down: lmnop keeps the secret and says the gateway does not have it yet.
    let other = format!("{name}-other");
    gateway.fault("down", 0).await;
    let (code, _, err) = secret(&["set", &other], "another value\n");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("closed the connection without answering")
            && err.contains("lmnop keeps the secret"),
        "{err}"
    );
    gateway.fault("none", 0).await;
    // Removed: at the gateway too, and one the gateway never had is no error.
    gateway.forget_requests().await;
    for removed in [&key, &other] {
        let (code, out, err) = secret(&["rm", removed], "");
        assert_eq!(code, 0, "{removed}: {out}{err}");
        assert!(
            out.contains(&format!("removed secret {removed} at the OpenFaaS gateway")),
            "{out}"
        );
    }
    let requests = gateway.requests().await;
    let deletes: Vec<_> = sent(&requests, "DELETE", "/system/secrets")
        .into_iter()
        .map(|request| request["body"]["name"].clone())
        .collect();
    assert_eq!(
        deletes,
        vec![Value::from(key.as_str()), Value::from(other.as_str())]
    );
    app.stop().await;
}

/// An update can fail at the gateway after the checks before it (which set secrets and look the
/// image up): with the image gone, OpenFaaS deletes the running function; with a secret gone,
/// the function stays with no replica. Either way the runtime deploys the previous release again
/// at once (creating it when it is gone), and it serves.
#[tokio::test(flavor = "multi_thread")]
async fn an_update_that_fails_at_the_gateway_is_undone_by_deploying_the_previous_one() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let name = unique("faasput");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "kept", "");
    work.write("function/build-id.txt", &name);
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let (_, first) = function_answer(&app, &name).await;

    let serving = lmnop::db::releases::serving_one(&app.state.db, &name)
        .await
        .expect("db")
        .expect("v1 serves");
    let v1 = app
        .state
        .releaser
        .deployment(&name, &serving.release, serving.desired_replicas)
        .expect("v1 has an image");
    let lmnop::runtime::Runtime::OpenFaas(runtime) = app.state.releaser.runtime.as_ref() else {
        panic!("the openfaas runtime");
    };
    let (registry, _) = test_registry().await;
    let mut no_image = v1.clone();
    no_image.release = 2;
    no_image.image = format!("{registry}/lmnop-test/{name}:never-pushed");
    let mut no_secret = v1.clone();
    no_secret.release = 3;
    no_secret.spec.secrets = vec!["not-at-the-gateway".to_owned()];
    for (v2, said, restored) in [
        (&no_image, "not found", vec!["PUT 2", "PUT 1", "POST 1"]),
        (
            &no_secret,
            "unable to find secret: not-at-the-gateway",
            vec!["PUT 3", "PUT 1"],
        ),
    ] {
        gateway.forget_requests().await;
        let error = runtime
            .switch(v2, Some(&v1))
            .await
            .expect_err("the update fails");
        assert!(error.to_string().contains(said), "{error}");
        let requests = gateway.requests().await;
        let writes: Vec<String> = requests
            .iter()
            .filter(|request| request["path"] == "/system/functions" && request["method"] != "GET")
            .map(|request| {
                format!(
                    "{} {}",
                    request["method"].as_str().unwrap_or_default(),
                    request["body"]["annotations"]["lmnop.release"]
                        .as_str()
                        .unwrap_or_default()
                )
            })
            .collect();
        assert_eq!(writes, restored, "{requests:#?}");
        assert_eq!(function_answer(&app, &name).await, (200, first.clone()));
    }
    app.stop().await;
}

/// OpenFaaS replaces a function in place, and the new version answers only after a while (the
/// stand-in: 1.5 s of `500 Can't reach service`). Requests through lmnop meanwhile wait at the
/// router and are answered by one version or the other, never by the gap.
#[tokio::test(flavor = "multi_thread")]
async fn requests_during_an_update_in_place_wait_and_are_answered() {
    let gateway = StandinGateway::start();
    let Some(app) = openfaas_app(&gateway, GATEWAY_PASSWORD).await else {
        return;
    };
    let name = unique("faashold");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "  STANDIN_BODY: one\n");
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert_eq!(function_answer(&app, &name).await, (200, "one".to_owned()));

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = tokio::spawn({
        let (url, stop) = (app.url(&format!("/function/{name}/")), stop.clone());
        async move {
            let client = reqwest::Client::new();
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let answer = match client.get(&url).send().await {
                    Ok(response) => {
                        let status = response.status().as_u16();
                        (status, response.text().await.unwrap_or_default())
                    }
                    Err(error) => (0, error.to_string()),
                };
                seen.push(answer);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        }
    });
    python_function(
        &work,
        "two",
        "  STANDIN_BODY: two\n  STANDIN_READY_AFTER_MS: '1500'\n",
    );
    work.commit("v2, slow to start");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = poller.await.expect("the poller ends");
    let bad: Vec<_> = seen
        .iter()
        .filter(|(status, body)| !(*status == 200 && (body == "one" || body == "two")))
        .collect();
    assert!(bad.is_empty(), "answers from the gap: {bad:?}");
    assert!(seen.iter().any(|(_, body)| body == "one"), "{seen:?}");
    assert_eq!(seen.last().map(|(_, body)| body.as_str()), Some("two"));
    app.stop().await;
}

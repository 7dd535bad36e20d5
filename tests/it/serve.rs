//! The server: health, metrics, first start, and a graceful stop of the real binary.

use std::time::Duration;

use crate::support::{ADMIN_PASSWORD, Workspace, free_port, spawn_app};

#[tokio::test]
async fn healthz_answers_and_metrics_count_it() {
    let app = spawn_app().await;
    let client = reqwest::Client::new();
    let health = client
        .get(app.url("/healthz"))
        .send()
        .await
        .expect("healthz");
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.expect("body"), "ok\n");

    let metrics = client
        .get(app.url("/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.expect("body");
    assert!(
        text.contains(r#"lmnop_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{text}"
    );
    assert!(text.contains("lmnop_build_info"), "{text}");

    let missing = client
        .get(app.url("/no/such/page"))
        .send()
        .await
        .expect("404");
    assert_eq!(missing.status(), 404);
    app.stop().await;
}

#[tokio::test]
async fn first_start_creates_admin_with_the_configured_password() {
    let app = spawn_app().await;
    let users = app.state.accounts.list().await.expect("users");
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].name, "admin");
    let admin = app
        .state
        .accounts
        .authenticate("admin", &lmnop::domain::Secret::new(ADMIN_PASSWORD))
        .await;
    assert!(admin.is_ok());
    app.stop().await;
}

#[test]
fn config_debug_output_hides_secrets() {
    let data_dir = lmnop::store::DataDir::new("/tmp/x").expect("absolute");
    let mut config = lmnop::config::Config::with_data_dir(data_dir);
    config.database.url = lmnop::domain::Secret::new("postgres://u:db-secret@h/d");
    config.admin_password = Some(lmnop::domain::Secret::new("admin-secret"));
    let shown = format!("{config:?}");
    assert!(
        !shown.contains("db-secret") && !shown.contains("admin-secret"),
        "{shown}"
    );
}

#[tokio::test]
async fn the_binary_serves_logs_the_random_admin_password_and_stops_on_sigterm() {
    let ws = Workspace::new().await;
    let port = free_port();
    let child = ws
        .lmnop()
        .args(["serve", "--log-format", "json"])
        .env("LMNOP_LISTEN", format!("127.0.0.1:{port}"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("lmnop serve starts");

    let url = format!("http://127.0.0.1:{port}/healthz");
    let mut answered = false;
    for _ in 0..100 {
        if let Ok(response) = reqwest::get(&url).await {
            answered = response.status() == 200;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(answered, "lmnop serve answers /healthz");

    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status();
    assert!(killed.expect("kill runs").success());
    let output = child.wait_with_output().expect("lmnop stops");
    let logs = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "graceful exit: {logs}");
    assert!(logs.contains("SIGTERM received"), "{logs}");

    // JSON logs: every line parses, and the first admin's password is among them, once.
    let lines: Vec<serde_json::Value> = logs
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON log line"))
        .collect();
    let created: Vec<_> = lines
        .iter()
        .filter(|line| {
            line["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("created the first user"))
        })
        .collect();
    assert_eq!(created.len(), 1, "{logs}");
    let password = created[0]["fields"]["password"]
        .as_str()
        .expect("password field");
    assert!(password.len() >= 20);
}

/// The router speaks plain HTTP to the gateway inside the cluster: an https:// gateway URL is
/// refused at start, naming the setting, before anything is set up.
#[tokio::test]
async fn serve_with_the_openfaas_runtime_needs_a_plain_http_gateway_url() {
    let ws = Workspace::new().await;
    let port = free_port();
    let (code, out, err) = crate::support::run(
        ws.lmnop()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .env("LMNOP_RUNTIME", "openfaas")
            .env("LMNOP_GATEWAY_URL", "https://gateway.example.com")
            .env("LMNOP_REGISTRY", "127.0.0.1:9/fns")
            .env("LMNOP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        "",
    );
    assert_ne!(code, 0, "{out}{err}");
    assert!(err.contains("LMNOP_GATEWAY_URL"), "{err}");
    assert!(err.contains("plain http://"), "{err}");
}

#[tokio::test]
async fn the_openfaas_runtime_needs_a_registry() {
    let ws = Workspace::new().await;
    let (code, _, err) = crate::support::run(
        ws.lmnop()
            .arg("doctor")
            .env("LMNOP_RUNTIME", "openfaas")
            .env("LMNOP_GATEWAY_URL", "http://127.0.0.1:9"),
        "",
    );
    assert_ne!(code, 0, "{err}");
    assert!(err.contains("LMNOP_REGISTRY"), "{err}");
}

/// Each fact of a failure appears once in what the operator reads: a wrapper either shows its
/// cause or exposes it to the chain printer, never both.
#[tokio::test]
async fn a_start_failure_says_each_fact_once() {
    let ws = Workspace::new().await;
    let empty_path = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let (code, _, err) = crate::support::run(
        ws.lmnop()
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            // No git on PATH: preparing the repositories fails.
            .env("PATH", empty_path.path())
            .env("LMNOP_ADMIN_PASSWORD", ADMIN_PASSWORD),
        "",
    );
    assert_ne!(code, 0, "{err}");
    let line = err
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {err}"));
    assert!(
        line.starts_with("error: cannot prepare the repositories: cannot run git: "),
        "{line}"
    );
    let facts: Vec<&str> = line.trim_start_matches("error: ").split(": ").collect();
    let mut seen = std::collections::HashSet::new();
    for fact in &facts {
        assert!(seen.insert(*fact), "{fact:?} is repeated in {line:?}");
    }
    assert_eq!(facts.len(), 3, "{line}");
}

/// The CA file is read once, at start: a missing or wrong one stops the server with the
/// setting's name instead of failing every push later.
#[tokio::test]
async fn a_missing_or_non_pem_ca_file_stops_serve_naming_the_setting() {
    let ws = Workspace::new().await;
    let not_pem = ws.dir.path().join("not-a-certificate.txt");
    std::fs::write(&not_pem, "hello\n").expect("write");
    let missing = ws.dir.path().join("missing.pem");
    for (file, expected) in [(&missing, "cannot read"), (&not_pem, "no PEM certificate")] {
        let port = free_port();
        let (code, _, err) = crate::support::run(
            ws.lmnop()
                .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
                .env("LMNOP_BUILD_CA_FILE", file)
                .env("LMNOP_ADMIN_PASSWORD", ADMIN_PASSWORD),
            "",
        );
        assert_ne!(code, 0, "{err}");
        assert!(err.contains("LMNOP_BUILD_CA_FILE"), "{err}");
        assert!(err.contains(expected), "{err}");
    }
}

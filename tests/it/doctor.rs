//! `lmnop doctor`: one line per part, and a missing engine told apart from a missing database.

use crate::support::{Part, Workspace, docker_available, need, run};

#[tokio::test]
async fn all_parts_up_is_exit_zero() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    let ws = Workspace::new().await;
    assert_eq!(run(ws.lmnop().arg("migrate"), "").0, 0);
    let (code, out, err) = run(ws.lmnop().arg("doctor"), "");
    assert_eq!(code, 0, "{out}{err}");
    for part in ["data directory", "database", "docker engine"] {
        let line = out.lines().find(|line| line.contains(part)).expect(&out);
        assert!(line.starts_with("ok "), "{line}");
    }
}

#[tokio::test]
async fn a_missing_docker_engine_is_not_a_missing_database() {
    let ws = Workspace::new().await;
    assert_eq!(run(ws.lmnop().arg("migrate"), "").0, 0);
    let (code, out, _) = run(
        ws.lmnop()
            .arg("doctor")
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock"),
        "",
    );
    assert_eq!(code, 1, "{out}");
    let line = |part: &str| {
        out.lines()
            .find(|line| line.contains(part))
            .expect(&out)
            .to_owned()
    };
    assert!(line("database").starts_with("ok "), "{out}");
    assert!(line("docker engine").starts_with("FAIL"), "{out}");
    assert!(out.contains("/nonexistent/docker.sock"), "{out}");
    assert!(out.contains("fix: start the Docker engine"), "{out}");
}

#[tokio::test]
async fn a_missing_database_is_not_a_missing_docker_engine() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    let ws = Workspace::new().await;
    let (code, out, _) = run(
        ws.lmnop()
            .arg("doctor")
            .env("LMNOP_DATABASE_URL", "postgres://lmnop:pw@127.0.0.1:9/none"),
        "",
    );
    assert_eq!(code, 1, "{out}");
    let line = |part: &str| {
        out.lines()
            .find(|line| line.contains(part))
            .expect(&out)
            .to_owned()
    };
    assert!(line("database").starts_with("FAIL"), "{out}");
    assert!(line("docker engine").starts_with("ok "), "{out}");
    assert!(out.contains("fix: start the database server"), "{out}");
    assert!(!out.contains(":pw@"), "{out}");
}

#[tokio::test]
async fn a_registry_and_gateway_are_checked_when_set() {
    let ws = Workspace::new().await;
    let (code, out, _) = run(
        ws.lmnop()
            .arg("doctor")
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .env("LMNOP_REGISTRY", "127.0.0.1:9/fns")
            .env("LMNOP_RUNTIME", "openfaas")
            .env("LMNOP_GATEWAY_URL", "http://127.0.0.1:9"),
        "",
    );
    assert_eq!(code, 1);
    assert!(
        out.lines()
            .any(|l| l.starts_with("FAIL  registry") && l.contains("http://127.0.0.1:9/v2/")),
        "{out}"
    );
    assert!(out.lines().any(|l| l.starts_with("FAIL  gateway")), "{out}");
}

/// `DOCKER_HOST` is a setting like the others: the flag wins over the environment, and a
/// scheme the engine client cannot speak is named in the check.
#[tokio::test]
async fn the_docker_host_is_a_setting_and_its_flag_wins() {
    let ws = Workspace::new().await;
    let (code, out, _) = run(
        ws.lmnop()
            .args(["doctor", "--docker-host", "unix:///nonexistent/flag.sock"])
            .env("DOCKER_HOST", "unix:///nonexistent/env.sock"),
        "",
    );
    assert_eq!(code, 1, "{out}");
    let engine = out
        .lines()
        .find(|line| line.contains("docker engine"))
        .expect(&out);
    assert!(engine.starts_with("FAIL"), "{out}");
    assert!(engine.contains("/nonexistent/flag.sock"), "{out}");
    assert!(!out.contains("env.sock"), "{out}");

    let (code, out, _) = run(
        ws.lmnop()
            .arg("doctor")
            .env("DOCKER_HOST", "ftp://engine:21"),
        "",
    );
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("ftp://engine:21"), "{out}");
}

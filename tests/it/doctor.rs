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

#[tokio::test]
async fn the_data_directory_is_made_owner_only_and_doctor_warns_when_it_is_not() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new().await;
    let data_dir = ws.data_dir();
    std::fs::create_dir_all(&data_dir).expect("data dir");
    std::fs::set_permissions(&data_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let line_of = |out: &str| {
        out.lines()
            .find(|line| line.contains("data directory"))
            .expect(out)
            .to_owned()
    };
    let (_, out, _) = run(ws.lmnop().arg("doctor"), "");
    let line = line_of(&out);
    assert!(line.starts_with("WARN"), "{out}");
    assert!(
        line.contains("can be read by other users (mode 755)"),
        "{out}"
    );
    assert!(out.contains("fix: chmod -R go-rwx"), "{out}");

    // Any command that opens the data directory makes it owner-only.
    assert_eq!(run(ws.lmnop().args(["secret", "list"]), "").0, 0);
    let mode = |path: &std::path::Path| {
        std::fs::metadata(path).expect("meta").permissions().mode() & 0o777
    };
    assert_eq!(mode(&data_dir), 0o700);
    if !crate::support::TestDatabase::is_postgres() {
        assert_eq!(mode(&data_dir.join("lmnop.db")), 0o600);
    }
    let (_, out, _) = run(ws.lmnop().arg("doctor"), "");
    assert!(line_of(&out).starts_with("ok "), "{out}");
    assert!(line_of(&out).contains("owner-only"), "{out}");
}

/// A git without the `reference-transaction` hook still works, late; doctor says so.
#[tokio::test]
async fn an_old_git_is_a_warning_naming_the_version() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new().await;
    assert_eq!(run(ws.lmnop().arg("migrate"), "").0, 0);
    let bin = ws.dir.path().join("old-git");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let git = bin.join("git");
    std::fs::write(&git, "#!/bin/sh\necho 'git version 2.25.1'\n").expect("fake git");
    std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let (_, out, _) = run(ws.lmnop().arg("doctor").env("PATH", path), "");
    let line = out.lines().find(|line| line.contains(" git ")).expect(&out);
    assert!(line.starts_with("WARN"), "{out}");
    assert!(line.contains("git version 2.25.1"), "{out}");
    assert!(out.contains("fix: install git 2.28 or newer"), "{out}");

    // The git of this machine is new enough.
    let (_, out, _) = run(ws.lmnop().arg("doctor"), "");
    let line = out.lines().find(|line| line.contains(" git ")).expect(&out);
    assert!(line.starts_with("ok "), "{out}");
}

/// With a gateway that answers: its version and provider are named; wrong credentials and a
/// list that crashes without Prometheus are each told apart from "down", with what to fix.
#[tokio::test]
async fn a_gateway_is_named_with_its_provider_and_its_faults_told_apart() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    let gateway = crate::openfaas::StandinGateway::start();
    let ws = Workspace::new().await;
    let doctor = |password: &str| {
        let (_, out, _) = run(
            ws.lmnop()
                .arg("doctor")
                .env("LMNOP_REGISTRY", "127.0.0.1:9/fns")
                .env("LMNOP_RUNTIME", "openfaas")
                .env("LMNOP_GATEWAY_URL", &gateway.url)
                .env("LMNOP_GATEWAY_PASSWORD", password),
            "",
        );
        out.lines()
            .find(|line| line.contains("gateway"))
            .expect(&out)
            .to_owned()
    };
    let line = doctor(crate::openfaas::GATEWAY_PASSWORD);
    assert!(
        line.starts_with("ok ")
            && line.contains("gateway 0.27.14 with faasd 0.19.0 (containerd)")
            && line.contains("credentials accepted"),
        "{line}"
    );
    let line = doctor("wrong");
    assert!(
        line.starts_with("FAIL") && line.contains("refused lmnop's credentials (401)"),
        "{line}"
    );

    // One function, and Prometheus gone: the list closes the connection.
    gateway
        .deploy_directly("somebody-else", serde_json::json!({}))
        .await;
    gateway.fault("no-prometheus", 0).await;
    let line = doctor(crate::openfaas::GATEWAY_PASSWORD);
    assert!(
        line.starts_with("FAIL")
            && line.contains("closed the connection without answering")
            && line.contains("Prometheus"),
        "{line}"
    );
    let (_, out, _) = run(
        ws.lmnop()
            .arg("doctor")
            .env("LMNOP_REGISTRY", "127.0.0.1:9/fns")
            .env("LMNOP_RUNTIME", "openfaas")
            .env("LMNOP_GATEWAY_URL", &gateway.url)
            .env("LMNOP_GATEWAY_PASSWORD", crate::openfaas::GATEWAY_PASSWORD),
        "",
    );
    assert!(out.contains("fix: start Prometheus"), "{out}");
}

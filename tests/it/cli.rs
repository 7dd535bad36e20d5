//! The operator commands, run as a person would: the real binary, real database.

use crate::support::{Workspace, lmnop, run};

#[tokio::test]
async fn user_add_then_list_shows_the_user() {
    let ws = Workspace::new().await;
    let (code, out, err) = run(
        ws.lmnop()
            .args(["user", "add", "alice", "--password-stdin"]),
        "alice-password\n",
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created user alice (member)"), "{out}");
    assert!(
        !out.contains("alice-password"),
        "a chosen password is not echoed: {out}"
    );

    let (code, out, err) = run(ws.lmnop().args(["user", "list"]), "");
    assert_eq!(code, 0, "{err}");
    let alice = out
        .lines()
        .find(|line| line.starts_with("alice "))
        .expect(&out);
    assert!(
        alice.contains("member") && alice.contains("active"),
        "{alice}"
    );
}

#[tokio::test]
async fn a_generated_password_is_printed_once_and_works() {
    let ws = Workspace::new().await;
    let (code, out, err) = run(ws.lmnop().args(["user", "add", "bob", "--admin"]), "");
    assert_eq!(code, 0, "{err}");
    let password = out
        .lines()
        .find_map(|line| line.strip_prefix("password: "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect(&out);
    assert!(password.len() >= 20, "{password}");

    let db = lmnop::db::Db::open(&ws.db.config).await.expect("db");
    let accounts = lmnop::accounts::Accounts::new(db, lmnop::accounts::Passwords::new(1));
    let user = accounts
        .authenticate("bob", &lmnop::domain::Secret::new(password))
        .await
        .expect("the printed password signs in");
    assert_eq!(user.role, lmnop::db::users::Role::Admin);
}

#[tokio::test]
async fn an_invalid_name_is_refused_before_anything_is_written() {
    let ws = Workspace::new().await;
    for name in ["App", "../x", "-x", "a/b", "a;id", &"a".repeat(33)] {
        let (code, _, err) = run(
            ws.lmnop()
                .args(["user", "add", "--password-stdin", "--", name]),
            "password-123\n",
        );
        assert_eq!(code, 1, "{name}: {err}");
        assert!(err.contains("invalid user name"), "{err}");
        assert!(
            err.contains("lowercase letters"),
            "the rule is stated: {err}"
        );
    }
    assert!(!ws.data_dir().exists(), "nothing was created on disk");
}

#[tokio::test]
async fn a_duplicate_name_is_refused_and_the_first_account_stays() {
    let ws = Workspace::new().await;
    let add = |password: &str| {
        run(
            ws.lmnop()
                .args(["user", "add", "carol", "--password-stdin"]),
            &format!("{password}\n"),
        )
    };
    assert_eq!(add("first-password").0, 0);
    let (code, _, err) = add("second-password");
    assert_eq!(code, 1);
    assert!(
        err.contains("a user named \"carol\" already exists"),
        "{err}"
    );

    let db = lmnop::db::Db::open(&ws.db.config).await.expect("db");
    let accounts = lmnop::accounts::Accounts::new(db, lmnop::accounts::Passwords::new(1));
    let secret = lmnop::domain::Secret::new;
    assert!(
        accounts
            .authenticate("carol", &secret("first-password"))
            .await
            .is_ok()
    );
    assert!(
        accounts
            .authenticate("carol", &secret("second-password"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn bad_passwords_are_refused_with_the_reason() {
    let ws = Workspace::new().await;
    let cases = [
        ("short\n".to_owned(), "shorter than 8 characters"),
        (format!("{}\n", "x".repeat(2000)), "longer than 1024 bytes"),
        ("\n".to_owned(), "empty password"),
    ];
    for (input, expected) in cases {
        let (code, _, err) = run(
            ws.lmnop().args(["user", "add", "dave", "--password-stdin"]),
            &input,
        );
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
    let (_, out, _) = run(ws.lmnop().args(["user", "list"]), "");
    assert!(!out.contains("dave"), "{out}");
}

#[tokio::test]
async fn disable_and_enable_change_the_state() {
    let ws = Workspace::new().await;
    run(
        ws.lmnop().args(["user", "add", "erin", "--password-stdin"]),
        "erin-password\n",
    );
    let (code, out, err) = run(ws.lmnop().args(["user", "disable", "erin"]), "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("disabled erin"));
    let (_, out, _) = run(ws.lmnop().args(["user", "list"]), "");
    assert!(
        out.lines()
            .any(|l| l.starts_with("erin ") && l.contains("disabled")),
        "{out}"
    );

    let (code, _, err) = run(ws.lmnop().args(["user", "disable", "nobody"]), "");
    assert_eq!(code, 1);
    assert!(err.contains("there is no user named \"nobody\""), "{err}");

    assert_eq!(run(ws.lmnop().args(["user", "enable", "erin"]), "").0, 0);
    let (_, out, _) = run(ws.lmnop().args(["user", "list"]), "");
    assert!(
        out.lines()
            .any(|l| l.starts_with("erin ") && l.contains("active")),
        "{out}"
    );
}

#[tokio::test]
async fn an_unreachable_database_is_reported_without_its_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("data");
    let (code, _, err) = run(
        lmnop()
            .env("LMNOP_DATA_DIR", &data_dir)
            .env(
                "LMNOP_DATABASE_URL",
                "postgres://lmnop:hunter2@127.0.0.1:9/none",
            )
            .args(["user", "list"]),
        "",
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("cannot connect to the database at postgres://lmnop@127.0.0.1:9/none"),
        "{err}"
    );
    assert!(
        !err.contains("hunter2"),
        "the password is never shown: {err}"
    );
    assert!(!data_dir.exists(), "nothing was created on disk");
}

#[tokio::test]
async fn a_data_directory_that_cannot_be_written_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").expect("write");
    let (code, _, err) = run(
        lmnop()
            .env("LMNOP_DATA_DIR", file.join("data"))
            .args(["user", "add", "frank"]),
        "",
    );
    assert_eq!(code, 1);
    assert!(err.contains("cannot write the data directory"), "{err}");
    assert!(err.contains("LMNOP_DATA_DIR"), "says how to fix it: {err}");
}

#[test]
fn unknown_flags_and_commands_are_refused() {
    let (code, _, err) = run(lmnop().args(["serve", "--no-such-flag"]), "");
    assert_eq!(code, 2);
    assert!(
        err.contains("unexpected argument '--no-such-flag'"),
        "{err}"
    );
    let (code, _, err) = run(lmnop().args(["frobnicate"]), "");
    assert_eq!(code, 2);
    assert!(err.contains("unrecognized subcommand"), "{err}");
}

#[test]
fn every_command_has_help() {
    let commands: &[&[&str]] = &[
        &[],
        &["serve"],
        &["user"],
        &["user", "add"],
        &["user", "passwd"],
        &["user", "disable"],
        &["user", "enable"],
        &["user", "list"],
        &["user", "token"],
        &["migrate"],
        &["doctor"],
    ];
    for command in commands {
        let (code, out, err) = run(lmnop().args(*command).arg("--help"), "");
        assert_eq!(code, 0, "{command:?}: {err}");
        assert!(out.contains("Usage: lmnop"), "{command:?}: {out}");
    }
    let (_, out, _) = run(lmnop().args(["serve", "--help"]), "");
    for setting in [
        "LMNOP_LISTEN",
        "LMNOP_DATA_DIR",
        "LMNOP_DATABASE_URL",
        "LMNOP_ADMIN_PASSWORD_FILE",
    ] {
        assert!(out.contains(setting), "serve --help names {setting}");
    }
}

#[tokio::test]
async fn migrate_brings_a_new_database_up_to_date() {
    let ws = Workspace::new().await;
    let (code, out, err) = run(ws.lmnop().arg("migrate"), "");
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("is up to date (schema version 3)"), "{out}");
    // Twice is harmless.
    assert_eq!(run(ws.lmnop().arg("migrate"), "").0, 0);
}

#[tokio::test]
async fn secrets_are_set_listed_by_name_and_removed() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new().await;
    let (code, out, err) = run(
        ws.lmnop().args(["secret", "set", "db-password"]),
        "very-secret-value\n",
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.trim(),
        "created secret db-password (for administrators' functions)"
    );
    let file = ws.data_dir().join("secrets/db-password");
    assert_eq!(
        std::fs::read_to_string(&file).expect("stored"),
        "very-secret-value"
    );
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "owner-only");

    let (code, out, _) = run(
        ws.lmnop().args(["secret", "set", "db-password"]),
        "second\n",
    );
    assert_eq!(code, 0);
    assert_eq!(
        out.trim(),
        "replaced secret db-password (for administrators' functions)"
    );
    let (_, out, _) = run(ws.lmnop().args(["secret", "list"]), "");
    assert_eq!(out.trim(), "db-password\t(administrators)");
    assert!(!out.contains("second"), "values are never shown");

    for (args, input, expected) in [
        (
            vec!["secret", "set", "Bad_Name"],
            "x",
            "invalid secret name",
        ),
        (
            vec!["secret", "set", "empty"],
            "",
            "no value on standard input",
        ),
        (
            vec!["secret", "rm", "missing"],
            "",
            "there is no secret named missing",
        ),
    ] {
        let (code, _, err) = run(ws.lmnop().args(&args), input);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(expected), "{args:?}: {err}");
    }
    let (code, out, _) = run(ws.lmnop().args(["secret", "rm", "db-password"]), "");
    assert_eq!(code, 0);
    assert!(out.contains("removed secret db-password"));
    assert!(!file.exists());
}

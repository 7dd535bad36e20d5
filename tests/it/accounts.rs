//! Signing in: passwords, tokens, disabled users, and that an unknown user looks like a wrong
//! password.

use std::time::{Duration, Instant};

use lmnop::accounts::{AccountError, Accounts, Actor, AuthError, Passwords};
use lmnop::db::Db;
use lmnop::db::users::{Role, UserState};
use lmnop::domain::Secret;

use crate::support::TestDatabase;

async fn accounts() -> (Accounts, Db, TestDatabase, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let test_db = TestDatabase::new(&dir.path().join("data")).await;
    let data_dir = lmnop::store::DataDir::new(dir.path().join("data")).expect("absolute");
    lmnop::store::prepare_data_dir(&data_dir).expect("data dir");
    let db = Db::open(&test_db.config).await.expect("db");
    (
        Accounts::new(db.clone(), Passwords::new(2)),
        db,
        test_db,
        dir,
    )
}

fn secret(text: &str) -> Secret {
    Secret::new(text)
}

#[tokio::test]
async fn passwords_tokens_and_disabled_users() {
    let (accounts, _db, _test_db, _dir) = accounts().await;
    let cli = Actor::cli();
    accounts
        .create_user("gina", &secret("gina-password"), Role::Member, &cli)
        .await
        .expect("create");

    let user = accounts
        .authenticate("gina", &secret("gina-password"))
        .await
        .expect("sign in");
    assert_eq!(user.name, "gina");
    assert!(matches!(
        accounts
            .authenticate("gina", &secret("wrong-password"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        accounts
            .authenticate("nobody", &secret("gina-password"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));

    let token = accounts
        .create_token("gina", "ci", &cli)
        .await
        .expect("token");
    assert_eq!(
        accounts
            .authenticate("gina", &token)
            .await
            .expect("token")
            .name,
        "gina"
    );
    assert_eq!(
        accounts.authenticate("", &token).await.expect("token").name,
        "gina"
    );
    assert!(matches!(
        accounts.authenticate("someone-else", &token).await,
        Err(AuthError::InvalidCredentials)
    ));

    accounts
        .set_state("gina", UserState::Disabled, &cli)
        .await
        .expect("disable");
    assert!(matches!(
        accounts
            .authenticate("gina", &secret("gina-password"))
            .await,
        Err(AuthError::Disabled(_))
    ));
    assert!(matches!(
        accounts.authenticate("gina", &token).await,
        Err(AuthError::Disabled(_))
    ));
    // A wrong password says nothing about the account being disabled.
    assert!(matches!(
        accounts
            .authenticate("gina", &secret("wrong-password"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
}

#[tokio::test]
async fn every_change_is_in_the_audit_log() {
    let (accounts, db, _test_db, _dir) = accounts().await;
    let cli = Actor::cli();
    accounts
        .create_user("hank", &secret("hank-password"), Role::Member, &cli)
        .await
        .expect("create");
    accounts
        .set_password("hank", &secret("hank-password-2"), &cli)
        .await
        .expect("passwd");
    accounts
        .set_state("hank", UserState::Disabled, &cli)
        .await
        .expect("disable");
    accounts
        .create_token("hank", "deploy", &cli)
        .await
        .expect("token");
    let actions: Vec<String> = lmnop::db::audit::recent(&db, 10)
        .await
        .expect("audit")
        .into_iter()
        .filter(|entry| entry.target == "hank")
        .map(|entry| entry.action)
        .collect();
    assert_eq!(
        actions,
        ["token.create", "user.disable", "user.passwd", "user.create"]
    );
}

#[tokio::test]
async fn first_start_creates_admin_once() {
    let (accounts, _db, _test_db, _dir) = accounts().await;
    let generated = accounts
        .ensure_first_admin(None)
        .await
        .expect("first admin");
    let password = generated.expect("a random password when none was given");
    let admin = accounts
        .authenticate("admin", &password)
        .await
        .expect("admin signs in");
    assert_eq!(admin.role, Role::Admin);
    // Users exist now: nothing more is created or changed.
    assert!(
        accounts
            .ensure_first_admin(Some(&secret("other-password")))
            .await
            .expect("again")
            .is_none()
    );
    assert!(accounts.authenticate("admin", &password).await.is_ok());
}

#[tokio::test]
async fn an_unknown_user_costs_as_much_as_a_wrong_password() {
    let (accounts, _db, _test_db, _dir) = accounts().await;
    accounts
        .create_user(
            "ivan",
            &secret("ivan-password"),
            Role::Member,
            &Actor::cli(),
        )
        .await
        .expect("create");
    let median = |mut samples: Vec<Duration>| {
        samples.sort();
        samples[samples.len() / 2]
    };
    let mut wrong = Vec::new();
    let mut unknown = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        let _ = accounts
            .authenticate("ivan", &secret("wrong-password"))
            .await;
        wrong.push(started.elapsed());
        let started = Instant::now();
        let _ = accounts
            .authenticate("nobody-here", &secret("wrong-password"))
            .await;
        unknown.push(started.elapsed());
    }
    let (wrong, unknown) = (median(wrong), median(unknown));
    // Without the dummy hash an unknown user answers in microseconds, a wrong password in
    // tens of milliseconds; the bound is loose so a noisy machine cannot trip it.
    assert!(
        unknown * 3 >= wrong,
        "unknown user {unknown:?} vs wrong password {wrong:?}: timing tells them apart"
    );
}

#[tokio::test]
async fn concurrent_writers_never_see_a_locked_database() {
    let (accounts, _db, _test_db, _dir) = accounts().await;
    let mut tasks = Vec::new();
    for i in 0..24 {
        let accounts = accounts.clone();
        tasks.push(tokio::spawn(async move {
            let name = format!("user-{i}");
            accounts
                .create_user(
                    &name,
                    &Secret::new("password-123"),
                    Role::Member,
                    &Actor::cli(),
                )
                .await?;
            accounts
                .set_state(&name, UserState::Disabled, &Actor::cli())
                .await?;
            accounts.list().await?;
            Ok::<_, AccountError>(())
        }));
    }
    for task in tasks {
        task.await.expect("task").expect("no database error");
    }
    assert_eq!(accounts.list().await.expect("list").len(), 24);
}

#[tokio::test]
async fn oversized_passwords_are_refused_without_hashing() {
    let (accounts, _db, _test_db, _dir) = accounts().await;
    let huge = Secret::new("x".repeat(1024 * 1024));
    assert!(matches!(
        accounts.authenticate("admin", &huge).await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(matches!(
        accounts
            .create_user("jane", &huge, Role::Member, &Actor::cli())
            .await,
        Err(AccountError::Password(
            lmnop::accounts::PasswordError::TooLong
        ))
    ));
}

#[tokio::test]
async fn a_changed_password_stops_working_at_once_even_just_after_use() {
    let (accounts, _db, _test_db, _dir) = accounts().await;
    let cli = Actor::cli();
    accounts
        .create_user("kim", &secret("first-password"), Role::Member, &cli)
        .await
        .expect("create");
    for _ in 0..2 {
        assert!(
            accounts
                .authenticate("kim", &secret("first-password"))
                .await
                .is_ok()
        );
    }
    accounts
        .set_password("kim", &secret("second-password"), &cli)
        .await
        .expect("passwd");
    assert!(matches!(
        accounts
            .authenticate("kim", &secret("first-password"))
            .await,
        Err(AuthError::InvalidCredentials)
    ));
    assert!(
        accounts
            .authenticate("kim", &secret("second-password"))
            .await
            .is_ok()
    );
    accounts
        .set_state("kim", UserState::Disabled, &cli)
        .await
        .expect("disable");
    assert!(matches!(
        accounts
            .authenticate("kim", &secret("second-password"))
            .await,
        Err(AuthError::Disabled(_))
    ));
}

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_are_listed_with_their_last_use_and_revoked_at_once() {
    let app = crate::support::spawn_app().await;
    app.add_user("tina", "tina-password-1").await;
    let (code, token, err) = crate::support::run(
        app.lmnop()
            .args(["user", "token", "tina", "--label", "laptop"]),
        "",
    );
    assert_eq!(code, 0, "{err}");
    let token = token.trim().to_owned();
    let list = || {
        let (code, out, err) =
            crate::support::run(app.lmnop().args(["user", "tokens", "tina"]), "");
        assert_eq!(code, 0, "{err}");
        out
    };
    let before = list();
    assert!(before.contains("laptop"), "{before}");
    assert!(before.trim_end().ends_with("never"), "{before}");
    assert!(!before.contains(&token), "a token is shown once, when made");

    let functions = || async {
        reqwest::Client::new()
            .get(app.url("/api/v1/functions"))
            .basic_auth("tina", Some(&token))
            .send()
            .await
            .expect("the API answers")
            .status()
            .as_u16()
    };
    assert_eq!(functions().await, 200);
    let after = list();
    assert!(
        !after.trim_end().ends_with("never"),
        "its use is recorded: {after}"
    );
    assert!(after.contains(" UTC"), "{after}");

    let id = after
        .lines()
        .find(|line| line.contains("laptop"))
        .and_then(|line| line.split_whitespace().next())
        .expect("the token's id")
        .to_owned();
    let (code, out, err) =
        crate::support::run(app.lmnop().args(["user", "revoke-token", "tina", &id]), "");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(&format!("revoked token {id} of tina")),
        "{out}"
    );
    assert_eq!(
        functions().await,
        401,
        "a revoked token stops working at once"
    );
    let (code, _, err) =
        crate::support::run(app.lmnop().args(["user", "revoke-token", "tina", &id]), "");
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("tina has no API token {id}")),
        "{err}"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_ten_failed_sign_ins_an_address_is_refused_before_any_password_is_checked() {
    let app = crate::support::spawn_app().await;
    app.add_user("gina", "gina-password-1").await;
    let client = reqwest::Client::new();
    let status_of = |path: &'static str, user: &'static str, password: &'static str| {
        let request = client.get(app.url(path)).basic_auth(user, Some(password));
        async move { request.send().await.expect("answers") }
    };
    for _ in 0..lmnop::accounts::limits::MAX_FAILURES {
        let response = status_of("/api/v1/functions", "gina", "a-wrong-guess").await;
        assert_eq!(response.status(), 401);
    }
    // Even the right password is refused now, on the API and on git alike.
    let response = status_of("/api/v1/functions", "gina", "gina-password-1").await;
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .expect("text")
        .parse()
        .expect("seconds");
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    let body = response.text().await.expect("body");
    assert!(
        body.contains("too many failed sign-ins for address 127.0.0.1"),
        "{body}"
    );
    let response = status_of(
        "/scm/anything/info/refs?service=git-upload-pack",
        "admin",
        crate::support::ADMIN_PASSWORD,
    )
    .await;
    assert_eq!(
        response.status(),
        429,
        "the address is limited for every user"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn after_ten_failed_sign_ins_for_a_name_it_is_refused_from_any_address() {
    use tower::ServiceExt;
    let app = crate::support::spawn_app().await;
    app.add_user("hal", "hal-password-1").await;
    // Each guess from another address, in-process, as the listener would tag them.
    let sign_in = |n: u8, password: &'static str| {
        let router = lmnop::app::router(app.state.clone());
        async move {
            let credentials = base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("hal:{password}"),
            );
            let mut request = axum::http::Request::get("/api/v1/functions")
                .header("host", "lmnop.test")
                .header("authorization", format!("Basic {credentials}"))
                .body(axum::body::Body::empty())
                .expect("request");
            let peer = std::net::SocketAddr::from(([198, 51, 100, n], 40000));
            request
                .extensions_mut()
                .insert(axum::extract::ConnectInfo(peer));
            let response = router.oneshot(request).await.expect("answers");
            (
                response.status().as_u16(),
                response.headers().contains_key("retry-after"),
            )
        }
    };
    for n in 0..10 {
        assert_eq!(sign_in(n, "a-wrong-guess").await.0, 401);
    }
    let (status, retry_after) = sign_in(200, "hal-password-1").await;
    assert_eq!(status, 429, "the name is limited from a fresh address");
    assert!(retry_after);
    app.stop().await;
}

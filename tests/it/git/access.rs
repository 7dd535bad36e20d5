//! Who may push and clone: bad and missing credentials, disabled accounts, API tokens, and
//! repositories of other members.

use super::repos_on_disk;
use crate::gitutil::{WorkTree, git, git_ok, ls_remote, ref_id};
use crate::support::{TestApp, spawn_app};

/// A server with the member `mallory` (password `mallory-password`), disabled.
async fn app_with_a_disabled_member() -> TestApp {
    let app = spawn_app().await;
    app.add_user("mallory", "mallory-password").await;
    app.state
        .accounts
        .set_state(
            "mallory",
            lmnop::db::users::UserState::Disabled,
            &lmnop::accounts::Actor::cli(),
        )
        .await
        .expect("disable");
    app
}

/// Pushes and clones `url`; both must fail. Returns the push's stderr.
fn push_and_clone_refused(tmp: &std::path::Path, url: &str) -> String {
    let work = WorkTree::new(tmp, "work");
    work.commit("first");
    let push = work.git(&["push", url, "main:dev"]);
    assert!(!push.ok, "{url}");
    let clone = git(tmp, &["clone", url, "never"]);
    assert!(!clone.ok, "{url}");
    push.stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_unknown_or_missing_credentials_can_neither_push_nor_clone() {
    let app = spawn_app().await;
    let address = app.address;
    for url in [
        format!("http://admin:wrong-password@{address}/scm/app"),
        format!("http://nobody:whatever-pw@{address}/scm/app"),
        format!("http://{address}/scm/app"),
    ] {
        let tmp = tempfile::tempdir().expect("tmp");
        push_and_clone_refused(tmp.path(), &url);
    }
    assert!(repos_on_disk(&app).is_empty(), "{:?}", repos_on_disk(&app));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_account_can_neither_push_nor_clone() {
    let app = app_with_a_disabled_member().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let stderr = push_and_clone_refused(
        tmp.path(),
        &app.git_url("mallory", "mallory-password", "app"),
    );
    assert!(
        stderr.contains("403") || stderr.contains("disabled"),
        "{stderr}"
    );
    assert!(repos_on_disk(&app).is_empty(), "{:?}", repos_on_disk(&app));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_credentials_git_is_answered_401_with_a_challenge() {
    let app = spawn_app().await;
    let anonymous = reqwest::Client::new()
        .get(app.url("/scm/app/info/refs?service=git-receive-pack"))
        .send()
        .await
        .expect("request");
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers().get("www-authenticate").is_some());
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_disabled_account_is_answered_403() {
    let app = app_with_a_disabled_member().await;
    let disabled = reqwest::Client::new()
        .get(app.url("/scm/app/info/refs?service=git-receive-pack"))
        .basic_auth("mallory", Some("mallory-password"))
        .send()
        .await
        .expect("request");
    assert_eq!(disabled.status(), 403);
    app.stop().await;
}

/// A server with the members alice and bob (password `bob-password`), and alice's repository
/// `alices` whose dev branch she pushed with an API token as her password; returns the app,
/// the temp dir and the work tree she pushed.
async fn alices_repository() -> (TestApp, tempfile::TempDir, WorkTree) {
    let app = spawn_app().await;
    app.add_user("alice", "alice-password").await;
    app.add_user("bob", "bob-password").await;
    let token = app
        .state
        .accounts
        .create_token("alice", "git", &lmnop::accounts::Actor::cli())
        .await
        .expect("token");
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.commit("first");
    let alice = app.git_url("alice", token.expose(), "alices");
    git_ok(&work.path, &["push", "-q", &alice, "main:dev"]);
    (app, tmp, work)
}

#[tokio::test(flavor = "multi_thread")]
async fn an_api_token_is_accepted_as_the_git_password() {
    let (app, tmp, work) = alices_repository().await;
    assert_eq!(
        ref_id(
            &ls_remote(tmp.path(), &app.admin_url("alices")),
            "refs/heads/dev"
        ),
        Some(work.head())
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_member_cannot_clone_the_repository() {
    let (app, tmp, _work) = alices_repository().await;
    let bob = app.git_url("bob", "bob-password", "alices");
    let clone = git(tmp.path(), &["clone", &bob, "bobs"]);
    assert!(!clone.ok);
    assert!(
        clone.stderr.contains("404") || clone.stderr.contains("not found"),
        "{}",
        clone.stderr
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_member_cannot_push_to_the_repository() {
    let (app, _tmp, work) = alices_repository().await;
    let bob = app.git_url("bob", "bob-password", "alices");
    assert!(
        !work.git(&["push", &bob, "main:other"]).ok,
        "bob cannot push"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_can_clone_a_members_repository() {
    let (app, tmp, _work) = alices_repository().await;
    git_ok(
        tmp.path(),
        &[
            "clone",
            "-q",
            "-b",
            "dev",
            &app.admin_url("alices"),
            "admins",
        ],
    );
    app.stop().await;
}

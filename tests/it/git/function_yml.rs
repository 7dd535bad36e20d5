//! A push to main is checked before any build: function.yml's fields (each error names its
//! field, and its line where it has one), the secrets it names, and the files its template
//! needs. A refused push to a new repository leaves no repository behind.

use super::repos_on_disk;
use crate::gitutil::{GitRun, WorkTree};
use crate::support::{TestApp, spawn_app};

/// A work tree with the python3.12 template's `function/entrypoint`, for the repository
/// `checked`.
fn python_work(tmp: &std::path::Path) -> WorkTree {
    let work = WorkTree::new(tmp, "work");
    work.write("function/entrypoint", "#!/bin/sh\n");
    crate::deploy_support::make_executable(&work, "function/entrypoint");
    work
}

/// Commits `function_yml` as function.yml in `work` and pushes main to `checked`.
fn push_function_yml(app: &TestApp, work: &WorkTree, function_yml: &str) -> GitRun {
    work.write("function.yml", function_yml);
    work.commit("try");
    work.git(&["push", &app.admin_url("checked"), "main"])
}

/// Pushes `function_yml` to a new repository: refused with `expected` in the pusher's output,
/// before any build, and no repository is left.
async fn refused_before_any_build(function_yml: &str, expected: &str) {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = python_work(tmp.path());
    let push = push_function_yml(&app, &work, function_yml);
    assert!(!push.ok, "{function_yml}");
    assert!(
        push.stderr.contains(expected),
        "{function_yml:?}: expected {expected:?} in\n{}",
        push.stderr
    );
    assert!(
        !push.stderr.contains("-----> Building"),
        "stopped before the build: {}",
        push.stderr
    );
    assert!(
        repos_on_disk(&app).is_empty(),
        "the push was rejected: no repository is left"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_field_of_the_wrong_type_is_named_with_its_line() {
    refused_before_any_build(
        "template: python3.12\nscaling: {min: two}\n",
        "line 2, scaling.min",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_misspelled_key_gets_a_suggestion() {
    refused_before_any_build("tempalte: python3.12\n", "did you mean `template`").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_limit_out_of_range_is_named_with_its_line() {
    refused_before_any_build(
        "template: python3.12\nlimits: {memory: 8Gi}\n",
        "line 2, limits.memory",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_template_is_refused() {
    refused_before_any_build("template: cobol\n", "unknown template `cobol`").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_template_that_is_a_path_is_refused() {
    refused_before_any_build("template: ../x\n", "template").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn yaml_anchors_and_aliases_are_refused() {
    let bomb = "a: &a [\"x\",\"x\"]\nb: &b [*a,*a,*a]\nc: [*b,*b,*b]\ntemplate: python3.12\n";
    refused_before_any_build(bomb, "anchors and aliases").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_that_does_not_exist_is_refused() {
    refused_before_any_build(
        "template: python3.12\nsecrets: [db-password]\n",
        "secret `db-password` does not exist",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_that_exists_passes_the_check_and_its_value_is_not_shown() {
    let app = spawn_app().await;
    app.state
        .secrets()
        .set(
            &lmnop::domain::SecretName::parse("db-password").expect("name"),
            &lmnop::domain::Secret::new("pw"),
        )
        .expect("set secret");
    let tmp = tempfile::tempdir().expect("tmp");
    let work = python_work(tmp.path());
    let push = push_function_yml(
        &app,
        &work,
        "template: python3.12\nsecrets: [db-password]\n",
    );
    assert!(
        push.stderr.contains("template python3.12"),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("does not exist"), "{}", push.stderr);
    assert!(!push.stderr.contains("pw"), "{}", push.stderr);
    // The build cannot pull the template's default base image here.
    assert!(
        repos_on_disk(&app).is_empty(),
        "the push was rejected: no repository is left"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_the_template_needs_is_named_when_it_is_missing() {
    let app = spawn_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let push = push_function_yml(&app, &work, "template: python3.12\n");
    assert!(!push.ok);
    assert!(
        push.stderr
            .contains("the python3.12 template needs entrypoint or function/entrypoint"),
        "{}",
        push.stderr
    );
    assert!(
        repos_on_disk(&app).is_empty(),
        "the push was rejected: no repository is left"
    );
    app.stop().await;
}

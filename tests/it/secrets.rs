//! Secrets have owners: a push may use only the secrets its function's owner may use (their
//! own, granted ones, and for administrators the administrators'), refused before anything is
//! built and without telling whether another user's secret of that name exists.

use crate::deploy_support::python_function;
use crate::gitutil::WorkTree;
use crate::support::{TestApp, run, spawn_fake_app};

/// `lmnop secret …` on the server's data; panics unless it succeeds.
fn secret(app: &TestApp, args: &[&str], value: &str) -> String {
    let mut command = app.lmnop();
    command.arg("secret").args(args);
    let (code, out, err) = run(&mut command, value);
    assert_eq!(code, 0, "lmnop secret {args:?}: {err}");
    out
}

/// Pushes a function using `secret` as `user`; (accepted, stderr).
fn push_using(
    app: &TestApp,
    work: &WorkTree,
    user: &str,
    function: &str,
    secret: &str,
) -> (bool, String) {
    python_function(work, "hi", &format!("secrets: [{secret}]\n"));
    work.commit(&format!("use {secret}"));
    let push = work.git(&[
        "push",
        &app.git_url(user, &format!("{user}-password-1"), function),
        "main",
    ]);
    (push.ok, push.stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_push_may_use_only_secrets_its_function_s_owner_may_use() {
    let app = spawn_fake_app().await;
    app.add_user("alice", "alice-password-1").await;
    app.add_user("bob", "bob-password-1").await;
    let out = secret(
        &app,
        &["set", "alice-db", "--owner", "alice"],
        "alice's password\n",
    );
    assert!(out.contains("created secret alice-db"), "{out}");
    secret(&app, &["set", "shared-key"], "the operator's key\n");
    let listed = secret(&app, &["list"], "");
    assert_eq!(listed, "alice-db\talice\nshared-key\t(administrators)\n");

    let tmp = tempfile::tempdir().expect("tmp");
    let bob = WorkTree::new(tmp.path(), "bob");
    let (ok, stderr) = push_using(&app, &bob, "bob", "bobs-app", "alice-db");
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(
            "secret `alice-db` does not exist or is not one this function's owner may use"
        ),
        "{stderr}"
    );
    assert!(
        !stderr.contains("Building"),
        "refused before any build: {stderr}"
    );
    assert!(!stderr.contains("alice's password"), "{stderr}");
    // The same words as for a secret that does not exist: names of others' secrets stay unknown.
    let (ok, missing) = push_using(&app, &bob, "bob", "bobs-app", "no-such-secret");
    assert!(!ok);
    assert!(
        missing.contains(
            "secret `no-such-secret` does not exist or is not one this function's owner may use"
        ),
        "{missing}"
    );
    // The administrators' secret is not bob's either, until it is granted to him.
    let (ok, stderr) = push_using(&app, &bob, "bob", "bobs-app", "shared-key");
    assert!(!ok, "{stderr}");
    let out = secret(&app, &["grant", "shared-key", "bob"], "");
    assert!(
        out.contains("bob's functions may use secret shared-key"),
        "{out}"
    );
    let (ok, stderr) = push_using(&app, &bob, "bob", "bobs-app", "shared-key");
    assert!(ok, "{stderr}");
    assert_eq!(
        secret(&app, &["list"], ""),
        "alice-db\talice\nshared-key\t(administrators)\tgranted to bob\n"
    );

    // alice uses her own.
    let alice = WorkTree::new(tmp.path(), "alice");
    let (ok, stderr) = push_using(&app, &alice, "alice", "alices-app", "alice-db");
    assert!(ok, "{stderr}");

    // A revoked grant stops the next push.
    secret(&app, &["revoke", "shared-key", "bob"], "");
    python_function(&bob, "again", "secrets: [shared-key]\n");
    bob.commit("again");
    let push = bob.git(&[
        "push",
        &app.git_url("bob", "bob-password-1", "bobs-app"),
        "main",
    ]);
    assert!(!push.ok, "{}", push.stderr);
    app.stop().await;
}

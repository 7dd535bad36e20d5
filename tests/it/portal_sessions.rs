//! Portal sessions and forms over plain HTTP: sign-in starts a session stored by its hash,
//! every form post needs the session's CSRF token and this site's Origin (403 and nothing
//! changed otherwise), sign-out and disabling a user end sessions, and a rollback from the
//! function page serves the earlier release while the branch stays.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, HeaderValue};

use crate::deploy_support::python_function;
use crate::faults::branch;
use crate::gitutil::WorkTree;
use crate::support::{ADMIN_PASSWORD, TestApp, spawn_fake_app};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// This site's Origin, as a browser on the page would send it.
fn origin(app: &TestApp) -> String {
    format!("http://{}", app.address)
}

/// Signs in; the session cookie (`lmnop_session=…`) and the raw `Set-Cookie`.
async fn sign_in(app: &TestApp, name: &str, password: &str) -> (String, String) {
    let answer = client()
        .post(app.url("/portal/sign-in"))
        .header("origin", origin(app))
        .form(&[
            ("name", name),
            ("password", password),
            ("next", "/portal/functions"),
        ])
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{name}");
    assert_eq!(answer.headers()["location"], "/portal/functions");
    let set_cookie = answer.headers()["set-cookie"]
        .to_str()
        .expect("text")
        .to_owned();
    let cookie = set_cookie.split(';').next().expect("pair").to_owned();
    (cookie, set_cookie)
}

async fn page(app: &TestApp, cookie: &str, path: &str) -> (StatusCode, HeaderMap, String) {
    let answer = client()
        .get(app.url(path))
        .header("cookie", cookie)
        .send()
        .await
        .expect("answers");
    let (status, headers) = (answer.status(), answer.headers().clone());
    (status, headers, answer.text().await.unwrap_or_default())
}

/// The CSRF token in a page's forms.
fn csrf_of(page: &str) -> String {
    let at = page
        .find(r#"name="csrf" value=""#)
        .expect("a form with a token")
        + 19;
    page[at..].split('"').next().expect("value").to_owned()
}

async fn post(
    app: &TestApp,
    cookie: &str,
    path: &str,
    from: Option<&str>,
    form: &[(&str, &str)],
) -> reqwest::Response {
    let mut request = client()
        .post(app.url(path))
        .header("cookie", cookie)
        .form(form);
    if let Some(from) = from {
        request = request.header("origin", HeaderValue::from_str(from).expect("origin"));
    }
    request.send().await.expect("answers")
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_forms_and_a_rollback_from_the_function_page() {
    let app = spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "");
    work.commit("v1");
    assert!(work.git(&["push", &app.admin_url("portalfn"), "main"]).ok);
    python_function(&work, "two", "");
    let v2 = work.commit("v2");
    assert!(work.git(&["push", &app.admin_url("portalfn"), "main"]).ok);

    // Not signed in: to the sign-in page, coming back after.
    let (status, headers, _) = page(&app, "", "/portal/functions/portalfn").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers["location"],
        "/portal/sign-in?next=/portal/functions/portalfn"
    );
    // A wrong password says so, the same way as an unknown user; a post from elsewhere is 403.
    for (name, password) in [("admin", "wrong"), ("nobody", "wrong")] {
        let answer = client()
            .post(app.url("/portal/sign-in"))
            .header("origin", origin(&app))
            .form(&[("name", name), ("password", password)])
            .send()
            .await
            .expect("answers");
        assert_eq!(answer.status(), StatusCode::UNAUTHORIZED);
        assert!(
            answer
                .text()
                .await
                .expect("page")
                .contains("wrong user name or password")
        );
    }
    let answer = client()
        .post(app.url("/portal/sign-in"))
        .header("origin", "http://evil.example.com")
        .form(&[("name", "admin"), ("password", ADMIN_PASSWORD)])
        .send()
        .await
        .expect("answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    assert!(answer.headers().get("set-cookie").is_none());

    let (cookie, set_cookie) = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    assert!(
        set_cookie.contains("HttpOnly")
            && set_cookie.contains("SameSite=Lax")
            && !set_cookie.contains("Secure"),
        "{set_cookie}"
    );
    // Stored by its hash only.
    let value = cookie.trim_start_matches("lmnop_session=");
    let stored: Vec<String> = sqlx::query_scalar("SELECT id_hash FROM sessions")
        .fetch_all(app.state.db.reader())
        .await
        .expect("sessions");
    assert!(!stored.iter().any(|hash| hash == value), "{stored:?}");
    assert!(
        stored.contains(&lmnop::accounts::tokens::hash(&lmnop::domain::Secret::new(
            value.to_owned()
        )))
    );

    let (status, _, list) = page(&app, &cookie, "/portal/functions").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        list.contains(r#"<a href="/portal/functions/portalfn">portalfn</a>"#),
        "{list}"
    );
    let (status, _, detail) = page(&app, &cookie, "/portal/functions/portalfn").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        detail.contains("roll back to v1") && !detail.contains("roll back to v2"),
        "{detail}"
    );
    let csrf = csrf_of(&detail);
    let (status, _, log) = page(&app, &cookie, "/portal/functions/portalfn/releases/1/log").await;
    assert_eq!(status, StatusCode::OK);
    assert!(log.contains("Building portalfn v1"), "{log}");

    // Forms without the token, with a wrong one, or from another site: 403, nothing changed.
    let rollback = "/portal/functions/portalfn/rollback";
    let site = origin(&app);
    for (from, token) in [
        (Some(site.as_str()), None),
        (Some(site.as_str()), Some("not-the-token")),
        (Some("http://evil.example.com"), Some(csrf.as_str())),
        (None, Some(csrf.as_str())),
    ] {
        let mut form = vec![("release", "1")];
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let answer = post(&app, &cookie, rollback, from, &form).await;
        assert_eq!(answer.status(), StatusCode::FORBIDDEN, "{from:?} {token:?}");
    }
    assert_eq!(crate::faults::releases(&app, "portalfn").await.len(), 2);

    // The rollback itself: v1's code answers as v3, the branch stays at v2.
    let answer = post(
        &app,
        &cookie,
        rollback,
        Some(&site),
        &[("release", "1"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"],
        "/portal/functions/portalfn?done=3"
    );
    let (_, _, detail) = page(&app, &cookie, "/portal/functions/portalfn?done=3").await;
    assert!(
        detail.contains("v3 serves portalfn now; the branch stays where it was")
            && detail.contains("(rollback of v1)"),
        "{detail}"
    );
    let served = reqwest::get(app.url("/function/portalfn/"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    // The fake runtime answers with the config it runs and the release number: v1's, as v3.
    assert_eq!(served, "one (v3)\n");
    assert_eq!(
        branch(&work, &app, "portalfn").as_deref(),
        Some(v2.as_str())
    );

    // Scale within the range, and outside it refused with the range.
    let answer = post(
        &app,
        &cookie,
        "/portal/functions/portalfn/scale",
        Some(&site),
        &[("replicas", "1"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"],
        "/portal/functions/portalfn?scaled=1"
    );
    let answer = post(
        &app,
        &cookie,
        "/portal/functions/portalfn/scale",
        Some(&site),
        &[("replicas", "9"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(
        answer
            .text()
            .await
            .expect("page")
            .contains("may run 1 to 1 containers")
    );

    // A function somebody may not see is a 404, like one that does not exist.
    app.add_user("bob", "bob-password-1").await;
    let (bob, _) = sign_in(&app, "bob", "bob-password-1").await;
    let (status, _, _) = page(&app, &bob, "/portal/functions/portalfn").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, _, bobs) = page(&app, &bob, "/portal/functions").await;
    assert!(!bobs.contains("portalfn"), "{bobs}");
    // Disabled: bob's session ends at once.
    app.state
        .accounts
        .set_state(
            "bob",
            lmnop::db::users::UserState::Disabled,
            &lmnop::accounts::Actor::cli(),
        )
        .await
        .expect("disable");
    let (status, _, _) = page(&app, &bob, "/portal/functions").await;
    assert_eq!(status, StatusCode::SEE_OTHER);

    // Delete needs the name typed again; then it is gone.
    let delete = "/portal/functions/portalfn/delete";
    let answer = post(
        &app,
        &cookie,
        delete,
        Some(&site),
        &[("confirm", "portal"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer = post(
        &app,
        &cookie,
        delete,
        Some(&site),
        &[("confirm", "portalfn"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"],
        "/portal/functions?deleted=portalfn"
    );
    let (_, _, list) = page(&app, &cookie, "/portal/functions?deleted=portalfn").await;
    assert!(
        list.contains("portalfn is deleted") && !list.contains("/portal/functions/portalfn"),
        "{list}"
    );
    let (status, _, _) = page(&app, &cookie, "/portal/functions/portalfn").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Sign-out ends the session: the cookie opens nothing any more.
    let answer = post(
        &app,
        &cookie,
        "/portal/sign-out",
        Some(&site),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert!(
        answer.headers()["set-cookie"]
            .to_str()
            .expect("text")
            .contains("Max-Age=0")
    );
    let (status, _, _) = page(&app, &cookie, "/portal/functions").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    app.stop().await;
}

/// The secrets page: values go in and never come out; each secret shows the functions that
/// use it, and one in use cannot be deleted; a member manages only their own.
#[tokio::test(flavor = "multi_thread")]
async fn the_secrets_page_takes_values_it_never_shows_and_keeps_secrets_in_use() {
    const VALUE: &str = "s3cr3t-value-9f2c";
    let app = spawn_fake_app().await;
    let site = origin(&app);
    let (cookie, _) = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    let (status, _, secrets) = page(&app, &cookie, "/portal/secrets").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&secrets);
    let answer = post(
        &app,
        &cookie,
        "/portal/secrets",
        Some(&site),
        &[("name", "db-key"), ("value", VALUE), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(answer.headers()["location"], "/portal/secrets?set=db-key");
    let stored = app
        .state
        .secrets()
        .path(&lmnop::domain::SecretName::parse("db-key").expect("name"));
    assert_eq!(std::fs::read_to_string(stored).expect("stored"), VALUE);

    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "uses it", "secrets: [db-key]\n");
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url("keyed"), "main"]);
    assert!(push.ok, "{}", push.stderr);

    let (_, _, secrets) = page(&app, &cookie, "/portal/secrets?set=db-key").await;
    assert!(
        secrets.contains("secret db-key is set; its value is not shown again")
            && secrets.contains(r#"<a href="/portal/functions/keyed">keyed</a>"#),
        "{secrets}"
    );
    let answer = post(
        &app,
        &cookie,
        "/portal/secrets/delete",
        Some(&site),
        &[("name", "db-key"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    assert!(answer.text().await.expect("page").contains("used by keyed"));

    // A member: their own secrets only; a taken name or somebody else's secret is refused.
    app.add_user("bob", "bob-password-1").await;
    let (bob, _) = sign_in(&app, "bob", "bob-password-1").await;
    let (_, _, bobs) = page(&app, &bob, "/portal/secrets").await;
    assert!(!bobs.contains("db-key"), "{bobs}");
    let bob_csrf = csrf_of(&bobs);
    for (name, want) in [
        ("db-key", StatusCode::CONFLICT),
        ("bob-key", StatusCode::SEE_OTHER),
    ] {
        let answer = post(
            &app,
            &bob,
            "/portal/secrets",
            Some(&site),
            &[
                ("name", name),
                ("value", "bob's value\n"),
                ("csrf", &bob_csrf),
            ],
        )
        .await;
        assert_eq!(answer.status(), want, "{name}");
    }
    let answer = post(
        &app,
        &bob,
        "/portal/secrets/delete",
        Some(&site),
        &[("name", "db-key"), ("csrf", &bob_csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let (_, _, bobs) = page(&app, &bob, "/portal/secrets").await;
    assert!(
        bobs.contains("<code>bob-key</code>") && bobs.contains("<td>bob</td>"),
        "{bobs}"
    );
    let answer = post(
        &app,
        &bob,
        "/portal/secrets/delete",
        Some(&site),
        &[("name", "bob-key"), ("csrf", &bob_csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);

    // The value is in no page and no audit entry; the changes are audited by name.
    let (_, _, admin_view) = page(&app, &cookie, "/portal/secrets").await;
    assert!(!admin_view.contains(VALUE) && !secrets.contains(VALUE));
    let audit = lmnop::db::audit::recent(&app.state.db, 20)
        .await
        .expect("audit");
    assert!(
        audit
            .iter()
            .any(|e| e.action == "secret.set" && e.target == "db-key" && e.actor == "admin")
    );
    assert!(
        audit
            .iter()
            .any(|e| e.action == "secret.delete" && e.target == "bob-key" && e.actor == "bob")
    );
    assert!(!format!("{audit:?}").contains(VALUE));
    app.stop().await;
}

/// The account page: a password change needs the current one, ends the other sessions and
/// renews this one, and git takes the new password only; a token is shown once, pushes, and
/// stops working when revoked.
#[tokio::test(flavor = "multi_thread")]
async fn the_account_page_changes_the_password_and_makes_and_revokes_tokens() {
    let app = spawn_fake_app().await;
    let site = origin(&app);
    app.add_user("carol", "carol-password-1").await;
    let (other_browser, _) = sign_in(&app, "carol", "carol-password-1").await;
    let (cookie, _) = sign_in(&app, "carol", "carol-password-1").await;
    let (status, _, account) = page(&app, &cookie, "/portal/account").await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_of(&account);
    let change = |current: &'static str, new: &'static str, repeat: &'static str| {
        let (cookie, csrf, site) = (cookie.clone(), csrf.clone(), site.clone());
        let app = &app;
        async move {
            post(
                app,
                &cookie,
                "/portal/account/password",
                Some(&site),
                &[
                    ("current", current),
                    ("new", new),
                    ("repeat", repeat),
                    ("csrf", &csrf),
                ],
            )
            .await
        }
    };
    let answer = change("wrong-password-1", "carol-new-pass-2", "carol-new-pass-2").await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    assert!(
        answer
            .text()
            .await
            .expect("page")
            .contains("not your current password")
    );
    let answer = change("carol-password-1", "carol-new-pass-2", "carol-new-pass-3").await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST);
    let answer = change("carol-password-1", "carol-new-pass-2", "carol-new-pass-2").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let renewed = answer.headers()["set-cookie"].to_str().expect("text");
    let renewed = renewed.split(';').next().expect("pair").to_owned();
    assert_ne!(renewed, cookie);
    // The other browser and the old cookie are signed out; the renewed one works.
    for old in [&other_browser, &cookie] {
        assert_eq!(
            page(&app, old, "/portal/account").await.0,
            StatusCode::SEE_OTHER
        );
    }
    let (status, _, account) = page(&app, &renewed, "/portal/account?done=password").await;
    assert_eq!(status, StatusCode::OK);
    assert!(account.contains("your password is changed"), "{account}");

    // git: the new password pushes, the old one does not.
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "carol's", "");
    work.commit("v1");
    let old = work.git(&[
        "push",
        &app.git_url("carol", "carol-password-1", "carolfn"),
        "main",
    ]);
    assert!(!old.ok, "{}", old.stderr);
    let new = work.git(&[
        "push",
        &app.git_url("carol", "carol-new-pass-2", "carolfn"),
        "main",
    ]);
    assert!(new.ok, "{}", new.stderr);

    // A token: shown once, pushes, revoked.
    let csrf = csrf_of(&account);
    let answer = post(
        &app,
        &renewed,
        "/portal/account/tokens",
        Some(&site),
        &[("label", "laptop <b>"), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let shown = answer.text().await.expect("page");
    let at = shown
        .find(r#"<code id="new-token">"#)
        .expect("the token is shown")
        + 21;
    let token = shown[at..].split('<').next().expect("token").to_owned();
    assert!(token.starts_with("lmnop_"), "{token}");
    assert!(
        shown.contains("laptop &#60;b&#62;") || shown.contains("laptop &lt;b&gt;"),
        "{shown}"
    );
    let (_, _, later) = page(&app, &renewed, "/portal/account").await;
    assert!(!later.contains(&token), "shown only once");
    python_function(&work, "with a token", "");
    work.commit("v2");
    let push = work.git(&["push", &app.git_url("carol", &token, "carolfn"), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let id_at = later.find(r#"name="id" value=""#).expect("a revoke form") + 17;
    let id = later[id_at..].split('"').next().expect("id").to_owned();
    let answer = post(
        &app,
        &renewed,
        "/portal/account/tokens/revoke",
        Some(&site),
        &[("id", &id), ("csrf", &csrf)],
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    python_function(&work, "after revoking", "");
    work.commit("v3");
    let push = work.git(&["push", &app.git_url("carol", &token, "carolfn"), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    app.stop().await;
}

/// The administrators' pages: a member gets a 404; an administrator adds a user, disables them
/// (their session ends, their sign-in and push are refused), enables them again, and finds it
/// all in the audit log, filtered and paged, shown as text.
#[tokio::test(flavor = "multi_thread")]
async fn administrators_manage_users_and_read_the_audit_log() {
    let app = spawn_fake_app().await;
    let site = origin(&app);
    let (admin, _) = sign_in(&app, "admin", ADMIN_PASSWORD).await;
    let (_, _, users) = page(&app, &admin, "/portal/admin/users").await;
    let csrf = csrf_of(&users);
    let change = |action: &'static str, name: &'static str, password: &'static str| {
        let (admin, csrf, site) = (admin.clone(), csrf.clone(), site.clone());
        let app = &app;
        async move {
            post(
                app,
                &admin,
                "/portal/admin/users",
                Some(&site),
                &[
                    ("action", action),
                    ("name", name),
                    ("password", password),
                    ("csrf", &csrf),
                ],
            )
            .await
        }
    };
    let answer = change("add", "dave", "dave-password-1").await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        answer.headers()["location"],
        "/portal/admin/users?done=added&who=dave"
    );
    let answer = change("add", "dave", "dave-password-1").await;
    assert_eq!(answer.status(), StatusCode::BAD_REQUEST, "a taken name");

    let (dave, _) = sign_in(&app, "dave", "dave-password-1").await;
    for path in ["/portal/admin/users", "/portal/admin/audit"] {
        assert_eq!(
            page(&app, &dave, path).await.0,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "dave's", "");
    work.commit("v1");
    let dave_url = app.git_url("dave", "dave-password-1", "davefn");
    assert!(work.git(&["push", &dave_url, "main"]).ok);

    assert_eq!(
        change("disable", "dave", "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        page(&app, &dave, "/portal/functions").await.0,
        StatusCode::SEE_OTHER
    );
    let refused = client()
        .post(app.url("/portal/sign-in"))
        .header("origin", &site)
        .form(&[("name", "dave"), ("password", "dave-password-1")])
        .send()
        .await
        .expect("answers");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(
        refused
            .text()
            .await
            .expect("page")
            .contains("this account is disabled")
    );
    python_function(&work, "dave's again", "");
    work.commit("v2");
    assert!(!work.git(&["push", &dave_url, "main"]).ok);
    assert_eq!(
        change("enable", "dave", "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert!(work.git(&["push", &dave_url, "main"]).ok);
    assert_eq!(
        change("disable", "admin", "").await.status(),
        StatusCode::BAD_REQUEST,
        "not oneself"
    );

    // The audit log: everything above, filtered, as text.
    let (status, _, audit) = page(&app, &admin, "/portal/admin/audit?q=dave").await;
    assert_eq!(status, StatusCode::OK);
    for action in ["user.create", "user.disable", "user.enable"] {
        assert!(
            audit.contains(&format!("<code>{action}</code>")),
            "{action}: {audit}"
        );
    }
    let (_, _, filtered) = page(&app, &admin, "/portal/admin/audit?q=user.disable").await;
    assert!(!filtered.contains("user.enable"), "{filtered}");
    let (_, _, percent) = page(&app, &admin, "/portal/admin/audit?q=%25").await;
    assert!(
        percent.contains("Nothing containing"),
        "a % is matched as itself: {percent}"
    );
    // Paged: 60 entries more, 50 a page, the link to the older ones.
    for index in 0..60 {
        lmnop::db::audit::record(
            &app.state.db,
            &lmnop::db::audit::AuditEntry {
                actor: "<script>x</script>".to_owned(),
                action: "test.fill".to_owned(),
                target: format!("t{index}"),
                source: "test".to_owned(),
            },
        )
        .await
        .expect("record");
    }
    let (_, _, first) = page(&app, &admin, "/portal/admin/audit").await;
    assert_eq!(
        first.matches("<tr>").count(),
        1 + 50,
        "a header and 50 rows"
    );
    assert!(!first.contains("<script>x</script>"), "shown as text");
    let older = first
        .split("/portal/admin/audit?q=&amp;before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a link to older entries")
        .to_owned();
    let (_, _, second) = page(&app, &admin, &format!("/portal/admin/audit?before={older}")).await;
    assert!(
        second.contains("<td>t9</td>") && !second.contains("<td>t10</td>"),
        "{second}"
    );
    app.stop().await;
}

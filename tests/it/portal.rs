//! The web pages: the home page tells how to push to this server and lists its templates, with
//! everything from outside the page escaped.

use crate::support::spawn_app_with;
use crate::webdriver::Browser;

#[tokio::test]
async fn the_home_page_shows_how_to_push_and_the_templates_escaped() {
    let templates = tempfile::tempdir().expect("tmp");
    let dir = templates.path().join("odd");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("template.yml"),
        "name: odd\ndescription: \"<script>alert(1)</script> & more\"\n\
         required_files: [\"a<b>.txt\"]\nport: 8080\n",
    )
    .expect("template.yml");
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").expect("Dockerfile");
    let templates_dir = templates.path().to_owned();
    let app = spawn_app_with(move |config| {
        config.templates_dir = templates_dir;
        config.public_url = Some("https://lmnop.example.com/".to_owned());
        config.apps_domain = Some("apps.example.com".to_owned());
    })
    .await;

    let response = reqwest::get(app.url("/")).await.expect("GET /");
    assert_eq!(response.status(), 200);
    assert!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/html")),
        "{:?}",
        response.headers()
    );
    let page = response.text().await.expect("body");
    assert!(
        page.contains("git remote add lmnop https://lmnop.example.com/scm/NAME"),
        "{page}"
    );
    assert!(page.contains("git push lmnop main"), "{page}");
    assert!(page.contains("NAME.apps.example.com"), "{page}");
    assert!(page.contains("<code>odd</code>"), "{page}");
    assert!(
        page.contains("&#60;script&#62;alert(1)&#60;/script&#62; &#38; more")
            || page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"),
        "the description is escaped: {page}"
    );
    assert!(!page.contains("<script>"), "{page}");
    assert!(!page.contains("a<b>.txt"), "{page}");
    app.stop().await;
}

#[tokio::test]
async fn the_home_page_renders_in_a_real_browser_and_runs_no_injected_script() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let templates = tempfile::tempdir().expect("tmp");
    let dir = templates.path().join("odd");
    std::fs::create_dir_all(&dir).expect("dir");
    std::fs::write(
        dir.join("template.yml"),
        "name: odd\ndescription: \"<img src=x onerror=alert(1)><script>alert(2)</script>\"\n\
         port: 8080\n",
    )
    .expect("template.yml");
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\n").expect("Dockerfile");
    let templates_dir = templates.path().to_owned();
    let app = spawn_app_with(move |config| config.templates_dir = templates_dir).await;

    browser.visit(&app.url("/")).await;
    assert_eq!(browser.alert_text().await, None, "an injected script ran");
    assert_eq!(browser.title().await, "lmnop: push to deploy");
    let text = browser
        .run("return document.body.innerText")
        .await
        .expect("page text");
    let text = text.as_str().unwrap_or_default();
    assert!(text.contains("git push lmnop main"), "{text}");
    assert!(
        text.contains("<img src=x onerror=alert(1)><script>alert(2)</script>"),
        "the description shows as text: {text}"
    );
    let injected = browser
        .run("return document.querySelectorAll('main img, main script').length")
        .await
        .expect("count elements");
    assert_eq!(injected, 0, "no element came from the description");
    browser.quit().await;
    app.stop().await;
}

/// In a real browser: sign in, find a pushed function, read a release's build log, roll back
/// from the function page (the old code answers while the branch stays), sign out. Each main
/// page is saved as a screenshot.
#[tokio::test(flavor = "multi_thread")]
async fn a_user_signs_in_reads_a_build_log_rolls_back_and_signs_out_in_a_browser() {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let app = crate::support::spawn_fake_app().await;
    let tmp = tempfile::tempdir().expect("tmp");
    let work = crate::gitutil::WorkTree::new(tmp.path(), "work");
    crate::deploy_support::python_function(&work, "one", "");
    work.commit("v1 <b>bold</b>");
    assert!(work.git(&["push", &app.admin_url("browsed"), "main"]).ok);
    crate::deploy_support::python_function(&work, "two", "");
    let v2 = work.commit("v2");
    assert!(work.git(&["push", &app.admin_url("browsed"), "main"]).ok);

    browser.visit(&app.url("/portal/functions")).await;
    assert_eq!(browser.title().await, "lmnop: sign in");
    browser.screenshot("sign-in").await;
    browser.fill("input[name=name]", "admin").await;
    browser
        .fill("input[name=password]", crate::support::ADMIN_PASSWORD)
        .await;
    browser
        .click_to("form.stacked button", "/portal/functions")
        .await;
    assert!(browser.text().await.contains("browsed"));
    browser.screenshot("functions").await;

    browser
        .click_to(
            "a[href='/portal/functions/browsed']",
            "/portal/functions/browsed",
        )
        .await;
    let text = browser.text().await;
    assert!(text.contains("v2") && text.contains("serving"), "{text}");
    browser.screenshot("function").await;
    browser
        .click_to(
            "a[href='/portal/functions/browsed/releases/1/log']",
            "/portal/functions/browsed/releases/1/log",
        )
        .await;
    assert!(browser.text().await.contains("Building browsed v1"));
    browser.screenshot("release-log").await;

    browser.visit(&app.url("/portal/functions/browsed")).await;
    browser
        .click_to(
            "form[action='/portal/functions/browsed/rollback'] button",
            "/portal/functions/browsed?done=3",
        )
        .await;
    let text = browser.text().await;
    assert!(
        text.contains("v3 serves browsed now") && text.contains("(rollback of v1)"),
        "{text}"
    );
    browser.screenshot("rolled-back").await;
    let served = reqwest::get(app.url("/function/browsed/"))
        .await
        .expect("answers")
        .text()
        .await
        .expect("text");
    assert_eq!(served, "one (v3)\n");
    assert_eq!(
        crate::faults::branch(&work, &app, "browsed").as_deref(),
        Some(v2.as_str())
    );

    browser
        .click_to("nav.session a[href='/portal/secrets']", "/portal/secrets")
        .await;
    assert_eq!(browser.title().await, "lmnop: secrets");
    browser.screenshot("secrets").await;
    browser
        .click_to("nav.session a[href='/portal/account']", "/portal/account")
        .await;
    assert_eq!(browser.title().await, "lmnop: your account");
    browser.screenshot("account").await;
    browser
        .click_to("nav.session button", "/portal/sign-in")
        .await;
    browser.visit(&app.url("/portal/functions")).await;
    assert_eq!(browser.title().await, "lmnop: sign in");
    browser.quit().await;
    app.stop().await;
}

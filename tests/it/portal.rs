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

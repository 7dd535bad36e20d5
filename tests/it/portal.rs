//! The web pages: the home page tells how to push to this server and lists its templates, with
//! everything from outside the page escaped.

use crate::support::spawn_app_with;

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

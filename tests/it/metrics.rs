//! `/metrics` stays bounded whatever clients send: labels come from known sets.

use crate::support::spawn_app;

/// Sends one raw request and reads the answer to its end.
fn send(address: std::net::SocketAddr, request: &str) {
    crate::support::raw_http(address, request.as_bytes());
}

#[tokio::test(flavor = "multi_thread")]
async fn made_up_methods_paths_and_functions_leave_the_metrics_the_same_size() {
    let app = spawn_app().await;
    let address = app.address;
    let metrics = || async {
        reqwest::get(app.url("/metrics"))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text")
    };
    // One made-up method first, so the series for `other` exists.
    send(
        address,
        "FROBNICATE0 /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    // Reading /metrics is counted too: read it once so its own series exist.
    metrics().await;
    let before = metrics().await;
    assert!(before.contains("method=\"other\""), "{before}");
    // Made-up paths and function names are no more labels than made-up methods.
    send(
        address,
        "GET /nowhere-0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    send(
        address,
        "GET /function/nobody-0/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    metrics().await;
    let before = metrics().await;
    tokio::task::spawn_blocking(move || {
        for index in 1..1000 {
            let method = format!("M{index:0>4}{}", "X".repeat(2000));
            send(
                address,
                &format!("{method} /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            );
            send(
                address,
                &format!("GET /nowhere-{index} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
            );
            send(
                address,
                &format!(
                    "GET /function/nobody-{index}/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                ),
            );
        }
    })
    .await
    .expect("requests");
    let after = metrics().await;
    assert!(!after.contains("M0001"), "a made-up method became a label");
    assert!(
        !after.contains("nowhere-1"),
        "a made-up path became a label"
    );
    assert!(
        !after.contains("nobody-1"),
        "a function that does not exist became a label"
    );
    // The counters' digits may grow; the number of series may not.
    let series = |text: &str| text.lines().filter(|line| !line.starts_with('#')).count();
    assert_eq!(series(&after), series(&before), "{after}");
    assert!(
        after.len() < before.len() + 200,
        "{} bytes before, {} after",
        before.len(),
        after.len()
    );
    app.stop().await;
}

/// `GET /metrics` in-process, as from `peer`, with an optional bearer token.
async fn metrics_status(app: &crate::support::TestApp, peer: &str, token: Option<&str>) -> u16 {
    use tower::ServiceExt;
    let mut request = axum::http::Request::get("/metrics").header("host", "lmnop.test");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let mut request = request.body(axum::body::Body::empty()).expect("request");
    let peer: std::net::SocketAddr = peer.parse().expect("address");
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    lmnop::app::router(app.state.clone())
        .oneshot(request)
        .await
        .expect("answers")
        .status()
        .as_u16()
}

#[tokio::test]
async fn metrics_answer_this_host_or_the_token_and_nobody_else() {
    let app = crate::support::spawn_app_with(|config| {
        config.metrics_token = Some(lmnop::domain::Secret::new("scrape-me"));
    })
    .await;
    assert_eq!(metrics_status(&app, "127.0.0.1:40000", None).await, 200);
    assert_eq!(metrics_status(&app, "[::1]:40000", None).await, 200);
    assert_eq!(metrics_status(&app, "203.0.113.9:40000", None).await, 403);
    assert_eq!(
        metrics_status(&app, "203.0.113.9:40000", Some("guess")).await,
        403
    );
    assert_eq!(
        metrics_status(&app, "203.0.113.9:40000", Some("scrape-me")).await,
        200
    );
    app.stop().await;

    // Without a token, only this host.
    let app = spawn_app().await;
    assert_eq!(metrics_status(&app, "127.0.0.1:40000", None).await, 200);
    assert_eq!(
        metrics_status(&app, "198.51.100.4:40000", Some("x")).await,
        403
    );
    app.stop().await;
}

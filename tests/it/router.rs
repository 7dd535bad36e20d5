//! The router against path and host tricks, with raw HTTP requests (a client library would
//! tidy the paths first) and two upstreams that echo what reached them: whatever the request,
//! it reaches the named function with its path as sent, or nothing at all.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::Request;

use crate::support::{TestApp, spawn_fake_app_with};

/// An upstream that answers `WHO METHOD PATH?QUERY` and the headers that matter here.
async fn echo(who: &'static str) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new().fallback(move |request: Request| async move {
        let (parts, body) = request.into_parts();
        let header = |name: &str| {
            parts
                .headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-")
                .to_owned()
        };
        let head = format!(
            "{who} {} {}\nx-forwarded-host: {}\nx-forwarded-for: {}\nproxy-authorization: {}\n\
             x-secret-hop: {}\nauthorization: {}\ncookie: {}\ntransfer-encoding: {}\n\
             expect: {}\n",
            parts.method,
            parts.uri.path_and_query().map_or("/", |p| p.as_str()),
            header("x-forwarded-host"),
            header("x-forwarded-for"),
            header("proxy-authorization"),
            header("x-secret-hop"),
            header("authorization"),
            header("cookie"),
            header("transfer-encoding"),
            header("expect"),
        );
        let body = axum::body::to_bytes(body, 1 << 20)
            .await
            .unwrap_or_default();
        format!("{head}body: {}\n", String::from_utf8_lossy(&body))
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// An upstream that answers `answer` after `delay`, and the number of requests that reached it.
async fn slow(delay: Duration, answer: &'static str) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let arrived = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new().fallback({
        let arrived = arrived.clone();
        move || {
            arrived.fetch_add(1, Ordering::SeqCst);
            async move {
                tokio::time::sleep(delay).await;
                answer
            }
        }
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    (address, arrived)
}

/// Waits until `arrived` counts a request (at most 10 s).
async fn until_arrived(arrived: &AtomicUsize) {
    for _ in 0..1000 {
        if arrived.load(Ordering::SeqCst) > 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the request never reached the upstream");
}

/// Sends `request` as bytes and returns (status, body).
fn raw(app: &TestApp, request: &str) -> (u16, String) {
    crate::support::raw_http(app.address, request.as_bytes())
}

fn get(app: &TestApp, path: &str, host: &str) -> (u16, String) {
    raw(
        app,
        &format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
    )
}

/// An upstream that tries to act for lmnop: it sets lmnop's cookie and challenges in its realm,
/// next to a cookie and a challenge of its own.
async fn impostor() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let app = axum::Router::new().fallback(|| async {
        (
            axum::http::StatusCode::UNAUTHORIZED,
            axum::response::AppendHeaders([
                ("set-cookie", "lmnop_session=planted; Path=/"),
                ("set-cookie", "theme=dark; Path=/"),
                ("www-authenticate", "Basic realm=\"lmnop\""),
                ("www-authenticate", "Bearer realm=\"impostor\""),
            ]),
            "sign in again\n",
        )
    });
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}

/// An upstream that answers every request in HTTP/1.0, as some small servers do.
async fn http_1_0() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = vec![0; 4096];
                let _ = stream.read(&mut request).await;
                let _ = stream
                    .write_all(b"HTTP/1.0 200 OK\r\nContent-Length: 4\r\n\r\nold\n")
                    .await;
            });
        }
    });
    address
}

async fn router_app() -> TestApp {
    let app = spawn_fake_app_with(|config| config.apps_domain = Some("apps.test".to_owned())).await;
    let _ = app.state.routes.set(
        "echo",
        vec![echo("echo").await],
        std::time::Duration::from_secs(30),
    );
    let _ = app.state.routes.set(
        "other",
        vec![echo("other").await],
        std::time::Duration::from_secs(30),
    );
    let _ = app.state.routes.set(
        "impostor",
        vec![impostor().await],
        std::time::Duration::from_secs(30),
    );
    let _ = app.state.routes.set(
        "old",
        vec![http_1_0().await],
        std::time::Duration::from_secs(30),
    );
    app
}

#[tokio::test(flavor = "multi_thread")]
async fn paths_reach_only_the_named_function_exactly_as_sent() {
    let app = router_app().await;
    let host = "lmnop.test";
    let cases = [
        ("/function/echo", "echo GET /\n"),
        ("/function/echo/a/b?x=1&y=%20", "echo GET /a/b?x=1&y=%20\n"),
        // Encoded separators stay encoded: no new path, query or fragment appears.
        ("/function/echo/x%3Fadmin=1", "echo GET /x%3Fadmin=1\n"),
        ("/function/echo/x%23frag", "echo GET /x%23frag\n"),
        (
            "/function/echo/..%2F..%2Fother%2F",
            "echo GET /..%2F..%2Fother%2F\n",
        ),
        // Dot segments never leave the function (they are resolved inside its own path).
        ("/function/echo/../other/", "echo GET /other/\n"),
        ("/function/echo/a/../../../healthz", "echo GET /healthz\n"),
        ("/function/echo//other", "echo GET //other\n"),
    ];
    for (path, first_line) in cases {
        let (status, body) = get(&app, path, host);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            body.starts_with(first_line),
            "{path} reached: {body:?}, expected {first_line:?}"
        );
    }
    // A name that is not a function name reaches nothing.
    for path in [
        "/function/..%2Fhealthz",
        "/function/%2e%2e/healthz",
        "/function/ECHO/",
        "/function/echo%2Fx/",
        "/function/nope/",
        "/function/",
    ] {
        let (status, body) = get(&app, path, host);
        assert_eq!(status, 404, "{path}: {body}");
        assert!(
            !body.contains("echo GET") && !body.contains("other GET"),
            "{path}: {body}"
        );
        assert_ne!(body.trim(), "ok", "{path} must not reach /healthz");
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hosts_route_one_label_under_the_apps_domain_and_nothing_else() {
    let app = router_app().await;
    // The whole path goes to the function, even paths lmnop itself serves.
    for (host, path, first_line) in [
        ("echo.apps.test", "/", "echo GET /\n"),
        (
            "echo.apps.test:8000",
            "/scm/other/info/refs",
            "echo GET /scm/other/info/refs\n",
        ),
        ("ECHO.Apps.Test", "/healthz", "echo GET /healthz\n"),
        (
            "other.apps.test",
            "/api/v1/functions",
            "other GET /api/v1/functions\n",
        ),
    ] {
        let (status, body) = get(&app, path, host);
        assert_eq!(status, 200, "{host}{path}: {body}");
        assert!(body.starts_with(first_line), "{host}{path}: {body:?}");
    }
    // Not one label under the domain: lmnop's own routes answer, no function is reached.
    for host in [
        "echo.apps.test.evil.example",
        "x.echo.apps.test",
        "apps.test",
        "evilapps.test",
        "echo.apps.test.",
        ".apps.test",
    ] {
        let (status, body) = get(&app, "/healthz", host);
        assert_eq!((status, body.trim()), (200, "ok"), "{host}: {body}");
    }
    let (status, body) = get(&app, "/", "nope.apps.test");
    assert_eq!(status, 404, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn forwarded_headers_are_set_by_lmnop_and_hop_by_hop_headers_stay_behind() {
    let app = router_app().await;
    let (status, body) = raw(
        &app,
        "GET /function/echo/ HTTP/1.1\r\nHost: lmnop.test\r\nX-Forwarded-Host: evil.example\r\n\
         X-Forwarded-For: 203.0.113.9\r\nProxy-Authorization: Basic c2VjcmV0\r\n\
         Connection: close, x-secret-hop\r\nX-Secret-Hop: 1\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("x-forwarded-host: lmnop.test\n"), "{body}");
    assert!(
        body.contains("x-forwarded-for: 203.0.113.9, 127.0.0.1\n"),
        "{body}"
    );
    assert!(body.contains("proxy-authorization: -\n"), "{body}");
    assert!(body.contains("x-secret-hop: -\n"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bodies_go_through_whole_and_a_request_without_one_sends_none() {
    let app = router_app().await;
    let (status, body) = get(&app, "/function/echo/", "lmnop.test");
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("transfer-encoding: -\nexpect: -\nbody: \n"),
        "no body, not an empty chunked one: {body}"
    );
    let (status, body) = raw(
        &app,
        "POST /function/echo/in HTTP/1.1\r\nHost: lmnop.test\r\nContent-Length: 11\r\n\
         Connection: close\r\n\r\nhello world",
    );
    assert_eq!(status, 200, "{body}");
    assert!(
        body.contains("echo POST /in\n") && body.contains("body: hello world\n"),
        "{body}"
    );
    let (status, body) = raw(
        &app,
        "PUT /function/echo/in HTTP/1.1\r\nHost: lmnop.test\r\nTransfer-Encoding: chunked\r\n\
         Connection: close\r\n\r\n5\r\nchunk\r\n3\r\ned!\r\n0\r\n\r\n",
    );
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("body: chunked!\n"), "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_never_sees_the_caller_s_lmnop_credentials() {
    let app = router_app().await;
    for host in ["lmnop.test", "echo.apps.test"] {
        let path = if host == "lmnop.test" {
            "/function/echo/"
        } else {
            "/"
        };
        let (status, body) = raw(
            &app,
            &format!(
                "GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Basic YWRtaW46cHc=\r\n\
                 Cookie: theme=dark; lmnop_session=s3cret\r\nCookie: LMNOP_other=1; cart=3\r\n\
                 Connection: close\r\n\r\n"
            ),
        );
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("authorization: -\n"), "{host}: {body}");
        assert!(
            body.contains("cookie: theme=dark; cart=3\n"),
            "{host}: {body}"
        );
        assert!(
            !body.to_ascii_lowercase().contains("lmnop_"),
            "{host}: {body}"
        );
    }
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_function_cannot_set_lmnop_s_cookie_or_ask_for_lmnop_s_password() {
    let app = router_app().await;
    let response = reqwest::get(app.url("/function/impostor/"))
        .await
        .expect("answers");
    assert_eq!(response.status(), 401, "the function's own status goes on");
    let cookies: Vec<_> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(cookies, ["theme=dark; Path=/"]);
    let challenges: Vec<_> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|value| value.to_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(challenges, ["Bearer realm=\"impostor\""]);
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_goes_back_in_the_client_s_http_version() {
    let app = router_app().await;
    let mut stream = TcpStream::connect(app.address).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream
        .write_all(b"GET /function/old/ HTTP/1.1\r\nHost: lmnop.test\r\nConnection: close\r\n\r\n")
        .expect("write");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
    assert!(answer.ends_with("\r\n\r\nold\n"), "{answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_ambiguous_host_is_refused_before_anything_runs() {
    let app = router_app().await;
    let cases = [
        (
            "GET /function/echo/ HTTP/1.1\r\nHost: lmnop.test\r\nHost: echo.apps.test\r\nConnection: close\r\n\r\n",
            "one Host header",
        ),
        (
            "GET /function/echo/ HTTP/1.1\r\nConnection: close\r\n\r\n",
            "needs a Host header",
        ),
        (
            "GET / HTTP/1.1\r\nHost: admin@echo.apps.test\r\nConnection: close\r\n\r\n",
            "user information",
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = raw(&app, request);
        assert_eq!(status, 400, "{request:?}: {body}");
        assert!(body.contains(expected), "{request:?}: {body}");
    }
    // HTTP/1.0 needs no Host.
    let (status, body) = raw(&app, "GET /function/echo/ HTTP/1.0\r\n\r\n");
    assert_eq!(status, 200, "{body}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn lmnop_s_own_host_under_the_apps_domain_is_never_a_function_s() {
    let app = spawn_fake_app_with(|config| {
        config.apps_domain = Some("apps.test".to_owned());
        config.public_url = Some("http://LMNOP.apps.test:8000".to_owned());
    })
    .await;
    let _ = app.state.routes.set(
        "lmnop",
        vec![echo("captured").await],
        std::time::Duration::from_secs(30),
    );
    let (status, body) = get(&app, "/healthz", "lmnop.apps.test:8000");
    assert_eq!(
        (status, body.as_str()),
        (200, "ok\n"),
        "lmnop answers itself"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_past_the_function_s_timeout_is_a_504_naming_the_setting() {
    let app = router_app().await;
    let _ = app.state.routes.set(
        "sleepy",
        vec![slow(Duration::from_secs(5), "late").await.0],
        Duration::from_secs(1),
    );
    let started = std::time::Instant::now();
    let (status, body) = get(&app, "/function/sleepy/", "lmnop.test");
    assert_eq!(status, 504, "{body}");
    assert!(
        body.contains("did not answer within 1s") && body.contains("`timeout` in its function.yml"),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "cut at the timeout"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expect_100_continue_is_answered_by_the_router_and_not_passed_on() {
    // The of-watchdog would hold such a body back 1.5 s waiting for a 100 Continue the
    // function never sends.
    let app = router_app().await;
    let (_, answer) = raw(
        &app,
        "POST /function/echo/in HTTP/1.1\r\nHost: lmnop.test\r\nContent-Length: 5\r\n\
         Expect: 100-continue\r\nConnection: close\r\n\r\nhello",
    );
    assert!(
        answer.contains("echo POST /in\n") && answer.contains("body: hello\n"),
        "{answer}"
    );
    assert!(answer.contains("expect: -\n"), "not forwarded: {answer}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_switch_waits_for_the_requests_the_old_backend_is_answering() {
    let app = router_app().await;
    let (old, arrived) = slow(Duration::from_secs(2), "old").await;
    let _ = app
        .state
        .routes
        .set("drain", vec![old], Duration::from_secs(30));
    let url = app.url("/function/drain/");
    let in_flight = tokio::spawn(async move {
        let response = reqwest::get(url).await.expect("answers");
        (
            response.status().as_u16(),
            response.text().await.expect("body"),
        )
    });
    until_arrived(&arrived).await;
    let retired = app.state.routes.set(
        "drain",
        vec![slow(Duration::ZERO, "new").await.0],
        Duration::from_secs(30),
    );
    assert_eq!(
        retired.in_flight(),
        1,
        "the old backend is answering one request"
    );
    // New requests go to the new backend at once.
    assert_eq!(
        get(&app, "/function/drain/", "lmnop.test"),
        (200, "new".to_owned())
    );
    let started = std::time::Instant::now();
    assert_eq!(retired.drained().await, 0, "nothing was cut");
    assert!(
        started.elapsed() > Duration::from_millis(1000),
        "drained() waited for the request"
    );
    assert_eq!(in_flight.await.expect("request"), (200, "old".to_owned()));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_drain_gives_up_once_the_function_s_timeout_has_passed() {
    let app = router_app().await;
    let (stuck, arrived) = slow(Duration::from_secs(30), "never").await;
    let _ = app
        .state
        .routes
        .set("stuck", vec![stuck], Duration::from_secs(1));
    let url = app.url("/function/stuck/");
    let in_flight = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    until_arrived(&arrived).await;
    let retired = app.state.routes.clear("stuck");
    let started = std::time::Instant::now();
    retired.drained().await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "bounded by the timeout"
    );
    let status = in_flight.await.expect("request").expect("answered");
    assert_eq!(status.as_u16(), 504);
    app.stop().await;
}

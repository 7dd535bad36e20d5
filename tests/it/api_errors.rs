//! In-process tests of the API's error shape: requests go straight to the router with
//! `oneshot` (no socket), and every error under `/api/v1` reads `{"error": "…"}`.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use http_body_util::BodyExt;
use tower::ServiceExt;

use crate::support::{ADMIN_PASSWORD, TestApp, spawn_app};

/// Sends one request through the app's router in-process; returns status, content type, body.
async fn send(app: &TestApp, mut request: Request<Body>) -> (StatusCode, String, String) {
    // What the server's listener adds to every request, and what every HTTP/1.1 client sends.
    let peer = std::net::SocketAddr::from(([127, 0, 0, 1], 40000));
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(peer));
    request
        .headers_mut()
        .entry(header::HOST)
        .or_insert(axum::http::HeaderValue::from_static("lmnop.test"));
    let response = lmnop::app::router(app.state.clone())
        .oneshot(request)
        .await
        .expect("the router answers");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("a body")
        .to_bytes();
    (
        status,
        content_type,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn admin(request: axum::http::request::Builder) -> axum::http::request::Builder {
    let credentials =
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"));
    request.header(header::AUTHORIZATION, format!("Basic {credentials}"))
}

/// The error message of a JSON error body.
fn error_of(body: &str) -> String {
    let value: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|_| panic!("not JSON: {body:?}"));
    value["error"]
        .as_str()
        .unwrap_or_else(|| panic!("no error field: {body}"))
        .to_owned()
}

#[tokio::test]
async fn missing_credentials_are_a_json_401_with_a_challenge() {
    let app = spawn_app().await;
    let request = Request::get("/api/v1/functions")
        .header(header::HOST, "lmnop.test")
        .body(Body::empty())
        .expect("request");
    let response = lmnop::app::router(app.state.clone())
        .oneshot(request)
        .await
        .expect("answers");
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers().contains_key(header::WWW_AUTHENTICATE),
        "a 401 keeps its challenge"
    );
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    assert_eq!(
        error_of(&String::from_utf8_lossy(&body)),
        "authentication required"
    );
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_function_is_a_json_404_that_says_so() {
    let app = spawn_app().await;
    let request = admin(Request::get("/api/v1/functions/nothing-here"))
        .body(Body::empty())
        .expect("request");
    let (status, content_type, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/json");
    assert_eq!(
        error_of(&body),
        "no function named nothing-here, or you may not access it"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_body_that_is_not_json_is_a_json_error() {
    let app = spawn_app().await;
    let request = admin(Request::put("/api/v1/functions/nothing-here/scale"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"replicas\": \"many\"}"))
        .expect("request");
    let (status, content_type, body) = send(&app, request).await;
    assert!(status.is_client_error(), "{status}");
    assert_eq!(content_type, "application/json");
    assert!(error_of(&body).contains("replicas"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_endpoint_is_a_json_404() {
    let app = spawn_app().await;
    let request = admin(Request::get("/api/v1/nonsense"))
        .body(Body::empty())
        .expect("request");
    let (status, content_type, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/json");
    assert!(error_of(&body).contains("/api/v1/nonsense"), "{body}");
    app.stop().await;
}

#[tokio::test]
async fn success_and_pages_outside_the_api_keep_their_shape() {
    let app = spawn_app().await;
    let request = admin(Request::get("/api/v1/functions"))
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&app, request).await;
    assert_eq!((status, body.as_str()), (StatusCode::OK, "[]"));
    // git clients still read plain text.
    let request = Request::get("/scm/a..b/info/refs?service=git-upload-pack")
        .body(Body::empty())
        .expect("request");
    let (status, content_type, _) = send(&app, request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(content_type.starts_with("text/plain"), "{content_type}");
    app.stop().await;
}

#[tokio::test]
async fn an_unknown_page_is_an_html_404_page_with_the_path_escaped() {
    let app = spawn_app().await;
    let request = Request::get("/portal/%3Cscript%3Ex")
        .body(Body::empty())
        .expect("request");
    let (status, content_type, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("<h2>404 Not Found</h2>"), "{body}");
    assert!(
        body.contains("there is no page /portal/%3Cscript%3Ex"),
        "{body}"
    );
    assert!(!body.contains("<script>"), "{body}");
    assert!(body.contains("<footer>"), "the site's frame: {body}");
}

#[tokio::test]
async fn the_portal_home_and_the_api_keep_their_own_error_shapes() {
    let app = spawn_app().await;
    let (status, content_type, body) = send(
        &app,
        Request::get("/portal/")
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(content_type.starts_with("text/html"), "{content_type}");
    assert!(body.contains("git push lmnop"), "{body}");
    // The same kind of error under /api/v1 stays JSON.
    let (status, content_type, body) = send(
        &app,
        admin(Request::get("/api/v1/nothing-here"))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(content_type, "application/json");
    assert!(error_of(&body).contains("/api/v1/nothing-here"), "{body}");
}

#[tokio::test]
async fn only_the_documented_scale_object_is_accepted() {
    let app = spawn_app().await;
    for (body, expected) in [
        ("[3]", "the body must be a JSON object"),
        (
            "{\"replicas\": 3, \"force\": true}",
            "unknown field `force`",
        ),
        ("3", "the body must be a JSON object"),
    ] {
        let request = admin(Request::put("/api/v1/functions/nothing-here/scale"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body))
            .expect("request");
        let (status, _, answer) = send(&app, request).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
        let error = error_of(&answer);
        assert!(error.contains(expected), "{body}: {error}");
        assert!(error.contains(r#"send {"replicas": N}"#), "{body}: {error}");
    }
    app.stop().await;
}

#[tokio::test]
async fn errors_quote_at_most_a_few_hundred_characters_of_what_was_sent() {
    let app = spawn_app().await;
    let long_name = "a".repeat(10_000);
    let request = admin(Request::get(format!("/api/v1/functions/{long_name}")))
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.len() < 1_000, "{} bytes", body.len());
    assert!(error_of(&body).ends_with("more bytes not shown)"), "{body}");

    let huge = format!("{{\"replicas\": \"{}\"}}", "x".repeat(1 << 20));
    let request = admin(Request::put("/api/v1/functions/nothing-here/scale"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(huge))
        .expect("request");
    let (status, _, body) = send(&app, request).await;
    assert!(status.is_client_error(), "{status}");
    assert!(body.len() < 1_000, "{} bytes", body.len());

    let request = Request::get(format!("/portal/{long_name}"))
        .body(Body::empty())
        .expect("request");
    let (status, _, body) = send(&app, request).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.len() < 4_000, "{} bytes", body.len());
    app.stop().await;
}

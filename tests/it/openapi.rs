//! `/api/v1/openapi.json` matches the API: every route in `src/api/mod.rs` is documented with
//! its methods, and every documented path and method is answered by a route (not the unknown
//! endpoint's 404, not a 405).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::support::{ADMIN_PASSWORD, spawn_fake_app};

/// The routes and their methods as `src/api/mod.rs` declares them.
fn declared_routes() -> BTreeMap<String, BTreeSet<String>> {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/mod.rs"),
    )
    .expect("src/api/mod.rs");
    let mut routes = BTreeMap::new();
    for call in source.split(".route(").skip(1) {
        // The call's arguments: up to its closing parenthesis.
        let mut depth = 1;
        let end = call
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(call.len(), |(at, _)| at);
        let arguments = &call[..end];
        let path = arguments
            .split('"')
            .nth(1)
            .expect("a route's path")
            .to_owned();
        let methods = ["get", "post", "put", "delete", "any"]
            .into_iter()
            .filter(|method| {
                arguments.contains(&format!("{method}("))
                    || arguments.contains(&format!(".{method}("))
            })
            .map(str::to_owned)
            .collect();
        routes.insert(path, methods);
    }
    routes
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_matches_the_routes() {
    let app = spawn_fake_app().await;
    let answer = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .expect("answers");
    assert_eq!(answer.status(), 200);
    assert_eq!(answer.headers()["content-type"], "application/json");
    let document: Value = answer.json().await.expect("JSON");
    assert_eq!(document["openapi"], "3.0.3");
    let documented: BTreeMap<String, BTreeSet<String>> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item")
                .keys()
                .filter(|key| ["get", "post", "put", "delete", "patch"].contains(&key.as_str()))
                .cloned()
                .collect();
            (path.clone(), methods)
        })
        .collect();

    let declared = declared_routes();
    assert!(declared.len() >= 7, "{declared:?}");
    for (path, methods) in &declared {
        if path == "/api/v1/{*rest}" {
            continue;
        }
        assert_eq!(
            documented.get(path),
            Some(methods),
            "route {path} as documented"
        );
    }

    let client = reqwest::Client::new();
    for (path, methods) in &documented {
        let url = app.url(
            &path
                .replace("{name}", "no-such-fn")
                .replace("{number}", "1"),
        );
        for method in methods {
            let method =
                reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            let answer = client
                .request(method.clone(), &url)
                .basic_auth("admin", Some(ADMIN_PASSWORD))
                .json(&serde_json::json!({}))
                .send()
                .await
                .expect("answers");
            let status = answer.status().as_u16();
            let body = answer.text().await.unwrap_or_default();
            assert!(
                status != 405 && !body.contains("no API endpoint"),
                "{method} {path}: {status} {body}"
            );
        }
    }
    app.stop().await;
}

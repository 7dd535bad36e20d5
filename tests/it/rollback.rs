//! Rollback on the real engine: an earlier release's image and config serve again as a new
//! release, health-gated like a push and without a failed request, while the branch stays at
//! the last push; what cannot be rolled back to is refused with the reason.

use serde_json::Value;

use crate::deploy_support::{Leftovers, deploy_app, get, python_function, unique};
use crate::faults::{branch, releases};
use crate::gitutil::WorkTree;
use crate::support::{ADMIN_PASSWORD, TestApp};

async fn rollback(app: &TestApp, name: &str, body: Value) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/functions/{name}/rollback")))
        .basic_auth("admin", Some(ADMIN_PASSWORD))
        .json(&body)
        .send()
        .await
        .expect("the API answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rollback_serves_an_earlier_release_without_a_failed_request_and_the_branch_stays() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("rollback");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "one", "");
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    python_function(&work, "two", "");
    let v2 = work.commit("v2");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    let path = format!("/function/{name}/");
    assert_eq!(get(&app, &path, None).await, (200, "two\n".to_owned()));

    // Polled throughout: every answer is v2's or, once it is back, v1's.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = tokio::spawn({
        let (url, stop) = (app.url(&path), stop.clone());
        async move {
            let client = reqwest::Client::new();
            let mut seen = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                seen.push(match client.get(&url).send().await {
                    Ok(response) => format!(
                        "{} {}",
                        response.status().as_u16(),
                        response.text().await.unwrap_or_default()
                    ),
                    Err(error) => format!("error {error}"),
                });
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            seen
        }
    });
    let (status, body) = rollback(&app, &name, serde_json::json!({"release": 1})).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = poller.await.expect("the poller ends");
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["release"].as_i64(), body["rollback_of"].as_i64()),
        (Some(3), Some(1))
    );
    assert!(
        body["note"]
            .as_str()
            .is_some_and(|note| note.contains("the branch still points")),
        "{body}"
    );
    let first_old = seen.iter().position(|answer| answer == "200 one\n");
    assert!(
        seen.len() > 5
            && seen
                .iter()
                .all(|answer| answer == "200 one\n" || answer == "200 two\n")
            && first_old.is_some_and(|at| seen[at..].iter().all(|answer| answer == "200 one\n")),
        "{seen:?}"
    );
    assert_eq!(get(&app, &path, None).await, (200, "one\n".to_owned()));
    assert_eq!(branch(&work, &app, &name).as_deref(), Some(v2.as_str()));
    let recorded = releases(&app, &name).await;
    assert_eq!(
        (
            recorded[0]["number"].as_i64(),
            recorded[0]["status"].as_str(),
            recorded[0]["rollback_of"].as_i64()
        ),
        (Some(3), Some("deployed"), Some(1)),
        "{recorded:?}"
    );

    // What cannot be rolled back to, each with its reason and nothing changed.
    work.write("function.yml", "template: dockerfile\n");
    work.write("Dockerfile", "FROM scratch\nRUN false\n");
    work.commit("v4 does not build");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    let image_of_v2 = recorded
        .iter()
        .find(|release| release["number"] == 2)
        .and_then(|release| release["image"].as_str())
        .expect("v2 has an image")
        .to_owned();
    // v2's image tag removed from the engine behind lmnop's back.
    let removed = std::process::Command::new("docker")
        .args(["rmi", &image_of_v2])
        .output()
        .expect("docker rmi");
    assert!(removed.status.success(), "{removed:?}");
    for (body, want, said) in [
        (serde_json::json!({"release": 9}), 404, "has no release v9"),
        (
            serde_json::json!({"release": "two"}),
            400,
            r#"send {"release": K}"#,
        ),
        (serde_json::json!({"release": 3}), 409, "v3 already serves"),
        (
            serde_json::json!({"release": "v4"}),
            409,
            "never served (it is failed)",
        ),
        (
            serde_json::json!({"release": 2}),
            409,
            "the image of v2 is gone",
        ),
    ] {
        let (status, answer) = rollback(&app, &name, body.clone()).await;
        assert!(
            status == want
                && answer["error"]
                    .as_str()
                    .is_some_and(|error| error.contains(said)),
            "{body}: {status} {answer}"
        );
    }
    let (status, _) = rollback(&app, "no-such-function", serde_json::json!({"release": 1})).await;
    assert_eq!(status, 404);
    assert_eq!(get(&app, &path, None).await, (200, "one\n".to_owned()));
    assert_eq!(releases(&app, &name).await.len(), 4, "no release was added");

    // The next push deploys the branch again.
    python_function(&work, "five", "");
    work.commit("v5");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert_eq!(get(&app, &path, None).await, (200, "five\n".to_owned()));
    app.stop().await;
}

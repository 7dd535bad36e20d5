//! Pushes with `LMNOP_REGISTRY` set, against the real local registry: the image is pushed under
//! the registry's name with its digest recorded, an unchanged tree pushes no layer again, the
//! credentials never show, and a registry that cannot be reached fails the release cleanly.

use lmnop::config::RegistryConfig;
use lmnop::domain::Secret;

use crate::deploy_support::{
    Leftovers, get, python_function, python_image, remove_containers, unique, watchdog_image,
};
use crate::gitutil::WorkTree;
use crate::support::{
    Part, TestApp, docker_available, free_port, need, spawn_app_with, test_registry,
};

const REGISTRY_PASSWORD: &str = "registry-pw-7f3a9c";

/// A server whose builds use the offline base images and push to `registry`.
async fn app_with_registry(registry: &str) -> TestApp {
    let registry = RegistryConfig {
        address: registry.to_owned(),
        user: Some("robot".to_owned()),
        password: Some(Secret::new(REGISTRY_PASSWORD)),
        insecure: false,
    };
    let watchdog = watchdog_image();
    spawn_app_with(move |config| {
        config.build_args = lmnop::config::parse_build_args(&format!(
            "python3.12.BASE_IMAGE={},WATCHDOG_IMAGE={watchdog}",
            python_image()
        ))
        .expect("build args");
        config.runtime.set_registry(registry);
    })
    .await
}

/// The digest the registry serves for `repository:tag`.
async fn manifest_digest(registry: &str, repository: &str, tag: &str) -> Option<String> {
    let response = reqwest::Client::new()
        .head(format!("http://{registry}/v2/{repository}/manifests/{tag}"))
        .header(
            "Accept",
            "application/vnd.docker.distribution.manifest.v2+json",
        )
        .send()
        .await
        .ok()?;
    response
        .headers()
        .get("docker-content-digest")
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread")]
async fn with_a_registry_the_image_is_pushed_with_its_digest_and_unchanged_trees_push_nothing_new()
{
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    let (registry, answers) = test_registry().await;
    if !need(
        Part::Registry,
        answers,
        &format!("nothing answers at {registry}/v2/"),
    ) {
        return;
    }
    let app = app_with_registry(&format!("{registry}/lmnop-test")).await;
    let name = unique("pushed");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "registered", "");
    let first = work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!(
            "Pushing {registry}/lmnop-test/{name}:{first} to {registry}"
        )),
        "the push step is shown: {}",
        push.stderr
    );
    assert!(push.stderr.contains("pushed: "), "{}", push.stderr);
    assert!(
        !push.stderr.contains(REGISTRY_PASSWORD),
        "the registry password never shows"
    );
    let (status, body) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!((status, body.trim()), (200, "registered"), "{body}");

    let v1 = app.releases(&name).await.remove(0);
    assert_eq!(
        v1["image"].as_str(),
        Some(format!("{registry}/lmnop-test/{name}:{first}").as_str())
    );
    let digest = v1["digest"]
        .as_str()
        .expect("the digest is recorded")
        .to_owned();
    assert_eq!(
        manifest_digest(&registry, &format!("lmnop-test/{name}"), &first)
            .await
            .as_deref(),
        Some(digest.as_str()),
        "the recorded digest is the registry's"
    );

    // Same tree, new commit: the image is reused and every layer is already there.
    work.git(&["commit", "--allow-empty", "-q", "-m", "v2, same tree"]);
    let second = work.head();
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("reused the image") && push.stderr.contains("(0 uploaded"),
        "nothing is built or uploaded again: {}",
        push.stderr
    );
    let v2 = app.releases(&name).await.remove(0);
    assert_eq!(v2["number"], 2);
    assert_eq!(v2["digest"].as_str(), Some(digest.as_str()));
    assert_eq!(
        manifest_digest(&registry, &format!("lmnop-test/{name}"), &second)
            .await
            .as_deref(),
        Some(digest.as_str())
    );
    assert!(v2["timings"]["push"].is_number(), "{}", v2["timings"]);

    remove_containers(&name).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registry_that_cannot_be_reached_fails_the_release_and_leaves_the_branch() {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return;
    }
    // Nothing listens here: the engine's push fails at once.
    let app = app_with_registry(&format!("127.0.0.1:{}", free_port())).await;
    let name = unique("unpushed");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    python_function(&work, "never", "");
    work.commit("v1");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(!push.ok, "the push is refused");
    assert!(
        push.stderr.contains("registry push failed"),
        "the failing step is named: {}",
        push.stderr
    );
    assert!(!push.stderr.contains(REGISTRY_PASSWORD));
    // A refused first push leaves no repository behind.
    let probe = work.git(&["ls-remote", &app.admin_url(&name)]);
    assert!(
        !probe.ok && probe.stderr.contains("no repository named"),
        "{}",
        probe.stderr
    );
    eprintln!("{}", push.stderr);
    let (status, _) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!(status, 404, "nothing serves");
    if let Some(release) = app.releases(&name).await.first() {
        assert_eq!(release["status"], "failed");
        assert!(
            release["error"]
                .as_str()
                .is_some_and(|e| e.starts_with("registry push")),
            "{release}"
        );
    }
    remove_containers(&name).await;
    app.stop().await;
}

//! The dockerfile template: the build context is the pushed tree as `docker build` would see
//! it, minus what .dockerignore lists and without anything of the host's, and a secret reaches
//! the running container only.

use crate::deploy_support::{Leftovers, containers_of, deploy_app, get, python_image, unique};
use crate::gitutil::WorkTree;

/// A Dockerfile (through a symlink) that copies the tree to /app, lists it while building
/// (showing what /app/leak points to), and serves /app/site.
fn write_dockerfile(work: &WorkTree) {
    // The engine's layer cache does not tell symlinks apart by target: give every run its own
    // tree so `COPY` really runs.
    work.write("nonce", &format!("{:x}", rand::random::<u64>()));
    work.write(
        "docker/Dockerfile.real",
        &format!(
            "FROM {}\nCOPY . /app\nRUN ls -la /app && cat /app/leak || true\n\
             CMD [\"python3\", \"-m\", \"http.server\", \"8080\", \"--directory\", \"/app/site\"]\n",
            python_image()
        ),
    );
    std::os::unix::fs::symlink("docker/Dockerfile.real", work.path.join("Dockerfile"))
        .expect("symlink");
}

/// Runs `docker` with `args`; returns its standard output.
fn docker(args: &[&str]) -> String {
    let output = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("docker runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dockerfile_app_builds_without_host_or_ignored_files() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("ownfile");
    let _leftovers = Leftovers(name.clone());
    // A file only the host has; it may reach neither the image nor any output.
    let marker = format!("host-only-{}", rand::random::<u64>());
    let host_file = std::env::temp_dir().join(format!("lmnop-leak-{:x}", rand::random::<u32>()));
    std::fs::write(&host_file, &marker).expect("host file");

    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("function.yml", "template: dockerfile\n");
    work.write("site/index.html", "<h1>own Dockerfile</h1>\n");
    // What .dockerignore lists stays out of the context, as with `docker build`.
    work.write(
        ".dockerignore",
        "# not for the image\nnotes\n**/*.bak\n!site/keep.bak\n",
    );
    work.write("notes/todo.txt", "private notes\n");
    work.write("site/old.bak", "old\n");
    work.write("site/keep.bak", "kept\n");
    write_dockerfile(&work);
    std::os::unix::fs::symlink(&host_file, work.path.join("leak")).expect("symlink");
    work.commit("own Dockerfile");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    // notes/, notes/todo.txt and site/old.bak (the exception brings site/keep.bak back).
    assert!(
        push.stderr.contains("3 paths left out by .dockerignore"),
        "the pusher hears what .dockerignore left out: {}",
        push.stderr
    );
    assert!(
        !push.stderr.contains(&marker),
        "no host file content in the build: {}",
        push.stderr
    );
    let (status, body) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!((status, body.as_str()), (200, "<h1>own Dockerfile</h1>\n"));

    let image = format!("lmnop/{name}:{}", work.head());
    assert_eq!(
        docker(&[
            "image",
            "inspect",
            "--format",
            "{{ index .Config.Labels \"lmnop.source\" }}",
            &image,
        ])
        .trim(),
        format!("{name}@{} by admin", work.head()),
        "the image says what it was built from"
    );
    let seen = docker(&[
        "run",
        "--rm",
        &image,
        "sh",
        "-c",
        "readlink /app/leak; cat /app/leak 2>&1; grep -rs host-only /app /etc /home /root /usr/local /srv /opt | head -1; \
         ls -d /app/notes /app/site/old.bak /app/site/keep.bak 2>&1",
    ]);
    assert!(
        seen.contains(&host_file.display().to_string()),
        "the symlink stays a symlink: {seen}"
    );
    assert!(
        !seen.contains(&marker),
        "the host file is not in the image: {seen}"
    );
    for ignored in ["/app/notes", "/app/site/old.bak"] {
        assert!(
            seen.contains(&format!("cannot access '{ignored}'")),
            "{ignored} is left out by .dockerignore: {seen}"
        );
    }
    assert!(
        seen.contains("\n/app/site/keep.bak\n"),
        "an exception brings a file back: {seen}"
    );

    let _ = std::fs::remove_file(&host_file);
    crate::deploy_support::remove_containers(&name).await;
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_secret_reaches_the_running_container_only() {
    let Some(app) = deploy_app().await else {
        return;
    };
    let name = unique("ownfile");
    let _leftovers = Leftovers(name.clone());
    let secret_value = format!("s3cret-{}", rand::random::<u64>());
    app.state
        .secrets()
        .set(
            &lmnop::domain::SecretName::parse("api-key").expect("name"),
            &lmnop::domain::Secret::new(secret_value.clone()),
        )
        .expect("secret");

    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    work.write("function.yml", "template: dockerfile\nsecrets: [api-key]\n");
    work.write("site/index.html", "<h1>own Dockerfile</h1>\n");
    write_dockerfile(&work);
    work.commit("own Dockerfile with a secret");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        !push.stderr.contains(&secret_value),
        "no secret in the build output"
    );
    let (status, body) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!((status, body.as_str()), (200, "<h1>own Dockerfile</h1>\n"));

    // The secret is mounted read-only where OpenFaaS puts it, and is not in the config.
    let image = format!("lmnop/{name}:{}", work.head());
    let id = containers_of(&name, false).remove(0);
    assert_eq!(
        docker(&["exec", &id, "cat", "/var/openfaas/secrets/api-key"]),
        secret_value
    );
    assert!(
        !docker(&["inspect", &id]).contains(&secret_value),
        "not in docker inspect"
    );
    assert!(
        !docker(&["history", "--no-trunc", &image]).contains(&secret_value),
        "not in the image history"
    );
    // Nor in what the API shows of the function and its release, nor in its log.
    let detail = app.function_detail(&name).await.expect("the function");
    assert!(
        !detail.to_string().contains(&secret_value),
        "not in the API's view of the function"
    );
    let number = detail["releases"][0]["number"]
        .as_i64()
        .expect("a release number");
    let log = app.release_log(&name, number).await;
    assert!(!log.contains(&secret_value), "not in the release's log");
    // The function.yml a release records is not shown by the API or the CLI: read from the
    // table, it names the secret but holds no value.
    let function = lmnop::db::functions::find(&app.state.db, &name)
        .await
        .expect("db")
        .expect("function");
    let release = lmnop::db::releases::list(&app.state.db, function.id)
        .await
        .expect("db")
        .remove(0);
    assert!(
        !release.config.to_record().contains(&secret_value),
        "not in the release's recorded function.yml"
    );

    crate::deploy_support::remove_containers(&name).await;
    app.stop().await;
}

//! The static, hugo and react templates on the real engine, pushed with real git: each example
//! builds and serves its pages and assets at `/function/NAME/`, and each kind of broken site is
//! refused with a message that says why, leaving nothing new running.

use std::path::Path;

use crate::deploy_support::{Leftovers, containers_of, copy_example, get, site_app, unique};
use crate::gitutil::WorkTree;
use crate::support::TestApp;

/// Ids of the function's containers, running or not.
fn containers(name: &str) -> Vec<String> {
    containers_of(name, true)
}

/// The user the function's one container runs as.
fn container_user(name: &str) -> String {
    let ids = containers(name);
    assert_eq!(ids.len(), 1, "one container: {ids:?}");
    let output = std::process::Command::new("docker")
        .args(["exec", &ids[0], "id", "-un"])
        .output()
        .expect("docker exec");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Whether the push output has `text` on a line of its own making: the build's echo of each
/// Dockerfile step, and the engine's report of a failed one, quote the template's messages
/// too and do not count.
fn printed(output: &str, text: &str) -> bool {
    output.lines().any(|line| {
        line.contains(text) && !line.contains(" : RUN ") && !line.contains("/bin/sh -c")
    })
}

/// `GET /function/NAME/PATH`, asserting a 200 whose body contains `expected`.
async fn assert_serves(app: &TestApp, name: &str, path: &str, expected: &str) {
    let (status, body) = get(app, &format!("/function/{name}/{path}"), None).await;
    assert_eq!(status, 200, "GET /function/{name}/{path}: {body}");
    assert!(
        body.contains(expected),
        "GET /function/{name}/{path} has {expected:?}: {body}"
    );
}

/// A first push that fails leaves no container and no route.
async fn assert_nothing_deployed(app: &TestApp, name: &str) {
    assert_eq!(containers(name), Vec::<String>::new(), "no container");
    let (status, _) = get(app, &format!("/function/{name}/"), None).await;
    assert_eq!(status, 404, "no route to {name}");
}

#[test]
fn the_site_templates_serve_static_files_with_mirrorable_images() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("function-templates");
    let templates = lmnop::build::templates::Templates::load(&dir);
    for (name, required, options) in [
        (
            "static",
            "public/index.html",
            &["BASE_IMAGE", "WATCHDOG_IMAGE"][..],
        ),
        (
            "hugo",
            "one of site/config.toml, site/hugo.toml, site/config.yaml and 9 more",
            &[
                "APT_MIRROR",
                "BASE_IMAGE",
                "BUILD_IMAGE",
                "HUGO_ARGS",
                "WATCHDOG_IMAGE",
            ][..],
        ),
        (
            "react",
            "package.json",
            &[
                "BASE_IMAGE",
                "BUILD_DIR",
                "BUILD_IMAGE",
                "NPM_REGISTRY",
                "WATCHDOG_IMAGE",
            ][..],
        ),
    ] {
        let template = templates.get(name).expect("the template ships");
        let required_files: Vec<String> = template
            .required_files
            .iter()
            .map(|requirement| requirement.describe())
            .collect();
        assert_eq!(required_files, [required], "{name}");
        assert_eq!(
            template.options.keys().collect::<Vec<_>>(),
            options,
            "{name}"
        );
        assert_eq!(
            (template.port, template.readiness_path.as_deref()),
            (8080, Some("/_/health")),
            "{name}"
        );
        // Every option is a build arg of the Dockerfile, with the same default.
        let dockerfile =
            std::fs::read_to_string(template.dir.join("Dockerfile")).expect("Dockerfile");
        for (option, default) in &template.options {
            assert!(
                dockerfile.contains(&format!("ARG {option}={default}\n")),
                "{name}: ARG {option}={default}"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_static_site_serves_its_public_directory_and_needs_an_index() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("static");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url(&name);
    let work = WorkTree::new(tmp.path(), "work");

    // Files, but no public/index.html: refused before anything is built.
    work.write("function.yml", "template: static\n");
    work.write("public/about.html", "<p>about</p>\n");
    work.commit("no index");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("the static template needs public/index.html, which is not in this commit"),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("Step 1/"), "nothing was built");
    assert_nothing_deployed(&app, &name).await;

    std::fs::remove_dir_all(work.path.join("public")).expect("rm public");
    copy_example(&work, "static-site");
    // A file unique to this run, so the build is a real one.
    work.write("public/build-id.txt", &name);
    // A directory without an index.html.
    work.write("public/files/notes.txt", "notes\n");
    work.commit("the example");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(&format!("success: {name} v1 is live")),
        "{}",
        push.stderr
    );
    assert_serves(&app, &name, "", "Hello from a static site").await;
    assert_serves(&app, &name, "about/", "A directory answers with its").await;
    assert_serves(&app, &name, "style.css", "font-family").await;
    assert_serves(&app, &name, "build-id.txt", &name).await;
    let (status, body) = get(&app, "/", Some(&format!("{name}.apps.test"))).await;
    assert!(status == 200 && body.contains("Hello from a static site"));
    let (status, _) = get(&app, &format!("/function/{name}/missing.html"), None).await;
    assert_eq!(status, 404);
    assert_eq!(container_user(&name), "app", "not root");
    // The watchdog's file server: a directory without its slash is redirected (relative, so it
    // works under /function/NAME/ too), one without an index.html is not listed.
    let plain = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let about = plain
        .get(app.url(&format!("/function/{name}/about")))
        .send()
        .await
        .expect("answers");
    assert_eq!(about.status(), 301);
    assert_eq!(about.headers()["location"], "about/");
    let (status, body) = get(&app, &format!("/function/{name}/files/"), None).await;
    assert_eq!(status, 403, "not listed: {body}");
    assert!(!body.contains("notes.txt"), "{body}");
    assert_serves(&app, &name, "files/notes.txt", "notes").await;

    // Told to stop, the watchdog exits by itself within a second or so rather than being
    // killed at the end of the engine's grace period (exit 137). Checked on a twin of the
    // function's container (same image and settings, not lmnop's, so lmnop does not replace it).
    let docker = |args: &[&str]| {
        let output = std::process::Command::new("docker")
            .args(args)
            .output()
            .expect("docker runs");
        assert!(output.status.success(), "docker {args:?}: {output:?}");
        String::from_utf8_lossy(&output.stdout).trim().to_owned()
    };
    let container = containers(&name).remove(0);
    let image = docker(&["inspect", "--format", "{{.Config.Image}}", &container]);
    let env = docker(&["inspect", "--format", "{{json .Config.Env}}", &container]);
    let env: Vec<String> = serde_json::from_str(&env).expect("env");
    let mut run = vec!["run", "-d", "--init", "--read-only", "--tmpfs", "/tmp"];
    for variable in &env {
        run.extend(["-e", variable.as_str()]);
    }
    run.push(&image);
    let twin = docker(&run);
    std::thread::sleep(std::time::Duration::from_secs(1));
    docker(&["stop", "--time", "10", &twin]);
    let exit = docker(&["inspect", "--format", "{{.State.ExitCode}}", &twin]);
    docker(&["rm", "-f", &twin]);
    assert_eq!(exit, "0", "the watchdog stopped by itself");

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hugo_site_is_built_and_a_broken_one_leaves_the_previous_release_serving() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("hugo");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url(&name);
    let work = WorkTree::new(tmp.path(), "work");
    // The original lmnop's layout: the site in site/, configured by config.toml, with a theme.
    copy_example(&work, "hugo-site");
    work.write(
        "site/content/run.md",
        &format!("---\ntitle: Run {name}\n---\n"),
    );
    work.commit("the example");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(printed(&push.stderr, "site: site/"), "{}", push.stderr);
    // The build image has hugo (the step that says so may come from the layer cache).
    assert!(
        printed(&push.stderr, "Start building sites"),
        "{}",
        push.stderr
    );
    assert!(
        !printed(&push.stderr, "Setting up hugo"),
        "a build image with hugo is used as it is: {}",
        push.stderr
    );
    assert!(
        push.stderr.contains(&format!("success: {name} v1 is live")),
        "{}",
        push.stderr
    );
    // Minified, with links relative to the page.
    assert_serves(&app, &name, "", "<h1>Hello from Hugo</h1>").await;
    assert_serves(&app, &name, "", "<a href=./about/>About</a>").await;
    assert_serves(
        &app,
        &name,
        "about/",
        "Every page under <code>content/</code>",
    )
    .await;
    assert_serves(&app, &name, "run/", &format!("Run {name}")).await;
    assert_serves(&app, &name, "style.css", "font-family").await;
    assert_eq!(container_user(&name), "app", "not root");

    // A template that hugo cannot render.
    work.write(
        "site/layouts/index.html",
        "{{ define \"main\" }}{{ partial \"no-such-partial.html\" . }}{{ end }}\n",
    );
    work.commit("broken layout");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        printed(
            &push.stderr,
            "error: hugo could not build the site; its message is above"
        ),
        "{}",
        push.stderr
    );
    assert!(
        printed(&push.stderr, "no-such-partial.html"),
        "hugo's own message: {}",
        push.stderr
    );
    assert!(
        push.stderr.contains("previous release keeps serving"),
        "{}",
        push.stderr
    );
    assert_serves(&app, &name, "", "<h1>Hello from Hugo</h1>").await;
    assert_eq!(containers(&name).len(), 1, "nothing new runs");

    // No configuration in site/ (nor at the root): refused before anything is built, saying
    // where the site goes.
    std::fs::remove_file(work.path.join("site/layouts/index.html")).expect("rm");
    std::fs::rename(
        work.path.join("site/config.toml"),
        work.path.join("site/settings.toml"),
    )
    .expect("mv");
    work.commit("no config.toml");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(
            "the hugo template needs one of site/config.toml, site/hugo.toml, site/config.yaml \
             and 9 more, which is not in this commit"
        ),
        "{}",
        push.stderr
    );
    assert!(
        push.stderr
            .contains("builds the site in a directory called site/ at the root"),
        "the template's own message is the hint: {}",
        push.stderr
    );
    assert_serves(&app, &name, "about/", "Every page under").await;

    // The site at the root of the repository, as lmnop also allows.
    for entry in ["content", "themes"] {
        std::fs::rename(work.path.join("site").join(entry), work.path.join(entry)).expect("mv");
    }
    std::fs::rename(
        work.path.join("site/settings.toml"),
        work.path.join("hugo.toml"),
    )
    .expect("mv");
    work.commit("the site at the root");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        printed(&push.stderr, "site: the repository's root"),
        "{}",
        push.stderr
    );
    assert_serves(&app, &name, "", "<h1>Hello from Hugo</h1>").await;

    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_react_app_is_built_with_npm_and_broken_builds_are_explained() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("react");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let url = app.admin_url(&name);
    let work = WorkTree::new(tmp.path(), "work");

    // The build script fails: its output and the reason reach the pusher; nothing runs.
    work.write("function.yml", "template: react\n");
    work.write(
        "package.json",
        &format!(
            r#"{{
  "name": "{name}",
  "private": true,
  "scripts": {{
    "build": "node -e \"console.error('compile error ' + 'on purpose'); process.exit(2)\""
  }}
}}
"#
        ),
    );
    work.commit("failing build script");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        printed(
            &push.stderr,
            "installing with npm install (no package-lock.json"
        ),
        "without a lock file, npm install: {}",
        push.stderr
    );
    assert!(
        printed(&push.stderr, "compile error on purpose"),
        "the script's output: {}",
        push.stderr
    );
    assert!(
        printed(
            &push.stderr,
            "error: npm run build failed; its output is above"
        ),
        "{}",
        push.stderr
    );
    assert_nothing_deployed(&app, &name).await;

    // The example: dependencies from the npm registry over TLS that only the CA file handed to
    // the build makes trusted.
    std::fs::remove_file(work.path.join("package.json")).expect("rm");
    copy_example(&work, "react-app");
    // A manifest unique to this run, so the install is a real one and not a cached layer.
    let manifest = std::fs::read_to_string(work.path.join("package.json")).expect("manifest");
    work.write(
        "package.json",
        &manifest.replace("react template\"", &format!("react template ({name})\"")),
    );
    work.write("public/build-id.txt", &name);
    work.commit("the example");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        printed(&push.stderr, "installing with npm ci (package-lock.json)"),
        "{}",
        push.stderr
    );
    assert!(
        printed(
            &push.stderr,
            "serving build/ (the directory npm run build wrote)"
        ),
        "Create React App's build/, found without an option: {}",
        push.stderr
    );
    assert!(
        push.stderr.contains(&format!("success: {name} v1 is live")),
        "the refused first push left no release behind: {}",
        push.stderr
    );
    assert_serves(&app, &name, "", "<script src=\"assets/main.js\">").await;
    assert_serves(&app, &name, "assets/main.js", "Hello from React").await;
    assert_serves(&app, &name, "assets/main.css", "font-family").await;
    assert_serves(&app, &name, "build-id.txt", &name).await;
    assert_eq!(container_user(&name), "app", "not root");

    // The build writes build/, but function.yml says dist/.
    work.write(
        "function.yml",
        "template: react\noptions:\n  BUILD_DIR: dist\n",
    );
    work.commit("wrong build directory");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        printed(
            &push.stderr,
            "error: npm run build made no dist/index.html; set options.BUILD_DIR in function.yml"
        ),
        "{}",
        push.stderr
    );
    assert_serves(&app, &name, "assets/main.js", "Hello from React").await;
    assert_eq!(containers(&name).len(), 1, "nothing new runs");

    app.stop().await;
}

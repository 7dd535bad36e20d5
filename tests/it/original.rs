//! Repositories in the original lmnop's layouts, pushed unchanged on the real engine with real
//! git: a Flask app under gunicorn (root `entrypoint`, `requirements.txt` from PyPI,
//! `initialize`, `packages`, `template: python3.10`), the other examples, and the mistakes its
//! users make, each refused with what to do.

use crate::deploy_support::{
    Leftovers, containers_of, copy_example, get, python_image, site_app, unique,
};
use crate::gitutil::WorkTree;
use crate::support::TestApp;

/// Runs `args` in the function's one container (once the previous release's has gone, which
/// it does after its last requests); whether it succeeded and what it printed.
fn exec_in(name: &str, args: &[&str]) -> (bool, String) {
    let mut ids = containers_of(name, false);
    for _ in 0..100 {
        if ids.len() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        ids = containers_of(name, false);
    }
    assert_eq!(ids.len(), 1, "one container: {ids:?}");
    let output = std::process::Command::new("docker")
        .arg("exec")
        .arg(&ids[0])
        .args(args)
        .output()
        .expect("docker exec");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// `GET /function/NAME/`, which must be 200; its body.
async fn serves(app: &TestApp, name: &str) -> String {
    let (status, body) = get(app, &format!("/function/{name}/"), None).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flask_app_in_the_original_layout_deploys_unchanged() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("flask");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    let url = app.admin_url(&name);
    copy_example(&work, "python-flask");
    // Its own requirements line, so pip really installs (no layer of another run is reused).
    let requirements = std::fs::read_to_string(work.path.join("requirements.txt")).expect("read");
    work.write("requirements.txt", &format!("# {name}\n{requirements}"));
    work.commit("the example");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    for said in [
        "Building",
        "with python3.10",
        "layout: entrypoint at the root, copied to /entrypoint",
        "installing requirements.txt with pip",
        "Successfully installed",
        "running initialize",
        &format!("success: {name} v1 is live"),
    ] {
        assert!(push.stderr.contains(said), "{said:?}: {}", push.stderr);
    }
    // gunicorn serves Flask; the file `initialize` wrote at build time is read at run time,
    // and it saw the curl that `packages` installed.
    let body = serves(&app, &name).await;
    assert!(
        body.starts_with("Hello from Flask, built with Python 3.") && body.contains(" and curl "),
        "{body}"
    );
    assert_eq!(
        exec_in(&name, &["sh", "-c", "test -x /usr/bin/curl && echo yes"]),
        (true, "yes\n".to_owned()),
        "packages: curl is in the image"
    );
    // As the README says: the app in /home/lmnop/function as lmnop, /entrypoint, a read-only
    // root and a writable /tmp.
    let (_, seen) = exec_in(
        &name,
        &[
            "sh",
            "-c",
            "id -un; pwd; test -f app.py && echo code; test -x /entrypoint && echo entrypoint; \
             touch /home/lmnop/x 2>/dev/null || echo read-only; touch /tmp/x && echo tmp",
        ],
    );
    assert_eq!(
        seen,
        "lmnop\n/home/lmnop/function\ncode\nentrypoint\nread-only\ntmp\n"
    );
    let (_, gunicorn) = exec_in(&name, &["sh", "-c", "cat /proc/*/cmdline | tr '\\0' ' '"]);
    assert!(
        gunicorn.contains("gunicorn --bind 127.0.0.1:5000"),
        "{gunicorn}"
    );

    // A package list that is not one: refused before anything is built, naming the field.
    let function_yml = std::fs::read_to_string(work.path.join("function.yml")).expect("read");
    work.write(
        "function.yml",
        &function_yml.replace("packages: curl", "packages: \"curl; rm -rf /\""),
    );
    work.commit("a shell command for packages");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    let line = function_yml
        .lines()
        .position(|line| line.contains("packages:"))
        .expect("the packages line")
        + 1;
    assert!(
        push.stderr.contains(&format!(
            "function.yml line {line}, options.packages: `curl;` is not a Debian package name"
        )),
        "{}",
        push.stderr
    );
    assert!(!push.stderr.contains("Building"), "{}", push.stderr);
    assert!(serves(&app, &name).await.starts_with("Hello from Flask"));

    // An entrypoint committed without its executable bit: the original made it executable in
    // the image, and so does lmnop, saying so.
    work.write("function.yml", &function_yml);
    {
        use std::os::unix::fs::PermissionsExt;
        let not_executable = std::fs::Permissions::from_mode(0o644);
        std::fs::set_permissions(work.path.join("entrypoint"), not_executable).expect("chmod");
    }
    work.commit("entrypoint not executable");
    let push = work.git(&["push", &url, "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("entrypoint is not executable in this commit; the build makes it executable")
            && push
                .stderr
                .contains("git update-index --chmod=+x entrypoint"),
        "{}",
        push.stderr
    );
    assert!(serves(&app, &name).await.starts_with("Hello from Flask"));

    // No entrypoint at all: what the original's README says about it.
    std::fs::remove_file(work.path.join("entrypoint")).expect("rm");
    work.commit("no entrypoint");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(
            "the python3.10 template needs entrypoint or function/entrypoint, which is not in \
             this commit"
        ) && push
            .stderr
            .contains("a file called `entrypoint` at the root of the repository"),
        "{}",
        push.stderr
    );
    assert!(serves(&app, &name).await.starts_with("Hello from Flask"));

    // An app on another port: the watchdog answers for it, and the push says which port.
    copy_example(&work, "python-flask");
    let entrypoint = std::fs::read_to_string(work.path.join("entrypoint")).expect("read");
    work.write(
        "entrypoint",
        &entrypoint.replace("127.0.0.1:5000", "127.0.0.1:5001"),
    );
    work.write(
        "function.yml",
        &format!("{function_yml}health:\n  timeout: 5s\n"),
    );
    work.commit("listens on 5001");
    let push = work.git(&["push", &url, "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains(
            "the watchdog answers but the app behind it does not: it must listen on port 5000"
        ),
        "{}",
        push.stderr
    );
    assert!(serves(&app, &name).await.starts_with("Hello from Flask"));
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_python_hello_example_deploys_unchanged() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("hello");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    copy_example(&work, "python-hello");
    work.commit("the example");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert_eq!(serves(&app, &name).await, "Hello from lmnop\n");
    // Steps that ran before may come from the layer cache, silent: the image says which
    // layout was used. The root's entrypoint is a copy, function/entrypoint a link to it.
    let layout = "test -L /entrypoint && echo function || echo root";
    assert_eq!(exec_in(&name, &["sh", "-c", layout]).1, "root\n");

    // Today's layout too, function/entrypoint, with the root's taking precedence when both
    // are there (and the push saying so: a tree of this test's own, so that step runs).
    let entrypoint = std::fs::read_to_string(work.path.join("entrypoint")).expect("read");
    work.write("function/entrypoint", &entrypoint);
    crate::deploy_support::make_executable(&work, "function/entrypoint");
    work.write("function/build-id.txt", &name);
    work.commit("both entrypoints");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        push.stderr
            .contains("note: function/entrypoint is not used; entrypoint at the root is"),
        "{}",
        push.stderr
    );
    assert_eq!(exec_in(&name, &["sh", "-c", layout]).1, "root\n");
    std::fs::remove_file(work.path.join("entrypoint")).expect("rm");
    work.commit("function/entrypoint only");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert_eq!(exec_in(&name, &["sh", "-c", layout]).1, "function\n");
    assert_eq!(serves(&app, &name).await, "Hello from lmnop\n");
    app.stop().await;
}

/// The original's oldest template, `python3`: its apps listened on gunicorn's default port
/// (8000, or `PORT`) and lived in /home/app/function.
#[tokio::test(flavor = "multi_thread")]
async fn an_app_for_the_original_s_oldest_python3_template_deploys_unchanged() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("python3");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    copy_example(&work, "python-flask");
    work.write(
        "function.yml",
        "# this must match a template name\ntemplate: python3\nenvironment:\n  greeting: Hi\n\
         options:\n  packages: curl\n",
    );
    work.write(
        "entrypoint",
        "#!/bin/bash\n\ncd /home/app/function || exit\nexec gunicorn app:app\n",
    );
    // The app's own line in requirements.txt, so pip runs (and its output shows) every time.
    let requirements = std::fs::read_to_string(work.path.join("requirements.txt")).expect("read");
    work.write("requirements.txt", &format!("# {name}\n{requirements}"));
    work.commit("as the python3 template had it");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert!(
        serves(&app, &name)
            .await
            .starts_with("Hi from Flask, built with Python 3."),
        "served"
    );
    let (_, listening) = exec_in(&name, &["sh", "-c", "echo $PORT"]);
    assert_eq!(listening, "8000\n");
    app.stop().await;
}

/// apt takes its packages from `APT_MIRROR` when the function names one: here one that does not
/// answer, so the push fails naming it and nothing new serves.
#[tokio::test(flavor = "multi_thread")]
async fn packages_come_from_the_apt_mirror_the_function_names() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("mirror");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    copy_example(&work, "python-hello");
    let function_yml = std::fs::read_to_string(work.path.join("function.yml")).expect("read");
    work.write(
        "function.yml",
        &format!(
            "{function_yml}options:\n  packages: curl\n  APT_MIRROR: http://127.0.0.1:9/debian\n"
        ),
    );
    work.commit("a mirror that does not answer");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(!push.ok, "{}", push.stderr);
    assert!(
        push.stderr.contains("http://127.0.0.1:9/debian")
            && push
                .stderr
                .contains("error: apt-get could not install options.packages (curl)"),
        "{}",
        push.stderr
    );
    let (status, _) = get(&app, &format!("/function/{name}/"), None).await;
    assert_eq!(status, 404, "nothing deployed");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dockerfile_example_deploys_with_only_its_base_image_changed() {
    let Some(app) = site_app().await else {
        return;
    };
    let name = unique("ownimage");
    let _leftovers = Leftovers(name.clone());
    let tmp = tempfile::tempdir().expect("tmp");
    let work = WorkTree::new(tmp.path(), "work");
    copy_example(&work, "dockerfile-app");
    // No image can be pulled here: the Dockerfile's base becomes the one this machine has.
    let dockerfile = std::fs::read_to_string(work.path.join("Dockerfile")).expect("read");
    let default = "ARG BASE_IMAGE=python:3.12-slim-bookworm";
    assert!(dockerfile.contains(default), "{dockerfile}");
    work.write(
        "Dockerfile",
        &dockerfile.replace(default, &format!("ARG BASE_IMAGE={}", python_image())),
    );
    work.commit("the example");
    let push = work.git(&["push", &app.admin_url(&name), "main"]);
    assert!(push.ok, "{}", push.stderr);
    assert_eq!(
        serves(&app, &name).await,
        "Hello from a Dockerfile of my own\n"
    );
    app.stop().await;
}

/// Every example in `example/` is pushed by a test: the name of each appears in a
/// `copy_example` call of the suite.
#[test]
fn every_example_is_pushed_by_a_test() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut suite = String::new();
    for file in ["tests/it/original.rs", "tests/it/templates.rs"] {
        suite.push_str(&std::fs::read_to_string(root.join(file)).expect("test source"));
    }
    let mut examples = Vec::new();
    for entry in std::fs::read_dir(root.join("example")).expect("example/") {
        let entry = entry.expect("entry");
        if entry.path().is_dir() {
            examples.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    assert!(examples.len() >= 6, "{examples:?}");
    for example in &examples {
        assert!(
            suite.contains(&format!("copy_example(&work, \"{example}\")")),
            "example/{example} is pushed by no test"
        );
        assert!(
            root.join("example")
                .join(example)
                .join("README.md")
                .is_file(),
            "example/{example} has a README"
        );
    }
}

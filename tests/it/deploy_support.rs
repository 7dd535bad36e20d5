//! What the deploy tests share: the watchdog stand-in image, a server whose builds use the
//! offline base images, unique function names, and small HTTP and Docker helpers.

use crate::gitutil::WorkTree;
use crate::support::{Part, TestApp, docker_available, need, spawn_app_with};

/// Builds the watchdog image once per test run: the stand-in, or the binary named by
/// `LMNOP_TEST_WATCHDOG_BINARY` (a real of-watchdog built from source, to check the stand-in by
/// hand against it).
pub fn watchdog_image() -> &'static str {
    static IMAGE: std::sync::OnceLock<&'static str> = std::sync::OnceLock::new();
    IMAGE.get_or_init(|| {
        let (binary, tag) = match std::env::var_os("LMNOP_TEST_WATCHDOG_BINARY") {
            Some(binary) => (
                std::path::PathBuf::from(binary),
                "lmnop-test/of-watchdog:given",
            ),
            None => (
                std::path::Path::new(env!("CARGO_BIN_EXE_lmnop"))
                    .parent()
                    .expect("target dir")
                    .join("examples/watchdog-standin"),
                "lmnop-test/of-watchdog:standin",
            ),
        };
        assert!(
            binary.is_file(),
            "the watchdog stand-in is missing: run `cargo build --example watchdog-standin` \
             first (scripts/test does): {}",
            binary.display()
        );
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::copy(&binary, dir.path().join("fwatchdog")).expect("copy");
        let base = std::env::var("LMNOP_TEST_BASE_IMAGE")
            .unwrap_or_else(|_| "lmnop-base/debian:bookworm".to_owned());
        std::fs::write(
            dir.path().join("Dockerfile"),
            format!("FROM {base}\nCOPY fwatchdog /fwatchdog\n"),
        )
        .expect("write");
        let status = std::process::Command::new("docker")
            .args(["build", "-q", "-t", tag])
            .arg(dir.path())
            .stdout(std::process::Stdio::null())
            .status()
            .expect("docker build runs");
        assert!(
            status.success(),
            "the watchdog stand-in image builds (needs {base})"
        );
        tag
    })
}

pub fn python_image() -> String {
    std::env::var("LMNOP_TEST_PYTHON_IMAGE").unwrap_or_else(|_| "lmnop-base/python:3.11".to_owned())
}

/// A server whose builds use the offline base images.
pub async fn deploy_app() -> Option<TestApp> {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return None;
    }
    let watchdog = watchdog_image();
    let app = spawn_app_with(|config| {
        config.build_args = lmnop::config::parse_build_args(&format!(
            "python3.12.BASE_IMAGE={},WATCHDOG_IMAGE={watchdog}",
            python_image()
        ))
        .expect("build args");
        config.apps_domain = Some("apps.test".to_owned());
    })
    .await;
    Some(app)
}

/// A unique function name: tests share one engine.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{:06x}", rand::random::<u32>() & 0xff_ffff)
}

pub fn python_function(work: &WorkTree, greeting: &str, extra_yml: &str) {
    work.write(
        "function.yml",
        &format!("template: python3.12\nenvironment:\n  GREETING: {greeting}\n{extra_yml}"),
    );
    // The example's files in the `function/` layout (its own is the original's, `entrypoint` at
    // the root): tests of both layouts.
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("example/python-hello");
    work.write(
        "function/app.py",
        &std::fs::read_to_string(example.join("function/app.py")).expect("app.py"),
    );
    work.write(
        "function/entrypoint",
        &std::fs::read_to_string(example.join("entrypoint")).expect("entrypoint"),
    );
    make_executable(work, "function/entrypoint");
}

/// Copies `example/NAME` into the work tree, executable files staying executable.
pub fn copy_example(work: &WorkTree, name: &str) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("example")
        .join(name);
    copy_dir(&root, &root, work);
}

fn copy_dir(root: &std::path::Path, dir: &std::path::Path, work: &WorkTree) {
    use std::os::unix::fs::PermissionsExt;
    for entry in std::fs::read_dir(dir).expect("example dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            copy_dir(root, &path, work);
            continue;
        }
        let relative = path.strip_prefix(root).expect("inside the example");
        let relative = relative.to_string_lossy();
        work.write(
            &relative,
            &std::fs::read_to_string(&path).expect("example file"),
        );
        let mode = std::fs::metadata(&path).expect("mode").permissions().mode();
        if mode & 0o111 != 0 {
            make_executable(work, &relative);
        }
    }
}

pub fn make_executable(work: &WorkTree, file: &str) {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::Permissions::from_mode(0o755);
    std::fs::set_permissions(work.path.join(file), mode).expect("chmod");
}

pub async fn get(app: &TestApp, path: &str, host: Option<&str>) -> (u16, String) {
    let mut request = reqwest::Client::new().get(app.url(path));
    if let Some(host) = host {
        request = request.header("Host", host);
    }
    match request.send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        ),
        Err(error) => (0, error.to_string()),
    }
}

/// `GET url` with a minute's patience: (status, body), or (0, the error) when it failed.
pub async fn fetch(url: String) -> (u16, String) {
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .build()
        .expect("client");
    match client.get(url).send().await {
        Ok(response) => (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        ),
        Err(error) => (0, error.to_string()),
    }
}

/// Ids of the function's containers: running ones, or all with `all`.
pub fn containers_of(name: &str, all: bool) -> Vec<String> {
    let output = std::process::Command::new("docker")
        .args(["ps", if all { "-aq" } else { "-q" }, "--filter"])
        .arg(format!("label=lmnop.function={name}"))
        .output()
        .expect("docker ps");
    String::from_utf8_lossy(&output.stdout)
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

pub async fn remove_containers(name: &str) {
    for id in containers_of(name, true) {
        let _ = std::process::Command::new("docker")
            .args(["rm", "-f", &id])
            .output();
    }
}

/// Starts a container labelled as release 1 of `function` of the installation `instance`, as a
/// deploy would (running `sleep`; `--init` lets it stop at once); returns its id.
pub fn start_labelled_container(instance: &str, function: &str) -> String {
    // The installation's reconciler may be in its first pass and remove the container between
    // its creation and its start (it is an orphan, after all): then start another.
    let mut last = String::new();
    for _ in 0..5 {
        let started = std::process::Command::new("docker")
            .args(["run", "-d", "--init"])
            .args(["--label", &format!("lmnop.instance={instance}")])
            .args(["--label", &format!("lmnop.function={function}")])
            .args(["--label", "lmnop.release=1"])
            .args([&python_image(), "sleep", "600"])
            .output()
            .expect("docker run");
        if started.status.success() {
            return String::from_utf8_lossy(&started.stdout).trim().to_owned();
        }
        last = String::from_utf8_lossy(&started.stderr).into_owned();
        // Removed while being started ("marked for removal"), or before (no such container).
        assert!(
            last.contains("marked for removal") || last.contains("No such container"),
            "{last}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    panic!("the orphan never started: {last}");
}

/// Removes the function's containers and images when the test ends, passed or not.
pub struct Leftovers(pub String);

impl Drop for Leftovers {
    fn drop(&mut self) {
        let name = &self.0;
        // Containers carry the function's label; images are named PREFIX/NAME:COMMIT. Images
        // go by name, never by id, and keep their untagged parents: two functions may build
        // the same image or share the build's intermediate images, and removing those would
        // take them from under another test's build ("unknown parent image ID").
        let containers = [format!("label=lmnop.function={name}")];
        let images = [
            format!("reference=*/{name}"),
            format!("reference=*/*/{name}"),
        ];
        let list = |args: &[&str], filters: &[String]| {
            let mut found = std::collections::BTreeSet::new();
            for filter in filters {
                let Ok(output) = std::process::Command::new("docker")
                    .args(args)
                    .args(["--filter", filter])
                    .output()
                else {
                    return found;
                };
                found.extend(
                    String::from_utf8_lossy(&output.stdout)
                        .split_whitespace()
                        .map(str::to_owned),
                );
            }
            found
        };
        for (found, remove) in [
            (list(&["ps", "-aq"], &containers), &["rm", "-f"][..]),
            (
                list(&["network", "ls", "-q"], &containers),
                &["network", "rm"][..],
            ),
            (
                list(&["images", "--format", "{{.Repository}}:{{.Tag}}"], &images),
                &["rmi", "--no-prune"][..],
            ),
        ] {
            if !found.is_empty() {
                let _ = std::process::Command::new("docker")
                    .args(remove)
                    .args(found)
                    .output();
            }
        }
    }
}

/// The offline image of `var` (a `scripts/test` export), or `default`.
fn test_image(var: &str, default: &str) -> String {
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// The base images the static, hugo and react templates build on in tests.
pub struct SiteImages {
    pub base: String,
    pub hugo: String,
    pub node: String,
}

impl SiteImages {
    pub fn from_env() -> Self {
        Self {
            base: test_image("LMNOP_TEST_BASE_IMAGE", "lmnop-base/debian:bookworm"),
            hugo: test_image("LMNOP_TEST_HUGO_IMAGE", "lmnop-base/hugo:bookworm"),
            node: test_image("LMNOP_TEST_NODE_IMAGE", "lmnop-base/node:bookworm"),
        }
    }
}

/// A server whose builds of the static, hugo and react templates use the offline base images
/// and hand builds this machine's CA bundle, which npm's registry certificate needs here.
pub async fn site_app() -> Option<TestApp> {
    if !need(Part::Docker, docker_available().await, "no engine answers") {
        return None;
    }
    let watchdog = watchdog_image();
    let images = SiteImages::from_env();
    for image in [&images.base, &images.hugo, &images.node] {
        let found = std::process::Command::new("docker")
            .args(["image", "inspect", "--format", "{{.Id}}", image])
            .output()
            .expect("docker image inspect runs");
        assert!(
            found.status.success(),
            "the base image {image} is missing: run scripts/base-images (scripts/test does)"
        );
    }
    let SiteImages { base, hugo, node } = images;
    let app = spawn_app_with(|config| {
        config.build_args = lmnop::config::parse_build_args(&format!(
            "WATCHDOG_IMAGE={watchdog},static.BASE_IMAGE={base},\
             hugo.BASE_IMAGE={base},hugo.BUILD_IMAGE={hugo},\
             react.BASE_IMAGE={base},react.BUILD_IMAGE={node},python.BASE_IMAGE={}",
            python_image()
        ))
        .expect("build args");
        config.build_ca = Some(
            lmnop::config::CaCertificates::read("/etc/ssl/certs/ca-certificates.crt".as_ref())
                .expect("the machine's CA bundle"),
        );
        config.apps_domain = Some("apps.test".to_owned());
    })
    .await;
    Some(app)
}

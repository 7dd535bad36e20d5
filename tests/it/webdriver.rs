//! A small W3C WebDriver client for tests: starts Debian's `chromedriver` on a free port, opens a
//! headless Chromium session and speaks the few commands page tests need. Chromium is a required
//! part when `LMNOP_TEST_REQUIRE` names `chromium`.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use crate::support::{Part, need};

/// Where Debian puts the browser and its driver; `LMNOP_TEST_CHROMIUM` and
/// `LMNOP_TEST_CHROMEDRIVER` point elsewhere.
fn program(variable: &str, default: &str) -> PathBuf {
    std::env::var_os(variable).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// A running chromedriver with one headless Chromium session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    session: String,
    http: reqwest::Client,
    /// Chromium's profile directory, removed with the browser.
    profile: TempDir,
}

/// What a WebDriver command answered with an error: the W3C error code and its message.
#[derive(Debug)]
pub struct WebDriverError {
    pub error: String,
    pub message: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.error, self.message)
    }
}

impl Browser {
    /// A headless Chromium session, or `None` (the test skips) when Chromium is missing and not
    /// required.
    pub async fn start() -> Option<Self> {
        let chromium = program("LMNOP_TEST_CHROMIUM", "/usr/bin/chromium");
        let chromedriver = program("LMNOP_TEST_CHROMEDRIVER", "/usr/bin/chromedriver");
        let available = chromium.exists() && chromedriver.exists();
        let why = format!(
            "{} and {} must exist (apt-get install chromium chromium-driver)",
            chromium.display(),
            chromedriver.display()
        );
        if !need(Part::Chromium, available, &why) {
            return None;
        }

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let driver = Command::new(&chromedriver)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|error| panic!("start {}: {error}", chromedriver.display()));
        let http = reqwest::Client::new();
        let base = format!("http://127.0.0.1:{port}");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut browser = Self {
            driver,
            base,
            session: String::new(),
            http,
            profile,
        };
        browser.wait_until_ready().await;

        // As root Chromium needs --no-sandbox; the networking flags keep it from calling home,
        // which the test machines' closed network refuses.
        let args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            &format!("--user-data-dir={}", browser.profile.path().display()),
        ];
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": args},
        }}});
        let created = browser
            .command(reqwest::Method::POST, "/session", capabilities)
            .await
            .unwrap_or_else(|error| panic!("new Chromium session: {error}"));
        browser.session = created["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        Some(browser)
    }

    async fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = self
                .http
                .get(format!("{}/status", self.base))
                .send()
                .await
                .ok()
                .map(|response| response.json::<Value>());
            if let Some(status) = ready
                && status.await.is_ok_and(|s| s["value"]["ready"] == true)
            {
                return;
            }
            if let Ok(Some(exit)) = self.driver.try_wait() {
                panic!("chromedriver exited at start: {exit}");
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer within 20s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// One WebDriver command; `Ok` holds the answer's `value`.
    async fn command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, WebDriverError> {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if method != reqwest::Method::GET && method != reqwest::Method::DELETE {
            request = request.json(&body);
        }
        let response = request
            .timeout(Duration::from_secs(60))
            .send()
            .await
            .unwrap_or_else(|error| panic!("WebDriver {method} {path}: {error}"));
        let status = response.status();
        let answer: Value = response
            .json()
            .await
            .unwrap_or_else(|error| panic!("WebDriver {method} {path}: not JSON: {error}"));
        let value = answer["value"].clone();
        if status.is_success() {
            Ok(value)
        } else {
            Err(WebDriverError {
                error: value["error"].as_str().unwrap_or("unknown").to_owned(),
                message: value["message"].as_str().unwrap_or_default().to_owned(),
            })
        }
    }

    async fn session_command(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Value,
    ) -> Result<Value, WebDriverError> {
        self.command(method, &format!("/session/{}{path}", self.session), body)
            .await
    }

    /// Loads `url` and waits for the page to finish loading.
    pub async fn visit(&self, url: &str) {
        self.session_command(reqwest::Method::POST, "/url", json!({ "url": url }))
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}"));
    }

    pub async fn title(&self) -> String {
        let title = self
            .session_command(reqwest::Method::GET, "/title", Value::Null)
            .await
            .unwrap_or_else(|error| panic!("title: {error}"));
        title.as_str().unwrap_or_default().to_owned()
    }

    /// Runs `script` (a function body) in the page and returns what it returned.
    pub async fn run(&self, script: &str) -> Result<Value, WebDriverError> {
        self.session_command(
            reqwest::Method::POST,
            "/execute/sync",
            json!({ "script": script, "args": [] }),
        )
        .await
    }

    /// Saves a PNG of the page as `NAME.png` under the test run's state directory
    /// (`$LMNOP_TEST_STATE/screenshots`), and returns its path.
    pub async fn screenshot(&self, name: &str) -> std::path::PathBuf {
        use base64::Engine;
        let png = self
            .session_command(reqwest::Method::GET, "/screenshot", Value::Null)
            .await
            .unwrap_or_else(|error| panic!("screenshot: {error}"));
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(png.as_str().unwrap_or_default())
            .expect("a screenshot is base64");
        let dir = std::env::var_os("LMNOP_TEST_STATE")
            .map_or_else(|| std::env::temp_dir().join("lmnop-test"), Into::into)
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("the screenshots directory");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, bytes).expect("the screenshot is saved");
        path
    }

    /// Types `text` into the form field `selector`.
    pub async fn fill(&self, selector: &str, text: &str) {
        let script = format!(
            "document.querySelector({}).value = {}; return true",
            json!(selector),
            json!(text)
        );
        self.run(&script)
            .await
            .unwrap_or_else(|error| panic!("fill {selector}: {error}"));
    }

    /// Clicks `selector` (a link or a submit button) and waits until the page at a path that
    /// starts with `path` has loaded.
    pub async fn click_to(&self, selector: &str, path: &str) {
        let script = format!(
            "document.querySelector({}).click(); return true",
            json!(selector)
        );
        self.run(&script)
            .await
            .unwrap_or_else(|error| panic!("click {selector}: {error}"));
        for _ in 0..200 {
            let here = self
                .run("return document.readyState === 'complete' ? location.pathname + location.search : ''")
                .await
                .unwrap_or_default();
            if here.as_str().is_some_and(|here| here.starts_with(path)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("clicking {selector} did not lead to {path}");
    }

    /// The page's visible text.
    pub async fn text(&self) -> String {
        self.run("return document.body.innerText")
            .await
            .unwrap_or_else(|error| panic!("page text: {error}"))
            .as_str()
            .unwrap_or_default()
            .to_owned()
    }

    /// Ends the session, which closes Chromium.
    pub async fn quit(self) {
        self.session_command(reqwest::Method::DELETE, "", Value::Null)
            .await
            .unwrap_or_else(|error| panic!("end the session: {error}"));
    }

    /// The text of the open alert dialog, if a script opened one.
    pub async fn alert_text(&self) -> Option<String> {
        match self
            .session_command(reqwest::Method::GET, "/alert/text", Value::Null)
            .await
        {
            Ok(text) => Some(text.as_str().unwrap_or_default().to_owned()),
            Err(error) if error.error == "no such alert" => None,
            Err(error) => panic!("alert text: {error}"),
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // chromedriver leads a process group of its own with the Chromium it started, so a
        // failed assertion (no `quit`) still leaves no browser behind.
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.driver.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

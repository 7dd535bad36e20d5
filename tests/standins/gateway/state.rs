//! What the stand-in remembers, all in memory: its settings, the functions, the secrets, the
//! invocation counts, the log lines, the fault tests asked for and the requests it recorded.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use hyper::StatusCode;

use crate::control::{Fault, Recorded};
use crate::deployment::Function;
use crate::logs;

/// The only namespace faasd CE serves.
pub const NAMESPACE: &str = "openfaas-fn";

/// Where faasd keeps secrets; it leaks into error messages.
pub const SECRETS_DIR: &str = "/var/lib/faasd/secrets/openfaas-fn";

/// A namespace in a request is fine when it is absent, empty or `openfaas-fn`.
pub fn is_valid_namespace(namespace: Option<&str>) -> bool {
    matches!(namespace, None | Some("") | Some(NAMESPACE))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    Faasd,
    FaasNetes,
}

impl Provider {
    pub fn name(self) -> &'static str {
        match self {
            Provider::Faasd => "faasd",
            Provider::FaasNetes => "faas-netes",
        }
    }

    pub fn orchestration(self) -> &'static str {
        match self {
            Provider::Faasd => "containerd",
            Provider::FaasNetes => "kubernetes",
        }
    }

    /// faasd answers a successful write 200, faas-netes 202; both with an empty body.
    pub fn write_status(self) -> StatusCode {
        match self {
            Provider::Faasd => StatusCode::OK,
            Provider::FaasNetes => StatusCode::ACCEPTED,
        }
    }

    /// The replicas that run when `asked` reach the provider: faasd runs one task at most.
    pub fn replicas(self, asked: u64) -> u64 {
        match self {
            Provider::Faasd => asked.min(1),
            Provider::FaasNetes => asked,
        }
    }
}

/// The gateway's basic-auth password; `Debug` shows nothing.
pub struct Password(String);

impl Password {
    pub fn new(password: String) -> Password {
        Password(password)
    }

    pub fn matches(&self, candidate: &str) -> bool {
        self.0 == candidate
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A secret's bytes; `Debug` shows nothing, and nothing ever serialises them.
pub struct SecretValue(
    #[expect(
        dead_code,
        reason = "held like the file faasd writes, but nothing here reads it"
    )]
    Vec<u8>,
);

impl SecretValue {
    pub fn new(bytes: Vec<u8>) -> SecretValue {
        SecretValue(bytes)
    }
}

impl std::fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretValue(<redacted>)")
    }
}

#[derive(Debug)]
pub struct Config {
    pub user: String,
    pub password: Password,
    pub provider: Provider,
    pub max_functions: usize,
}

#[derive(Default)]
pub struct State {
    pub functions: BTreeMap<String, Function>,
    pub secrets: BTreeMap<String, SecretValue>,
    /// Calls through `/function/NAME`, by name: like the Prometheus counter the real gateway
    /// reads, they outlive the function.
    pub invocations: HashMap<String, u64>,
    pub logs: logs::Store,
    pub fault: Fault,
    pub requests: Vec<Recorded>,
}

pub struct Gateway {
    pub config: Config,
    /// For registry look-ups.
    pub http: reqwest::Client,
    state: Mutex<State>,
}

impl Gateway {
    pub fn new(config: Config) -> Gateway {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("a plain-HTTP client with no TLS always builds");
        Gateway {
            config,
            http,
            state: Mutex::new(State::default()),
        }
    }

    /// The state; a panic elsewhere while it was held leaves it usable.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

//! The default of every setting that has one, written once: the clap arguments and
//! [`super::Config::with_data_dir`] both take them from here.

use std::path::{Path, PathBuf};

use super::RuntimeConfig;

/// `LMNOP_DATA_DIR`
pub const DATA_DIR: &str = "./lmnop-data";
/// `LMNOP_LISTEN`
pub const LISTEN: &str = "0.0.0.0:8000";
/// `LMNOP_DEPLOY_BRANCH`
pub const DEPLOY_BRANCH: &str = "main";
/// `LMNOP_MAX_PUSH_SIZE`, as `--help` shows it.
pub const MAX_PUSH_SIZE: &str = "1G";
/// `LMNOP_FUNCTION_SUBNETS`: where functions' networks are carved from.
pub const FUNCTION_SUBNETS: &str = "10.213.0.0/16";
/// `LMNOP_HEADER_TIMEOUT`, in seconds: how long a client may take to send a request's
/// headers, and how long an idle keep-alive connection stays open.
pub const HEADER_TIMEOUT_SECONDS: u64 = 30;
/// `LMNOP_MAX_CONNECTIONS`: open connections at once (also kept below the open-file limit).
pub const MAX_CONNECTIONS: usize = 10_000;
/// `LMNOP_GATEWAY_USER`
pub const GATEWAY_USER: &str = "admin";

/// `LMNOP_RUNTIME`: containers on the local engine (`DOCKER_HOST`, whose default is
/// [`crate::engine::DockerHost::LOCAL_SOCKET`]), no registry.
pub fn runtime() -> RuntimeConfig {
    RuntimeConfig::Docker { registry: None }
}

/// `LMNOP_TEMPLATES_DIR`: `function-templates/` next to the binary's crate when run from a
/// checkout, else beside the current directory.
pub fn templates_dir() -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("function-templates");
    if shipped.is_dir() {
        shipped
    } else {
        PathBuf::from("function-templates")
    }
}

/// The `lmnop` git's pre-receive hook runs: the running executable.
pub fn hook_binary() -> PathBuf {
    std::env::current_exe().unwrap_or_else(|_| PathBuf::from("lmnop"))
}

/// Names a new function may not take (see `Config::reserved_names`).
pub const RESERVED_FUNCTION_NAMES: &[&str] = &[
    "admin", "api", "git", "lmnop", "portal", "scm", "www", "metrics", "healthz",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_parse() {
        assert!(LISTEN.parse::<std::net::SocketAddr>().is_ok());
        assert_eq!(super::super::parse_size(MAX_PUSH_SIZE), Ok(1 << 30));
        assert!(super::super::parse::deploy_branch(DEPLOY_BRANCH.to_owned()).is_ok());
    }
}

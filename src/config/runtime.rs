//! Runtime settings: where functions run (the local engine or an OpenFaaS gateway) and the
//! registry images are pushed to, in combinations that can work.

use super::parse::secret_setting;
use super::{ConfigError, RuntimeArgs, RuntimeKind};
use crate::domain::Secret;

/// An OpenFaaS gateway.
#[derive(Debug, Clone)]
pub struct GatewayConfig {
    pub url: String,
    pub user: String,
    pub password: Option<Secret>,
}

/// An image registry.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `HOST[:PORT][/PREFIX]`
    pub address: String,
    pub user: Option<String>,
    pub password: Option<Secret>,
    pub insecure: bool,
}

impl RegistryConfig {
    /// The registry's host and port, without the prefix.
    pub fn host(&self) -> &str {
        self.address.split('/').next().unwrap_or(&self.address)
    }

    /// The base URL of the registry's HTTP API.
    pub fn api_base(&self) -> String {
        let host = self.host();
        let name = host.rsplit_once(':').map_or(host, |(name, _)| name);
        let loopback = name == "localhost" || name.starts_with("127.") || name == "[::1]";
        let scheme = if self.insecure || loopback {
            "http"
        } else {
            "https"
        };
        format!("{scheme}://{host}")
    }
}

/// Where functions run and where images go, resolved. Only legal combinations exist: the
/// OpenFaaS runtime needs a gateway and a registry the cluster can pull from.
#[derive(Debug, Clone)]
pub enum RuntimeConfig {
    /// Containers on the local engine; images are pushed to a registry only when one is set.
    Docker { registry: Option<RegistryConfig> },
    /// Functions deployed through an OpenFaaS gateway, images pulled from `registry`.
    OpenFaas {
        gateway: GatewayConfig,
        registry: RegistryConfig,
    },
}

impl RuntimeConfig {
    pub fn from_args(args: RuntimeArgs) -> Result<Self, ConfigError> {
        let registry_password = secret_setting(
            "LMNOP_REGISTRY_PASSWORD",
            args.registry_password,
            args.registry_password_file,
        )?;
        let registry = args.registry.map(|address| RegistryConfig {
            address: address.trim_end_matches('/').to_owned(),
            user: args.registry_user,
            password: registry_password,
            insecure: args.registry_insecure,
        });
        match args.runtime {
            RuntimeKind::Docker => Ok(Self::Docker { registry }),
            RuntimeKind::OpenFaas => {
                let url = args.gateway_url.ok_or_else(|| ConfigError::Invalid {
                    setting: "LMNOP_GATEWAY_URL",
                    reason: "the openfaas runtime needs the gateway's URL, e.g. \
                             LMNOP_GATEWAY_URL=http://gateway:8080"
                        .to_owned(),
                })?;
                let registry = registry.ok_or_else(|| ConfigError::Invalid {
                    setting: "LMNOP_REGISTRY",
                    reason: "the openfaas runtime needs a registry the cluster can pull images \
                             from, e.g. LMNOP_REGISTRY=registry.example.com/functions"
                        .to_owned(),
                })?;
                let password = secret_setting(
                    "LMNOP_GATEWAY_PASSWORD",
                    args.gateway_password,
                    args.gateway_password_file,
                )?;
                Ok(Self::OpenFaas {
                    gateway: GatewayConfig {
                        url: url.trim_end_matches('/').to_owned(),
                        user: args.gateway_user,
                        password,
                    },
                    registry,
                })
            }
        }
    }

    /// Which runtime this is (`LMNOP_RUNTIME`).
    pub fn kind(&self) -> RuntimeKind {
        match self {
            Self::Docker { .. } => RuntimeKind::Docker,
            Self::OpenFaas { .. } => RuntimeKind::OpenFaas,
        }
    }

    /// The registry images are pushed to, if any.
    pub fn registry(&self) -> Option<&RegistryConfig> {
        match self {
            Self::Docker { registry } => registry.as_ref(),
            Self::OpenFaas { registry, .. } => Some(registry),
        }
    }

    /// The OpenFaaS gateway, with the openfaas runtime.
    pub fn gateway(&self) -> Option<&GatewayConfig> {
        match self {
            Self::Docker { .. } => None,
            Self::OpenFaas { gateway, .. } => Some(gateway),
        }
    }

    /// Sets the registry images are pushed to (tests and embedders).
    pub fn set_registry(&mut self, new: RegistryConfig) {
        match self {
            Self::Docker { registry } => *registry = Some(new),
            Self::OpenFaas { registry, .. } => *registry = new,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_registries_speak_http() {
        let registry = |address: &str| RegistryConfig {
            address: address.to_owned(),
            user: None,
            password: None,
            insecure: false,
        };
        assert_eq!(
            registry("127.0.0.1:5000/fns").api_base(),
            "http://127.0.0.1:5000"
        );
        assert_eq!(
            registry("localhost:5000").api_base(),
            "http://localhost:5000"
        );
        assert_eq!(
            registry("registry.example.com/x").api_base(),
            "https://registry.example.com"
        );
    }
}

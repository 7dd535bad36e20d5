//! Each function's own bridge network: its replicas reach each other and the outside world,
//! not other functions' containers nor builds (which run on the engine's default bridge). Its
//! subnet is a small block of `LMNOP_FUNCTION_SUBNETS`, chosen clear of every network the engine
//! has, so an engine holds a thousand functions rather than the few dozen its default pools
//! would give.

use std::collections::HashMap;

use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, NetworkCreateRequest};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptions};
use ipnet::Ipv4Net;

use super::containers::{FUNCTION_LABEL, INSTANCE_LABEL, RuntimeError};

/// The size of one function's subnet: 62 addresses.
const FUNCTION_PREFIX: u8 = 26;
/// Subnets tried before giving up: another start may take the chosen one at the same moment,
/// and the engine keeps a just-removed network's subnet reserved for a while.
const ATTEMPTS: usize = 32;
const MTU_OPTION: &str = "com.docker.network.driver.mtu";

/// Where functions' networks are carved from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionNetworks {
    pub pool: Ipv4Net,
}

impl FunctionNetworks {
    /// The network of `function`'s containers.
    pub fn name(instance: &str, function: &str) -> String {
        format!(
            "lmnop-{}-{function}",
            super::containers::short_instance(instance)
        )
    }

    /// Creates the function's network unless it exists: the first free subnet of the pool, the
    /// MTU of the engine's default bridge (an engine started with `--mtu` sets it there only).
    pub async fn ensure(
        &self,
        docker: &Docker,
        instance: &str,
        function: &str,
    ) -> Result<(), RuntimeError> {
        let name = Self::name(instance, function);
        if docker
            .inspect_network(&name, None::<InspectNetworkOptions>)
            .await
            .is_ok()
        {
            return Ok(());
        }
        let mtu = docker
            .inspect_network("bridge", None::<InspectNetworkOptions>)
            .await
            .ok()
            .and_then(|bridge| bridge.options)
            .and_then(|options| options.get(MTU_OPTION).cloned());
        let mut last_error = None;
        let mut refused: Vec<Ipv4Net> = Vec::new();
        for _ in 0..ATTEMPTS {
            let mut taken = taken_subnets(docker).await?;
            taken.extend_from_slice(&refused);
            let Some(subnet) = free_subnet(self.pool, &taken) else {
                return Err(RuntimeError::NoSubnet(self.pool.to_string()));
            };
            let request = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".to_owned()),
                labels: Some(HashMap::from([
                    (INSTANCE_LABEL.to_owned(), instance.to_owned()),
                    (FUNCTION_LABEL.to_owned(), function.to_owned()),
                ])),
                options: mtu
                    .clone()
                    .map(|mtu| HashMap::from([(MTU_OPTION.to_owned(), mtu)])),
                ipam: Some(Ipam {
                    config: Some(vec![IpamConfig {
                        subnet: Some(subnet.to_string()),
                        ..Default::default()
                    }]),
                    ..Default::default()
                }),
                ..Default::default()
            };
            match docker.create_network(request).await {
                Ok(_) => return Ok(()),
                // The same name, created a moment ago by a concurrent start.
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409, ..
                }) => return Ok(()),
                // The subnet is taken or still reserved: choose another.
                Err(error) => {
                    refused.push(subnet);
                    last_error = Some(error);
                }
            }
        }
        Err(last_error.map_or_else(
            || RuntimeError::NoSubnet(self.pool.to_string()),
            RuntimeError::from,
        ))
    }

    /// Removes the function's network once its containers are gone; a missing one is fine.
    pub async fn remove(docker: &Docker, instance: &str, function: &str) {
        let name = Self::name(instance, function);
        match docker.remove_network(&name).await {
            Ok(())
            | Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 404, ..
            }) => {}
            Err(error) => {
                tracing::warn!(%error, network = name, "cannot remove a function's network")
            }
        }
    }
}

impl FunctionNetworks {
    /// The functions this installation has a network for.
    pub async fn functions(docker: &Docker, instance: &str) -> Result<Vec<String>, RuntimeError> {
        let filters = HashMap::from([("label", vec![format!("{INSTANCE_LABEL}={instance}")])]);
        let networks = docker
            .list_networks(Some(
                bollard::query_parameters::ListNetworksOptionsBuilder::new()
                    .filters(&filters)
                    .build(),
            ))
            .await?;
        Ok(networks
            .into_iter()
            .filter_map(|network| network.labels?.get(FUNCTION_LABEL).cloned())
            .collect())
    }
}

/// The IPv4 subnets of every network on the engine.
async fn taken_subnets(docker: &Docker) -> Result<Vec<Ipv4Net>, RuntimeError> {
    let networks = docker.list_networks(None::<ListNetworksOptions>).await?;
    Ok(networks
        .into_iter()
        .filter_map(|network| network.ipam?.config)
        .flatten()
        .filter_map(|config| config.subnet?.parse::<Ipv4Net>().ok())
        .collect())
}

/// The first block of the pool that overlaps none of `taken`.
fn free_subnet(pool: Ipv4Net, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    let prefix = FUNCTION_PREFIX.max(pool.prefix_len());
    pool.subnets(prefix).ok()?.find(|candidate| {
        !taken.iter().any(|other| {
            other.contains(&candidate.network()) || candidate.contains(&other.network())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_function_gets_the_first_block_clear_of_every_network() {
        let pool: Ipv4Net = "10.213.0.0/16".parse().expect("net");
        let first = free_subnet(pool, &[]).expect("room");
        assert_eq!(first.to_string(), "10.213.0.0/26");
        let taken: Vec<Ipv4Net> = ["10.213.0.0/26", "172.17.0.0/16", "10.213.0.64/27"]
            .iter()
            .map(|net| net.parse().expect("net"))
            .collect();
        assert_eq!(
            free_subnet(pool, &taken).expect("room").to_string(),
            "10.213.0.128/26"
        );
        // A network covering the whole pool leaves no room.
        let everything: Vec<Ipv4Net> = vec!["10.0.0.0/8".parse().expect("net")];
        assert_eq!(free_subnet(pool, &everything), None);
    }
}

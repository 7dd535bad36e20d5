//! The OpenFaaS runtime: functions run wherever the gateway's provider runs them (faasd, or
//! Kubernetes through faas-netes), from images in a registry the cluster pulls from. A release
//! is staged by checking what a deploy needs before anything changes (a failed `PUT` deletes
//! the running function, so its secrets are put at the gateway and its image looked up in the
//! registry first), and switched by deploying it in place and waiting until it answers through
//! the gateway; if it never does, the previous release is deployed again. The router sends a
//! function's requests to the gateway's `/function/NAME`.

pub mod gateway;
mod ready;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use gateway::{FunctionDeployment, Gateway, GatewayError, Resources};

use super::{Deployment, ReplicaLog, Running};
use crate::config::RegistryConfig;
use crate::domain::{FunctionName, SecretName};
use crate::router::{Backend, RouteTable};
use crate::secrets::SecretStore;

/// The namespace the Community Edition allows.
const NAMESPACE: &str = "openfaas-fn";
/// Annotations lmnop puts on what it deploys, so that it knows its own.
const INSTANCE_ANNOTATION: &str = "lmnop.instance";
const RELEASE_ANNOTATION: &str = "lmnop.release";
const COMMIT_ANNOTATION: &str = "lmnop.commit";
const PUSHER_ANNOTATION: &str = "lmnop.pusher";
/// The Community Edition's limits, told to the pusher before a build where they can be known.
pub const CE_MAX_FUNCTIONS: usize = 15;
pub const CE_MAX_REPLICAS: u32 = 5;
/// How long requests already running may take before an update in place goes ahead anyway.
const DRAIN_BEFORE_UPDATE: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a release could not be staged or switched on the gateway.
#[derive(Debug, thiserror::Error)]
pub enum OpenFaasError {
    #[error("{0}")]
    Gateway(#[from] GatewayError),
    #[error(
        "the image {image} is not in the registry ({reason}); the gateway would delete the \
         running function if asked to deploy it"
    )]
    ImageMissing { image: String, reason: String },
    #[error("the secret {0} cannot be read from lmnop's secrets: {1}")]
    Secret(String, String),
    #[error("{0}")]
    Limit(String),
    #[error("the new version did not become ready through the gateway: {0}")]
    NotReady(String),
}

/// Functions deployed through an OpenFaaS gateway.
#[derive(Debug)]
pub struct OpenFaasRuntime {
    gateway: Gateway,
    registry: RegistryConfig,
    secrets: SecretStore,
    routes: Arc<RouteTable>,
    /// The gateway's address, where the router sends `/function/NAME`.
    backend: Backend,
    http: reqwest::Client,
    /// This installation's id, on every function it deploys.
    instance: String,
    /// The gateway's provider (`faasd`, `openfaas-netes`, …), once it has said.
    provider: tokio::sync::OnceCell<String>,
}

impl OpenFaasRuntime {
    pub fn new(
        gateway: Gateway,
        registry: RegistryConfig,
        secrets: SecretStore,
        routes: Arc<RouteTable>,
        gateway_address: SocketAddr,
        instance: String,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(std::time::Duration::from_secs(3))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("a plain HTTP client builds");
        Self {
            gateway,
            registry,
            secrets,
            routes,
            backend: Backend::Gateway(gateway_address),
            http,
            instance,
            provider: tokio::sync::OnceCell::new(),
        }
    }

    /// The provider's name from `/system/info`, asked once.
    async fn provider(&self) -> Option<&str> {
        self.provider
            .get_or_try_init(|| async {
                let info = self.gateway.info().await?;
                Ok::<_, GatewayError>(
                    info.pointer("/provider/provider")
                        .and_then(|name| name.as_str())
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
            .await
            .ok()
            .map(String::as_str)
    }

    /// The most replicas the provider runs of a function: faasd runs one, whatever is asked.
    async fn most_replicas(&self) -> u32 {
        // faasd 0.19.0 says `faasd`, later ones `faasd-ce`.
        match self.provider().await {
            Some(name) if name.starts_with("faasd") => 1,
            _ => CE_MAX_REPLICAS,
        }
    }

    pub fn gateway(&self) -> &Gateway {
        &self.gateway
    }

    /// The Community Edition's limits a function must keep to, checked before its build: at most
    /// [`CE_MAX_REPLICAS`] replicas, and a new function only while fewer than
    /// [`CE_MAX_FUNCTIONS`] run. What the pusher should know all the same is returned.
    pub async fn admits(
        &self,
        function: &str,
        spec: &crate::spec::FunctionSpec,
    ) -> Result<Vec<String>, OpenFaasError> {
        if spec.scaling.max > CE_MAX_REPLICAS {
            return Err(OpenFaasError::Limit(format!(
                "OpenFaaS Community Edition runs at most {CE_MAX_REPLICAS} replicas of a \
                 function; set scaling.max in function.yml to {CE_MAX_REPLICAS} or less"
            )));
        }
        let listed = self.gateway.list().await?;
        if !listed.iter().any(|status| status.name == function) && listed.len() >= CE_MAX_FUNCTIONS
        {
            return Err(OpenFaasError::Limit(format!(
                "the OpenFaaS gateway already runs {} functions, the most OpenFaaS Community \
                 Edition allows; delete one before adding {function}",
                listed.len()
            )));
        }
        let most = self.most_replicas().await;
        Ok(if spec.scaling.max > most {
            vec![format!(
                "the gateway's provider runs {most} replica of a function whatever is asked \
                 (faasd); scaling.max {} takes faas-netes (Kubernetes)",
                spec.scaling.max
            )]
        } else {
            Vec::new()
        })
    }

    /// What a deploy needs, checked before anything changes (the Community Edition's limits
    /// were checked before the build, by [`Self::admits`]): every secret put at the gateway, the
    /// image in the registry.
    pub async fn stage(&self, deployment: &Deployment) -> Result<(), OpenFaasError> {
        for name in &deployment.spec.secrets {
            let value = SecretName::parse(name)
                .map_err(|error| OpenFaasError::Secret(name.clone(), error.to_string()))
                .and_then(|secret| {
                    std::fs::read_to_string(self.secrets.path(&secret))
                        .map_err(|error| OpenFaasError::Secret(name.clone(), error.to_string()))
                })?;
            self.gateway
                .set_secret(name, &crate::domain::Secret::new(value))
                .await?;
        }
        self.check_image(&deployment.image).await
    }

    /// Deploys the release in place and waits until it answers through the gateway. If it never
    /// does, `previous` is deployed again (or the function removed, when there was none).
    pub async fn switch(
        &self,
        deployment: &Deployment,
        previous: Option<&Deployment>,
    ) -> Result<(), OpenFaasError> {
        let _held = self.quiesce(deployment, previous).await;
        let outcome = match self.gateway.deploy(&function_deployment(deployment)).await {
            Ok(()) => ready::wait(&self.gateway, &self.http, deployment).await,
            Err(error) => Err(error.into()),
        };
        match outcome {
            Ok(()) => {
                self.route(&deployment.function, deployment.spec.timeout);
                Ok(())
            }
            Err(error) => {
                self.restore(&deployment.function, previous).await;
                Err(error)
            }
        }
    }

    /// Before a function is replaced in place: new requests wait at the router, and those in
    /// flight finish (for at most [`DRAIN_BEFORE_UPDATE`]: a long request would hold every new
    /// one back as long as it runs), so that none reaches the gateway while nothing answers for
    /// the function (the provider stops the old version before the new one answers). The hold lasts until
    /// the returned guard is dropped, at most as long as a switch and a restore may take.
    async fn quiesce(
        &self,
        deployment: &Deployment,
        previous: Option<&Deployment>,
    ) -> crate::router::hold::Hold {
        let longest = deployment.spec.health.timeout
            + previous.map_or(std::time::Duration::ZERO, |previous| {
                previous.spec.health.timeout
            })
            + std::time::Duration::from_secs(10);
        let hold = self
            .routes
            .holds
            .hold(&deployment.function, longest + DRAIN_BEFORE_UPDATE);
        let cut = self
            .routes
            .serving(&deployment.function)
            .drained_within(DRAIN_BEFORE_UPDATE)
            .await;
        if cut > 0 {
            tracing::warn!(
                function = deployment.function,
                requests = cut,
                "replacing the function with requests still running past their timeout"
            );
        }
        hold
    }

    /// Undoes a switch that stood (git did not move the branch after all): `previous` is
    /// deployed again, the function's requests held meanwhile.
    pub async fn undo(&self, deployment: &Deployment, previous: Option<&Deployment>) {
        let _held = self.quiesce(deployment, previous).await;
        self.restore(&deployment.function, previous).await;
    }

    /// Puts `previous` back after a switch that is undone or failed.
    async fn restore(&self, function: &str, previous: Option<&Deployment>) {
        let restored = match previous {
            Some(previous) => match self.gateway.deploy(&function_deployment(previous)).await {
                Ok(()) => ready::wait(&self.gateway, &self.http, previous).await,
                Err(error) => Err(error.into()),
            },
            None => {
                let _ = self
                    .routes
                    .set(function, Vec::<Backend>::new(), std::time::Duration::ZERO);
                self.gateway.delete(function).await.map_err(Into::into)
            }
        };
        if let Err(error) = restored {
            tracing::error!(function, %error, "cannot put the previous release back at the gateway; the reconciler will try again");
        }
    }

    /// Converges the gateway to `deployment`: deployed when missing or running another
    /// release, scaled when its replicas differ; the router learns the route.
    pub async fn scale(&self, deployment: &Deployment) -> Result<super::Scaled, OpenFaasError> {
        let function = deployment.function.as_str();
        let replicas = deployment.replicas.min(self.most_replicas().await);
        let want = u64::from(replicas);
        let status = self.gateway.function(function).await?;
        let ours = status.as_ref().is_some_and(|status| {
            status.annotations.get(RELEASE_ANNOTATION) == Some(&deployment.release.to_string())
        });
        let was_serving = status
            .as_ref()
            .filter(|_| ours)
            .map_or(0, |status| status.available_replicas as usize);
        if !ours {
            // A push checked the limits before its build; a redeploy checks them here.
            self.admits(function, &deployment.spec).await?;
            self.stage(deployment).await?;
            self.gateway
                .deploy(&function_deployment(deployment))
                .await?;
            ready::wait(&self.gateway, &self.http, deployment).await?;
        } else if status
            .as_ref()
            .is_some_and(|status| status.replicas != want)
        {
            self.gateway.scale(function, want).await?;
        }
        self.route(function, deployment.spec.timeout);
        Ok(super::Scaled {
            was_serving,
            serving: replicas as usize,
            removed: 0,
        })
    }

    /// What this installation deployed at the gateway (by annotation); others are left alone.
    pub async fn list(&self) -> Result<Vec<Running>, GatewayError> {
        let instance = self.instance.as_str();
        Ok(self
            .gateway
            .list()
            .await?
            .into_iter()
            .filter(|status| {
                status
                    .annotations
                    .get(INSTANCE_ANNOTATION)
                    .map(String::as_str)
                    == Some(instance)
            })
            .map(|status| Running {
                release: status
                    .annotations
                    .get(RELEASE_ANNOTATION)
                    .and_then(|release| release.parse().ok())
                    .unwrap_or_default(),
                replicas: status.replicas as usize,
                function: status.name,
            })
            .collect())
    }

    pub async fn logs(
        &self,
        function: &FunctionName,
        lines: usize,
    ) -> Result<Vec<ReplicaLog>, GatewayError> {
        let release = self
            .gateway
            .function(function.as_str())
            .await?
            .and_then(|status| status.annotations.get(RELEASE_ANNOTATION).cloned())
            .and_then(|release| release.parse().ok())
            .unwrap_or_default();
        let logged = self.gateway.logs(function.as_str(), lines).await?;
        if logged.is_empty() {
            return Ok(Vec::new());
        }
        // Earlier versions' lines are in the window too (faasd keeps them): each line names its
        // process when there was more than one.
        let several = logged
            .iter()
            .any(|line| line.instance != logged[0].instance);
        let mut text = String::new();
        for line in logged {
            if several {
                text.push_str(&format!("[instance {}] ", line.instance));
            }
            text.push_str(line.text.trim_end_matches('\n'));
            text.push('\n');
        }
        Ok(vec![ReplicaLog {
            release,
            replica: 0,
            text,
        }])
    }

    pub async fn remove(&self, function: &FunctionName) -> Result<(), GatewayError> {
        let _ = self.routes.set(
            function.as_str(),
            Vec::<Backend>::new(),
            std::time::Duration::ZERO,
        );
        self.gateway.delete(function.as_str()).await
    }

    pub async fn ping(&self) -> Result<(), GatewayError> {
        self.gateway.info().await.map(drop)
    }

    fn route(&self, function: &str, timeout: std::time::Duration) {
        // The same backend before and after: nothing to drain, the gateway swapped it.
        let _unchanged = self.routes.set(function, [self.backend], timeout);
    }

    /// Whether the registry has `image`, for a rollback to an earlier release's.
    pub async fn image_in_registry(&self, image: &str) -> Result<(), OpenFaasError> {
        self.check_image(image).await
    }

    /// Whether the registry has the image (`HOST/REPO:TAG`), asked the way a puller asks.
    async fn check_image(&self, image: &str) -> Result<(), OpenFaasError> {
        let missing = |reason: String| OpenFaasError::ImageMissing {
            image: image.to_owned(),
            reason,
        };
        let host = self.registry.host();
        let Some(rest) = image.strip_prefix(&format!("{host}/")) else {
            return Err(missing(format!("it is not under {host}")));
        };
        let (repository, reference) = match rest.split_once('@') {
            Some((repository, digest)) => (repository, digest),
            None => rest.rsplit_once(':').unwrap_or((rest, "latest")),
        };
        let url = format!(
            "{}/v2/{repository}/manifests/{reference}",
            self.registry.api_base()
        );
        let mut request = self.http.head(&url).header(
            reqwest::header::ACCEPT,
            "application/vnd.docker.distribution.manifest.v2+json, \
             application/vnd.oci.image.manifest.v1+json, \
             application/vnd.oci.image.index.v1+json, \
             application/vnd.docker.distribution.manifest.list.v2+json",
        );
        if let Some(user) = &self.registry.user {
            request = request.basic_auth(
                user,
                self.registry
                    .password
                    .as_ref()
                    .map(|password| password.expose()),
            );
        }
        match request
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
        {
            Ok(response) if response.status().is_success() => Ok(()),
            Ok(response) => Err(missing(format!("{url} answered {}", response.status()))),
            Err(error) => Err(missing(format!("cannot reach {url}: {error}"))),
        }
    }
}

/// The FunctionDeployment of a release: its image (fully qualified, as a bare name would be
/// looked up on Docker Hub), environment, scaling labels, lmnop's annotations, secrets,
/// resources, and a read-only root.
pub fn function_deployment(deployment: &Deployment) -> FunctionDeployment {
    let spec = &deployment.spec;
    let mut env_vars: BTreeMap<String, String> = BTreeMap::new();
    if deployment.watchdog {
        env_vars.extend(super::watchdog::environment(spec));
    }
    env_vars.extend(spec.environment.clone());
    let labels = BTreeMap::from([
        (
            "com.openfaas.scale.min".to_owned(),
            spec.scaling.min.to_string(),
        ),
        (
            "com.openfaas.scale.max".to_owned(),
            spec.scaling.max.to_string(),
        ),
    ]);
    let mut annotations = BTreeMap::from([
        (INSTANCE_ANNOTATION.to_owned(), deployment.instance.clone()),
        (
            RELEASE_ANNOTATION.to_owned(),
            deployment.release.to_string(),
        ),
        (COMMIT_ANNOTATION.to_owned(), deployment.commit.clone()),
    ]);
    if let Some(pusher) = &deployment.pusher {
        annotations.insert(PUSHER_ANNOTATION.to_owned(), pusher.clone());
    }
    let resources = |resources: &crate::spec::Resources| Resources {
        memory: Some(format!("{}Mi", resources.memory_mib)),
        cpu: Some(format!("{}m", resources.cpu_millis)),
    };
    FunctionDeployment {
        service: deployment.function.clone(),
        image: deployment.image.clone(),
        namespace: NAMESPACE.to_owned(),
        env_vars,
        labels,
        annotations,
        secrets: spec.secrets.clone(),
        limits: resources(&spec.limits),
        requests: resources(&spec.requests),
        read_only_root_filesystem: true,
    }
}

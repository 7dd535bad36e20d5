//! Changes to a function without a push: running another number of replicas of its serving
//! release, and deleting it. Both take the push lock and go through the same runtime seam and
//! [`Releaser::deployment`] as a push and the reconciler.

use super::Releaser;
use crate::db::functions::Function;
use crate::db::releases::{self, Release};
use crate::domain::FunctionName;
use crate::runtime::Deployment;

/// Why a change was refused or failed; the function is as it was, or (for a failed scale) runs
/// the replicas that became healthy.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    #[error("{0} has no serving release yet; push to it first")]
    NoRelease(String),
    #[error(
        "{name} may run {min} to {max} containers (scaling in its function.yml), not {asked}; \
         change scaling.max and push to allow more"
    )]
    OutOfRange {
        name: String,
        min: u32,
        max: u32,
        asked: i64,
    },
    #[error("a push to {0} is in progress; try again when it has finished")]
    Busy(String),
    #[error("{0} was not scaled: {1}")]
    Runtime(String, crate::runtime::ScaleError),
    #[error("database error: {0}")]
    Database(sqlx::Error),
}

impl From<sqlx::Error> for ChangeError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

impl Releaser {
    /// The port `spec`'s app listens on behind `template`'s watchdog, with the options the build
    /// had (the template's, the operator's, the function's).
    pub fn app_port(
        &self,
        template: &crate::build::templates::Template,
        spec: &crate::spec::FunctionSpec,
    ) -> Option<u16> {
        let operator = self
            .config
            .build_args
            .for_template(&template.name, &template.family);
        template.app_port(&crate::build::image::resolve_options(
            template,
            &operator,
            &spec.options,
        ))
    }

    /// What the runtime runs of `release` of `function`: its image, recorded config, and the
    /// port and readiness path of its template. `None` for a release that never got an image.
    pub fn deployment(
        &self,
        function: &str,
        release: &Release,
        desired_replicas: i64,
    ) -> Option<Deployment> {
        let spec = release.config.clone();
        let template = self.templates.get(&spec.template);
        Some(Deployment {
            instance: self.instance.clone(),
            function: function.to_owned(),
            release: release.number,
            commit: release.commit_id.clone(),
            pusher: None,
            image: release.image.clone()?,
            port: template.map_or(8080, |template| template.port),
            readiness: template.and_then(|template| template.readiness_path.clone()),
            app_port: template.and_then(|template| self.app_port(template, &spec)),
            watchdog: template.is_some_and(|template| template.watchdog),
            replicas: crate::runtime::scale::replicas(desired_replicas, &spec),
            spec,
        })
    }

    /// Runs `replicas` replicas of the function's serving release, within the `scaling` range
    /// of its function.yml, and keeps the number for later pushes and the reconciler. New
    /// replicas serve once healthy.
    pub async fn scale(&self, function: &Function, replicas: i64) -> Result<u32, ChangeError> {
        let name = &function.name;
        let release = match function.current_release_id {
            Some(id) => releases::find(&self.db, id).await?,
            None => None,
        }
        .ok_or_else(|| ChangeError::NoRelease(name.clone()))?;
        let (min, max) = (release.config.scaling.min, release.config.scaling.max);
        let count = u32::try_from(replicas)
            .ok()
            .filter(|n| (min..=max).contains(n))
            .ok_or_else(|| ChangeError::OutOfRange {
                name: name.clone(),
                min,
                max,
                asked: replicas,
            })?;
        let Some(_held) = self.push_locks.try_lock(name) else {
            return Err(ChangeError::Busy(name.clone()));
        };
        let deployment = self
            .deployment(name, &release, i64::from(count))
            .ok_or_else(|| ChangeError::NoRelease(name.clone()))?;
        let scaled = self
            .runtime
            .scale(&deployment)
            .await
            .map_err(|error| ChangeError::Runtime(name.clone(), error))?;
        crate::db::functions::set_desired_replicas(&self.db, function.id, i64::from(count)).await?;
        // What runs: fewer than asked where the runtime runs fewer (faasd runs one).
        Ok(u32::try_from(scaled.serving).unwrap_or(count))
    }

    /// Deletes the function: its record and releases, what it runs, its routes and its
    /// repository. Images stay on the engine and in the registry.
    pub async fn delete(&self, function: &Function) -> Result<(), ChangeError> {
        let name = &function.name;
        let Some(_held) = self.push_locks.try_lock(name) else {
            return Err(ChangeError::Busy(name.clone()));
        };
        // The database first: once the row is gone the reconciler removes anything left.
        crate::db::functions::delete(&self.db, function.id).await?;
        if let Ok(parsed) = FunctionName::parse(name) {
            if let Err(error) = self.runtime.remove(&parsed).await {
                // The row is gone: the reconciler removes what is left once the runtime answers.
                tracing::warn!(%error, function = %name, "cannot stop what the function runs");
            }
            if let Err(error) = self.repos.remove(&parsed) {
                tracing::error!(%error, function = %name, "cannot remove the repository");
            }
        }
        Ok(())
    }
}

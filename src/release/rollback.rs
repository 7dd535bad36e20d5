//! Rolling a function back to an earlier successful release: a new release that runs that
//! release's image with that release's config (environment, secrets, resources, scaling), with
//! no build, through the same runtime seam, push lock and health gate as a push. The branch does
//! not move: until the next push the serving release is not the branch's head.

use super::{ChangeError, Releaser};
use crate::db::functions::Function;
use crate::db::releases::{self, Outcome, Release, ReleaseStatus};
use crate::db::users::User;

/// Why a rollback was refused before anything changed.
#[derive(Debug, thiserror::Error)]
pub enum RollbackError {
    #[error("{function} has no release v{number}")]
    NoSuchRelease { function: String, number: i64 },
    #[error(
        "v{number} of {function} never served (it is {status}); roll back to a release that \
         deployed"
    )]
    NeverServed {
        function: String,
        number: i64,
        status: &'static str,
    },
    #[error("v{number} already serves {function}")]
    AlreadyServing { function: String, number: i64 },
    #[error("the image of v{number} is gone ({reason}); push its commit again to rebuild it")]
    ImageGone { number: i64, reason: String },
    #[error("v{number} could not be deployed, so the serving release stays: {reason}")]
    Failed { number: i64, reason: String },
    #[error("{0}")]
    Change(#[from] ChangeError),
}

impl From<sqlx::Error> for RollbackError {
    fn from(error: sqlx::Error) -> Self {
        Self::Change(ChangeError::Database(error))
    }
}

impl Releaser {
    /// Rolls `function` back to its release `number`, as `user`: the new release, deployed and
    /// current. On failure the serving release stays and the new release is closed as failed.
    pub async fn rollback(
        &self,
        function: &Function,
        number: i64,
        user: &User,
    ) -> Result<Release, RollbackError> {
        let name = function.name.as_str();
        let Some(_held) = self.push_locks.try_lock(name) else {
            return Err(ChangeError::Busy(name.to_owned()).into());
        };
        let target = releases::find_number(&self.db, function.id, number)
            .await?
            .ok_or_else(|| RollbackError::NoSuchRelease {
                function: name.to_owned(),
                number,
            })?;
        if target.status != ReleaseStatus::Deployed {
            return Err(RollbackError::NeverServed {
                function: name.to_owned(),
                number,
                status: target.status.as_str(),
            });
        }
        let serving = releases::serving_one(&self.db, name).await?;
        if serving
            .as_ref()
            .is_some_and(|serving| serving.release.id == target.id)
        {
            return Err(RollbackError::AlreadyServing {
                function: name.to_owned(),
                number,
            });
        }
        let image = target.image.clone().unwrap_or_default();
        self.runtime
            .image_available(&image)
            .await
            .map_err(|reason| RollbackError::ImageGone { number, reason })?;

        let release = releases::start_rollback(&self.db, &target, user.id).await?;
        let started = std::time::Instant::now();
        let Some(deployment) = self.deployment(name, &release, function.desired_replicas) else {
            return Err(RollbackError::ImageGone {
                number,
                reason: "the release has no image".to_owned(),
            });
        };
        let previous = serving
            .and_then(|serving| self.deployment(name, &serving.release, serving.desired_replicas));
        let deployed = self.runtime.deploy(&deployment, previous).await;
        let timings = serde_json::json!({ "deploy": started.elapsed().as_secs_f64() }).to_string();
        let log = format!("rollback of v{number} by {}\n", user.name);
        match deployed {
            Ok(()) => {
                let outcome = Outcome {
                    status: ReleaseStatus::Deployed,
                    error: None,
                    timings: &timings,
                    build_log: &log,
                };
                releases::finish(&self.db, &release, &outcome).await?;
                tracing::info!(
                    function = name,
                    release = release.number,
                    rollback_of = number,
                    user = user.name,
                    "rolled back"
                );
                Ok(Release {
                    status: ReleaseStatus::Deployed,
                    ..release
                })
            }
            Err(error) => {
                let reason = error.to_string();
                let outcome = Outcome {
                    status: ReleaseStatus::Failed,
                    error: Some(&reason),
                    timings: &timings,
                    build_log: &log,
                };
                releases::finish(&self.db, &release, &outcome).await?;
                Err(RollbackError::Failed { number, reason })
            }
        }
    }
}

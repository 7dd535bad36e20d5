//! Refusing ref updates that another push overtook: git checks each update's old value only
//! when it writes the refs, after the build and deploy. A push that waited for the repository's
//! lock while another moved the branch is refused here, before anything is built.

use super::{Output, Push, RefUpdate};

/// The first update whose old value is not where its ref points now, with that value (all
/// zeros when the ref no longer exists).
async fn overtaken(
    push: &Push,
    updates: &[RefUpdate],
) -> Result<Option<(RefUpdate, String)>, String> {
    let repo = push.repo.clone();
    let updates = updates.to_vec();
    tokio::task::spawn_blocking(move || {
        let refs = crate::git::refs::Refs::open(&repo).map_err(|error| error.to_string())?;
        for update in updates {
            let now = refs
                .target(&update.name)
                .map_err(|error| error.to_string())?
                .map_or_else(|| "0".repeat(update.old.len()), |id| id.to_string());
            if now != update.old {
                return Ok(Some((update, now)));
            }
        }
        Ok(None)
    })
    .await
    .map_err(|error| error.to_string())?
}

/// Says so and returns false when another push moved one of the refs after this push's client
/// looked at them.
pub async fn check(push: &Push, updates: &[RefUpdate], out: &Output) -> bool {
    match overtaken(push, updates).await {
        Ok(None) => true,
        Ok(Some((update, now))) => {
            let name = update
                .name
                .strip_prefix("refs/heads/")
                .or_else(|| update.name.strip_prefix("refs/tags/"))
                .unwrap_or(&update.name);
            let short = super::short_id;
            let moved = if now.bytes().all(|b| b == b'0') {
                format!("{name} was deleted")
            } else if update.is_create() {
                format!("{name} was created at {}", short(&now))
            } else {
                format!(
                    "{name} moved from {} to {}",
                    short(&update.old),
                    short(&now)
                )
            };
            out.error(&format!(
                "{moved} by another push while this one waited; nothing was built"
            ));
            out.hint("fetch and push again (git pull, or git push --force to replace it)");
            false
        }
        Err(error) => {
            tracing::error!(%error, function = %push.function, "cannot read the refs");
            out.error("lmnop could not read the repository's refs; the server log has the details");
            false
        }
    }
}

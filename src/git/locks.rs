//! One lock per repository: pushes to a repository run one at a time, from the start of
//! receive-pack until git has updated its refs; other repositories are not held up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

#[derive(Debug, Default)]
pub struct RepoLocks {
    locks: Mutex<HashMap<String, Weak<AsyncMutex<()>>>>,
}

impl RepoLocks {
    /// Waits until no other push to `repo` runs, and holds the repository until the guard drops.
    pub async fn lock(&self, repo: &str) -> OwnedMutexGuard<()> {
        self.entry(repo).lock_owned().await
    }

    /// Holds `repo` if no push holds it now; `None` when one does.
    pub fn try_lock(&self, repo: &str) -> Option<OwnedMutexGuard<()>> {
        self.entry(repo).try_lock_owned().ok()
    }

    /// The lock of `repo`, made when nobody holds one.
    fn entry(&self, repo: &str) -> Arc<AsyncMutex<()>> {
        let mut locks = self.locks.lock().expect("the lock map is never poisoned");
        // Forget locks nobody holds any more, so the map stays as small as the pushes in flight.
        locks.retain(|_, lock| lock.strong_count() > 0);
        if let Some(lock) = locks.get(repo).and_then(Weak::upgrade) {
            return lock;
        }
        let lock = Arc::new(AsyncMutex::new(()));
        locks.insert(repo.to_owned(), Arc::downgrade(&lock));
        lock
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn one_repository_waits_another_does_not() {
        let locks = RepoLocks::default();
        let held = locks.lock("a").await;
        let other = tokio::time::timeout(Duration::from_secs(1), locks.lock("b")).await;
        assert!(other.is_ok(), "another repository is not held up");
        let same = tokio::time::timeout(Duration::from_millis(100), locks.lock("a")).await;
        assert!(same.is_err(), "the same repository waits");
        drop(held);
        let same = tokio::time::timeout(Duration::from_secs(1), locks.lock("a")).await;
        assert!(same.is_ok(), "and goes on once the first push is done");
    }
}

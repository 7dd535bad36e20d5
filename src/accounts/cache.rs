//! A short-lived memory of verified passwords, so the three or four requests of one `git fetch`
//! cost one argon2 hash instead of four. Only successes are remembered, keyed by a digest under
//! a per-process random key of the name, the password and the stored hash: a changed password
//! (even changed by another process) or a wrong one never hits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::domain::Secret;

/// How long a verified password is remembered.
const TTL: Duration = Duration::from_secs(60);
/// Most entries kept; past that, expired ones go, then everything.
const CAPACITY: usize = 4096;

pub struct VerifiedCache {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

impl std::fmt::Debug for VerifiedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifiedCache").finish_non_exhaustive()
    }
}

impl Default for VerifiedCache {
    fn default() -> Self {
        let mut key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut key);
        Self {
            key,
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl VerifiedCache {
    fn digest(&self, name: &str, password: &Secret, stored_hash: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.key);
        for part in [
            name.as_bytes(),
            password.expose().as_bytes(),
            stored_hash.as_bytes(),
        ] {
            hasher.update((part.len() as u64).to_le_bytes());
            hasher.update(part);
        }
        hasher.finalize().into()
    }

    /// True when this exact name, password and stored hash were verified in the last minute.
    pub fn hit(&self, name: &str, password: &Secret, stored_hash: &str) -> bool {
        let digest = self.digest(name, password, stored_hash);
        let entries = self
            .entries
            .lock()
            .expect("the cache lock is never poisoned");
        entries
            .get(&digest)
            .is_some_and(|expires| *expires > Instant::now())
    }

    /// Remembers a successful verification.
    pub fn remember(&self, name: &str, password: &Secret, stored_hash: &str) {
        let digest = self.digest(name, password, stored_hash);
        let now = Instant::now();
        let mut entries = self
            .entries
            .lock()
            .expect("the cache lock is never poisoned");
        if entries.len() >= CAPACITY {
            entries.retain(|_, expires| *expires > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(digest, now + TTL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_same_name_password_and_hash_hit() {
        let cache = VerifiedCache::default();
        let password = Secret::new("right-password");
        assert!(!cache.hit("ann", &password, "$hash1"));
        cache.remember("ann", &password, "$hash1");
        assert!(cache.hit("ann", &password, "$hash1"));
        assert!(!cache.hit("ann", &Secret::new("wrong-password"), "$hash1"));
        assert!(
            !cache.hit("ann", &password, "$hash2"),
            "a changed password misses"
        );
        assert!(!cache.hit("bob", &password, "$hash1"));
    }
}

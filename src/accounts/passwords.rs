//! Password hashing with argon2id, off the async runtime and with bounded concurrency, so a
//! login flood cannot eat every core or all memory.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use tokio::sync::Semaphore;

use crate::domain::Secret;

/// Longer passwords are refused before any hashing.
pub const MAX_PASSWORD_BYTES: usize = 1024;
/// Shorter passwords are refused when set.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A password that cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
    #[error("the password is shorter than {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password hash could not be computed: {0}")]
    Hash(String),
}

/// Hashes and verifies passwords; cheap to clone.
#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    permits: Arc<Semaphore>,
    /// Verified against when the user does not exist, so an unknown user costs the same time.
    dummy_hash: Arc<str>,
    /// Work memory for verifications, reused: allocating 19 MiB per check and freeing it makes
    /// the allocator keep ever more of it (RSS grew by that much per login).
    memory: Arc<std::sync::Mutex<Vec<Vec<Block>>>>,
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

impl Passwords {
    /// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane); at most `concurrency`
    /// hashes at once.
    pub fn new(concurrency: usize) -> Self {
        let params = Params::new(19 * 1024, 2, 1, None).expect("OWASP argon2 parameters are valid");
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let salt = SaltString::generate(&mut OsRng);
        let dummy_hash = argon2
            .hash_password(b"lmnop dummy password", &salt)
            .expect("hashing a fixed password with fresh salt succeeds")
            .to_string();
        Self {
            argon2,
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            dummy_hash: dummy_hash.into(),
            memory: Arc::default(),
        }
    }

    /// Checks a new password's length and hashes it.
    pub async fn hash(&self, password: &Secret) -> Result<String, PasswordError> {
        if password.expose().len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        if password.expose().chars().count() < MIN_PASSWORD_CHARS {
            return Err(PasswordError::TooShort);
        }
        let password = password.clone();
        let argon2 = self.argon2.clone();
        self.run_blocking(move || {
            let salt = SaltString::generate(&mut OsRng);
            argon2
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| PasswordError::Hash(error.to_string()))
        })
        .await
    }

    /// True when `password` matches `hash`. With no hash (unknown user) it verifies against a
    /// dummy hash and answers false, taking the same time. Oversized passwords are refused
    /// without hashing.
    pub async fn verify(&self, password: &Secret, hash: Option<&str>) -> bool {
        if password.expose().len() > MAX_PASSWORD_BYTES {
            return false;
        }
        let known = hash.is_some();
        let hash: Arc<str> = hash.map_or_else(|| self.dummy_hash.clone(), Arc::from);
        let password = password.clone();
        let memory = self.memory.clone();
        let matches = self
            .run_blocking(move || {
                let mut blocks = memory
                    .lock()
                    .expect("the memory pool is never poisoned")
                    .pop()
                    .unwrap_or_default();
                let matches = verify_with_memory(&password, &hash, &mut blocks);
                memory
                    .lock()
                    .expect("the memory pool is never poisoned")
                    .push(blocks);
                matches
            })
            .await;
        known && matches
    }

    async fn run_blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> T {
        let _permit = self
            .permits
            .acquire()
            .await
            .expect("the semaphore is never closed");
        tokio::task::spawn_blocking(work)
            .await
            .expect("password hashing does not panic")
    }
}

/// Verifies `password` against a PHC-format argon2 hash, computing in `blocks` (resized as the
/// hash's parameters need). Any malformed hash is a mismatch.
fn verify_with_memory(password: &Secret, hash: &str, blocks: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    let (Ok(algorithm), Ok(params)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or_default();
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    blocks.resize(params.block_count(), Block::default());
    let mut output = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params);
    if argon2
        .hash_password_into_with_memory(
            password.expose().as_bytes(),
            salt,
            &mut output,
            blocks.as_mut_slice(),
        )
        .is_err()
    {
        return false;
    }
    // Constant-time comparison of the two outputs.
    argon2::password_hash::Output::new(&output).is_ok_and(|computed| computed == expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_reject() {
        let passwords = Passwords::new(2);
        let hash = passwords
            .hash(&Secret::new("correct horse"))
            .await
            .expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            passwords
                .verify(&Secret::new("correct horse"), Some(&hash))
                .await
        );
        assert!(
            !passwords
                .verify(&Secret::new("wrong horse"), Some(&hash))
                .await
        );
        assert!(!passwords.verify(&Secret::new("correct horse"), None).await);
        assert!(
            !passwords
                .verify(&Secret::new("correct horse"), Some("$argon2id$junk"))
                .await
        );
        // Hashes made elsewhere with other parameters verify too.
        let other = Argon2::new(
            Algorithm::Argon2id,
            Version::V0x13,
            Params::new(8 * 1024, 1, 1, None).expect("params"),
        );
        let salt = SaltString::generate(&mut OsRng);
        let foreign = other
            .hash_password(b"foreign pw", &salt)
            .expect("hash")
            .to_string();
        assert!(
            passwords
                .verify(&Secret::new("foreign pw"), Some(&foreign))
                .await
        );
        assert!(
            !passwords
                .verify(&Secret::new("foreign px"), Some(&foreign))
                .await
        );
    }

    #[tokio::test]
    async fn refuses_bad_lengths_before_hashing() {
        let passwords = Passwords::new(1);
        let huge = Secret::new("x".repeat(MAX_PASSWORD_BYTES + 1));
        assert_eq!(passwords.hash(&huge).await, Err(PasswordError::TooLong));
        assert_eq!(
            passwords.hash(&Secret::new("short")).await,
            Err(PasswordError::TooShort)
        );
        assert!(!passwords.verify(&huge, None).await);
    }
}

//! Password hashing with argon2id, off the async runtime and with bounded concurrency, so a
//! login flood cannot eat every core or all memory.

use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
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
        let argon2 = self.argon2.clone();
        let matches = self
            .run_blocking(move || {
                PasswordHash::new(&hash).is_ok_and(|parsed| {
                    argon2
                        .verify_password(password.expose().as_bytes(), &parsed)
                        .is_ok()
                })
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

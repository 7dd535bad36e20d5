//! Random passwords and API tokens. Tokens carry a prefix so they are recognisable (and
//! findable by secret scanners) and are stored as SHA-256: they are random, so a slow hash
//! adds nothing.

use rand::Rng;
use rand::distributions::Alphanumeric;
use sha2::{Digest, Sha256};

use crate::domain::Secret;

const TOKEN_PREFIX: &str = "lmnop_";

fn random_string(len: usize) -> String {
    rand::rngs::OsRng
        .sample_iter(&Alphanumeric)
        .take(len)
        .map(char::from)
        .collect()
}

/// A password for a generated account: 24 letters and digits (~142 bits).
pub fn random_password() -> Secret {
    Secret::new(random_string(24))
}

/// A new API token: the prefix and 40 letters and digits (~238 bits).
pub fn new_token() -> Secret {
    Secret::new(format!("{TOKEN_PREFIX}{}", random_string(40)))
}

pub fn looks_like_token(secret: &Secret) -> bool {
    let text = secret.expose();
    text.len() == TOKEN_PREFIX.len() + 40
        && text.starts_with(TOKEN_PREFIX)
        && text[TOKEN_PREFIX.len()..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric())
}

pub fn hash(token: &Secret) -> String {
    hex::encode(Sha256::digest(token.expose().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_recognised_and_distinct() {
        let (a, b) = (new_token(), new_token());
        assert!(looks_like_token(&a));
        assert_ne!(a, b);
        assert_ne!(hash(&a), hash(&b));
        assert!(!looks_like_token(&Secret::new("lmnop_short")));
        assert!(!looks_like_token(&random_password()));
    }
}

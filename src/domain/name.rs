//! Names that reach the file system, URLs and Docker: functions and users.
//!
//! Both follow the DNS label rule, so a name is safe as a directory, a host name, an image name
//! and a URL segment without any escaping.

use std::fmt;

/// Why a name was refused; the message states the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} name \"{shown}\": {rule}")]
pub struct NameError {
    kind: &'static str,
    shown: String,
    rule: String,
}

/// Checks `value` against the DNS-label rule with at most `max` characters.
fn check_label(kind: &'static str, value: &str, max: usize) -> Result<(), NameError> {
    let rule = format!(
        "use 1 to {max} characters: lowercase letters a-z, digits and '-', \
         starting with a letter and not ending with '-'"
    );
    let bytes = value.as_bytes();
    let valid = !bytes.is_empty()
        && bytes.len() <= max
        && bytes[0].is_ascii_lowercase()
        && bytes[bytes.len() - 1] != b'-'
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
    if valid {
        Ok(())
    } else {
        // Keep the echo short and printable: names come from URLs and terminals.
        let shown: String = value
            .chars()
            .take(80)
            .flat_map(char::escape_default)
            .collect();
        Err(NameError { kind, shown, rule })
    }
}

macro_rules! label_name {
    ($(#[$doc:meta])* $ty:ident, $kind:literal, $max:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $ty(String);

        impl $ty {
            /// The longest name accepted.
            pub const MAX_LEN: usize = $max;

            pub fn parse(value: &str) -> Result<Self, NameError> {
                check_label($kind, value, $max)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = NameError;
            fn from_str(value: &str) -> Result<Self, NameError> {
                Self::parse(value)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

label_name!(
    /// A function (and repository) name: a DNS label, `^[a-z][a-z0-9-]{0,62}$`, no trailing `-`.
    FunctionName,
    "function",
    63
);

label_name!(
    /// A user name: `^[a-z][a-z0-9-]{0,31}$`, no trailing `-`; the same shape as function names
    /// so one rule covers both.
    UserName,
    "user",
    32
);

/// A secret's name: a DNS-1123 label, `^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`, at most 63
/// characters (the rule OpenFaaS and Kubernetes use, so names carry over).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretName(String);

impl SecretName {
    pub fn parse(value: &str) -> Result<Self, NameError> {
        let bytes = value.as_bytes();
        let valid = !bytes.is_empty()
            && bytes.len() <= 63
            && bytes[0] != b'-'
            && bytes[bytes.len() - 1] != b'-'
            && bytes
                .iter()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-');
        if valid {
            Ok(Self(value.to_owned()))
        } else {
            Err(NameError {
                kind: "secret",
                shown: value
                    .chars()
                    .take(80)
                    .flat_map(char::escape_default)
                    .collect(),
                rule: "use 1 to 63 characters: lowercase letters a-z, digits and '-', \
                       not starting or ending with '-'"
                    .to_owned(),
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_dns_labels() {
        for ok in ["a", "hello", "my-app-2", &format!("a{}", "b".repeat(62))] {
            assert!(FunctionName::parse(ok).is_ok(), "{ok} should be valid");
        }
    }

    #[test]
    fn refuses_everything_else() {
        let too_long = format!("a{}", "b".repeat(63));
        let bad = [
            "", "..", "../x", "-x", "x-", "a/b", "App", "a;id", "%2e%2e", "a\0b", "ａｂ", "1abc",
            "a_b", "a.b", " a", &too_long,
        ];
        for name in bad {
            let err = FunctionName::parse(name).expect_err(name);
            assert!(err.to_string().contains("lowercase letters"), "{err}");
        }
    }

    #[test]
    fn secret_names_follow_dns_1123() {
        for ok in ["db-password", "1st", "a"] {
            assert!(SecretName::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "-a", "a-", "A", "a_b", "../x", "a/b", &"a".repeat(64)] {
            assert!(SecretName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn user_names_are_shorter() {
        assert!(UserName::parse(&"a".repeat(32)).is_ok());
        assert!(UserName::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn error_escapes_control_characters() {
        let err = UserName::parse("a\nb").expect_err("newline");
        assert!(err.to_string().contains("a\\nb"), "{err}");
    }
}

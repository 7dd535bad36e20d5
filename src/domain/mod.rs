//! Validated names and other small value types shared by every feature.

mod name;
mod secret;

pub use name::{FunctionName, NameError, SecretName, UserName};
pub use secret::Secret;

//! The HTTP edge shared by every feature: the error type users see, health and metrics.

pub mod auth;
pub mod error;
pub mod health;
pub mod metrics;
pub mod server;

pub use error::AppError;

/// The realm of lmnop's Basic authentication challenges.
pub const REALM: &str = "lmnop";

/// Every cookie lmnop sets has a name starting with this (any case); the router never lets
/// such a cookie reach a function or a function set one.
pub const COOKIE_PREFIX: &str = "lmnop";
pub use metrics::Metrics;

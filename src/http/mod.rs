//! The HTTP edge shared by every feature: the error type users see, health and metrics.

pub mod auth;
pub mod error;
pub mod health;
pub mod metrics;

pub use error::AppError;
pub use metrics::Metrics;

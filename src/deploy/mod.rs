//! Running functions. The docker runtime (the default) runs each release as containers on the
//! engine that built it; the OpenFaaS runtime comes later behind the same calls.

pub mod docker;
pub mod health;
pub mod reconcile;
pub mod scale;

//! Git over smart HTTP: the `/scm/` endpoints, the bare repositories, the per-repository push
//! lock, and both ends of the pre-receive hook that hands each push to the [`receive::PushHandler`] it is
//! given, and the pusher's output channel.

#[cfg(test)]
pub mod fixture;
mod hook_client;
pub mod hook_server;
mod http;
pub mod locks;
pub mod objects;
pub mod output;
pub mod receive;
pub mod refs;
pub mod repos;
pub mod service;

pub use hook_client::{run_post_receive, run_pre_receive, run_reference_transaction};
pub use http::{GitState, routes};

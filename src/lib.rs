//! lmnop: a Heroku-style `git push` build server for functions.
//!
//! The binary is a thin shell over this library: `cli` parses the command line, `app` builds the
//! HTTP server, and each feature lives in its own module.

pub mod accounts;
pub mod api;
pub mod app;
pub mod build;
pub mod cli;
pub mod config;
pub mod db;
pub mod doctor;
pub mod domain;
pub mod engine;
pub mod git;
pub mod http;
pub mod portal;
pub mod release;
pub mod router;
pub mod runtime;
pub mod secrets;
pub mod spec;
pub mod store;
pub mod telemetry;

//! Black-box and in-process tests of lmnop, in one binary so it links once.
//!
//! Every test that touches the database runs against the backend named by
//! `LMNOP_TEST_DATABASE` (`sqlite`, the default, or `postgres`); `scripts/test` runs the whole
//! suite once per backend.

mod accounts;
mod api_errors;
mod cli;
mod connections;
mod database;
mod deploy;
mod deploy_concurrency;
mod deploy_support;
mod doctor;
mod faults;
mod frozen_proxy;
mod functions_api;
mod git;
mod git_hostile;
mod gitutil;
mod metrics;
mod openapi;
mod openfaas;
mod original;
mod pipeline;
mod portal;
mod portal_sessions;
mod private_postgres;
mod registry;
mod rollback;
mod router;
mod secrets;
mod serve;
mod support;
mod templates;
mod webdriver;

//! Building a function's image: the build context from the pushed tree and the template, the
//! Docker build itself, and the push to the operator's registry.

pub mod builder;
pub mod context;
pub mod docker;
pub mod dockerignore;
pub mod image;
pub mod registry;
pub mod stream;
pub mod templates;

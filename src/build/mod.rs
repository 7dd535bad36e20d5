//! Building a function's image: the build context from the pushed tree and the template, and
//! (next) the Docker build itself.

pub mod context;
pub mod docker;
pub mod image;
pub mod stream;
pub mod templates;

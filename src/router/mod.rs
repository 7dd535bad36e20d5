//! The router: `/function/NAME[/rest]` (and `NAME.<apps domain>`) proxied to what serves the
//! function (the backends the runtime put in the [`RouteTable`]), with streaming bodies,
//! keep-alive upstream connections, hop-by-hop headers removed, `X-Forwarded-*` set and lmnop's
//! own credentials kept out both ways. Only a function's own backends can be reached.

mod credentials;
pub mod hold;
mod host;
mod proxy;
mod table;
mod urls;

use std::sync::Arc;

pub use host::route_by_host;
pub use proxy::{Upstream, invoke_by_host, invoke_function, routes, upstream_client};
pub use table::{Backend, Lease, Retired, RouteTable};
pub use urls::FunctionUrls;

/// What the router uses; the composition root hands it over (`FromRef`).
#[derive(Debug, Clone)]
pub struct RouterState {
    pub routes: Arc<RouteTable>,
    /// The pooled client to the backends.
    pub upstream: Upstream,
    pub metrics: Arc<crate::http::Metrics>,
    /// `NAME.<apps domain>` goes to function NAME, when set.
    pub apps_domain: Option<String>,
    /// lmnop's own host (from `LMNOP_PUBLIC_URL`): never taken for a function's.
    pub own_host: Option<String>,
    /// `X-Forwarded-Proto` as the public URL says (`https` or `http`).
    pub forwarded_proto: &'static str,
}

//! The router: `/function/NAME[/rest]` (and `NAME.<apps domain>`) proxied to the function's
//! serving containers, with streaming bodies, keep-alive upstream connections, hop-by-hop
//! headers removed and `X-Forwarded-*` set. Only a function's own containers can be reached.

mod proxy;
mod table;
mod urls;

pub use proxy::{Upstream, invoke_by_host, invoke_function, routes, upstream_client};
pub use table::RouteTable;
pub use urls::FunctionUrls;

//! Where a function answers, as people are told (push output, API, portal): `NAME.<apps
//! domain>` when one is set, and `/function/NAME` under lmnop's public URL.

/// The public addresses of functions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionUrls {
    /// lmnop's public URL, without a trailing `/`.
    pub base: String,
    pub apps_domain: Option<String>,
}

impl FunctionUrls {
    /// The URLs of `function`, the apps-domain one first.
    pub fn of(&self, function: &str) -> Vec<String> {
        let mut urls = vec![format!("{}/function/{function}", self.base)];
        if let Some(domain) = &self.apps_domain {
            let scheme = if self.base.starts_with("https:") {
                "https"
            } else {
                "http"
            };
            urls.insert(0, format!("{scheme}://{function}.{domain}"));
        }
        urls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_apps_domain_comes_first_with_the_public_scheme() {
        let urls = FunctionUrls {
            base: "https://lmnop.example.com".to_owned(),
            apps_domain: Some("apps.example.com".to_owned()),
        };
        assert_eq!(
            urls.of("hello"),
            [
                "https://hello.apps.example.com",
                "https://lmnop.example.com/function/hello"
            ]
        );
        let plain = FunctionUrls {
            base: "http://localhost:8000".to_owned(),
            apps_domain: None,
        };
        assert_eq!(plain.of("hello"), ["http://localhost:8000/function/hello"]);
    }
}

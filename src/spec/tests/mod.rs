//! Tests of `parse` through its public face, with a small in-memory catalog.

mod errors;
mod fields;
mod hostile;
mod valid;

use std::cell::RefCell;

use super::{Catalog, DeclaredOption, FunctionSpec, OptionFormat, SpecError, parse};

/// Installed: five templates; python3.12 declares two options; two secrets exist. Remembers
/// every name it was asked about.
#[derive(Default)]
struct TestCatalog {
    asked: RefCell<Vec<String>>,
}

impl Catalog for TestCatalog {
    fn templates(&self) -> Vec<String> {
        ["dockerfile", "hugo", "python3.12", "react", "static"]
            .map(String::from)
            .to_vec()
    }

    fn template_options(&self, template: &str) -> Option<Vec<DeclaredOption>> {
        self.asked.borrow_mut().push(template.to_owned());
        let text = |name: &str| DeclaredOption {
            name: name.to_owned(),
            format: OptionFormat::Text,
        };
        match template {
            "python3.12" => Some(vec![
                text("PYTHON_EXTRA_PACKAGES"),
                text("PYTHON_VERSION"),
                DeclaredOption {
                    name: "packages".to_owned(),
                    format: OptionFormat::DebianPackages,
                },
                DeclaredOption {
                    name: "APP_PORT".to_owned(),
                    format: OptionFormat::Port,
                },
            ]),
            "dockerfile" | "hugo" | "react" | "static" => Some(Vec::new()),
            _ => None,
        }
    }

    fn secret_exists(&self, name: &str) -> bool {
        self.asked.borrow_mut().push(name.to_owned());
        matches!(name, "db-password" | "api-key")
    }
}

fn parse_ok(text: &str) -> FunctionSpec {
    parse(text.as_bytes(), &TestCatalog::default()).unwrap_or_else(|errors| panic!("{errors}"))
}

fn errors_of(bytes: &[u8]) -> Vec<SpecError> {
    match parse(bytes, &TestCatalog::default()) {
        Ok(spec) => panic!("expected errors, got {spec:?}"),
        Err(errors) => errors.0,
    }
}

/// The single error `text` gives, checked for its field, line and key words.
fn expect_error(text: &str, field: &str, line: usize, words: &[&str]) -> SpecError {
    let errors = errors_of(text.as_bytes());
    assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
    let error = errors.into_iter().next().expect("one error");
    assert_matches(&error, field, line, words);
    error
}

fn assert_matches(error: &SpecError, field: &str, line: usize, words: &[&str]) {
    assert_eq!(error.field, field, "field of {error:?}");
    assert_eq!(error.line, line, "line of {error:?}");
    for word in words {
        assert!(error.message.contains(word), "{word:?} not in {error:?}");
    }
}

//! Files that parse: every key, defaults, unit conversions, the JSON record.

use std::collections::BTreeMap;
use std::time::Duration;

use super::{TestCatalog, parse_ok};
use crate::spec::{FunctionSpec, Health, Resources, Scaling, SpecError, SpecErrors, parse};

const FULL: &str = "\
template: python3.12
requests: {cpu: 50m, memory: 64Mi}
limits:
  cpu: 500m
  memory: 256Mi
environment:
  GREETING: hello
  WORKERS: 4
secrets: [db-password, api-key]
options:            # build args passed to the template's Dockerfile
  PYTHON_EXTRA_PACKAGES: libpq5
scaling: {min: 1, max: 3}
health:
  path: /healthz
  timeout: 60s
timeout: 45s         # one request's longest answer
";

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn full_example_with_every_key() {
    let expected = FunctionSpec {
        template: "python3.12".to_owned(),
        requests: Resources {
            cpu_millis: 50,
            memory_mib: 64,
        },
        limits: Resources {
            cpu_millis: 500,
            memory_mib: 256,
        },
        environment: map(&[("GREETING", "hello"), ("WORKERS", "4")]),
        secrets: vec!["db-password".to_owned(), "api-key".to_owned()],
        options: map(&[("PYTHON_EXTRA_PACKAGES", "libpq5")]),
        scaling: Scaling { min: 1, max: 3 },
        health: Health {
            path: "/healthz".to_owned(),
            timeout: Duration::from_secs(60),
        },
        timeout: Duration::from_secs(45),
    };
    assert_eq!(parse_ok(FULL), expected);
}

#[test]
fn template_alone_gets_the_defaults() {
    let spec = parse_ok("template: static\n");
    assert_eq!(spec.template, "static");
    assert_eq!(spec.requests, Resources::DEFAULT_REQUESTS);
    assert_eq!(spec.requests.cpu_millis, 50);
    assert_eq!(spec.requests.memory_mib, 64);
    assert_eq!(spec.limits.cpu_millis, 100);
    assert_eq!(spec.limits.memory_mib, 128);
    assert!(spec.environment.is_empty() && spec.secrets.is_empty() && spec.options.is_empty());
    assert_eq!(spec.scaling, Scaling { min: 1, max: 1 });
    assert_eq!(spec.health.path, "/");
    assert_eq!(spec.health.timeout, Duration::from_secs(60));
    assert_eq!(spec.timeout, Duration::from_secs(30));
}

#[test]
fn empty_sections_mean_defaults() {
    let text = "template: static\nrequests:\nlimits: {}\nenvironment:\nsecrets: []\n\
                options: ~\nscaling:\nhealth:\n";
    assert_eq!(parse_ok(text), parse_ok("template: static"));
}

#[test]
fn units_are_converted() {
    let text = "\
template: static
requests: {cpu: 0.25, memory: 128M}
limits: {cpu: 1, memory: 1G}
health: {timeout: 2m}
";
    let spec = parse_ok(text);
    assert_eq!(spec.requests.cpu_millis, 250);
    assert_eq!(
        spec.requests.memory_mib, 123,
        "128e6 bytes is 122.07 MiB, rounded up"
    );
    assert_eq!(spec.limits.cpu_millis, 1000);
    assert_eq!(
        spec.limits.memory_mib, 954,
        "1e9 bytes is 953.67 MiB, rounded up"
    );
    assert_eq!(spec.health.timeout, Duration::from_secs(120));

    let spec = parse_ok("template: static\nlimits: {memory: 1Gi}\nhealth: {timeout: 90}\n");
    assert_eq!(spec.limits.memory_mib, 1024);
    assert_eq!(spec.health.timeout, Duration::from_secs(90));
}

#[test]
fn one_sided_resources_keep_the_pair_consistent() {
    let spec = parse_ok("template: static\nrequests: {cpu: 500m, memory: 512Mi}\n");
    assert_eq!(
        spec.limits.cpu_millis, 500,
        "the limit rises to the request"
    );
    assert_eq!(spec.limits.memory_mib, 512);

    let spec = parse_ok("template: static\nlimits: {memory: 32Mi}\n");
    assert_eq!(
        spec.requests.memory_mib, 32,
        "the request falls to the limit"
    );
    assert_eq!(spec.requests.cpu_millis, 50);
}

#[test]
fn scaling_fills_in_the_missing_end() {
    assert_eq!(
        parse_ok("template: static\nscaling: {max: 4}").scaling,
        Scaling { min: 1, max: 4 }
    );
    assert_eq!(
        parse_ok("template: static\nscaling: {min: 3}").scaling,
        Scaling { min: 3, max: 3 }
    );
    assert_eq!(
        parse_ok("template: static\nscaling: {min: 20, max: 20}").scaling,
        Scaling { min: 20, max: 20 }
    );
}

#[test]
fn scalar_values_become_their_text() {
    let text = "\
template: python3.12
environment:
  TEXT: 'quoted # not a comment'
  NUMBER: 4
  FRACTION: 1.50
  FLAG: true
  EMPTY: ''
  MULTI: |
    line one
    line two
options: {PYTHON_VERSION: 3.12}
";
    let spec = parse_ok(text);
    let expected = map(&[
        ("TEXT", "quoted # not a comment"),
        ("NUMBER", "4"),
        ("FRACTION", "1.50"),
        ("FLAG", "true"),
        ("EMPTY", ""),
        ("MULTI", "line one\nline two\n"),
    ]);
    assert_eq!(spec.environment, expected);
    assert_eq!(spec.options, map(&[("PYTHON_VERSION", "3.12")]));
}

#[test]
fn json_record_names_secrets_and_parses_back() {
    let spec = parse_ok(FULL);
    let json: serde_json::Value =
        serde_json::from_str(&spec.to_record()).expect("the record is JSON");
    assert_eq!(json["template"], "python3.12");
    assert_eq!(json["limits"]["cpu"], "500m");
    assert_eq!(json["limits"]["memory"], "256Mi");
    assert_eq!(
        json["secrets"],
        serde_json::json!(["db-password", "api-key"])
    );
    assert_eq!(json["scaling"]["max"], 3);
    assert_eq!(json["health"]["timeout"], "60s");
    // JSON is YAML: the record is itself a function.yml for the same spec.
    let again = parse(spec.to_record().as_bytes(), &TestCatalog::default())
        .unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(again, spec);
    assert_eq!(
        FunctionSpec::from_record(&spec.to_record()).expect("typed"),
        spec
    );
}

#[test]
fn display_is_one_line_per_problem() {
    let errors = SpecErrors(vec![
        SpecError {
            field: String::new(),
            line: 0,
            message: "function.yml is empty".to_owned(),
        },
        SpecError {
            field: "limits.memory".to_owned(),
            line: 4,
            message: "8Gi is above the largest allowed, 4096Mi".to_owned(),
        },
    ]);
    assert_eq!(
        errors.to_string(),
        "function.yml: function.yml is empty\n\
         function.yml line 4, limits.memory: 8Gi is above the largest allowed, 4096Mi"
    );
}

#[test]
fn a_file_of_exactly_the_limit_is_read() {
    let mut text = "template: static\n".to_owned();
    while text.len() < crate::spec::MAX_FUNCTION_FILE_BYTES {
        text.push_str("# padding\n");
    }
    text.truncate(crate::spec::MAX_FUNCTION_FILE_BYTES - 1);
    text.push('\n');
    assert_eq!(text.len(), crate::spec::MAX_FUNCTION_FILE_BYTES);
    assert_eq!(parse_ok(&text).template, "static");
}

#[test]
fn a_byte_order_mark_is_skipped() {
    assert_eq!(parse_ok("\u{feff}template: static\n").template, "static");
}

/// A `function.yml` as the original lmnop's users write them: comments, lower-case
/// environment names, the `packages` option, quoted and unquoted quantities.
#[test]
fn the_original_lmnop_s_function_files_parse_unchanged() {
    let original = "\
# Deployed with lmnop.
template: python3.12

# resources for each replica
requests:
  cpu: 100m
  memory: \"128Mi\"
limits:
  cpu: 1000m
  memory: 512Mi

environment:
  foo: bar
  LOG_LEVEL: info
  workers: 2

secrets:
  - db-password

options:
  packages: \"libpq-dev gcc\"
";
    let spec = parse_ok(original);
    assert_eq!(
        spec.environment,
        map(&[("LOG_LEVEL", "info"), ("foo", "bar"), ("workers", "2")])
    );
    assert_eq!(spec.options, map(&[("packages", "libpq-dev gcc")]));
    assert_eq!(spec.requests.memory_mib, 128);
    assert_eq!(spec.limits.cpu_millis, 1000);
    assert_eq!(spec.secrets, ["db-password"]);
}

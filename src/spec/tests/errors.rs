//! Files that are well-formed YAML but break the schema: types, keys, the template and
//! resources.

use super::{TestCatalog, assert_matches, errors_of, expect_error};
use crate::spec::parse;

#[test]
fn wrong_types_name_the_field() {
    let cases: [(&str, &str, usize, &[&str]); 8] = [
        (
            "template: static\nscaling:\n  min: [1]\n",
            "scaling.min",
            3,
            &["scaling.min must be a whole number, not a list"],
        ),
        (
            "template: static\nscaling: {max: '3'}\n",
            "scaling.max",
            2,
            &["whole number", "the text `3`"],
        ),
        (
            "template: static\nscaling: {max: 2.5}\n",
            "scaling.max",
            2,
            &["whole number", "`2.5`"],
        ),
        (
            "template: static\nenvironment: [A, B]\n",
            "environment",
            2,
            &["environment must be a map of NAME: value, not a list"],
        ),
        (
            "template: static\nenvironment:\n  A:\n",
            "environment.A",
            3,
            &["no value", "A: \"\""],
        ),
        (
            "template: static\nenvironment: {A: {B: c}}\n",
            "environment.A",
            2,
            &["text, a number or true/false", "not a map"],
        ),
        (
            "template: static\nsecrets: db-password\n",
            "secrets",
            2,
            &["list of secret names", "the text `db-password`"],
        ),
        (
            "template: static\nrequests: 50m\n",
            "requests",
            2,
            &["requests must be a map with cpu and memory"],
        ),
    ];
    for (text, field, line, words) in cases {
        expect_error(text, field, line, words);
    }
    expect_error(
        "template: [static]\n",
        "template",
        1,
        &["template name", "not a list"],
    );
    expect_error(
        "template: static\nhealth: {path: 5}\n",
        "health.path",
        2,
        &["URL path", "`5`"],
    );
    expect_error(
        "template: static\nlimits: {cpu: true}\n",
        "limits.cpu",
        2,
        &["millicores", "`true`"],
    );
}

#[test]
fn unknown_keys_suggest_the_nearest() {
    // The misspelt key also leaves the template missing: both are reported.
    let errors = errors_of(b"tempalte: static\n");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_matches(&errors[0], "template", 0, &["template is required"]);
    assert_matches(&errors[1], "tempalte", 1, &[]);
    assert_eq!(
        errors[1].message,
        "unknown key `tempalte`; did you mean `template`?"
    );
    expect_error(
        "template: static\nlimits:\n  cpuu: 100m\n",
        "limits.cpuu",
        3,
        &["unknown key `cpuu`", "did you mean `cpu`?"],
    );
    expect_error(
        "template: static\nhealth: {tmeout: 10s}\n",
        "health.tmeout",
        2,
        &["`timeout`"],
    );
    expect_error(
        "template: static\nreplicas: 3\n",
        "replicas",
        2,
        &[
            "unknown key `replicas`",
            "the known keys are template, requests, limits",
        ],
    );
}

#[test]
fn missing_template_is_reported() {
    expect_error(
        "scaling: {max: 2}\n",
        "template",
        0,
        &["template is required", "template: python3.12"],
    );
}

#[test]
fn out_of_range_cpu_and_memory_state_the_range() {
    let error = expect_error(
        "template: static\nlimits:\n  cpu: 500m\n  memory: 8Gi\n",
        "limits.memory",
        4,
        &[],
    );
    assert_eq!(
        error.to_string(),
        "function.yml line 4, limits.memory: 8Gi is above the largest allowed, 4096Mi \
         (limits.memory must be 32Mi to 4096Mi)"
    );
    expect_error(
        "template: static\nrequests: {cpu: 10m}\n",
        "requests.cpu",
        2,
        &["below the smallest allowed, 50m", "50m to 1000m"],
    );
    expect_error(
        "template: static\nlimits: {cpu: 2}\n",
        "limits.cpu",
        2,
        &["2 is above the largest allowed, 1000m"],
    );
    expect_error(
        "template: static\nlimits: {memory: 16Mi}\n",
        "limits.memory",
        2,
        &["below the smallest allowed, 32Mi"],
    );
    expect_error(
        "template: static\nlimits: {cpu: 99999999999999999999999999}\n",
        "limits.cpu",
        2,
        &["above the largest allowed"],
    );
}

#[test]
fn malformed_quantities_show_the_format() {
    expect_error(
        "template: static\nlimits: {cpu: fast}\n",
        "limits.cpu",
        2,
        &["like 250m", "`fast`"],
    );
    expect_error(
        "template: static\nlimits: {memory: 256}\n",
        "limits.memory",
        2,
        &["needs a unit", "256Mi"],
    );
    expect_error(
        "template: static\nlimits: {memory: 1TB}\n",
        "limits.memory",
        2,
        &["like 256Mi", "`1TB`"],
    );
}

#[test]
fn requests_above_limits_are_reported_on_the_requests_line() {
    let text = "template: static\nrequests:\n  cpu: 500m\n  memory: 512Mi\nlimits:\n  cpu: 250m\n  memory: 512Mi\n";
    expect_error(
        text,
        "requests.cpu",
        3,
        &["500m is more than limits.cpu 250m"],
    );
    let text = "template: static\nlimits: {memory: 64Mi}\nrequests: {memory: 65Mi}\n";
    expect_error(
        text,
        "requests.memory",
        3,
        &["65Mi is more than limits.memory 64Mi"],
    );
}

#[test]
fn unknown_template_lists_the_installed_ones() {
    let error = expect_error("template: python3.11\n", "template", 1, &[]);
    assert_eq!(
        error.message,
        "unknown template `python3.11`; installed: dockerfile, hugo, python3.12, react, static; \
         did you mean `python3.12`?"
    );
    let error = expect_error(
        "template: rails\n",
        "template",
        1,
        &["unknown template `rails`"],
    );
    assert!(!error.message.contains("did you mean"), "{error:?}");
}

#[test]
fn template_paths_are_refused_by_the_rule_before_the_catalog() {
    for name in [
        "../x", "/etc", "a/b", "..", "a..b", "Python", ".hidden", "-x", "a b",
    ] {
        let catalog = TestCatalog::default();
        let text = format!("template: '{name}'\n");
        let errors = parse(text.as_bytes(), &catalog).expect_err(name).0;
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_matches(
            &errors[0],
            "template",
            1,
            &["is not a template name", "lowercase", "no '..'"],
        );
        assert!(
            catalog.asked.borrow().is_empty(),
            "{name} reached the catalog"
        );
    }
    let long = format!("template: {}\n", "a".repeat(64));
    expect_error(&long, "template", 1, &["1 to 63 characters"]);
}

//! Files that are well-formed YAML but break the schema: secrets, options, environment,
//! scaling, health, and several mistakes at once.

use super::{errors_of, expect_error, parse_ok};

#[test]
fn secrets_must_exist_and_be_named_well() {
    let text = "template: static\nsecrets:\n  - db-password\n  - stripe-key\n";
    let error = expect_error(text, "secrets[1]", 4, &[]);
    assert_eq!(
        error.message,
        "secret `stripe-key` does not exist or is not one this function's owner may use; an \
         administrator creates it with `lmnop secret set stripe-key --owner USER` or shares it \
         with `lmnop secret grant stripe-key USER`"
    );
    expect_error(
        "template: static\nsecrets: [Bad_Name]\n",
        "secrets[0]",
        2,
        &["not a secret name"],
    );
    expect_error(
        "template: static\nsecrets: [x-]\n",
        "secrets[0]",
        2,
        &["not a secret name"],
    );
    let text = "template: static\nsecrets:\n  - api-key\n  - api-key\n";
    expect_error(text, "secrets[1]", 4, &["listed twice", "lines 3 and 4"]);
    expect_error(
        "template: static\nsecrets: [[a]]\n",
        "secrets[0]",
        2,
        &["not a list"],
    );
}

#[test]
fn options_must_be_declared_by_the_template() {
    let text = "template: python3.12\noptions:\n  NODE_VERSION: '20'\n";
    let error = expect_error(text, "options.NODE_VERSION", 3, &[]);
    assert_eq!(
        error.message,
        "option `NODE_VERSION` is not declared by template `python3.12`; its options are \
         PYTHON_EXTRA_PACKAGES, PYTHON_VERSION, packages, APP_PORT"
    );
    expect_error(
        "template: static\noptions: {X: 1}\n",
        "options.X",
        2,
        &["declares no options"],
    );
    // Lower-case names are names (the original's `packages`); a Dockerfile ARG cannot start
    // with a digit or hold a '-'.
    expect_error(
        "template: python3.12\noptions: {lower: 1}\n",
        "options.lower",
        2,
        &["not declared by template"],
    );
    expect_error(
        "template: python3.12\noptions: {not-a-name: 1}\n",
        "options.not-a-name",
        2,
        &["not an option name"],
    );
    // An unknown template is reported once; its options cannot be judged.
    expect_error(
        "template: nope\noptions: {X: 1}\n",
        "template",
        1,
        &["unknown template"],
    );
}

#[test]
fn environment_names_sizes_and_reserved_prefix() {
    expect_error(
        "template: static\nenvironment: {1ABC: x}\n",
        "environment.1ABC",
        2,
        &["not a variable name"],
    );
    expect_error(
        "template: static\nenvironment: {A-B: x}\n",
        "environment.A-B",
        2,
        &["not a variable name"],
    );
    expect_error(
        "template: static\nenvironment: {LMNOP_TOKEN: x}\n",
        "environment.LMNOP_TOKEN",
        2,
        &["reserved"],
    );
    let big = format!(
        "template: static\nenvironment:\n  BIG: {}\n",
        "x".repeat(4097)
    );
    expect_error(&big, "environment.BIG", 3, &["4097 bytes", "4 KiB"]);
    let fits = format!(
        "template: static\nenvironment:\n  BIG: {}\n",
        "x".repeat(4096)
    );
    assert_eq!(super::parse_ok(&fits).environment["BIG"].len(), 4096);
    expect_error(
        "template: static\nenvironment: {A: \"x\\0y\"}\n",
        "environment.A",
        2,
        &["NUL"],
    );

    let mut many = "template: static\nenvironment:\n".to_owned();
    for i in 0..129 {
        many.push_str(&format!("  V{i}: x\n"));
    }
    expect_error(&many, "environment", 2, &["129 variables", "limit is 128"]);
    let allowed: String = many
        .lines()
        .take(2 + 128)
        .map(|line| format!("{line}\n"))
        .collect();
    assert_eq!(super::parse_ok(&allowed).environment.len(), 128);
}

#[test]
fn scaling_bounds() {
    expect_error(
        "template: static\nscaling: {min: 0}\n",
        "scaling.min",
        2,
        &["between 1 and 20, not 0"],
    );
    expect_error(
        "template: static\nscaling: {max: 21}\n",
        "scaling.max",
        2,
        &["between 1 and 20, not 21"],
    );
    expect_error(
        "template: static\nscaling: {min: -1}\n",
        "scaling.min",
        2,
        &["not -1"],
    );
    let text = "template: static\nscaling:\n  min: 5\n  max: 3\n";
    expect_error(text, "scaling.min", 3, &["5 is more than scaling.max 3"]);
}

#[test]
fn health_path_and_timeout() {
    expect_error(
        "template: static\nhealth: {path: healthz}\n",
        "health.path",
        2,
        &["must start with /"],
    );
    expect_error(
        "template: static\nhealth: {path: '/a b'}\n",
        "health.path",
        2,
        &["spaces"],
    );
    expect_error(
        "template: static\nhealth: {path: \"/a\\tb\"}\n",
        "health.path",
        2,
        &["control"],
    );
    let long = format!("template: static\nhealth: {{path: /{}}}\n", "a".repeat(256));
    expect_error(&long, "health.path", 2, &["at most 256"]);
    expect_error(
        "template: static\nhealth: {timeout: 1s}\n",
        "health.timeout",
        2,
        &["below the smallest allowed, 5s"],
    );
    expect_error(
        "template: static\nhealth: {timeout: 11m}\n",
        "health.timeout",
        2,
        &["above the largest allowed, 600s"],
    );
    expect_error(
        "template: static\nhealth: {timeout: 1h}\n",
        "health.timeout",
        2,
        &["like 60s", "`1h`"],
    );
}

#[test]
fn the_request_timeout_is_seconds_within_range() {
    let spec = parse_ok("template: static\ntimeout: 2m\n");
    assert_eq!(spec.timeout, std::time::Duration::from_secs(120));
    expect_error(
        "template: static\ntimeout: 0s\n",
        "timeout",
        2,
        &[
            "below the smallest allowed, 1s",
            "timeout must be 1s to 600s",
        ],
    );
    expect_error(
        "template: static\ntimeout: 601s\n",
        "timeout",
        2,
        &["above the largest allowed, 600s"],
    );
    expect_error(
        "template: static\ntimeout: [30s]\n",
        "timeout",
        2,
        &["must be seconds like 60s"],
    );
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = "\
limits:
  memory: 8Gi
tempalte: static
scaling: {min: 0}
secrets: [nope]
environment:
  LMNOP_X: y
";
    let errors = errors_of(text.as_bytes());
    let found: Vec<(&str, usize)> = errors.iter().map(|e| (e.field.as_str(), e.line)).collect();
    assert_eq!(
        found,
        [
            ("template", 0),
            ("limits.memory", 2),
            ("tempalte", 3),
            ("scaling.min", 4),
            ("secrets[0]", 5),
            ("environment.LMNOP_X", 7),
        ]
    );
    let shown = crate::spec::SpecErrors(errors).to_string();
    assert_eq!(shown.lines().count(), 6, "{shown}");
    assert!(
        shown.lines().all(|line| line.starts_with("function.yml")),
        "{shown}"
    );
}

#[test]
fn packages_are_debian_package_names_so_a_typo_is_a_field_error_not_a_command() {
    let spec = parse_ok("template: python3.12\noptions: {packages: curl}\n");
    assert_eq!(spec.options["packages"], "curl");
    let spec =
        parse_ok("template: python3.12\noptions:\n  packages: \"libpq-dev gcc g++ lib32z1.0\"\n");
    assert_eq!(spec.options["packages"], "libpq-dev gcc g++ lib32z1.0");
    for (bad, word) in [
        ("curl; rm -rf /", "curl;"),
        ("curl $(id)", "$(id)"),
        ("Curl", "Curl"),
        ("c", "c"),
        ("-curl", "-curl"),
    ] {
        let text = format!("template: python3.12\noptions:\n  packages: '{bad}'\n");
        expect_error(
            &text,
            "options.packages",
            3,
            &[
                &format!("`{word}` is not a Debian package name"),
                "separated by spaces",
            ],
        );
    }
}

#[test]
fn an_app_port_is_one_an_unprivileged_app_can_listen_on_beside_the_watchdog() {
    let spec = parse_ok("template: python3.12\noptions: {APP_PORT: 8000}\n");
    assert_eq!(spec.options["APP_PORT"], "8000");
    for (bad, words) in [
        ("8080", "the watchdog's own port"),
        ("80", "from 1024 to 65535"),
        ("http", "`http` is not a port"),
        ("70000", "from 1024 to 65535"),
    ] {
        let text = format!("template: python3.12\noptions:\n  APP_PORT: '{bad}'\n");
        expect_error(&text, "options.APP_PORT", 3, &[words]);
    }
}

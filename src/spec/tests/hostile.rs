//! Files meant to hurt, or simply not YAML maps: bombs, huge and deep files, bad bytes,
//! broken syntax, several documents, repeated keys.

use super::{assert_matches, errors_of, expect_error};
use crate::spec::MAX_FUNCTION_FILE_BYTES;

const ANCHORS: &[&str] = &["anchors and aliases (&, *) are not allowed"];

#[test]
fn alias_bombs_are_refused_outright() {
    expect_error("a: &a [*a,*a]\n", "", 1, ANCHORS);
    let laughs = "\
template: static
a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
";
    expect_error(laughs, "", 2, ANCHORS);
    // An anchor alone is refused too, so no alias can ever point at it.
    expect_error("template: &t static\n", "", 1, ANCHORS);
    expect_error("template: static\nlimits: &l {cpu: 1}\n", "", 2, ANCHORS);
}

#[test]
fn tags_are_refused() {
    expect_error("template: !!str static\n", "", 1, &["tags"]);
    expect_error(
        "template: static\nenvironment: !custom {A: b}\n",
        "",
        2,
        &["tags"],
    );
}

#[test]
fn oversized_file_is_refused_before_parsing() {
    // Not even YAML: only the size is looked at.
    let bytes = vec![b'['; MAX_FUNCTION_FILE_BYTES + 1];
    let errors = errors_of(&bytes);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_matches(&errors[0], "", 0, &["65537 bytes", "the limit is 64 KiB"]);
}

#[test]
fn deep_nesting_is_refused() {
    let sixteen = format!(
        "template: static\nx: {}1{}\n",
        "[".repeat(15),
        "]".repeat(15)
    );
    let errors = errors_of(sixteen.as_bytes());
    assert!(
        errors.iter().all(|e| !e.message.contains("deeper")),
        "{errors:?}"
    );
    let seventeen = format!(
        "template: static\nx: {}1{}\n",
        "[".repeat(16),
        "]".repeat(16)
    );
    expect_error(&seventeen, "", 2, &["deeper than 16 levels"]);
    // Far past the limit, in flow and block style, without exhausting the stack.
    expect_error(&"[".repeat(60_000), "", 1, &["deeper than 16"]);
    expect_error(&"- ".repeat(30_000), "", 1, &["deeper than 16"]);
    let mut block = String::new();
    for depth in 0..200 {
        block.push_str(&format!("{}k{depth}:\n", " ".repeat(depth)));
    }
    // The 17th map is the one holding `k16`, on line 17.
    expect_error(&block, "", 17, &["deeper than 16"]);
}

#[test]
fn too_many_values_are_refused() {
    let list = vec!["a"; 6000].join(",");
    let text = format!("template: static\nsecrets: [{list}]\n");
    expect_error(&text, "", 2, &["more than 5000 values"]);
}

#[test]
fn empty_files_show_a_minimal_one() {
    for text in [
        "",
        "   \n\n",
        "# just a comment\n# and another\n",
        "---\n",
        "~\n",
    ] {
        expect_error(text, "", 0, &["empty", "template: python3.12"]);
    }
}

#[test]
fn not_utf8_is_refused_with_its_line() {
    expect_error_bytes(
        b"template: static\nenvironment: {A: \xff}\n",
        2,
        &["not valid UTF-8"],
    );
    expect_error_bytes(b"\xfe\xfftemplate: static\n", 1, &["not valid UTF-8"]);
}

fn expect_error_bytes(bytes: &[u8], line: usize, words: &[&str]) {
    let errors = errors_of(bytes);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_matches(&errors[0], "", line, words);
}

#[test]
fn top_level_must_be_a_map() {
    expect_error(
        "- template: static\n",
        "",
        1,
        &["must be a map of settings", "not a list"],
    );
    expect_error(
        "python3.12\n",
        "",
        1,
        &["must be a map of settings", "the text `python3.12`"],
    );
}

#[test]
fn syntax_errors_give_the_parsers_line() {
    let error = expect_error(
        "template: static\nlimits:\n  cpu: [1, 2\n",
        "",
        4,
        &["YAML syntax error"],
    );
    assert!(
        error.message.len() > "YAML syntax error: ".len(),
        "{error:?}"
    );
    expect_error(
        "template: static\n  bad: indent\n",
        "",
        2,
        &["YAML syntax error"],
    );
    expect_error("template: \"open\n", "", 1, &["YAML syntax error"]);
}

#[test]
fn several_documents_are_refused() {
    let text = "template: static\n---\ntemplate: hugo\n";
    expect_error(
        text,
        "",
        2,
        &["one YAML document", "second one starts on line 2"],
    );
}

#[test]
fn duplicate_keys_name_the_key_and_both_lines() {
    let error = expect_error(
        "template: static\nscaling: {max: 2}\ntemplate: hugo\n",
        "template",
        3,
        &[],
    );
    assert_eq!(
        error.message,
        "duplicate key `template`: first on line 1, again on line 3"
    );
    let text = "template: static\nlimits:\n  cpu: 100m\n  memory: 64Mi\n  cpu: 200m\n";
    expect_error(
        text,
        "limits.cpu",
        5,
        &["duplicate key `cpu`", "line 3", "line 5"],
    );
    let text = "template: static\nenvironment: {A: 1, B: 2, A: 3}\n";
    expect_error(
        text,
        "environment.A",
        2,
        &["duplicate key `A`, twice on line 2"],
    );
}

#[test]
fn keys_must_be_names() {
    expect_error(
        "template: static\n? [a, b]\n: c\n",
        "",
        2,
        &["keys must be names"],
    );
}

//! `template`: which function template builds the function. The name becomes a directory
//! under the templates, so it is checked before the catalog ever sees it.

use super::Catalog;
use super::check::{Report, describe, echo, name_text};
use super::suggest;
use super::tree::Entry;

/// Most installed templates listed in an "unknown template" message.
const LISTED_TEMPLATES: usize = 20;

/// The template name (empty when missing or wrong) and, when the catalog knows it, the build
/// options it declares.
pub(super) fn check(
    entry: Option<&Entry>,
    catalog: &dyn Catalog,
    report: &mut Report,
) -> (String, Option<Vec<super::DeclaredOption>>) {
    let Some(entry) = entry else {
        let message = "template is required; a minimal function.yml is `template: python3.12`";
        report.add("template", 0, message.to_owned());
        return (String::new(), None);
    };
    let Some(name) = name_text(&entry.value) else {
        let message = format!(
            "template must be a template name like python3.12, not {}",
            describe(&entry.value)
        );
        report.add("template", entry.line, message);
        return (String::new(), None);
    };
    if !is_template_name(name) {
        let message = format!(
            "`{}` is not a template name: use 1 to 63 characters: lowercase letters a-z, digits, \
             '.', '_' and '-', starting with a letter or digit, and no '..'",
            echo(name)
        );
        report.add("template", entry.line, message);
        return (String::new(), None);
    }
    // Only a well-formed name reaches the catalog, which may look it up on disk.
    let declared = catalog.template_options(name);
    if declared.is_none() {
        report.add("template", entry.line, unknown_template(name, catalog));
    }
    (name.to_owned(), declared)
}

/// `^[a-z0-9][a-z0-9._-]{0,62}$` without `..`: safe as a directory name under the templates.
pub fn is_template_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let allowed = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(b);
    matches!(bytes.first(), Some(b) if b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.len() <= 63
        && bytes.iter().all(allowed)
        && !name.contains("..")
}

fn unknown_template(name: &str, catalog: &dyn Catalog) -> String {
    let installed = catalog.templates();
    if installed.is_empty() {
        return format!("unknown template `{name}`; no templates are installed");
    }
    let mut message = format!("unknown template `{name}`; installed: ");
    let listed: Vec<&str> = installed
        .iter()
        .take(LISTED_TEMPLATES)
        .map(String::as_str)
        .collect();
    message.push_str(&listed.join(", "));
    if installed.len() > LISTED_TEMPLATES {
        message.push_str(&format!(" and {} more", installed.len() - LISTED_TEMPLATES));
    }
    if let Some(near) = suggest::nearest(name, installed.iter().map(String::as_str)) {
        message.push_str(&format!("; did you mean `{near}`?"));
    }
    message
}

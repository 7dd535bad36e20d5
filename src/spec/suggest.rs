//! "Did you mean …?": the known name nearest to a mistyped one, when one is near enough.

/// Typed names longer than this get no suggestion: nobody mistypes a key that long, and the
/// distance costs grow with the length.
const LONGEST_COMPARED: usize = 64;

/// The candidate nearest to `typed`, compared without case, or None when none is close: at
/// most one edit away (two for names of five or more characters), or a Jaro-Winkler
/// similarity of at least 0.8 (which catches cut-off names like `mem` for `memory`).
pub(super) fn nearest<'a>(
    typed: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    if typed.len() > LONGEST_COMPARED {
        return None;
    }
    let typed = typed.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|candidate| {
            let edits = strsim::osa_distance(&typed, candidate);
            let similarity = strsim::jaro_winkler(&typed, candidate);
            let allowed_edits = if candidate.chars().count() >= 5 { 2 } else { 1 };
            (edits <= allowed_edits || similarity >= 0.8).then_some((candidate, edits, similarity))
        })
        .min_by(|a, b| a.1.cmp(&b.1).then(b.2.total_cmp(&a.2)))
        .map(|(candidate, ..)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOP: [&str; 8] = [
        "template",
        "requests",
        "limits",
        "environment",
        "secrets",
        "options",
        "scaling",
        "health",
    ];

    #[test]
    fn suggests_near_names() {
        let cases = [
            ("tempalte", "template"),
            ("Template", "template"),
            ("enviroment", "environment"),
            ("env", "environment"),
            ("limit", "limits"),
            ("secret", "secrets"),
        ];
        for (typed, expected) in cases {
            assert_eq!(nearest(typed, TOP), Some(expected), "{typed}");
        }
        assert_eq!(nearest("cpuu", ["cpu", "memory"]), Some("cpu"));
        assert_eq!(nearest("mem", ["cpu", "memory"]), Some("memory"));
        assert_eq!(
            nearest("python3.11", ["python3.12", "static"]),
            Some("python3.12")
        );
    }

    #[test]
    fn stays_quiet_when_nothing_is_near() {
        for typed in ["xyz", "replicas", "port", &"a".repeat(65)] {
            assert_eq!(nearest(typed, TOP), None, "{typed}");
        }
        assert_eq!(nearest("xyz", ["min", "max"]), None);
        assert_eq!(nearest("go", ["hugo", "static"]), None);
    }
}

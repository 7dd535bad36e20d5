//! The repository's `.dockerignore`: which paths of the pushed tree stay out of the build
//! context, with the rules of the Docker CLI (patterns anchored at the root, `**`, `!` exceptions,
//! the last matching line wins, a matched directory takes everything under it).

use gix::glob::wildmatch;
use gix::glob::wildmatch::Mode;

/// The file at the root of the tree that lists what to leave out.
pub const FILE_NAME: &str = ".dockerignore";

/// The largest `.dockerignore` read; a bigger one is refused rather than half-applied.
pub const MAX_SIZE: usize = 64 * 1024;

/// One line of `.dockerignore`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    /// Cleaned, relative to the root, `/`-separated.
    pattern: Vec<u8>,
    /// A `!` line: matching paths go back into the context.
    exception: bool,
}

/// The parsed rules; empty when the tree has no `.dockerignore`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

impl DockerIgnore {
    /// Reads the rules: one pattern a line, `#` starts a comment line, blank lines and the
    /// spaces around a pattern do not count, `!` makes an exception.
    pub fn parse(text: &[u8]) -> Self {
        let mut rules = Vec::new();
        for line in text.split(|&byte| byte == b'\n') {
            let line = line.trim_ascii();
            if line.is_empty() || line.starts_with(b"#") {
                continue;
            }
            let (exception, pattern) = match line.strip_prefix(b"!") {
                Some(rest) => (true, rest.trim_ascii()),
                None => (false, line),
            };
            let pattern = clean(pattern);
            if pattern.is_empty() {
                continue;
            }
            rules.push(Rule { pattern, exception });
        }
        Self { rules }
    }

    /// Whether some `!` line may bring back a path under an excluded directory, so the
    /// directory has to be walked rather than skipped whole.
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|rule| rule.exception)
    }

    /// Whether `path` (relative to the root, `/`-separated) stays out of the context: the last
    /// line that matches the path or one of its parent directories decides.
    pub fn excludes(&self, path: &[u8]) -> bool {
        let mut excluded = false;
        for rule in &self.rules {
            if excluded == rule.exception && matches_or_parent_matches(&rule.pattern, path) {
                excluded = !rule.exception;
            }
        }
        excluded
    }
}

/// Whether `pattern` matches `path` or one of the directories above it.
fn matches_or_parent_matches(pattern: &[u8], path: &[u8]) -> bool {
    let matches = |candidate: &[u8]| {
        wildmatch(
            pattern.into(),
            candidate.into(),
            Mode::NO_MATCH_SLASH_LITERAL,
        )
    };
    path.iter()
        .enumerate()
        .filter(|&(_, &byte)| byte == b'/')
        .any(|(slash, _)| matches(&path[..slash]))
        || matches(path)
}

/// The pattern as a path relative to the root: separators collapsed, `.` dropped, `..` taken
/// back (never above the root), a leading `/` removed; what the Docker CLI does with
/// `filepath.Clean`.
fn clean(pattern: &[u8]) -> Vec<u8> {
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in pattern.split(|&byte| byte == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                parts.pop();
            }
            part => parts.push(part),
        }
    }
    parts.join(&b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn excluded(rules: &str, path: &str) -> bool {
        DockerIgnore::parse(rules.as_bytes()).excludes(path.as_bytes())
    }

    #[test]
    fn patterns_are_anchored_at_the_root() {
        assert!(excluded("*.md", "README.md"));
        assert!(!excluded("*.md", "docs/guide.md"), "* stops at a slash");
        assert!(excluded("*/*.md", "docs/guide.md"));
        assert!(excluded("/secret.txt", "secret.txt"));
        assert!(!excluded("secret.txt", "nested/secret.txt"));
        assert!(excluded("a?c", "abc"));
        assert!(!excluded("a?c", "a/c"));
        assert!(excluded("[a-c].txt", "b.txt"));
    }

    #[test]
    fn double_stars_cross_directories() {
        assert!(excluded("**/*.pyc", "x.pyc"));
        assert!(excluded("**/*.pyc", "a/b/x.pyc"));
        assert!(excluded(
            "**/node_modules",
            "web/node_modules/react/index.js"
        ));
        assert!(excluded("docs/**", "docs/a/b.md"));
        assert!(excluded("a/**/z", "a/z"));
        assert!(excluded("a/**/z", "a/b/c/z"));
        assert!(!excluded("a/**/z", "b/z"));
    }

    #[test]
    fn a_matched_directory_takes_everything_under_it() {
        assert!(excluded("node_modules", "node_modules/react/index.js"));
        assert!(
            excluded("build/", "build/out.js"),
            "a trailing slash is cleaned away"
        );
        assert!(!excluded("node_modules", "node_modules2/x"));
    }

    #[test]
    fn the_last_matching_line_wins() {
        let rules = "*.md\n!README.md\n";
        assert!(excluded(rules, "CHANGES.md"));
        assert!(!excluded(rules, "README.md"));
        let rules = "node_modules\n!node_modules/keep/**\n";
        assert!(excluded(rules, "node_modules/drop/x.js"));
        assert!(!excluded(rules, "node_modules/keep/x.js"));
        let rules = "!README.md\n*.md\n";
        assert!(
            excluded(rules, "README.md"),
            "an exception before the rule is overruled"
        );
        assert!(DockerIgnore::parse(b"x\n!y\n").has_exceptions());
        assert!(!DockerIgnore::parse(b"x\ny\n").has_exceptions());
    }

    #[test]
    fn comments_blanks_spaces_and_dots_are_handled_like_the_docker_cli() {
        let rules = DockerIgnore::parse(b"# a comment\n\n  tmp  \r\n./logs//old/\n../../up\n/\n");
        assert_eq!(
            rules
                .rules
                .iter()
                .map(|rule| String::from_utf8_lossy(&rule.pattern).into_owned())
                .collect::<Vec<_>>(),
            ["tmp", "logs/old", "up"]
        );
        assert!(rules.excludes(b"tmp/x"));
        assert!(rules.excludes(b"logs/old/1.log"));
        assert!(!rules.excludes(b"logs/new.log"));
        assert!(!excluded("# *.md", "README.md"));
        assert_eq!(DockerIgnore::parse(b""), DockerIgnore::default());
    }
}

//! Reads `function.yml` into a small tree of maps, lists and scalars that keeps line numbers.
//! Drives yaml-rust2's pull parser one event at a time so it can stop at the first thing that
//! could make a small file expensive: anchors and aliases, tags, deep nesting, too many nodes.

use std::collections::HashMap;
use std::collections::hash_map;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;

use super::SpecError;
use super::check::echo;
pub(super) use super::scalar::ScalarKind;

/// Deepest nesting of maps and lists; real files need 2 or 3.
pub(super) const MAX_DEPTH: usize = 16;
/// Most maps, lists and scalars in one file; a real file has a few hundred at most.
pub(super) const MAX_NODES: usize = 5000;

const ANCHORS: &str = "anchors and aliases (&, *) are not allowed in function.yml";

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Node {
    pub line: usize,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Scalar(Scalar),
    List(Vec<Node>),
    /// Entries in file order; a repeated key is reported and only its first entry kept.
    Map(Vec<Entry>),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Scalar {
    /// The text as written (after YAML unquoting and folding).
    pub text: String,
    pub kind: ScalarKind,
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct Entry {
    pub key: String,
    /// The key's line: where a reader looks for the field.
    pub line: usize,
    pub value: Node,
}

/// A read file: its root (None for a file without a document) and problems that did not stop
/// the reading (repeated keys, keys that are not names).
pub(super) struct Document {
    pub root: Option<Node>,
    pub problems: Vec<SpecError>,
}

/// Reads `text`; a problem that stops the reading (bad syntax, alias, depth…) is the error.
pub(super) fn read(text: &str) -> Result<Document, SpecError> {
    let mut parser = Parser::new_from_str(text);
    let mut builder = Builder::default();
    loop {
        let (event, mark) = parser.next_token().map_err(|error| SpecError {
            field: String::new(),
            line: error.marker().line(),
            // The scanner caps bracket nesting itself (at 255) and reads ahead of the parser,
            // so a file of `[[[[…` can stop there before the 17th level reaches the builder.
            message: if error.info() == "recursion limit exceeded" {
                too_deep()
            } else {
                format!("YAML syntax error: {}", error.info())
            },
        })?;
        let end = event == Event::StreamEnd;
        builder.on_event(event, mark);
        if let Some(fatal) = builder.fatal.take() {
            return Err(fatal);
        }
        if end {
            return Ok(Document {
                root: builder.root,
                problems: builder.problems,
            });
        }
    }
}

fn too_deep() -> String {
    format!("function.yml nests maps and lists deeper than {MAX_DEPTH} levels")
}

/// A map or list whose end has not been seen yet.
enum Open {
    List {
        line: usize,
        items: Vec<Node>,
    },
    Map {
        line: usize,
        entries: Vec<Entry>,
        /// The key whose value comes next, if a key was read.
        key: Option<Key>,
        /// Each key seen so far and its line, to report repeats.
        seen: HashMap<String, usize>,
    },
}

/// A key waiting for its value; `text` is None when the entry is dropped (a repeat or a key
/// that is not a name), after it has been reported.
struct Key {
    text: Option<String>,
    line: usize,
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    root: Option<Node>,
    documents: usize,
    nodes: usize,
    problems: Vec<SpecError>,
    fatal: Option<SpecError>,
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    let message = format!(
                        "function.yml must hold one YAML document; a second one starts on line {line}"
                    );
                    self.fail(line, message);
                }
            }
            Event::Alias(_) => self.fail(line, ANCHORS.to_owned()),
            Event::Scalar(text, style, anchor, tag) => {
                if self.admit(line, anchor, tag.is_some()) {
                    let kind = ScalarKind::of(&text, style);
                    let value = Value::Scalar(Scalar { text, kind });
                    self.complete(Node { line, value });
                }
            }
            Event::SequenceStart(anchor, tag) => {
                if self.admit(line, anchor, tag.is_some()) && self.deeper(line) {
                    let items = Vec::new();
                    self.stack.push(Open::List { line, items });
                }
            }
            Event::MappingStart(anchor, tag) => {
                if self.admit(line, anchor, tag.is_some()) && self.deeper(line) {
                    let (entries, key, seen) = (Vec::new(), None, HashMap::new());
                    self.stack.push(Open::Map {
                        line,
                        entries,
                        key,
                        seen,
                    });
                }
            }
            Event::SequenceEnd | Event::MappingEnd => match self.stack.pop() {
                Some(Open::List { line, items }) => self.complete(Node {
                    line,
                    value: Value::List(items),
                }),
                Some(Open::Map { line, entries, .. }) => self.complete(Node {
                    line,
                    value: Value::Map(entries),
                }),
                None => self.fail(line, "the YAML structure is unbalanced".to_owned()),
            },
        }
    }
}

impl Builder {
    fn fail(&mut self, line: usize, message: String) {
        let field = String::new();
        self.fatal.get_or_insert(SpecError {
            field,
            line,
            message,
        });
    }

    /// Counts a new node and refuses anchors and tags; false when reading must stop.
    fn admit(&mut self, line: usize, anchor: usize, tagged: bool) -> bool {
        self.nodes += 1;
        if anchor != 0 {
            self.fail(line, ANCHORS.to_owned());
        } else if tagged {
            self.fail(
                line,
                "tags (!...) are not allowed in function.yml".to_owned(),
            );
        } else if self.nodes > MAX_NODES {
            let message = format!("function.yml has more than {MAX_NODES} values");
            self.fail(line, message);
        }
        self.fatal.is_none()
    }

    /// Whether one more level of nesting is allowed; reports when it is not.
    fn deeper(&mut self, line: usize) -> bool {
        if self.stack.len() >= MAX_DEPTH {
            self.fail(line, too_deep());
        }
        self.fatal.is_none()
    }

    /// Where the node being read sits, like `limits.cpu` or `secrets[2]`.
    fn path(&self) -> String {
        let mut path = String::new();
        for open in &self.stack {
            match open {
                Open::List { items, .. } => path.push_str(&format!("[{}]", items.len())),
                Open::Map { key, .. } => {
                    if let Some(text) = key.as_ref().and_then(|key| key.text.as_deref()) {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(&echo(text));
                    }
                }
            }
        }
        path
    }

    /// Puts a finished node where it belongs: the root, a list item, a key or a value.
    fn complete(&mut self, node: Node) {
        let is_key = matches!(self.stack.last(), Some(Open::Map { key: None, .. }));
        let path = if is_key { self.path() } else { String::new() };
        let Builder {
            stack,
            root,
            problems,
            ..
        } = self;
        let Some(open) = stack.last_mut() else {
            *root = Some(node);
            return;
        };
        match open {
            Open::List { items, .. } => items.push(node),
            Open::Map {
                entries, key, seen, ..
            } => match key.take() {
                Some(Key {
                    text: Some(key),
                    line,
                }) => entries.push(Entry {
                    key,
                    line,
                    value: node,
                }),
                Some(Key { text: None, .. }) => {}
                None => *key = Some(read_key(node, &path, seen, problems)),
            },
        }
    }
}

/// Takes a key node; reports keys that are not names and keys seen before.
fn read_key(
    node: Node,
    path: &str,
    seen: &mut HashMap<String, usize>,
    problems: &mut Vec<SpecError>,
) -> Key {
    let line = node.line;
    let Value::Scalar(Scalar { text, .. }) = node.value else {
        problems.push(SpecError {
            field: path.to_owned(),
            line,
            message: "keys must be names, not maps or lists".to_owned(),
        });
        return Key { text: None, line };
    };
    match seen.entry(text) {
        hash_map::Entry::Occupied(first) => {
            let field = if path.is_empty() {
                echo(first.key())
            } else {
                format!("{path}.{}", echo(first.key()))
            };
            let first_line = *first.get();
            let message = if first_line == line {
                format!(
                    "duplicate key `{}`, twice on line {line}",
                    echo(first.key())
                )
            } else {
                format!(
                    "duplicate key `{}`: first on line {first_line}, again on line {line}",
                    echo(first.key())
                )
            };
            problems.push(SpecError {
                field,
                line,
                message,
            });
            Key { text: None, line }
        }
        hash_map::Entry::Vacant(vacant) => {
            let text = vacant.key().clone();
            vacant.insert(line);
            Key {
                text: Some(text),
                line,
            }
        }
    }
}

//! The first step of a deploy: read `function.yml` from the pushed commit and check it, and the
//! files its template needs, before anything is built.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gix::ObjectId;

use super::{FUNCTION_FILE, Output, Quarantine, RefUpdate};
use crate::build::templates::{Requirement, Templates};
use crate::git::objects::PushedObjects;
use crate::spec::{self, Catalog, DeclaredOption, FunctionSpec, MAX_FUNCTION_FILE_BYTES};

/// The installation as `function.yml` is checked against it.
struct InstalledCatalog<'a> {
    templates: &'a Templates,
    /// The stored secrets the function's owner may use.
    secrets: &'a BTreeSet<String>,
}

impl Catalog for InstalledCatalog<'_> {
    fn templates(&self) -> Vec<String> {
        self.templates.names()
    }

    fn template_options(&self, template: &str) -> Option<Vec<DeclaredOption>> {
        self.templates.get(template).map(|t| {
            t.options
                .keys()
                .map(|name| DeclaredOption {
                    name: name.clone(),
                    format: t.option_formats.get(name).copied().unwrap_or_default(),
                })
                .collect()
        })
    }

    fn secret_exists(&self, name: &str) -> bool {
        self.secrets.contains(name)
    }
}

/// What reading the commit found.
enum FunctionFile {
    Missing,
    TooLarge,
    Found(Vec<u8>),
}

fn read_function_file(
    repo: &Path,
    commit: &str,
    quarantine: &Quarantine,
) -> anyhow::Result<(ObjectId, FunctionFile)> {
    let commit = ObjectId::from_hex(commit.as_bytes())?;
    let objects = PushedObjects::open(repo, quarantine)?;
    let tree = objects.commit_tree(commit)?;
    let file = match objects.entry(tree, FUNCTION_FILE)? {
        Some(entry) if entry.mode.is_blob() => {
            match objects.blob(entry.id, MAX_FUNCTION_FILE_BYTES)? {
                Some(content) => FunctionFile::Found(content),
                None => FunctionFile::TooLarge,
            }
        }
        _ => FunctionFile::Missing,
    };
    Ok((tree, file))
}

/// What the pushed tree lacks of the template's requirements.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unmet {
    Missing(Requirement),
    /// Found at this path, but committed without the executable bit: the build sets it, and
    /// the pusher is told.
    NotExecutable(String),
}

/// Each requirement of `required` the tree does not meet: none of its paths is a file there, or
/// the one found is not executable when it must be.
fn unmet_requirements(
    repo: &Path,
    quarantine: &Quarantine,
    tree: ObjectId,
    required: &[Requirement],
) -> anyhow::Result<Vec<Unmet>> {
    let objects = PushedObjects::open(repo, quarantine)?;
    let mut unmet = Vec::new();
    'requirements: for requirement in required {
        for path in &requirement.any_of {
            if let Some(mode) = file_mode(&objects, tree, path)? {
                if requirement.executable && !mode.is_executable() {
                    unmet.push(Unmet::NotExecutable(path.clone()));
                }
                continue 'requirements;
            }
        }
        unmet.push(Unmet::Missing(requirement.clone()));
    }
    Ok(unmet)
}

/// The mode of the file (not a directory) at `path` in `tree`, if there is one.
fn file_mode(
    objects: &PushedObjects,
    tree: ObjectId,
    path: &str,
) -> anyhow::Result<Option<gix::objs::tree::EntryMode>> {
    let mut current = tree;
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        match objects.entry(current, part)? {
            Some(entry) if i + 1 == parts.len() => {
                return Ok((!entry.mode.is_tree()).then_some(entry.mode));
            }
            Some(entry) if entry.mode.is_tree() => current = entry.id,
            _ => return Ok(None),
        }
    }
    Ok(None)
}

/// Checks the deploy-branch commit; prints every problem and returns the spec when all is well.
/// A deploy-branch commit that passed every check: its tree, its parsed `function.yml`, and the
/// installed template that spec names.
#[derive(Debug, Clone)]
pub struct Validated {
    pub tree: ObjectId,
    pub spec: FunctionSpec,
    pub template: crate::build::templates::Template,
}

pub async fn validate(
    repo: PathBuf,
    update: &RefUpdate,
    quarantine: &Quarantine,
    templates: &Templates,
    secrets: &BTreeSet<String>,
    out: &Output,
) -> Option<Validated> {
    let step = out.step(&format!("Checking {FUNCTION_FILE}"));
    let read = {
        let (repo, commit, quarantine) = (repo.clone(), update.new.clone(), quarantine.clone());
        tokio::task::spawn_blocking(move || read_function_file(&repo, &commit, &quarantine)).await
    };
    let (tree, content) = match read {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => return unreadable(&error, out).await,
        Err(error) => return unreadable(&error.into(), out).await,
    };
    let content = match content {
        FunctionFile::Found(content) => content,
        FunctionFile::TooLarge => {
            out.error(&format!(
                "{FUNCTION_FILE} is larger than {} KiB; it only describes the build",
                MAX_FUNCTION_FILE_BYTES / 1024
            ));
            return None;
        }
        FunctionFile::Missing => {
            explain_missing(update, &templates.names(), out).await;
            return None;
        }
    };
    let catalog = InstalledCatalog { templates, secrets };
    let spec = match spec::parse(&content, &catalog) {
        Ok(spec) => spec,
        Err(errors) => {
            for error in &errors.0 {
                out.error(&error.to_string());
            }
            out.hint(&format!("fix {FUNCTION_FILE}, commit, and push again"));
            return None;
        }
    };
    let template = templates
        .get(&spec.template)
        .expect("the parser accepts only installed templates");
    let required = template.required_files.clone();
    let check = {
        let (repo, quarantine) = (repo.clone(), quarantine.clone());
        tokio::task::spawn_blocking(move || unmet_requirements(&repo, &quarantine, tree, &required))
            .await
    };
    let unmet = match check {
        Ok(Ok(unmet)) => unmet,
        Ok(Err(error)) => return unreadable(&error, out).await,
        Err(error) => return unreadable(&error.into(), out).await,
    };
    let mut missing = false;
    for problem in &unmet {
        match problem {
            Unmet::Missing(requirement) => {
                missing = true;
                out.error(&format!(
                    "the {} template needs {}, which is not in this commit",
                    spec.template,
                    requirement.describe()
                ));
                if let Some(message) = &requirement.message {
                    out.hint(message);
                } else if !template.description.is_empty() {
                    out.hint(&template.description);
                }
            }
            // As the original lmnop did, the image gets it executable; git should have it so.
            Unmet::NotExecutable(path) => out.note(&format!(
                "{path} is not executable in this commit; the build makes it executable (to \
                 record that in git: `git update-index --chmod=+x {path}`)"
            )),
        }
    }
    if missing {
        return None;
    }
    step.done(&format!(
        "template {}, {} to {} replicas, limits {}m CPU / {}Mi memory",
        spec.template,
        spec.scaling.min,
        spec.scaling.max,
        spec.limits.cpu_millis,
        spec.limits.memory_mib
    ));
    let template = template.clone();
    Some(Validated {
        tree,
        spec,
        template,
    })
}

async fn unreadable<T>(error: &anyhow::Error, out: &Output) -> Option<T> {
    tracing::error!(
        error = format!("{error:#}"),
        "cannot read the pushed commit"
    );
    out.error("lmnop could not read the pushed commit; the server log has the details");
    None
}

async fn explain_missing(update: &RefUpdate, templates: &[String], out: &Output) {
    out.error(&format!(
        "{FUNCTION_FILE} is missing at the root of {} ({})",
        update.name.trim_start_matches("refs/heads/"),
        super::short_id(&update.new)
    ));
    out.hint(&format!(
        "{FUNCTION_FILE} tells lmnop how to build and run the function. A minimal one:"
    ));
    out.hint("");
    out.hint("    template: python3.12");
    out.hint("");
    out.hint(&format!("Templates: {}.", templates.join(", ")));
    out.hint(&format!("Add {FUNCTION_FILE}, commit it, and push again."));
}

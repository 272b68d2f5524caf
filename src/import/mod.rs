//! `kvsync import`: manifests for instances that already exist, such that `kvsync plan` on
//! them finds nothing to change.
//!
//! [`import`] lists the region (paged, as `observe` does), reads every aspect of the selected
//! instances through the same detail reads and normalisation as `plan`
//! ([`crate::observe::perform`]), renders one manifest per instance ([`render`]), and before
//! writing anything checks that the texts validate and that [`crate::plan::diff`] of them
//! against what was read is empty. It then writes `DIR/<name>.yaml` (never over an existing
//! file unless forced) and loads the written files back with [`crate::manifest::load`].
//!
//! It writes no `kind: Stack` document: every file names its region, and a directory of
//! imported files must be able to join a manifest set that already has its Stack.

pub mod render;
pub mod yaml;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tokio::task::JoinSet;

use self::render::Imported;
use crate::api::{self, Client};
use crate::manifest::rules::instance_name_problem;
use crate::manifest::{self, Diagnostics, LoadError};
use crate::observe::{self, Aspect, Detail, ObserveError, Observed, ObservedInstance, Read};
use crate::plan::{self, DiffOptions, Digests};

/// Every aspect a manifest can manage that needs a detail call.
pub const ASPECTS: [Aspect; 5] = [
    Aspect::Attribute,
    Aspect::SecurityIps,
    Aspect::Accounts,
    Aspect::BackupPolicy,
    Aspect::Ssl,
];
// `Aspect::NetInfo` is not imported: a retained classic endpoint's retention is written only by
// whoever switches the instance.

/// The directory `--out` defaults to.
pub const DEFAULT_OUT: &str = "imported";

/// What to import and where to.
#[derive(Debug, Clone)]
pub struct Options {
    /// The region to list.
    pub region: String,
    /// Instance IDs to import; empty imports every instance of the region.
    pub instances: Vec<String>,
    /// The directory to write to (created when missing).
    pub out: PathBuf,
    /// Replace existing files.
    pub force: bool,
}

/// One file written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The file.
    pub path: PathBuf,
    /// The instance.
    pub id: String,
    /// Its `metadata.name`.
    pub name: String,
    /// Aspects left unmanaged (each explained by a comment in the file).
    pub left_out: usize,
}

/// Why an import failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// Listing the region failed.
    #[error(transparent)]
    List(#[from] ObserveError),
    /// Requested instances are not in the region.
    #[error("{} not in region {region}", unknown_list(.ids))]
    UnknownInstances {
        /// The region.
        region: String,
        /// The IDs not found.
        ids: Vec<String>,
    },
    /// Reading an instance failed.
    #[error("reading the {aspect} of instance {id}")]
    Read {
        /// What was read.
        aspect: &'static str,
        /// The instance.
        id: String,
        /// The API error.
        #[source]
        source: api::Error,
    },
    /// Files exist and `--force` was not given.
    #[error("refusing to overwrite {} (use --force to replace)", paths_list(.0))]
    Exists(Vec<PathBuf>),
    /// The output directory or a file could not be written.
    #[error("writing {path}")]
    Write {
        /// The path.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The rendered manifests do not validate (a defect of the importer).
    #[error("the imported manifests do not validate; nothing was written")]
    Invalid(#[source] Diagnostics),
    /// The rendered manifests would not plan empty (a defect of the importer).
    #[error("the imported manifests would change the cloud; nothing was written:\n{0}")]
    NotEmpty(String),
    /// A read task panicked or was cancelled.
    #[error("a read task ended abnormally")]
    Task(#[source] tokio::task::JoinError),
    /// The written files could not be loaded back.
    #[error("loading the written manifests back")]
    LoadBack(#[source] LoadError),
}

fn unknown_list(ids: &[String]) -> String {
    match ids {
        [one] => format!("instance {one} is"),
        many => format!("instances {} are", many.join(", ")),
    }
}

fn paths_list(paths: &[PathBuf]) -> String {
    let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    shown.join(", ")
}

/// Whether a refused detail read leaves its aspect unmanaged rather than failing the import:
/// the cloud answered a client error that is about the instance (an engine without TLS, an
/// unsupported operation), not about the request rate or a vanished instance.
fn leaves_unmanaged(err: &api::Error) -> bool {
    err.api().is_some_and(|api| {
        (400..500).contains(&api.status)
            && !api.code.starts_with("Throttling")
            && api.code != "InvalidInstanceId.NotFound"
    })
}

/// Imports the selected instances of a region into `options.out`; returns the files written
/// (none when the region has no instance).
pub async fn import(client: &Client, options: &Options) -> Result<Vec<Written>, ImportError> {
    let listed = observe::list_region(client, &options.region).await?;
    let selected = select(listed, &options.instances, &options.region)?;
    if selected.is_empty() {
        return Ok(Vec::new());
    }
    let read = read_details(client, selected, !options.instances.is_empty()).await?;
    let imported = name_instances(read);
    let files = file_names(&imported, &options.out);

    let rendered: Vec<(PathBuf, render::Rendered)> = files
        .iter()
        .zip(&imported)
        .map(|(path, instance)| (path.clone(), render::manifest(instance)))
        .collect();
    verify(&rendered, &imported, &options.region)?;

    if !options.force {
        let existing: Vec<PathBuf> = files.iter().filter(|p| p.exists()).cloned().collect();
        if !existing.is_empty() {
            return Err(ImportError::Exists(existing));
        }
    }
    std::fs::create_dir_all(&options.out).map_err(|source| ImportError::Write {
        path: options.out.clone(),
        source,
    })?;
    for (path, rendered) in &rendered {
        std::fs::write(path, &rendered.text).map_err(|source| ImportError::Write {
            path: path.clone(),
            source,
        })?;
    }
    manifest::load(&files, None).map_err(ImportError::LoadBack)?;

    Ok(rendered
        .into_iter()
        .zip(imported)
        .map(|((path, rendered), instance)| Written {
            path,
            id: instance.observed.id,
            name: instance.name,
            left_out: rendered.left_out,
        })
        .collect())
}

/// The listed instances `ids` names (all when empty), in listing order; every unknown ID is
/// an error.
fn select(
    listed: Vec<ObservedInstance>,
    ids: &[String],
    region: &str,
) -> Result<Vec<ObservedInstance>, ImportError> {
    if ids.is_empty() {
        return Ok(listed);
    }
    let wanted: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    let known: BTreeSet<&str> = listed.iter().map(|i| i.id.as_str()).collect();
    let mut unknown: Vec<String> = Vec::new();
    for id in ids {
        if !known.contains(id.as_str()) && !unknown.contains(id) {
            unknown.push(id.clone());
        }
    }
    if !unknown.is_empty() {
        return Err(ImportError::UnknownInstances {
            region: region.to_owned(),
            ids: unknown,
        });
    }
    Ok(listed
        .into_iter()
        .filter(|i| wanted.contains(i.id.as_str()))
        .collect())
}

/// Every detail read of every instance, at once under the client's rate limiter. An instance
/// released meanwhile is dropped (an error when it was asked for by ID).
async fn read_details(
    client: &Client,
    mut instances: Vec<ObservedInstance>,
    explicit: bool,
) -> Result<Vec<(ObservedInstance, BTreeMap<Aspect, String>)>, ImportError> {
    let mut reads = JoinSet::new();
    for (index, instance) in instances.iter().enumerate() {
        for aspect in ASPECTS {
            let client = client.clone();
            let read = Read {
                region: instance.region.clone(),
                id: instance.id.clone(),
                aspect,
            };
            reads.spawn(async move {
                let result = observe::perform(&client, &read).await;
                (index, read, result)
            });
        }
    }
    let mut unread: Vec<BTreeMap<Aspect, String>> = vec![BTreeMap::new(); instances.len()];
    let mut gone: BTreeSet<usize> = BTreeSet::new();
    while let Some(joined) = reads.join_next().await {
        let (index, read, result) = joined.map_err(ImportError::Task)?;
        match result {
            Ok(detail) => Detail::apply_to(detail, &mut instances[index]),
            Err(err) if err.code() == Some("InvalidInstanceId.NotFound") && !explicit => {
                tracing::warn!(id = %read.id, "the instance was released while it was read; skipped");
                gone.insert(index);
            }
            Err(err) if leaves_unmanaged(&err) => {
                tracing::warn!(id = %read.id, aspect = read.aspect.describe(), error = %err, "not imported");
                let answer = err
                    .api()
                    .map(|api| format!("{} answered {}: {}", api.action, api.code, api.message))
                    .unwrap_or_else(|| err.to_string());
                unread[index].insert(read.aspect, answer);
            }
            Err(source) => {
                return Err(ImportError::Read {
                    aspect: read.aspect.describe(),
                    id: read.id,
                    source,
                });
            }
        }
    }
    Ok(instances
        .into_iter()
        .zip(unread)
        .enumerate()
        .filter(|(index, _)| !gone.contains(index))
        .map(|(_, pair)| pair)
        .collect())
}

/// `metadata.name` for each instance: its cloud name, unless that breaks the manifest rules
/// (then its ID) or several imported instances share it (then `<name>-<id>`). Manifests pin
/// every instance by `spec.instanceId`, so the name only needs to be valid and unique.
fn name_instances(read: Vec<(ObservedInstance, BTreeMap<Aspect, String>)>) -> Vec<Imported> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for (instance, _) in &read {
        *counts.entry(instance.name.clone()).or_default() += 1;
    }
    read.into_iter()
        .map(|(observed, unread)| {
            let shared = counts[&observed.name] > 1;
            let (name, name_note) = if let Some(problem) = instance_name_problem(&observed.name) {
                (
                    observed.id.clone(),
                    Some(format!(
                        "The instance's name {:?} {problem}; this manifest names it by its ID.",
                        observed.name
                    )),
                )
            } else if shared {
                let suffixed = format!("{}-{}", observed.name, observed.id);
                let name = if instance_name_problem(&suffixed).is_none() {
                    suffixed
                } else {
                    observed.id.clone()
                };
                (
                    name,
                    Some(format!(
                        "{} imported instances are named {:?}; this one is told apart by its ID.",
                        counts[&observed.name], observed.name
                    )),
                )
            } else {
                (observed.name.clone(), None)
            };
            Imported {
                observed,
                name,
                name_note,
                unread,
            }
        })
        .collect()
}

/// A file name from a manifest name: letters, digits, `-`, `_` and `.` kept, anything else `_`.
fn file_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// `out/<name>.yaml` for each instance; `<name>-<id>.yaml` where two names would give the same
/// file (compared without case, for case-insensitive file systems).
fn file_names(imported: &[Imported], out: &Path) -> Vec<PathBuf> {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for instance in imported {
        *counts
            .entry(file_stem(&instance.name).to_lowercase())
            .or_default() += 1;
    }
    imported
        .iter()
        .map(|instance| {
            let stem = file_stem(&instance.name);
            let stem = if counts[&stem.to_lowercase()] > 1 {
                format!("{stem}-{}", instance.observed.id)
            } else {
                stem
            };
            out.join(format!("{stem}.yaml"))
        })
        .collect()
}

/// Parses the rendered texts as the loader will, and plans them against what was read: any
/// diagnostic or step is a defect of the importer, reported before anything is written.
fn verify(
    rendered: &[(PathBuf, render::Rendered)],
    imported: &[Imported],
    region: &str,
) -> Result<(), ImportError> {
    let sources: Vec<(PathBuf, String)> = rendered
        .iter()
        .map(|(path, rendered)| (path.clone(), rendered.text.clone()))
        .collect();
    let desired = manifest::parse(&sources, None).map_err(ImportError::Invalid)?;
    let mut observed = Observed::default();
    observed.regions.insert(
        region.to_owned(),
        imported.iter().map(|i| i.observed.clone()).collect(),
    );
    let plan = plan::diff(&desired, &observed, &Digests::new(), DiffOptions::default());
    if plan.instances.is_empty() {
        Ok(())
    } else {
        Err(ImportError::NotEmpty(plan::render::text(&plan, false)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, name: &str) -> (ObservedInstance, BTreeMap<Aspect, String>) {
        (
            ObservedInstance {
                id: id.into(),
                name: name.into(),
                region: "cn-hangzhou".into(),
                ..ObservedInstance::default()
            },
            BTreeMap::new(),
        )
    }

    #[test]
    fn names_are_the_cloud_names_unless_invalid_or_shared() {
        let named = name_instances(vec![
            instance("r-a", "orders"),
            instance("r-b", "cache"),
            instance("r-c", "cache"),
            instance("r-d", "has space"),
            instance("r-e", "x"),
        ]);
        let names: Vec<&str> = named.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["orders", "cache-r-b", "cache-r-c", "r-d", "r-e"]);
        assert!(named[0].name_note.is_none());
        assert!(
            named[1]
                .name_note
                .as_deref()
                .unwrap()
                .contains("2 imported")
        );
        assert!(
            named[3]
                .name_note
                .as_deref()
                .unwrap()
                .contains("whitespace")
        );
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        let named = name_instances(vec![
            instance("r-a", "订单\\cache"),
            instance("r-b", "Orders"),
            instance("r-c", "orders"),
        ]);
        let files = file_names(&named, Path::new("out"));
        assert_eq!(
            files,
            [
                PathBuf::from("out/订单_cache.yaml"),
                PathBuf::from("out/Orders-r-b.yaml"),
                PathBuf::from("out/orders-r-c.yaml"),
            ]
        );
    }

    #[test]
    fn unknown_ids_are_all_named() {
        let listed = vec![instance("r-a", "orders").0];
        let err = select(
            listed.clone(),
            &["r-x".into(), "r-a".into(), "r-y".into(), "r-x".into()],
            "cn-hangzhou",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "instances r-x, r-y are not in region cn-hangzhou"
        );
        let err = select(listed.clone(), &["r-x".into()], "cn-hangzhou").unwrap_err();
        assert_eq!(err.to_string(), "instance r-x is not in region cn-hangzhou");
        assert_eq!(
            select(listed, &["r-a".into()], "cn-hangzhou")
                .unwrap()
                .len(),
            1
        );
    }
}

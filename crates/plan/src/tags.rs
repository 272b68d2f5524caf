//! Diff rules for tags: labels (the exact set of non-kvsync tags, when `labels` is present) and
//! the password digests recorded after the steps that set passwords. Ownership tags are set at
//! creation and never changed.

use std::collections::{BTreeMap, BTreeSet};

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Step, WaitFor};
use super::passwords::DigestUpdates;
use crate::manifest::DesiredInstance;
use crate::observed::ObservedInstance;
use kvsync_secrets::digest as passwords;
use kvsync_wire::actions::tag::RESOURCE_TYPE_INSTANCE;
use kvsync_wire::actions::{Request, TagResources, UntagResources};

/// `TagResources` for labels and digest tags to set, `UntagResources` for those to remove.
pub fn diff(
    desired: &DesiredInstance,
    observed: &ObservedInstance,
    updates: &DigestUpdates,
    recorded: &BTreeMap<String, String>,
    steps: &mut Vec<Step>,
) {
    let current_labels = observed.labels();
    let wanted_labels = desired
        .labels
        .clone()
        .unwrap_or_else(|| current_labels.clone());

    let mut entries = observed.digests();
    for (name, digest) in updates {
        match digest {
            Some(digest) => entries.insert(name.clone(), digest.clone()),
            None => entries.remove(name),
        };
    }
    let wanted_digest_tags = passwords::encode_tags(&entries);
    let current_digest_tags: BTreeMap<&String, &String> = observed
        .tags
        .iter()
        .filter(|(key, _)| passwords::is_digest_tag(key))
        .collect();

    let mut set = BTreeMap::new();
    let mut changes = Vec::new();
    for (key, value) in wanted_labels.iter().chain(wanted_digest_tags.iter()) {
        if observed.tags.get(key) != Some(value) {
            set.insert(key.clone(), value.clone());
            let field = if passwords::is_digest_tag(key) {
                format!("tags.{key} (password digests)")
            } else {
                format!("metadata.labels.{key}")
            };
            changes.push(change(
                &field,
                observed.tags.get(key).cloned(),
                Some(value.clone()),
            ));
        }
    }
    for (key, value) in recorded {
        if observed.tags.get(key) != Some(value) {
            set.insert(key.clone(), value.clone());
            changes.push(change(
                &format!("tags.{key}"),
                observed.tags.get(key).cloned(),
                Some(value.clone()),
            ));
        }
    }
    let mut remove: BTreeSet<String> = current_labels
        .keys()
        .filter(|key| !wanted_labels.contains_key(*key))
        .cloned()
        .collect();
    remove.extend(
        current_digest_tags
            .keys()
            .filter(|key| !wanted_digest_tags.contains_key(**key))
            .map(|key| (*key).clone()),
    );

    if !set.is_empty() {
        steps.push(step(
            Request::TagResources(TagResources {
                region_id: observed.region.clone(),
                resource_type: RESOURCE_TYPE_INSTANCE.into(),
                resource_ids: vec![observed.id.clone()],
                tags: set.into_iter().collect(),
            }),
            WaitFor::Nothing,
            MODIFY_TIMEOUT_SECS,
            changes,
        ));
    }
    if !remove.is_empty() {
        let changes = remove
            .iter()
            .map(|key| {
                change(
                    &format!("tags.{key}"),
                    observed.tags.get(key).cloned(),
                    None,
                )
            })
            .collect();
        steps.push(step(
            Request::UntagResources(UntagResources {
                region_id: observed.region.clone(),
                resource_type: RESOURCE_TYPE_INSTANCE.into(),
                resource_ids: vec![observed.id.clone()],
                tag_keys: remove.into_iter().collect(),
                all: None,
            }),
            WaitFor::Nothing,
            MODIFY_TIMEOUT_SECS,
            changes,
        ));
    }
}

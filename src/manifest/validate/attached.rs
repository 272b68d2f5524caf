//! `kind: Account` and `kind: Whitelist` documents: validated on their own, then merged into
//! the instance they name. A name defined twice is a conflict, reported at both places.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::aspects::{self, MAX_ACCOUNTS};
use super::check_api_version;
use crate::manifest::desired::{DesiredAccount, DesiredInstance, InstanceKey, Privilege, Source};
use crate::manifest::diagnostics::{Collector, Diagnostic};
use crate::manifest::raw;
use crate::manifest::rules::{MAX_WHITELIST_ENTRIES, engine_at_least, is_cluster_class};

/// What an attached document adds to its instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Addition {
    /// One normal account.
    Account(DesiredAccount),
    /// One whitelist group with its entries.
    Whitelist {
        /// The group name.
        group: String,
        /// Normalised entries.
        ips: BTreeSet<String>,
    },
}

/// A validated `Account` or `Whitelist` document.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// The instance it belongs to.
    pub instance: InstanceKey,
    /// Where the document is.
    pub source: Source,
    /// What it adds.
    pub addition: Addition,
}

fn instance_key(
    c: &mut Collector<'_>,
    metadata: &raw::AttachedMetadata,
    at: serde_saphyr::Location,
    default_region: Option<&str>,
) -> Option<InstanceKey> {
    let region = match (&metadata.region, default_region) {
        (Some(region), _) => region.value.clone(),
        (None, Some(region)) => region.to_owned(),
        (None, None) => {
            c.error(
                at,
                "region",
                "metadata.region is required (or set spec.region in the kind: Stack document)",
            );
            return None;
        }
    };
    Some(InstanceKey {
        region,
        name: metadata.instance.value.clone(),
    })
}

/// Validates a `kind: Account` document.
pub fn account(
    c: &mut Collector<'_>,
    doc: raw::AccountDoc,
    manifest_dir: &Path,
    default_region: Option<&str>,
) -> Option<Attached> {
    let before = c.count();
    check_api_version(c, &doc.api_version);
    let metadata = doc.metadata.value;
    let instance = instance_key(c, &metadata, doc.metadata.referenced, default_region);
    let spec = doc.spec.value;
    let source = Source {
        path: c.path().to_owned(),
        line: c.file_line(metadata.name.referenced),
    };
    let account = aspects::account(
        c,
        metadata.name,
        spec.privilege,
        spec.password,
        spec.description,
        manifest_dir,
    );
    (c.count() == before).then_some(Attached {
        instance: instance?,
        source,
        addition: Addition::Account(account),
    })
}

/// Validates a `kind: Whitelist` document.
pub fn whitelist(
    c: &mut Collector<'_>,
    doc: raw::WhitelistDoc,
    default_region: Option<&str>,
) -> Option<Attached> {
    let before = c.count();
    check_api_version(c, &doc.api_version);
    let metadata = doc.metadata.value;
    let instance = instance_key(c, &metadata, doc.metadata.referenced, default_region);
    aspects::group_name(c, &metadata.name);
    let ips = aspects::ip_entries(c, doc.spec.value.ips);
    let source = Source {
        path: c.path().to_owned(),
        line: c.file_line(metadata.name.referenced),
    };
    (c.count() == before).then_some(Attached {
        instance: instance?,
        source,
        addition: Addition::Whitelist {
            group: metadata.name.value,
            ips,
        },
    })
}

fn diagnostic(source: &Source, rule: &'static str, message: String) -> Diagnostic {
    Diagnostic {
        path: source.path.clone(),
        line: source.line,
        column: 1,
        rule,
        message,
    }
}

/// Merges attached documents into their instances; records conflicts and unknown instances.
pub fn merge(
    instances: &mut BTreeMap<InstanceKey, DesiredInstance>,
    attached: Vec<Attached>,
    found: &mut Vec<Diagnostic>,
) {
    // Where each account and group was defined, for conflict messages.
    let mut defined: BTreeMap<(InstanceKey, &'static str, String), Source> = BTreeMap::new();
    for instance in instances.values() {
        for account in instance.accounts.iter().flat_map(|a| a.values()) {
            defined.insert(
                (instance.key.clone(), "account", account.name.clone()),
                account.source.clone(),
            );
        }
        for group in instance.whitelists.iter().flat_map(|w| w.keys()) {
            defined.insert(
                (instance.key.clone(), "whitelist group", group.clone()),
                instance.source.clone(),
            );
        }
    }
    for doc in attached {
        let Some(instance) = instances.get_mut(&doc.instance) else {
            found.push(diagnostic(
                &doc.source,
                "instance-reference",
                format!(
                    "no kind: Instance document describes instance {}",
                    doc.instance
                ),
            ));
            continue;
        };
        let (what, name) = match &doc.addition {
            Addition::Account(account) => ("account", account.name.clone()),
            Addition::Whitelist { group, .. } => ("whitelist group", group.clone()),
        };
        if let Some(first) = defined.get(&(doc.instance.clone(), what, name.clone())) {
            found.push(diagnostic(
                &doc.source,
                "conflict",
                format!(
                    "{what} {name:?} of instance {} is also defined at {first}",
                    doc.instance
                ),
            ));
            continue;
        }
        defined.insert((doc.instance.clone(), what, name), doc.source.clone());
        match doc.addition {
            Addition::Account(account) => {
                instance
                    .accounts
                    .get_or_insert_with(BTreeMap::new)
                    .insert(account.name.clone(), account);
            }
            Addition::Whitelist { group, ips } => {
                instance
                    .whitelists
                    .get_or_insert_with(BTreeMap::new)
                    .insert(group, ips);
            }
        }
    }
}

/// Rules that need the whole instance after merging: account count, engine support for
/// accounts and `RoleRepl`, whitelist size.
pub fn check_merged(instance: &DesiredInstance, found: &mut Vec<Diagnostic>) {
    if let Some(accounts) = &instance.accounts {
        if accounts.len() > MAX_ACCOUNTS {
            found.push(diagnostic(
                &instance.source,
                "accounts",
                format!(
                    "instance {} has {} accounts; at most {MAX_ACCOUNTS} are allowed",
                    instance.key,
                    accounts.len()
                ),
            ));
        }
        if let Some(version) = &instance.engine_version
            && !accounts.is_empty()
            && !engine_at_least(version, 4, 0)
        {
            found.push(diagnostic(
                &instance.source,
                "accounts",
                format!(
                    "accounts need engine version 4.0 or later; instance {} has {version}",
                    instance.key
                ),
            ));
        }
        for account in accounts
            .values()
            .filter(|a| a.privilege == Privilege::RoleRepl)
        {
            let cluster = instance
                .instance_class
                .as_deref()
                .is_some_and(is_cluster_class);
            let old = instance
                .engine_version
                .as_deref()
                .is_some_and(|v| !engine_at_least(v, 4, 0));
            if cluster || old {
                found.push(diagnostic(
                    &account.source,
                    "privilege",
                    format!(
                        "RoleRepl is allowed only on standard (non-cluster) instances with engine 4.0 or later; allowed here: RoleReadWrite, RoleReadOnly (account {:?})",
                        account.name
                    ),
                ));
            }
        }
    }
    if let Some(labels) = &instance.labels {
        let passwords = usize::from(instance.password.is_some())
            + instance
                .accounts
                .iter()
                .flat_map(|a| a.values())
                .filter(|a| a.password.is_some())
                .count();
        let room = super::MAX_LABELS.saturating_sub(crate::passwords::tags_needed(passwords));
        if labels.len() > room {
            found.push(diagnostic(
                &instance.source,
                "labels",
                format!(
                    "instance {} has {} labels; with {passwords} managed password(s) there is room for {room} (the cloud allows 20 tags; kvsync keeps 2 for ownership and {} for password digests)",
                    instance.key,
                    labels.len(),
                    crate::passwords::tags_needed(passwords)
                ),
            ));
        }
    }
    if let Some(whitelists) = &instance.whitelists {
        let total: usize = whitelists.values().map(BTreeSet::len).sum();
        if total > MAX_WHITELIST_ENTRIES {
            found.push(diagnostic(
                &instance.source,
                "whitelist",
                format!(
                    "instance {} has {total} whitelist entries; at most {MAX_WHITELIST_ENTRIES} are allowed",
                    instance.key
                ),
            ));
        }
    }
}

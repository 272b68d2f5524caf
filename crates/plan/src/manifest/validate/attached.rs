//! `kind: Account` and `kind: Whitelist` documents: validated on their own, then merged into
//! the instance they name. A name defined twice is a conflict, reported at both places.

use super::aspects::{self, MAX_ACCOUNTS};
use super::{DefaultRegion, FileContext, Sites, check_api_version};
use crate::manifest::desired::{DesiredAccount, DesiredInstance, InstanceKey, Privilege, Source};
use crate::manifest::diagnostics::{Collector, Diagnostic};
use crate::manifest::raw;
use crate::manifest::rules::{MAX_WHITELIST_ENTRIES, is_cluster_class, region_problem};
use crate::values::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};

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
        ips: BTreeSet<Ipv4Net>,
    },
}

/// A validated `Account` or `Whitelist` document.
#[derive(Debug, Clone, PartialEq)]
pub struct Attached {
    /// The instance it belongs to.
    pub instance: InstanceKey,
    /// Where it names the instance (`metadata.instance`).
    pub instance_at: Source,
    /// Where it names the account or group (`metadata.name`).
    pub source: Source,
    /// Where an account's `spec.privilege` is, if written.
    pub privilege_at: Option<Source>,
    /// What it adds.
    pub addition: Addition,
}

fn instance_key(
    c: &mut Collector<'_>,
    metadata: &raw::AttachedMetadata,
    at: serde_saphyr::Location,
    default_region: &DefaultRegion,
) -> Option<InstanceKey> {
    let region = match (&metadata.region, default_region) {
        (Some(region), _) => {
            if let Some(problem) = region_problem(&region.value) {
                c.error(region.referenced, "region", problem);
                return None;
            }
            region.value.clone()
        }
        (None, DefaultRegion::Region(region)) => region.clone(),
        (None, DefaultRegion::Missing) => {
            c.error(
                at,
                "region",
                "metadata.region is required (or set spec.region in the kind: Stack document, pass --region, set ALIBABA_CLOUD_REGION_ID, or give the aliyun profile a region_id)",
            );
            return None;
        }
        (None, DefaultRegion::Unknown) => return None,
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
    files: &FileContext<'_>,
    default_region: &DefaultRegion,
) -> Option<Attached> {
    let before = c.count();
    check_api_version(c, &doc.api_version);
    let metadata = doc.metadata.value;
    let instance = instance_key(c, &metadata, doc.metadata.referenced, default_region);
    let spec = doc.spec.value;
    let instance_at = c.source(metadata.instance.referenced);
    let source = c.source(metadata.name.referenced);
    let privilege_at = spec.privilege.as_ref().map(|p| c.source(p.referenced));
    let account = aspects::account(
        c,
        metadata.name,
        spec.privilege,
        spec.password,
        spec.description,
        files,
    );
    (c.count() == before).then_some(Attached {
        instance: instance?,
        instance_at,
        source,
        privilege_at,
        addition: Addition::Account(account),
    })
}

/// Validates a `kind: Whitelist` document.
pub fn whitelist(
    c: &mut Collector<'_>,
    doc: raw::WhitelistDoc,
    default_region: &DefaultRegion,
) -> Option<Attached> {
    let before = c.count();
    check_api_version(c, &doc.api_version);
    let metadata = doc.metadata.value;
    let instance = instance_key(c, &metadata, doc.metadata.referenced, default_region);
    aspects::group_name(c, &metadata.name);
    let ips = aspects::ip_entries(c, doc.spec.value.ips);
    let instance_at = c.source(metadata.instance.referenced);
    let source = c.source(metadata.name.referenced);
    (c.count() == before).then_some(Attached {
        instance: instance?,
        instance_at,
        source,
        privilege_at: None,
        addition: Addition::Whitelist {
            group: metadata.name.value,
            ips,
        },
    })
}

/// Merges attached documents into their instances (and where their parts are into `sites`);
/// records conflicts and unknown instances.
pub fn merge(
    instances: &mut BTreeMap<InstanceKey, DesiredInstance>,
    sites: &mut BTreeMap<InstanceKey, Sites>,
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
        let groups = sites.get(&instance.key).map(|s| &s.groups);
        for group in instance.whitelists.iter().flat_map(|w| w.keys()) {
            let at = groups
                .and_then(|groups| groups.get(group))
                .unwrap_or(&instance.source);
            defined.insert(
                (instance.key.clone(), "whitelist group", group.clone()),
                at.clone(),
            );
        }
    }
    for doc in attached {
        let Some(instance) = instances.get_mut(&doc.instance) else {
            found.push(Diagnostic::at(
                &doc.instance_at,
                "instance-reference",
                format!(
                    "no kind: Instance document describes instance {}; name the metadata.name and region of one",
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
            found.push(Diagnostic::at(
                &doc.source,
                "conflict",
                format!(
                    "{what} {name:?} of instance {} is also defined at {first}; define it once",
                    doc.instance
                ),
            ));
            continue;
        }
        defined.insert((doc.instance.clone(), what, name), doc.source.clone());
        let sites = sites.entry(doc.instance.clone()).or_default();
        match doc.addition {
            Addition::Account(account) => {
                sites.accounts.get_or_insert_with(|| doc.source.clone());
                if let Some(privilege_at) = doc.privilege_at {
                    sites.privileges.insert(account.name.clone(), privilege_at);
                }
                instance
                    .accounts
                    .get_or_insert_with(BTreeMap::new)
                    .insert(account.name.clone(), account);
            }
            Addition::Whitelist { group, ips } => {
                sites.whitelists.get_or_insert_with(|| doc.source.clone());
                sites.groups.insert(group.clone(), doc.source.clone());
                instance
                    .whitelists
                    .get_or_insert_with(BTreeMap::new)
                    .insert(group, ips);
            }
        }
    }
}

/// Rules that need the whole instance after merging: account count, engine support for
/// accounts and `RoleRepl`, room for labels, whitelist size. Each is reported where the
/// instance's `sites` say the relevant part is written.
pub fn check_merged(instance: &DesiredInstance, sites: &Sites, found: &mut Vec<Diagnostic>) {
    if let Some(accounts) = &instance.accounts {
        let accounts_at = sites.accounts.as_ref().unwrap_or(&instance.source);
        if accounts.len() > MAX_ACCOUNTS {
            found.push(Diagnostic::at(
                accounts_at,
                "accounts",
                format!(
                    "instance {} has {} accounts; at most {MAX_ACCOUNTS} are allowed",
                    instance.key,
                    accounts.len()
                ),
            ));
        }
        let old_engine = instance
            .engine_version
            .filter(|version| *version < super::ENGINE_4_0);
        if let Some(version) = old_engine
            && !accounts.is_empty()
        {
            // No account at all is possible, so RoleRepl is not reported as well.
            found.push(Diagnostic::at(
                accounts_at,
                "accounts",
                format!(
                    "accounts need engine version 4.0 or later; instance {} has {version} (leave accounts out or set spec.engineVersion to 4.0 or later)",
                    instance.key
                ),
            ));
        } else if let Some(class) = instance
            .instance_class
            .as_deref()
            .filter(|class| is_cluster_class(class))
        {
            for account in accounts
                .values()
                .filter(|a| a.privilege == Privilege::RoleRepl)
            {
                found.push(Diagnostic::at(
                    sites.privileges.get(&account.name).unwrap_or(&account.source),
                    "privilege",
                    format!(
                        "RoleRepl is allowed only on standard (non-cluster) instances, and {} is a cluster class; allowed here: RoleReadWrite, RoleReadOnly (account {:?})",
                        class, account.name
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
        let room = super::MAX_LABELS.saturating_sub(kvsync_secrets::digest::tags_needed(passwords));
        if labels.len() > room {
            found.push(Diagnostic::at(
                sites.labels.as_ref().unwrap_or(&instance.source),
                "labels",
                format!(
                    "instance {} has {} labels; with {passwords} managed password(s) there is room for {room} (the cloud allows 20 tags; kvsync keeps 2 for ownership and {} for password digests)",
                    instance.key,
                    labels.len(),
                    kvsync_secrets::digest::tags_needed(passwords)
                ),
            ));
        }
    }
    if let Some(whitelists) = &instance.whitelists {
        let total: usize = whitelists.values().map(BTreeSet::len).sum();
        if total > MAX_WHITELIST_ENTRIES {
            found.push(Diagnostic::at(
                sites.whitelists.as_ref().unwrap_or(&instance.source),
                "whitelist",
                format!(
                    "instance {} has {total} whitelist entries; at most {MAX_WHITELIST_ENTRIES} are allowed",
                    instance.key
                ),
            ));
        }
    }
}

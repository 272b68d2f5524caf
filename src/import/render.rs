//! One `kind: Instance` manifest, as text, from what the cloud reported about an instance.
//!
//! Pure: every value comes from the [`ObservedInstance`] that `observe` normalised, so the
//! planner compares exactly what is written here with what it reads. A value the manifest rules
//! cannot express (a four-hour maintenance window, a subscription without its period, a label
//! with a reserved prefix, …) is left out, which leaves it unmanaged, and a comment in the file
//! says why. Passwords cannot be read: comments show how to manage them.

use crate::values::{ChargeType, InstanceStatus, NetworkType};
use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::yaml::{flow_list, scalar};
use crate::manifest::desired::{ClassArchitecture, NodeType, Privilege};
use crate::manifest::rules::{
    MAX_WHITELIST_ENTRIES, SYSTEM_GROUPS, account_name_problem, backup_time_problem,
    description_problem, group_name_problem, parameter_name_problem, tag_text_problem,
};
use crate::manifest::validate::endpoint::prefix_problem;
use crate::manifest::validate::{API_VERSION, ENGINE_VERSIONS, MAX_LABELS, RESERVED_TAG_PREFIX};
use crate::observe::Aspect;
use crate::observe::observed::{MANAGED_TAG, ObservedInstance, STACK_TAG};

/// An instance to write, with what is known about it beyond its observed state.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The instance, with every detail read.
    pub observed: ObservedInstance,
    /// Its `metadata.name` (the cloud's name unless that cannot be used).
    pub name: String,
    /// Why `name` differs from the cloud's name, if it does.
    pub name_note: Option<String>,
    /// Detail reads the cloud refused, with its answer: those aspects stay unmanaged.
    pub unread: BTreeMap<Aspect, String>,
}

/// The manifest text, and how many parts of the instance it leaves unmanaged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The YAML document with its comments.
    pub text: String,
    /// Aspects left out because the manifest rules cannot express them or they were unread.
    pub left_out: usize,
}

/// Where comments wrap.
const WIDTH: usize = 96;

/// Lines of YAML with comments, two spaces per level.
struct Doc {
    text: String,
    left_out: usize,
}

impl Doc {
    fn line(&mut self, level: usize, line: &str) {
        let _ = writeln!(self.text, "{:indent$}{line}", "", indent = level * 2);
    }

    /// A comment on one or more lines (never breaking out of the comment: line breaks in the
    /// text become spaces), wrapped at [`WIDTH`] columns; continuation lines are indented.
    fn comment(&mut self, level: usize, text: &str) {
        let room = WIDTH.saturating_sub(level * 2 + 2).max(40);
        let mut current = String::new();
        let mut first = true;
        let text: String = text
            .chars()
            .map(|c| {
                if c.is_control() && !c.is_whitespace() {
                    '?'
                } else {
                    c
                }
            })
            .collect();
        for word in text.split_whitespace() {
            let prefix = if first { "" } else { "  " };
            if !current.is_empty() && prefix.len() + current.len() + 1 + word.len() > room {
                self.line(level, &format!("# {prefix}{current}"));
                current.clear();
                first = false;
            }
            if !current.is_empty() {
                current.push(' ');
            }
            current.push_str(word);
        }
        let prefix = if first { "" } else { "  " };
        self.line(level, &format!("# {prefix}{current}"));
    }

    /// A comment saying why `field` is not in the manifest.
    fn left_out(&mut self, level: usize, field: &str, reason: &str) {
        self.left_out += 1;
        self.comment(level, &format!("{field}: not managed: {reason}"));
    }
}

/// Upper-case letters, digits and `_` from `text`, for an environment variable name.
fn env_part(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_owned()
}

/// A suggested environment variable for a password: `<INSTANCE>[_<ACCOUNT>]_PASSWORD`.
pub fn password_variable(instance: &Imported, account: Option<&str>) -> String {
    let mut base = env_part(&instance.name);
    if base.is_empty() {
        base = env_part(&instance.observed.id);
    }
    if base.starts_with(|c: char| c.is_ascii_digit()) {
        base = format!("REDIS_{base}");
    }
    match account {
        Some(account) => format!("{base}_{}_PASSWORD", env_part(account)),
        None => format!("{base}_PASSWORD"),
    }
}

/// Renders the manifest of one instance.
pub fn manifest(instance: &Imported) -> Rendered {
    let observed = &instance.observed;
    let mut doc = Doc {
        text: String::new(),
        left_out: 0,
    };
    header(&mut doc, instance);
    doc.line(0, &format!("apiVersion: {API_VERSION}"));
    doc.line(0, "kind: Instance");
    doc.line(0, "metadata:");
    if let Some(note) = &instance.name_note {
        doc.comment(1, note);
    }
    doc.line(1, &format!("name: {}", scalar(&instance.name)));
    doc.line(1, &format!("region: {}", scalar(&observed.region)));
    labels(&mut doc, observed);
    doc.line(0, "spec:");
    doc.line(1, &format!("instanceId: {}", scalar(&observed.id)));
    lifecycle(&mut doc, observed);
    doc.comment(
        1,
        "The default account's password cannot be read. To manage it, add (the next apply",
    );
    doc.comment(
        1,
        "then sets it once, and again whenever the secret changes):",
    );
    doc.comment(
        1,
        &format!("password: {{env: {}}}", password_variable(instance, None)),
    );
    attributes(&mut doc, instance);
    endpoint_and_architecture(&mut doc, instance);
    whitelists(&mut doc, instance);
    accounts(&mut doc, instance);
    backup_policy(&mut doc, instance);
    config(&mut doc, instance);
    Rendered {
        text: doc.text,
        left_out: doc.left_out,
    }
}

fn header(doc: &mut Doc, instance: &Imported) {
    let observed = &instance.observed;
    doc.comment(
        0,
        &format!(
            "Imported by `kvsync import` from instance {} ({:?}) in {}.",
            observed.id, observed.name, observed.region
        ),
    );
    doc.comment(
        0,
        "Every field below is managed: kvsync plan compares it and kvsync apply sets it back",
    );
    doc.comment(
        0,
        "when the cloud differs. Delete a field or section to leave it unmanaged.",
    );
    if !observed.status.is_unknown() && observed.status != InstanceStatus::Normal {
        doc.comment(
            0,
            &format!(
                "The instance was {} when it was read: values being changed may differ now.",
                observed.status
            ),
        );
    }
    let owned = observed
        .tags
        .get(MANAGED_TAG)
        .is_some_and(|value| value == "true");
    match observed.tags.get(STACK_TAG) {
        Some(stack) if owned => {
            doc.comment(
                0,
                &format!(
                    "Ownership: the instance carries kvsync's ownership tags of stack {stack:?}: where that"
                ),
            );
            doc.comment(
                0,
                "stack prunes, removing this file deletes the instance (unless release-protected).",
            );
        }
        _ => {
            doc.comment(
                0,
                "Ownership: the instance has no kvsync ownership tags (kvsync sets them only on the",
            );
            doc.comment(
                0,
                "instances it creates), so prune never deletes it, whichever stack this file joins.",
            );
        }
    }
}

fn labels(doc: &mut Doc, observed: &ObservedInstance) {
    let labels = observed.labels();
    let problem = if labels.len() > MAX_LABELS {
        Some(format!(
            "the instance has {} tags besides kvsync's; a manifest holds at most {MAX_LABELS} labels",
            labels.len()
        ))
    } else {
        labels.iter().find_map(|(key, value)| {
            tag_text_problem(key, "key", 1)
                .or_else(|| tag_text_problem(value, "value", 0))
                .map(|problem| format!("tag {key:?}: {problem}"))
        })
    };
    if let Some(problem) = problem {
        doc.left_out(1, "labels", &problem);
        return;
    }
    debug_assert!(labels.keys().all(|k| !k.starts_with(RESERVED_TAG_PREFIX)));
    if labels.is_empty() {
        doc.comment(1, "No tags: tags added outside kvsync would be removed.");
        doc.line(1, "labels: {}");
        return;
    }
    doc.line(1, "labels:");
    for (key, value) in &labels {
        doc.line(2, &format!("{}: {}", scalar(key), scalar(value)));
    }
}

/// Class, engine version, zone, billing and network.
fn lifecycle(doc: &mut Doc, observed: &ObservedInstance) {
    let class_ok = !observed.instance_class.is_empty()
        && observed.instance_class.chars().all(|c| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '_' || c == '-'
        });
    if class_ok {
        doc.line(
            1,
            &format!("instanceClass: {}", scalar(&observed.instance_class)),
        );
    } else {
        doc.left_out(
            1,
            "instanceClass",
            &format!(
                "{:?} is not an instance class code manifests accept",
                observed.instance_class
            ),
        );
    }

    match observed.engine_version.known() {
        Some(version) if ENGINE_VERSIONS.contains(version) => {
            doc.line(
                1,
                &format!("engineVersion: {}", scalar(&version.to_string())),
            );
        }
        _ => doc.left_out(
            1,
            "engineVersion",
            &format!(
                "{:?} is not one of {}",
                observed.engine_version.to_string(),
                ENGINE_VERSIONS
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ),
    }

    if !observed.zone_id.is_empty() && observed.zone_id.starts_with(&observed.region) {
        doc.line(1, &format!("zoneId: {}", scalar(&observed.zone_id)));
    } else {
        doc.left_out(
            1,
            "zoneId",
            &format!(
                "{:?} is not named after region {}",
                observed.zone_id, observed.region
            ),
        );
    }

    match &observed.charge_type {
        ChargeType::PostPaid => doc.line(1, "chargeType: PostPaid"),
        ChargeType::PrePaid => {
            doc.line(1, "chargeType: PrePaid");
            doc.comment(
                1,
                "The API does not report the subscription's period; kvsync uses it only to convert a",
            );
            doc.comment(
                1,
                "PostPaid instance, so on this PrePaid one it is never sent or compared.",
            );
            doc.line(1, "period: 1");
        }
        ChargeType::Other(other) => doc.left_out(
            1,
            "chargeType",
            &format!("{other:?} is neither PostPaid nor PrePaid"),
        ),
    }

    match &observed.network_type {
        NetworkType::Vpc
            if observed.vpc_id.starts_with("vpc-") && observed.vswitch_id.starts_with("vsw-") =>
        {
            doc.line(
                1,
                &format!(
                    "network: {{type: VPC, vpcId: {}, vSwitchId: {}}}",
                    scalar(&observed.vpc_id),
                    scalar(&observed.vswitch_id)
                ),
            );
        }
        NetworkType::Classic => doc.line(1, "network: {type: Classic}"),
        other => doc.left_out(
            1,
            "network",
            &format!(
                "{other} network {:?}/{:?} cannot be written as a manifest network",
                observed.vpc_id, observed.vswitch_id
            ),
        ),
    }
}

fn unread(doc: &mut Doc, instance: &Imported, aspect: Aspect, field: &str) -> bool {
    match instance.unread.get(&aspect) {
        Some(answer) => {
            doc.left_out(1, field, &format!("reading it failed: {answer}"));
            true
        }
        None => false,
    }
}

/// Release protection, maintenance window, TLS and VPC password-free access.
fn attributes(doc: &mut Doc, instance: &Imported) {
    let observed = &instance.observed;
    if !unread(
        doc,
        instance,
        Aspect::Attribute,
        "releaseProtection, maintenanceWindow, vpcAuthMode and config",
    ) {
        if let Some(protected) = observed.release_protection {
            doc.line(1, &format!("releaseProtection: {protected}"));
        }
        if let Some(window) = &observed.maintenance_window {
            match window.known() {
                Some(known) if known.length_minutes() == 60 => doc.line(
                    1,
                    &format!(
                        "maintenanceWindow: {{start: {}, end: {}}}",
                        scalar(&known.start.to_string()),
                        scalar(&known.end.to_string())
                    ),
                ),
                _ => doc.left_out(
                    1,
                    "maintenanceWindow",
                    &format!(
                        "the window is {window}; manifests set one-hour windows (e.g. {{start: \"02:00Z\", end: \"03:00Z\"}})"
                    ),
                ),
            }
        }
    }
    if !unread(doc, instance, Aspect::Ssl, "ssl")
        && let Some(enabled) = observed.ssl
    {
        doc.line(
            1,
            &format!("ssl: {}", if enabled { "Enable" } else { "Disable" }),
        );
    }
    if observed.network_type == NetworkType::Vpc
        && let Some(mode) = &observed.vpc_auth_mode
    {
        match mode.as_str() {
            "Open" | "Close" => doc.line(1, &format!("vpcAuthMode: {mode}")),
            other => doc.left_out(
                1,
                "vpcAuthMode",
                &format!("{other:?} is neither Open nor Close"),
            ),
        }
    }
}

/// The endpoint (its port, and its prefix when a manifest may carry it) and the architecture
/// parts the class has.
fn endpoint_and_architecture(doc: &mut Doc, instance: &Imported) {
    if instance.unread.contains_key(&Aspect::Attribute) {
        return;
    }
    let observed = &instance.observed;
    if let Some(endpoint) = &observed.endpoint {
        let prefix = crate::plan::endpoint::prefix_of(&endpoint.connection_string);
        let port_ok = (1024..=65_535).contains(&endpoint.port);
        match (prefix_problem(prefix).is_none(), port_ok) {
            (true, true) => doc.line(
                1,
                &format!(
                    "endpoint: {{prefix: {}, port: {}}}",
                    scalar(prefix),
                    endpoint.port
                ),
            ),
            (false, true) => doc.line(1, &format!("endpoint: {{port: {}}}", endpoint.port)),
            _ => doc.left_out(
                1,
                "endpoint",
                &format!("port {} is outside 1024 to 65535", endpoint.port),
            ),
        }
    }
    let Some(architecture) = &observed.architecture else {
        return;
    };
    let node_type = NodeType::from_cloud(&architecture.node_type);
    match node_type {
        Some(node_type) => doc.line(1, &format!("nodeType: {}", node_type.as_str())),
        None if architecture.node_type.is_empty() => {}
        None => doc.left_out(
            1,
            "nodeType",
            &format!(
                "{:?} is not a node type manifests accept",
                architecture.node_type
            ),
        ),
    }
    let kind = ClassArchitecture::of(&observed.instance_class);
    if kind == ClassArchitecture::Cluster && (2..=256).contains(&architecture.shard_count) {
        doc.line(1, &format!("shardCount: {}", architecture.shard_count));
    }
    if node_type != Some(NodeType::StandAlone) && (1..=9).contains(&architecture.replica_count) {
        doc.line(1, &format!("replicaCount: {}", architecture.replica_count));
    }
    if kind == ClassArchitecture::ReadWriteSplitting
        && (1..=9).contains(&architecture.read_only_count)
    {
        doc.line(
            1,
            &format!("readOnlyCount: {}", architecture.read_only_count),
        );
    }
    if !architecture.secondary_zone_id.is_empty() {
        doc.line(
            1,
            &format!(
                "secondaryZoneId: {}",
                scalar(&architecture.secondary_zone_id)
            ),
        );
    }
}

fn whitelists(doc: &mut Doc, instance: &Imported) {
    if unread(doc, instance, Aspect::SecurityIps, "whitelists") {
        return;
    }
    let Some(groups) = &instance.observed.whitelists else {
        return;
    };
    let mut written: Vec<(&String, Vec<String>)> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    for (group, entries) in groups {
        if SYSTEM_GROUPS.contains(&group.as_str()) {
            continue;
        }
        if let Some(problem) = group_name_problem(group) {
            skipped.push(problem);
        } else if entries.is_empty() {
            skipped.push(format!(
                "group {group:?} is empty; manifests list at least one entry per group"
            ));
        } else if let Some(bad) = entries.iter().find(|entry| entry.known().is_none()) {
            skipped.push(format!(
                "group {group:?} holds {:?}, which is not an IPv4 address or CIDR block",
                bad.to_string()
            ));
        } else {
            let mut texts: Vec<String> = entries.iter().map(ToString::to_string).collect();
            texts.sort();
            written.push((group, texts));
        }
    }
    let total: usize = written.iter().map(|(_, entries)| entries.len()).sum();
    if total > MAX_WHITELIST_ENTRIES {
        doc.left_out(
            1,
            "whitelists",
            &format!("{total} entries; manifests allow at most {MAX_WHITELIST_ENTRIES}"),
        );
        return;
    }
    for reason in &skipped {
        doc.left_out(1, "whitelist group", reason);
    }
    if written.is_empty() {
        return;
    }
    doc.comment(
        1,
        &format!(
            "Each listed group is set exactly; the system groups {} are never touched.",
            SYSTEM_GROUPS.join(" and ")
        ),
    );
    doc.line(1, "whitelists:");
    for (group, entries) in written {
        doc.line(
            2,
            &format!(
                "{}: {}",
                scalar(group),
                flow_list(entries.iter().map(String::as_str))
            ),
        );
    }
}

fn accounts(doc: &mut Doc, instance: &Imported) {
    if unread(doc, instance, Aspect::Accounts, "accounts") {
        return;
    }
    let Some(accounts) = &instance.observed.accounts else {
        return;
    };
    let normal: Vec<(&String, &crate::observe::observed::ObservedAccount)> = accounts
        .iter()
        .filter(|(_, account)| account.is_normal())
        .collect();
    let problem = normal.iter().find_map(|(name, account)| {
        account_name_problem(name).or_else(|| {
            account.privilege.is_none().then(|| {
                format!(
                    "account {name:?} has the privilege {:?}, which manifests cannot express",
                    account.privilege_text
                )
            })
        })
    });
    if let Some(problem) = problem {
        doc.left_out(
            1,
            "accounts",
            &format!("{problem} (when listed, accounts are the exact set, so none are listed)"),
        );
        return;
    }
    if normal.is_empty() {
        doc.comment(
            1,
            "No normal accounts: accounts created outside kvsync would be deleted.",
        );
        doc.line(1, "accounts: []");
        return;
    }
    doc.comment(
        1,
        "The exact set of normal accounts (the default account is never touched). Passwords",
    );
    doc.comment(
        1,
        "cannot be read: an account without `password` keeps its password unmanaged. To manage",
    );
    doc.comment(
        1,
        "one, add the line shown under it (the next apply then sets that password once).",
    );
    doc.line(1, "accounts:");
    for (name, account) in normal {
        doc.line(2, &format!("- name: {}", scalar(name)));
        let privilege = account.privilege.unwrap_or(Privilege::RoleReadWrite);
        doc.line(3, &format!("privilege: {}", privilege.as_str()));
        if !account.description.is_empty() {
            if let Some(problem) = description_problem(&account.description) {
                doc.left_out(3, "description", &problem);
            } else {
                doc.line(3, &format!("description: {}", scalar(&account.description)));
            }
        }
        doc.comment(
            3,
            &format!(
                "password: {{env: {}}}",
                password_variable(instance, Some(name))
            ),
        );
    }
}

fn backup_policy(doc: &mut Doc, instance: &Imported) {
    if unread(doc, instance, Aspect::BackupPolicy, "backupPolicy") {
        return;
    }
    let Some(policy) = &instance.observed.backup_policy else {
        return;
    };
    if let Some(problem) = backup_time_problem(&policy.time.to_string()) {
        doc.left_out(1, "backupPolicy", &problem);
        return;
    }
    if policy.period.is_empty() {
        doc.left_out(1, "backupPolicy", "the policy names no weekday");
        return;
    }
    doc.line(1, "backupPolicy:");
    doc.line(2, &format!("time: {}", scalar(&policy.time.to_string())));
    doc.line(
        2,
        &format!(
            "period: {}",
            flow_list(policy.period.iter().map(|day| day.as_str()))
        ),
    );
    if let Some(days) = policy
        .retention_days
        .filter(|days| (7..=730).contains(days))
    {
        doc.line(2, &format!("retentionDays: {days}"));
    }
    doc.line(2, &format!("backupLog: {}", policy.backup_log));
}

fn config(doc: &mut Doc, instance: &Imported) {
    if instance.unread.contains_key(&Aspect::Attribute) {
        return;
    }
    let Some(config) = &instance.observed.config else {
        return;
    };
    let (written, skipped): (Vec<_>, Vec<_>) = config
        .iter()
        .partition(|(name, _)| parameter_name_problem(name).is_none());
    for (name, _) in &skipped {
        doc.left_out(
            1,
            "config parameter",
            &format!("{name:?} is not a parameter name manifests accept"),
        );
    }
    if written.is_empty() {
        return;
    }
    doc.comment(
        1,
        "Parameters as the instance reports them; only the keys listed are compared.",
    );
    doc.line(1, "config:");
    for (name, value) in written {
        doc.line(2, &format!("{}: {}", scalar(name), scalar(value)));
    }
}

#[cfg(test)]
mod tests;

//! Which instances a change of the manifests concerns: a pure function of the manifests
//! before and after it (`plan --changed-since REF` compares the manifests at REF with the
//! working tree; the daemon compares the manifests in force with those it just loaded).
//!
//! Manifests are compared as the loader validated and merged them, never as bytes: an
//! instance concerns the change when what it asks for differs, whichever document said it (its
//! `kind: Instance` document, or an `Account` or `Whitelist` document attached to it, on either
//! side); where a document stands in the files (a renamed file, a moved document, a comment)
//! does not matter. Never reads a file or the cloud.

use std::collections::{BTreeMap, BTreeSet};

use crate::manifest::{Desired, DesiredInstance, InstanceKey};

/// Whether two descriptions of an instance ask for the same thing: where in the files the
/// instance and its accounts stand (file, line) does not matter.
pub fn same_intent(before: &DesiredInstance, after: &DesiredInstance) -> bool {
    let mut relocated = DesiredInstance {
        source: after.source.clone(),
        ..before.clone()
    };
    if let (Some(accounts), Some(now)) = (relocated.accounts.as_mut(), after.accounts.as_ref()) {
        for (name, account) in accounts.iter_mut() {
            if let Some(there) = now.get(name) {
                account.source = there.source.clone();
            }
        }
    }
    relocated == *after
}

/// What a change of the manifests concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes {
    /// Every instance: a plan of only some would be wrong.
    Everything(Whole),
    /// Only these instances (both sets may be empty: nothing changed).
    Instances {
        /// Described after the change, and new or asking for something else than before.
        changed: BTreeSet<InstanceKey>,
        /// Described before the change and no longer: the only candidates for pruning.
        deleted: BTreeSet<InstanceKey>,
    },
}

/// Why a change concerns every instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whole {
    /// The `kind: Stack` document (or the stack-wide settings it gives) changed.
    StackChanged,
    /// The manifests after the change describe no instance while those before did: whether
    /// pruning may delete every instance is decided over the whole stack.
    NothingLeft,
}

impl Whole {
    /// Why, in words (for the plan's header).
    pub fn describe(&self) -> &'static str {
        match self {
            Whole::StackChanged => "the Stack document changed",
            Whole::NothingLeft => "the manifests no longer describe any instance",
        }
    }
}

impl Changes {
    /// Whether nothing any instance or the stack depends on changed.
    pub fn is_nothing(&self) -> bool {
        matches!(self, Changes::Instances { changed, deleted } if changed.is_empty() && deleted.is_empty())
    }
}

/// Compares the manifests `before` and `after` a change.
pub fn changes(before: &Desired, after: &Desired) -> Changes {
    if before.stack != after.stack {
        return Changes::Everything(Whole::StackChanged);
    }
    if after.instances.is_empty() && !before.instances.is_empty() {
        return Changes::Everything(Whole::NothingLeft);
    }
    let old: BTreeMap<&InstanceKey, &DesiredInstance> =
        before.instances.iter().map(|i| (&i.key, i)).collect();
    let new: BTreeMap<&InstanceKey, &DesiredInstance> =
        after.instances.iter().map(|i| (&i.key, i)).collect();
    let changed = new
        .iter()
        .filter(|(key, now)| !old.get(*key).is_some_and(|then| same_intent(then, now)))
        .map(|(key, _)| (*key).clone())
        .collect();
    let deleted = old
        .keys()
        .filter(|key| !new.contains_key(*key))
        .map(|key| (*key).clone())
        .collect();
    Changes::Instances { changed, deleted }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::desired::{DesiredAccount, Privilege, Source, Stack};

    fn instance(name: &str, class: &str) -> DesiredInstance {
        let mut instance = DesiredInstance::bare(name);
        instance.instance_class = Some(class.into());
        instance
    }

    fn desired(instances: Vec<DesiredInstance>) -> Desired {
        Desired {
            stack: Stack::default(),
            instances,
        }
    }

    fn key(name: &str) -> InstanceKey {
        InstanceKey {
            region: "cn-hangzhou".into(),
            name: name.into(),
        }
    }

    fn keys(names: &[&str]) -> BTreeSet<InstanceKey> {
        names.iter().map(|name| key(name)).collect()
    }

    /// The account `app` as an `Account` document in `accounts.yaml` describes it.
    fn app_account() -> DesiredAccount {
        DesiredAccount {
            name: "app".into(),
            privilege: Privilege::RoleReadWrite,
            password: None,
            password_site: Default::default(),
            description: None,
            source: Source {
                path: "accounts.yaml".into(),
                line: 3,
                column: 1,
            },
        }
    }

    const SMALL: &str = "redis.master.small.default";
    const MID: &str = "redis.master.mid.default";

    fn fleet() -> Desired {
        desired(vec![
            instance("a", SMALL),
            instance("b", SMALL),
            instance("c", SMALL),
        ])
    }

    #[test]
    fn an_edited_instance_is_the_only_one_in_scope() {
        let mut after = fleet();
        after.instances[1].instance_class = Some(MID.into());
        assert_eq!(
            changes(&fleet(), &after),
            Changes::Instances {
                changed: keys(&["b"]),
                deleted: BTreeSet::new(),
            }
        );
    }

    #[test]
    fn a_new_instance_is_in_scope() {
        let mut after = fleet();
        after.instances.push(instance("d", SMALL));
        assert_eq!(
            changes(&fleet(), &after),
            Changes::Instances {
                changed: keys(&["d"]),
                deleted: BTreeSet::new(),
            }
        );
    }

    #[test]
    fn a_changed_attached_document_puts_its_instance_in_scope() {
        // An `Account` document names instance `c`: the loader merges it into `c`'s accounts,
        // so a change to it (or moving it to another instance) changes what `c` asks for.
        let mut before = fleet();
        let account = app_account();
        let one = |account: &DesiredAccount| Some([("app".to_owned(), account.clone())].into());
        before.instances[2].accounts = one(&account);
        let mut after = before.clone();
        after.instances[2].accounts = one(&DesiredAccount {
            privilege: Privilege::RoleReadOnly,
            ..account.clone()
        });
        assert_eq!(
            changes(&before, &after),
            Changes::Instances {
                changed: keys(&["c"]),
                deleted: BTreeSet::new(),
            }
        );
        // The document moved from `c` to `a`: both are in scope.
        let mut moved = before.clone();
        moved.instances[2].accounts = None;
        moved.instances[0].accounts = one(&account);
        assert_eq!(
            changes(&before, &moved),
            Changes::Instances {
                changed: keys(&["a", "c"]),
                deleted: BTreeSet::new(),
            }
        );
        // A whitelist document likewise.
        let mut listed = before.clone();
        listed.instances[1].whitelists =
            Some([("app".to_owned(), ["10.0.0.1".parse().unwrap()].into())].into());
        assert_eq!(
            changes(&before, &listed),
            Changes::Instances {
                changed: keys(&["b"]),
                deleted: BTreeSet::new(),
            }
        );
    }

    #[test]
    fn a_changed_stack_concerns_everything() {
        let mut after = fleet();
        after.stack.prune = !after.stack.prune;
        assert_eq!(
            changes(&fleet(), &after),
            Changes::Everything(Whole::StackChanged)
        );
        let mut renamed = fleet();
        renamed.stack.name = "other".into();
        assert_eq!(
            changes(&fleet(), &renamed),
            Changes::Everything(Whole::StackChanged)
        );
    }

    #[test]
    fn a_deleted_instance_is_a_prune_candidate_and_nothing_else_is() {
        let mut after = fleet();
        after.instances.remove(0);
        assert_eq!(
            changes(&fleet(), &after),
            Changes::Instances {
                changed: BTreeSet::new(),
                deleted: keys(&["a"]),
            }
        );
        // Moving an instance to another region deletes it where it was.
        let mut moved = fleet();
        moved.instances[0].key.region = "cn-beijing".into();
        assert_eq!(
            changes(&fleet(), &moved),
            Changes::Instances {
                changed: [InstanceKey {
                    region: "cn-beijing".into(),
                    name: "a".into(),
                }]
                .into(),
                deleted: keys(&["a"]),
            }
        );
        // Deleting every instance is decided over the whole stack.
        assert_eq!(
            changes(&fleet(), &desired(Vec::new())),
            Changes::Everything(Whole::NothingLeft)
        );
    }

    #[test]
    fn a_renamed_file_with_the_same_content_changes_nothing() {
        let mut before = fleet();
        let account = app_account();
        before.instances[0].accounts = Some([("app".to_owned(), account)].into());
        let mut after = before.clone();
        for instance in &mut after.instances {
            instance.source.path = "renamed.yaml".into();
            instance.source.line += 7;
            for account in instance.accounts.iter_mut().flat_map(|a| a.values_mut()) {
                account.source.path = "team/accounts.yaml".into();
            }
        }
        let nothing = changes(&before, &after);
        assert!(nothing.is_nothing(), "{nothing:?}");
    }

    #[test]
    fn unchanged_manifests_make_an_empty_scope() {
        let nothing = changes(&fleet(), &fleet());
        assert!(nothing.is_nothing());
        assert_eq!(
            nothing,
            Changes::Instances {
                changed: BTreeSet::new(),
                deleted: BTreeSet::new(),
            }
        );
    }

    /// The manifests of a repository: `(file, text)` pairs, loaded as the loader does.
    fn load(files: &[(&str, &str)]) -> Desired {
        let sources: Vec<(std::path::PathBuf, String)> = files
            .iter()
            .map(|(path, text)| ((*path).into(), (*text).to_owned()))
            .collect();
        crate::manifest::parse(&sources, None).unwrap_or_else(|d| panic!("{d}"))
    }

    const STACK_DOC: &str =
        "apiVersion: kvsync/v1\nkind: Stack\nmetadata: {name: shop}\nspec: {region: cn-hangzhou}\n";

    fn instance_doc(name: &str) -> String {
        format!(
            "apiVersion: kvsync/v1\nkind: Instance\nmetadata: {{name: {name}}}\nspec:\n  instanceClass: redis.master.small.default\n"
        )
    }

    const ATTACHED: &str = "apiVersion: kvsync/v1
kind: Account
metadata: {name: audit_ro, instance: app-b}
spec: {privilege: RoleReadOnly, description: audits}
---
apiVersion: kvsync/v1
kind: Whitelist
metadata: {name: app, instance: app-c}
spec:
  ips: [10.0.0.0/24]
";

    fn repository(attached: &str) -> Desired {
        load(&[
            ("stack.yaml", STACK_DOC),
            ("a.yaml", &instance_doc("app-a")),
            ("b.yaml", &instance_doc("app-b")),
            ("c.yaml", &instance_doc("app-c")),
            ("team/attached.yaml", attached),
        ])
    }

    #[test]
    fn attached_documents_as_written_put_their_instances_in_scope() {
        let before = repository(ATTACHED);
        let described = |changed: &[&str]| Changes::Instances {
            changed: keys(changed),
            deleted: BTreeSet::new(),
        };
        let account_edited = repository(&ATTACHED.replace("audits", "compliance"));
        assert_eq!(changes(&before, &account_edited), described(&["app-b"]));
        let whitelist_edited = repository(&ATTACHED.replace("10.0.0.0/24", "10.0.0.0/16"));
        assert_eq!(changes(&before, &whitelist_edited), described(&["app-c"]));
        // The account moves from `app-b` to `app-a`: it differs on either side.
        let moved = repository(&ATTACHED.replace("instance: app-b", "instance: app-a"));
        assert_eq!(changes(&before, &moved), described(&["app-a", "app-b"]));
        // Comments and layout are not intent.
        let reformatted = repository(&format!("# owned by the audit team\n{ATTACHED}"));
        assert!(changes(&before, &reformatted).is_nothing());
    }

    #[test]
    fn files_renamed_with_the_same_content_change_nothing() {
        let before = repository(ATTACHED);
        let after = load(&[
            ("stack.yaml", STACK_DOC),
            (
                "all.yaml",
                &format!("{}---\n{}", instance_doc("app-a"), instance_doc("app-b")),
            ),
            ("more/c.yaml", &instance_doc("app-c")),
            ("attached.yaml", ATTACHED),
        ]);
        assert!(changes(&before, &after).is_nothing());
    }

    #[test]
    fn a_stack_document_edited_concerns_everything() {
        let before = repository(ATTACHED);
        let after = load(&[
            (
                "stack.yaml",
                &STACK_DOC.replace("region: cn-hangzhou", "region: cn-hangzhou, prune: true"),
            ),
            ("a.yaml", &instance_doc("app-a")),
            ("b.yaml", &instance_doc("app-b")),
            ("c.yaml", &instance_doc("app-c")),
            ("team/attached.yaml", ATTACHED),
        ]);
        assert_eq!(
            changes(&before, &after),
            Changes::Everything(Whole::StackChanged)
        );
    }
}

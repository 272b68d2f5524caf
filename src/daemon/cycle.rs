//! What one wake-up of the daemon does, decided from what woke it and how the manifests
//! changed: a fresh full reconcile, one slice of the interval's refresh, or a re-plan of only
//! the instances whose desired state changed.

use std::collections::BTreeSet;
use std::time::Duration;

use super::cache::Freshness;
use super::triggers::Trigger;
use crate::manifest::{Desired, InstanceKey};
use crate::plan::changes::{self, Changes};

/// How the manifests in force changed since the last wake-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Nothing any instance or the stack depends on.
    Nothing,
    /// These instances were added or changed; nothing was removed and the stack is the same.
    Instances(BTreeSet<InstanceKey>),
    /// The stack document changed, an instance was removed, or there was nothing before.
    Everything,
}

/// Compares the manifests in force before and after a load ([`changes::changes`]; a removal
/// re-plans everything, so that pruning sees the whole stack).
pub fn change(before: Option<&Desired>, after: &Desired) -> Change {
    let Some(before) = before else {
        return Change::Everything;
    };
    match changes::changes(before, after) {
        Changes::Everything(_) => Change::Everything,
        Changes::Instances { deleted, .. } if !deleted.is_empty() => Change::Everything,
        Changes::Instances { changed, .. } if changed.is_empty() => Change::Nothing,
        Changes::Instances { changed, .. } => Change::Instances(changed),
    }
}

/// What a wake-up does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cycle {
    /// Observe everything under this freshness, then plan and act on everything.
    Full(Freshness),
    /// Re-plan only these instances, from observations no older than `max_age`.
    Only {
        /// The instances.
        keys: BTreeSet<InstanceKey>,
        /// The oldest usable observation.
        max_age: Duration,
    },
    /// Nothing to do: the manifests changed in no way that matters.
    Skip,
}

impl Cycle {
    /// What kind of cycle this is, as a word in logs: `full` (every instance, read afresh or
    /// from a fresh enough cache), `slice` (every instance, one slice read afresh), `changed`
    /// (only the instances whose desired state changed) or `none`.
    pub fn kind(&self) -> &'static str {
        match self {
            Cycle::Full(Freshness::Slice { .. }) => "slice",
            Cycle::Full(Freshness::Fresh | Freshness::Cached { .. }) => "full",
            Cycle::Only { .. } => "changed",
            Cycle::Skip => "none",
        }
    }
}

impl std::fmt::Display for Cycle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.kind())
    }
}

/// The refresh of the whole fleet is spread over `slices` ticks of one interval.
#[derive(Debug, Clone, Copy)]
pub struct Spread {
    /// Ticks per interval.
    pub slices: usize,
    /// The oldest observation a manifest change may be planned from.
    pub max_age: Duration,
}

/// Decides what a wake-up does. `triggers` are everything that woke it (coalesced);
/// `next_slice` is the slice an interval tick refreshes.
pub fn decide(triggers: &[Trigger], change: &Change, spread: Spread, next_slice: usize) -> Cycle {
    if triggers.iter().any(|t| {
        matches!(
            t,
            Trigger::Startup | Trigger::Hangup | Trigger::Window | Trigger::Shards
        )
    }) {
        return Cycle::Full(Freshness::Fresh);
    }
    if triggers.contains(&Trigger::Interval) {
        return Cycle::Full(Freshness::Slice {
            index: next_slice % spread.slices.max(1),
            of: spread.slices.max(1),
        });
    }
    match change {
        Change::Nothing => Cycle::Skip,
        Change::Instances(keys) => Cycle::Only {
            keys: keys.clone(),
            max_age: spread.max_age,
        },
        Change::Everything => Cycle::Full(Freshness::Cached {
            max_age: spread.max_age,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::DesiredInstance;
    use crate::manifest::desired::Stack;

    fn instance(name: &str, class: &str, line: u64) -> DesiredInstance {
        let mut instance = DesiredInstance::bare(name);
        instance.source.line = line;
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

    const SMALL: &str = "redis.master.small.default";
    const MID: &str = "redis.master.mid.default";

    #[test]
    fn only_instances_whose_intent_changed_count() {
        let before = desired(vec![instance("a", SMALL, 1), instance("b", SMALL, 10)]);
        // `b` moved down the file (a comment was added) and `c` is new; `a` changed class.
        let after = desired(vec![
            instance("a", MID, 1),
            instance("b", SMALL, 14),
            instance("c", SMALL, 20),
        ]);
        assert_eq!(
            change(Some(&before), &after),
            Change::Instances(BTreeSet::from([key("a"), key("c")]))
        );
        let moved = desired(vec![instance("a", SMALL, 3), instance("b", SMALL, 12)]);
        assert_eq!(change(Some(&before), &moved), Change::Nothing);
    }

    #[test]
    fn removals_stack_changes_and_first_loads_concern_everything() {
        let before = desired(vec![instance("a", SMALL, 1), instance("b", SMALL, 10)]);
        let removed = desired(vec![instance("a", SMALL, 1)]);
        assert_eq!(change(Some(&before), &removed), Change::Everything);
        let mut pruning = before.clone();
        pruning.stack.prune = !pruning.stack.prune;
        assert_eq!(change(Some(&before), &pruning), Change::Everything);
        assert_eq!(change(None, &before), Change::Everything);
    }

    #[test]
    fn the_trigger_decides_the_freshness() {
        let spread = Spread {
            slices: 4,
            max_age: Duration::from_secs(120),
        };
        let changed = Change::Instances(BTreeSet::from([key("a")]));
        assert_eq!(
            decide(&[Trigger::Files, Trigger::Hangup], &changed, spread, 0),
            Cycle::Full(Freshness::Fresh)
        );
        assert_eq!(
            decide(&[Trigger::Startup], &Change::Everything, spread, 0),
            Cycle::Full(Freshness::Fresh)
        );
        assert_eq!(
            decide(&[Trigger::Interval, Trigger::Files], &changed, spread, 6),
            Cycle::Full(Freshness::Slice { index: 2, of: 4 })
        );
        assert_eq!(
            decide(&[Trigger::Git], &changed, spread, 0),
            Cycle::Only {
                keys: BTreeSet::from([key("a")]),
                max_age: spread.max_age
            }
        );
        assert_eq!(
            decide(&[Trigger::Files], &Change::Everything, spread, 0),
            Cycle::Full(Freshness::Cached {
                max_age: spread.max_age
            })
        );
        assert_eq!(
            decide(&[Trigger::Files], &Change::Nothing, spread, 0),
            Cycle::Skip
        );
    }
}

//! Who should hold which shard: a pure function of the shards, the live replicas and who holds
//! what now, that every replica computes alike from the same etcd snapshot.
//!
//! The assignment is balanced — each replica gets ⌊n ÷ r⌋ or ⌈n ÷ r⌉ of the n shards that no
//! other run holds — and sticky: a replica keeps the shards it holds up to its share, the
//! replicas holding the most get the larger shares, and only the surplus moves. Replicas that
//! saw different snapshots may briefly disagree; that costs a claim that fails, never safety,
//! because a shard is taken only by a transaction that finds its key absent.

use std::collections::{BTreeMap, BTreeSet};

use super::Shard;

/// Who holds a shard's key now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Holder {
    /// A registered replica, by name.
    Replica(String),
    /// Something else: a CLI `apply --coordination`, or a replica that is no longer registered
    /// (its key lives until its lease ends). Such a shard is left alone.
    Other,
}

/// The replica each shard should be held by; shards held by [`Holder::Other`] are absent.
pub fn assign(
    shards: &BTreeSet<Shard>,
    replicas: &BTreeSet<String>,
    holders: &BTreeMap<Shard, Holder>,
) -> BTreeMap<Shard, String> {
    let free: Vec<&Shard> = shards
        .iter()
        .filter(|shard| holders.get(*shard) != Some(&Holder::Other))
        .collect();
    if replicas.is_empty() || free.is_empty() {
        return BTreeMap::new();
    }
    let held_by =
        |name: &str, shard: &Shard| holders.get(shard) == Some(&Holder::Replica(name.to_owned()));
    let holding = |name: &str| free.iter().filter(|shard| held_by(name, shard)).count();
    // The larger shares go to the replicas holding the most (then by name), so that as few
    // shards as possible move.
    let mut by_holding: Vec<&String> = replicas.iter().collect();
    by_holding.sort_by(|a, b| holding(b).cmp(&holding(a)).then(a.cmp(b)));
    let base = free.len() / replicas.len();
    let larger = free.len() % replicas.len();
    let mut room: BTreeMap<&String, usize> = by_holding
        .iter()
        .enumerate()
        .map(|(rank, name)| (*name, base + usize::from(rank < larger)))
        .collect();
    let mut assignment = BTreeMap::new();
    // Each replica keeps what it holds, up to its share.
    for shard in &free {
        if let Some(Holder::Replica(name)) = holders.get(*shard)
            && let Some(left) = room.get_mut(name)
            && *left > 0
        {
            *left -= 1;
            assignment.insert((*shard).clone(), name.clone());
        }
    }
    // The rest go, in shard order, to the replica with the most room left (then by name).
    for shard in free {
        if assignment.contains_key(shard) {
            continue;
        }
        let chosen = room
            .iter()
            .filter(|(_, left)| **left > 0)
            .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
            .map(|(name, _)| (*name).clone());
        if let Some(name) = chosen {
            if let Some(left) = room.get_mut(&name) {
                *left -= 1;
            }
            assignment.insert(shard.clone(), name);
        }
    }
    assignment
}

/// What `me` should do now: the shards to claim (assigned to it and held by no one) and the
/// shards to hand over at the end of its cycle (held by it, and assigned to another replica
/// or no longer a shard at all).
pub fn moves(
    me: &str,
    shards: &BTreeSet<Shard>,
    replicas: &BTreeSet<String>,
    holders: &BTreeMap<Shard, Holder>,
) -> (Vec<Shard>, Vec<Shard>) {
    let assignment = assign(shards, replicas, holders);
    let claim = assignment
        .iter()
        .filter(|(shard, name)| *name == me && !holders.contains_key(*shard))
        .map(|(shard, _)| shard.clone())
        .collect();
    let hand_over = holders
        .iter()
        .filter(|(_, holder)| **holder == Holder::Replica(me.to_owned()))
        .filter(|(shard, _)| assignment.get(*shard).is_none_or(|name| name != me))
        .map(|(shard, _)| shard.clone())
        .collect();
    (claim, hand_over)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shards(n: usize) -> BTreeSet<Shard> {
        (0..n)
            .map(|i| Shard {
                account: None,
                stack: "shop".into(),
                region: format!("r{i:02}"),
            })
            .collect()
    }

    fn names(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    fn counts(assignment: &BTreeMap<Shard, String>) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for name in assignment.values() {
            *counts.entry(name.clone()).or_insert(0) += 1;
        }
        counts
    }

    fn held(assignment: &BTreeMap<Shard, String>) -> BTreeMap<Shard, Holder> {
        assignment
            .iter()
            .map(|(shard, name)| (shard.clone(), Holder::Replica(name.clone())))
            .collect()
    }

    #[test]
    fn every_shard_goes_to_someone_and_shares_differ_by_at_most_one() {
        for n in 0..30 {
            for r in 1..7 {
                let replicas: BTreeSet<String> = (0..r).map(|i| format!("k{i}")).collect();
                let assignment = assign(&shards(n), &replicas, &BTreeMap::new());
                assert_eq!(assignment.len(), n, "n={n} r={r}");
                let counts = counts(&assignment);
                let (min, max) = (
                    replicas
                        .iter()
                        .map(|k| counts.get(k).copied().unwrap_or(0))
                        .min()
                        .unwrap(),
                    replicas
                        .iter()
                        .map(|k| counts.get(k).copied().unwrap_or(0))
                        .max()
                        .unwrap(),
                );
                assert!(max - min <= 1, "n={n} r={r}: {counts:?}");
            }
        }
    }

    #[test]
    fn twelve_shards_over_three_replicas_are_four_each() {
        let assignment = assign(&shards(12), &names(&["a", "b", "c"]), &BTreeMap::new());
        assert_eq!(
            counts(&assignment),
            [("a".into(), 4), ("b".into(), 4), ("c".into(), 4)].into()
        );
    }

    #[test]
    fn a_replica_that_dies_leaves_its_shards_to_the_others_and_nothing_else_moves() {
        let all = shards(12);
        let before = assign(&all, &names(&["a", "b", "c"]), &BTreeMap::new());
        // c's lease ended: its keys are gone.
        let mut holders = held(&before);
        holders.retain(|_, holder| *holder != Holder::Replica("c".into()));
        let after = assign(&all, &names(&["a", "b"]), &holders);
        assert_eq!(counts(&after), [("a".into(), 6), ("b".into(), 6)].into());
        for (shard, name) in &before {
            if name != "c" {
                assert_eq!(after.get(shard), Some(name), "{shard:?} moved");
            }
        }
    }

    #[test]
    fn a_replica_that_joins_takes_only_the_surplus() {
        let all = shards(12);
        let two = assign(&all, &names(&["a", "b"]), &BTreeMap::new());
        let holders = held(&two);
        let three = assign(&all, &names(&["a", "b", "c"]), &holders);
        assert_eq!(
            counts(&three),
            [("a".into(), 4), ("b".into(), 4), ("c".into(), 4)].into()
        );
        let moved = three
            .iter()
            .filter(|(shard, name)| two[*shard] != **name)
            .count();
        assert_eq!(moved, 4, "only c's share moves");
        // What a and b do: hand over two each; c claims nothing until they are released.
        let (claim, hand_over) = moves("a", &all, &names(&["a", "b", "c"]), &holders);
        assert!(claim.is_empty());
        assert_eq!(hand_over.len(), 2);
        let (claim, hand_over) = moves("c", &all, &names(&["a", "b", "c"]), &holders);
        assert!(claim.is_empty(), "every shard is still held");
        assert!(hand_over.is_empty());
    }

    #[test]
    fn shards_another_run_holds_are_left_alone_and_not_counted() {
        let all = shards(4);
        let busy = all.iter().next().unwrap().clone();
        let holders: BTreeMap<Shard, Holder> = [(busy.clone(), Holder::Other)].into();
        let assignment = assign(&all, &names(&["a", "b"]), &holders);
        assert!(!assignment.contains_key(&busy));
        assert_eq!(assignment.len(), 3);
        let (claim, _) = moves("a", &all, &names(&["a", "b"]), &holders);
        assert!(!claim.contains(&busy));
    }

    #[test]
    fn a_shard_no_longer_described_is_handed_over() {
        let all = shards(3);
        let gone = Shard {
            account: None,
            stack: "shop".into(),
            region: "gone-1".into(),
        };
        let holders: BTreeMap<Shard, Holder> = [(gone.clone(), Holder::Replica("a".into()))].into();
        let (claim, hand_over) = moves("a", &all, &names(&["a"]), &holders);
        assert_eq!(claim.len(), 3);
        assert_eq!(hand_over, vec![gone]);
    }

    #[test]
    fn every_replica_computes_the_same_assignment() {
        let all = shards(10);
        let holders: BTreeMap<Shard, Holder> = all
            .iter()
            .take(5)
            .map(|shard| (shard.clone(), Holder::Replica("b".into())))
            .collect();
        let replicas = names(&["a", "b", "c"]);
        let first = assign(&all, &replicas, &holders);
        assert_eq!(assign(&all, &replicas, &holders), first);
        // b keeps four of its five (the larger share), the fifth moves.
        assert_eq!(counts(&first)["b"], 4);
        let claims: usize = ["a", "b", "c"]
            .iter()
            .map(|me| moves(me, &all, &replicas, &holders).0.len())
            .sum();
        assert_eq!(
            claims, 5,
            "the five unheld shards, each claimed by one replica"
        );
    }
}

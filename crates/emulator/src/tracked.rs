//! A map that remembers which of its keys changed, so that persisting a request costs the
//! entries it touched rather than the whole state.
//!
//! Reading goes through `Deref` to the inner `BTreeMap`; every way to change an entry is a
//! method here that marks its key. There is no `DerefMut`: a change the map does not see
//! cannot compile.
//!
//! Marks are kept twice, for two independent readers: the *unsaved* ones until persistence
//! takes them ([`Tracked::take_unsaved`]), the *touched* ones until the state's own indexes
//! take them ([`Tracked::take_touched`]). Neither grows beyond the map's keys.

use std::borrow::Borrow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// What changed in a [`Tracked`] map since its changes were last taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Changes<K> {
    /// These keys were inserted, changed or removed.
    Keys(BTreeSet<K>),
    /// The map was handed out whole for changing: any entry may differ.
    Whole,
}

impl<K> Default for Changes<K> {
    fn default() -> Self {
        Changes::Keys(BTreeSet::new())
    }
}

impl<K: Ord> Changes<K> {
    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        matches!(self, Changes::Keys(keys) if keys.is_empty())
    }

    fn mark(&mut self, key: K) {
        if let Changes::Keys(keys) = self {
            keys.insert(key);
        }
    }
}

/// A `BTreeMap` whose changes are recorded by key. It serialises as the plain map.
#[derive(Debug, Clone)]
pub struct Tracked<K, V> {
    map: BTreeMap<K, V>,
    unsaved: Changes<K>,
    touched: Changes<K>,
}

impl<K, V> Default for Tracked<K, V> {
    fn default() -> Self {
        Tracked {
            map: BTreeMap::new(),
            unsaved: Changes::default(),
            touched: Changes::default(),
        }
    }
}

impl<K, V> Deref for Tracked<K, V> {
    type Target = BTreeMap<K, V>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl<K: Ord + Clone, V> Tracked<K, V> {
    fn mark(&mut self, key: &K) {
        self.unsaved.mark(key.clone());
        self.touched.mark(key.clone());
    }

    /// The entry of `key` for changing; its key is marked even if the caller leaves it as it is.
    pub fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let found = self.map.get_key_value(key)?.0.clone();
        self.mark(&found);
        self.map.get_mut(key)
    }

    /// Inserts or replaces the entry of `key`.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.mark(&key);
        self.map.insert(key, value)
    }

    /// Removes the entry of `key`.
    pub fn remove<Q>(&mut self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
        Q: Ord + ?Sized,
    {
        let (removed_key, value) = self.map.remove_entry(key)?;
        self.mark(&removed_key);
        Some(value)
    }

    /// Keeps the entries `keep` accepts; the others are removed and marked.
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &mut V) -> bool) {
        let mut removed = Vec::new();
        self.map.retain(|key, value| {
            let kept = keep(key, value);
            if !kept {
                removed.push(key.clone());
            }
            kept
        });
        for key in &removed {
            self.mark(key);
        }
    }

    /// The whole map for changing; every entry counts as changed.
    pub fn whole_mut(&mut self) -> &mut BTreeMap<K, V> {
        self.unsaved = Changes::Whole;
        self.touched = Changes::Whole;
        &mut self.map
    }

    /// The entries, without their marks.
    pub fn into_map(self) -> BTreeMap<K, V> {
        self.map
    }

    /// What changed since persistence last took it, leaving nothing unsaved.
    pub fn take_unsaved(&mut self) -> Changes<K> {
        std::mem::take(&mut self.unsaved)
    }

    /// What changed since persistence last took it, without taking it.
    pub fn unsaved(&self) -> &Changes<K> {
        &self.unsaved
    }

    /// What changed since the state's indexes last took it.
    pub fn take_touched(&mut self) -> Changes<K> {
        std::mem::take(&mut self.touched)
    }
}

impl<K: Ord + Clone, V> Extend<(K, V)> for Tracked<K, V> {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, entries: I) {
        for (key, value) in entries {
            self.insert(key, value);
        }
    }
}

impl<K: Ord + Clone, V> FromIterator<(K, V)> for Tracked<K, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(entries: I) -> Self {
        Tracked::from(entries.into_iter().collect::<BTreeMap<K, V>>())
    }
}

impl<K, V> From<BTreeMap<K, V>> for Tracked<K, V> {
    /// A map whose present entries count as unchanged.
    fn from(map: BTreeMap<K, V>) -> Self {
        Tracked {
            map,
            unsaved: Changes::default(),
            touched: Changes::default(),
        }
    }
}

impl<K: PartialEq, V: PartialEq> PartialEq for Tracked<K, V> {
    /// Equal when the entries are; what is marked does not count.
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Serialize, V: Serialize> Serialize for Tracked<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(serializer)
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Tracked<K, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        BTreeMap::deserialize(deserializer).map(Tracked::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(changes: Changes<&'static str>) -> Vec<&'static str> {
        match changes {
            Changes::Keys(keys) => keys.into_iter().collect(),
            Changes::Whole => vec!["<whole>"],
        }
    }

    #[test]
    fn every_change_marks_its_key_and_reads_mark_nothing() {
        let mut map: Tracked<&str, u32> = [("a", 1), ("b", 2), ("c", 3)].into_iter().collect();
        assert!(map.unsaved().is_empty(), "built entries are not changes");
        assert_eq!(map.get("a"), Some(&1));
        assert_eq!(map.len(), 3);
        assert!(map.take_unsaved().is_empty());

        *map.get_mut("a").unwrap() = 10;
        map.insert("d", 4);
        map.remove("b");
        assert_eq!(map.get_mut("zzz"), None);
        assert_eq!(map.remove("zzz"), None);
        assert_eq!(keys(map.take_unsaved()), vec!["a", "b", "d"]);
        assert_eq!(
            keys(map.take_touched()),
            vec!["a", "b", "d"],
            "both readers see it"
        );
        assert!(map.take_touched().is_empty());
        assert!(map.take_unsaved().is_empty(), "taken changes are cleared");

        map.retain(|_, value| *value > 3);
        assert_eq!(keys(map.take_unsaved()), vec!["c"]);
        assert_eq!(map.keys().copied().collect::<Vec<_>>(), vec!["a", "d"]);

        map.whole_mut().clear();
        assert_eq!(keys(map.take_unsaved()), vec!["<whole>"]);
        map.whole_mut();
        map.insert("e", 5);
        assert_eq!(
            keys(map.take_unsaved()),
            vec!["<whole>"],
            "whole absorbs keys"
        );
    }

    #[test]
    fn it_serialises_as_the_plain_map_and_compares_by_entries() {
        let mut map: Tracked<String, u32> = Tracked::default();
        map.insert("x".into(), 1);
        let json = serde_json::to_string(&map).unwrap();
        assert_eq!(json, r#"{"x":1}"#);
        let back: Tracked<String, u32> = serde_json::from_str(&json).unwrap();
        assert!(back.unsaved().is_empty());
        assert_eq!(back, map, "marks do not count in equality");
    }
}

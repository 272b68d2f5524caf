//! Finding places in a document when serde-saphyr's own location is not the one to report.
//!
//! A missing field has no place of its own: serde-saphyr reports it at the mapping's last key,
//! which reads as if that key were wrong. [`mapping_start`] finds the first key of the mapping
//! instead. A tab in indentation is reported after the tab or at the start of the scalar it
//! breaks; [`tab_position`] finds the tab. [`strings`] lists every string scalar of a document,
//! keys included, with its location, for rules about every text a manifest holds.

use std::fmt;

use serde::de::{MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_saphyr::{Location, Spanned};

/// The shape of a YAML node, with the location of every node and the text of every string
/// scalar.
#[derive(Debug)]
enum Node {
    Text(String),
    Scalar,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(Spanned<Node>, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NodeVisitor;

        impl<'de> Visitor<'de> for NodeVisitor {
            type Value = Node;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_str<E>(self, v: &str) -> Result<Node, E> {
                Ok(Node::Text(v.to_owned()))
            }
            fn visit_bytes<E>(self, _: &[u8]) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
                Node::deserialize(deserializer)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Spanned<Node>>()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Node::Map(entries))
            }
        }

        deserializer.deserialize_any(NodeVisitor)
    }
}

/// The first key of the mapping that has a key at `key` (line and column), searching `node`
/// depth first.
fn first_key_of(node: &Node, key: (u64, u64)) -> Option<Location> {
    match node {
        Node::Text(_) | Node::Scalar => None,
        Node::Seq(items) => items.iter().find_map(|item| first_key_of(&item.value, key)),
        Node::Map(entries) => {
            if entries
                .iter()
                .any(|(at, _)| (at.referenced.line(), at.referenced.column()) == key)
            {
                return entries.first().map(|(at, _)| at.referenced);
            }
            entries
                .iter()
                .find_map(|(_, value)| first_key_of(&value.value, key))
        }
    }
}

fn collect_strings(node: Spanned<Node>, out: &mut Vec<(Location, String)>) {
    match node.value {
        Node::Text(text) => out.push((node.referenced, text)),
        Node::Scalar => {}
        Node::Seq(items) => items
            .into_iter()
            .for_each(|item| collect_strings(item, out)),
        Node::Map(entries) => {
            for (key, value) in entries {
                collect_strings(key, out);
                collect_strings(value, out);
            }
        }
    }
}

/// Every string scalar of `text` (keys and values, in document order) with its location, if
/// `text` parses as YAML with `options`.
pub(super) fn strings(
    text: &str,
    options: serde_saphyr::Options,
) -> Option<Vec<(Location, String)>> {
    let root: Spanned<Node> = serde_saphyr::from_str_with_options(text, options).ok()?;
    let mut out = Vec::new();
    collect_strings(root, &mut out);
    Some(out)
}

/// Where the mapping that has a key at `key` (line and column) starts, that is its first key,
/// if `text` parses as YAML with `options` and has such a mapping.
pub(super) fn mapping_start(
    text: &str,
    options: serde_saphyr::Options,
    key: (u64, u64),
) -> Option<Location> {
    let root: Node = serde_saphyr::from_str_with_options(text, options).ok()?;
    first_key_of(&root, key)
}

/// The 1-based column of the first tab in the indentation of `line`, if any.
fn indentation_tab(line: &str) -> Option<u64> {
    line.char_indices()
        .take_while(|(_, c)| matches!(c, ' ' | '\t' | '-'))
        .find(|(_, c)| *c == '\t')
        .map(|(i, _)| line[..i].chars().count() as u64 + 1)
}

/// Where the tab is that a "tab" error at `line` and `column` (1-based) of `text` is about:
/// the first tab in the indentation of that line before `column`, else the first tab in the
/// indentation of a later line (the scanner reports a tab that breaks a multi-line plain
/// scalar at the scalar's start).
pub(super) fn tab_position(text: &str, line: u64, column: u64) -> Option<(u64, u64)> {
    let index = usize::try_from(line.checked_sub(1)?).ok()?;
    let mut lines = text.lines().skip(index);
    if let Some(tab) = indentation_tab(lines.next()?)
        && tab < column
    {
        return Some((line, tab));
    }
    lines
        .zip(line + 1..)
        .find_map(|(text, number)| indentation_tab(text).map(|tab| (number, tab)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> serde_saphyr::Options {
        serde_saphyr::options! { with_snippet: false }
    }

    fn start(text: &str, line: u64, column: u64) -> Option<(u64, u64)> {
        mapping_start(text, options(), (line, column)).map(|at| (at.line(), at.column()))
    }

    #[test]
    fn a_key_leads_to_the_first_key_of_its_mapping() {
        let text =
            "# c\napiVersion: v\nmetadata:\n  region: r\n  labels:\n    a: b\nspec: {x: 1, y: 2}\n";
        assert_eq!(start(text, 7, 1), Some((2, 1)));
        assert_eq!(start(text, 5, 3), Some((4, 3)));
        assert_eq!(start(text, 6, 5), Some((6, 5)));
        assert_eq!(start(text, 7, 14), Some((7, 8)));
        assert_eq!(start(text, 4, 4), None);
    }

    #[test]
    fn mappings_inside_lists_are_found() {
        let text =
            "accounts:\n  - name: a\n    privilege: p\n  - privilege: q\n    password: {env: X}\n";
        assert_eq!(start(text, 5, 5), Some((4, 5)));
        assert_eq!(start(text, 3, 5), Some((2, 5)));
    }

    #[test]
    fn every_string_is_listed_with_its_place() {
        let text = "a: x\nb: [1, \"y\", {c: z}]\n";
        let found: Vec<(u64, u64, String)> = strings(text, options())
            .unwrap()
            .into_iter()
            .map(|(at, s)| (at.line(), at.column(), s))
            .collect();
        assert_eq!(
            found,
            [
                (1, 1, "a".to_owned()),
                (1, 4, "x".to_owned()),
                (2, 1, "b".to_owned()),
                (2, 8, "y".to_owned()),
                (2, 14, "c".to_owned()),
                (2, 17, "z".to_owned()),
            ]
        );
    }

    #[test]
    fn broken_yaml_finds_nothing() {
        assert_eq!(start("a: [1\n", 1, 1), None);
    }

    #[test]
    fn tabs_in_indentation_are_found() {
        let text = "labels:\n\tteam: orders\n  \t x: 1\nkey:\tvalue\n";
        assert_eq!(tab_position(text, 2, 2), Some((2, 1)));
        assert_eq!(tab_position(text, 3, 5), Some((3, 3)));
        assert_eq!(tab_position(text, 2, 1), Some((3, 3)));
        assert_eq!(tab_position(text, 4, 5), None);
        assert_eq!(tab_position(text, 9, 2), None);
        let scalar = "metadata:\n  name: orders\n\tregion: r\n";
        assert_eq!(tab_position(scalar, 2, 9), Some((3, 1)));
    }
}

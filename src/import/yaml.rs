//! YAML scalars that read back as exactly the text written.
//!
//! A value is written plain only when every YAML 1.1 and 1.2 resolver reads it as that same
//! string: words of letters, digits, `-`, `_`, `.` and `/` that start with a letter and are not
//! a boolean or null keyword, and address-like text (`10.0.1.0/24`, `127.0.0.1`) that no
//! resolver takes for a number. Everything else (`"6.0"`, `"yes"`, `"512"`, `"02:00Z"`, `""`,
//! text with spaces or punctuation) is double-quoted with escapes.

use std::fmt::Write as _;

/// Words that YAML 1.1 or 1.2 resolve to a boolean or null when plain (any case).
const KEYWORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "y", "n", "null"];

/// `text` as a YAML scalar (plain when that is unambiguous, else double-quoted).
pub fn scalar(text: &str) -> String {
    if plain_is_safe(text) {
        text.to_owned()
    } else {
        quoted(text)
    }
}

/// Whether `text` reads back as the same string when written plain, in block or flow context.
pub fn plain_is_safe(text: &str) -> bool {
    let Some(first) = text.chars().next() else {
        return false;
    };
    if !text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
    {
        return false;
    }
    if first.is_ascii_alphabetic() {
        return !KEYWORDS.iter().any(|word| word.eq_ignore_ascii_case(text));
    }
    // Digits first: only addresses and CIDR blocks, which no resolver reads as a number (a
    // float has one dot at most; a slash is never part of a number).
    first.is_ascii_digit()
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.' || c == '/')
        && (text.matches('.').count() >= 2 || text.contains('/'))
}

/// `text` double-quoted: `"` and `\` escaped, control and line-break characters as escapes.
pub fn quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}' | '\u{feff}') => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A flow sequence of scalars: `[a, "b c"]`.
pub fn flow_list<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    let items: Vec<String> = items.into_iter().map(scalar).collect();
    format!("[{}]", items.join(", "))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::manifest::raw::ConfigValue;

    fn options() -> serde_saphyr::Options {
        serde_saphyr::options! {
            strict_booleans: true,
            duplicate_keys: serde_saphyr::DuplicateKeyPolicy::Error,
        }
    }

    /// Reads `key: <scalar>` back the way the manifest loader reads config values (any scalar
    /// kept as text) and plain strings, and in a flow sequence.
    fn round_trips(text: &str) -> bool {
        let written = scalar(text);
        let block = format!("{}: {written}\n", scalar("k"));
        let as_value: BTreeMap<String, ConfigValue> =
            serde_saphyr::from_str_with_options(&block, options())
                .unwrap_or_else(|err| panic!("{block:?}: {err}"));
        let as_string: BTreeMap<String, String> =
            serde_saphyr::from_str_with_options(&block, options())
                .unwrap_or_else(|err| panic!("{block:?}: {err}"));
        let flow = format!("k: {}\n", flow_list([text, text]));
        let as_list: BTreeMap<String, Vec<ConfigValue>> =
            serde_saphyr::from_str_with_options(&flow, options())
                .unwrap_or_else(|err| panic!("{flow:?}: {err}"));
        let key_block = format!("{written}: x\n");
        let as_key: BTreeMap<String, String> =
            serde_saphyr::from_str_with_options(&key_block, options())
                .unwrap_or_else(|err| panic!("{key_block:?}: {err}"));
        as_value["k"].0 == text
            && as_string["k"] == text
            && as_list["k"].iter().all(|v| v.0 == text)
            && as_key.keys().eq([text])
    }

    #[test]
    fn words_and_addresses_stay_plain() {
        for text in [
            "allkeys-lru",
            "Ex",
            "redis.master.small.default",
            "cn-hangzhou-b",
            "vpc-bp1abc",
            "r-bp1zxszhcgatnx",
            "RoleReadWrite",
            "127.0.0.1",
            "10.0.1.0/24",
            "0.0.0.0/0",
        ] {
            assert_eq!(scalar(text), text);
            assert!(round_trips(text), "{text}");
        }
    }

    #[test]
    fn look_alikes_of_other_types_are_quoted() {
        for text in [
            "6.0",
            "5.0",
            "2.8",
            "512",
            "0512",
            "-1",
            "+1",
            "1e3",
            "0x1F",
            "0o17",
            "1_000",
            ".inf",
            "-.inf",
            ".nan",
            "NaN",
            "yes",
            "No",
            "ON",
            "off",
            "y",
            "N",
            "true",
            "False",
            "null",
            "Null",
            "~",
            "",
            "02:00Z",
            "02:00Z-03:00Z",
            "12:30",
            "2001-12-14",
            "1.5",
        ] {
            let written = scalar(text);
            if text != "NaN" {
                assert!(written.starts_with('"'), "{text} written as {written}");
            }
            assert!(round_trips(text), "{text}");
        }
    }

    #[test]
    fn punctuation_spaces_and_control_characters_are_escaped() {
        for text in [
            "orders service",
            " leading",
            "trailing ",
            "a: b",
            "a #b",
            "#comment",
            "- item",
            "[x]",
            "{x}",
            "a,b",
            "*alias",
            "&anchor",
            "!tag",
            "|",
            ">",
            "'single'",
            "\"double\"",
            "back\\slash",
            "line\nbreak",
            "tab\there",
            "bell\u{7}",
            "订单缓存",
            "%percent",
            "@at",
            "`tick",
            "---",
            "...",
        ] {
            assert!(round_trips(text), "{text:?} written as {}", scalar(text));
        }
        assert_eq!(scalar("line\nbreak"), r#""line\nbreak""#);
        assert_eq!(scalar("say \"hi\""), r#""say \"hi\"""#);
    }

    proptest! {
        #[test]
        fn any_text_round_trips(text in "\\PC{0,24}") {
            prop_assert!(round_trips(&text), "{:?} written as {}", text, scalar(&text));
        }

        #[test]
        fn ascii_punctuation_round_trips(text in "[ -~]{0,12}") {
            prop_assert!(round_trips(&text), "{:?} written as {}", text, scalar(&text));
        }
    }
}

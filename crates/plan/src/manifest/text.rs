//! Text that could deceive a reader: invisible characters, which are refused in manifests and
//! escaped wherever kvsync prints text it did not write, and letters of different scripts
//! that look alike (Unicode UTS #39), which are warned about.
//!
//! Pure functions over `&str`; the Unicode tables come from `unicode-properties` (general
//! categories) and `unicode-security` (identifier types, script sets, confusable skeletons).

use std::collections::BTreeSet;

use unicode_security::mixed_script::AugmentedScriptSet;
use unicode_security::{GeneralSecurityProfile, RestrictionLevel, RestrictionLevelDetection};

pub use kvsync_wire::text::{escape_invisible, escape_invisible_json, first_invisible, invisible};

/// The scripts of the letters in `text` (characters of the Common and Inherited scripts,
/// such as digits, punctuation and combining marks, belong to every script and are left out).
fn scripts(text: &str) -> BTreeSet<String> {
    text.chars()
        .map(AugmentedScriptSet::for_char)
        .filter(|set| !set.base.is_common() && !set.base.is_inherited())
        .map(|set| set.base.to_string())
        .collect()
}

/// Whether `text` mixes scripts in a way UTS #39 calls less than moderately restrictive —
/// Latin with Cyrillic or Greek, say, whose letters look alike — or uses letters restricted
/// from identifiers. Latin with Chinese, Japanese or Korean, or with one other recommended
/// script such as Arabic, is fine. Returns a sentence for a warning, naming the scripts.
pub fn mixed_script_problem(text: &str) -> Option<String> {
    let letters: String = text
        .chars()
        .filter(|c| {
            let set = AugmentedScriptSet::for_char(*c);
            !set.base.is_common() && !set.base.is_inherited()
        })
        .collect();
    if letters.detect_restriction_level() <= RestrictionLevel::ModeratelyRestrictive {
        return None;
    }
    let scripts = scripts(&letters);
    if scripts.len() > 1 {
        let names: Vec<String> = scripts.into_iter().collect();
        Some(format!(
            "mixes letters of the scripts {}, which can look alike (Unicode UTS #39); write it in one script",
            names.join(", ")
        ))
    } else {
        let odd = letters
            .chars()
            .find(|c| !c.identifier_allowed())
            .unwrap_or(' ');
        Some(format!(
            "uses the character U+{:04X}, which Unicode UTS #39 restricts from identifiers",
            u32::from(odd)
        ))
    }
}

/// The UTS #39 confusable skeleton of `text`: two texts with the same skeleton look alike.
pub fn skeleton(text: &str) -> String {
    unicode_security::skeleton(text).collect()
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;

    #[test]
    fn controls_format_and_ignorable_characters_are_invisible() {
        for c in [
            '\u{0}',
            '\u{7}',
            '\t',
            '\n',
            '\u{1b}',
            '\u{7f}',
            '\u{85}',
            '\u{ad}',
            '\u{200b}',
            '\u{200d}',
            '\u{200e}',
            '\u{202e}',
            '\u{2066}',
            '\u{2028}',
            '\u{2060}',
            '\u{feff}',
            '\u{3164}',
            '\u{fe0f}',
            '\u{e0001}',
            '\u{180e}',
            '\u{0600}',
        ] {
            assert!(invisible(c).is_some(), "U+{:04X}", u32::from(c));
        }
        for c in ['a', 'Z', '0', '-', ' ', 'é', 'о', '订', '\u{a0}', '→'] {
            assert_eq!(invisible(c), None, "U+{:04X}", u32::from(c));
        }
        assert_eq!(
            first_invisible("orders\u{200b}cache"),
            Some((6, '\u{200b}', "a zero-width character"))
        );
        assert_eq!(
            invisible('\u{202e}'),
            Some("a bidirectional control character")
        );
    }

    #[test]
    fn escaping_shows_invisible_characters_and_keeps_the_rest() {
        assert!(matches!(escape_invisible("orders-cache"), Cow::Borrowed(_)));
        assert_eq!(
            escape_invisible("a\u{202e}b\u{1b}[31m"),
            "a\\u{202e}b\\u{1b}[31m"
        );
        assert_eq!(escape_invisible("订单 é"), "订单 é");
        let json = serde_json::to_string_pretty(&["x\u{202e}\u{e0001}y"]).unwrap();
        let escaped = escape_invisible_json(&json);
        assert_eq!(escaped, "[\n  \"x\\u202e\\udb40\\udc01y\"\n]");
        let back: Vec<String> = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, ["x\u{202e}\u{e0001}y"]);
    }

    #[test]
    fn mixed_scripts_that_look_alike_are_found() {
        // Cyrillic о (U+043E) among Latin letters.
        let problem = mixed_script_problem("\u{43e}rders-cache").unwrap();
        assert!(problem.contains("Cyrillic, Latin"), "{problem}");
        assert!(mixed_script_problem("c\u{3b1}che").is_some());
        for fine in [
            "orders-cache",
            "订单-cache",
            "заказы",
            "キャッシュ-cache",
            "team_1",
            "",
        ] {
            assert_eq!(mixed_script_problem(fine), None, "{fine}");
        }
    }

    #[test]
    fn lookalikes_share_a_skeleton() {
        assert_eq!(skeleton("orders"), skeleton("\u{43e}rders"));
        assert_ne!(skeleton("orders"), skeleton("orders-2"));
    }
}

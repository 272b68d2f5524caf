//! Text that could deceive a reader: invisible characters, which are refused in manifests and
//! escaped wherever kvsync prints text it did not write (a cloud error, a name the cloud holds).
//!
//! Pure functions over `&str`; the general categories come from `unicode-properties`, default-ignorable code points from
//! `unicode-security`.

use std::borrow::Cow;
use std::fmt::Write as _;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
use unicode_security::GeneralSecurityProfile;
use unicode_security::general_security_profile::IdentifierType;

/// What kind of invisible character `c` is, if it is one: a control character (`Cc`), a
/// bidirectional control, a zero-width character, another format character (`Cf`), a line or
/// paragraph separator, or another default-ignorable code point (which renders as nothing,
/// such as U+3164 HANGUL FILLER or a variation selector).
pub fn invisible(c: char) -> Option<&'static str> {
    if c.is_control() {
        return Some("a control character");
    }
    if matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    {
        return Some("a bidirectional control character");
    }
    if matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}') {
        return Some("a zero-width character");
    }
    match c.general_category() {
        GeneralCategory::Format => return Some("an invisible formatting character"),
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            return Some("a line or paragraph separator");
        }
        _ => {}
    }
    (c.identifier_type() == Some(IdentifierType::Default_Ignorable))
        .then_some("an invisible (default-ignorable) character")
}

/// The first invisible character of `text`: its index in characters (from 0), the character
/// and what kind it is.
pub fn first_invisible(text: &str) -> Option<(usize, char, &'static str)> {
    text.chars()
        .enumerate()
        .find_map(|(index, c)| invisible(c).map(|kind| (index, c, kind)))
}

/// `text` with every invisible character written as a Rust-style escape (`\u{202e}`), so that
/// nothing printed can reorder, hide or restyle what is around it.
pub fn escape_invisible(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| invisible(c).is_some()) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if invisible(c).is_some() {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// JSON text with every invisible character inside its strings written as a JSON escape
/// (`\u202e`, surrogate pairs above U+FFFF): the same JSON value, safe to print. Outside
/// strings JSON has only ASCII and its whitespace (kept); inside, serializers already escape
/// control characters, so every other invisible character is inside a string.
pub fn escape_invisible_json(json: &str) -> Cow<'_, str> {
    let escaped = |c: char| !matches!(c, '\n' | '\r' | '\t') && invisible(c).is_some();
    if !json.chars().any(escaped) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    let mut units = [0u16; 2];
    for c in json.chars() {
        if escaped(c) {
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

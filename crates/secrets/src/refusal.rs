//! kvsync's own refusals while deserialising, by kind.
//!
//! A serde deserialiser can only fail with a message (`de::Error::custom`), which the YAML
//! library passes on as text. So that diagnostics are not classified by matching that text,
//! kvsync's own deserialisers (secret references, strict scalars) fail through [`refuse`],
//! which also records the kind of the refusal and its message on this thread; the classifier
//! asks [`kind_of`] for the kind of the message it was given. Depends on nothing else in kvsync.

use std::cell::RefCell;

/// What a refusal is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalKind {
    /// A secret reference is malformed, or a literal secret stands where a reference belongs.
    SecretReference,
    /// A scalar is not of the type the field takes.
    Type,
}

thread_local! {
    /// The refusals made on this thread since they were last read, newest last.
    static REFUSALS: RefCell<Vec<(RefusalKind, String)>> = const { RefCell::new(Vec::new()) };
}

/// The most refusals remembered; a deserialiser that tries alternatives may refuse several
/// times before one error comes out.
const REMEMBERED: usize = 16;

/// A serde error with `message`, recorded as a refusal of `kind`.
pub fn refuse<E: serde::de::Error>(kind: RefusalKind, message: impl Into<String>) -> E {
    let message = message.into();
    let error = E::custom(&message);
    REFUSALS.with(|refusals| {
        let mut refusals = refusals.borrow_mut();
        if refusals.len() == REMEMBERED {
            refusals.remove(0);
        }
        refusals.push((kind, message));
    });
    error
}

/// The kind of the newest refusal on this thread with exactly `message`, if any; every
/// remembered refusal is forgotten.
pub fn kind_of(message: &str) -> Option<RefusalKind> {
    REFUSALS.with(|refusals| {
        let found = refusals
            .borrow()
            .iter()
            .rev()
            .find(|(_, text)| text == message)
            .map(|(kind, _)| *kind);
        refusals.borrow_mut().clear();
        found
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_found_by_their_exact_message_once() {
        let _: serde_json::Error = refuse(RefusalKind::Type, "expected a number, found x");
        let _: serde_json::Error = refuse(RefusalKind::SecretReference, "not a list");
        assert_eq!(kind_of("not a list"), Some(RefusalKind::SecretReference));
        assert_eq!(kind_of("expected a number, found x"), None);
        let _: serde_json::Error = refuse(RefusalKind::Type, "expected a number, found x");
        assert_eq!(kind_of("expected a number"), None);
        assert_eq!(kind_of("anything"), None);
    }

    #[test]
    fn the_error_carries_the_message() {
        let error: serde_json::Error = refuse(RefusalKind::Type, "expected a boolean");
        assert_eq!(error.to_string(), "expected a boolean");
        assert_eq!(kind_of("expected a boolean"), Some(RefusalKind::Type));
    }
}

//! Secret values that cannot be printed.
//!
//! A [`Secret`] holds a password or key in memory only. Its `Debug`, `Display` and `Serialize`
//! print `***`, so a secret that reaches a log line, an error or a JSON document by mistake
//! still does not leak. The only way to the value is [`Secret::expose`], called where the value
//! is put on the wire or hashed.

use std::fmt;

/// A secret string; every printed form is `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

/// What every printed form of a secret shows.
pub const REDACTED: &str = "***";

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value, for signing, sending or hashing. Never format it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printed_form_is_redacted() {
        let secret = Secret::new("hunter2-very-secret");
        assert_eq!(format!("{secret}"), "***");
        assert_eq!(format!("{secret:?}"), "***");
        assert_eq!(serde_json::to_string(&secret).unwrap(), "\"***\"");
        assert_eq!(secret.expose(), "hunter2-very-secret");
    }
}

//! Request parameters: the flat `Name=value` map of the RPC protocol.
//!
//! [`Params`] is what an action serialises to and what the emulator parses from. Secret values
//! stay [`Secret`]s until the moment of signing, so a `Debug` of a request never shows them.

use std::collections::BTreeMap;
use std::fmt;

use kvsync_secrets::Secret;

/// One parameter value: plain text, or a secret that prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub enum ParamValue {
    /// An ordinary value.
    Plain(String),
    /// A password or other secret.
    Secret(Secret),
}

impl ParamValue {
    /// The value as sent on the wire.
    pub fn expose(&self) -> &str {
        match self {
            ParamValue::Plain(value) => value,
            ParamValue::Secret(secret) => secret.expose(),
        }
    }
}

impl fmt::Debug for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Plain(value) => write!(f, "{value:?}"),
            ParamValue::Secret(secret) => write!(f, "{secret:?}"),
        }
    }
}

/// The parameters of one request, sorted by name.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, ParamValue>);

impl Params {
    /// An empty parameter set.
    pub fn new() -> Self {
        Params::default()
    }

    /// Sets a plain parameter.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.0.insert(name.into(), ParamValue::Plain(value.into()));
        self
    }

    /// Sets a plain parameter when `value` is present.
    pub fn set_opt(&mut self, name: &str, value: Option<impl Into<String>>) -> &mut Self {
        if let Some(value) = value {
            self.set(name, value);
        }
        self
    }

    /// Sets a secret parameter.
    pub fn set_secret(&mut self, name: impl Into<String>, secret: Secret) -> &mut Self {
        self.0.insert(name.into(), ParamValue::Secret(secret));
        self
    }

    /// Sets a list of objects as `Name.1.Key`, `Name.1.Value`, … (1-based), as the SDKs do.
    pub fn set_key_values<'a>(
        &mut self,
        name: &str,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> &mut Self {
        for (index, (key, value)) in pairs.into_iter().enumerate() {
            let n = index + 1;
            self.set(format!("{name}.{n}.Key"), key);
            self.set(format!("{name}.{n}.Value"), value);
        }
        self
    }

    /// The value of a parameter, if present.
    pub fn get(&self, name: &str) -> Option<&ParamValue> {
        self.0.get(name)
    }

    /// Iterates over parameters in signing order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamValue)> {
        self.0.iter().map(|(name, value)| (name.as_str(), value))
    }

    /// The wire form of every parameter, for signing and sending.
    pub fn expose(&self) -> BTreeMap<String, String> {
        self.0
            .iter()
            .map(|(name, value)| (name.clone(), value.expose().to_owned()))
            .collect()
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_redacts_secrets_but_expose_keeps_them() {
        let mut params = Params::new();
        params
            .set("InstanceName", "orders")
            .set_secret("Password", Secret::new("Sup3r-secret"));
        let debug = format!("{params:?}");
        assert!(debug.contains("orders"), "{debug}");
        assert!(!debug.contains("Sup3r-secret"), "{debug}");
        assert_eq!(params.expose()["Password"], "Sup3r-secret");
    }

    #[test]
    fn key_value_lists_are_one_based() {
        let mut params = Params::new();
        params.set_key_values("Tag", [("a", "1"), ("b", "2")]);
        let wire = params.expose();
        assert_eq!(wire["Tag.1.Key"], "a");
        assert_eq!(wire["Tag.2.Value"], "2");
        assert!(!wire.contains_key("Tag.0.Key"));
    }
}

//! An instance's endpoint: its connection string, the prefixes and ports the vendor accepts,
//! and which are free. Shared by creation (`instances`) and endpoint changes (`manage`).

use super::errors::VendorError;
use super::state::{Instance, State};

/// The instance's connection string.
pub(crate) fn connection_domain(instance: &Instance) -> String {
    format!("{}.redis.rds.aliyuncs.com", instance.connection_prefix)
}

/// An endpoint prefix: 8–64 characters, lower-case letters and digits, starting with a letter.
pub(crate) fn valid_connection_prefix(prefix: &str) -> bool {
    (8..=64).contains(&prefix.len())
        && prefix.starts_with(|c: char| c.is_ascii_lowercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

/// A service port clients may choose: 1024–65535.
pub(crate) fn valid_port(port: u64) -> bool {
    (1024..=65535).contains(&port)
}

/// Refuses an endpoint prefix any other instance uses (the domain is shared by all regions),
/// or a port other than the default another instance of `region_id` listens on; `own_id` is
/// the instance being changed, if it exists already. Many instances keep the default port,
/// so only a chosen port must be free.
pub(crate) fn check_endpoint_free(
    state: &State,
    own_id: Option<&str>,
    region_id: &str,
    prefix: Option<&str>,
    port: i64,
) -> Result<(), VendorError> {
    let others = || {
        state
            .instances
            .values()
            .filter(move |other| Some(other.id.as_str()) != own_id)
    };
    let prefix_taken =
        prefix.is_some_and(|prefix| others().any(|other| other.connection_prefix == prefix));
    let port_taken = port != DEFAULT_PORT
        && others().any(|other| other.region_id == region_id && other.port == port);
    if prefix_taken || port_taken {
        Err(VendorError::connection_string_taken())
    } else {
        Ok(())
    }
}

/// The port an instance listens on unless another is chosen.
pub(crate) const DEFAULT_PORT: i64 = 6379;

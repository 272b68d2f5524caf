//! Diff rules for the instance's own endpoint: the connection string's prefix and the port,
//! each only when declared, changed together by one `ModifyDBInstanceConnectionString`.

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Step, WaitFor};
use crate::manifest::DesiredInstance;
use crate::observed::ObservedInstance;
use kvsync_wire::actions::{ModifyDbInstanceConnectionString, Request};

/// The domain every endpoint's prefix is followed by.
pub const ENDPOINT_DOMAIN: &str = ".redis.rds.aliyuncs.com";

/// The prefix of a connection string (`r-abc.redis.rds.aliyuncs.com` → `r-abc`).
pub fn prefix_of(connection_string: &str) -> &str {
    connection_string
        .split_once('.')
        .map_or(connection_string, |(prefix, _)| prefix)
}

/// One `ModifyDBInstanceConnectionString` when the declared prefix or port differs.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(wanted) = &desired.endpoint else {
        return;
    };
    let Some(current) = &observed.endpoint else {
        return;
    };
    let current_prefix = prefix_of(&current.connection_string);
    let new_prefix = wanted
        .prefix
        .as_ref()
        .filter(|prefix| prefix.as_str() != current_prefix);
    let new_port = wanted.port.filter(|port| i64::from(*port) != current.port);
    if new_prefix.is_none() && new_port.is_none() {
        return;
    }
    let mut changes = Vec::new();
    if let Some(prefix) = new_prefix {
        changes.push(change(
            "spec.endpoint.prefix",
            Some(current_prefix.to_owned()),
            Some(prefix.clone()),
        ));
    }
    if let Some(port) = new_port {
        changes.push(change(
            "spec.endpoint.port",
            Some(current.port.to_string()),
            Some(port.to_string()),
        ));
    }
    steps.push(step(
        Request::ModifyDbInstanceConnectionString(ModifyDbInstanceConnectionString {
            db_instance_id: observed.id.clone(),
            current_connection_string: current.connection_string.clone(),
            new_connection_string: new_prefix.cloned(),
            port: new_port.map(u64::from),
            ip_type: None,
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        changes,
    ));
}

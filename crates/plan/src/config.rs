//! Diff rules for parameters: only declared keys are compared, values as the API's strings.

use std::collections::BTreeMap;

use super::instance::{MODIFY_TIMEOUT_SECS, change, step};
use super::model::{Step, WaitFor};
use crate::manifest::DesiredInstance;
use crate::observed::ObservedInstance;
use kvsync_wire::actions::config::config_json;
use kvsync_wire::actions::{ModifyInstanceConfig, Request};

/// Compares values as the API echoes them: numbers without leading zeros or `+`, booleans as
/// `yes`/`no`; other text as is.
pub fn normalize(value: &str) -> String {
    let trimmed = value.trim();
    if let Ok(number) = trimmed.parse::<i64>() {
        return number.to_string();
    }
    match trimmed {
        "true" => "yes".into(),
        "false" => "no".into(),
        _ => trimmed.to_owned(),
    }
}

/// One `ModifyInstanceConfig` with every declared parameter whose value differs.
pub fn diff(desired: &DesiredInstance, observed: &ObservedInstance, steps: &mut Vec<Step>) {
    let Some(config) = &desired.config else {
        return;
    };
    let current = observed.config.as_ref();
    let mut changed = BTreeMap::new();
    let mut changes = Vec::new();
    for (key, value) in config {
        let old = current.and_then(|c| c.get(key));
        if old.map(|o| normalize(o)) == Some(normalize(value)) {
            continue;
        }
        changed.insert(key.clone(), normalize(value));
        changes.push(change(
            &format!("spec.config.{key}"),
            old.cloned(),
            Some(value.clone()),
        ));
    }
    if changed.is_empty() {
        return;
    }
    steps.push(step(
        Request::ModifyInstanceConfig(ModifyInstanceConfig {
            instance_id: observed.id.clone(),
            config: Some(config_json(&changed)),
            ..ModifyInstanceConfig::default()
        }),
        WaitFor::Normal,
        MODIFY_TIMEOUT_SECS,
        changes,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_normalise_like_the_api_echoes_them() {
        assert_eq!(normalize("512"), normalize("0512"));
        assert_eq!(normalize(" 512 "), "512");
        assert_eq!(normalize("true"), "yes");
        assert_eq!(normalize("allkeys-lru"), "allkeys-lru");
        assert_ne!(normalize("Ex"), normalize("xE"));
    }
}

//! Monitoring actions: the metrics there are and an instance's metric history.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use super::{DescribeHistoryMonitorValues, DescribeMonitorItems};

/// The answer to `DescribeMonitorItems`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeMonitorItemsResponse {
    pub request_id: String,
    pub monitor_items: MonitorItems,
}

/// `MonitorItems: {KVStoreMonitorItem: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MonitorItems {
    #[serde(rename = "KVStoreMonitorItem")]
    pub kv_store_monitor_item: Vec<KvStoreMonitorItem>,
}

/// One metric.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct KvStoreMonitorItem {
    /// The name to pass in `MonitorKeys`.
    pub monitor_key: String,
    /// E.g. `Bytes`, `Counts/s`, `%`.
    pub unit: String,
}

/// The answer to `DescribeHistoryMonitorValues`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DescribeHistoryMonitorValuesResponse {
    pub request_id: String,
    /// A JSON **string**: timestamp → {metric → value}; metrics whose value is 0 are left out.
    pub monitor_history: String,
    pub monitor_legend: String,
}

/// One instant of a monitor history: metric → value as text.
pub type MonitorPoint = BTreeMap<String, String>;

impl DescribeHistoryMonitorValuesResponse {
    /// `MonitorHistory` parsed: timestamp → metrics, values as text (numbers as their decimal
    /// form). `None` when it is not such an object.
    pub fn history(&self) -> Option<BTreeMap<String, MonitorPoint>> {
        let parsed: BTreeMap<String, BTreeMap<String, serde_json::Value>> =
            serde_json::from_str(&self.monitor_history).ok()?;
        parsed
            .into_iter()
            .map(|(at, metrics)| {
                let point = metrics
                    .into_iter()
                    .map(|(key, value)| match value {
                        serde_json::Value::String(text) => Some((key, text)),
                        serde_json::Value::Number(number) => Some((key, number.to_string())),
                        _ => None,
                    })
                    .collect::<Option<MonitorPoint>>()?;
                Some((at, point))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, WireParams};

    #[test]
    fn history_request_round_trips_through_the_wire() {
        let request = DescribeHistoryMonitorValues {
            instance_id: "r-1".into(),
            start_time: "2018-10-18T12:00:00Z".into(),
            end_time: "2018-10-18T12:05:00Z".into(),
            interval_for_history: "01m".into(),
            monitor_keys: Some("Keys,UsedMemory".into()),
            kind: Some("x".into()),
            ..DescribeHistoryMonitorValues::default()
        };
        let wire = request.params().expose();
        assert_eq!(wire["Type"], "x");
        assert_eq!(
            DescribeHistoryMonitorValues::from_wire(WireParams(&wire)).unwrap(),
            request
        );
    }

    #[test]
    fn monitor_history_is_a_string_that_parses_into_points() {
        let response = DescribeHistoryMonitorValuesResponse {
            monitor_history:
                r#"{"2018-07-09T12:00:00Z":{"quotaMemory":1073741824,"UsedMemory":"5823152"}}"#
                    .into(),
            ..DescribeHistoryMonitorValuesResponse::default()
        };
        assert!(serde_json::to_value(&response).unwrap()["MonitorHistory"].is_string());
        let history = response.history().unwrap();
        let point = &history["2018-07-09T12:00:00Z"];
        assert_eq!(point["quotaMemory"], "1073741824");
        assert_eq!(point["UsedMemory"], "5823152");
    }

    #[test]
    fn monitor_items_use_the_sdk_wrapper() {
        let json = serde_json::to_value(DescribeMonitorItemsResponse {
            request_id: "r".into(),
            monitor_items: MonitorItems {
                kv_store_monitor_item: vec![KvStoreMonitorItem {
                    monitor_key: "Keys".into(),
                    unit: "Counts".into(),
                }],
            },
        })
        .unwrap();
        assert_eq!(
            json["MonitorItems"]["KVStoreMonitorItem"][0]["MonitorKey"],
            "Keys"
        );
    }
}

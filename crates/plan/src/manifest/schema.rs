//! The JSON Schema of the manifest format, for editors (yaml-language-server and others).
//!
//! It mirrors the serde model in [`super::raw`]; a test compares its property names with the
//! fields the parser accepts, so the two cannot drift apart.

use serde_json::{Value, json};

fn secret_ref() -> Value {
    json!({
        "description": "Where the secret comes from; a literal value is not allowed.",
        "type": "object",
        "oneOf": [
            {"required": ["env"], "properties": {"env": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}}, "additionalProperties": false},
            {"required": ["file"], "properties": {"file": {"type": "string", "minLength": 1}}, "additionalProperties": false}
        ]
    })
}

fn ip_list() -> Value {
    json!({
        "type": "array",
        "minItems": 1,
        "items": {"type": "string", "pattern": "^[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?$"}
    })
}

fn document(kind: &str, metadata: Value, spec: Value, spec_required: bool) -> Value {
    let mut required = vec!["apiVersion", "kind", "metadata"];
    if spec_required {
        required.push("spec");
    }
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": {
            "apiVersion": {"const": "kvsync/v1"},
            "kind": {"const": kind},
            "metadata": metadata,
            "spec": spec
        }
    })
}

fn attached_metadata(name_description: &str) -> Value {
    json!({
        "type": "object",
        "required": ["name", "instance"],
        "additionalProperties": false,
        "properties": {
            "name": {"type": "string", "description": name_description},
            "instance": {"type": "string", "description": "metadata.name of the Instance it belongs to"},
            "region": {"type": "string"}
        }
    })
}

fn account_fields() -> Value {
    json!({
        "privilege": {"enum": ["RoleReadWrite", "RoleReadOnly", "RoleRepl"], "default": "RoleReadWrite"},
        "password": secret_ref(),
        "description": {"type": "string", "minLength": 2, "maxLength": 256}
    })
}

fn instance() -> Value {
    let hhmm = json!({"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]Z$"});
    let mut account = json!({
        "type": "object",
        "required": ["name"],
        "additionalProperties": false,
        "properties": account_fields()
    });
    account["properties"]["name"] = json!({"type": "string", "pattern": "^[a-z][a-z0-9_]{0,15}$"});
    document(
        "Instance",
        json!({
            "type": "object",
            "required": ["name"],
            "additionalProperties": false,
            "properties": {
                "name": {"type": "string", "minLength": 2, "maxLength": 128, "description": "InstanceName: the identity within the region"},
                "region": {"type": "string"},
                "labels": {"type": "object", "maxProperties": 18, "additionalProperties": {"type": "string"}}
            }
        }),
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "instanceId": {"type": "string", "pattern": "^r-[a-z0-9]+$"},
                "instanceClass": {"type": "string"},
                "engineVersion": {"enum": ["2.8", "4.0", "5.0", "6.0", "7.0"]},
                "zoneId": {"type": "string"},
                "chargeType": {"enum": ["PostPaid", "PrePaid"]},
                "period": {"enum": [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 24, 36]},
                "network": {
                    "type": "object",
                    "required": ["type"],
                    "additionalProperties": false,
                    "properties": {
                        "type": {"enum": ["VPC", "Classic"]},
                        "vpcId": {"type": "string", "pattern": "^vpc-"},
                        "vSwitchId": {"type": "string", "pattern": "^vsw-"},
                        "classicRetentionDays": {"enum": [14, 30, 60, 120]}
                    }
                },
                "source": {
                    "type": "object",
                    "required": ["instance"],
                    "additionalProperties": false,
                    "description": "used only when the instance is created",
                    "properties": {
                        "instance": {"type": "string", "description": "a name in the region, or an instance ID"},
                        "backupId": {"type": "string", "pattern": "^[0-9]+$"},
                        "restoreTime": {"type": "string", "format": "date-time"}
                    }
                },
                "endpoint": {
                    "type": "object",
                    "additionalProperties": false,
                    "properties": {
                        "prefix": {"type": "string", "pattern": "^[a-z][a-z0-9]{7,63}$"},
                        "port": {"type": "integer", "minimum": 1024, "maximum": 65535}
                    }
                },
                "privateIp": {"type": "string", "description": "IPv4, in the vSwitch; at creation"},
                "password": secret_ref(),
                "releaseProtection": {"type": "boolean"},
                "maintenanceWindow": {
                    "type": "object",
                    "required": ["start", "end"],
                    "additionalProperties": false,
                    "properties": {"start": hhmm, "end": hhmm}
                },
                "ssl": {"enum": ["Enable", "Disable"]},
                "vpcAuthMode": {"enum": ["Open", "Close"]},
                "whitelists": {"type": "object", "additionalProperties": ip_list()},
                "accounts": {"type": "array", "maxItems": 18, "items": account},
                "backupPolicy": {
                    "type": "object",
                    "required": ["time", "period"],
                    "additionalProperties": false,
                    "properties": {
                        "time": {"type": "string", "pattern": "^([01][0-9]|2[0-3]):00Z-([01][0-9]|2[0-3]):00Z$"},
                        "period": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"enum": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]}
                        },
                        "retentionDays": {"type": "integer", "minimum": 7, "maximum": 730},
                        "backupLog": {"type": "boolean"}
                    }
                },
                "config": {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]}},
                "nodeType": {"enum": ["MASTER_SLAVE", "STAND_ALONE", "double", "single"]},
                "shardCount": {"type": "integer", "minimum": 2, "maximum": 256, "description": "cluster classes only"},
                "replicaCount": {"type": "integer", "minimum": 1, "maximum": 9},
                "readOnlyCount": {"type": "integer", "minimum": 1, "maximum": 9, "description": "read/write splitting classes only"},
                "secondaryZoneId": {"type": "string"},
                "disruption": {"enum": ["immediate", "window", "never"]},
                "backupBeforeRisky": {"type": "boolean"}
            }
        }),
        true,
    )
}

fn stack() -> Value {
    document(
        "Stack",
        json!({
            "type": "object",
            "required": ["name"],
            "additionalProperties": false,
            "properties": {"name": {"type": "string", "pattern": "^[a-z0-9_-]{1,64}$"}}
        }),
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "region": {"type": "string"},
                "prune": {"type": "boolean"},
                "pruneAll": {"type": "boolean"},
                "parallelism": {"type": "integer", "minimum": 1, "maximum": 64},
                "qps": {"type": "number", "minimum": 0.01, "maximum": 10000},
                "allowDestroy": {"type": "boolean"},
                "allowIrreversible": {"type": "boolean"},
                "credentials": {
                    "type": "object",
                    "required": ["roleArn"],
                    "additionalProperties": false,
                    "description": "the RAM role the stack's calls are made as, assumed with kvsync's own credentials",
                    "properties": {
                        "roleArn": {"type": "string", "pattern": "^acs:ram::[0-9]+:role/[A-Za-z0-9._-]{1,64}$"},
                        "sessionName": {"type": "string", "pattern": "^[A-Za-z0-9.@_-]{2,64}$"},
                        "durationSeconds": {"type": "integer", "minimum": 900, "maximum": 43200},
                        "policy": {"type": "string"},
                        "externalId": {"type": "string"}
                    }
                },
                "disruption": {"enum": ["immediate", "window", "never"]},
                "backupBeforeRisky": {"type": "boolean"}
            }
        }),
        false,
    )
}

fn account() -> Value {
    document(
        "Account",
        attached_metadata("AccountName"),
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": account_fields()
        }),
        true,
    )
}

fn whitelist() -> Value {
    document(
        "Whitelist",
        attached_metadata("the whitelist group name"),
        json!({
            "type": "object",
            "required": ["ips"],
            "additionalProperties": false,
            "properties": {"ips": ip_list()}
        }),
        true,
    )
}

/// The schema: one document of any kind.
pub fn schema() -> Value {
    let kinds = [
        ("Instance", instance()),
        ("Stack", stack()),
        ("Account", account()),
        ("Whitelist", whitelist()),
    ];
    let branches: Vec<Value> = kinds
        .iter()
        .map(|(kind, _)| {
            json!({
                "if": {"properties": {"kind": {"const": kind}}, "required": ["kind"]},
                "then": {"$ref": format!("#/definitions/{kind}")}
            })
        })
        .collect();
    let definitions: serde_json::Map<String, Value> = kinds
        .into_iter()
        .map(|(kind, definition)| (kind.to_owned(), definition))
        .collect();
    json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://kvsync.dev/schema/kvsync-v1.json",
        "title": "kvsync manifest (apiVersion kvsync/v1)",
        "type": "object",
        "required": ["apiVersion", "kind"],
        "properties": {
            "apiVersion": {"const": "kvsync/v1"},
            "kind": {"enum": ["Instance", "Stack", "Account", "Whitelist"]}
        },
        "allOf": branches,
        "definitions": definitions
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    /// The fields serde accepts at a place, read from its own "unknown field" message.
    fn accepted_fields(yaml: &str) -> BTreeSet<String> {
        let sources = [(std::path::PathBuf::from("t.yaml"), yaml.to_owned())];
        let diagnostics = crate::manifest::parse(&sources, None).unwrap_err();
        let message = &diagnostics.0[0].message;
        let list = message
            .split("expected one of ")
            .nth(1)
            .unwrap_or_else(|| panic!("{message}"));
        list.split(", ").map(|f| f.trim().to_owned()).collect()
    }

    fn schema_fields(path: &[&str]) -> BTreeSet<String> {
        let mut node = schema();
        for key in path {
            node = node[key].clone();
        }
        node.as_object().unwrap().keys().cloned().collect()
    }

    const HEAD: &str = "apiVersion: kvsync/v1\n";

    #[test]
    fn instance_spec_fields_match_the_parser() {
        let yaml = format!(
            "{HEAD}kind: Instance\nmetadata: {{name: ab, region: cn-hangzhou}}\nspec: {{zzz: 1}}\n"
        );
        assert_eq!(
            accepted_fields(&yaml),
            schema_fields(&[
                "definitions",
                "Instance",
                "properties",
                "spec",
                "properties"
            ])
        );
    }

    #[test]
    fn instance_metadata_fields_match_the_parser() {
        let yaml = format!("{HEAD}kind: Instance\nmetadata: {{name: ab, zzz: 1}}\nspec: {{}}\n");
        assert_eq!(
            accepted_fields(&yaml),
            schema_fields(&[
                "definitions",
                "Instance",
                "properties",
                "metadata",
                "properties"
            ])
        );
    }

    #[test]
    fn account_entry_fields_match_the_parser() {
        let yaml = format!(
            "{HEAD}kind: Instance\nmetadata: {{name: ab, region: cn-hangzhou}}\nspec:\n  accounts:\n  - {{name: a, password: {{env: X}}, zzz: 1}}\n"
        );
        assert_eq!(
            accepted_fields(&yaml),
            schema_fields(&[
                "definitions",
                "Instance",
                "properties",
                "spec",
                "properties",
                "accounts",
                "items",
                "properties"
            ])
        );
    }

    #[test]
    fn stack_account_and_whitelist_fields_match_the_parser() {
        let stack = format!("{HEAD}kind: Stack\nmetadata: {{name: s}}\nspec: {{zzz: 1}}\n");
        assert_eq!(
            accepted_fields(&stack),
            schema_fields(&["definitions", "Stack", "properties", "spec", "properties"])
        );
        let account = format!(
            "{HEAD}kind: Account\nmetadata: {{name: a, instance: ab}}\nspec: {{password: {{env: X}}, zzz: 1}}\n"
        );
        assert_eq!(
            accepted_fields(&account),
            schema_fields(&["definitions", "Account", "properties", "spec", "properties"])
        );
        let whitelist = format!(
            "{HEAD}kind: Whitelist\nmetadata: {{name: a, instance: ab, zzz: 1}}\nspec: {{ips: []}}\n"
        );
        assert_eq!(
            accepted_fields(&whitelist),
            schema_fields(&[
                "definitions",
                "Whitelist",
                "properties",
                "metadata",
                "properties"
            ])
        );
    }

    #[test]
    fn every_kind_has_a_branch() {
        let schema = schema();
        for kind in crate::manifest::KINDS {
            assert!(schema["definitions"][kind].is_object(), "{kind}");
        }
        assert_eq!(
            schema["allOf"].as_array().unwrap().len(),
            crate::manifest::KINDS.len()
        );
    }
}

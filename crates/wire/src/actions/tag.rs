//! Tags on instances: tag, untag and list.

// Response fields carry the official SDK model's key names (PascalCase on the wire); their
// meaning is the vendor reference's (`api-shapes.md`), so they are not repeated here.
#![allow(missing_docs)]

use serde::{Deserialize, Serialize};

pub use super::{ListTagResources, TagResources, UntagResources};

/// The only `ResourceType` of these actions.
pub const RESOURCE_TYPE_INSTANCE: &str = "INSTANCE";

/// The answer to `ListTagResources`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ListTagResourcesResponse {
    pub request_id: String,
    /// Empty on the last page.
    pub next_token: String,
    pub tag_resources: TagResourceList,
}

/// `TagResources: {TagResource: [...]}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagResourceList {
    pub tag_resource: Vec<TagResource>,
}

/// One tag of one instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct TagResource {
    pub resource_id: String,
    /// `ALIYUN::KVSTORE::INSTANCE`.
    pub resource_type: String,
    pub tag_key: String,
    pub tag_value: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Action, ParamError, WireParams};

    #[test]
    fn tag_resources_round_trips_through_the_wire() {
        let request = TagResources {
            region_id: "cn-hangzhou".into(),
            resource_type: RESOURCE_TYPE_INSTANCE.into(),
            resource_ids: vec!["r-1".into(), "r-2".into()],
            tags: vec![("kvsync:managed".into(), "true".into())],
        };
        let wire = request.params().expose();
        assert_eq!(wire["ResourceId.1"], "r-1");
        assert_eq!(wire["ResourceId.2"], "r-2");
        assert_eq!(wire["Tag.1.Key"], "kvsync:managed");
        assert_eq!(TagResources::from_wire(WireParams(&wire)).unwrap(), request);
    }

    #[test]
    fn tag_resources_needs_resources_and_tags() {
        let request = TagResources {
            region_id: "cn-hangzhou".into(),
            resource_type: RESOURCE_TYPE_INSTANCE.into(),
            resource_ids: vec!["r-1".into()],
            tags: vec![],
        };
        let wire = request.params().expose();
        assert_eq!(
            TagResources::from_wire(WireParams(&wire)),
            Err(ParamError::Missing("Tag".into()))
        );
    }

    #[test]
    fn untag_and_list_round_trip() {
        let untag = UntagResources {
            region_id: "cn-hangzhou".into(),
            resource_type: RESOURCE_TYPE_INSTANCE.into(),
            resource_ids: vec!["r-1".into()],
            tag_keys: vec!["team".into(), "env".into()],
            all: Some(false),
        };
        let wire = untag.params().expose();
        assert_eq!(wire["TagKey.2"], "env");
        assert_eq!(UntagResources::from_wire(WireParams(&wire)).unwrap(), untag);

        let list = ListTagResources {
            region_id: "cn-hangzhou".into(),
            resource_type: RESOURCE_TYPE_INSTANCE.into(),
            tags: vec![("kvsync:stack".into(), "prod".into())],
            next_token: Some("abc".into()),
            ..Default::default()
        };
        let wire = list.params().expose();
        assert_eq!(
            ListTagResources::from_wire(WireParams(&wire)).unwrap(),
            list
        );
    }

    #[test]
    fn list_response_uses_sdk_key_spellings() {
        let response = ListTagResourcesResponse {
            tag_resources: TagResourceList {
                tag_resource: vec![TagResource::default()],
            },
            ..Default::default()
        };
        let json = serde_json::to_value(&response).unwrap();
        let item = &json["TagResources"]["TagResource"][0];
        for key in ["ResourceId", "ResourceType", "TagKey", "TagValue"] {
            assert!(item[key].is_string(), "missing {key}");
        }
        assert!(json["NextToken"].is_string());
    }
}

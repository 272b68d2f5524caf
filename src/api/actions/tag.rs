//! Tags on instances: tag, untag and list.

use serde::{Deserialize, Serialize};

use super::instance::EmptyResponse;
use super::{Action, ParamError, WireParams, wire_bool};
use crate::api::params::Params;

/// The only `ResourceType` of these actions.
pub const RESOURCE_TYPE_INSTANCE: &str = "INSTANCE";

/// `TagResources`: adds tags to instances; a key they already carry gets the new value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TagResources {
    /// `RegionId` (required).
    pub region_id: String,
    /// `ResourceType` (required): `INSTANCE`.
    pub resource_type: String,
    /// `ResourceId.N` (at least one).
    pub resource_ids: Vec<String>,
    /// `Tag.N.Key` / `Tag.N.Value` (at least one).
    pub tags: Vec<(String, String)>,
}

impl Action for TagResources {
    const NAME: &'static str = "TagResources";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("RegionId", &self.region_id)
            .set("ResourceType", &self.resource_type)
            .set_key_values(
                "Tag",
                self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        set_list(&mut params, "ResourceId", &self.resource_ids);
        params
    }
}

impl TagResources {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(TagResources {
            region_id: wire.required("RegionId")?.to_owned(),
            resource_type: wire.required("ResourceType")?.to_owned(),
            resource_ids: non_empty(wire.list("ResourceId")?, "ResourceId")?,
            tags: non_empty(wire.key_values("Tag")?, "Tag")?,
        })
    }
}

/// `UntagResources`: removes tags (by key, or all of them) from instances.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UntagResources {
    /// `RegionId` (required).
    pub region_id: String,
    /// `ResourceType` (required): `INSTANCE`.
    pub resource_type: String,
    /// `ResourceId.N` (at least one).
    pub resource_ids: Vec<String>,
    /// `TagKey.N`: the keys to remove.
    pub tag_keys: Vec<String>,
    /// `All`: remove every tag; only used when no `TagKey.N` is given.
    pub all: Option<bool>,
}

impl Action for UntagResources {
    const NAME: &'static str = "UntagResources";
    const MUTATING: bool = true;
    type Response = EmptyResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("RegionId", &self.region_id)
            .set("ResourceType", &self.resource_type)
            .set_opt("All", self.all.map(wire_bool));
        set_list(&mut params, "ResourceId", &self.resource_ids);
        set_list(&mut params, "TagKey", &self.tag_keys);
        params
    }
}

impl UntagResources {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(UntagResources {
            region_id: wire.required("RegionId")?.to_owned(),
            resource_type: wire.required("ResourceType")?.to_owned(),
            resource_ids: non_empty(wire.list("ResourceId")?, "ResourceId")?,
            tag_keys: wire.list("TagKey")?,
            all: wire.bool("All")?,
        })
    }
}

/// `ListTagResources`: the tags of instances, by instance and/or by tag, one page at a time.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListTagResources {
    /// `RegionId` (required).
    pub region_id: String,
    /// `ResourceType` (required): `INSTANCE`.
    pub resource_type: String,
    /// `ResourceId.N`: only these instances.
    pub resource_ids: Vec<String>,
    /// `Tag.N.Key` / `Tag.N.Value`: only instances carrying all of these (an empty value
    /// matches any value of the key).
    pub tags: Vec<(String, String)>,
    /// `NextToken`: from the previous page.
    pub next_token: Option<String>,
}

impl Action for ListTagResources {
    const NAME: &'static str = "ListTagResources";
    const MUTATING: bool = false;
    type Response = ListTagResourcesResponse;

    fn params(&self) -> Params {
        let mut params = Params::new();
        params
            .set("RegionId", &self.region_id)
            .set("ResourceType", &self.resource_type)
            .set_opt("NextToken", self.next_token.as_deref())
            .set_key_values(
                "Tag",
                self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            );
        set_list(&mut params, "ResourceId", &self.resource_ids);
        params
    }
}

impl ListTagResources {
    /// Parses an incoming request (emulator side).
    pub fn from_wire(wire: WireParams<'_>) -> Result<Self, ParamError> {
        Ok(ListTagResources {
            region_id: wire.required("RegionId")?.to_owned(),
            resource_type: wire.required("ResourceType")?.to_owned(),
            resource_ids: wire.list("ResourceId")?,
            tags: wire.key_values("Tag")?,
            next_token: wire.string("NextToken"),
        })
    }
}

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

/// Sets a list as `Name.1`, `Name.2`, … (1-based), as the SDKs do.
fn set_list(params: &mut Params, name: &str, values: &[String]) {
    for (index, value) in values.iter().enumerate() {
        params.set(format!("{name}.{}", index + 1), value);
    }
}

/// Refuses an empty list of a required parameter.
fn non_empty<T>(values: Vec<T>, name: &str) -> Result<Vec<T>, ParamError> {
    if values.is_empty() {
        Err(ParamError::Missing(name.to_owned()))
    } else {
        Ok(values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

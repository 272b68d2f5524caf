//! Tag resources: tag, untag and list.
//!
//! Tags live in `Instance::tags` in the order they were first set; setting a key an instance
//! already carries replaces its value in place. A request is checked whole before any instance
//! changes. Rules the vendor reference leaves open:
//! - keys are 1–128 characters, values 0–128; neither may start with `aliyun` or `acs:` (in any
//!   case) nor contain `http://` or `https://`;
//! - at most 20 tags per instance and per request, at most 50 resource IDs per request;
//! - tags may be changed whatever the instance's status;
//! - `UntagResources` needs `TagKey.N` or `All=true`; keys an instance lacks are ignored;
//! - `ListTagResources` needs `ResourceId.N` or `Tag.N`; it lists every tag of each matching
//!   instance (oldest instance first), 50 rows a page; unknown resource IDs match nothing.

use serde_json::json;

use super::catalog;
use super::errors::VendorError;
use super::state::{Handled, Instance, State, to_body};
use kvsync_wire::actions::tag::{
    ListTagResources, ListTagResourcesResponse, RESOURCE_TYPE_INSTANCE, TagResource,
    TagResourceList, TagResources, UntagResources,
};

/// At most this many tags per instance, and per request.
pub(crate) const MAX_TAGS: usize = 20;
/// At most this many resource IDs per request.
pub(crate) const MAX_RESOURCES: usize = 50;
/// Rows per `ListTagResources` page.
pub(crate) const PAGE_SIZE: usize = 50;
/// The `ResourceType` listed tags carry.
pub(crate) const LISTED_RESOURCE_TYPE: &str = "ALIYUN::KVSTORE::INSTANCE";

/// Whether `text` starts with a reserved prefix or holds a URL scheme.
fn reserved(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.starts_with("aliyun")
        || lower.starts_with("acs:")
        || lower.contains("http://")
        || lower.contains("https://")
}

/// A tag key: 1–128 characters, not reserved.
pub(crate) fn valid_tag_key(key: &str) -> bool {
    (1..=128).contains(&key.chars().count()) && !reserved(key)
}

/// A tag value: at most 128 characters, not reserved.
pub(crate) fn valid_tag_value(value: &str) -> bool {
    value.chars().count() <= 128 && !reserved(value)
}

/// Checks the tags of one `TagResources` request.
pub(crate) fn check_tags(tags: &[(String, String)]) -> Result<(), VendorError> {
    if tags.len() > MAX_TAGS {
        return Err(VendorError::too_many_tags(MAX_TAGS));
    }
    for (index, (key, value)) in tags.iter().enumerate() {
        if !valid_tag_key(key) {
            return Err(VendorError::tag_key_malformed());
        }
        if !valid_tag_value(value) {
            return Err(VendorError::tag_value_malformed());
        }
        if tags[..index].iter().any(|(earlier, _)| earlier == key) {
            return Err(VendorError::duplicate_tag_key());
        }
    }
    Ok(())
}

/// `existing` with `new` applied: a known key gets its new value in place, others are appended.
pub(crate) fn merge_tags(
    existing: &[(String, String)],
    new: &[(String, String)],
) -> Vec<(String, String)> {
    let mut merged = existing.to_vec();
    for (key, value) in new {
        match merged.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value.clone(),
            None => merged.push((key.clone(), value.clone())),
        }
    }
    merged
}

/// Whether an instance carries every filter tag (an empty filter value matches any value).
pub(crate) fn matches_tags(tags: &[(String, String)], filter: &[(String, String)]) -> bool {
    filter.iter().all(|(key, value)| {
        tags.iter()
            .any(|(k, v)| k == key && (value.is_empty() || v == value))
    })
}

/// The opaque `NextToken` for a row offset.
pub(crate) fn encode_token(offset: usize) -> String {
    format!("{offset:032x}")
}

/// The row offset of a `NextToken`, or `None` when it is not one of ours.
pub(crate) fn decode_token(token: &str) -> Option<usize> {
    if token.len() != 32 {
        return None;
    }
    usize::from_str_radix(token, 16).ok()
}

/// Checks `RegionId` and `ResourceType`.
fn check_scope(region_id: &str, resource_type: &str) -> Result<(), VendorError> {
    catalog::region(region_id).ok_or_else(VendorError::region_not_found)?;
    if resource_type.eq_ignore_ascii_case(RESOURCE_TYPE_INSTANCE) {
        Ok(())
    } else {
        Err(VendorError::resource_type_not_supported())
    }
}

/// Checks that every ID names an instance of the region; returns them without repeats.
fn resolve(state: &State, region_id: &str, ids: &[String]) -> Result<Vec<String>, VendorError> {
    if ids.len() > MAX_RESOURCES {
        return Err(VendorError::too_many_resources(MAX_RESOURCES));
    }
    let mut unique: Vec<String> = Vec::new();
    for id in ids {
        match state.instances.get(id) {
            Some(instance) if instance.region_id == region_id => {}
            _ => return Err(VendorError::resource_not_found()),
        }
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    Ok(unique)
}

/// `TagResources`.
pub(crate) fn tag(state: &mut State, request: TagResources) -> Result<Handled, VendorError> {
    check_scope(&request.region_id, &request.resource_type)?;
    let ids = resolve(state, &request.region_id, &request.resource_ids)?;
    check_tags(&request.tags)?;
    let mut updates = Vec::with_capacity(ids.len());
    for id in ids {
        let merged = merge_tags(&state.instance(&id)?.tags, &request.tags);
        if merged.len() > MAX_TAGS {
            return Err(VendorError::too_many_tags(MAX_TAGS));
        }
        updates.push((id, merged));
    }
    for (id, tags) in updates {
        state.instance_mut(&id)?.tags = tags;
    }
    Ok(Handled::wrote(json!({})))
}

/// `UntagResources`.
pub(crate) fn untag(state: &mut State, request: UntagResources) -> Result<Handled, VendorError> {
    check_scope(&request.region_id, &request.resource_type)?;
    let ids = resolve(state, &request.region_id, &request.resource_ids)?;
    if request.tag_keys.len() > MAX_TAGS {
        return Err(VendorError::too_many_tags(MAX_TAGS));
    }
    if request.tag_keys.is_empty() && request.all != Some(true) {
        return Err(VendorError::missing_parameter("TagKey"));
    }
    for id in ids {
        let instance = state.instance_mut(&id)?;
        if request.tag_keys.is_empty() {
            instance.tags.clear();
        } else {
            instance
                .tags
                .retain(|(key, _)| !request.tag_keys.contains(key));
        }
    }
    Ok(Handled::wrote(json!({})))
}

/// `ListTagResources`.
pub(crate) fn list(state: &State, request: ListTagResources) -> Result<Handled, VendorError> {
    check_scope(&request.region_id, &request.resource_type)?;
    if request.resource_ids.len() > MAX_RESOURCES {
        return Err(VendorError::too_many_resources(MAX_RESOURCES));
    }
    if request.tags.len() > MAX_TAGS {
        return Err(VendorError::too_many_tags(MAX_TAGS));
    }
    if request.resource_ids.is_empty() && request.tags.is_empty() {
        return Err(VendorError::missing_parameter("ResourceId"));
    }
    let offset = match &request.next_token {
        Some(token) => {
            decode_token(token).ok_or_else(|| VendorError::invalid_parameter("NextToken"))?
        }
        None => 0,
    };
    let rows = matching_rows(state, &request);
    let end = offset.saturating_add(PAGE_SIZE).min(rows.len());
    let page = rows.get(offset..end).unwrap_or_default().to_vec();
    let next_token = if end < rows.len() {
        encode_token(end)
    } else {
        String::new()
    };
    Ok(Handled::read(to_body(&ListTagResourcesResponse {
        request_id: String::new(),
        next_token,
        tag_resources: TagResourceList { tag_resource: page },
    })))
}

/// Every tag of every instance the listing selects, oldest instance first.
fn matching_rows(state: &State, request: &ListTagResources) -> Vec<TagResource> {
    let mut instances: Vec<&Instance> = state
        .instances
        .values()
        .filter(|i| i.region_id == request.region_id)
        .filter(|i| request.resource_ids.is_empty() || request.resource_ids.contains(&i.id))
        .filter(|i| matches_tags(&i.tags, &request.tags))
        .collect();
    instances.sort_by_key(|instance| instance.sequence);
    instances
        .into_iter()
        .flat_map(|instance| {
            instance.tags.iter().map(|(key, value)| TagResource {
                resource_id: instance.id.clone(),
                resource_type: LISTED_RESOURCE_TYPE.into(),
                tag_key: key.clone(),
                tag_value: value.clone(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
        items
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn keys_follow_the_tag_rules() {
        assert!(valid_tag_key("kvsync:managed"));
        assert!(valid_tag_key(&"k".repeat(128)));
        assert!(!valid_tag_key(""));
        assert!(!valid_tag_key(&"k".repeat(129)));
        assert!(!valid_tag_key("aliyun-owner"));
        assert!(!valid_tag_key("Aliyun"));
        assert!(!valid_tag_key("acs:stack"));
        assert!(!valid_tag_key("see https://example.com"));
        assert!(!valid_tag_key("http://x"));
    }

    #[test]
    fn values_may_be_empty_but_follow_the_same_rules() {
        assert!(valid_tag_value(""));
        assert!(valid_tag_value("prod"));
        assert!(valid_tag_value(&"v".repeat(128)));
        assert!(!valid_tag_value(&"v".repeat(129)));
        assert!(!valid_tag_value("acs:x"));
        assert!(!valid_tag_value("https://x"));
    }

    #[test]
    fn a_request_is_checked_for_count_rules_and_repeats() {
        assert_eq!(check_tags(&pairs(&[("a", "1"), ("b", "2")])), Ok(()));
        assert_eq!(
            check_tags(&pairs(&[("a", "1"), ("a", "2")]))
                .unwrap_err()
                .code,
            "Duplicate.TagKey"
        );
        assert_eq!(
            check_tags(&pairs(&[("acs:a", "1")])).unwrap_err().code,
            "InvalidTagKey.Malformed"
        );
        assert_eq!(
            check_tags(&pairs(&[("a", "aliyun")])).unwrap_err().code,
            "InvalidTagValue.Malformed"
        );
        let many: Vec<(String, String)> =
            (0..21).map(|n| (format!("k{n}"), String::new())).collect();
        assert_eq!(check_tags(&many).unwrap_err().code, "NumberExceed.Tags");
    }

    #[test]
    fn merging_replaces_in_place_and_appends_new_keys() {
        let merged = merge_tags(
            &pairs(&[("team", "a"), ("env", "dev")]),
            &pairs(&[("env", "prod"), ("owner", "ops")]),
        );
        assert_eq!(
            merged,
            pairs(&[("team", "a"), ("env", "prod"), ("owner", "ops")])
        );
    }

    #[test]
    fn filters_need_every_tag_and_empty_values_match_any() {
        let tags = pairs(&[("team", "a"), ("env", "prod")]);
        assert!(matches_tags(&tags, &pairs(&[("env", "prod")])));
        assert!(matches_tags(&tags, &pairs(&[("env", ""), ("team", "a")])));
        assert!(!matches_tags(&tags, &pairs(&[("env", "dev")])));
        assert!(!matches_tags(&tags, &pairs(&[("team", "a"), ("x", "")])));
        assert!(matches_tags(&tags, &[]));
    }

    #[test]
    fn tokens_round_trip_and_foreign_ones_are_refused() {
        assert_eq!(decode_token(&encode_token(0)), Some(0));
        assert_eq!(decode_token(&encode_token(150)), Some(150));
        assert_eq!(decode_token("50"), None);
        assert_eq!(decode_token(&"z".repeat(32)), None);
    }
}

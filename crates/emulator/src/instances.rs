//! Instance lifecycle and attribute actions of the emulated cloud.

use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::catalog;
use super::errors::VendorError;
use super::state::{Context, Handled, Instance, State, TokenRecord, fingerprint, to_body};
use kvsync_wire::actions::instance::{
    CreateInstance, CreateInstanceResponse, DESCRIBE_INSTANCES_MAX_PAGE_SIZE, DbInstanceAttribute,
    DbInstanceAttributes, DeleteInstance, DescribeInstanceAttribute,
    DescribeInstanceAttributeResponse, DescribeInstances, DescribeInstancesResponse,
    KvStoreInstance, KvStoreInstances, ModifyInstanceAttribute,
};
use kvsync_wire::actions::region::{
    DescribeRegions, DescribeRegionsResponse, KvStoreRegion, RegionIds, ZoneIdList,
};
use kvsync_wire::actions::{Action, Tag, Tags};

/// At most this many tags per instance, as in the cloud.
const MAX_TAGS: usize = 20;

/// The instance-name rule: 2–128 characters, starting with a letter or a CJK character, none of
/// `@ / : = " < > { } [ ]` or space.
pub(crate) fn valid_instance_name(name: &str) -> bool {
    let count = name.chars().count();
    let Some(first) = name.chars().next() else {
        return false;
    };
    (2..=128).contains(&count)
        && (first.is_ascii_alphabetic() || is_cjk(first))
        && !name
            .chars()
            .any(|c| "@/:=\"<>{}[] ".contains(c) || c.is_control())
}

/// Whether `c` is a CJK unified ideograph (the "Chinese characters" of the vendor's naming rules).
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// The password rule: 8–32 characters, at least three of upper case, lower case, digits and
/// the special characters `!@#$%^&*()_+-=`, and nothing else.
pub(crate) fn valid_password(password: &str) -> bool {
    const SPECIAL: &str = "!@#$%^&*()_+-=";
    let count = password.chars().count();
    if !(8..=32).contains(&count)
        || !password
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIAL.contains(c))
    {
        return false;
    }
    let kinds = [
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| SPECIAL.contains(c)),
    ];
    kinds.iter().filter(|&&kind| kind).count() >= 3
}

/// Salted SHA-256 of a password (the salt is the instance ID).
pub(crate) fn password_digest(instance_id: &str, password: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(instance_id.as_bytes());
    hasher.update([0]);
    hasher.update(password.as_bytes());
    hex::encode(hasher.finalize())
}

/// A deterministic, cloud-looking instance ID.
fn instance_id(sequence: u64, name: &str, now: Timestamp) -> String {
    let digest = Sha256::digest(format!("{sequence}\0{name}\0{now}").as_bytes());
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let suffix: String = digest
        .iter()
        .take(18)
        .map(|b| ALPHABET[*b as usize % ALPHABET.len()] as char)
        .collect();
    format!("r-{suffix}")
}

/// The lifecycle and attribute actions of this module.
/// `CreateInstance`.
pub(crate) fn create(
    state: &mut State,
    request: CreateInstance,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    if let Some(token) = &request.token
        && (token.len() > 64 || !token.is_ascii())
    {
        return Err(VendorError::token_malformed());
    }
    let digest = fingerprint(
        &request.params().expose(),
        <CreateInstance>::TOKEN.as_slice(),
    );
    if let Some(token) = &request.token
        && let Some(record) = state.tokens.get(token).filter(|r| r.remembered(ctx))
    {
        return if record.fingerprint == digest {
            Ok(Handled::read(record.response.clone()))
        } else {
            Err(VendorError::idempotent_mismatch())
        };
    }

    let region = catalog::region(&request.region_id).ok_or_else(VendorError::region_not_found)?;
    let zone_id = match &request.zone_id {
        Some(zone) if region.zones.contains(&zone.as_str()) => zone.clone(),
        Some(_) => return Err(VendorError::zone_not_found()),
        None => region.zones[0].to_owned(),
    };
    let class_code = request
        .instance_class
        .as_deref()
        .ok_or_else(VendorError::missing_class)?;
    let class = catalog::class(class_code).ok_or_else(VendorError::class_not_found)?;
    let engine_version = request
        .engine_version
        .clone()
        .unwrap_or_else(|| "5.0".into());
    if !catalog::ENGINE_VERSIONS.contains(&engine_version.as_str()) {
        return Err(VendorError::invalid_parameter("EngineVersion"));
    }
    let charge_type = request
        .charge_type
        .clone()
        .unwrap_or_else(|| "PostPaid".into());
    let end_time = match charge_type.as_str() {
        "PostPaid" => None,
        "PrePaid" => {
            let months = request
                .period
                .ok_or_else(|| VendorError::missing_parameter("Period"))?;
            if !catalog::valid_period(months) {
                return Err(VendorError::invalid_period());
            }
            let end = ctx
                .now
                .to_zoned_datetime(jiff::tz::TimeZone::UTC)
                .checked_add(jiff::Span::new().months(months as i64))
                .map_err(|_| VendorError::invalid_period())?;
            Some(end.timestamp())
        }
        _ => return Err(VendorError::invalid_parameter("ChargeType")),
    };
    let network_type = request
        .network_type
        .clone()
        .unwrap_or_else(|| "CLASSIC".into())
        .to_ascii_uppercase();
    let (vpc_id, vswitch_id) = match network_type.as_str() {
        "VPC" => match (&request.vpc_id, &request.vswitch_id) {
            (Some(vpc), Some(vsw)) => (vpc.clone(), vsw.clone()),
            _ => return Err(VendorError::vpc_required()),
        },
        "CLASSIC" => (String::new(), String::new()),
        _ => return Err(VendorError::invalid_parameter("NetworkType")),
    };
    if let Some(name) = &request.instance_name
        && !valid_instance_name(name)
    {
        return Err(VendorError::instance_name_malformed());
    }
    if let Some(password) = &request.password
        && !valid_password(password.expose())
    {
        return Err(VendorError::password_malformed());
    }
    if request.tags.len() > MAX_TAGS {
        return Err(VendorError::invalid_parameter("Tag"));
    }

    let sequence = state.next_sequence();
    let id = instance_id(
        sequence,
        request.instance_name.as_deref().unwrap_or(""),
        ctx.now,
    );
    let name = request.instance_name.clone().unwrap_or_else(|| id.clone());
    let mut instance = Instance::new(
        id.clone(),
        name,
        region.id.to_owned(),
        zone_id,
        class.code.to_owned(),
        ctx,
        sequence,
    );
    instance.engine_version = engine_version;
    instance.charge_type = charge_type;
    instance.end_time = end_time;
    instance.network_type = network_type;
    instance.vpc_id = vpc_id;
    instance.vswitch_id = vswitch_id;
    instance.password_digest = request
        .password
        .as_ref()
        .map(|password| password_digest(&id, password.expose()));
    instance.tags = request.tags.clone();
    let response = to_body(&CreateInstanceResponse {
        instance_id: instance.id.clone(),
        instance_name: instance.name.clone(),
        instance_status: instance.lifecycle.status.as_str().to_owned(),
        region_id: instance.region_id.clone(),
        zone_id: instance.zone_id.clone(),
        charge_type: instance.charge_type.clone(),
        network_type: instance.network_type.clone(),
        vpc_id: instance.vpc_id.clone(),
        vswitch_id: instance.vswitch_id.clone(),
        node_type: "MASTER_SLAVE".into(),
        bandwidth: class.bandwidth,
        capacity: class.capacity_mb,
        connections: class.connections,
        qps: class.qps,
        port: instance.port,
        config: config_json(&instance),
        connection_domain: connection_domain(&instance),
        private_ip_addr: instance.private_ip.clone(),
        user_name: instance.id.clone(),
        end_time: instance.end_time.map(|t| t.to_string()).unwrap_or_default(),
        order_id: 20_000_000_000 + sequence as i64,
        request_id: String::new(),
    });
    if let Some(token) = request.token {
        state
            .tokens
            .insert(token, TokenRecord::new(digest, response.clone(), ctx));
    }
    state.instances.insert(id, instance);
    Ok(Handled::wrote(response))
}

/// The instance's connection string.
pub(crate) fn connection_domain(instance: &Instance) -> String {
    format!("{}.redis.rds.aliyuncs.com", instance.connection_prefix)
}

/// The parameters as the JSON **string** the API returns in `Config`.
pub(crate) fn config_json(instance: &Instance) -> String {
    serde_json::to_string(&instance.config).unwrap_or_else(|_| "{}".into())
}

fn tags_of(instance: &Instance) -> Tags {
    Tags {
        tag: instance
            .tags
            .iter()
            .map(|(key, value)| Tag {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    }
}

fn listing(instance: &Instance) -> KvStoreInstance {
    let class = catalog::class(&instance.instance_class);
    KvStoreInstance {
        instance_id: instance.id.clone(),
        instance_name: instance.name.clone(),
        instance_status: instance.lifecycle.status.as_str().to_owned(),
        instance_class: instance.instance_class.clone(),
        instance_type: "Redis".into(),
        engine_version: instance.engine_version.clone(),
        architecture_type: class.map_or("standard", |c| c.architecture).to_owned(),
        edition_type: "Community".into(),
        charge_type: instance.charge_type.clone(),
        network_type: instance.network_type.clone(),
        region_id: instance.region_id.clone(),
        zone_id: instance.zone_id.clone(),
        vpc_id: instance.vpc_id.clone(),
        vswitch_id: instance.vswitch_id.clone(),
        node_type: "double".into(),
        package_type: "standard".into(),
        connection_domain: connection_domain(instance),
        connection_mode: "Standard".into(),
        private_ip: instance.private_ip.clone(),
        port: instance.port,
        bandwidth: class.map_or(0, |c| c.bandwidth),
        capacity: class.map_or(0, |c| c.capacity_mb),
        connections: class.map_or(0, |c| c.connections),
        qps: class.map_or(0, |c| c.qps),
        shard_count: class.map_or(1, |c| c.shards),
        read_only_count: "0".into(),
        has_renew_change_order: instance.has_scheduled_order(),
        is_rds: true,
        create_time: instance.created.to_string(),
        end_time: instance.end_time.map(|t| t.to_string()).unwrap_or_default(),
        destroy_time: String::new(),
        resource_group_id: "rg-acfmyiu4ekp****".into(),
        user_name: instance.id.clone(),
        config: config_json(instance),
        tags: tags_of(instance),
    }
}

fn attribute(instance: &Instance) -> DbInstanceAttribute {
    let listed = listing(instance);
    DbInstanceAttribute {
        instance_id: listed.instance_id,
        instance_name: listed.instance_name,
        instance_status: listed.instance_status,
        instance_class: listed.instance_class,
        instance_type: listed.instance_type,
        engine: "Redis".into(),
        engine_version: listed.engine_version,
        architecture_type: listed.architecture_type,
        charge_type: listed.charge_type,
        network_type: listed.network_type,
        region_id: listed.region_id,
        zone_id: listed.zone_id,
        vpc_id: listed.vpc_id,
        vswitch_id: listed.vswitch_id,
        node_type: listed.node_type,
        package_type: listed.package_type,
        connection_domain: listed.connection_domain,
        private_ip: listed.private_ip,
        port: listed.port,
        bandwidth: listed.bandwidth,
        capacity: listed.capacity,
        connections: listed.connections,
        qps: listed.qps,
        shard_count: listed.shard_count,
        read_only_count: 0,
        replica_count: 1,
        secondary_zone_id: String::new(),
        has_renew_change_order: listed.has_renew_change_order.to_string(),
        is_rds: true,
        instance_release_protection: instance.release_protection,
        maintain_start_time: instance.maintain_start_time.clone(),
        maintain_end_time: instance.maintain_end_time.clone(),
        vpc_auth_mode: instance.vpc_auth_mode.clone(),
        security_ip_list: instance
            .security_ip_groups
            .get("default")
            .map(|group| group.ips.join(","))
            .unwrap_or_default(),
        create_time: listed.create_time,
        end_time: listed.end_time,
        resource_group_id: listed.resource_group_id,
        zone_type: "singlezone".into(),
        config: config_json(instance),
        tags: listed.tags,
    }
}

/// `DescribeInstances`: filters, then one page, newest first.
pub(crate) fn describe_page(
    state: &State,
    request: DescribeInstances,
) -> Result<Handled, VendorError> {
    if !request.region_id.is_empty() && catalog::region(&request.region_id).is_none() {
        return Err(VendorError::region_not_found());
    }
    if request.page_number == 0 {
        return Err(VendorError::invalid_parameter("PageNumber"));
    }
    if request.page_size == 0 || request.page_size > DESCRIBE_INSTANCES_MAX_PAGE_SIZE {
        return Err(VendorError::invalid_parameter("PageSize"));
    }
    let wanted_ids: Option<Vec<&str>> = request
        .instance_ids
        .as_deref()
        .map(|ids| ids.split(',').map(str::trim).collect());
    let mut matching: Vec<&Instance> = state
        .instances
        .values()
        .filter(|i| request.region_id.is_empty() || i.region_id == request.region_id)
        .filter(|i| {
            wanted_ids
                .as_ref()
                .is_none_or(|ids| ids.contains(&i.id.as_str()))
        })
        .filter(|i| {
            request
                .instance_status
                .as_deref()
                .is_none_or(|status| i.lifecycle.status.as_str() == status)
        })
        .filter(|i| {
            request
                .search_key
                .as_deref()
                .is_none_or(|key| i.id.contains(key) || i.name.contains(key))
        })
        .filter(|i| request.tags.iter().all(|tag| i.tags.contains(tag)))
        .collect();
    matching.sort_by_key(|instance| std::cmp::Reverse(instance.sequence));
    let total = matching.len() as u64;
    let skip = (request.page_number - 1).saturating_mul(request.page_size);
    let page: Vec<KvStoreInstance> = matching
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(request.page_size as usize)
        .map(listing)
        .collect();
    Ok(Handled::read(to_body(&DescribeInstancesResponse {
        request_id: String::new(),
        page_number: request.page_number,
        page_size: request.page_size,
        total_count: total,
        instances: KvStoreInstances {
            kv_store_instance: page,
        },
    })))
}

/// `DescribeInstanceAttribute`.
pub(crate) fn describe_attribute(
    state: &State,
    request: DescribeInstanceAttribute,
) -> Result<Handled, VendorError> {
    let instance = state
        .instances
        .get(&request.instance_id)
        .ok_or_else(VendorError::instance_not_found)?;
    Ok(Handled::read(to_body(&DescribeInstanceAttributeResponse {
        request_id: String::new(),
        instances: DbInstanceAttributes {
            db_instance_attribute: vec![attribute(instance)],
        },
    })))
}

/// `ModifyInstanceAttribute`: name, release protection, default password.
pub(crate) fn modify_attribute(
    state: &mut State,
    request: ModifyInstanceAttribute,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    if request.instance_name.is_none()
        && request.new_password.is_none()
        && request.instance_release_protection.is_none()
    {
        return Err(VendorError {
            status: 400,
            code: "MissingParameter",
            message: "InstanceName /NewPassword at least one is mandatory for this action.".into(),
        });
    }
    if !instance.lifecycle.is_normal() {
        return Err(VendorError::incorrect_state());
    }
    if let Some(name) = &request.instance_name
        && !valid_instance_name(name)
    {
        return Err(VendorError::instance_name_malformed());
    }
    if let Some(password) = &request.new_password
        && !valid_password(password.expose())
    {
        return Err(VendorError::password_malformed());
    }
    if let Some(name) = request.instance_name {
        instance.name = name;
    }
    if let Some(protection) = request.instance_release_protection {
        instance.release_protection = protection;
    }
    if let Some(password) = request.new_password {
        instance.password_digest = Some(password_digest(&instance.id, password.expose()));
    }
    Ok(Handled::wrote(json!({})))
}

/// `DeleteInstance`: refused for protected, subscription or busy instances.
pub(crate) fn delete(state: &mut State, request: DeleteInstance) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    if instance.release_protection {
        return Err(VendorError::release_protected());
    }
    if instance.charge_type == "PrePaid" {
        return Err(VendorError::prepaid_delete());
    }
    if !instance.lifecycle.is_normal() {
        return Err(VendorError::incorrect_state());
    }
    state.instances.remove(&request.instance_id);
    Ok(Handled::wrote(json!({})))
}

/// `DescribeRegions`.
pub(crate) fn describe_regions(_request: DescribeRegions) -> Result<Handled, VendorError> {
    let regions = catalog::REGIONS
        .iter()
        .map(|region| KvStoreRegion {
            region_id: region.id.to_owned(),
            local_name: region.local_name.to_owned(),
            region_endpoint: format!("r-kvstore.{}.aliyuncs.com", region.id),
            zone_ids: region.zones.join(","),
            zone_id_list: ZoneIdList {
                zone_id: region.zones.iter().map(|z| (*z).to_owned()).collect(),
            },
        })
        .collect();
    Ok(Handled::read(to_body(&DescribeRegionsResponse {
        request_id: String::new(),
        region_ids: RegionIds {
            kv_store_region: regions,
        },
    })))
}

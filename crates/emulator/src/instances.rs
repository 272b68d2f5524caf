//! Instance lifecycle and attribute actions of the emulated cloud.

use jiff::Timestamp;
use serde_json::json;
use sha2::{Digest, Sha256};

use super::architecture;
use super::backup;
use super::catalog;
use super::endpoints::{self, connection_domain};
use super::errors::VendorError;
use super::state::{
    Architecture, Context, Handled, Instance, State, TokenRecord, fingerprint, to_body,
};
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

/// `CreateInstance`.
///
/// Every declared parameter is either put into effect or refused: a `Period` without
/// `PrePaid`, or a `VpcId`/`VSwitchId` on the classic network, is refused rather than
/// ignored. `SrcDBInstanceId` with `BackupId` or `RestoreTime` starts the instance with the
/// data and parameters of that backup set (see `backup::clone_source`); `Port`,
/// `ConnectionStringPrefix` and `PrivateIpAddress` set its endpoint (the prefix follows the
/// rule of `ModifyDBInstanceConnectionString`); the architecture fields follow the rules of
/// the `architecture` module.
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
        "PostPaid" if request.period.is_some() => {
            return Err(VendorError::invalid_parameter_because(
                "Period",
                "A period applies to PrePaid instances only.",
            ));
        }
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
        "CLASSIC" if request.vpc_id.is_some() || request.vswitch_id.is_some() => {
            let name = if request.vpc_id.is_some() {
                "VpcId"
            } else {
                "VSwitchId"
            };
            return Err(VendorError::invalid_parameter_because(
                name,
                "The classic network has no VPC.",
            ));
        }
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
    let architecture = architecture::resolve(
        &Architecture::default(),
        &architecture::Requested {
            node_type: request.node_type.as_deref(),
            shard_count: request.shard_count,
            replica_count: request.replica_count,
            read_only_count: request.read_only_count,
            secondary_zone_id: request.secondary_zone_id.as_deref(),
        },
        class,
        region,
        &zone_id,
    )?;
    let port = match request.port {
        None => endpoints::DEFAULT_PORT,
        Some(port) if endpoints::valid_port(port) => {
            i64::try_from(port).map_err(|_| VendorError::invalid_parameter("Port"))?
        }
        Some(_) => return Err(VendorError::invalid_parameter("Port")),
    };
    if let Some(prefix) = &request.connection_string_prefix
        && !endpoints::valid_connection_prefix(prefix)
    {
        return Err(VendorError::connection_string_malformed());
    }
    endpoints::check_endpoint_free(
        state,
        None,
        region.id,
        request.connection_string_prefix.as_deref(),
        port,
    )?;
    if let Some(ip) = &request.private_ip_address {
        check_private_ip(state, ip, &network_type, &vpc_id)?;
    }
    let source = backup::clone_source(
        state,
        &backup::CloneSource {
            instance_id: request.src_db_instance_id.as_deref(),
            backup_id: request.backup_id.as_deref(),
            restore_time: request.restore_time.as_deref(),
        },
        region.id,
        ctx.now,
    )?
    .map(|backup| (backup.dataset.clone(), backup.config.clone()));

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
    instance.architecture = architecture;
    instance.port = port;
    if let Some(prefix) = &request.connection_string_prefix {
        instance.connection_prefix = prefix.clone();
    }
    if let Some(ip) = &request.private_ip_address {
        instance.private_ip = ip.clone();
    }
    if let Some((dataset, config)) = source {
        instance.dataset = dataset;
        instance.config = config;
    }
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
        node_type: architecture::created_node_type(&instance.architecture).into(),
        bandwidth: architecture::scaled(class.bandwidth, &instance.architecture, class),
        capacity: architecture::scaled(class.capacity_mb, &instance.architecture, class),
        connections: architecture::scaled(class.connections, &instance.architecture, class),
        qps: architecture::scaled(class.qps, &instance.architecture, class),
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

/// Refuses a `PrivateIpAddress` that is not an IPv4 address, is asked for outside a VPC, or
/// is already held by another instance of the VPC.
fn check_private_ip(
    state: &State,
    ip: &str,
    network_type: &str,
    vpc_id: &str,
) -> Result<(), VendorError> {
    if ip.parse::<std::net::Ipv4Addr>().is_err() {
        return Err(VendorError::invalid_parameter("PrivateIpAddress"));
    }
    if network_type != "VPC" {
        return Err(VendorError::invalid_parameter_because(
            "PrivateIpAddress",
            "A private IP address can be chosen in a VPC only.",
        ));
    }
    let taken = state
        .instances
        .values()
        .any(|other| other.vpc_id == vpc_id && other.private_ip == ip);
    if taken {
        return Err(VendorError::invalid_parameter_because(
            "PrivateIpAddress",
            "Another instance of the VPC uses it.",
        ));
    }
    Ok(())
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
        node_type: architecture::listed_node_type(&instance.architecture).into(),
        package_type: "standard".into(),
        connection_domain: connection_domain(instance),
        connection_mode: "Standard".into(),
        private_ip: instance.private_ip.clone(),
        port: instance.port,
        bandwidth: class.map_or(0, |c| {
            architecture::scaled(c.bandwidth, &instance.architecture, c)
        }),
        capacity: class.map_or(0, |c| {
            architecture::scaled(c.capacity_mb, &instance.architecture, c)
        }),
        connections: class.map_or(0, |c| {
            architecture::scaled(c.connections, &instance.architecture, c)
        }),
        qps: class.map_or(0, |c| {
            architecture::scaled(c.qps, &instance.architecture, c)
        }),
        shard_count: class.map_or(1, |c| architecture::shard_count(&instance.architecture, c)),
        read_only_count: class
            .map_or(0, |c| {
                architecture::read_only_count(&instance.architecture, c)
            })
            .to_string(),
        replica_count: architecture::replica_count(&instance.architecture),
        secondary_zone_id: instance.architecture.secondary_zone_id.clone(),
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
        read_only_count: listed.read_only_count.parse().unwrap_or(0),
        replica_count: listed.replica_count,
        secondary_zone_id: listed.secondary_zone_id,
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
        zone_type: if instance.architecture.secondary_zone_id.is_empty() {
            "singlezone"
        } else {
            "doublezone"
        }
        .into(),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;

    fn ctx(seconds: i64) -> Context {
        Context {
            now: Timestamp::from_second(1_700_000_000 + seconds).unwrap(),
            durations: Default::default(),
            fail_backup: false,
        }
    }

    fn wire(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    /// `CreateInstance` of a small standard instance in `cn-hangzhou` with `extra`.
    fn create(state: &mut State, extra: &[(&str, &str)]) -> Result<Handled, VendorError> {
        let mut params = vec![
            ("RegionId", "cn-hangzhou"),
            ("InstanceClass", "redis.master.small.default"),
        ];
        params.extend_from_slice(extra);
        state.handle("CreateInstance", &wire(&params), &ctx(0))
    }

    /// The attribute and the listing of an instance.
    fn described(state: &mut State, id: &str) -> (Value, Value) {
        let attribute = state
            .handle(
                "DescribeInstanceAttribute",
                &wire(&[("InstanceId", id)]),
                &ctx(10),
            )
            .unwrap()
            .body["Instances"]["DBInstanceAttribute"][0]
            .clone();
        let listed = state
            .handle(
                "DescribeInstances",
                &wire(&[("RegionId", "cn-hangzhou"), ("InstanceIds", id)]),
                &ctx(10),
            )
            .unwrap()
            .body["Instances"]["KVStoreInstance"][0]
            .clone();
        (attribute, listed)
    }

    fn id_of(handled: &Handled) -> String {
        handled.body["InstanceId"].as_str().unwrap().to_owned()
    }

    const VPC: &[(&str, &str)] = &[
        ("NetworkType", "VPC"),
        ("VpcId", "vpc-1"),
        ("VSwitchId", "vsw-1"),
    ];

    #[test]
    fn port_prefix_and_private_ip_are_what_describe_reports() {
        let mut state = State::default();
        let mut params = VPC.to_vec();
        params.extend([
            ("Port", "6380"),
            ("ConnectionStringPrefix", "ordersredis"),
            ("PrivateIpAddress", "192.168.0.10"),
        ]);
        let created = create(&mut state, &params).unwrap();
        assert_eq!(created.body["Port"], 6380);
        assert_eq!(
            created.body["ConnectionDomain"],
            "ordersredis.redis.rds.aliyuncs.com"
        );
        assert_eq!(created.body["PrivateIpAddr"], "192.168.0.10");
        let id = id_of(&created);
        let (attribute, listed) = described(&mut state, &id);
        for body in [&attribute, &listed] {
            assert_eq!(body["Port"], 6380);
            assert_eq!(
                body["ConnectionDomain"],
                "ordersredis.redis.rds.aliyuncs.com"
            );
            assert_eq!(body["PrivateIp"], "192.168.0.10");
        }
        let net = state
            .handle(
                "DescribeDBInstanceNetInfo",
                &wire(&[("InstanceId", &id)]),
                &ctx(10),
            )
            .unwrap()
            .body;
        let endpoint = &net["NetInfoItems"]["InstanceNetInfo"][0];
        assert_eq!(endpoint["Port"], "6380");
        assert_eq!(endpoint["IPAddress"], "192.168.0.10");
        assert_eq!(
            endpoint["ConnectionString"],
            "ordersredis.redis.rds.aliyuncs.com"
        );
    }

    #[test]
    fn bad_or_taken_endpoints_are_refused() {
        let mut state = State::default();
        let code = |result: Result<Handled, VendorError>| result.unwrap_err();
        for port in ["1023", "65536"] {
            let err = code(create(&mut state, &[("Port", port)]));
            assert_eq!(err.code, "InvalidParameter");
            assert!(err.message.contains("Port"));
        }
        for prefix in ["short", "Ordersredis", "1ordersredis", "orders-redis"] {
            let err = code(create(&mut state, &[("ConnectionStringPrefix", prefix)]));
            assert_eq!(err.code, "InvalidConnectionString.Format", "{prefix}");
        }
        create(
            &mut state,
            &[("ConnectionStringPrefix", "ordersredis"), ("Port", "7000")],
        )
        .unwrap();
        let taken = code(create(
            &mut state,
            &[("ConnectionStringPrefix", "ordersredis")],
        ));
        assert_eq!(taken.code, "InvalidConnectionStringOrPort.Duplicate");
        let taken = code(create(&mut state, &[("Port", "7000")]));
        assert_eq!(taken.code, "InvalidConnectionStringOrPort.Duplicate");
        // The default port is everyone's.
        create(&mut state, &[("Port", "6379")]).unwrap();
        create(&mut state, &[("Port", "6379")]).unwrap();
    }

    #[test]
    fn a_private_ip_is_an_ipv4_address_in_a_vpc_not_yet_used() {
        let mut state = State::default();
        let err = create(&mut state, &[("PrivateIpAddress", "192.168.0.10")]).unwrap_err();
        assert!(err.message.contains("PrivateIpAddress"), "classic network");
        let mut bad = VPC.to_vec();
        bad.push(("PrivateIpAddress", "192.168.0.300"));
        let err = create(&mut state, &bad).unwrap_err();
        assert_eq!(err.code, "InvalidParameter");
        let mut good = VPC.to_vec();
        good.push(("PrivateIpAddress", "192.168.0.10"));
        create(&mut state, &good).unwrap();
        let err = create(&mut state, &good).unwrap_err();
        assert!(err.message.contains("PrivateIpAddress"), "already used");
    }

    #[test]
    fn the_declared_architecture_is_what_describe_reports() {
        let mut state = State::default();
        let created = state
            .handle(
                "CreateInstance",
                &wire(&[
                    ("RegionId", "cn-hangzhou"),
                    ("ZoneId", "cn-hangzhou-b"),
                    (
                        "InstanceClass",
                        "redis.logic.sharding.2g.4db.0rodb.4proxy.default",
                    ),
                    ("NodeType", "MASTER_SLAVE"),
                    ("ShardCount", "8"),
                    ("ReplicaCount", "2"),
                    ("SecondaryZoneId", "cn-hangzhou-e"),
                ]),
                &ctx(0),
            )
            .unwrap();
        assert_eq!(created.body["NodeType"], "MASTER_SLAVE");
        let (attribute, listed) = described(&mut state, &id_of(&created));
        for body in [&attribute, &listed] {
            assert_eq!(body["ShardCount"], 8);
            assert_eq!(body["ReplicaCount"], 2);
            assert_eq!(body["SecondaryZoneId"], "cn-hangzhou-e");
            assert_eq!(body["NodeType"], "double");
            assert_eq!(body["ArchitectureType"], "cluster");
            assert_eq!(body["Capacity"], 16_384, "8 shards of 2 GB");
        }
        assert_eq!(attribute["ReadOnlyCount"], 0);
        assert_eq!(listed["ReadOnlyCount"], "0");
        assert_eq!(attribute["ZoneType"], "doublezone");

        let split = state
            .handle(
                "CreateInstance",
                &wire(&[
                    ("RegionId", "cn-hangzhou"),
                    (
                        "InstanceClass",
                        "redis.logic.splitrw.default.1db.1rodb.4proxy",
                    ),
                    ("ReadOnlyCount", "3"),
                ]),
                &ctx(0),
            )
            .unwrap();
        let (attribute, listed) = described(&mut state, &id_of(&split));
        assert_eq!(attribute["ReadOnlyCount"], 3);
        assert_eq!(listed["ReadOnlyCount"], "3");
        assert_eq!(attribute["ArchitectureType"], "rwsplit");

        let single = create(&mut state, &[("NodeType", "STAND_ALONE")]).unwrap();
        assert_eq!(single.body["NodeType"], "STAND_ALONE");
        let (attribute, _) = described(&mut state, &id_of(&single));
        assert_eq!(attribute["NodeType"], "single");
        assert_eq!(attribute["ReplicaCount"], 0);
    }

    #[test]
    fn an_architecture_the_class_does_not_have_is_refused_on_create() {
        let mut state = State::default();
        for (name, value) in [
            ("ShardCount", "4"),
            ("ReadOnlyCount", "1"),
            ("ReplicaCount", "10"),
            ("NodeType", "triple"),
            ("SecondaryZoneId", "cn-hangzhou-b"),
        ] {
            let mut params = vec![("ZoneId", "cn-hangzhou-b")];
            params.push((name, value));
            let err = create(&mut state, &params).unwrap_err();
            assert_eq!(err.code, "InvalidParameter", "{name}");
            assert!(err.message.contains(name), "{}", err.message);
        }
        let err = create(&mut state, &[("SecondaryZoneId", "cn-beijing-a")]).unwrap_err();
        assert_eq!(err.code, "InvalidZoneId.NotFound");
        assert!(state.instances.is_empty());
    }

    #[test]
    fn old_state_files_load_with_the_default_architecture() {
        let mut state = State::default();
        let id = id_of(&create(&mut state, &[]).unwrap());
        let mut saved = serde_json::to_value(&state).unwrap();
        saved["instances"][&id]
            .as_object_mut()
            .unwrap()
            .remove("architecture");
        let loaded: State = serde_json::from_value(saved).unwrap();
        assert_eq!(loaded.instances[&id].architecture, Architecture::default());
    }

    #[test]
    fn parameters_that_do_not_apply_are_refused_not_ignored() {
        let mut state = State::default();
        let err = create(&mut state, &[("Period", "1")]).unwrap_err();
        assert!(err.message.contains("Period"), "{}", err.message);
        let err = create(&mut state, &[("VpcId", "vpc-1")]).unwrap_err();
        assert!(err.message.contains("VpcId"), "{}", err.message);
        let err = create(
            &mut state,
            &[("NetworkType", "CLASSIC"), ("VSwitchId", "vsw-1")],
        )
        .unwrap_err();
        assert!(err.message.contains("VSwitchId"), "{}", err.message);
        assert!(state.instances.is_empty());
    }
}

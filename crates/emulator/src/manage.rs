//! Instance management beyond create/describe/delete: spec and billing changes, network, versions, endpoints, maintenance window, flush.
//!
//! Rules this module keeps where the vendor reference is silent:
//! - `EffectiveTime=MaintainTime` (on `ModifyInstanceSpec` and `ModifyInstanceMajorVersion`)
//!   validates like `Immediately` but records a scheduled order instead of starting the change:
//!   the instance stays `Normal` with `HasRenewChangeOrder` true until the start of its
//!   maintenance window at or after the order (at once when ordered inside the window), then
//!   shows the change's status for the change duration. Several orders are queued and run one
//!   after another; an order due while the instance is busy runs once it is `Normal` again.
//! - A maintenance window is one whole hour: `HH:00Z` to the next hour (`23:00Z`–`00:00Z`
//!   wraps), as the reference's note on `ModifyInstanceMaintainTime` requires. It may be set in
//!   any status.
//! - After `SwitchNetwork` with `RetainClassic`, the instance's own endpoint serves the VPC and
//!   the retained classic endpoint is `<prefix>-classic.redis.rds.aliyuncs.com` until
//!   `classic_endpoint_expires` (counted from the end of the switch).
//!   `ModifyInstanceNetExpireTime` sets that expiry to the given number of days from now.
//! - `ModifyDBInstanceConnectionString` changes the instance's own (private) endpoint at once;
//!   the emulator has no public endpoints, so `IPType=Public` names none.
//! - An endpoint prefix is unique among all instances (the domain is shared); a port other
//!   than the default 6379 is unique among the instances of a region. `CreateInstance` and
//!   `ModifyDBInstanceConnectionString` both refuse a taken one.

use jiff::{SignedDuration, Timestamp};
use serde_json::json;

use super::architecture;
use super::catalog;
use super::endpoints::{
    check_endpoint_free, connection_domain, valid_connection_prefix, valid_port,
};
use super::errors::VendorError;
use super::lifecycle::Status;
use super::state::{
    Context, Handled, Instance, Pending, ScheduledOrder, State, TokenRecord, fingerprint, to_body,
};
use super::window::Window;
use kvsync_wire::actions::Action;
use kvsync_wire::actions::manage::{
    DescribeDbInstanceNetInfo, DescribeDbInstanceNetInfoResponse, FlushInstance, InstanceNetInfo,
    InstanceNetInfos, ModifyDbInstanceConnectionString, ModifyInstanceMaintainTime,
    ModifyInstanceMajorVersion, ModifyInstanceNetExpireTime, ModifyInstanceNetExpireTimeResponse,
    ModifyInstanceSpec, ModifyInstanceSpecResponse, NetInfoItem, NetInfoItems, SwitchNetwork,
    SwitchNetworkResponse, TransformToPrePaid, TransformToPrePaidResponse,
};

/// The domain every endpoint lives under.
const ENDPOINT_DOMAIN: &str = "redis.rds.aliyuncs.com";

/// An idempotency token the API accepts: at most 64 ASCII characters.
pub(crate) fn valid_client_token(token: &str) -> bool {
    token.len() <= 64 && token.is_ascii()
}

/// `EffectiveTime`: absent, `Immediately` or `MaintainTime`.
pub(crate) fn valid_effective_time(value: Option<&str>) -> bool {
    matches!(value, None | Some("Immediately" | "MaintainTime"))
}

/// Whether `EffectiveTime` asks for the maintenance window rather than now.
fn at_maintain_time(value: Option<&str>) -> bool {
    value == Some("MaintainTime")
}

/// When an order placed at `now` for the maintenance window runs: the window's start at or
/// after `now` (`now` itself inside the window, or when the window cannot be read).
pub(crate) fn maintenance_start(instance: &Instance, now: Timestamp) -> Timestamp {
    Window::parse(&instance.maintain_start_time, &instance.maintain_end_time)
        .map_or(now, |window| window.next_start(now))
}

/// Starts `change` under `status` for the change duration now, or, for
/// `EffectiveTime=MaintainTime`, queues it for the instance's maintenance window.
fn place_change(
    instance: &mut Instance,
    effective_time: Option<&str>,
    status: Status,
    ctx: &Context,
    change: Pending,
) {
    if at_maintain_time(effective_time) {
        instance.scheduled.push(ScheduledOrder {
            at: maintenance_start(instance, ctx.now),
            status,
            duration: ctx.durations.change,
            change,
        });
        instance.settle(ctx.now);
    } else {
        instance.begin(status, ctx, ctx.durations.change, vec![change]);
    }
}

/// The hour of a whole-hour `HH:00Z` time, or `None`.
pub(crate) fn whole_hour(value: &str) -> Option<u8> {
    let hour = value.strip_suffix(":00Z")?;
    if hour.len() != 2 || !hour.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    hour.parse().ok().filter(|hour| *hour < 24)
}

/// Checks a maintenance window: two whole hours, the end one hour after the start.
pub(crate) fn check_maintain_window(start: &str, end: &str) -> Result<(), VendorError> {
    let start = whole_hour(start).ok_or_else(VendorError::maintain_start_malformed)?;
    let end = whole_hour(end).ok_or_else(VendorError::maintain_end_malformed)?;
    if end == (start + 1) % 24 {
        Ok(())
    } else {
        Err(VendorError::maintain_end_malformed())
    }
}

/// The retention periods (days) a classic endpoint may be kept for.
pub(crate) fn valid_classic_expired_days(days: u64) -> bool {
    matches!(days, 14 | 30 | 60 | 120)
}

/// A major version as `(major, minor)`, e.g. `6.0` → `(6, 0)`.
pub(crate) fn parse_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Whether `target` is a higher major version than `current`.
pub(crate) fn is_upgrade(current: &str, target: &str) -> bool {
    match (parse_version(current), parse_version(target)) {
        (Some(current), Some(target)) => target > current,
        _ => false,
    }
}

/// A time as the API writes it: `yyyy-MM-ddTHH:mm:ssZ`.
pub(crate) fn wire_time(time: Timestamp) -> String {
    time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `now` plus `months` calendar months, to the second.
pub(crate) fn months_later(now: Timestamp, months: u64) -> Result<Timestamp, VendorError> {
    let months = i64::try_from(months).map_err(|_| VendorError::invalid_period())?;
    let later = now
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .checked_add(jiff::Span::new().months(months))
        .map_err(|_| VendorError::invalid_period())?;
    whole_second(later.timestamp())
}

/// `now` plus `days` days, to the second.
fn days_later(now: Timestamp, days: u64) -> Result<Timestamp, VendorError> {
    let days = i64::try_from(days).map_err(|_| VendorError::classic_expired_days_malformed())?;
    whole_second(now + SignedDuration::from_hours(days * 24))
}

fn whole_second(time: Timestamp) -> Result<Timestamp, VendorError> {
    Timestamp::from_second(time.as_second()).map_err(|_| VendorError::invalid_period())
}

/// The cloud-looking order ID for a sequence number.
fn order_id(sequence: u64) -> String {
    (20_000_000_000_u64 + sequence).to_string()
}

/// The retained classic endpoint of a VPC instance.
pub(crate) fn classic_connection_string(instance: &Instance) -> String {
    format!("{}-classic.{ENDPOINT_DOMAIN}", instance.connection_prefix)
}

/// The classic-network IP of an instance's retained classic endpoint.
fn classic_ip(instance: &Instance) -> String {
    format!(
        "100.118.{}.{}",
        (instance.sequence / 250) % 250,
        instance.sequence % 250 + 2
    )
}

/// Whole seconds until the retained classic endpoint expires, if one is retained at `now`.
pub(crate) fn classic_remaining(instance: &Instance, now: Timestamp) -> Option<i64> {
    let expires = instance.classic_endpoint_expires?;
    (instance.network_type == "VPC" && expires > now).then(|| expires.duration_since(now).as_secs())
}

/// `ModifyInstanceSpec`: a new class and/or architecture after `Changing`; `ClientToken`
/// replays the first answer.
///
/// Without `InstanceClass` the class stays and at least one architecture field must be
/// given. `RegionId`, when given, must be the instance's region; `OrderType` must be
/// `UPGRADE` or `DOWNGRADE`. Accepted as billing no-ops, since the emulator bills nothing:
/// `OrderType` (once valid), `AutoPay`, `ForceUpgrade` (every change the emulator accepts can
/// be made without forcing), `CouponNo` and `BusinessInfo`.
pub(crate) fn modify_spec(
    state: &mut State,
    request: ModifyInstanceSpec,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    if let Some(token) = &request.client_token
        && !valid_client_token(token)
    {
        return Err(VendorError::client_token_malformed());
    }
    let digest = fingerprint(
        &request.params().expose(),
        ModifyInstanceSpec::TOKEN.as_slice(),
    );
    if let Some(token) = &request.client_token
        && let Some(record) = state.client_tokens.get(token).filter(|r| r.remembered(ctx))
    {
        return if record.fingerprint == digest {
            Ok(Handled::read(record.response.clone()))
        } else {
            Err(VendorError::idempotent_mismatch())
        };
    }
    let instance = state.instance(&request.instance_id)?;
    if request
        .region_id
        .as_deref()
        .is_some_and(|region| region != instance.region_id)
    {
        return Err(VendorError::instance_not_found());
    }
    if !valid_effective_time(request.effective_time.as_deref()) {
        return Err(VendorError::invalid_parameter("EffectiveTime"));
    }
    if !matches!(
        request.order_type.as_deref(),
        None | Some("UPGRADE" | "DOWNGRADE")
    ) {
        return Err(VendorError::invalid_parameter("OrderType"));
    }
    let requested = architecture::Requested {
        node_type: request.node_type.as_deref(),
        shard_count: request.shard_count,
        replica_count: request.replica_count,
        read_only_count: request.read_only_count,
        secondary_zone_id: request.secondary_zone_id.as_deref(),
    };
    let code = match request.instance_class.as_deref() {
        Some(code) => code,
        None if requested.is_empty() => return Err(VendorError::missing_class()),
        None => instance.instance_class.as_str(),
    };
    let class = catalog::class(code).ok_or_else(VendorError::class_not_found)?;
    let region = catalog::region(&instance.region_id).ok_or_else(VendorError::region_not_found)?;
    let target = architecture::resolve(
        &instance.architecture,
        &requested,
        class,
        region,
        &instance.zone_id,
    )?;
    if class.code == instance.instance_class {
        if requested.is_empty() {
            return Err(VendorError::same_instance_class());
        }
        if architecture::same_in_effect(&target, &instance.architecture, class) {
            return Err(VendorError::spec_unchanged());
        }
    }
    instance.require_normal()?;

    let response = to_body(&ModifyInstanceSpecResponse {
        request_id: String::new(),
        order_id: order_id(state.next_sequence()),
    });
    let instance = state.instance_mut(&request.instance_id)?;
    place_change(
        instance,
        request.effective_time.as_deref(),
        Status::Changing,
        ctx,
        Pending::Spec {
            instance_class: class.code.to_owned(),
            architecture: target,
        },
    );
    if let Some(token) = request.client_token {
        state
            .client_tokens
            .insert(token, TokenRecord::new(digest, response.clone(), ctx));
    }
    Ok(Handled::wrote(response))
}

/// `TransformToPrePaid`: subscription billing for `Period` months after `Transforming`.
pub(crate) fn transform_to_prepaid(
    state: &mut State,
    request: TransformToPrePaid,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    if !catalog::valid_period(request.period) {
        return Err(VendorError::invalid_period());
    }
    if instance.charge_type != "PostPaid" {
        return Err(VendorError::incorrect_charge_type());
    }
    instance.require_normal()?;

    let end_time = months_later(ctx.now, request.period)?;
    let order = order_id(state.next_sequence());
    let instance = state.instance_mut(&request.instance_id)?;
    instance.begin(
        Status::Transforming,
        ctx,
        ctx.durations.change,
        vec![Pending::PrePaid { end_time }],
    );
    Ok(Handled::wrote(to_body(&TransformToPrePaidResponse {
        request_id: String::new(),
        end_time: wire_time(end_time),
        order_id: order,
    })))
}

/// `DescribeDBInstanceNetInfo`: the instance's endpoint, plus a retained classic one.
pub(crate) fn describe_net_info(
    state: &State,
    request: DescribeDbInstanceNetInfo,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let mut items = vec![own_endpoint(instance)];
    if let Some(remaining) = classic_remaining(instance, ctx.now) {
        items.push(retained_classic_endpoint(instance, remaining));
    }
    Ok(Handled::read(to_body(&DescribeDbInstanceNetInfoResponse {
        request_id: String::new(),
        instance_network_type: instance.network_type.clone(),
        net_info_items: InstanceNetInfos {
            instance_net_info: items,
        },
    })))
}

/// The instance's own endpoint in its current network.
fn own_endpoint(instance: &Instance) -> InstanceNetInfo {
    let vpc = instance.network_type == "VPC";
    InstanceNetInfo {
        connection_string: connection_domain(instance),
        ip_address: instance.private_ip.clone(),
        ip_type: if vpc { "Private" } else { "Inner" }.into(),
        port: instance.port.to_string(),
        db_instance_net_type: if vpc { "2" } else { "1" }.into(),
        upgradeable: "0".into(),
        vpc_id: instance.vpc_id.clone(),
        vpc_instance_id: if vpc {
            instance.id.clone()
        } else {
            String::new()
        },
        vswitch_id: instance.vswitch_id.clone(),
        ..InstanceNetInfo::default()
    }
}

/// The classic endpoint kept after a switch to a VPC, with its remaining seconds.
fn retained_classic_endpoint(instance: &Instance, remaining: i64) -> InstanceNetInfo {
    InstanceNetInfo {
        connection_string: classic_connection_string(instance),
        ip_address: classic_ip(instance),
        ip_type: "Inner".into(),
        port: instance.port.to_string(),
        db_instance_net_type: "1".into(),
        expired_time: remaining.to_string(),
        upgradeable: remaining.to_string(),
        ..InstanceNetInfo::default()
    }
}

/// `FlushInstance`: `Flushing`, then an empty dataset.
pub(crate) fn flush(
    state: &mut State,
    request: FlushInstance,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    instance.require_normal()?;
    instance.begin(
        Status::Flushing,
        ctx,
        ctx.durations.change,
        vec![Pending::Flush],
    );
    Ok(Handled::wrote(json!({})))
}

/// `ModifyInstanceMaintainTime`: a one-hour window on whole hours.
pub(crate) fn modify_maintain_time(
    state: &mut State,
    request: ModifyInstanceMaintainTime,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    check_maintain_window(&request.maintain_start_time, &request.maintain_end_time)?;
    instance.maintain_start_time = request.maintain_start_time;
    instance.maintain_end_time = request.maintain_end_time;
    Ok(Handled::wrote(json!({})))
}

/// `ModifyInstanceNetExpireTime`: keeps a retained classic endpoint `ClassicExpiredDays` from now.
pub(crate) fn modify_net_expire_time(
    state: &mut State,
    request: ModifyInstanceNetExpireTime,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    if !valid_classic_expired_days(request.classic_expired_days) {
        return Err(VendorError::classic_expired_days_malformed());
    }
    if classic_remaining(instance, ctx.now).is_none() {
        return Err(VendorError::incorrect_net_type());
    }
    if request.connection_string != classic_connection_string(instance) {
        return Err(VendorError::connection_string_not_found());
    }
    instance.require_normal()?;
    let expires = days_later(ctx.now, request.classic_expired_days)?;
    instance.classic_endpoint_expires = Some(expires);
    Ok(Handled::wrote(to_body(
        &ModifyInstanceNetExpireTimeResponse {
            request_id: String::new(),
            instance_id: instance.id.clone(),
            net_info_items: NetInfoItems {
                net_info_item: vec![NetInfoItem {
                    connection_string: classic_connection_string(instance),
                    db_instance_net_type: "Classic".into(),
                    expired_time: wire_time(expires),
                    ip_address: classic_ip(instance),
                    port: instance.port.to_string(),
                }],
            },
        },
    )))
}

/// `ModifyDBInstanceConnectionString`: a new prefix and/or port for the instance's endpoint.
pub(crate) fn modify_connection_string(
    state: &mut State,
    request: ModifyDbInstanceConnectionString,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.db_instance_id)?;
    let public = match request.ip_type.as_deref() {
        None | Some("Private") => false,
        Some("Public") => true,
        Some(_) => return Err(VendorError::ip_type_malformed()),
    };
    if request.new_connection_string.is_none() && request.port.is_none() {
        return Err(VendorError::missing_parameter("NewConnectionString"));
    }
    if let Some(prefix) = &request.new_connection_string
        && !valid_connection_prefix(prefix)
    {
        return Err(VendorError::connection_string_malformed());
    }
    if let Some(port) = request.port
        && !valid_port(port)
    {
        return Err(VendorError::invalid_parameter("Port"));
    }
    instance.require_normal()?;
    if public || request.current_connection_string != connection_domain(instance) {
        return Err(VendorError::connection_string_not_found());
    }
    let prefix = request
        .new_connection_string
        .unwrap_or_else(|| instance.connection_prefix.clone());
    // `valid_port` bounds the port to 65535, so it fits.
    let port = request.port.map_or(instance.port, |port| port as i64);
    if prefix == instance.connection_prefix && port == instance.port {
        return Err(VendorError::connection_unchanged());
    }
    check_endpoint_free(
        state,
        Some(&instance.id),
        &instance.region_id,
        Some(&prefix),
        port,
    )?;
    let instance = state.instance_mut(&request.db_instance_id)?;
    instance.connection_prefix = prefix;
    instance.port = port;
    Ok(Handled::wrote(json!({})))
}

/// `SwitchNetwork`: classic network → VPC after `NetworkModifying`, optionally keeping the
/// classic endpoint for `ClassicExpiredDays`.
pub(crate) fn switch_network(
    state: &mut State,
    request: SwitchNetwork,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance(&request.instance_id)?;
    let target = request.target_network_type.as_deref().unwrap_or("VPC");
    if !target.eq_ignore_ascii_case("VPC") {
        return Err(VendorError::invalid_parameter("TargetNetworkType"));
    }
    let (Some(vpc_id), Some(vswitch_id)) = (request.vpc_id, request.vswitch_id) else {
        return Err(VendorError::vpc_required());
    };
    if let Some(days) = request.classic_expired_days
        && !valid_classic_expired_days(days)
    {
        return Err(VendorError::classic_expired_days_malformed());
    }
    let retain_days = match (request.retain_classic, request.classic_expired_days) {
        (Some(true), Some(days)) => Some(days),
        (Some(true), None) => return Err(VendorError::missing_parameter("ClassicExpiredDays")),
        _ => None,
    };
    if instance.network_type != "CLASSIC" {
        return Err(VendorError::incorrect_net_type());
    }
    instance.require_normal()?;

    let switched_at = ctx.now + ctx.durations.change;
    let classic_expires = retain_days
        .map(|days| days_later(switched_at, days))
        .transpose()?;
    let task_id = state.next_sequence().to_string();
    let instance = state.instance_mut(&request.instance_id)?;
    instance.classic_endpoint_expires = classic_expires;
    instance.begin(
        Status::NetworkModifying,
        ctx,
        ctx.durations.change,
        vec![Pending::Network {
            network_type: "VPC".into(),
            vpc_id,
            vswitch_id,
        }],
    );
    Ok(Handled::wrote(to_body(&SwitchNetworkResponse {
        request_id: String::new(),
        task_id,
    })))
}

/// `ModifyInstanceMajorVersion`: a higher known version after `MajorVersionUpgrading`.
pub(crate) fn modify_major_version(
    state: &mut State,
    request: ModifyInstanceMajorVersion,
    ctx: &Context,
) -> Result<Handled, VendorError> {
    let instance = state.instance_mut(&request.instance_id)?;
    if !catalog::ENGINE_VERSIONS.contains(&request.major_version.as_str()) {
        return Err(VendorError::invalid_parameter("MajorVersion"));
    }
    if !valid_effective_time(request.effective_time.as_deref()) {
        return Err(VendorError::invalid_parameter("EffectiveTime"));
    }
    if !is_upgrade(&instance.engine_version, &request.major_version) {
        return Err(VendorError::major_version_not_upgrade());
    }
    instance.require_normal()?;
    place_change(
        instance,
        request.effective_time.as_deref(),
        Status::MajorVersionUpgrading,
        ctx,
        Pending::EngineVersion(request.major_version),
    );
    Ok(Handled::wrote(json!({})))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;
    use crate::state::Dataset;

    fn at(seconds: i64) -> Context {
        Context {
            now: Timestamp::from_second(1_700_000_000 + seconds).unwrap(),
            durations: Default::default(),
            fail_backup: false,
        }
    }

    fn wire(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// A state holding one `Normal` instance at `at(10)`; returns its ID.
    fn state_with_instance() -> (State, String) {
        let mut state = State::default();
        let created = state
            .handle(
                "CreateInstance",
                &wire(&[
                    ("RegionId", "cn-hangzhou"),
                    ("InstanceClass", "redis.master.small.default"),
                ]),
                &at(0),
            )
            .unwrap();
        let id = created.body["InstanceId"].as_str().unwrap().to_owned();
        state.settle(at(10).now);
        (state, id)
    }

    /// `at(10)` is 2023-11-14T22:13:30Z, outside the default 18:00Z–22:00Z window, whose
    /// next start is 2023-11-15T18:00:00Z: this many seconds after `at(0)`.
    const WINDOW_START: i64 = 71_200;

    fn renew_flags(state: &mut State, id: &str, at_seconds: i64) -> (Value, Value) {
        let listed = state
            .handle(
                "DescribeInstances",
                &wire(&[("RegionId", "cn-hangzhou"), ("InstanceIds", id)]),
                &at(at_seconds),
            )
            .unwrap();
        let attribute = state
            .handle(
                "DescribeInstanceAttribute",
                &wire(&[("InstanceId", id)]),
                &at(at_seconds),
            )
            .unwrap();
        (
            listed.body["Instances"]["KVStoreInstance"][0]["HasRenewChangeOrder"].clone(),
            attribute.body["Instances"]["DBInstanceAttribute"][0]["HasRenewChangeOrder"].clone(),
        )
    }

    fn spec_at_maintain_time(class: &str, id: &str, token: &str) -> BTreeMap<String, String> {
        wire(&[
            ("InstanceId", id),
            ("InstanceClass", class),
            ("EffectiveTime", "MaintainTime"),
            ("ClientToken", token),
        ])
    }

    #[test]
    fn the_window_start_comes_from_the_instance_window() {
        let (state, id) = state_with_instance();
        let instance = &state.instances[&id];
        assert_eq!(
            maintenance_start(instance, at(10).now),
            at(WINDOW_START).now
        );
        let inside = at(WINDOW_START + 600).now;
        assert_eq!(maintenance_start(instance, inside), inside);
    }

    #[test]
    fn a_maintain_time_spec_change_waits_for_the_window() {
        let (mut state, id) = state_with_instance();
        let request = spec_at_maintain_time("redis.master.mid.default", &id, "tok");
        let first = state
            .handle("ModifyInstanceSpec", &request, &at(10))
            .unwrap();
        assert!(first.changed);
        assert!(first.body["OrderId"].is_string());
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Normal);
        assert_eq!(instance.instance_class, "redis.master.small.default");
        assert_eq!(
            renew_flags(&mut state, &id, 20),
            (json!(true), json!("true"))
        );

        // The same ClientToken again: the stored answer, nothing new queued.
        let replay = state
            .handle("ModifyInstanceSpec", &request, &at(30))
            .unwrap();
        assert!(!replay.changed);
        assert_eq!(replay.body, first.body);
        assert_eq!(state.instances[&id].scheduled.len(), 1);

        state.settle(at(WINDOW_START - 1).now);
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Normal);
        assert_eq!(instance.instance_class, "redis.master.small.default");
        assert_eq!(
            renew_flags(&mut state, &id, WINDOW_START - 1),
            (json!(true), json!("true"))
        );

        // First observed a second into the window: the change started at the window start.
        state.settle(at(WINDOW_START + 1).now);
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Changing);
        assert_eq!(instance.lifecycle.until, Some(at(WINDOW_START + 2).now));
        assert_eq!(instance.instance_class, "redis.master.small.default");

        state.settle(at(WINDOW_START + 2).now);
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Normal);
        assert_eq!(instance.instance_class, "redis.master.mid.default");
        assert_eq!(
            renew_flags(&mut state, &id, WINDOW_START + 2),
            (json!(false), json!("false"))
        );
    }

    #[test]
    fn a_maintain_time_order_inside_the_window_runs_at_once() {
        let (mut state, id) = state_with_instance();
        state
            .handle(
                "ModifyInstanceMaintainTime",
                &wire(&[
                    ("InstanceId", &id),
                    ("MaintainStartTime", "22:00Z"),
                    ("MaintainEndTime", "23:00Z"),
                ]),
                &at(10),
            )
            .unwrap();
        let request = spec_at_maintain_time("redis.master.mid.default", &id, "tok");
        state
            .handle("ModifyInstanceSpec", &request, &at(10))
            .unwrap();
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Changing);
        assert!(!instance.has_scheduled_order());
        state.settle(at(12).now);
        assert_eq!(
            state.instances[&id].instance_class,
            "redis.master.mid.default"
        );
    }

    #[test]
    fn immediately_still_starts_the_change_now() {
        let (mut state, id) = state_with_instance();
        let request = wire(&[
            ("InstanceId", &id),
            ("InstanceClass", "redis.master.mid.default"),
            ("EffectiveTime", "Immediately"),
        ]);
        state
            .handle("ModifyInstanceSpec", &request, &at(10))
            .unwrap();
        assert_eq!(state.instances[&id].lifecycle.status, Status::Changing);
        assert!(!state.instances[&id].has_scheduled_order());
    }

    #[test]
    fn queued_orders_run_one_after_another_and_a_clock_jump_completes_them() {
        let (mut state, id) = state_with_instance();
        for (class, token) in [
            ("redis.master.mid.default", "first"),
            ("redis.master.stand.default", "second"),
        ] {
            state
                .handle(
                    "ModifyInstanceSpec",
                    &spec_at_maintain_time(class, &id, token),
                    &at(10),
                )
                .unwrap();
        }
        state
            .handle(
                "ModifyInstanceMajorVersion",
                &wire(&[
                    ("InstanceId", &id),
                    ("MajorVersion", "6.0"),
                    ("EffectiveTime", "MaintainTime"),
                ]),
                &at(11),
            )
            .unwrap();
        let instance = &state.instances[&id];
        assert_eq!(instance.scheduled.len(), 3, "a second order is not merged");
        assert_eq!(instance.engine_version, "5.0");

        let mut probe = state.clone();
        probe.settle(at(WINDOW_START + 3).now);
        let instance = &probe.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Changing);
        assert_eq!(instance.instance_class, "redis.master.mid.default");
        probe.settle(at(WINDOW_START + 5).now);
        let instance = &probe.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::MajorVersionUpgrading);
        assert_eq!(instance.instance_class, "redis.master.stand.default");

        // Two days later in one step: everything due has run.
        state.settle(at(2 * 86_400).now);
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Normal);
        assert_eq!(instance.instance_class, "redis.master.stand.default");
        assert_eq!(instance.engine_version, "6.0");
        assert!(!instance.has_scheduled_order());
    }

    #[test]
    fn scheduled_orders_survive_the_state_file_and_old_files_load() {
        let (mut state, id) = state_with_instance();
        state
            .handle(
                "ModifyInstanceSpec",
                &spec_at_maintain_time("redis.master.mid.default", &id, "tok"),
                &at(10),
            )
            .unwrap();
        let saved = serde_json::to_value(&state).unwrap();
        let loaded: State = serde_json::from_value(saved.clone()).unwrap();
        assert_eq!(loaded, state);
        let mut old = saved;
        old["instances"][&id]
            .as_object_mut()
            .unwrap()
            .remove("scheduled");
        let loaded: State = serde_json::from_value(old).unwrap();
        assert!(!loaded.instances[&id].has_scheduled_order());
    }

    #[test]
    fn a_maintain_time_order_is_validated_like_an_immediate_one() {
        let (mut state, id) = state_with_instance();
        let same = spec_at_maintain_time("redis.master.small.default", &id, "a");
        let err = state
            .handle("ModifyInstanceSpec", &same, &at(10))
            .unwrap_err();
        assert_eq!(err.code, VendorError::same_instance_class().code);
        state
            .handle("FlushInstance", &wire(&[("InstanceId", &id)]), &at(10))
            .unwrap();
        let busy = spec_at_maintain_time("redis.master.mid.default", &id, "b");
        let err = state
            .handle("ModifyInstanceSpec", &busy, &at(11))
            .unwrap_err();
        assert_eq!(err.code, VendorError::incorrect_state().code);
        assert!(!state.instances[&id].has_scheduled_order());
    }

    #[test]
    fn flush_empties_the_dataset_when_flushing_ends() {
        let (mut state, id) = state_with_instance();
        let handled = state
            .handle("FlushInstance", &wire(&[("InstanceId", &id)]), &at(10))
            .unwrap();
        assert!(handled.changed);
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Flushing);
        assert!(instance.dataset.keys > 0, "data stays until the flush ends");
        state.settle(at(12).now);
        let instance = &state.instances[&id];
        assert_eq!(instance.lifecycle.status, Status::Normal);
        assert_eq!(instance.dataset, Dataset::default());
    }

    #[test]
    fn reads_do_not_ask_for_persistence_and_token_replays_record_nothing_new() {
        let (mut state, id) = state_with_instance();
        let read = state
            .handle(
                "DescribeDBInstanceNetInfo",
                &wire(&[("InstanceId", &id)]),
                &at(10),
            )
            .unwrap();
        assert!(!read.changed);
        let request = wire(&[
            ("InstanceId", &id),
            ("InstanceClass", "redis.master.mid.default"),
            ("ClientToken", "tok"),
        ]);
        let first = state
            .handle("ModifyInstanceSpec", &request, &at(10))
            .unwrap();
        let sequence = state.sequence;
        let replay = state
            .handle("ModifyInstanceSpec", &request, &at(11))
            .unwrap();
        assert!(!replay.changed);
        assert_eq!(replay.body, first.body);
        assert_eq!(state.sequence, sequence, "no second order");
        assert_eq!(state.client_tokens.len(), 1);
    }

    #[test]
    fn client_tokens_are_short_ascii() {
        assert!(valid_client_token("kvsync-0123456789abcdef"));
        assert!(valid_client_token(&"a".repeat(64)));
        assert!(!valid_client_token(&"a".repeat(65)));
        assert!(!valid_client_token("jeton-é"));
    }

    #[test]
    fn effective_time_takes_the_two_documented_values() {
        assert!(valid_effective_time(None));
        assert!(valid_effective_time(Some("Immediately")));
        assert!(valid_effective_time(Some("MaintainTime")));
        assert!(!valid_effective_time(Some("immediately")));
        assert!(!valid_effective_time(Some("0")));
    }

    #[test]
    fn maintenance_times_are_whole_hours() {
        assert_eq!(whole_hour("00:00Z"), Some(0));
        assert_eq!(whole_hour("23:00Z"), Some(23));
        assert_eq!(whole_hour("24:00Z"), None);
        assert_eq!(whole_hour("02:30Z"), None);
        assert_eq!(whole_hour("2:00Z"), None);
        assert_eq!(whole_hour("02:00"), None);
        assert_eq!(whole_hour("+2:00Z"), None);
    }

    #[test]
    fn maintenance_windows_last_one_hour_and_may_wrap() {
        assert_eq!(check_maintain_window("02:00Z", "03:00Z"), Ok(()));
        assert_eq!(check_maintain_window("23:00Z", "00:00Z"), Ok(()));
        assert_eq!(
            check_maintain_window("02:00Z", "04:00Z").unwrap_err().code,
            "InvalidEndTime.Format"
        );
        assert_eq!(
            check_maintain_window("03:00Z", "02:00Z").unwrap_err().code,
            "InvalidEndTime.Format"
        );
        assert_eq!(
            check_maintain_window("2am", "03:00Z").unwrap_err().code,
            "InvalidStartTime.Malformed"
        );
    }

    #[test]
    fn classic_retention_takes_the_documented_days() {
        for days in [14, 30, 60, 120] {
            assert!(valid_classic_expired_days(days));
        }
        for days in [0, 7, 15, 90, 365] {
            assert!(!valid_classic_expired_days(days));
        }
    }

    #[test]
    fn connection_prefixes_follow_the_naming_rule() {
        assert!(valid_connection_prefix("standardredis"));
        assert!(valid_connection_prefix("orders2024"));
        assert!(valid_connection_prefix(&"a".repeat(64)));
        assert!(!valid_connection_prefix("short1"));
        assert!(!valid_connection_prefix(&"a".repeat(65)));
        assert!(!valid_connection_prefix("1orders2024"));
        assert!(!valid_connection_prefix("Ordersredis"));
        assert!(!valid_connection_prefix("orders-redis"));
    }

    #[test]
    fn ports_are_unprivileged() {
        assert!(valid_port(1024));
        assert!(valid_port(65535));
        assert!(!valid_port(1023));
        assert!(!valid_port(65536));
    }

    #[test]
    fn major_versions_compare_numerically() {
        assert_eq!(parse_version("6.0"), Some((6, 0)));
        assert_eq!(parse_version("six"), None);
        assert!(is_upgrade("5.0", "6.0"));
        assert!(is_upgrade("2.8", "4.0"));
        assert!(!is_upgrade("5.0", "5.0"));
        assert!(!is_upgrade("6.0", "4.0"));
        assert!(!is_upgrade("5.0", "latest"));
    }

    #[test]
    fn subscriptions_end_whole_calendar_months_later() {
        let now: Timestamp = "2024-01-31T10:20:30.123456Z".parse().unwrap();
        let end = months_later(now, 1).unwrap();
        assert_eq!(wire_time(end), "2024-02-29T10:20:30Z");
        assert_eq!(end.subsec_nanosecond(), 0);
        assert_eq!(
            wire_time(months_later(now, 12).unwrap()),
            "2025-01-31T10:20:30Z"
        );
    }

    #[test]
    fn a_classic_endpoint_is_retained_only_in_a_vpc_until_it_expires() {
        let now: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let ctx = Context {
            now,
            durations: Default::default(),
            fail_backup: false,
        };
        let mut instance = Instance::new(
            "r-abc".into(),
            "n".into(),
            "cn-hangzhou".into(),
            "cn-hangzhou-b".into(),
            "redis.master.small.default".into(),
            &ctx,
            1,
        );
        instance.classic_endpoint_expires = Some(now + SignedDuration::from_secs(100));
        assert_eq!(classic_remaining(&instance, now), None, "still classic");
        instance.network_type = "VPC".into();
        assert_eq!(classic_remaining(&instance, now), Some(100));
        assert_eq!(
            classic_remaining(&instance, now + SignedDuration::from_secs(100)),
            None
        );
        assert_eq!(
            classic_connection_string(&instance),
            "r-abc-classic.redis.rds.aliyuncs.com"
        );
    }

    fn attribute_of(state: &mut State, id: &str, at_seconds: i64) -> Value {
        state
            .handle(
                "DescribeInstanceAttribute",
                &wire(&[("InstanceId", id)]),
                &at(at_seconds),
            )
            .unwrap()
            .body["Instances"]["DBInstanceAttribute"][0]
            .clone()
    }

    #[test]
    fn an_architecture_change_without_a_class_goes_changing_then_reports_the_new_values() {
        let (mut state, id) = state_with_instance();
        state
            .handle(
                "ModifyInstanceSpec",
                &wire(&[
                    ("InstanceId", &id),
                    ("ReplicaCount", "3"),
                    ("SecondaryZoneId", "cn-hangzhou-e"),
                ]),
                &at(10),
            )
            .unwrap();
        let changing = attribute_of(&mut state, &id, 11);
        assert_eq!(changing["InstanceStatus"], "Changing");
        assert_eq!(changing["ReplicaCount"], 1);
        let changed = attribute_of(&mut state, &id, 12);
        assert_eq!(changed["InstanceStatus"], "Normal");
        assert_eq!(changed["ReplicaCount"], 3);
        assert_eq!(changed["SecondaryZoneId"], "cn-hangzhou-e");
        assert_eq!(changed["InstanceClass"], "redis.master.small.default");
    }

    #[test]
    fn a_class_and_shard_change_together_take_effect_together() {
        let (mut state, id) = state_with_instance();
        state
            .handle(
                "ModifyInstanceSpec",
                &wire(&[
                    ("InstanceId", &id),
                    (
                        "InstanceClass",
                        "redis.logic.sharding.2g.4db.0rodb.4proxy.default",
                    ),
                    ("ShardCount", "16"),
                ]),
                &at(10),
            )
            .unwrap();
        let changed = attribute_of(&mut state, &id, 12);
        assert_eq!(changed["ShardCount"], 16);
        assert_eq!(changed["ArchitectureType"], "cluster");
    }

    #[test]
    fn a_spec_change_the_vendor_forbids_is_refused() {
        let (mut state, id) = state_with_instance();
        let refuse = |state: &mut State, extra: &[(&str, &str)]| {
            let mut params = vec![("InstanceId", id.as_str())];
            params.extend_from_slice(extra);
            state
                .handle("ModifyInstanceSpec", &wire(&params), &at(10))
                .unwrap_err()
        };
        let err = refuse(&mut state, &[("ShardCount", "4")]);
        assert_eq!(err.code, "InvalidParameter");
        assert!(err.message.contains("ShardCount"));
        let err = refuse(&mut state, &[("ReadOnlyCount", "2")]);
        assert!(err.message.contains("ReadOnlyCount"));
        let err = refuse(&mut state, &[("SecondaryZoneId", "cn-hangzhou-b")]);
        assert!(
            err.message.contains("SecondaryZoneId"),
            "the instance's zone"
        );
        let err = refuse(&mut state, &[("SecondaryZoneId", "cn-shanghai-b")]);
        assert_eq!(err.code, "InvalidZoneId.NotFound");
        let err = refuse(&mut state, &[("ReplicaCount", "1")]);
        assert_eq!(
            err.code, "InvalidDBInstanceClass.Duplicate",
            "nothing changes"
        );
        let err = refuse(&mut state, &[("NodeType", "double")]);
        assert_eq!(
            err.code, "InvalidDBInstanceClass.Duplicate",
            "nothing changes"
        );
        let err = refuse(&mut state, &[]);
        assert_eq!(err.code, "MissingClassCode");
        let err = refuse(
            &mut state,
            &[
                ("InstanceClass", "redis.master.mid.default"),
                ("OrderType", "SIDEWAYS"),
            ],
        );
        assert!(err.message.contains("OrderType"));
        let err = refuse(
            &mut state,
            &[
                ("InstanceClass", "redis.master.mid.default"),
                ("RegionId", "cn-beijing"),
            ],
        );
        assert_eq!(err.code, "InvalidInstanceId.NotFound");
        assert_eq!(state.instances[&id].lifecycle.status, Status::Normal);
    }

    #[test]
    fn billing_options_of_a_spec_change_are_accepted() {
        let (mut state, id) = state_with_instance();
        state
            .handle(
                "ModifyInstanceSpec",
                &wire(&[
                    ("InstanceId", &id),
                    ("InstanceClass", "redis.master.mid.default"),
                    ("RegionId", "cn-hangzhou"),
                    ("OrderType", "UPGRADE"),
                    ("AutoPay", "true"),
                    ("ForceUpgrade", "true"),
                    ("CouponNo", "youhuiquan_promotion_option_id_for_blank"),
                    ("BusinessInfo", "{}"),
                ]),
                &at(10),
            )
            .unwrap();
        assert_eq!(
            attribute_of(&mut state, &id, 12)["InstanceClass"],
            "redis.master.mid.default"
        );
    }

    #[test]
    fn a_connection_string_change_is_what_both_describes_report() {
        let (mut state, id) = state_with_instance();
        let current = connection_domain(&state.instances[&id]);
        state
            .handle(
                "ModifyDBInstanceConnectionString",
                &wire(&[
                    ("DBInstanceId", &id),
                    ("CurrentConnectionString", &current),
                    ("NewConnectionString", "paymentsredis"),
                    ("Port", "6390"),
                ]),
                &at(10),
            )
            .unwrap();
        let attribute = attribute_of(&mut state, &id, 11);
        assert_eq!(
            attribute["ConnectionDomain"],
            "paymentsredis.redis.rds.aliyuncs.com"
        );
        assert_eq!(attribute["Port"], 6390);
        let net = state
            .handle(
                "DescribeDBInstanceNetInfo",
                &wire(&[("InstanceId", &id)]),
                &at(11),
            )
            .unwrap()
            .body;
        let endpoint = &net["NetInfoItems"]["InstanceNetInfo"][0];
        assert_eq!(
            endpoint["ConnectionString"],
            "paymentsredis.redis.rds.aliyuncs.com"
        );
        assert_eq!(endpoint["Port"], "6390");

        // A second instance may take neither the prefix nor the chosen port.
        let other = state
            .handle(
                "CreateInstance",
                &wire(&[
                    ("RegionId", "cn-hangzhou"),
                    ("InstanceClass", "redis.master.small.default"),
                    ("Port", "6390"),
                ]),
                &at(12),
            )
            .unwrap_err();
        assert_eq!(other.code, "InvalidConnectionStringOrPort.Duplicate");
    }

    #[test]
    fn the_retained_classic_endpoint_expiry_can_be_extended_and_shortened() {
        let (mut state, id) = state_with_instance();
        state
            .handle(
                "SwitchNetwork",
                &wire(&[
                    ("InstanceId", &id),
                    ("VpcId", "vpc-1"),
                    ("VSwitchId", "vsw-1"),
                    ("RetainClassic", "true"),
                    ("ClassicExpiredDays", "14"),
                ]),
                &at(10),
            )
            .unwrap();
        state.settle(at(12).now);
        let classic = classic_connection_string(&state.instances[&id]);
        let remaining = |state: &mut State| {
            let net = state
                .handle(
                    "DescribeDBInstanceNetInfo",
                    &wire(&[("InstanceId", &id)]),
                    &at(20),
                )
                .unwrap()
                .body;
            net["NetInfoItems"]["InstanceNetInfo"][1]["ExpiredTime"]
                .as_str()
                .unwrap()
                .parse::<i64>()
                .unwrap()
        };
        let day = 86_400;
        assert_eq!(remaining(&mut state), 14 * day - 8);
        for (days, left) in [("120", 120 * day), ("30", 30 * day)] {
            state
                .handle(
                    "ModifyInstanceNetExpireTime",
                    &wire(&[
                        ("InstanceId", &id),
                        ("ConnectionString", &classic),
                        ("ClassicExpiredDays", days),
                    ]),
                    &at(20),
                )
                .unwrap();
            assert_eq!(remaining(&mut state), left, "{days} days");
        }
    }
}

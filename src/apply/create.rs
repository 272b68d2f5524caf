//! Creating an instance once, whoever else tries at the same time.
//!
//! The `Token` of a creation depends on the instance's identity and a chain position only
//! (`plan::token::create`), so every writer — another process, another machine — sends the
//! same token for the same name. The cloud then creates at most once per token: the others get
//! the first answer back, or `IdempotentParameterMismatch` when they sent other parameters.
//!
//! A token can be spent: an earlier instance of the name, since released, was created with it.
//! The cloud then answers with the released instance's ID (or refuses other parameters), and
//! apply moves to the next token of the chain. Every writer walks the same chain from the
//! start, so they meet on the same first unspent token; a cloud that forgets tokens after a
//! while only shortens the walk. After the instance is `Normal`, [`check_single`] makes sure
//! it is the only live instance of its name, and reports it if not.

use std::time::Duration;

use tracing::info;

use super::error::StepError;
use super::wait::Pace;
use crate::api::actions::CreateInstance;
use crate::api::actions::instance::{
    DESCRIBE_INSTANCES_MAX_PAGE_SIZE, DescribeInstanceAttribute, DescribeInstances,
};
use crate::api::{self, Client};
use crate::manifest::InstanceKey;
use crate::plan::token::{self, MAX_CREATE_CHAIN};

/// How many times an answer's instance (or a name) is looked up before kvsync concludes that
/// it does not exist: a new instance is visible at once, this covers a lagging read.
const LOOKUPS: u32 = 3;

/// The status of a released instance that is still listed.
const RELEASED: &str = "Released";

/// Sends the planned `request` (or finds the instance another writer created for the same
/// intent) and returns the instance's ID. The planned token is the chain's first; only when the
/// cloud shows it spent does the request go again with the chain's next token, which is the
/// one parameter apply ever changes.
pub async fn run(
    client: &Client,
    stack: &str,
    key: &InstanceKey,
    mut request: CreateInstance,
    pace: &Pace,
) -> Result<String, StepError> {
    let region = key.region.as_str();
    for k in 0..MAX_CREATE_CHAIN {
        if k > 0 {
            request.token = Some(token::create(stack, region, &key.name, k));
        }
        match client.call(region, &request).await {
            Ok(response) => {
                if is_live_named(client, region, &response.instance_id, &key.name, pace).await? {
                    if k > 0 {
                        info!(instance = %key, chain = k, "created with a later create token");
                    }
                    return Ok(response.instance_id);
                }
                info!(
                    instance = %key,
                    chain = k,
                    replayed = %response.instance_id,
                    "the create token was spent by an instance since released; trying the next"
                );
            }
            Err(err) if err.code() == Some("IdempotentParameterMismatch") => {
                if let Some(id) = adopt(client, key, pace).await? {
                    info!(
                        instance = %key,
                        instance_id = %id,
                        "another writer created this instance with other parameters; they are reconciled from here"
                    );
                    return Ok(id);
                }
                info!(
                    instance = %key,
                    chain = k,
                    "the create token was spent with other parameters by an instance since released; trying the next"
                );
            }
            Err(err) => return Err(err.into()),
        }
    }
    Err(StepError::ChainExhausted(MAX_CREATE_CHAIN))
}

/// After the create: fails when more than one live instance has the name.
pub async fn check_single(client: &Client, key: &InstanceKey) -> Result<(), StepError> {
    let live = live_named(client, &key.region, &key.name).await?;
    if live.len() > 1 {
        return Err(duplicates(key, &live));
    }
    Ok(())
}

/// The one live instance of the name, looked up a few times; an error when there are several.
async fn adopt(
    client: &Client,
    key: &InstanceKey,
    pace: &Pace,
) -> Result<Option<String>, StepError> {
    let mut pause = pace.poll.initial;
    for attempt in 1..=LOOKUPS {
        let live = live_named(client, &key.region, &key.name).await?;
        match live.as_slice() {
            [one] => return Ok(Some(one.clone())),
            [] => {}
            _ => return Err(duplicates(key, &live)),
        }
        if attempt < LOOKUPS {
            tokio::time::sleep(pause).await;
            pause = next(pause, pace);
        }
    }
    Ok(None)
}

/// Whether `id` is a live instance named `name`, looked up a few times while it is not found.
async fn is_live_named(
    client: &Client,
    region: &str,
    id: &str,
    name: &str,
    pace: &Pace,
) -> Result<bool, api::Error> {
    let mut pause = pace.poll.initial;
    for attempt in 1..=LOOKUPS {
        let request = DescribeInstanceAttribute {
            instance_id: id.to_owned(),
        };
        match client.call(region, &request).await {
            Ok(response) => {
                if let Some(found) = response.instances.db_instance_attribute.first() {
                    return Ok(found.instance_name == name && found.instance_status != RELEASED);
                }
            }
            Err(err) if err.code() == Some("InvalidInstanceId.NotFound") => {}
            Err(err) => return Err(err),
        }
        if attempt < LOOKUPS {
            tokio::time::sleep(pause).await;
            pause = next(pause, pace);
        }
    }
    Ok(false)
}

/// The IDs of the live instances named exactly `name` in `region`.
async fn live_named(client: &Client, region: &str, name: &str) -> Result<Vec<String>, api::Error> {
    let mut ids = Vec::new();
    let mut page_number = 1;
    loop {
        let request = DescribeInstances {
            region_id: region.to_owned(),
            search_key: Some(name.to_owned()),
            page_number,
            page_size: DESCRIBE_INSTANCES_MAX_PAGE_SIZE,
            ..Default::default()
        };
        let page = client.call(region, &request).await?;
        let listed = page.instances.kv_store_instance;
        let count = listed.len() as u64;
        ids.extend(
            listed
                .into_iter()
                .filter(|i| i.instance_name == name && i.instance_status != RELEASED)
                .map(|i| i.instance_id),
        );
        if count == 0 || page_number * DESCRIBE_INSTANCES_MAX_PAGE_SIZE >= page.total_count {
            break;
        }
        page_number += 1;
    }
    ids.sort();
    ids.dedup();
    Ok(ids)
}

fn duplicates(key: &InstanceKey, ids: &[String]) -> StepError {
    StepError::Duplicates {
        name: key.name.clone(),
        region: key.region.clone(),
        count: ids.len(),
        ids: ids.join(", "),
    }
}

fn next(pause: Duration, pace: &Pace) -> Duration {
    pause.mul_f64(1.5).min(pace.poll.max)
}

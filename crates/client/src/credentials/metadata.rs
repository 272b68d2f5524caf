//! The ECS instance metadata service, IMDSv2 only: a session token from
//! `PUT /latest/api/token`, then the role's credentials from
//! `/latest/meta-data/ram/security-credentials/<role>` with the token in a header.
//!
//! kvsync never falls back to IMDSv1 (tokenless reads), which is what a server-side request
//! forgery would use; an instance that enforces IMDSv2 and one that does not both serve it.

use jiff::Timestamp;
use serde::Deserialize;

use super::Credentials;
use super::sts::Issued;
use kvsync_secrets::Secret;

/// The header asking for a session token of this many seconds.
pub const TOKEN_TTL_HEADER: &str = "X-aliyun-ecs-metadata-token-ttl-seconds";
/// The header carrying the session token.
pub const TOKEN_HEADER: &str = "X-aliyun-ecs-metadata-token";
/// How long a session token is asked for, in seconds (one call's worth; kvsync asks anew for
/// each refresh).
const TOKEN_SECONDS: u32 = 60;
/// The most of an answer the client reads.
const MAX_ANSWER_BYTES: usize = 64 << 10;
const CREDENTIALS_PATH: &str = "/latest/meta-data/ram/security-credentials/";

/// Why the metadata service gave no credentials.
#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    /// No answer.
    #[error("asking the metadata service at {url}")]
    Transport {
        /// What was asked (the path, no value).
        url: String,
        /// The error.
        #[source]
        source: reqwest::Error,
    },
    /// An answer other than 200.
    #[error("the metadata service answered HTTP {status} to {what}")]
    Status {
        /// What was asked.
        what: &'static str,
        /// The status.
        status: u16,
    },
    /// An answer that is not what the service sends.
    #[error("the metadata service's answer to {what} is unusable: {reason}")]
    Answer {
        /// What was asked.
        what: &'static str,
        /// What is wrong (no value of the answer is quoted).
        reason: String,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RoleCredentials {
    #[serde(default)]
    code: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    security_token: String,
    #[serde(default)]
    expiration: String,
}

async fn read(
    response: reqwest::Response,
    what: &'static str,
    url: &str,
) -> Result<String, MetadataError> {
    let status = response.status().as_u16();
    if status != 200 {
        return Err(MetadataError::Status { what, status });
    }
    let mut response = response;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|source| MetadataError::Transport {
            url: url.to_owned(),
            source: source.without_url(),
        })?
    {
        body.extend_from_slice(&chunk);
        if body.len() > MAX_ANSWER_BYTES {
            return Err(MetadataError::Answer {
                what,
                reason: format!("longer than {MAX_ANSWER_BYTES} bytes"),
            });
        }
    }
    String::from_utf8(body).map_err(|_| MetadataError::Answer {
        what,
        reason: "not UTF-8".into(),
    })
}

/// The text at `url`, read with the session `token`.
async fn get(
    http: &reqwest::Client,
    url: &str,
    token: &Secret,
    what: &'static str,
) -> Result<String, MetadataError> {
    let answer = http
        .get(url)
        .header(TOKEN_HEADER, token.expose())
        .send()
        .await
        .map_err(|source| MetadataError::Transport {
            url: url.to_owned(),
            source: source.without_url(),
        })?;
    read(answer, what, url).await
}

/// The credentials of `role_name` (else of the role the service names) from the service at
/// `endpoint`.
pub async fn fetch(
    http: &reqwest::Client,
    endpoint: &str,
    role_name: Option<&str>,
) -> Result<Issued, MetadataError> {
    let base = endpoint.trim_end_matches('/');
    let transport = |url: &str| {
        let url = url.to_owned();
        move |source: reqwest::Error| MetadataError::Transport {
            url,
            source: source.without_url(),
        }
    };
    let token_url = format!("{base}/latest/api/token");
    let token = http
        .put(&token_url)
        .header(TOKEN_TTL_HEADER, TOKEN_SECONDS.to_string())
        .send()
        .await
        .map_err(transport(&token_url))?;
    let token = Secret::new(read(token, "the session token", &token_url).await?.trim());

    let role = match role_name {
        Some(name) => name.to_owned(),
        None => {
            let url = format!("{base}{CREDENTIALS_PATH}");
            let text = get(http, &url, &token, "the role name").await?;
            let name = text.lines().next().unwrap_or("").trim().to_owned();
            if name.is_empty() {
                return Err(MetadataError::Answer {
                    what: "the role name",
                    reason: "no RAM role is attached to this instance".into(),
                });
            }
            name
        }
    };
    if role.contains('/') || role.contains("..") {
        return Err(MetadataError::Answer {
            what: "the role name",
            reason: format!("{role:?} is not a role name"),
        });
    }
    let url = format!("{base}{CREDENTIALS_PATH}{role}");
    let text = get(http, &url, &token, "the role's credentials").await?;
    let unusable = |reason: &str| MetadataError::Answer {
        what: "the role's credentials",
        reason: reason.to_owned(),
    };
    let found: RoleCredentials =
        serde_json::from_str(&text).map_err(|_| unusable("not the JSON the service sends"))?;
    if found.code != "Success" {
        return Err(unusable("its Code is not Success"));
    }
    let expiration = found
        .expiration
        .parse::<Timestamp>()
        .map_err(|_| unusable("its Expiration is not a time"))?;
    if found.access_key_id.is_empty()
        || found.access_key_secret.is_empty()
        || found.security_token.is_empty()
    {
        return Err(unusable("it lacks a key, a secret or a token"));
    }
    let credentials = Credentials {
        access_key_id: found.access_key_id,
        access_key_secret: Secret::new(found.access_key_secret),
        security_token: Some(Secret::new(found.security_token)),
    };
    credentials.register();
    Ok(Issued {
        credentials,
        expiration,
    })
}

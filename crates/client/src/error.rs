//! Errors of API calls.
//!
//! Every text in these errors that comes from the cloud went through
//! [`scrub`](super::scrub::scrub) when the error was built (`transport::decode`), so printing,
//! logging or serving an error never shows a secret the cloud quoted back.

use std::fmt;
use std::path::PathBuf;

/// The cloud's answer to a failed call: HTTP status plus the body's Code, Message, RequestId
/// (all scrubbed of secrets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The action that failed.
    pub action: &'static str,
    /// HTTP status code.
    pub status: u16,
    /// The vendor's error code, e.g. `IncorrectDBInstanceState`.
    pub code: String,
    /// The vendor's message.
    pub message: String,
    /// The request ID to quote to support.
    pub request_id: String,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failed: {}: {} (RequestId: {}, HTTP {})",
            self.action,
            self.code,
            self.message,
            if self.request_id.is_empty() {
                "-"
            } else {
                &self.request_id
            },
            self.status
        )
    }
}

impl std::error::Error for ApiError {}

/// An error and its causes on one line, `: `-separated.
pub fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// How long an answer body may be before it is cut in error messages.
pub const BODY_EXCERPT_LEN: usize = 512;

/// Everything that can go wrong with one call.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The cloud answered with an error.
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request did not get an answer (connect, TLS, timeout, connection dropped).
    #[error("sending {action} to {endpoint}")]
    Transport {
        /// The action being sent.
        action: &'static str,
        /// Where it was sent.
        endpoint: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// An answer arrived but is not what the action's model describes.
    #[error("decoding the answer to {action} (HTTP {status}): {body_excerpt}")]
    Decode {
        /// The action.
        action: &'static str,
        /// HTTP status.
        status: u16,
        /// The start of the body, scrubbed.
        body_excerpt: String,
        /// The JSON error, scrubbed (its text may quote the body).
        #[source]
        source: Box<DecodeReason>,
    },
    /// The answer's body is longer than any real answer: reading stopped at the limit.
    #[error(
        "the answer to {action} is longer than the limit of {} MiB; reading stopped there",
        .limit >> 20
    )]
    BodyTooLarge {
        /// The action.
        action: &'static str,
        /// The limit, in bytes ([`MAX_BODY_BYTES`](super::transport::MAX_BODY_BYTES)).
        limit: usize,
    },
    /// The writer's fence refused the request before it was sent: the hold on the region's
    /// shard was lost, or may have been.
    #[error(
        "{action} in {region} was not sent: the hold on this stack and region was lost (or may \
         have been); another writer may have it"
    )]
    Fenced {
        /// The action.
        action: &'static str,
        /// The region.
        region: String,
    },
    /// No valid credentials to sign the request with (a temporary provider's refresh failed
    /// and the last credentials expired); nothing was sent.
    #[error("{action} was not sent")]
    Credentials {
        /// The action.
        action: &'static str,
        /// Why there are no credentials (names the provider).
        #[source]
        source: Box<CredentialsError>,
    },
    /// The endpoint URL is not usable.
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    Endpoint {
        /// The endpoint as given.
        endpoint: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// Why an answer did not decode: the JSON parser's message, scrubbed of secrets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DecodeReason {
    message: String,
}

impl DecodeReason {
    /// Wraps an already scrubbed message.
    pub fn new(message: String) -> Self {
        DecodeReason { message }
    }
}

impl From<ApiError> for Error {
    fn from(api: ApiError) -> Self {
        Error::Api(Box::new(api))
    }
}

impl Error {
    /// The vendor error, when the cloud answered with one.
    pub fn api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// The vendor error code, when the cloud answered with one.
    pub fn code(&self) -> Option<&str> {
        self.api().map(|api| api.code.as_str())
    }
}

/// Cuts `body` to at most [`BODY_EXCERPT_LEN`] bytes on a character boundary.
pub fn excerpt(body: &str) -> String {
    if body.len() <= BODY_EXCERPT_LEN {
        return body.to_owned();
    }
    let mut end = BODY_EXCERPT_LEN;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

/// Why no usable credentials were found, or fetched.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// One half of a key pair was given without the other.
    #[error("{given} is set but {missing} is not")]
    HalfPair {
        /// The variable or flag that was set.
        given: &'static str,
        /// The one that is missing.
        missing: &'static str,
    },
    /// Nothing in the chain yielded credentials.
    #[error(
        "no credentials found: pass --access-key-id and --access-key-secret, set {id} and {secret} \
         (or {alt_id} and {alt_secret}), set {role}, {oidc} and {token} (RRSA), set {ecs} to the \
         ECS instance's role, or configure a profile in ~/.aliyun/config.json \
         (or use --emulator to try kvsync locally)",
        id = kvsync_wire::env_vars::ALIBABA_CLOUD_ACCESS_KEY_ID,
        secret = kvsync_wire::env_vars::ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        alt_id = kvsync_wire::env_vars::ALICLOUD_ACCESS_KEY,
        alt_secret = kvsync_wire::env_vars::ALICLOUD_SECRET_KEY,
        role = kvsync_wire::env_vars::ALIBABA_CLOUD_ROLE_ARN,
        oidc = kvsync_wire::env_vars::ALIBABA_CLOUD_OIDC_PROVIDER_ARN,
        token = kvsync_wire::env_vars::ALIBABA_CLOUD_OIDC_TOKEN_FILE,
        ecs = kvsync_wire::env_vars::ALIBABA_CLOUD_ECS_METADATA
    )]
    NotFound,
    /// The profile file could not be parsed.
    #[error("reading the aliyun CLI profile file {path}")]
    ProfileFile {
        /// The file.
        path: PathBuf,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// `--profile` was given but there is no profile file.
    #[error("--profile {name:?} was given but {path} does not exist")]
    NoProfileFile {
        /// The profile asked for.
        name: String,
        /// Where the file was looked for.
        path: PathBuf,
    },
    /// The requested profile does not exist in the file.
    #[error("profile {name:?} is not in {path}")]
    NoSuchProfile {
        /// The profile asked for.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The profile uses a mode kvsync cannot use.
    #[error(
        "profile {name:?} uses mode {mode:?}; kvsync supports the AK, StsToken, RamRoleArn, \
         EcsRamRole, OIDC and ChainableRamRoleArn modes"
    )]
    UnsupportedMode {
        /// The profile's name.
        name: String,
        /// Its mode.
        mode: String,
    },
    /// A profile lacks a field its mode needs, or has one out of range.
    #[error("profile {name:?} (mode {mode}): {problem}")]
    BadProfile {
        /// The profile's name.
        name: String,
        /// Its mode.
        mode: String,
        /// What is wrong.
        problem: String,
    },
    /// A role request is unusable (session name, duration).
    #[error("{origin}: {problem}")]
    BadRole {
        /// Where the request was configured.
        origin: String,
        /// What is wrong.
        problem: String,
    },
    /// Fetching temporary credentials failed and there are none left that have not expired.
    #[error("credentials from {provider} ({described}): {reason}")]
    Fetch {
        /// The provider's name ([`Spec::provider_name`]).
        provider: String,
        /// [`Spec::describe`].
        described: String,
        /// What went wrong, scrubbed.
        reason: String,
    },
    /// The last credentials expired and refreshing them failed.
    #[error(
        "the credentials from {provider} ({described}) expired at {expired} and refreshing them \
         failed: {reason}"
    )]
    Expired {
        /// The provider's name.
        provider: String,
        /// [`Spec::describe`].
        described: String,
        /// When they expired.
        expired: jiff::Timestamp,
        /// Why the refresh failed, scrubbed.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_error_names_code_message_request_id_and_status() {
        let err = ApiError {
            action: "DeleteInstance",
            status: 403,
            code: "Forbidden.RAM".into(),
            message: "User not authorized".into(),
            request_id: "ABC-123".into(),
        };
        assert_eq!(
            err.to_string(),
            "DeleteInstance failed: Forbidden.RAM: User not authorized (RequestId: ABC-123, HTTP 403)"
        );
    }

    #[test]
    fn excerpt_cuts_long_bodies_on_char_boundaries() {
        let body = "é".repeat(400);
        let cut = excerpt(&body);
        assert!(cut.len() <= BODY_EXCERPT_LEN + "…".len());
        assert!(cut.ends_with('…'));
    }
}

//! Credentials: where they come from ([`chain`]), how temporary ones are obtained ([`sts`],
//! [`metadata`]) and how they are kept fresh ([`provider`]).
//!
//! Resolving the chain is a pure function of its inputs (flag values, an environment lookup and
//! the profile file's text) and yields a [`Spec`]: what to do, not yet done. A
//! [`provider::Provider`] then turns the spec into credentials, fetching temporary ones from
//! STS or the ECS metadata service, caching them and refreshing them at 80 % of their lifetime.
//! No credential value is ever printed: [`Credentials`] shows only the key id's last four
//! characters, and every secret value fetched is registered with the scrubber.

pub mod cache;
pub mod chain;
pub mod metadata;
pub mod profile;
pub mod provider;
pub mod sts;

use std::path::PathBuf;

use kvsync_secrets::Secret;

pub use self::chain::{CredentialFlags, profile_region, resolve};
pub use self::profile::profile_path;
pub use self::provider::Provider;
pub use crate::error::CredentialsError;

/// An access key pair, with an optional STS token.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The AccessKey ID (an identifier, not a secret; it appears in requests).
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: Secret,
    /// The STS security token, for temporary credentials.
    pub security_token: Option<Secret>,
}

impl Credentials {
    /// The key id's last four characters, the most of it logs show.
    pub fn key_hint(&self) -> String {
        key_hint(&self.access_key_id)
    }

    /// Registers the secret and the token with the scrubber, so that no text quoting them
    /// survives anywhere in the process, and the key id, so that texts quoting it keep its
    /// last four characters only.
    pub fn register(&self) {
        kvsync_secrets::value::register_key_id(&self.access_key_id);
        kvsync_secrets::value::register(&self.access_key_secret);
        if let Some(token) = &self.security_token {
            kvsync_secrets::value::register(token);
        }
    }

    /// Takes the secret and the token off the scrubber's list (long-expired temporary keys).
    pub fn retire(&self) {
        kvsync_secrets::value::retire_key_id(&self.access_key_id);
        kvsync_secrets::value::retire(&self.access_key_secret);
        if let Some(token) = &self.security_token {
            kvsync_secrets::value::retire(token);
        }
    }
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("access_key_id", &self.key_hint())
            .field("access_key_secret", &self.access_key_secret)
            .field("security_token", &self.security_token)
            .finish()
    }
}

/// `…` and the last four characters of a key id (all of a key id of four or fewer).
pub fn key_hint(key_id: &str) -> String {
    let chars: Vec<char> = key_id.chars().collect();
    if chars.len() <= 4 {
        return "…".repeat(chars.len().min(1)) + &"*".repeat(chars.len());
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("…{tail}")
}

/// Where the configuration of the credentials in use came from (for logs and `kvsync
/// credentials`; never the values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--access-key-id` / `--access-key-secret`.
    Flags,
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET`.
    AlibabaCloudEnv,
    /// `ALICLOUD_ACCESS_KEY` / `ALICLOUD_SECRET_KEY`.
    AlicloudEnv,
    /// `ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN` and
    /// `ALIBABA_CLOUD_OIDC_TOKEN_FILE` (RRSA).
    OidcEnv,
    /// `ALIBABA_CLOUD_ECS_METADATA`, or an explicit metadata endpoint.
    EcsEnv,
    /// A profile in the aliyun CLI's configuration file.
    Profile {
        /// The file it was read from.
        path: PathBuf,
        /// The profile's name.
        name: String,
        /// Its mode (`AK`, `StsToken`, `RamRoleArn`, `EcsRamRole`, `OIDC`,
        /// `ChainableRamRoleArn`).
        mode: String,
    },
    /// The built-in key pair of the embedded emulator.
    Emulator,
}

impl std::fmt::Display for CredentialSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CredentialSource::Flags => f.write_str("flags"),
            CredentialSource::AlibabaCloudEnv => f.write_str("environment (ALIBABA_CLOUD_*)"),
            CredentialSource::AlicloudEnv => f.write_str("environment (ALICLOUD_*)"),
            CredentialSource::OidcEnv => f.write_str("environment (RRSA OIDC)"),
            CredentialSource::EcsEnv => f.write_str("environment (ECS instance role)"),
            CredentialSource::Profile { path, name, mode } => {
                write!(f, "profile {name:?} ({mode}) in {}", path.display())
            }
            CredentialSource::Emulator => f.write_str("the embedded emulator"),
        }
    }
}

/// A role to assume, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleRequest {
    /// `RoleArn`.
    pub role_arn: String,
    /// `RoleSessionName`.
    pub session_name: String,
    /// `DurationSeconds` asked for (the cloud may give less).
    pub duration_seconds: u32,
    /// `Policy`: a JSON policy narrowing the role's permissions.
    pub policy: Option<String>,
    /// `ExternalId`.
    pub external_id: Option<String>,
}

/// The session name used when none is configured.
pub const DEFAULT_SESSION_NAME: &str = "kvsync";
/// The lifetime asked for when none is configured, in seconds (the SDKs' default).
pub const DEFAULT_DURATION_SECONDS: u32 = 3600;
/// The range of `DurationSeconds` STS accepts.
pub const DURATION_SECONDS: std::ops::RangeInclusive<u32> = 900..=43_200;

/// Whether `name` is a session name STS accepts: 2 to 64 of `A-Z a-z 0-9 . @ - _`.
pub fn valid_session_name(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'@' | b'-' | b'_'))
}

/// How to obtain credentials: the resolved chain, before anything is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// A key pair (with a token, for static STS credentials) used as it is.
    Fixed(Credentials),
    /// Credentials of a RAM role, assumed with the credentials of `base` (`AssumeRole`).
    AssumeRole {
        /// Whose credentials sign the `AssumeRole` call.
        base: Box<Spec>,
        /// The role.
        role: RoleRequest,
    },
    /// Credentials of a RAM role, assumed with an OIDC token (`AssumeRoleWithOIDC`, RRSA).
    Oidc {
        /// The role.
        role: RoleRequest,
        /// `OIDCProviderArn`.
        provider_arn: String,
        /// The file the token is read from, afresh at each refresh (it rotates).
        token_file: PathBuf,
    },
    /// The ECS instance's RAM role, from the metadata service (IMDSv2).
    EcsRole {
        /// The role's name; `None` asks the metadata service which one it is.
        role_name: Option<String>,
    },
}

impl Spec {
    /// The provider's name, as logs and errors show it: `static`, `ram_role_arn`,
    /// `oidc_role_arn` or `ecs_ram_role`, with the base of an assumed role after a `/` (as
    /// the official SDKs name them).
    pub fn provider_name(&self) -> String {
        match self {
            Spec::Fixed(credentials) if credentials.security_token.is_some() => "static_sts".into(),
            Spec::Fixed(_) => "static_ak".into(),
            Spec::AssumeRole { base, .. } => format!("ram_role_arn/{}", base.provider_name()),
            Spec::Oidc { .. } => "oidc_role_arn".into(),
            Spec::EcsRole { .. } => "ecs_ram_role".into(),
        }
    }

    /// What the provider does, in words, without any value: the role ARN or role name, never
    /// a key.
    pub fn describe(&self) -> String {
        match self {
            Spec::Fixed(credentials) if credentials.security_token.is_some() => {
                format!("static STS credentials {}", credentials.key_hint())
            }
            Spec::Fixed(credentials) => format!("AccessKey {}", credentials.key_hint()),
            Spec::AssumeRole { base, role } => {
                format!("role {} assumed with {}", role.role_arn, base.describe())
            }
            Spec::Oidc {
                role, provider_arn, ..
            } => format!(
                "role {} assumed with an OIDC token of {provider_arn}",
                role.role_arn
            ),
            Spec::EcsRole {
                role_name: Some(name),
            } => format!("ECS instance role {name:?}"),
            Spec::EcsRole { role_name: None } => "the ECS instance's role".into(),
        }
    }

    /// Whether its credentials expire and must be refreshed.
    pub fn is_temporary(&self) -> bool {
        !matches!(self, Spec::Fixed(_))
    }
}

/// Where temporary credentials are fetched from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// The STS endpoint's base URL.
    pub sts: String,
    /// The ECS metadata service's base URL.
    pub metadata: String,
}

/// The STS endpoint of the official SDKs: `https://sts.aliyuncs.com`.
pub const DEFAULT_STS_ENDPOINT: &str = "https://sts.aliyuncs.com";
/// The ECS metadata service: `http://100.100.100.200`.
pub const DEFAULT_METADATA_ENDPOINT: &str = "http://100.100.100.200";

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            sts: DEFAULT_STS_ENDPOINT.into(),
            metadata: DEFAULT_METADATA_ENDPOINT.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_hints_show_four_characters_at_most() {
        assert_eq!(key_hint("LTAI5tAbCdEfGh1234"), "…1234");
        assert_eq!(key_hint("STS.NUabc9XyZ"), "…9XyZ");
        assert_eq!(key_hint("abc"), "…***");
        assert_eq!(key_hint(""), "");
    }

    #[test]
    fn debug_of_credentials_shows_no_value() {
        let credentials = Credentials {
            access_key_id: "LTAI5tAbCdEfGh1234".into(),
            access_key_secret: Secret::new("the-secret-value"),
            security_token: Some(Secret::new("CAIS-token-value")),
        };
        let shown = format!("{credentials:?}");
        assert!(!shown.contains("the-secret-value") && !shown.contains("CAIS-token-value"));
        assert!(!shown.contains("LTAI5tAbCdEfGh"), "{shown}");
        assert!(shown.contains("…1234"), "{shown}");
    }

    #[test]
    fn session_names_follow_the_sts_rule() {
        assert!(valid_session_name("kvsync"));
        assert!(valid_session_name("kvsync-team_a.prod@x"));
        assert!(!valid_session_name("k"));
        assert!(!valid_session_name("has space"));
        assert!(!valid_session_name(&"a".repeat(65)));
    }

    #[test]
    fn provider_names_follow_the_sdks() {
        let ak = Spec::Fixed(Credentials {
            access_key_id: "id".into(),
            access_key_secret: Secret::new("s"),
            security_token: None,
        });
        let role = Spec::AssumeRole {
            base: Box::new(ak.clone()),
            role: RoleRequest {
                role_arn: "acs:ram::1:role/r".into(),
                session_name: "kvsync".into(),
                duration_seconds: 3600,
                policy: None,
                external_id: None,
            },
        };
        assert_eq!(ak.provider_name(), "static_ak");
        assert_eq!(role.provider_name(), "ram_role_arn/static_ak");
        assert!(role.is_temporary() && !ak.is_temporary());
        assert!(role.describe().contains("acs:ram::1:role/r"));
    }
}

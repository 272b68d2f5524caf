//! The aliyun CLI's `~/.aliyun/config.json`: choosing a profile and turning it into a [`Spec`],
//! for the modes `AK`, `StsToken`, `RamRoleArn`, `EcsRamRole`, `OIDC` and
//! `ChainableRamRoleArn`, with the fields the official credential provider reads.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{
    CredentialSource, Credentials, CredentialsError, DEFAULT_DURATION_SECONDS,
    DEFAULT_SESSION_NAME, DURATION_SECONDS, RoleRequest, Spec, valid_session_name,
};
use kvsync_secrets::Secret;
use kvsync_wire::env_vars;

/// The most profiles a `ChainableRamRoleArn` chain may go through.
const MAX_CHAIN: usize = 8;

/// The file, as far as kvsync reads it.
#[derive(Debug, Deserialize)]
struct ProfileFile {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<Profile>,
}

/// One profile; unknown fields are ignored, absent ones are empty.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
pub(super) struct Profile {
    pub(super) name: String,
    mode: String,
    access_key_id: String,
    access_key_secret: String,
    sts_token: String,
    pub(super) region_id: String,
    ram_role_arn: String,
    ram_session_name: String,
    role_session_name: String,
    expired_seconds: Option<serde_json::Value>,
    policy: String,
    external_id: String,
    ram_role_name: String,
    oidc_provider_arn: String,
    oidc_token_file: String,
    source_profile: String,
}

/// Where the aliyun CLI keeps its profiles, given the home directory.
pub fn profile_path(home: &Path) -> PathBuf {
    home.join(".aliyun").join("config.json")
}

fn parse(path: &Path, text: &str) -> Result<ProfileFile, CredentialsError> {
    serde_json::from_str(text).map_err(|source| CredentialsError::ProfileFile {
        path: path.to_owned(),
        source,
    })
}

/// The profile `flag` names, else `ALIBABA_CLOUD_PROFILE`, else the file's current one (else
/// `default`).
pub(super) fn select(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    path: &Path,
    text: &str,
) -> Result<Profile, CredentialsError> {
    let file = parse(path, text)?;
    let wanted = flag
        .map(str::to_owned)
        .or_else(|| env(env_vars::ALIBABA_CLOUD_PROFILE).filter(|v| !v.is_empty()))
        .unwrap_or_else(|| {
            if file.current.is_empty() {
                "default".to_owned()
            } else {
                file.current.clone()
            }
        });
    find(&file, &wanted, path)
}

fn find(file: &ProfileFile, name: &str, path: &Path) -> Result<Profile, CredentialsError> {
    file.profiles
        .iter()
        .find(|p| p.name == name)
        .cloned()
        .ok_or_else(|| CredentialsError::NoSuchProfile {
            name: name.to_owned(),
            path: path.to_owned(),
        })
}

/// The spec of the profile `flag` (else the environment's or the file's current one).
pub(super) fn spec(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    (path, text): (&Path, &str),
) -> Result<(Spec, CredentialSource), CredentialsError> {
    let profile = select(flag, env, path, text)?;
    let file = parse(path, text)?;
    let source = CredentialSource::Profile {
        path: path.to_owned(),
        name: profile.name.clone(),
        mode: if profile.mode.is_empty() {
            "AK".into()
        } else {
            profile.mode.clone()
        },
    };
    let spec = spec_of(&file, &profile, path, 0)?;
    Ok((spec, source))
}

fn spec_of(
    file: &ProfileFile,
    profile: &Profile,
    path: &Path,
    depth: usize,
) -> Result<Spec, CredentialsError> {
    let bad = |problem: String| CredentialsError::BadProfile {
        name: profile.name.clone(),
        mode: profile.mode.clone(),
        problem,
    };
    let key_pair = |token: Option<Secret>| {
        if profile.access_key_id.is_empty() || profile.access_key_secret.is_empty() {
            return Err(bad("access_key_id and access_key_secret are needed".into()));
        }
        Ok(Spec::Fixed(Credentials {
            access_key_id: profile.access_key_id.clone(),
            access_key_secret: Secret::new(profile.access_key_secret.clone()),
            security_token: token,
        }))
    };
    match profile.mode.as_str() {
        "" | "AK" => key_pair(None),
        "StsToken" => {
            if profile.sts_token.is_empty() {
                return Err(bad("sts_token is needed".into()));
            }
            key_pair(Some(Secret::new(profile.sts_token.clone())))
        }
        "RamRoleArn" => Ok(Spec::AssumeRole {
            base: Box::new(key_pair(None)?),
            role: role_of(profile, &profile.ram_session_name).map_err(bad)?,
        }),
        "ChainableRamRoleArn" => {
            if profile.source_profile.is_empty() {
                return Err(bad("source_profile is needed".into()));
            }
            if depth >= MAX_CHAIN {
                return Err(bad(format!(
                    "source_profile chains through more than {MAX_CHAIN} profiles (a loop?)"
                )));
            }
            // A missing source profile is this profile's defect, not a missing profile: the
            // chain must not pass it on (to an ECS role) as it does a missing current one.
            let source = find(file, &profile.source_profile, path).map_err(|_| {
                bad(format!(
                    "source_profile {:?} is not in {}",
                    profile.source_profile,
                    path.display()
                ))
            })?;
            Ok(Spec::AssumeRole {
                base: Box::new(spec_of(file, &source, path, depth + 1)?),
                role: role_of(profile, &profile.ram_session_name).map_err(bad)?,
            })
        }
        "EcsRamRole" => Ok(Spec::EcsRole {
            role_name: (!profile.ram_role_name.is_empty()).then(|| profile.ram_role_name.clone()),
        }),
        "OIDC" => {
            if profile.oidc_provider_arn.is_empty() || profile.oidc_token_file.is_empty() {
                return Err(bad(
                    "ram_role_arn, oidc_provider_arn and oidc_token_file are needed".into(),
                ));
            }
            Ok(Spec::Oidc {
                role: role_of(profile, &profile.role_session_name).map_err(bad)?,
                provider_arn: profile.oidc_provider_arn.clone(),
                token_file: PathBuf::from(&profile.oidc_token_file),
            })
        }
        other => Err(CredentialsError::UnsupportedMode {
            name: profile.name.clone(),
            mode: other.to_owned(),
        }),
    }
}

/// The role request of a profile: `ram_role_arn`, the session name, `expired_seconds`,
/// `policy`, `external_id`.
fn role_of(profile: &Profile, session_name: &str) -> Result<RoleRequest, String> {
    if profile.ram_role_arn.is_empty() {
        return Err("ram_role_arn is needed".into());
    }
    let duration_seconds = match &profile.expired_seconds {
        None | Some(serde_json::Value::Null) => DEFAULT_DURATION_SECONDS,
        Some(value) => {
            let seconds = match value {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            match seconds {
                Some(0) => DEFAULT_DURATION_SECONDS,
                Some(s) => u32::try_from(s)
                    .ok()
                    .filter(|s| DURATION_SECONDS.contains(s))
                    .ok_or_else(|| {
                        format!("expired_seconds {s} is outside 900 to 43200 (what STS accepts)")
                    })?,
                None => return Err(format!("expired_seconds {value} is not a number")),
            }
        }
    };
    let session_name = if session_name.is_empty() {
        DEFAULT_SESSION_NAME
    } else {
        session_name
    };
    if !valid_session_name(session_name) {
        return Err(format!(
            "session name {session_name:?} must be 2 to 64 of A-Z, a-z, 0-9, '.', '@', '-', '_'"
        ));
    }
    Ok(RoleRequest {
        role_arn: profile.ram_role_arn.clone(),
        session_name: session_name.to_owned(),
        duration_seconds,
        policy: (!profile.policy.is_empty()).then(|| profile.policy.clone()),
        external_id: (!profile.external_id.is_empty()).then(|| profile.external_id.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
        "current": "role",
        "profiles": [
            {"name": "base", "mode": "AK", "access_key_id": "base-id", "access_key_secret": "base-secret"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "r-id", "access_key_secret": "r-secret",
             "ram_role_arn": "acs:ram::1:role/a", "ram_session_name": "ops", "expired_seconds": 900,
             "policy": "{\"Version\":\"1\"}", "external_id": "ext"},
            {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "role",
             "ram_role_arn": "acs:ram::2:role/b"},
            {"name": "loop", "mode": "ChainableRamRoleArn", "source_profile": "loop",
             "ram_role_arn": "acs:ram::2:role/b"},
            {"name": "orphan", "mode": "ChainableRamRoleArn", "source_profile": "gone",
             "ram_role_arn": "acs:ram::2:role/b"},
            {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "node-role"},
            {"name": "ecs-any", "mode": "EcsRamRole"},
            {"name": "oidc", "mode": "OIDC", "ram_role_arn": "acs:ram::3:role/c",
             "oidc_provider_arn": "acs:ram::3:oidc-provider/ack", "oidc_token_file": "/var/token",
             "role_session_name": "pod"},
            {"name": "short", "mode": "RamRoleArn", "access_key_id": "x", "access_key_secret": "y",
             "ram_role_arn": "acs:ram::1:role/a", "expired_seconds": 60},
            {"name": "sso", "mode": "CloudSSO"}
        ]
    }"#;

    fn spec_named(name: &str) -> Result<(Spec, CredentialSource), CredentialsError> {
        spec(Some(name), &|_| None, (Path::new("/p"), FILE))
    }

    #[test]
    fn ram_role_arn_assumes_the_role_with_the_profile_keys() {
        let (spec, source) = spec_named("role").unwrap();
        let Spec::AssumeRole { base, role } = spec else {
            panic!("{spec:?}")
        };
        assert!(matches!(*base, Spec::Fixed(ref c) if c.access_key_id == "r-id"));
        assert_eq!(role.role_arn, "acs:ram::1:role/a");
        assert_eq!(role.session_name, "ops");
        assert_eq!(role.duration_seconds, 900);
        assert_eq!(role.policy.as_deref(), Some("{\"Version\":\"1\"}"));
        assert_eq!(role.external_id.as_deref(), Some("ext"));
        assert!(matches!(source, CredentialSource::Profile { mode, .. } if mode == "RamRoleArn"));
    }

    #[test]
    fn chainable_role_arn_assumes_on_top_of_its_source_profile() {
        let (spec, _) = spec_named("chain").unwrap();
        assert_eq!(spec.provider_name(), "ram_role_arn/ram_role_arn/static_ak");
        let Spec::AssumeRole { role, .. } = &spec else {
            panic!()
        };
        assert_eq!(role.session_name, DEFAULT_SESSION_NAME);
        let err = spec_named("loop").unwrap_err();
        assert!(err.to_string().contains("more than 8"), "{err}");
        let err = spec_named("orphan").unwrap_err();
        assert!(
            matches!(err, CredentialsError::BadProfile { ref name, .. } if name == "orphan"),
            "{err}"
        );
        assert!(err.to_string().contains("source_profile \"gone\""), "{err}");
    }

    #[test]
    fn ecs_and_oidc_profiles() {
        assert_eq!(
            spec_named("ecs").unwrap().0,
            Spec::EcsRole {
                role_name: Some("node-role".into())
            }
        );
        assert_eq!(
            spec_named("ecs-any").unwrap().0,
            Spec::EcsRole { role_name: None }
        );
        let (oidc, _) = spec_named("oidc").unwrap();
        let Spec::Oidc {
            role,
            provider_arn,
            token_file,
        } = oidc
        else {
            panic!()
        };
        assert_eq!(role.session_name, "pod");
        assert_eq!(provider_arn, "acs:ram::3:oidc-provider/ack");
        assert_eq!(token_file, PathBuf::from("/var/token"));
    }

    #[test]
    fn out_of_range_durations_and_unknown_modes_are_refused() {
        let err = spec_named("short").unwrap_err();
        assert!(err.to_string().contains("expired_seconds 60"), "{err}");
        let err = spec_named("sso").unwrap_err();
        assert!(err.to_string().contains("CloudSSO"), "{err}");
    }
}

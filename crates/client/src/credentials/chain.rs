//! The credential chain, in the official SDKs' order: flags, an explicit `--profile`, the
//! environment's key pair (`ALIBABA_CLOUD_*`, then `ALICLOUD_*`), the environment's RRSA role
//! (`ALIBABA_CLOUD_ROLE_ARN`, `ALIBABA_CLOUD_OIDC_PROVIDER_ARN`, `ALIBABA_CLOUD_OIDC_TOKEN_FILE`),
//! the aliyun CLI's profile file, then the ECS instance role (`ALIBABA_CLOUD_ECS_METADATA`, or
//! an explicit metadata endpoint); and the region a profile names.
//!
//! Resolution is a pure function of its inputs (flag values, an environment lookup and the
//! profile file's text), so every link of the chain is tested without touching the process
//! environment, the home directory or the network.

use std::path::{Path, PathBuf};

use super::profile;
use super::{
    CredentialSource, Credentials, CredentialsError, DEFAULT_DURATION_SECONDS,
    DEFAULT_SESSION_NAME, Endpoints, RoleRequest, Spec, valid_session_name,
};
use kvsync_secrets::Secret;
use kvsync_wire::env_vars;

/// Credentials given on the command line.
#[derive(Debug, Clone, Default)]
pub struct CredentialFlags {
    /// `--access-key-id`.
    pub access_key_id: Option<String>,
    /// `--access-key-secret`.
    pub access_key_secret: Option<Secret>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--metadata-endpoint`: also makes the ECS instance role the last link of the chain.
    pub metadata_endpoint: Option<String>,
}

/// The `region_id` of the profile the credential chain would read (see [`resolve`] for which
/// one), if it names one. No file, or a file or profile that cannot be used, names none: the
/// credential chain reports those when it needs the profile.
pub fn profile_region(
    profile: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    profile_file: Option<(&Path, &str)>,
) -> Option<(String, String)> {
    let (path, text) = profile_file?;
    let profile = profile::select(profile, env, path, text).ok()?;
    (!profile.region_id.is_empty()).then_some((profile.region_id, profile.name))
}

/// Resolves the chain in order: flags, an explicit `--profile`, `ALIBABA_CLOUD_*` keys,
/// `ALICLOUD_*` keys, the RRSA variables, the profile file (`ALIBABA_CLOUD_PROFILE`, else its
/// current profile), then the ECS instance role. A profile named on the command line is a
/// choice made for this run, so it beats keys left in the environment (as in the aliyun CLI).
///
/// The ECS metadata service is asked only when `ALIBABA_CLOUD_ECS_METADATA` names the role,
/// a profile is in `EcsRamRole` mode, or `--metadata-endpoint` is given: kvsync never probes a
/// link-local address unasked (the SDKs do, and wait out a timeout off ECS).
///
/// `env` looks up an environment variable; `profile_file` is the path and text of the aliyun
/// CLI configuration, when one exists.
pub fn resolve(
    flags: &CredentialFlags,
    env: &dyn Fn(&str) -> Option<String>,
    profile_file: Option<(&Path, &str)>,
) -> Result<(Spec, CredentialSource), CredentialsError> {
    let env = |name: &str| env(name).filter(|value| !value.trim().is_empty());

    match (&flags.access_key_id, &flags.access_key_secret) {
        (Some(id), Some(secret)) => {
            return Ok((
                Spec::Fixed(Credentials {
                    access_key_id: id.clone(),
                    access_key_secret: secret.clone(),
                    security_token: None,
                }),
                CredentialSource::Flags,
            ));
        }
        (Some(_), None) => {
            return Err(CredentialsError::HalfPair {
                given: "--access-key-id",
                missing: "--access-key-secret",
            });
        }
        (None, Some(_)) => {
            return Err(CredentialsError::HalfPair {
                given: "--access-key-secret",
                missing: "--access-key-id",
            });
        }
        (None, None) => {}
    }

    if let Some(name) = &flags.profile {
        let Some(file) = profile_file else {
            return Err(CredentialsError::NoProfileFile {
                name: name.clone(),
                path: PathBuf::from("~/.aliyun/config.json"),
            });
        };
        return profile::spec(Some(name), &env, file);
    }

    let env_pairs = [
        (
            env_vars::ALIBABA_CLOUD_ACCESS_KEY_ID,
            env_vars::ALIBABA_CLOUD_ACCESS_KEY_SECRET,
            env_vars::ALIBABA_CLOUD_SECURITY_TOKEN,
            CredentialSource::AlibabaCloudEnv,
        ),
        (
            env_vars::ALICLOUD_ACCESS_KEY,
            env_vars::ALICLOUD_SECRET_KEY,
            env_vars::ALICLOUD_SECURITY_TOKEN,
            CredentialSource::AlicloudEnv,
        ),
    ];
    for (id_var, secret_var, token_var, source) in env_pairs {
        match (env(id_var), env(secret_var)) {
            (Some(id), Some(secret)) => {
                return Ok((
                    Spec::Fixed(Credentials {
                        access_key_id: id,
                        access_key_secret: Secret::new(secret),
                        security_token: env(token_var).map(Secret::new),
                    }),
                    source,
                ));
            }
            (Some(_), None) => {
                return Err(CredentialsError::HalfPair {
                    given: id_var,
                    missing: secret_var,
                });
            }
            (None, Some(_)) => {
                return Err(CredentialsError::HalfPair {
                    given: secret_var,
                    missing: id_var,
                });
            }
            (None, None) => {}
        }
    }

    // RRSA: all three, as the SDKs require (with fewer, they pass on to the profile file).
    if let (Some(role_arn), Some(provider_arn), Some(token_file)) = (
        env(env_vars::ALIBABA_CLOUD_ROLE_ARN),
        env(env_vars::ALIBABA_CLOUD_OIDC_PROVIDER_ARN),
        env(env_vars::ALIBABA_CLOUD_OIDC_TOKEN_FILE),
    ) {
        let session_name = env(env_vars::ALIBABA_CLOUD_ROLE_SESSION_NAME)
            .unwrap_or_else(|| DEFAULT_SESSION_NAME.to_owned());
        if !valid_session_name(&session_name) {
            return Err(CredentialsError::BadRole {
                origin: env_vars::ALIBABA_CLOUD_ROLE_SESSION_NAME.into(),
                problem: format!(
                    "session name {session_name:?} must be 2 to 64 of A-Z, a-z, 0-9, '.', '@', '-', '_'"
                ),
            });
        }
        return Ok((
            Spec::Oidc {
                role: RoleRequest {
                    role_arn,
                    session_name,
                    duration_seconds: DEFAULT_DURATION_SECONDS,
                    policy: None,
                    external_id: None,
                },
                provider_arn,
                token_file: PathBuf::from(token_file),
            },
            CredentialSource::OidcEnv,
        ));
    }

    let ecs = ecs_role(flags, &env);
    if let Some(file) = profile_file {
        match profile::spec(None, &env, file) {
            // A missing profile passes the chain on only to an ECS role that is configured.
            Err(CredentialsError::NoSuchProfile { .. }) if ecs.is_some() => {}
            other => return other,
        }
    }
    ecs.map(|spec| (spec, CredentialSource::EcsEnv))
        .ok_or(CredentialsError::NotFound)
}

/// The ECS instance role, when one is asked for: `ALIBABA_CLOUD_ECS_METADATA` names it, or a
/// metadata endpoint is given (the role is then asked of the service); never with
/// `ALIBABA_CLOUD_ECS_METADATA_DISABLED=true`.
fn ecs_role(flags: &CredentialFlags, env: &dyn Fn(&str) -> Option<String>) -> Option<Spec> {
    let disabled = env(env_vars::ALIBABA_CLOUD_ECS_METADATA_DISABLED)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    if disabled {
        return None;
    }
    if let Some(role) = env(env_vars::ALIBABA_CLOUD_ECS_METADATA) {
        return Some(Spec::EcsRole {
            role_name: Some(role.trim().to_owned()),
        });
    }
    (flags.metadata_endpoint.is_some() || env(env_vars::KVSYNC_METADATA_ENDPOINT).is_some())
        .then_some(Spec::EcsRole { role_name: None })
}

/// The STS and metadata endpoints: `--sts-endpoint`, else `ALIBABA_CLOUD_STS_ENDPOINT`, else
/// `sts[-vpc].<ALIBABA_CLOUD_STS_REGION>.aliyuncs.com`, else `sts.aliyuncs.com`; and
/// `--metadata-endpoint`, else `KVSYNC_METADATA_ENDPOINT`, else `100.100.100.200`. An endpoint
/// given without a scheme is `https://` for STS and `http://` for the metadata service (which
/// serves only HTTP).
pub fn endpoints(
    sts_flag: Option<&str>,
    metadata_flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Endpoints {
    let env = |name: &str| {
        env(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    };
    let with_scheme = |url: String, scheme: &str| {
        if url.starts_with("http://") || url.starts_with("https://") {
            url
        } else {
            format!("{scheme}://{url}")
        }
    };
    let sts = sts_flag
        .map(str::to_owned)
        .or_else(|| env(env_vars::ALIBABA_CLOUD_STS_ENDPOINT))
        .or_else(|| {
            env(env_vars::ALIBABA_CLOUD_STS_REGION).map(|region| {
                let vpc = env(env_vars::ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED)
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let prefix = if vpc { "sts-vpc" } else { "sts" };
                format!("{prefix}.{region}.aliyuncs.com")
            })
        })
        .map_or_else(
            || super::DEFAULT_STS_ENDPOINT.to_owned(),
            |url| with_scheme(url, "https"),
        );
    let metadata = metadata_flag
        .map(str::to_owned)
        .or_else(|| env(env_vars::KVSYNC_METADATA_ENDPOINT))
        .map_or_else(
            || super::DEFAULT_METADATA_ENDPOINT.to_owned(),
            |url| with_scheme(url, "http"),
        );
    Endpoints { sts, metadata }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn resolve_fixed(
        flags: &CredentialFlags,
        env: &dyn Fn(&str) -> Option<String>,
        file: Option<(&Path, &str)>,
    ) -> Result<(Credentials, CredentialSource), CredentialsError> {
        resolve(flags, env, file).map(|(spec, source)| match spec {
            Spec::Fixed(credentials) => (credentials, source),
            other => panic!("not a fixed key: {other:?}"),
        })
    }

    const RRSA: &[(&str, &str)] = &[
        ("ALIBABA_CLOUD_ROLE_ARN", "acs:ram::1:role/pod"),
        (
            "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
            "acs:ram::1:oidc-provider/ack",
        ),
        ("ALIBABA_CLOUD_OIDC_TOKEN_FILE", "/var/run/token"),
    ];

    #[test]
    fn rrsa_comes_after_keys_in_the_environment_and_before_the_profile() {
        let file = Some((Path::new("/p"), PROFILES));
        let (spec, source) = resolve(&CredentialFlags::default(), &env_of(RRSA), file).unwrap();
        assert_eq!(source, CredentialSource::OidcEnv);
        let Spec::Oidc {
            role,
            provider_arn,
            token_file,
        } = spec
        else {
            panic!()
        };
        assert_eq!(role.role_arn, "acs:ram::1:role/pod");
        assert_eq!(role.session_name, "kvsync");
        assert_eq!(provider_arn, "acs:ram::1:oidc-provider/ack");
        assert_eq!(token_file, PathBuf::from("/var/run/token"));

        let mut with_keys = RRSA.to_vec();
        with_keys.extend([
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "a"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "b"),
        ]);
        let (_, source) = resolve(&CredentialFlags::default(), &env_of(&with_keys), file).unwrap();
        assert_eq!(source, CredentialSource::AlibabaCloudEnv);

        // Two of the three pass on to the profile, as in the SDKs.
        let (_, source) = resolve(&CredentialFlags::default(), &env_of(&RRSA[..2]), file).unwrap();
        assert!(matches!(source, CredentialSource::Profile { name, .. } if name == "prod"));

        let mut bad_name = RRSA.to_vec();
        bad_name.push(("ALIBABA_CLOUD_ROLE_SESSION_NAME", "no spaces allowed"));
        let err = resolve(&CredentialFlags::default(), &env_of(&bad_name), file).unwrap_err();
        assert!(
            err.to_string().contains("ALIBABA_CLOUD_ROLE_SESSION_NAME"),
            "{err}"
        );
    }

    #[test]
    fn the_ecs_role_is_last_and_only_when_asked_for() {
        let env = env_of(&[("ALIBABA_CLOUD_ECS_METADATA", "node-role")]);
        let (spec, source) = resolve(&CredentialFlags::default(), &env, None).unwrap();
        assert_eq!(
            spec,
            Spec::EcsRole {
                role_name: Some("node-role".into())
            }
        );
        assert_eq!(source, CredentialSource::EcsEnv);
        // The profile file's current profile comes first.
        let (_, source) = resolve(
            &CredentialFlags::default(),
            &env,
            Some((Path::new("/p"), PROFILES)),
        )
        .unwrap();
        assert!(matches!(source, CredentialSource::Profile { .. }));
        // Disabled, or not asked for: not found, and nothing is probed.
        let disabled = env_of(&[
            ("ALIBABA_CLOUD_ECS_METADATA", "node-role"),
            ("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "TRUE"),
        ]);
        assert!(matches!(
            resolve(&CredentialFlags::default(), &disabled, None),
            Err(CredentialsError::NotFound)
        ));
        let flags = CredentialFlags {
            metadata_endpoint: Some("http://127.0.0.1:9".into()),
            ..Default::default()
        };
        let (spec, _) = resolve(&flags, &env_of(&[]), None).unwrap();
        assert_eq!(spec, Spec::EcsRole { role_name: None });
    }

    #[test]
    fn a_chained_profile_with_a_missing_source_is_an_error_even_with_an_ecs_role() {
        let file = r#"{"current": "chain", "profiles": [
            {"name": "chain", "mode": "ChainableRamRoleArn", "source_profile": "gone",
             "ram_role_arn": "acs:ram::1:role/b"}]}"#;
        let env = env_of(&[("ALIBABA_CLOUD_ECS_METADATA", "node-role")]);
        let err = resolve(
            &CredentialFlags::default(),
            &env,
            Some((Path::new("/p"), file)),
        )
        .unwrap_err();
        assert!(err.to_string().contains("source_profile \"gone\""), "{err}");
        // A missing current profile passes on to the configured ECS role.
        let missing = r#"{"current": "gone", "profiles": []}"#;
        let (spec, _) = resolve(
            &CredentialFlags::default(),
            &env,
            Some((Path::new("/p"), missing)),
        )
        .unwrap();
        assert!(matches!(spec, Spec::EcsRole { .. }));
    }

    #[test]
    fn endpoints_follow_flags_then_the_environment() {
        let none = env_of(&[]);
        assert_eq!(endpoints(None, None, &none), Endpoints::default());
        let env = env_of(&[
            ("ALIBABA_CLOUD_STS_REGION", "cn-hangzhou"),
            ("ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED", "true"),
            ("KVSYNC_METADATA_ENDPOINT", "127.0.0.1:8080"),
        ]);
        let found = endpoints(None, None, &env);
        assert_eq!(found.sts, "https://sts-vpc.cn-hangzhou.aliyuncs.com");
        assert_eq!(found.metadata, "http://127.0.0.1:8080");
        let env = env_of(&[("ALIBABA_CLOUD_STS_ENDPOINT", "http://127.0.0.1:7")]);
        assert_eq!(endpoints(None, None, &env).sts, "http://127.0.0.1:7");
        assert_eq!(
            endpoints(Some("http://a:1"), Some("http://b:2"), &env),
            Endpoints {
                sts: "http://a:1".into(),
                metadata: "http://b:2".into()
            }
        );
    }

    const PROFILES: &str = r#"{
        "current": "prod",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "def-id", "access_key_secret": "def-secret", "region_id": "cn-shanghai"},
            {"name": "prod", "mode": "StsToken", "access_key_id": "prod-id", "access_key_secret": "prod-secret", "sts_token": "tok"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "x", "access_key_secret": "y"},
            {"name": "sso", "mode": "CloudSSO"}
        ]
    }"#;

    #[test]
    fn flags_win_over_everything() {
        let flags = CredentialFlags {
            access_key_id: Some("flag-id".into()),
            access_key_secret: Some(Secret::new("flag-secret")),
            ..Default::default()
        };
        let env = env_of(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")]);
        let (creds, source) =
            resolve_fixed(&flags, &env, Some((Path::new("/p"), PROFILES))).unwrap();
        assert_eq!(creds.access_key_id, "flag-id");
        assert_eq!(source, CredentialSource::Flags);
    }

    #[test]
    fn alibaba_cloud_env_comes_before_alicloud_env() {
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "a-id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "a-secret"),
            ("ALIBABA_CLOUD_SECURITY_TOKEN", "a-token"),
            ("ALICLOUD_ACCESS_KEY", "b-id"),
            ("ALICLOUD_SECRET_KEY", "b-secret"),
        ]);
        let (creds, source) = resolve_fixed(&CredentialFlags::default(), &env, None).unwrap();
        assert_eq!(creds.access_key_id, "a-id");
        assert_eq!(creds.security_token.unwrap().expose(), "a-token");
        assert_eq!(source, CredentialSource::AlibabaCloudEnv);
    }

    #[test]
    fn alicloud_env_is_used_when_alibaba_cloud_env_is_absent() {
        let env = env_of(&[
            ("ALICLOUD_ACCESS_KEY", "b-id"),
            ("ALICLOUD_SECRET_KEY", "b-secret"),
        ]);
        let (creds, source) = resolve_fixed(&CredentialFlags::default(), &env, None).unwrap();
        assert_eq!(creds.access_key_id, "b-id");
        assert_eq!(creds.access_key_secret.expose(), "b-secret");
        assert_eq!(source, CredentialSource::AlicloudEnv);
    }

    #[test]
    fn half_a_pair_is_an_error_not_a_fallthrough() {
        let env = env_of(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "a-id")]);
        let err = resolve(
            &CredentialFlags::default(),
            &env,
            Some((Path::new("/p"), PROFILES)),
        )
        .unwrap_err();
        assert!(
            matches!(err, CredentialsError::HalfPair { missing, .. } if missing == "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
        );
    }

    #[test]
    fn profile_file_uses_current_profile_by_default() {
        let (creds, source) = resolve_fixed(
            &CredentialFlags::default(),
            &env_of(&[]),
            Some((Path::new("/home/u/.aliyun/config.json"), PROFILES)),
        )
        .unwrap();
        assert_eq!(creds.access_key_id, "prod-id");
        assert_eq!(creds.security_token.unwrap().expose(), "tok");
        assert!(matches!(source, CredentialSource::Profile { name, .. } if name == "prod"));
    }

    #[test]
    fn profile_flag_selects_a_profile() {
        let flags = CredentialFlags {
            profile: Some("default".into()),
            ..Default::default()
        };
        let (creds, _) =
            resolve_fixed(&flags, &env_of(&[]), Some((Path::new("/p"), PROFILES))).unwrap();
        assert_eq!(creds.access_key_id, "def-id");
        assert!(creds.security_token.is_none());
    }

    #[test]
    fn an_explicit_profile_beats_keys_in_the_environment() {
        let flags = CredentialFlags {
            profile: Some("default".into()),
            ..Default::default()
        };
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
        ]);
        let (creds, source) =
            resolve_fixed(&flags, &env, Some((Path::new("/p"), PROFILES))).unwrap();
        assert_eq!(creds.access_key_id, "def-id");
        assert!(matches!(source, CredentialSource::Profile { name, .. } if name == "default"));
    }

    #[test]
    fn keys_in_the_environment_beat_a_profile_not_named_on_the_command_line() {
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
            ("ALIBABA_CLOUD_PROFILE", "default"),
        ]);
        let (creds, source) = resolve_fixed(
            &CredentialFlags::default(),
            &env,
            Some((Path::new("/p"), PROFILES)),
        )
        .unwrap();
        assert_eq!(creds.access_key_id, "env-id");
        assert_eq!(source, CredentialSource::AlibabaCloudEnv);
    }

    #[test]
    fn an_explicit_profile_without_a_profile_file_is_an_error() {
        let flags = CredentialFlags {
            profile: Some("prod".into()),
            ..Default::default()
        };
        let env = env_of(&[
            ("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id"),
            ("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-secret"),
        ]);
        let err = resolve(&flags, &env, None).unwrap_err();
        assert!(err.to_string().contains("--profile \"prod\""), "{err}");
    }

    #[test]
    fn the_region_comes_from_the_profile_the_chain_selects() {
        let file = Some((Path::new("/p"), PROFILES));
        assert_eq!(
            profile_region(Some("default"), &env_of(&[]), file),
            Some(("cn-shanghai".into(), "default".into()))
        );
        assert_eq!(
            profile_region(None, &env_of(&[("ALIBABA_CLOUD_PROFILE", "default")]), file),
            Some(("cn-shanghai".into(), "default".into()))
        );
        // The current profile names no region; no file names none.
        assert_eq!(profile_region(None, &env_of(&[]), file), None);
        assert_eq!(profile_region(Some("default"), &env_of(&[]), None), None);
    }

    #[test]
    fn unsupported_profile_modes_are_explained() {
        let flags = CredentialFlags {
            profile: Some("sso".into()),
            ..Default::default()
        };
        let err = resolve(&flags, &env_of(&[]), Some((Path::new("/p"), PROFILES))).unwrap_err();
        assert!(err.to_string().contains("CloudSSO"), "{err}");
        let flags = CredentialFlags {
            profile: Some("role".into()),
            ..Default::default()
        };
        let err = resolve(&flags, &env_of(&[]), Some((Path::new("/p"), PROFILES))).unwrap_err();
        assert!(err.to_string().contains("ram_role_arn is needed"), "{err}");
    }

    #[test]
    fn missing_profile_is_named() {
        let flags = CredentialFlags {
            profile: Some("nope".into()),
            ..Default::default()
        };
        let err = resolve(&flags, &env_of(&[]), Some((Path::new("/p"), PROFILES))).unwrap_err();
        assert_eq!(err.to_string(), "profile \"nope\" is not in /p");
    }

    #[test]
    fn nothing_found_says_what_to_do() {
        let err = resolve(&CredentialFlags::default(), &env_of(&[]), None).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("ALIBABA_CLOUD_ACCESS_KEY_ID") && text.contains("--emulator"),
            "{text}"
        );
    }
}

//! The credential chain: flags, an explicit `--profile`, environment, then the aliyun CLI's
//! profile file; and the region a profile names.
//!
//! Resolution is a pure function of its inputs (flag values, an environment lookup and the
//! profile file's text), so every link of the chain is tested without touching the process
//! environment or the home directory.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use kvsync_secrets::Secret;
use kvsync_wire::env_vars;

/// An access key pair, with an optional STS token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The AccessKey ID (not secret; appears in requests).
    pub access_key_id: String,
    /// The AccessKey secret.
    pub access_key_secret: Secret,
    /// The STS security token, for temporary credentials.
    pub security_token: Option<Secret>,
}

/// Where the credentials in use came from (for `-v` logs; never the values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CredentialSource {
    /// `--access-key-id` / `--access-key-secret`.
    Flags,
    /// `ALIBABA_CLOUD_ACCESS_KEY_ID` / `ALIBABA_CLOUD_ACCESS_KEY_SECRET`.
    AlibabaCloudEnv,
    /// `ALICLOUD_ACCESS_KEY` / `ALICLOUD_SECRET_KEY`.
    AlicloudEnv,
    /// A profile in the aliyun CLI's configuration file.
    Profile {
        /// The file it was read from.
        path: PathBuf,
        /// The profile's name.
        name: String,
    },
    /// The built-in key pair of the embedded emulator.
    Emulator,
}

/// Credentials given on the command line.
#[derive(Debug, Clone, Default)]
pub struct CredentialFlags {
    /// `--access-key-id`.
    pub access_key_id: Option<String>,
    /// `--access-key-secret`.
    pub access_key_secret: Option<Secret>,
    /// `--profile`.
    pub profile: Option<String>,
}

/// Why no usable credentials were found.
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
         (or {alt_id} and {alt_secret}), or configure a profile in ~/.aliyun/config.json \
         (or use --emulator to try kvsync locally)",
        id = env_vars::ALIBABA_CLOUD_ACCESS_KEY_ID,
        secret = env_vars::ALIBABA_CLOUD_ACCESS_KEY_SECRET,
        alt_id = env_vars::ALICLOUD_ACCESS_KEY,
        alt_secret = env_vars::ALICLOUD_SECRET_KEY
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
    /// The profile uses a mode kvsync cannot use directly.
    #[error(
        "profile {name:?} uses mode {mode:?}; kvsync supports the AK and StsToken modes \
         (export temporary credentials with `aliyun configure` or the environment instead)"
    )]
    UnsupportedMode {
        /// The profile's name.
        name: String,
        /// Its mode.
        mode: String,
    },
}

/// The aliyun CLI's `~/.aliyun/config.json`, as far as kvsync reads it.
#[derive(Debug, Deserialize)]
struct ProfileFile {
    #[serde(default)]
    current: String,
    #[serde(default)]
    profiles: Vec<Profile>,
}

#[derive(Debug, Deserialize)]
struct Profile {
    name: String,
    #[serde(default)]
    mode: String,
    #[serde(default)]
    access_key_id: String,
    #[serde(default)]
    access_key_secret: String,
    #[serde(default)]
    sts_token: String,
    #[serde(default)]
    region_id: String,
}

/// Where the aliyun CLI keeps its profiles, given the home directory.
pub fn profile_path(home: &Path) -> PathBuf {
    home.join(".aliyun").join("config.json")
}

/// The profile `--profile`, else `ALIBABA_CLOUD_PROFILE`, else the file's current one (else
/// `default`) names, from the file's text.
fn select_profile(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    path: &Path,
    text: &str,
) -> Result<Profile, CredentialsError> {
    let file: ProfileFile =
        serde_json::from_str(text).map_err(|source| CredentialsError::ProfileFile {
            path: path.to_owned(),
            source,
        })?;
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
    file.profiles
        .into_iter()
        .find(|p| p.name == wanted)
        .ok_or_else(|| CredentialsError::NoSuchProfile {
            name: wanted.clone(),
            path: path.to_owned(),
        })
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
    let profile = select_profile(profile, env, path, text).ok()?;
    (!profile.region_id.is_empty()).then_some((profile.region_id, profile.name))
}

/// Resolves credentials in order: flags, an explicit `--profile`, `ALIBABA_CLOUD_*`,
/// `ALICLOUD_*`, then the profile file (`ALIBABA_CLOUD_PROFILE`, else its current profile).
/// A profile named on the command line is a choice made for this run, so it beats keys left
/// in the environment (as in the aliyun CLI).
///
/// `env` looks up an environment variable; `profile_file` is the path and text of the aliyun
/// CLI configuration, when one exists.
pub fn resolve(
    flags: &CredentialFlags,
    env: &dyn Fn(&str) -> Option<String>,
    profile_file: Option<(&Path, &str)>,
) -> Result<(Credentials, CredentialSource), CredentialsError> {
    let env = |name: &str| env(name).filter(|value| !value.is_empty());

    match (&flags.access_key_id, &flags.access_key_secret) {
        (Some(id), Some(secret)) => {
            return Ok((
                Credentials {
                    access_key_id: id.clone(),
                    access_key_secret: secret.clone(),
                    security_token: None,
                },
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
        return from_profile(Some(name), &env, file);
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
                    Credentials {
                        access_key_id: id,
                        access_key_secret: Secret::new(secret),
                        security_token: env(token_var).map(Secret::new),
                    },
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

    let Some(file) = profile_file else {
        return Err(CredentialsError::NotFound);
    };
    from_profile(None, &env, file)
}

/// Credentials from the profile `flag` (else the environment's or the file's current one).
fn from_profile(
    flag: Option<&str>,
    env: &dyn Fn(&str) -> Option<String>,
    (path, text): (&Path, &str),
) -> Result<(Credentials, CredentialSource), CredentialsError> {
    let profile = select_profile(flag, env, path, text)?;
    let security_token = match profile.mode.as_str() {
        "" | "AK" => None,
        "StsToken" => Some(Secret::new(profile.sts_token)),
        other => {
            return Err(CredentialsError::UnsupportedMode {
                name: profile.name,
                mode: other.to_owned(),
            });
        }
    };
    if profile.access_key_id.is_empty() || profile.access_key_secret.is_empty() {
        return Err(CredentialsError::NotFound);
    }
    Ok((
        Credentials {
            access_key_id: profile.access_key_id,
            access_key_secret: Secret::new(profile.access_key_secret),
            security_token,
        },
        CredentialSource::Profile {
            path: path.to_owned(),
            name: profile.name,
        },
    ))
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

    const PROFILES: &str = r#"{
        "current": "prod",
        "profiles": [
            {"name": "default", "mode": "AK", "access_key_id": "def-id", "access_key_secret": "def-secret", "region_id": "cn-shanghai"},
            {"name": "prod", "mode": "StsToken", "access_key_id": "prod-id", "access_key_secret": "prod-secret", "sts_token": "tok"},
            {"name": "role", "mode": "RamRoleArn", "access_key_id": "x", "access_key_secret": "y"}
        ]
    }"#;

    #[test]
    fn flags_win_over_everything() {
        let flags = CredentialFlags {
            access_key_id: Some("flag-id".into()),
            access_key_secret: Some(Secret::new("flag-secret")),
            profile: None,
        };
        let env = env_of(&[("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")]);
        let (creds, source) = resolve(&flags, &env, Some((Path::new("/p"), PROFILES))).unwrap();
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
        let (creds, source) = resolve(&CredentialFlags::default(), &env, None).unwrap();
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
        let (creds, source) = resolve(&CredentialFlags::default(), &env, None).unwrap();
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
        let (creds, source) = resolve(
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
        let (creds, _) = resolve(&flags, &env_of(&[]), Some((Path::new("/p"), PROFILES))).unwrap();
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
        let (creds, source) = resolve(&flags, &env, Some((Path::new("/p"), PROFILES))).unwrap();
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
        let (creds, source) = resolve(
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
            profile: Some("role".into()),
            ..Default::default()
        };
        let err = resolve(&flags, &env_of(&[]), Some((Path::new("/p"), PROFILES))).unwrap_err();
        assert!(err.to_string().contains("RamRoleArn"), "{err}");
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

//! The emulated RAM roles STS lets callers assume: who each role trusts, the OIDC tokens each
//! identity provider accepts, the role the ECS metadata stand-in serves, and the cap on the
//! lifetime of issued credentials. Parsed from `--role`, `--oidc-token`, `--ecs-role`,
//! `--sts-max-seconds` and a `--roles` JSON file; the trust decisions are pure functions.
//!
//! It never issues or checks credentials (that is `issued.rs`) and never answers a request.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The account that owns the emulated roles unless a `--roles` file names another.
pub const DEFAULT_ACCOUNT_ID: &str = "1234567890123456";

/// The longest `--sts-max-seconds` and `DurationSeconds`: 12 hours, as STS allows.
pub const MAX_DURATION_SECONDS: u64 = 43_200;

/// The shortest `DurationSeconds` STS accepts: 15 minutes.
pub const MIN_DURATION_SECONDS: u64 = 900;

/// Who may assume a role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Trust {
    /// Requests signed with this access key ID.
    Key(String),
    /// Requests signed with any key the emulator knows, issued STS keys included (`*`).
    AnyKey,
    /// Requests signed with STS keys issued for this role (role chaining; written as the
    /// role's ARN).
    Role(String),
    /// `AssumeRoleWithOIDC` with a token this OIDC provider accepts (`oidc:PROVIDER_ARN`).
    Oidc(String),
}

impl Trust {
    /// Parses one trust entry: `KEY_ID`, `*`, `oidc:PROVIDER_ARN` or a role ARN.
    pub fn parse(text: &str) -> Result<Trust, RolesError> {
        if text == "*" {
            return Ok(Trust::AnyKey);
        }
        if let Some(provider) = text.strip_prefix("oidc:") {
            return match parse_provider_arn(provider) {
                Some(_) => Ok(Trust::Oidc(provider.to_owned())),
                None => Err(RolesError::ProviderArn(provider.to_owned())),
            };
        }
        if text.starts_with("acs:") {
            return match RoleArn::parse(text) {
                Some(_) => Ok(Trust::Role(text.to_owned())),
                None => Err(RolesError::RoleArn(text.to_owned())),
            };
        }
        if text.is_empty() || !text.chars().all(|c| c.is_ascii_graphic() && c != ',') {
            return Err(RolesError::Trust(text.to_owned()));
        }
        Ok(Trust::Key(text.to_owned()))
    }
}

/// A RAM role's ARN, `acs:ram::ACCOUNT:role/NAME`, taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleArn {
    /// The owning account's ID.
    pub account_id: String,
    /// The role's name.
    pub name: String,
}

impl RoleArn {
    /// Parses `acs:ram::ACCOUNT:role/NAME` (account: digits; name: 1–64 of `A-Za-z0-9.@_-`);
    /// `None` for anything else.
    pub fn parse(text: &str) -> Option<RoleArn> {
        let rest = text.strip_prefix("acs:ram::")?;
        let (account, name) = rest.split_once(":role/")?;
        let name_ok = (1..=64).contains(&name.len())
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c));
        (account_ok(account) && name_ok).then(|| RoleArn {
            account_id: account.to_owned(),
            name: name.to_owned(),
        })
    }
}

fn account_ok(account: &str) -> bool {
    !account.is_empty() && account.len() <= 32 && account.chars().all(|c| c.is_ascii_digit())
}

/// Parses `acs:ram::ACCOUNT:oidc-provider/NAME`; the provider name, or `None`.
pub fn parse_provider_arn(text: &str) -> Option<&str> {
    let rest = text.strip_prefix("acs:ram::")?;
    let (account, name) = rest.split_once(":oidc-provider/")?;
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c));
    (account_ok(account) && name_ok).then_some(name)
}

/// The role the metadata stand-in serves, as on an ECS instance with a RAM role attached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcsRole {
    /// The role name the metadata service lists.
    pub name: String,
    /// The role's ARN.
    pub arn: String,
}

/// Everything STS and the metadata stand-in know about roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Roles {
    /// The account long-term keys belong to (`GetCallerIdentity`).
    pub account_id: String,
    /// Role ARN → who may assume it.
    pub roles: BTreeMap<String, BTreeSet<Trust>>,
    /// OIDC provider ARN → the tokens it accepts.
    pub oidc_tokens: BTreeMap<String, BTreeSet<String>>,
    /// The metadata stand-in's role, if any.
    pub ecs_role: Option<EcsRole>,
    /// The longest lifetime of issued credentials, in seconds; `None`: as requested.
    pub max_seconds: Option<u64>,
}

impl Default for Roles {
    fn default() -> Self {
        Roles {
            account_id: DEFAULT_ACCOUNT_ID.to_owned(),
            roles: BTreeMap::new(),
            oidc_tokens: BTreeMap::new(),
            ecs_role: None,
            max_seconds: None,
        }
    }
}

/// Why a role setting was refused.
#[derive(Debug, thiserror::Error)]
pub enum RolesError {
    /// A flag's value has the wrong shape.
    #[error("{flag} takes {expected}, not {value:?}")]
    Shape {
        /// The flag.
        flag: &'static str,
        /// What it takes.
        expected: &'static str,
        /// What was given.
        value: String,
    },
    /// Not a role ARN.
    #[error("{0:?} is not a role ARN (expected acs:ram::ACCOUNT:role/NAME)")]
    RoleArn(String),
    /// Not an OIDC provider ARN.
    #[error("{0:?} is not an OIDC provider ARN (expected acs:ram::ACCOUNT:oidc-provider/NAME)")]
    ProviderArn(String),
    /// Not a trust entry.
    #[error("{0:?} is not a trust entry (expected KEY_ID, *, oidc:PROVIDER_ARN or a role ARN)")]
    Trust(String),
    /// A second metadata role.
    #[error(
        "at most one ECS role may be set (like an ECS instance), found {first:?} and {second:?}"
    )]
    SecondEcsRole {
        /// The first role name.
        first: String,
        /// The second role name.
        second: String,
    },
    /// The lifetime cap is out of range.
    #[error("the STS lifetime cap must be from 1 to {MAX_DURATION_SECONDS} seconds, not {0}")]
    MaxSeconds(u64),
    /// The account ID is not digits.
    #[error("{0:?} is not an account ID (expected digits)")]
    AccountId(String),
    /// The OIDC token is empty.
    #[error("the OIDC token for {0} is empty")]
    EmptyToken(String),
    /// The roles file could not be read.
    #[error("reading the roles file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The IO error.
        #[source]
        source: std::io::Error,
    },
    /// The roles file is not a roles document.
    #[error("parsing the roles file {path}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// An entry of the roles file was refused.
    #[error("in the roles file {path}")]
    Entry {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        #[source]
        source: Box<RolesError>,
    },
}

/// The `--roles` file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RolesFile {
    #[serde(default)]
    account_id: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    oidc_tokens: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    ecs_role: Option<EcsRoleFile>,
    #[serde(default)]
    max_seconds: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EcsRoleFile {
    name: String,
    arn: String,
}

impl Roles {
    /// Adds a `--role ARN=TRUST[,TRUST...]` flag.
    pub fn add_role_flag(&mut self, spec: &str) -> Result<(), RolesError> {
        let shape = || RolesError::Shape {
            flag: "--role",
            expected: "ARN=TRUST[,TRUST...]",
            value: spec.to_owned(),
        };
        let (arn, trusts) = spec.split_once('=').ok_or_else(shape)?;
        let trusts: Vec<&str> = trusts.split(',').collect();
        self.add_role(arn, &trusts)
    }

    /// Adds a role trusting `trusts` (merged with what it already trusts).
    pub fn add_role(&mut self, arn: &str, trusts: &[&str]) -> Result<(), RolesError> {
        RoleArn::parse(arn).ok_or_else(|| RolesError::RoleArn(arn.to_owned()))?;
        let parsed = trusts
            .iter()
            .map(|text| Trust::parse(text))
            .collect::<Result<Vec<_>, _>>()?;
        self.roles.entry(arn.to_owned()).or_default().extend(parsed);
        Ok(())
    }

    /// Adds an `--oidc-token PROVIDER_ARN=TOKEN` flag.
    pub fn add_oidc_token_flag(&mut self, spec: &str) -> Result<(), RolesError> {
        let (provider, token) = spec.split_once('=').ok_or_else(|| RolesError::Shape {
            flag: "--oidc-token",
            expected: "PROVIDER_ARN=TOKEN",
            value: spec.to_owned(),
        })?;
        self.add_oidc_token(provider, token)
    }

    /// Makes `provider` accept `token`.
    pub fn add_oidc_token(&mut self, provider: &str, token: &str) -> Result<(), RolesError> {
        parse_provider_arn(provider).ok_or_else(|| RolesError::ProviderArn(provider.to_owned()))?;
        if token.is_empty() {
            return Err(RolesError::EmptyToken(provider.to_owned()));
        }
        self.oidc_tokens
            .entry(provider.to_owned())
            .or_default()
            .insert(token.to_owned());
        Ok(())
    }

    /// Sets the `--ecs-role NAME=ROLE_ARN` flag.
    pub fn set_ecs_role_flag(&mut self, spec: &str) -> Result<(), RolesError> {
        let (name, arn) = spec.split_once('=').ok_or_else(|| RolesError::Shape {
            flag: "--ecs-role",
            expected: "NAME=ROLE_ARN",
            value: spec.to_owned(),
        })?;
        self.set_ecs_role(name, arn)
    }

    /// Sets the metadata stand-in's role; refused when one is already set.
    pub fn set_ecs_role(&mut self, name: &str, arn: &str) -> Result<(), RolesError> {
        let name_ok = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c));
        if !name_ok {
            return Err(RolesError::Shape {
                flag: "--ecs-role",
                expected: "NAME=ROLE_ARN with NAME of letters, digits and .@_-",
                value: format!("{name}={arn}"),
            });
        }
        RoleArn::parse(arn).ok_or_else(|| RolesError::RoleArn(arn.to_owned()))?;
        if let Some(first) = &self.ecs_role {
            return Err(RolesError::SecondEcsRole {
                first: first.name.clone(),
                second: name.to_owned(),
            });
        }
        self.ecs_role = Some(EcsRole {
            name: name.to_owned(),
            arn: arn.to_owned(),
        });
        Ok(())
    }

    /// Sets the lifetime cap (1 to [`MAX_DURATION_SECONDS`]).
    pub fn set_max_seconds(&mut self, seconds: u64) -> Result<(), RolesError> {
        if !(1..=MAX_DURATION_SECONDS).contains(&seconds) {
            return Err(RolesError::MaxSeconds(seconds));
        }
        self.max_seconds = Some(seconds);
        Ok(())
    }

    /// Adds what a `--roles` JSON file holds:
    /// `{"account_id", "roles": {ARN: [TRUST...]}, "oidc_tokens": {PROVIDER_ARN: [TOKEN...]},
    /// "ecs_role": {"name", "arn"}, "max_seconds"}`, every key optional.
    pub fn load_file(&mut self, path: &Path) -> Result<(), RolesError> {
        let text = std::fs::read_to_string(path).map_err(|source| RolesError::Read {
            path: path.to_owned(),
            source,
        })?;
        let file: RolesFile = serde_json::from_str(&text).map_err(|source| RolesError::Parse {
            path: path.to_owned(),
            source,
        })?;
        self.apply_file(file).map_err(|source| RolesError::Entry {
            path: path.to_owned(),
            source: Box::new(source),
        })
    }

    fn apply_file(&mut self, file: RolesFile) -> Result<(), RolesError> {
        if let Some(account) = file.account_id {
            if !account_ok(&account) {
                return Err(RolesError::AccountId(account));
            }
            self.account_id = account;
        }
        for (arn, trusts) in &file.roles {
            let trusts: Vec<&str> = trusts.iter().map(String::as_str).collect();
            self.add_role(arn, &trusts)?;
        }
        for (provider, tokens) in &file.oidc_tokens {
            for token in tokens {
                self.add_oidc_token(provider, token)?;
            }
        }
        if let Some(ecs) = file.ecs_role {
            self.set_ecs_role(&ecs.name, &ecs.arn)?;
        }
        if let Some(seconds) = file.max_seconds {
            self.set_max_seconds(seconds)?;
        }
        Ok(())
    }

    /// Whether `role` trusts a caller signing with the (known, verified) key `key_id`;
    /// `issued_for` is the role an STS key was issued for.
    pub fn trusts_key(&self, role: &str, key_id: &str, issued_for: Option<&str>) -> bool {
        self.roles.get(role).is_some_and(|trusts| {
            trusts.iter().any(|trust| match trust {
                Trust::AnyKey => true,
                Trust::Key(id) => id == key_id,
                Trust::Role(arn) => issued_for == Some(arn.as_str()),
                Trust::Oidc(_) => false,
            })
        })
    }

    /// Whether `role` trusts the OIDC provider `provider`.
    pub fn trusts_provider(&self, role: &str, provider: &str) -> bool {
        self.roles.get(role).is_some_and(|trusts| {
            trusts
                .iter()
                .any(|trust| matches!(trust, Trust::Oidc(p) if p == provider))
        })
    }

    /// Whether `provider` is registered and accepts `token`: `None` when no such provider.
    pub fn provider_accepts(&self, provider: &str, token: &str) -> Option<bool> {
        self.oidc_tokens
            .get(provider)
            .map(|tokens| tokens.contains(token))
    }

    /// The lifetime an issued credential gets when `requested` seconds were asked for.
    pub fn lifetime(&self, requested: u64) -> u64 {
        match self.max_seconds {
            Some(cap) => requested.min(cap),
            None => requested,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "acs:ram::1234567890123456:role/deployer";
    const OTHER: &str = "acs:ram::1234567890123456:role/reader";
    const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ci";

    #[test]
    fn role_flags_parse_every_kind_of_trust() {
        let mut roles = Roles::default();
        roles
            .add_role_flag(&format!("{ROLE}=testid,oidc:{PROVIDER},{OTHER}"))
            .unwrap();
        roles.add_role_flag(&format!("{OTHER}=*")).unwrap();
        assert_eq!(
            roles.roles[ROLE],
            BTreeSet::from([
                Trust::Key("testid".into()),
                Trust::Role(OTHER.into()),
                Trust::Oidc(PROVIDER.into()),
            ])
        );
        for bad in [
            "no-equals",
            "acs:ram::1:user/x=testid",
            &format!("{ROLE}="),
            &format!("{ROLE}=oidc:acs:ram::1:role/x"),
            &format!("{ROLE}=a b"),
        ] {
            assert!(roles.add_role_flag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn trust_decisions() {
        let mut roles = Roles::default();
        roles
            .add_role(ROLE, &["testid", &format!("oidc:{PROVIDER}"), OTHER])
            .unwrap();
        roles.add_role(OTHER, &["*"]).unwrap();
        assert!(roles.trusts_key(ROLE, "testid", None));
        assert!(!roles.trusts_key(ROLE, "other", None));
        // Chaining: an STS key issued for OTHER may assume ROLE; one for ROLE may not.
        assert!(roles.trusts_key(ROLE, "STS.x", Some(OTHER)));
        assert!(!roles.trusts_key(ROLE, "STS.x", Some(ROLE)));
        assert!(roles.trusts_key(OTHER, "anyone", None));
        assert!(!roles.trusts_key("acs:ram::1:role/none", "testid", None));
        assert!(roles.trusts_provider(ROLE, PROVIDER));
        assert!(!roles.trusts_provider(OTHER, PROVIDER));
    }

    #[test]
    fn oidc_tokens_and_the_lifetime_cap() {
        let mut roles = Roles::default();
        roles
            .add_oidc_token_flag(&format!("{PROVIDER}=eyJ.a=b.c"))
            .unwrap();
        assert_eq!(roles.provider_accepts(PROVIDER, "eyJ.a=b.c"), Some(true));
        assert_eq!(roles.provider_accepts(PROVIDER, "eyJ"), Some(false));
        assert_eq!(
            roles.provider_accepts("acs:ram::1:oidc-provider/x", "t"),
            None
        );
        assert!(roles.add_oidc_token_flag(&format!("{PROVIDER}=")).is_err());
        assert_eq!(roles.lifetime(3600), 3600);
        roles.set_max_seconds(20).unwrap();
        assert_eq!(roles.lifetime(3600), 20);
        assert_eq!(roles.lifetime(10), 10);
        assert!(roles.set_max_seconds(0).is_err());
        assert!(roles.set_max_seconds(43_201).is_err());
    }

    #[test]
    fn one_ecs_role_at_most() {
        let mut roles = Roles::default();
        roles.set_ecs_role_flag(&format!("EcsRole={ROLE}")).unwrap();
        let err = roles
            .set_ecs_role_flag(&format!("Other={OTHER}"))
            .unwrap_err();
        assert!(err.to_string().contains("at most one"), "{err}");
        assert!(Roles::default().set_ecs_role_flag("EcsRole=nope").is_err());
        assert!(Roles::default().set_ecs_role_flag(ROLE).is_err());
    }

    #[test]
    fn a_roles_file_holds_the_same_settings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("roles.json");
        std::fs::write(
            &path,
            format!(
                r#"{{"account_id": "42", "roles": {{"{ROLE}": ["testid", "oidc:{PROVIDER}"]}},
                   "oidc_tokens": {{"{PROVIDER}": ["tok"]}},
                   "ecs_role": {{"name": "EcsRole", "arn": "{ROLE}"}}, "max_seconds": 30}}"#
            ),
        )
        .unwrap();
        let mut roles = Roles::default();
        roles.load_file(&path).unwrap();
        assert_eq!(roles.account_id, "42");
        assert!(roles.trusts_key(ROLE, "testid", None));
        assert_eq!(roles.provider_accepts(PROVIDER, "tok"), Some(true));
        assert_eq!(roles.ecs_role.as_ref().unwrap().name, "EcsRole");
        assert_eq!(roles.max_seconds, Some(30));

        for bad in [
            r#"{"rolez": {}}"#.to_owned(),
            r#"{"max_seconds": 0}"#.to_owned(),
            format!(r#"{{"roles": {{"{ROLE}": ["a b"]}}}}"#),
            "not json".to_owned(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert!(Roles::default().load_file(&path).is_err(), "{bad}");
        }
        assert!(
            Roles::default()
                .load_file(&dir.path().join("missing.json"))
                .is_err()
        );
    }

    #[test]
    fn arns_are_taken_apart() {
        assert_eq!(
            RoleArn::parse(ROLE),
            Some(RoleArn {
                account_id: "1234567890123456".into(),
                name: "deployer".into()
            })
        );
        for bad in [
            "acs:ram::x:role/a",
            "acs:ram::1:role/",
            "acs:ram::1:role/a b",
            "acs:ecs::1:role/a",
            "",
        ] {
            assert_eq!(RoleArn::parse(bad), None, "{bad}");
        }
        assert_eq!(parse_provider_arn(PROVIDER), Some("ci"));
        assert_eq!(parse_provider_arn(ROLE), None);
    }
}

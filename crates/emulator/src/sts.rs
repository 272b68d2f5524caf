//! The emulated STS (`Version=2015-04-01`): `AssumeRole`, `AssumeRoleWithOIDC` and
//! `GetCallerIdentity`, with the parameters and answer fields of the official SDK's models.
//!
//! [`handle`] is synchronous: the caller (whose signature and token the server checked), the
//! roles, the issued keys, the time and the parameters are its inputs. It never checks a
//! signature and never persists anything; the server around it does.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::errors::VendorError;
use super::issued::{self, IssuedKey, NewCredentials};
use super::roles::{self, RoleArn, Roles};
use super::times;

/// The STS API version; a request carrying it is an STS request.
pub(crate) const STS_VERSION: &str = "2015-04-01";

/// `DurationSeconds` when absent.
const DEFAULT_DURATION_SECONDS: u64 = 3600;

/// The STS actions the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StsAction {
    /// `AssumeRole`, signed.
    AssumeRole,
    /// `AssumeRoleWithOIDC`, anonymous: no `AccessKeyId`, no signature.
    AssumeRoleWithOidc,
    /// `GetCallerIdentity`, signed.
    GetCallerIdentity,
}

impl StsAction {
    /// The action named `name`, if STS has it.
    pub(crate) fn parse(name: &str) -> Option<StsAction> {
        match name {
            "AssumeRole" => Some(StsAction::AssumeRole),
            "AssumeRoleWithOIDC" => Some(StsAction::AssumeRoleWithOidc),
            "GetCallerIdentity" => Some(StsAction::GetCallerIdentity),
            _ => None,
        }
    }

    /// Whether the action is called without a signature.
    pub(crate) fn anonymous(self) -> bool {
        self == StsAction::AssumeRoleWithOidc
    }
}

/// Whether a request is for STS rather than R-KVStore: its `Version` is STS's.
pub(crate) fn is_sts(wire: &BTreeMap<String, String>) -> bool {
    wire.get("Version").map(String::as_str) == Some(STS_VERSION)
}

/// Who made a request, after its signature and security token checked out.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Caller<'a> {
    /// No signature (`AssumeRoleWithOIDC`).
    Anonymous,
    /// A long-term key.
    LongTerm(&'a str),
    /// An issued key and its record.
    Issued(&'a str, &'a IssuedKey),
}

/// What [`handle`] answers: the body (without `RequestId`) and whether keys were issued.
#[derive(Debug)]
pub(crate) struct StsAnswer {
    /// The answer body.
    pub body: Value,
    /// Whether the issued keys changed (and must be persisted).
    pub changed: bool,
}

/// Whether `name` is a valid `RoleSessionName`: 2 to 64 of `A-Za-z0-9.@_-`.
pub(crate) fn session_name_ok(name: &str) -> bool {
    (2..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".@_-".contains(c))
}

/// The `DurationSeconds` asked for: 3600 when absent, else a whole number from 900 to 43200.
pub(crate) fn requested_duration(value: Option<&str>) -> Result<u64, VendorError> {
    match value.filter(|text| !text.is_empty()) {
        None => Ok(DEFAULT_DURATION_SECONDS),
        Some(text) => match text.parse::<u64>() {
            Ok(seconds)
                if (roles::MIN_DURATION_SECONDS..=roles::MAX_DURATION_SECONDS)
                    .contains(&seconds) =>
            {
                Ok(seconds)
            }
            _ => Err(VendorError::duration_seconds_invalid()),
        },
    }
}

/// A role's ID: 19 digits derived from its ARN, stable across restarts.
pub(crate) fn role_id(arn: &str) -> String {
    let digest = Sha256::digest(arn.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    format!(
        "3{:018}",
        u64::from_be_bytes(bytes) % 1_000_000_000_000_000_000
    )
}

/// Handles one STS action.
pub(crate) fn handle(
    action: StsAction,
    wire: &BTreeMap<String, String>,
    caller: Caller<'_>,
    roles: &Roles,
    keys: &mut BTreeMap<String, IssuedKey>,
    now: Timestamp,
) -> Result<StsAnswer, VendorError> {
    let get = |name: &str| wire.get(name).map(String::as_str).filter(|v| !v.is_empty());
    match action {
        StsAction::GetCallerIdentity => Ok(StsAnswer {
            body: caller_identity(caller, roles),
            changed: false,
        }),
        StsAction::AssumeRole => {
            let arn = role_param(get("RoleArn"), roles)?;
            let session = get("RoleSessionName")
                .ok_or_else(|| VendorError::missing_parameter("RoleSessionName"))?;
            let duration = common_checks(session, get("DurationSeconds"), get("Policy"))?;
            let trusted = match caller {
                Caller::LongTerm(id) => roles.trusts_key(arn, id, None),
                Caller::Issued(id, record) => roles.trusts_key(arn, id, Some(&record.role_arn)),
                Caller::Anonymous => false,
            };
            if !trusted {
                return Err(VendorError::assume_role_denied());
            }
            let issued = issue(roles, keys, arn, session, duration, now);
            Ok(StsAnswer {
                body: assumed(arn, session, &issued, None),
                changed: true,
            })
        }
        StsAction::AssumeRoleWithOidc => {
            let provider = get("OIDCProviderArn")
                .ok_or_else(|| VendorError::missing_parameter("OIDCProviderArn"))?;
            let arn = role_param(get("RoleArn"), roles)?;
            let token = get("OIDCToken").ok_or_else(|| VendorError::oidc_token_invalid(true))?;
            let session = get("RoleSessionName").unwrap_or("oidc-session");
            let duration = common_checks(session, get("DurationSeconds"), get("Policy"))?;
            match roles.provider_accepts(provider, token) {
                None => return Err(VendorError::oidc_provider_not_found()),
                Some(false) => return Err(VendorError::oidc_token_invalid(false)),
                Some(true) => {}
            }
            if !roles.trusts_provider(arn, provider) {
                return Err(VendorError::oidc_not_trusted());
            }
            let issued = issue(roles, keys, arn, session, duration, now);
            let info = oidc_token_info(provider, token, now);
            Ok(StsAnswer {
                body: assumed(arn, session, &issued, Some(info)),
                changed: true,
            })
        }
    }
}

/// `RoleArn`: present, well formed and configured.
fn role_param<'a>(arn: Option<&'a str>, roles: &Roles) -> Result<&'a str, VendorError> {
    let arn = arn.ok_or_else(|| VendorError::missing_parameter("RoleArn"))?;
    RoleArn::parse(arn).ok_or_else(VendorError::role_arn_malformed)?;
    if !roles.roles.contains_key(arn) {
        return Err(VendorError::role_not_found(arn));
    }
    Ok(arn)
}

/// The checks both assume actions share; answers the requested duration.
fn common_checks(
    session: &str,
    duration: Option<&str>,
    policy: Option<&str>,
) -> Result<u64, VendorError> {
    if !session_name_ok(session) {
        return Err(VendorError::role_session_name_malformed());
    }
    let duration = requested_duration(duration)?;
    if let Some(policy) = policy
        && !serde_json::from_str::<Value>(policy).is_ok_and(|doc| doc.is_object())
    {
        return Err(VendorError::policy_grammar());
    }
    Ok(duration)
}

/// Issues a key for `arn` whose lifetime is `requested` seconds, capped by the configuration.
pub(crate) fn issue(
    roles: &Roles,
    keys: &mut BTreeMap<String, IssuedKey>,
    arn: &str,
    session: &str,
    requested: u64,
    now: Timestamp,
) -> NewCredentials {
    let seconds = i64::try_from(roles.lifetime(requested)).unwrap_or(i64::MAX);
    issued::issue(keys, arn, session, now, SignedDuration::from_secs(seconds))
}

/// The answer of an assume action.
fn assumed(arn: &str, session: &str, issued: &NewCredentials, oidc: Option<Value>) -> Value {
    let mut body = json!({
        "AssumedRoleUser": {
            "Arn": format!("{arn}/{session}"),
            "AssumedRoleId": format!("{}:{session}", role_id(arn)),
        },
        "Credentials": {
            "AccessKeyId": issued.access_key_id,
            "AccessKeySecret": issued.secret,
            "SecurityToken": issued.token,
            "Expiration": issued.expiration(),
        },
    });
    if let (Some(info), Value::Object(map)) = (oidc, &mut body) {
        map.insert("OIDCTokenInfo".into(), info);
    }
    body
}

/// `OIDCTokenInfo`: the emulator's tokens are opaque, so the subject is derived from the token.
fn oidc_token_info(provider: &str, token: &str, now: Timestamp) -> Value {
    let name = roles::parse_provider_arn(provider).unwrap_or("provider");
    let subject = hex::encode(&Sha256::digest(token.as_bytes())[..8]);
    let expires = now
        .checked_add(SignedDuration::from_hours(1))
        .unwrap_or(now);
    json!({
        "Subject": format!("system:emulator:{subject}"),
        "Issuer": format!("https://oidc.emulator.invalid/{name}"),
        "ClientIds": "sts.aliyuncs.com",
        "IssuanceTime": times::to_seconds(now),
        "ExpirationTime": times::to_seconds(expires),
        "VerificationInfo": "Success",
    })
}

/// The answer of `GetCallerIdentity`.
fn caller_identity(caller: Caller<'_>, roles: &Roles) -> Value {
    match caller {
        Caller::Issued(_, record) => {
            let (account, name) = RoleArn::parse(&record.role_arn)
                .map(|arn| (arn.account_id, arn.name))
                .unwrap_or_else(|| (roles.account_id.clone(), String::new()));
            let role_id = role_id(&record.role_arn);
            let principal = format!("{role_id}:{}", record.session);
            json!({
                "AccountId": account,
                "Arn": format!("acs:ram::{account}:assumed-role/{name}/{}", record.session),
                "IdentityType": "AssumedRoleUser",
                "PrincipalId": principal,
                "RoleId": role_id,
                "UserId": principal,
            })
        }
        Caller::LongTerm(_) | Caller::Anonymous => {
            let account = &roles.account_id;
            json!({
                "AccountId": account,
                "Arn": format!("acs:ram::{account}:root"),
                "IdentityType": "Account",
                "PrincipalId": account,
                "UserId": account,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROLE: &str = "acs:ram::1234567890123456:role/deployer";
    const PROVIDER: &str = "acs:ram::1234567890123456:oidc-provider/ci";

    fn now() -> Timestamp {
        "2026-05-01T12:00:00Z".parse().unwrap()
    }

    fn wire(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn roles() -> Roles {
        let mut roles = Roles::default();
        roles
            .add_role(ROLE, &["testid", &format!("oidc:{PROVIDER}")])
            .unwrap();
        roles.add_oidc_token(PROVIDER, "good-token").unwrap();
        roles
    }

    fn code(result: Result<StsAnswer, VendorError>) -> (u16, &'static str) {
        let err = result.unwrap_err();
        (err.status, err.code)
    }

    #[test]
    fn session_names_and_durations() {
        for ok in ["ab", "a.b@c_d-e", &"x".repeat(64)] {
            assert!(session_name_ok(ok), "{ok}");
        }
        for bad in ["a", "", "a b", "a*b", &"x".repeat(65), "名字"] {
            assert!(!session_name_ok(bad), "{bad}");
        }
        assert_eq!(requested_duration(None), Ok(3600));
        assert_eq!(requested_duration(Some("900")), Ok(900));
        assert_eq!(requested_duration(Some("43200")), Ok(43200));
        for bad in ["899", "43201", "x", "-1", "1.5"] {
            assert_eq!(
                requested_duration(Some(bad)).unwrap_err().code,
                "InvalidParameter.DurationSeconds"
            );
        }
    }

    #[test]
    fn assume_role_issues_capped_credentials_to_trusted_keys() {
        let mut roles = roles();
        roles.set_max_seconds(20).unwrap();
        let mut keys = BTreeMap::new();
        let request = wire(&[
            ("RoleArn", ROLE),
            ("RoleSessionName", "ci-run"),
            ("DurationSeconds", "3600"),
        ]);
        let answer = handle(
            StsAction::AssumeRole,
            &request,
            Caller::LongTerm("testid"),
            &roles,
            &mut keys,
            now(),
        )
        .unwrap();
        assert!(answer.changed);
        let body = answer.body;
        assert_eq!(body["Credentials"]["Expiration"], "2026-05-01T12:00:20Z");
        assert_eq!(
            body["AssumedRoleUser"]["Arn"],
            format!("{ROLE}/ci-run").as_str()
        );
        let id = body["Credentials"]["AccessKeyId"].as_str().unwrap();
        assert!(keys.contains_key(id));

        let denied = handle(
            StsAction::AssumeRole,
            &request,
            Caller::LongTerm("stranger"),
            &roles,
            &mut keys,
            now(),
        );
        assert_eq!(code(denied), (403, "NoPermission"));
    }

    #[test]
    fn assume_role_refusals() {
        let roles = roles();
        let mut keys = BTreeMap::new();
        let mut attempt = |pairs: &[(&str, &str)]| {
            code(handle(
                StsAction::AssumeRole,
                &wire(pairs),
                Caller::LongTerm("testid"),
                &roles,
                &mut keys,
                now(),
            ))
        };
        assert_eq!(
            attempt(&[("RoleSessionName", "s1")]),
            (400, "MissingParameter")
        );
        assert_eq!(
            attempt(&[
                ("RoleArn", "arn:aws:iam::1:role/x"),
                ("RoleSessionName", "s1")
            ]),
            (400, "InvalidParameter.RoleArn")
        );
        assert_eq!(
            attempt(&[
                ("RoleArn", "acs:ram::1234567890123456:role/none"),
                ("RoleSessionName", "s1")
            ]),
            (404, "EntityNotExist.Role")
        );
        assert_eq!(
            attempt(&[("RoleArn", ROLE), ("RoleSessionName", "a b")]),
            (400, "InvalidParameter.RoleSessionName")
        );
        assert_eq!(
            attempt(&[
                ("RoleArn", ROLE),
                ("RoleSessionName", "s1"),
                ("DurationSeconds", "60")
            ]),
            (400, "InvalidParameter.DurationSeconds")
        );
        assert_eq!(
            attempt(&[
                ("RoleArn", ROLE),
                ("RoleSessionName", "s1"),
                ("Policy", "{not json")
            ]),
            (400, "InvalidParameter.PolicyGrammar")
        );
        assert!(keys.is_empty());
    }

    #[test]
    fn oidc_needs_an_accepted_token_of_a_trusted_provider() {
        let mut roles = roles();
        roles
            .add_role("acs:ram::1234567890123456:role/other", &["testid"])
            .unwrap();
        let mut keys = BTreeMap::new();
        let mut attempt = |role: &str, provider: &str, token: &str| {
            handle(
                StsAction::AssumeRoleWithOidc,
                &wire(&[
                    ("RoleArn", role),
                    ("OIDCProviderArn", provider),
                    ("OIDCToken", token),
                    ("RoleSessionName", "pod"),
                ]),
                Caller::Anonymous,
                &roles,
                &mut keys,
                now(),
            )
        };
        let ok = attempt(ROLE, PROVIDER, "good-token").unwrap();
        assert!(ok.body["OIDCTokenInfo"]["Subject"].is_string());
        assert!(ok.body["Credentials"]["SecurityToken"].is_string());
        assert_eq!(
            code(attempt(ROLE, PROVIDER, "bad-token")),
            (401, "AuthenticationFail.OIDCToken.Invalid")
        );
        assert_eq!(
            code(attempt(ROLE, PROVIDER, "")),
            (401, "AuthenticationFail.OIDCToken.Invalid")
        );
        assert_eq!(
            code(attempt(
                ROLE,
                "acs:ram::1234567890123456:oidc-provider/x",
                "good-token"
            )),
            (401, "AuthenticationFail.NoPermission")
        );
        assert_eq!(
            code(attempt(
                "acs:ram::1234567890123456:role/other",
                PROVIDER,
                "good-token"
            )),
            (401, "AuthenticationFail.NoPermission")
        );
    }

    #[test]
    fn caller_identity_tells_accounts_from_assumed_roles() {
        let roles = roles();
        let mut keys = BTreeMap::new();
        let account = handle(
            StsAction::GetCallerIdentity,
            &BTreeMap::new(),
            Caller::LongTerm("testid"),
            &roles,
            &mut keys,
            now(),
        )
        .unwrap()
        .body;
        assert_eq!(account["IdentityType"], "Account");
        assert_eq!(account["AccountId"], roles::DEFAULT_ACCOUNT_ID);
        let record = IssuedKey {
            secret: "s".into(),
            token_digest: "d".into(),
            expires: now(),
            role_arn: ROLE.into(),
            session: "ci".into(),
        };
        let assumed = caller_identity(Caller::Issued("STS.x", &record), &roles);
        assert_eq!(assumed["IdentityType"], "AssumedRoleUser");
        assert_eq!(
            assumed["Arn"],
            "acs:ram::1234567890123456:assumed-role/deployer/ci"
        );
        assert_eq!(
            assumed["PrincipalId"],
            format!("{}:ci", role_id(ROLE)).as_str()
        );
        assert_eq!(role_id(ROLE).len(), 19);
    }

    #[test]
    fn the_sts_version_routes_to_sts() {
        assert!(is_sts(&wire(&[("Version", "2015-04-01")])));
        assert!(!is_sts(&wire(&[("Version", "2015-01-01")])));
        assert!(!is_sts(&BTreeMap::new()));
        assert_eq!(
            StsAction::parse("AssumeRoleWithOIDC"),
            Some(StsAction::AssumeRoleWithOidc)
        );
        assert!(StsAction::AssumeRoleWithOidc.anonymous());
        assert!(!StsAction::AssumeRole.anonymous());
        assert_eq!(StsAction::parse("AssumeRoleWithSAML"), None);
    }
}

//! The vendor's error answers: HTTP status, `Code` and `Message`, as the cloud spells them.

use kvsync_wire::actions::ParamError;

/// An error answer of the emulated cloud.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VendorError {
    /// HTTP status.
    pub status: u16,
    /// `Code`.
    pub code: &'static str,
    /// `Message`.
    pub message: String,
}

impl VendorError {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        VendorError {
            status,
            code,
            message: message.into(),
        }
    }

    /// A required parameter is missing.
    pub fn missing_parameter(name: &str) -> Self {
        Self::new(
            400,
            "MissingParameter",
            format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            ),
        )
    }

    /// A parameter is present but invalid.
    pub fn invalid_parameter(name: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid."),
        )
    }

    /// A parameter is present but breaks a rule, told in `reason`.
    pub fn invalid_parameter_because(name: &str, reason: &str) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!("The specified parameter \"{name}\" is not valid. {reason}"),
        )
    }

    /// The action does not exist.
    pub fn action_not_found() -> Self {
        Self::new(
            404,
            "InvalidAction.NotFound",
            "Specified api is not found, please check your url and method.",
        )
    }

    /// The `Version` parameter is not `2015-01-01`.
    pub fn invalid_version() -> Self {
        Self::new(
            400,
            "InvalidVersion",
            "Specified parameter Version is not valid.",
        )
    }

    /// The access key ID is unknown.
    pub fn access_key_not_found() -> Self {
        Self::new(
            404,
            "InvalidAccessKeyId.NotFound",
            "Specified access key is not found.",
        )
    }

    /// The signature does not match; the message carries the server's string to sign after a
    /// colon, as the cloud's does (one official SDK splits on it).
    pub fn signature_mismatch(server_string_to_sign: &str) -> Self {
        Self::new(
            400,
            "SignatureDoesNotMatch",
            format!(
                "Specified signature is not matched with our calculation. server string to sign is:{server_string_to_sign}"
            ),
        )
    }

    /// The nonce was seen within the window.
    pub fn nonce_used() -> Self {
        Self::new(
            400,
            "SignatureNonceUsed",
            "Specified signature nonce was used already.",
        )
    }

    /// The timestamp cannot be parsed.
    pub fn timestamp_format() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Format",
            "Specified time stamp or date value is not well formatted.",
        )
    }

    /// The timestamp is outside the accepted window.
    pub fn timestamp_expired() -> Self {
        Self::new(
            400,
            "InvalidTimeStamp.Expired",
            "Specified time stamp or date value is expired.",
        )
    }

    /// The signature method is not supported.
    pub fn signature_method() -> Self {
        Self::new(
            400,
            "InvalidSignatureMethod",
            "Specified signature method is not valid.",
        )
    }

    /// The instance does not exist.
    pub fn instance_not_found() -> Self {
        Self::new(
            404,
            "InvalidInstanceId.NotFound",
            "The InstanceId provided does not exist in our records.",
        )
    }

    /// The region does not exist.
    pub fn region_not_found() -> Self {
        Self::new(
            404,
            "InvalidRegion.NotFound",
            "The RegionId or ZoneId provided does not exist in our records.",
        )
    }

    /// The zone is not in the region.
    pub fn zone_not_found() -> Self {
        Self::new(
            400,
            "InvalidZoneId.NotFound",
            "The ZoneId provided is invalid.",
        )
    }

    /// The instance class is unknown.
    pub fn class_not_found() -> Self {
        Self::new(
            404,
            "InvalidDBInstanceClass.NotFound",
            "Specified DB instance class is not found.",
        )
    }

    /// Neither capacity nor class was given.
    pub fn missing_class() -> Self {
        Self::new(
            400,
            "MissingClassCode",
            "Capacity or InstanceClass is mandatory for this action.",
        )
    }

    /// The instance name breaks the naming rules.
    pub fn instance_name_malformed() -> Self {
        Self::new(
            400,
            "InvalidInstanceName.Malformed",
            "The Specified parameter \"InstanceName\" is not valid.",
        )
    }

    /// The password breaks the password rules.
    pub fn password_malformed() -> Self {
        Self::new(
            400,
            "InvalidPassword.Malformed",
            "The Specified parameter \"Password\" is not valid.",
        )
    }

    /// The token is too long or not ASCII.
    pub fn token_malformed() -> Self {
        Self::new(
            400,
            "InvalidToken.Malformed",
            "The Specified parameter \"Token\" is not valid.",
        )
    }

    /// A token was reused with different parameters.
    pub fn idempotent_mismatch() -> Self {
        Self::new(
            400,
            "IdempotentParameterMismatch",
            "Request uses a client token in a previous request but is not identical to that request.",
        )
    }

    /// The instance's status does not allow the operation.
    pub fn incorrect_state() -> Self {
        Self::new(
            400,
            "IncorrectDBInstanceState",
            "Current DB instance state does not support this operation.",
        )
    }

    /// Release protection is on.
    pub fn release_protected() -> Self {
        Self::new(
            403,
            "OperationDenied.ReleaseProtection",
            "The instance has release protection enabled; disable it before releasing the instance.",
        )
    }

    /// Subscription instances are released only at expiry.
    pub fn prepaid_delete() -> Self {
        Self::new(
            400,
            "IncorrectDBInstanceType",
            "Current DB instance type does not support this operation: subscription instances are released only at expiration.",
        )
    }

    /// The period is not one of the allowed values.
    pub fn invalid_period() -> Self {
        Self::new(
            400,
            "InvalidPeriod",
            "The specified parameter \"Period\" is not valid: allowed are 1-9, 12, 24, 36 months.",
        )
    }

    /// A VPC instance needs its VPC and vSwitch.
    pub fn vpc_required() -> Self {
        Self::new(
            400,
            "InvalidVpcIdOrVSwitchId.NotFound",
            "VpcId and VSwitchId are mandatory when NetworkType is VPC.",
        )
    }

    /// `IncorrectDBInstanceState` as `ModifyInstanceSSL` answers it: with HTTP 403.
    pub fn incorrect_state_forbidden() -> Self {
        Self::new(
            403,
            "IncorrectDBInstanceState",
            "Current DB instance state does not support this operation.",
        )
    }

    /// The account name breaks the naming rules.
    pub fn account_name_format() -> Self {
        Self::new(
            400,
            "InvalidAccountName.Format",
            "Specified AccountName is not valid.",
        )
    }

    /// The account name is a reserved word.
    pub fn account_name_forbidden() -> Self {
        Self::new(
            400,
            "InvalidAccountName.Forbid",
            "Specified AccountName is a keyword.",
        )
    }

    /// An account of that name exists already.
    pub fn account_name_duplicate() -> Self {
        Self::new(
            400,
            "InvalidAccountName.Duplicate",
            "Specified AccountName already exists in this instance.",
        )
    }

    /// No account of that name exists.
    pub fn account_not_found() -> Self {
        Self::new(
            404,
            "InvalidAccountName.NotFound",
            "Specified AccountName does not exist.",
        )
    }

    /// The account password breaks the password rules.
    pub fn account_password_format() -> Self {
        Self::new(
            400,
            "InvalidAccountPassword.Format",
            "Specified AccountPassword is not valid.",
        )
    }

    /// The account description breaks the description rules.
    pub fn account_description_format() -> Self {
        Self::new(
            400,
            "InvalidAccountDescription.Format",
            "Specified AccountDescription is not valid.",
        )
    }

    /// `CreateAccount` got a privilege it does not grant (the vendor's spelling for this action).
    pub fn account_privilege_malformed() -> Self {
        Self::new(
            400,
            "InvalidAccountPrivilege.Malformed",
            "Specified account privilege is not valid.",
        )
    }

    /// `GrantAccountPrivilege` got a privilege it does not grant (the vendor's spelling for
    /// this action).
    pub fn account_privilege_format() -> Self {
        Self::new(
            400,
            "InvalidAccountPrivilege.Format",
            "Specified AccountPrivilege is not valid.",
        )
    }

    /// The instance has as many normal accounts as it may.
    pub fn account_limit() -> Self {
        Self::new(
            403,
            "AccountLimitExceeded",
            "Exceeding the allowed amount of account.",
        )
    }

    /// Account management needs Redis 4.0 or later.
    pub fn account_engine_version() -> Self {
        Self::new(
            400,
            "InvalidEngineVersion.Format",
            "Current EngineVersion does not support operations.",
        )
    }

    /// The default (`Super`) account cannot be changed this way.
    pub fn incorrect_account() -> Self {
        Self::new(
            400,
            "IncorrectAccount",
            "Current DB instance account does not support this operation.",
        )
    }

    /// The account is still being created or changed.
    pub fn account_status() -> Self {
        Self::new(
            403,
            "OperationDenied.AccountStatus",
            "The operation is not permitted due to status of account.",
        )
    }

    /// A whitelist entry is not an IPv4 address or CIDR block.
    pub fn security_ip_format() -> Self {
        Self::new(
            400,
            "InvalidSecurityIPList.Format",
            "Specified security IP list format is not valid.",
        )
    }

    /// The instance's whitelists would hold more entries than allowed.
    pub fn security_ip_quota() -> Self {
        Self::new(
            400,
            "InvalidSecurityIPList.QuotaExceeded",
            "Specified security IP list is not valid: Exceeding the allowed amount of IP address in the list.",
        )
    }

    /// `Delete` named an entry (or group) that is not there, or would empty `default`.
    pub fn security_ip_not_found() -> Self {
        Self::new(
            404,
            "InvalidSecurityIPList.NotFound",
            "Specified same security IP does not exist or at least one security IP need.",
        )
    }

    /// `Append` named an entry the group holds already.
    pub fn security_ip_duplicate() -> Self {
        Self::new(
            409,
            "SecurityIPList.Duplicate",
            "Specified same security IP already exists.",
        )
    }

    /// The whitelist group name breaks the naming rules (the vendor's message, typo included).
    pub fn group_name_format() -> Self {
        Self::new(
            400,
            "InvalidGroupName.Format",
            "Sepecified group name is not valid.",
        )
    }

    /// The whitelist group belongs to the system.
    pub fn system_group() -> Self {
        Self::new(
            403,
            "OperationDenied.SystemGroup",
            "The specified whitelist group is managed by the system and cannot be modified.",
        )
    }

    /// `SSLEnabled` is not one of the values `ModifyInstanceSSL` takes.
    pub fn ssl_parameters_format() -> Self {
        Self::new(
            400,
            "InvalidParameters.Format",
            "Specified parameters is not valid.",
        )
    }

    /// TLS needs Redis 4.0 or later.
    pub fn incorrect_engine_version() -> Self {
        Self::new(
            403,
            "IncorrectEngineVersion",
            "Current engine version does not support operations.",
        )
    }

    /// TLS is already in the requested state (or off, for a certificate update).
    pub fn incorrect_ssl_status() -> Self {
        Self::new(
            403,
            "IncorrectSSLStatus",
            "Current DB instance SSL status does not support this operation.",
        )
    }

    /// The service is temporarily unavailable (fault injection).
    pub fn service_unavailable() -> Self {
        Self::new(
            503,
            "ServiceUnavailable",
            "The request has failed due to a temporary failure of the server.",
        )
    }

    /// The QPS cap was exceeded (fault injection).
    pub fn throttled() -> Self {
        Self::new(
            400,
            "Throttling.User",
            "Request was denied due to user flow control.",
        )
    }
}

/// Errors of temporary credentials on any API call (the POP gateway's common errors) and of the
/// STS actions.
///
/// Codes and messages of the gateway's security-token errors: the public error codes (the
/// list behind `help.aliyun.com/document_detail/53438.html`, as quoted by SDKs and the
/// `terraform-provider-alicloud` `errors.go` constants) and the API references' error tables
/// (`400 InvalidSecurityToken.Malformed/MismatchWithAccessKey`; `InvalidSecurityToken.Expired`
/// is listed 400 in the FaaS table and 403 in the generated API references of several
/// products, which is what the emulator answers). The STS codes come from the STS error
/// code table (`help.aliyun.com/zh/ram/developer-reference/api-sts-2015-04-01-errorcodes`:
/// the 401 `AuthenticationFail.*` codes) and the STS troubleshooting page
/// (`help.aliyun.com/document_detail/42775.html`: `NoPermission`, `MissingSecurityToken`,
/// `InvalidParameter.PolicyGrammar/RoleSessionName/DurationSeconds`).
impl VendorError {
    /// An STS key was sent without its `SecurityToken`.
    pub fn missing_security_token() -> Self {
        Self::new(
            400,
            "MissingSecurityToken",
            "SecurityToken is mandatory for this action.",
        )
    }

    /// The `SecurityToken` has expired.
    pub fn security_token_expired() -> Self {
        Self::new(
            403,
            "InvalidSecurityToken.Expired",
            "Specified SecurityToken is expired.",
        )
    }

    /// The `SecurityToken` was issued with another access key (or sent with a long-term key).
    pub fn security_token_mismatch() -> Self {
        Self::new(
            400,
            "InvalidSecurityToken.MismatchWithAccessKey",
            "Specified SecurityToken mismatch with the AccessKey.",
        )
    }

    /// The `SecurityToken` is not one the emulated STS issued.
    pub fn security_token_malformed() -> Self {
        Self::new(
            400,
            "InvalidSecurityToken.Malformed",
            "Specified SecurityToken is malformed.",
        )
    }

    /// `RoleArn` is not a role ARN.
    pub fn role_arn_malformed() -> Self {
        Self::new(
            400,
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrongly formed.",
        )
    }

    /// No role has this ARN.
    pub fn role_not_found(arn: &str) -> Self {
        Self::new(
            404,
            "EntityNotExist.Role",
            format!("The role not exists: {arn}."),
        )
    }

    /// The caller is not in the role's trust policy.
    pub fn assume_role_denied() -> Self {
        Self::new(
            403,
            "NoPermission",
            "No permission perform sts:AssumeRole on this Role. Maybe you should check the role's trust policy.",
        )
    }

    /// `RoleSessionName` is not 2 to 64 of `A-Za-z0-9.@_-`.
    pub fn role_session_name_malformed() -> Self {
        Self::new(
            400,
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed.",
        )
    }

    /// `DurationSeconds` is not from 900 to 43200.
    pub fn duration_seconds_invalid() -> Self {
        Self::new(
            400,
            "InvalidParameter.DurationSeconds",
            "The Min/Max value of DurationSeconds is 15min/12hr.",
        )
    }

    /// `Policy` is not a JSON policy document.
    pub fn policy_grammar() -> Self {
        Self::new(
            400,
            "InvalidParameter.PolicyGrammar",
            "The parameter Policy has not passed grammar check.",
        )
    }

    /// The OIDC token is empty or not one the provider accepts.
    pub fn oidc_token_invalid(empty: bool) -> Self {
        let message = if empty {
            "The OIDCToken can not empty."
        } else {
            "The Jwt content is invalid that cannot be recognized."
        };
        Self::new(401, "AuthenticationFail.OIDCToken.Invalid", message)
    }

    /// No OIDC provider has this ARN.
    pub fn oidc_provider_not_found() -> Self {
        Self::new(
            401,
            "AuthenticationFail.NoPermission",
            "No such OIDC Provider registered.",
        )
    }

    /// The role does not trust the OIDC provider.
    pub fn oidc_not_trusted() -> Self {
        Self::new(
            401,
            "AuthenticationFail.NoPermission",
            "There is no permission",
        )
    }
}

/// Errors of the backup, parameter and monitoring actions.
impl VendorError {
    /// `PreferredBackupTime` is not of the form `HH:mmZ-HH:mmZ`.
    pub fn backup_time_format() -> Self {
        Self::new(
            400,
            "InvalidPreferredBackupTime.Format",
            "Specified preferred backup time is not valid.",
        )
    }

    /// `PreferredBackupTime` is well formed but not a one-hour window on the hour.
    pub fn backup_time_window() -> Self {
        Self::new(
            400,
            "InvalidPreferredBackupTime",
            "Specified preferred backup time is not valid.",
        )
    }

    /// `PreferredBackupPeriod` is not a list of English weekdays.
    pub fn backup_period_malformed() -> Self {
        Self::new(
            400,
            "InvalidPreferredBackupPeriod.Malformed",
            "Specified backup period is not valid.",
        )
    }

    /// `BackupRetentionPeriod` is out of range.
    pub fn backup_retention_malformed() -> Self {
        Self::new(
            400,
            "InvalidBackupRetentionPeriod.Malformed",
            "Specified backup retention period is not valid.",
        )
    }

    /// A backup of the instance is still running.
    pub fn backup_job_exists() -> Self {
        Self::new(
            400,
            "BackupJobExists",
            "A backup job already exists in the specified DB instance.",
        )
    }

    /// No finished, unexpired backup set of the instance has this ID.
    pub fn backup_set_not_found() -> Self {
        Self::new(
            400,
            "InvalidBackupSetID.NotFound",
            "Specified backup set ID does not exist.",
        )
    }

    /// `StartTime` is not a UTC time of the documented form.
    pub fn start_time_malformed() -> Self {
        Self::new(
            400,
            "InvalidStartTime.Malformed",
            "The Specified parameter \"StartTime\" is not valid.",
        )
    }

    /// `EndTime` is not a UTC time of the documented form.
    pub fn end_time_malformed() -> Self {
        Self::new(
            400,
            "InvalidEndTime.Malformed",
            "The Specified parameter \"EndTime\" is not valid.",
        )
    }

    /// `EndTime` is not later than `StartTime`.
    pub fn end_time_before_start() -> Self {
        Self::new(
            400,
            "InvalidEndTime.Format",
            "Specified end time is not valid. EndTime must be later than StartTime.",
        )
    }

    /// `RestoreTime` is malformed or outside the data flashback range (spelling chosen by the
    /// emulator: the vendor does not document it).
    pub fn restore_time_invalid(reason: &str) -> Self {
        Self::new(
            400,
            "InvalidRestoreTime.Format",
            format!("Specified restore time is not valid. {reason}"),
        )
    }

    /// A point-in-time restore of an instance without data flashback (spelling chosen by the
    /// emulator: the vendor does not document it).
    pub fn backup_log_disabled() -> Self {
        Self::new(
            400,
            "IncorrectBackupLogState",
            "Data flashback (EnableBackupLog) is not enabled for this instance.",
        )
    }

    /// `ModifyInstanceConfig` got a `Config` that is not a JSON object, or a value its
    /// parameter does not accept.
    pub fn config_invalid(detail: &str) -> Self {
        Self::new(
            400,
            "InvalidParameters.Format",
            format!("Specified parameters is not valid. {detail}"),
        )
    }

    /// A monitoring query asks for more data points than one answer holds.
    pub fn too_many_points(max: u64) -> Self {
        Self::new(
            400,
            "InvalidParameter",
            format!(
                "The specified parameter \"EndTime\" is not valid: the range holds more than {max} intervals."
            ),
        )
    }
}

impl From<ParamError> for VendorError {
    fn from(err: ParamError) -> Self {
        match err {
            ParamError::Missing(name) => VendorError::missing_parameter(&name),
            ParamError::Invalid { name, .. } => VendorError::invalid_parameter(&name),
        }
    }
}

/// Errors of the instance management and tag actions.
impl VendorError {
    /// A `ClientToken` that is too long or not ASCII.
    pub fn client_token_malformed() -> Self {
        Self::new(
            400,
            "InvalidToken.Malformed",
            "The Specified parameter \"ClientToken\" is not valid.",
        )
    }

    /// The target class is the instance's current class.
    pub fn same_instance_class() -> Self {
        Self::new(
            400,
            "InvalidDBInstanceClass.Duplicate",
            "The specified DB instance class is the same as the current one.",
        )
    }

    /// `ModifyInstanceSpec` asks for the class and architecture the instance already has (the
    /// class's duplicate code, which the vendor gives for an unchanged specification).
    pub fn spec_unchanged() -> Self {
        Self::new(
            400,
            "InvalidDBInstanceClass.Duplicate",
            "The specified specification (class and architecture) is the same as the current one.",
        )
    }

    /// The billing method does not allow the operation (e.g. a subscription instance asked to
    /// become a subscription instance).
    pub fn incorrect_charge_type() -> Self {
        Self::new(
            400,
            "IncorrectDBInstanceChargeType",
            "Current DB instance charge type does not support this operation.",
        )
    }

    /// `MaintainStartTime` is not a whole hour in `HH:mmZ`.
    pub fn maintain_start_malformed() -> Self {
        Self::new(
            400,
            "InvalidStartTime.Malformed",
            "The Specified parameter \"MaintainStartTime\" is not valid.",
        )
    }

    /// `MaintainEndTime` is not a whole hour in `HH:mmZ`, one hour after the start.
    pub fn maintain_end_malformed() -> Self {
        Self::new(
            400,
            "InvalidEndTime.Format",
            "Specified end time is not valid.",
        )
    }

    /// `ClassicExpiredDays` is not 14, 30, 60 or 120.
    pub fn classic_expired_days_malformed() -> Self {
        Self::new(
            400,
            "InvalidClassicExpiredDays.Format",
            "The specified classicExpiredDays format is not valid.",
        )
    }

    /// The instance's network type does not allow the operation (password-free access and
    /// network switches need the right network).
    pub fn incorrect_net_type() -> Self {
        Self::new(
            400,
            "IncorrectDBInstanceNetType",
            "Current DB instance net type does not support this operation.",
        )
    }

    /// The named endpoint is not one of the instance's.
    pub fn connection_string_not_found() -> Self {
        Self::new(
            404,
            "InvalidConnectionString.NotFound",
            "The specified connection string does not exist in our records.",
        )
    }

    /// The new endpoint prefix breaks the naming rules.
    pub fn connection_string_malformed() -> Self {
        Self::new(
            400,
            "InvalidConnectionString.Format",
            "Specified connection string is not valid.",
        )
    }

    /// The endpoint and port asked for are the ones the endpoint already has.
    pub fn connection_unchanged() -> Self {
        Self::new(
            400,
            "InvalidConnectionStringOrPort.Duplicate",
            "Specified connection string or port want to be modified is the same with current net type.",
        )
    }

    /// Another instance already uses the endpoint prefix.
    pub fn connection_string_taken() -> Self {
        Self::new(
            400,
            "InvalidConnectionStringOrPort.Duplicate",
            "Specified connection string or port already exists.",
        )
    }

    /// `IPType` is not `Private` or `Public`.
    pub fn ip_type_malformed() -> Self {
        Self::new(
            400,
            "InvalidIPType.Format",
            "Specified parameter IPType is not supported.",
        )
    }

    /// The target major version is not above the current one.
    pub fn major_version_not_upgrade() -> Self {
        Self::new(
            400,
            "IncorrectEngineVersion",
            "Current engine version does not support this operation: the major version can only be upgraded.",
        )
    }

    /// `ResourceType` is not `INSTANCE`.
    pub fn resource_type_not_supported() -> Self {
        Self::new(
            400,
            "InvalidResourceType.NotSupported",
            "The specified ResourceType is not supported.",
        )
    }

    /// A resource ID does not name an instance of the region.
    pub fn resource_not_found() -> Self {
        Self::new(
            404,
            "InvalidResourceId.NotFound",
            "The specified ResourceIds are not found in our records.",
        )
    }

    /// More resource IDs than one request may name.
    pub fn too_many_resources(limit: usize) -> Self {
        Self::new(
            400,
            "NumberExceed.ResourceIds",
            format!("The maximum number of ResourceIds ({limit}) is exceeded."),
        )
    }

    /// More tags than a request or an instance may hold.
    pub fn too_many_tags(limit: usize) -> Self {
        Self::new(
            400,
            "NumberExceed.Tags",
            format!("The maximum number of Tags ({limit}) is exceeded."),
        )
    }

    /// A tag key breaks the tag rules.
    pub fn tag_key_malformed() -> Self {
        Self::new(
            400,
            "InvalidTagKey.Malformed",
            "The specified Tag.n.Key is not valid.",
        )
    }

    /// A tag value breaks the tag rules.
    pub fn tag_value_malformed() -> Self {
        Self::new(
            400,
            "InvalidTagValue.Malformed",
            "The specified Tag.n.Value is not valid.",
        )
    }

    /// The same tag key appears twice in one request.
    pub fn duplicate_tag_key() -> Self {
        Self::new(
            400,
            "Duplicate.TagKey",
            "The Tag.N.Key contains duplicate keys.",
        )
    }
}

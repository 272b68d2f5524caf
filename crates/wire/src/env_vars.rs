//! Every environment variable kvsync reads, declared once.

/// Access key ID (Alibaba Cloud SDK convention).
pub const ALIBABA_CLOUD_ACCESS_KEY_ID: &str = "ALIBABA_CLOUD_ACCESS_KEY_ID";
/// Access key secret (Alibaba Cloud SDK convention).
pub const ALIBABA_CLOUD_ACCESS_KEY_SECRET: &str = "ALIBABA_CLOUD_ACCESS_KEY_SECRET";
/// STS security token (Alibaba Cloud SDK convention).
pub const ALIBABA_CLOUD_SECURITY_TOKEN: &str = "ALIBABA_CLOUD_SECURITY_TOKEN";
/// Access key ID (Terraform alicloud provider convention).
pub const ALICLOUD_ACCESS_KEY: &str = "ALICLOUD_ACCESS_KEY";
/// Access key secret (Terraform alicloud provider convention).
pub const ALICLOUD_SECRET_KEY: &str = "ALICLOUD_SECRET_KEY";
/// STS security token (Terraform alicloud provider convention).
pub const ALICLOUD_SECURITY_TOKEN: &str = "ALICLOUD_SECURITY_TOKEN";
/// The RAM role to assume with an OIDC token (RRSA), with the two below.
pub const ALIBABA_CLOUD_ROLE_ARN: &str = "ALIBABA_CLOUD_ROLE_ARN";
/// The OIDC provider's ARN (RRSA).
pub const ALIBABA_CLOUD_OIDC_PROVIDER_ARN: &str = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN";
/// The file holding the OIDC token (RRSA; re-read at each refresh, as it rotates).
pub const ALIBABA_CLOUD_OIDC_TOKEN_FILE: &str = "ALIBABA_CLOUD_OIDC_TOKEN_FILE";
/// The session name of an assumed role configured by the environment.
pub const ALIBABA_CLOUD_ROLE_SESSION_NAME: &str = "ALIBABA_CLOUD_ROLE_SESSION_NAME";
/// The ECS instance's RAM role name, served by the metadata service.
pub const ALIBABA_CLOUD_ECS_METADATA: &str = "ALIBABA_CLOUD_ECS_METADATA";
/// `true` turns the ECS metadata service off as a credential source.
pub const ALIBABA_CLOUD_ECS_METADATA_DISABLED: &str = "ALIBABA_CLOUD_ECS_METADATA_DISABLED";
/// The STS region: `sts.<region>.aliyuncs.com` instead of the central endpoint.
pub const ALIBABA_CLOUD_STS_REGION: &str = "ALIBABA_CLOUD_STS_REGION";
/// `true`: the STS endpoint is the VPC one (`sts-vpc.<region>.aliyuncs.com`).
pub const ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED: &str = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED";
/// The STS endpoint's URL, below `--sts-endpoint`.
pub const ALIBABA_CLOUD_STS_ENDPOINT: &str = "ALIBABA_CLOUD_STS_ENDPOINT";
/// The ECS metadata service's URL, below `--metadata-endpoint`.
pub const KVSYNC_METADATA_ENDPOINT: &str = "KVSYNC_METADATA_ENDPOINT";
/// Every variable above that holds kvsync's own credentials: a manifest's `{env:}` secret may
/// not name one (it would send kvsync's credentials to the cloud as a password).
pub const CREDENTIALS: &[&str] = &[
    ALIBABA_CLOUD_ACCESS_KEY_ID,
    ALIBABA_CLOUD_ACCESS_KEY_SECRET,
    ALIBABA_CLOUD_SECURITY_TOKEN,
    ALICLOUD_ACCESS_KEY,
    ALICLOUD_SECRET_KEY,
    ALICLOUD_SECURITY_TOKEN,
];
/// Default region (Alibaba Cloud SDK and aliyun CLI convention), after `--region` and the
/// manifests, before the profile's `region_id`.
pub const ALIBABA_CLOUD_REGION_ID: &str = "ALIBABA_CLOUD_REGION_ID";
/// Default region (Terraform alicloud provider convention), after `ALIBABA_CLOUD_REGION_ID`.
pub const ALICLOUD_REGION: &str = "ALICLOUD_REGION";
/// The aliyun CLI profile to use when `--profile` is not given.
pub const ALIBABA_CLOUD_PROFILE: &str = "ALIBABA_CLOUD_PROFILE";
/// Home directory, where the aliyun CLI keeps `.aliyun/config.json`.
pub const HOME: &str = "HOME";
/// Disables colour in human output when set to anything non-empty.
pub const NO_COLOR: &str = "NO_COLOR";
/// Forces colour even without a terminal when set to anything but empty or `0` (below
/// `NO_COLOR` and `--color`).
pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
/// Seconds an in-process emulator (`--emulator`) keeps a new instance in `Creating`.
pub const KVSYNC_EMULATOR_CREATE_SECONDS: &str = "KVSYNC_EMULATOR_CREATE_SECONDS";
/// Seconds an in-process emulator (`--emulator`) keeps a changed instance in `Changing`.
pub const KVSYNC_EMULATOR_CHANGE_SECONDS: &str = "KVSYNC_EMULATOR_CHANGE_SECONDS";
/// Log filter (tracing `EnvFilter` syntax), overriding `-v`.
pub const KVSYNC_LOG: &str = "KVSYNC_LOG";
/// The log filter of every tracing-based tool, used when `KVSYNC_LOG` is unset.
pub const RUST_LOG: &str = "RUST_LOG";
/// When set (to anything non-empty), the client retries without waiting; for tests.
pub const KVSYNC_NO_RETRY_DELAY: &str = "KVSYNC_NO_RETRY_DELAY";
/// Seconds between the heartbeat lines of a step that waits, off a terminal (default 10).
pub const KVSYNC_HEARTBEAT_SECS: &str = "KVSYNC_HEARTBEAT_SECS";

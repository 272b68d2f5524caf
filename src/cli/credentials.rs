//! `kvsync credentials`: which credentials plan and apply would use, fetched once to prove
//! they work, shown without any value (the key id's last four characters at most).

use std::path::PathBuf;

use clap::Args;
use serde::Serialize;

use super::{CliError, ExitStatus, GlobalArgs, ManifestArgs, settings};

/// Arguments of `credentials`.
#[derive(Debug, Args)]
pub struct CredentialsArgs {
    /// Manifests whose Stack document's `spec.credentials` role is assumed on top of the chain,
    /// as plan and apply do (default: none; the chain alone).
    #[arg(short = 'f', long = "file", value_name = "PATH")]
    pub files: Vec<PathBuf>,
    /// Print one JSON object: provider, source, described, key_hint, expires.
    #[arg(long)]
    pub json: bool,
}

/// What `credentials` shows: names and places, never a secret, a token or a whole key id.
#[derive(Debug, Serialize)]
pub struct Shown {
    /// The provider's name, as the official SDKs name it (`ram_role_arn/static_ak`, …).
    pub provider: String,
    /// Where the chain found its configuration.
    pub source: String,
    /// What the provider does, in words (the role ARN or name, never a key).
    pub described: String,
    /// `…` and the last four characters of the key id in use.
    pub key_hint: String,
    /// When temporary credentials expire (`null` for a fixed key pair).
    pub expires: Option<jiff::Timestamp>,
}

impl Shown {
    /// The text form: one `name: value` line each.
    pub fn text(&self) -> String {
        let mut text = format!(
            "provider:  {}\nsource:    {}\ndescribed: {}\nkey:       {}\n",
            self.provider, self.source, self.described, self.key_hint
        );
        if let Some(expires) = self.expires {
            text.push_str(&format!("expires:   {expires}\n"));
        }
        text
    }
}

/// Why `credentials` failed after the chain resolved.
#[derive(Debug, thiserror::Error)]
pub enum ShowError {
    /// Fetching the credentials failed (the error names the provider and the cloud's answer).
    #[error("fetching credentials")]
    Fetch(#[source] crate::api::credentials::CredentialsError),
    /// The JSON could not be rendered.
    #[error("rendering the credentials as JSON")]
    Json(#[source] serde_json::Error),
}

/// Resolves the chain (with the Stack's role when `-f` is given), fetches the credentials once
/// and prints what they are.
pub async fn exec(global: &GlobalArgs, args: CredentialsArgs) -> Result<ExitStatus, CliError> {
    let stack = if args.files.is_empty() {
        None
    } else {
        let manifests = ManifestArgs { files: args.files };
        Some(super::load_manifests(global, &manifests)?.stack)
    };
    let target = settings::connect_for(global, stack.as_ref()).await?;
    let provider = target.client.credentials().clone();
    let source = target.source.to_string();
    let fetched = provider.current(target.client.cloud_now()).await;
    target.close().await;
    let credentials = fetched.map_err(ShowError::Fetch)?;
    let shown = Shown {
        provider: provider.name(),
        source,
        described: provider.spec().describe(),
        key_hint: credentials.key_hint(),
        expires: provider.expires(),
    };
    if args.json {
        let json = serde_json::to_string(&shown).map_err(ShowError::Json)?;
        crate::outln!("{json}")?;
    } else {
        crate::out!("{}", shown.text())?;
    }
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_shows_the_expiry_only_for_temporary_credentials() {
        let mut shown = Shown {
            provider: "static_ak".into(),
            source: "flags".into(),
            described: "AccessKey …1234".into(),
            key_hint: "…1234".into(),
            expires: None,
        };
        assert!(!shown.text().contains("expires"));
        shown.expires = Some("2026-01-01T00:00:00Z".parse().unwrap());
        assert!(shown.text().contains("expires:   2026-01-01T00:00:00Z"));
        let json = serde_json::to_value(&shown).unwrap();
        assert_eq!(json["expires"], "2026-01-01T00:00:00Z");
    }
}

//! `kvsync schema`: print the JSON Schema of the manifest format.

use clap::Args;

use super::{CliError, ExitStatus};
use crate::manifest::schema;

/// Arguments of `schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {}

/// Prints the schema.
pub fn exec(_args: SchemaArgs) -> Result<ExitStatus, CliError> {
    let text = serde_json::to_string_pretty(&schema::schema()).unwrap_or_default();
    crate::outln!("{text}")?;
    Ok(ExitStatus::Success)
}

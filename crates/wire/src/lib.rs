//! The R-KVStore `2015-01-01` wire protocol, the vocabulary every other kvsync crate shares.
//!
//! It owns every API action's declaration ([`actions`]: name, request fields and their wire
//! names, response type, idempotency token and impact, from which parameters, parsing and the
//! emulator's handler trait are derived), the flat parameter map ([`params`]), the signature
//! ([`sign`]), the regions the service is offered in ([`regions`]), the environment variable
//! names kvsync reads ([`env_vars`]) and the escaping of invisible characters in texts that
//! cross a trust boundary ([`text`]). It never does IO: no tokio, no HTTP, no files.

pub mod actions;
pub mod env_vars;
pub mod params;
pub mod regions;
pub mod sign;
pub mod text;

pub use kvsync_secrets::Secret;

/// The API version every request names.
pub const API_VERSION: &str = "2015-01-01";

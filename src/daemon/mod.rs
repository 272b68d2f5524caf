//! `kvsync daemon`: continuous reconciliation of the manifests with the cloud.

pub mod http;
pub mod metrics;
pub mod status;

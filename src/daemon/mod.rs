//! `kvsync daemon`: continuous reconciliation of the manifests with the cloud.

pub mod git;
pub mod status;

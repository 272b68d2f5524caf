//! What a cycle is doing, and durations as messages show them: the vocabulary the deadlines,
//! the status and the cycle's errors share.

use std::fmt;
use std::time::Duration;

use jiff::SignedDuration;
use serde::Serialize;

/// What a cycle is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Fetching the git branch and checking it out.
    Fetching,
    /// Reading the manifest files.
    Loading,
    /// Reading the secrets the manifests name.
    ReadingSecrets,
    /// Listing and reading the fleet.
    Observing,
    /// Running the plan's steps.
    Applying,
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Phase::Fetching => "bringing the git checkout up to date",
            Phase::Loading => "reading the manifests",
            Phase::ReadingSecrets => "reading the secrets",
            Phase::Observing => "observing the cloud",
            Phase::Applying => "applying",
        })
    }
}

/// A duration for messages, such as `1s` or `2m 30s`.
pub fn show(duration: Duration) -> String {
    SignedDuration::try_from(duration)
        .map_or_else(|_| format!("{duration:?}"), |d| format!("{d:#}"))
}

//! Instance statuses and their timed transitions, as a pure step function.
//!
//! A transition names the status shown while it runs, when it ends, and the change that takes
//! effect at its end (a new class, a new network, a restored dataset, ...). [`Lifecycle::settled`]
//! completes transitions whose time has come.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The `InstanceStatus` values the emulator moves instances through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Serving; accepts every operation.
    Normal,
    /// Being created.
    Creating,
    /// A specification change is in progress.
    Changing,
    /// Data is being deleted (`FlushInstance`).
    Flushing,
    /// Billing is being changed (`TransformToPrePaid`).
    Transforming,
    /// Data is being restored from a backup.
    BackupRecovering,
    /// The network type or VPC is changing.
    NetworkModifying,
    /// TLS is being switched on or off.
    #[serde(rename = "SSLModifying")]
    SslModifying,
    /// The major engine version is being upgraded.
    MajorVersionUpgrading,
}

impl Status {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Normal => "Normal",
            Status::Creating => "Creating",
            Status::Changing => "Changing",
            Status::Flushing => "Flushing",
            Status::Transforming => "Transforming",
            Status::BackupRecovering => "BackupRecovering",
            Status::NetworkModifying => "NetworkModifying",
            Status::SslModifying => "SSLModifying",
            Status::MajorVersionUpgrading => "MajorVersionUpgrading",
        }
    }
}

/// An instance's status with the time its current transition ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// The status reported now.
    pub status: Status,
    /// When a transitional status ends and the instance becomes `Normal`.
    pub until: Option<Timestamp>,
}

impl Lifecycle {
    /// A stable, `Normal` instance.
    pub fn normal() -> Self {
        Lifecycle {
            status: Status::Normal,
            until: None,
        }
    }

    /// Enters a transitional status that ends at `until`.
    pub fn transition(status: Status, until: Timestamp) -> Self {
        Lifecycle {
            status,
            until: Some(until),
        }
    }

    /// Whether the transition (if any) is over at `now`.
    pub fn is_due(&self, now: Timestamp) -> bool {
        self.until.is_some_and(|until| until <= now)
    }

    /// The lifecycle as it stands at `now`: transitions whose time has come are complete.
    pub fn settled(self, now: Timestamp) -> Self {
        if self.is_due(now) {
            Lifecycle::normal()
        } else {
            self
        }
    }

    /// Whether the instance accepts operations that need it idle.
    pub fn is_normal(&self) -> bool {
        self.status == Status::Normal
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + seconds).unwrap()
    }

    #[test]
    fn creating_becomes_normal_when_its_time_comes() {
        let lifecycle = Lifecycle::transition(Status::Creating, at(5));
        assert_eq!(lifecycle.status, Status::Creating);
        assert_eq!(lifecycle.settled(at(4)).status, Status::Creating);
        assert_eq!(lifecycle.settled(at(5)), Lifecycle::normal());
    }

    #[test]
    fn zero_duration_transitions_are_due_at_once() {
        assert!(Lifecycle::transition(Status::Changing, at(0)).is_due(at(0)));
        assert!(!Lifecycle::normal().is_due(at(0)));
    }

    #[test]
    fn statuses_use_the_vendor_spelling() {
        assert_eq!(Status::SslModifying.as_str(), "SSLModifying");
        assert_eq!(
            serde_json::to_string(&Status::SslModifying).unwrap(),
            "\"SSLModifying\""
        );
    }
}

//! Instance statuses and their timed transitions, as a pure step function.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The `InstanceStatus` values the emulator moves instances through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Status {
    /// Serving; accepts every operation.
    Normal,
    /// Being created.
    Creating,
    /// A specification or attribute change is in progress.
    Changing,
}

impl Status {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Normal => "Normal",
            Status::Creating => "Creating",
            Status::Changing => "Changing",
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

    /// Enters a transitional status that ends at `until` (immediately when `until <= now`).
    pub fn transition(status: Status, now: Timestamp, until: Timestamp) -> Self {
        Lifecycle {
            status,
            until: Some(until),
        }
        .settled(now)
    }

    /// The lifecycle as it stands at `now`: transitions whose time has come are complete.
    pub fn settled(self, now: Timestamp) -> Self {
        match self.until {
            Some(until) if until <= now => Lifecycle::normal(),
            _ => self,
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
        let lifecycle = Lifecycle::transition(Status::Creating, at(0), at(5));
        assert_eq!(lifecycle.status, Status::Creating);
        assert_eq!(lifecycle.settled(at(4)).status, Status::Creating);
        assert_eq!(lifecycle.settled(at(5)), Lifecycle::normal());
    }

    #[test]
    fn zero_duration_transitions_are_immediate() {
        assert!(Lifecycle::transition(Status::Changing, at(0), at(0)).is_normal());
    }
}

//! The typed values the manifests and the cloud share: parsed once at the edge, compared as
//! types downstream.
//!
//! Each type serialises as the wire text, prints it with `Display`, and parses it with
//! `FromStr`, which refuses anything else with a [`ValueError`]. Values the cloud reports go
//! through [`from_cloud`](NetworkType::from_cloud) where the cloud may say something kvsync
//! does not know yet: the text is kept in an `Other` variant rather than refused, so an
//! observation never fails on a new status and the planner can name what it saw.
//!
//! Depends on nothing else in kvsync.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why a text is not a value of the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// Not a network type kvsync knows.
    #[error("{0:?} is not a network type; allowed: VPC, CLASSIC")]
    NetworkType(String),
    /// Not an instance status kvsync knows.
    #[error("{0:?} is not an instance status")]
    InstanceStatus(String),
    /// Not a charge type.
    #[error("{0:?} is not a charge type; allowed: PrePaid, PostPaid")]
    ChargeType(String),
    /// Not a `HH:mmZ` time.
    #[error("{0:?} is not a time such as 02:00Z (HH:mmZ, 00:00Z to 23:59Z)")]
    Time(String),
    /// Not a `HH:mmZ-HH:mmZ` window.
    #[error("{0:?} is not a window of HH:mmZ times such as 02:00Z-03:00Z")]
    Window(String),
    /// Not an IPv4 address or CIDR block.
    #[error("{0:?} is not an IPv4 address or CIDR block such as 10.0.1.15 or 10.0.1.0/24")]
    Ipv4Net(String),
    /// Not an engine version such as `5.0`.
    #[error("{0:?} is not an engine version such as 5.0")]
    EngineVersion(String),
}

/// Serialises as the `Display` text and deserialises through `FromStr`.
macro_rules! text_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// Serialises as the wire text; deserialises any text, unknown ones as `Other`.
macro_rules! cloud_serde {
    ($type:ty) => {
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Self::from_cloud(&String::deserialize(deserializer)?))
            }
        }

        impl fmt::Display for $type {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl From<&str> for $type {
            /// As [`from_cloud`](Self::from_cloud).
            fn from(text: &str) -> Self {
                Self::from_cloud(text)
            }
        }
    };
}

/// An instance's network: `NetworkType`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum NetworkType {
    /// `VPC`.
    Vpc,
    /// `CLASSIC`.
    #[default]
    Classic,
    /// A type kvsync does not know, as the cloud spelled it.
    Other(String),
}

impl NetworkType {
    /// The wire text (`VPC`, `CLASSIC`).
    pub fn as_str(&self) -> &str {
        match self {
            NetworkType::Vpc => "VPC",
            NetworkType::Classic => "CLASSIC",
            NetworkType::Other(text) => text,
        }
    }

    /// What the cloud reports, in any case; an unknown type is kept as `Other`.
    pub fn from_cloud(text: &str) -> Self {
        text.parse()
            .unwrap_or_else(|_| NetworkType::Other(text.to_owned()))
    }
}

impl FromStr for NetworkType {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        match text.to_ascii_uppercase().as_str() {
            "VPC" => Ok(NetworkType::Vpc),
            "CLASSIC" => Ok(NetworkType::Classic),
            _ => Err(ValueError::NetworkType(text.to_owned())),
        }
    }
}

cloud_serde!(NetworkType);

/// An instance's `InstanceStatus`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum InstanceStatus {
    /// `Normal`: running, accepting changes.
    #[default]
    Normal,
    /// `Creating`.
    Creating,
    /// `Changing`: a change is being made.
    Changing,
    /// `Inactive`: stopped (an expired subscription).
    Inactive,
    /// `Flushing`.
    Flushing,
    /// `Released`.
    Released,
    /// `Transforming`: the billing method is changing.
    Transforming,
    /// `Unavailable`.
    Unavailable,
    /// `Error`: creation failed.
    Error,
    /// `Migrating`.
    Migrating,
    /// `BackupRecovering`.
    BackupRecovering,
    /// `MinorVersionUpgrading`.
    MinorVersionUpgrading,
    /// `MajorVersionUpgrading`.
    MajorVersionUpgrading,
    /// `NetworkModifying`.
    NetworkModifying,
    /// `SSLModifying`.
    SslModifying,
    /// A status kvsync does not know (or none reported: empty), as the cloud spelled it.
    Other(String),
}

/// Every known status with its wire text.
const STATUSES: [(InstanceStatus, &str); 15] = [
    (InstanceStatus::Normal, "Normal"),
    (InstanceStatus::Creating, "Creating"),
    (InstanceStatus::Changing, "Changing"),
    (InstanceStatus::Inactive, "Inactive"),
    (InstanceStatus::Flushing, "Flushing"),
    (InstanceStatus::Released, "Released"),
    (InstanceStatus::Transforming, "Transforming"),
    (InstanceStatus::Unavailable, "Unavailable"),
    (InstanceStatus::Error, "Error"),
    (InstanceStatus::Migrating, "Migrating"),
    (InstanceStatus::BackupRecovering, "BackupRecovering"),
    (
        InstanceStatus::MinorVersionUpgrading,
        "MinorVersionUpgrading",
    ),
    (
        InstanceStatus::MajorVersionUpgrading,
        "MajorVersionUpgrading",
    ),
    (InstanceStatus::NetworkModifying, "NetworkModifying"),
    (InstanceStatus::SslModifying, "SSLModifying"),
];

impl InstanceStatus {
    /// The wire text.
    pub fn as_str(&self) -> &str {
        if let InstanceStatus::Other(text) = self {
            return text;
        }
        STATUSES
            .iter()
            .find(|(status, _)| status == self)
            .map_or("", |(_, text)| text)
    }

    /// What the cloud reports; an unknown status is kept as `Other`.
    pub fn from_cloud(text: &str) -> Self {
        text.parse()
            .unwrap_or_else(|_| InstanceStatus::Other(text.to_owned()))
    }

    /// Whether no status was reported (the empty `Other`).
    pub fn is_unknown(&self) -> bool {
        matches!(self, InstanceStatus::Other(text) if text.is_empty())
    }
}

impl FromStr for InstanceStatus {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        STATUSES
            .iter()
            .find(|(_, wire)| *wire == text)
            .map(|(status, _)| status.clone())
            .ok_or_else(|| ValueError::InstanceStatus(text.to_owned()))
    }
}

cloud_serde!(InstanceStatus);

/// Billing: `ChargeType`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub enum ChargeType {
    /// `PrePaid`: a subscription.
    PrePaid,
    /// `PostPaid`: pay-as-you-go.
    #[default]
    PostPaid,
    /// A charge type kvsync does not know, as the cloud spelled it.
    Other(String),
}

impl ChargeType {
    /// The wire text.
    pub fn as_str(&self) -> &str {
        match self {
            ChargeType::PrePaid => "PrePaid",
            ChargeType::PostPaid => "PostPaid",
            ChargeType::Other(text) => text,
        }
    }

    /// What the cloud reports; an unknown type is kept as `Other`.
    pub fn from_cloud(text: &str) -> Self {
        text.parse()
            .unwrap_or_else(|_| ChargeType::Other(text.to_owned()))
    }
}

impl FromStr for ChargeType {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        match text {
            "PrePaid" => Ok(ChargeType::PrePaid),
            "PostPaid" => Ok(ChargeType::PostPaid),
            _ => Err(ValueError::ChargeType(text.to_owned())),
        }
    }
}

cloud_serde!(ChargeType);

/// A time of day in UTC to the minute, written `HH:mmZ` (`00:00Z` to `23:59Z`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourMinute(u16);

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

impl HourMinute {
    /// The time `hours:minutes`, if both are in range.
    pub fn new(hours: u16, minutes: u16) -> Option<Self> {
        (hours < 24 && minutes < 60).then_some(HourMinute(hours * 60 + minutes))
    }

    /// Minutes after midnight.
    pub fn minutes(self) -> u16 {
        self.0
    }

    /// Whether the time is on the hour.
    pub fn on_the_hour(self) -> bool {
        self.0.is_multiple_of(60)
    }

    /// The time `minutes` later, past midnight wrapping to the next day.
    pub fn plus_minutes(self, minutes: u16) -> Self {
        HourMinute((self.0 + minutes % DAY_MINUTES) % DAY_MINUTES)
    }
}

impl fmt::Display for HourMinute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}Z", self.0 / 60, self.0 % 60)
    }
}

impl FromStr for HourMinute {
    type Err = ValueError;

    /// Exactly `HH:mmZ`: two digits each, nothing around them.
    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::Time(text.to_owned());
        let rest = text.strip_suffix('Z').ok_or_else(bad)?;
        let (hours, minutes) = rest.split_once(':').ok_or_else(bad)?;
        let two_digits = |part: &str| part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit());
        if !two_digits(hours) || !two_digits(minutes) {
            return Err(bad());
        }
        let hours: u16 = hours.parse().map_err(|_| bad())?;
        let minutes: u16 = minutes.parse().map_err(|_| bad())?;
        HourMinute::new(hours, minutes).ok_or_else(bad)
    }
}

text_serde!(HourMinute);

/// A window of the day, `HH:mmZ-HH:mmZ` (it may wrap past midnight): the maintenance window
/// and the backup time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourWindow {
    /// The start.
    pub start: HourMinute,
    /// The end.
    pub end: HourMinute,
}

impl HourWindow {
    /// How long the window is, in minutes (0 to 1439; an end before the start wraps past
    /// midnight).
    pub fn length_minutes(self) -> u16 {
        (self.end.0 + DAY_MINUTES - self.start.0) % DAY_MINUTES
    }

    /// Whether `at` falls inside the window: from its start (included) to its end (excluded),
    /// every day, in UTC.
    pub fn contains(self, at: jiff::Timestamp) -> bool {
        let since_start = (at.as_second() - i64::from(self.start.0) * 60).rem_euclid(DAY_SECONDS);
        since_start < i64::from(self.length_minutes()) * 60
    }

    /// The window's next start at or after `at`.
    pub fn next_start(self, at: jiff::Timestamp) -> jiff::Timestamp {
        let second = at.as_second();
        let midnight = second - second.rem_euclid(DAY_SECONDS);
        let mut start = midnight + i64::from(self.start.0) * 60;
        if start < second || (start == second && at.subsec_nanosecond() > 0) {
            start += DAY_SECONDS;
        }
        // Within jiff's range for any timestamp but the last day it can represent.
        jiff::Timestamp::from_second(start).unwrap_or(at)
    }
}

/// Seconds in a day.
const DAY_SECONDS: i64 = 24 * 60 * 60;

impl fmt::Display for HourWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

impl FromStr for HourWindow {
    type Err = ValueError;

    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::Window(text.to_owned());
        let (start, end) = text.split_once('-').ok_or_else(bad)?;
        Ok(HourWindow {
            start: start.parse().map_err(|_| bad())?,
            end: end.parse().map_err(|_| bad())?,
        })
    }
}

text_serde!(HourWindow);

/// An IPv4 address or CIDR block, as whitelists hold them: `10.0.1.15`, `10.0.1.0/24`.
/// Parsing reads each octet as decimal (a leading zero is dropped, never octal) and a `/32`
/// block is the address alone, so equal nets print equally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Ipv4Net {
    /// The address.
    pub address: std::net::Ipv4Addr,
    /// The prefix length, 0 to 32.
    pub prefix: u8,
}

impl fmt::Display for Ipv4Net {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix == 32 {
            write!(f, "{}", self.address)
        } else {
            write!(f, "{}/{}", self.address, self.prefix)
        }
    }
}

impl FromStr for Ipv4Net {
    type Err = ValueError;

    /// Surrounding whitespace is ignored; inside, only digits, dots and one `/`.
    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::Ipv4Net(text.to_owned());
        let trimmed = text.trim();
        let (address, prefix) = match trimmed.split_once('/') {
            Some((address, prefix)) => {
                let digits = !prefix.is_empty()
                    && prefix.len() <= 3
                    && prefix.bytes().all(|b| b.is_ascii_digit());
                let prefix: u8 = prefix
                    .parse()
                    .ok()
                    .filter(|p| digits && *p <= 32)
                    .ok_or_else(bad)?;
                (address, prefix)
            }
            None => (trimmed, 32),
        };
        let octets: Vec<u8> = address
            .split('.')
            .map(|octet| {
                let digits = !octet.is_empty()
                    && octet.len() <= 3
                    && octet.bytes().all(|b| b.is_ascii_digit());
                digits.then(|| octet.parse::<u8>().ok()).flatten()
            })
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        let [a, b, c, d] = octets[..] else {
            return Err(bad());
        };
        Ok(Ipv4Net {
            address: std::net::Ipv4Addr::new(a, b, c, d),
            prefix,
        })
    }
}

text_serde!(Ipv4Net);

/// An engine version, `MAJOR.MINOR` such as `5.0`, `6.0`, `7.0`; ordered by number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EngineVersion {
    /// The major version.
    pub major: u16,
    /// The minor version.
    pub minor: u16,
}

impl EngineVersion {
    /// `major.minor`.
    pub const fn new(major: u16, minor: u16) -> Self {
        EngineVersion { major, minor }
    }
}

impl fmt::Display for EngineVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl FromStr for EngineVersion {
    type Err = ValueError;

    /// Exactly `MAJOR.MINOR`: digits without a leading zero (but `0` itself), nothing around.
    fn from_str(text: &str) -> Result<Self, ValueError> {
        let bad = || ValueError::EngineVersion(text.to_owned());
        let (major, minor) = text.split_once('.').ok_or_else(bad)?;
        let number = |part: &str| {
            let digits = !part.is_empty()
                && part.len() <= 4
                && part.bytes().all(|b| b.is_ascii_digit())
                && (part == "0" || !part.starts_with('0'));
            digits.then(|| part.parse::<u16>().ok()).flatten()
        };
        Ok(EngineVersion {
            major: number(major).ok_or_else(bad)?,
            minor: number(minor).ok_or_else(bad)?,
        })
    }
}

text_serde!(EngineVersion);

/// A value as the cloud reported it: parsed when kvsync knows its form, else kept as the text,
/// so an observation never fails on it and the planner can name what it saw.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reported<T> {
    /// A value of the known form.
    Known(T),
    /// Text of another form (empty: nothing reported).
    Other(String),
}

impl<T> Reported<T> {
    /// The value, when it has the known form.
    pub fn known(&self) -> Option<&T> {
        match self {
            Reported::Known(value) => Some(value),
            Reported::Other(_) => None,
        }
    }
}

impl<T: FromStr> Reported<T> {
    /// What the cloud reports.
    pub fn from_cloud(text: &str) -> Self {
        text.parse()
            .map_or_else(|_| Reported::Other(text.to_owned()), Reported::Known)
    }
}

impl<T> Default for Reported<T> {
    fn default() -> Self {
        Reported::Other(String::new())
    }
}

impl<T: FromStr> From<&str> for Reported<T> {
    /// As [`from_cloud`](Self::from_cloud).
    fn from(text: &str) -> Self {
        Self::from_cloud(text)
    }
}

impl<T: fmt::Display> fmt::Display for Reported<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reported::Known(value) => value.fmt(f),
            Reported::Other(text) => f.write_str(text),
        }
    }
}

impl<T: fmt::Display> Serialize for Reported<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de, T: FromStr> Deserialize<'de> for Reported<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Self::from_cloud(&String::deserialize(deserializer)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn network_types_parse_in_any_case_and_keep_unknown_cloud_text() {
        assert_eq!("VPC".parse(), Ok(NetworkType::Vpc));
        assert_eq!("vpc".parse(), Ok(NetworkType::Vpc));
        assert_eq!("Classic".parse(), Ok(NetworkType::Classic));
        for hostile in ["", " VPC", "VPC ", "V\u{200b}PC", "VPC\n"] {
            assert!(hostile.parse::<NetworkType>().is_err(), "{hostile:?}");
        }
        assert_eq!(
            NetworkType::from_cloud("HYBRID"),
            NetworkType::Other("HYBRID".into())
        );
        assert_eq!(NetworkType::Vpc.to_string(), "VPC");
        assert_eq!(
            serde_json::to_string(&NetworkType::Classic).unwrap(),
            "\"CLASSIC\""
        );
        let back: NetworkType = serde_json::from_str("\"SOMETHING\"").unwrap();
        assert_eq!(back.as_str(), "SOMETHING");
    }

    #[test]
    fn statuses_round_trip_and_unknown_ones_are_kept() {
        for (status, text) in STATUSES.iter() {
            assert_eq!(status.as_str(), *text);
            assert_eq!(text.parse::<InstanceStatus>().as_ref(), Ok(status));
            assert_eq!(InstanceStatus::from_cloud(text), *status);
        }
        for hostile in ["", "normal", " Normal", "Normal "] {
            assert!(hostile.parse::<InstanceStatus>().is_err(), "{hostile:?}");
        }
        assert_eq!(
            InstanceStatus::from_cloud("Hibernating").as_str(),
            "Hibernating"
        );
        assert!(InstanceStatus::from_cloud("").is_unknown());
        assert!(!InstanceStatus::Normal.is_unknown());
        assert_eq!(
            serde_json::to_string(&InstanceStatus::SslModifying).unwrap(),
            "\"SSLModifying\""
        );
    }

    #[test]
    fn charge_types_are_exact() {
        assert_eq!("PrePaid".parse(), Ok(ChargeType::PrePaid));
        assert_eq!("PostPaid".parse(), Ok(ChargeType::PostPaid));
        for hostile in ["", "prepaid", "PrePaid ", "Prepaid"] {
            assert!(hostile.parse::<ChargeType>().is_err(), "{hostile:?}");
        }
        assert_eq!(
            ChargeType::from_cloud("Spot"),
            ChargeType::Other("Spot".into())
        );
    }

    #[test]
    fn times_are_exactly_hh_mm_z() {
        let time: HourMinute = "02:30Z".parse().unwrap();
        assert_eq!(time.minutes(), 150);
        assert_eq!(time.to_string(), "02:30Z");
        assert!(!time.on_the_hour());
        assert_eq!("23:59Z".parse::<HourMinute>().unwrap().minutes(), 1439);
        for hostile in [
            "", " ", "24:00Z", "23:60Z", "2:00Z", "02:0Z", "02:00", "02:00z", " 02:00Z", "02:00Z ",
            "+1:00Z", "-1:00Z", "02:00ZZ", "0２:00Z", "002:00Z", "99:99Z",
        ] {
            assert_eq!(
                hostile.parse::<HourMinute>(),
                Err(ValueError::Time(hostile.into())),
                "{hostile:?}"
            );
        }
        assert_eq!(HourMinute::new(24, 0), None);
        assert_eq!(
            HourMinute::new(23, 30).map(|t| t.plus_minutes(60).to_string()),
            Some("00:30Z".to_owned())
        );
    }

    #[test]
    fn windows_parse_print_and_measure() {
        let window: HourWindow = "02:00Z-03:00Z".parse().unwrap();
        assert_eq!(window.to_string(), "02:00Z-03:00Z");
        assert_eq!(window.length_minutes(), 60);
        let wrapping: HourWindow = "23:00Z-00:00Z".parse().unwrap();
        assert_eq!(wrapping.length_minutes(), 60);
        for hostile in [
            "",
            "-",
            "02:00Z",
            "02:00Z-",
            "-03:00Z",
            "02:00Z - 03:00Z",
            "02:00Z-24:00Z",
            "02:00Z-03:00Z-04:00Z",
        ] {
            assert_eq!(
                hostile.parse::<HourWindow>(),
                Err(ValueError::Window(hostile.into())),
                "{hostile:?}"
            );
        }
        assert_eq!(serde_json::to_string(&window).unwrap(), "\"02:00Z-03:00Z\"");
        let back: HourWindow = serde_json::from_str("\"02:00Z-03:00Z\"").unwrap();
        assert_eq!(back, window);
        assert!(serde_json::from_str::<HourWindow>("\"25:00Z-03:00Z\"").is_err());
    }

    #[test]
    fn nets_normalise_and_refuse_what_is_not_ipv4() {
        let shown = |text: &str| text.parse::<Ipv4Net>().map(|net| net.to_string());
        assert_eq!(shown("10.0.1.15"), Ok("10.0.1.15".into()));
        assert_eq!(shown("10.0.1.0/24"), Ok("10.0.1.0/24".into()));
        assert_eq!(shown("10.0.1.15/32"), Ok("10.0.1.15".into()));
        assert_eq!(shown("0.0.0.0/0"), Ok("0.0.0.0/0".into()));
        assert_eq!(shown(" 10.0.0.1 "), Ok("10.0.0.1".into()));
        // Leading zeros are decimal, never octal.
        assert_eq!(shown("010.000.001.015"), Ok("10.0.1.15".into()));
        assert_eq!(shown("10.0.0.0/08"), Ok("10.0.0.0/8".into()));
        for hostile in [
            "",
            " ",
            "1.2.3.4/33",
            "1.2.3.4/0032",
            "1.2.3.4/",
            "1.2.3.4/+8",
            "1.2.3.4/-1",
            "1.2.3",
            "1.2.3.4.5",
            "256.1.1.1",
            "1.2.3.0004",
            "1..3.4",
            "+1.2.3.4",
            "1.2.3.4 /24",
            "::1",
            "a.b.c.d",
            "1.2.3.4/24/8",
            "１.2.3.4",
        ] {
            assert_eq!(
                hostile.parse::<Ipv4Net>(),
                Err(ValueError::Ipv4Net(hostile.into())),
                "{hostile:?}"
            );
        }
        let net: Ipv4Net = "192.168.0.0/16".parse().unwrap();
        assert_eq!(serde_json::to_string(&net).unwrap(), "\"192.168.0.0/16\"");
    }

    #[test]
    fn engine_versions_are_numbers_in_order() {
        let v5: EngineVersion = "5.0".parse().unwrap();
        let v7: EngineVersion = "7.0".parse().unwrap();
        assert!(v5 < v7);
        assert!("4.0".parse::<EngineVersion>().unwrap() < v5);
        assert!("10.0".parse::<EngineVersion>().unwrap() > v7);
        assert_eq!(v5, EngineVersion::new(5, 0));
        assert_eq!(v5.to_string(), "5.0");
        for hostile in [
            "", " ", "5", "5.", ".0", "5.0.1", "05.0", "5.00", " 5.0", "5.0 ", "v5.0", "-5.0",
            "+5.0", "5,0", "99999.0",
        ] {
            assert_eq!(
                hostile.parse::<EngineVersion>(),
                Err(ValueError::EngineVersion(hostile.into())),
                "{hostile:?}"
            );
        }
        assert_eq!(serde_json::to_string(&v7).unwrap(), "\"7.0\"");
    }

    #[test]
    fn reported_values_keep_text_of_another_form() {
        let known: Reported<EngineVersion> = "5.0".into();
        assert_eq!(known.known(), Some(&EngineVersion::new(5, 0)));
        let other: Reported<EngineVersion> = "5.0-beta".into();
        assert_eq!(other.known(), None);
        assert_eq!(other.to_string(), "5.0-beta");
        assert_eq!(Reported::<HourWindow>::default().to_string(), "");
        assert_eq!(serde_json::to_string(&known).unwrap(), "\"5.0\"");
        let back: Reported<EngineVersion> = serde_json::from_str("\"x\"").unwrap();
        assert_eq!(back, Reported::Other("x".into()));
    }
}

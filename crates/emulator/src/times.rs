//! The UTC time formats of request parameters and answers (`2019-03-11T10:00Z`,
//! `2018-10-18T12:00:00Z`): strict parsing and formatting.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::errors::VendorError;

/// Parses `yyyy-MM-ddTHH:mmZ` or `yyyy-MM-ddTHH:mm:ssZ` (UTC); anything else is `None`.
pub(crate) fn parse_utc(text: &str) -> Option<Timestamp> {
    let format = match text.len() {
        17 if shape_matches(text, "dddd-dd-ddTdd:ddZ") => "%Y-%m-%dT%H:%MZ",
        20 if shape_matches(text, "dddd-dd-ddTdd:dd:ddZ") => "%Y-%m-%dT%H:%M:%SZ",
        _ => return None,
    };
    let civil = DateTime::strptime(format, text).ok()?;
    civil
        .to_zoned_datetime(TimeZone::UTC)
        .ok()
        .map(|zoned| zoned.timestamp())
}

/// The `StartTime` and `EndTime` of a query, the end after the start, or the vendor's error.
pub(crate) fn query_range(start: &str, end: &str) -> Result<(Timestamp, Timestamp), VendorError> {
    let start = parse_utc(start).ok_or_else(VendorError::start_time_malformed)?;
    let end = parse_utc(end).ok_or_else(VendorError::end_time_malformed)?;
    if end <= start {
        return Err(VendorError::end_time_before_start());
    }
    Ok((start, end))
}

/// Whether `text` has `shape`, where `d` stands for an ASCII digit and every other character
/// for itself.
fn shape_matches(text: &str, shape: &str) -> bool {
    text.len() == shape.len()
        && text.bytes().zip(shape.bytes()).all(|(t, s)| match s {
            b'd' => t.is_ascii_digit(),
            other => t == other,
        })
}

/// `yyyy-MM-ddTHH:mm:ssZ`.
pub(crate) fn to_seconds(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// `yyyy-MM-ddTHH:mmZ`.
pub(crate) fn to_minutes(at: Timestamp) -> String {
    at.strftime("%Y-%m-%dT%H:%MZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minute_and_second_precision_parse_as_utc() {
        let minute = parse_utc("2019-03-11T10:00Z").unwrap();
        assert_eq!(minute.as_second(), 1_552_298_400);
        let second = parse_utc("2019-03-11T10:00:05Z").unwrap();
        assert_eq!(second.as_second(), 1_552_298_405);
    }

    #[test]
    fn other_shapes_and_impossible_dates_are_refused() {
        for text in [
            "",
            "2019-03-11",
            "2019-03-11T10:00",
            "2019-03-11T10:00+08:00",
            "2019-03-11 10:00Z",
            "2019-3-11T10:00Z",
            "2019-03-11T10:00:00.5Z",
            "2019-13-11T10:00Z",
            "2019-02-30T10:00Z",
            "2019-03-11T24:00Z",
            "yesterday",
        ] {
            assert_eq!(parse_utc(text), None, "{text}");
        }
    }

    #[test]
    fn query_ranges_end_after_they_start() {
        let codes = |start: &str, end: &str| query_range(start, end).map_err(|err| err.code);
        assert!(codes("2019-03-11T10:00Z", "2019-03-11T10:01Z").is_ok());
        assert_eq!(
            codes("2019-03-11T10:00Z", "2019-03-11T10:00:00Z"),
            Err("InvalidEndTime.Format")
        );
        assert_eq!(
            codes("2019-03-11", "2019-03-11T10:00Z"),
            Err("InvalidStartTime.Malformed")
        );
        assert_eq!(
            codes("2019-03-11T10:00Z", "later"),
            Err("InvalidEndTime.Malformed")
        );
    }

    #[test]
    fn formats_round_trip() {
        let at = parse_utc("2024-02-29T23:59:58Z").unwrap();
        assert_eq!(to_seconds(at), "2024-02-29T23:59:58Z");
        assert_eq!(to_minutes(at), "2024-02-29T23:59Z");
    }
}

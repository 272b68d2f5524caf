//! What the daemon's own process uses, read from Linux's `/proc/self` for `/metrics`: resident
//! memory, CPU time, open and allowed file descriptors, and the start time. The edge where the
//! metrics' process figures come from; elsewhere (or when `/proc` is unreadable) there are none.

/// The process figures at one moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// Resident set size, in bytes.
    pub resident_bytes: u64,
    /// User and system CPU time, in seconds.
    pub cpu_seconds: f64,
    /// Open file descriptors.
    pub open_fds: u64,
    /// The soft limit on open file descriptors.
    pub max_fds: Option<u64>,
    /// When the process started, in seconds since the Unix epoch.
    pub start_time_seconds: Option<f64>,
}

/// The figures now, or `None` where `/proc/self` cannot be read.
pub fn read() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let boot = std::fs::read_to_string("/proc/stat").ok();
    let open_fds = std::fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    let page = rustix::param::page_size() as u64;
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    parse(&stat, &statm, boot.as_deref(), ticks, page).map(|(resident, cpu, start)| ProcessStats {
        resident_bytes: resident,
        cpu_seconds: cpu,
        open_fds,
        max_fds: limit,
        start_time_seconds: start,
    })
}

/// Resident bytes, CPU seconds and the start time from the texts of `/proc/self/stat`,
/// `/proc/self/statm` and `/proc/stat`.
fn parse(
    stat: &str,
    statm: &str,
    boot: Option<&str>,
    ticks: f64,
    page: u64,
) -> Option<(u64, f64, Option<f64>)> {
    // The command name (field 2) is in parentheses and may hold spaces: count from after it.
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Fields 14 (utime), 15 (stime) and 22 (starttime) of the whole line; field 3 is fields[0].
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let started: Option<f64> = fields.get(19).and_then(|f| f.parse().ok());
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let booted: Option<f64> = boot.and_then(|text| {
        text.lines()
            .find_map(|line| line.strip_prefix("btime "))
            .and_then(|value| value.trim().parse().ok())
    });
    let start = match (booted, started) {
        (Some(booted), Some(started)) if ticks > 0.0 => Some(booted + started / ticks),
        _ => None,
    };
    Some((resident_pages * page, (utime + stime) / ticks, start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_stat_line_whose_name_has_spaces_and_parentheses() {
        let stat = "4242 (kvsync (x) y) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 8 0 12345 100000 2000 ...";
        let statm = "30000 2000 500 100 0 900 0";
        let boot = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let (resident, cpu, start) = parse(stat, statm, Some(boot), 100.0, 4096).unwrap();
        assert_eq!(resident, 2000 * 4096);
        assert!((cpu - 3.0).abs() < 1e-9, "{cpu}");
        assert_eq!(start, Some(1_700_000_000.0 + 123.45));
        assert!(parse("garbage", statm, None, 100.0, 4096).is_none());
    }

    #[test]
    fn this_process_can_be_read() {
        let stats = read().expect("/proc/self is readable on Linux");
        assert!(stats.resident_bytes > 1024 * 1024);
        assert!(stats.open_fds >= 3);
    }
}

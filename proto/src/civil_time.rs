//! UTC calendar dates from Unix time, for W3C log lines and zip entry
//! times, without a date-time dependency.

/// (year, month, day, hour, minute, second) in UTC.
pub fn utc(unix_seconds: u64) -> (i64, u32, u32, u32, u32, u32) {
    let (days, rem) = ((unix_seconds / 86_400) as i64, unix_seconds % 86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, (rem / 3600) as u32, (rem % 3600 / 60) as u32, (rem % 60) as u32)
}

#[cfg(test)]
mod tests {
    #[test]
    fn known_dates() {
        assert_eq!(super::utc(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(super::utc(1_795_467_600), (2026, 11, 23, 21, 0, 0));
        assert_eq!(super::utc(951_782_400), (2000, 2, 29, 0, 0, 0));
    }
}

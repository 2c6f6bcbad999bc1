//! Flask Chat's timestamps → UTC.
//!
//! Flask Chat v2.x stored *naive local time at UTC+3*: SQLite's default
//! `datetime('now', '+3 hours')` (`2024-10-19 21:30:00`) and Python's
//! `datetime` values (`2024-10-19 21:30:00.123456`), on Postgres a
//! `TIMESTAMP` column (seed `flask-chat-v2.1-system-documentation.md`,
//! § "database.py", `TURKEY_TZ = timezone(timedelta(hours=3))`). A naive
//! time is therefore read as UTC+3 and 3 hours are taken off. A value that
//! carries its own offset (`…+03:00`, `…Z`, Postgres `TIMESTAMPTZ` text
//! `…+00`) is an instant and only converted; a bare integer is Unix seconds.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeDelta, TimeZone, Utc};

/// The Flask app's fixed offset: UTC+3 (Türkiye, no daylight saving).
pub const FLASK_OFFSET_HOURS: i32 = 3;

/// Parses one stored Flask timestamp (as text) into UTC, truncated to
/// microseconds; `None` when it is not a time in one of the forms above.
pub fn flask_time(raw: &str) -> Option<DateTime<Utc>> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    if s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse::<i64>()
            .ok()
            .and_then(|secs| Utc.timestamp_opt(secs, 0).single());
    }
    // One shape for the rest: a space between date and time, `Z` as +00:00.
    let mut s = s.to_owned();
    if s.len() > 10 && s.as_bytes()[10] == b'T' {
        s.replace_range(10..11, " ");
    }
    if let Some(stripped) = s.strip_suffix('Z').or_else(|| s.strip_suffix('z')) {
        s = format!("{stripped}+00:00");
    }
    let t = if let Ok(t) = DateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f%#z") {
        t.with_timezone(&Utc)
    } else {
        let naive = NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(&s, "%Y-%m-%d %H:%M"))
            .ok()?;
        let offset = FixedOffset::east_opt(FLASK_OFFSET_HOURS * 3600)?;
        offset
            .from_local_datetime(&naive)
            .single()?
            .with_timezone(&Utc)
    };
    use chrono::DurationRound;
    Some(t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn naive_times_are_utc_plus_three() {
        assert_eq!(
            flask_time("2024-10-19 21:30:00"),
            Some(utc("2024-10-19T18:30:00Z"))
        );
        // Across midnight and a month end: 01:15 on 1 November local is
        // 22:15 on 31 October UTC.
        assert_eq!(
            flask_time("2024-11-01 01:15:00"),
            Some(utc("2024-10-31T22:15:00Z"))
        );
        assert_eq!(
            flask_time("2024-10-19T21:30:00.123456"),
            Some(utc("2024-10-19T18:30:00.123456Z"))
        );
        assert_eq!(
            flask_time("2024-10-19 21:30"),
            Some(utc("2024-10-19T18:30:00Z"))
        );
    }

    #[test]
    fn explicit_offsets_are_instants() {
        for (raw, want) in [
            ("2024-10-19T21:30:00+03:00", "2024-10-19T18:30:00Z"),
            ("2024-10-19 18:30:00+00", "2024-10-19T18:30:00Z"),
            ("2024-10-19T18:30:00Z", "2024-10-19T18:30:00Z"),
            ("2024-10-19 18:30:00.5+00:00", "2024-10-19T18:30:00.5Z"),
        ] {
            assert_eq!(flask_time(raw), Some(utc(want)), "{raw}");
        }
        assert_eq!(flask_time("1729362600"), Some(utc("2024-10-19T18:30:00Z")));
    }

    #[test]
    fn junk_is_none() {
        for raw in ["", "  ", "yesterday", "2024-13-01 00:00:00", "2024-10-19"] {
            assert_eq!(flask_time(raw), None, "{raw}");
        }
    }
}

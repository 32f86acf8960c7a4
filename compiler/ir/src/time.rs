//! Time for the compiler and the runtime alike (one implementation, so a timestamp folded at
//! compile time and one decoded at run time always agree). RFC 3339 timestamps ⇄ Unix
//! milliseconds, written here (no date crate): the parser accepts
//! every RFC 3339 date-time (`T`/`t`/space separator, any number of fraction digits, `Z` or a
//! numeric offset); the formatter always writes UTC with milliseconds,
//! `2025-12-03T14:00:05.000Z`.

const MS_PER_DAY: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Reads exactly `n` ASCII digits at `*pos`.
fn digits(bytes: &[u8], pos: &mut usize, n: usize) -> Option<i64> {
    let slice = bytes.get(*pos..*pos + n)?;
    let mut value = 0i64;
    for b in slice {
        if !b.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(b - b'0');
    }
    *pos += n;
    Some(value)
}

fn expect_byte(bytes: &[u8], pos: &mut usize, accepted: &[u8]) -> Option<u8> {
    let b = *bytes.get(*pos)?;
    if accepted.contains(&b) {
        *pos += 1;
        Some(b)
    } else {
        None
    }
}

/// Parses an RFC 3339 date-time into Unix milliseconds (fractions below a millisecond are
/// truncated). `None` when the text is not one.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let bytes = text.as_bytes();
    let mut pos = 0;
    let year = digits(bytes, &mut pos, 4)?;
    expect_byte(bytes, &mut pos, b"-")?;
    let month = digits(bytes, &mut pos, 2)?;
    expect_byte(bytes, &mut pos, b"-")?;
    let day = digits(bytes, &mut pos, 2)?;
    expect_byte(bytes, &mut pos, b"Tt ")?;
    let hour = digits(bytes, &mut pos, 2)?;
    expect_byte(bytes, &mut pos, b":")?;
    let minute = digits(bytes, &mut pos, 2)?;
    expect_byte(bytes, &mut pos, b":")?;
    let second = digits(bytes, &mut pos, 2)?;
    if !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut millis = 0i64;
    if expect_byte(bytes, &mut pos, b".").is_some() {
        let start = pos;
        while bytes.get(pos).is_some_and(u8::is_ascii_digit) {
            if pos - start < 3 {
                millis = millis * 10 + i64::from(bytes[pos] - b'0');
            }
            pos += 1;
        }
        let count = pos - start;
        if count == 0 {
            return None;
        }
        for _ in count..3 {
            millis *= 10;
        }
    }
    let offset_minutes = match expect_byte(bytes, &mut pos, b"Zz+-")? {
        b'Z' | b'z' => 0,
        sign => {
            let oh = digits(bytes, &mut pos, 2)?;
            expect_byte(bytes, &mut pos, b":")?;
            let om = digits(bytes, &mut pos, 2)?;
            if oh > 23 || om > 59 {
                return None;
            }
            let total = oh * 60 + om;
            if sign == b'-' { -total } else { total }
        }
    };
    if pos != bytes.len() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    // A leap second (`:60`) is read as the first millisecond of the next minute.
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
    Some(seconds * 1000 + millis)
}

/// Formats Unix milliseconds as `YYYY-MM-DDTHH:MM:SS.mmmZ` (UTC).
pub fn format_rfc3339(ms: i64) -> String {
    let days = ms.div_euclid(MS_PER_DAY);
    let in_day = ms.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    let hour = in_day / 3_600_000;
    let minute = in_day / 60_000 % 60;
    let second = in_day / 1000 % 60;
    let millis = in_day % 1000;
    if (0..=9999).contains(&year) {
        // Written digit by digit: every output record has a time or two, and `format!` of
        // seven fields costs several times this.
        let mut text = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut value: i64| {
            for i in (at..at + width).rev() {
                text[i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, month);
        put(8, 2, day);
        put(11, 2, hour);
        put(14, 2, minute);
        put(17, 2, second);
        put(20, 3, millis);
        std::str::from_utf8(&text)
            .map(str::to_owned)
            .unwrap_or_default()
    } else {
        format!("{year:+05}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}.{millis:03}Z")
    }
}

/// The hour of the day (0..23, UTC).
pub fn hour_of_day(ms: i64) -> i64 {
    ms.rem_euclid(MS_PER_DAY) / 3_600_000
}

/// A duration in the language's quantity syntax: `500ms`, `30s`, `14min`, `2h`, `1d`, or a
/// sum of them (`1h30min`). `None` when not one.
pub fn parse_duration(text: &str) -> Option<i64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total: i64 = 0;
    while !rest.is_empty() {
        let digits_end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits_end == 0 {
            return None;
        }
        let number: i64 = rest.get(..digits_end)?.parse().ok()?;
        rest = rest.get(digits_end..)?;
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = rest.get(..unit_end)?;
        rest = rest.get(unit_end..)?;
        let factor = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => MS_PER_DAY,
            _ => return None,
        };
        total = total.checked_add(number.checked_mul(factor)?)?;
    }
    Some(total)
}

/// Formats milliseconds the way a person reads a duration: `0s`, `250ms`, `30s`, `14min`,
/// `2h`, `1h30min` (not always a single policy literal; see [`format_duration`]).
pub fn format_duration_readable(ms: i64) -> String {
    if ms == 0 {
        return "0s".to_string();
    }
    let sign = if ms < 0 { "-" } else { "" };
    let mut rest = ms.unsigned_abs();
    let mut out = String::from(sign);
    for (unit, size) in [
        ("d", 86_400_000u64),
        ("h", 3_600_000),
        ("min", 60_000),
        ("s", 1000),
        ("ms", 1),
    ] {
        if rest >= size {
            out.push_str(&format!("{}{unit}", rest / size));
            rest %= size;
        }
    }
    out
}

/// A duration in milliseconds the way a policy writes it: `30min`, `1h`, `1500ms`.
pub fn format_duration(ms: i64) -> String {
    const UNITS: [(i64, &str); 5] = [
        (86_400_000, "d"),
        (3_600_000, "h"),
        (60_000, "min"),
        (1000, "s"),
        (1, "ms"),
    ];
    if ms == 0 {
        return "0s".to_owned();
    }
    for (size, unit) in UNITS {
        if ms % size == 0 {
            return format!("{}{unit}", ms / size);
        }
    }
    format!("{ms}ms")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_format_macro() {
        let reference = |ms: i64| {
            let days = ms.div_euclid(MS_PER_DAY);
            let in_day = ms.rem_euclid(MS_PER_DAY);
            let (year, month, day) = civil_from_days(days);
            format!(
                "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
                in_day / 3_600_000,
                in_day / 60_000 % 60,
                in_day / 1000 % 60,
                in_day % 1000
            )
        };
        let mut ms: i64 = -62_167_219_200_000; // 0000-01-01
        while ms <= 253_402_300_799_999 {
            assert_eq!(format_rfc3339(ms), reference(ms));
            ms += 1_234_567_890_123 / 7 + 1;
        }
        for ms in [0, -1, 999, 1_764_770_405_123, 253_402_300_799_999] {
            assert_eq!(format_rfc3339(ms), reference(ms));
        }
    }

    #[test]
    fn parses_and_formats_round_trip() {
        let ms = parse_rfc3339("2025-12-03T14:00:05Z").unwrap();
        assert_eq!(ms, 1_764_770_405_000);
        assert_eq!(format_rfc3339(ms), "2025-12-03T14:00:05.000Z");
        assert_eq!(
            parse_rfc3339("2025-12-03T14:00:00.476Z"),
            Some(1_764_770_400_476)
        );
        assert_eq!(
            parse_rfc3339("2025-01-01T00:00:00Z"),
            Some(1_735_689_600_000)
        );
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn offsets_and_fractions() {
        assert_eq!(
            parse_rfc3339("2025-12-03T19:30:05.1234+05:30"),
            parse_rfc3339("2025-12-03T14:00:05.123Z")
        );
        assert_eq!(
            parse_rfc3339("2024-02-29t00:00:00z"),
            Some(1_709_164_800_000)
        );
    }

    #[test]
    fn refuses_bad_timestamps() {
        for bad in [
            "",
            "2025-13-01T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2025-01-01T24:00:00Z",
            "2025-01-01T00:00:00",
            "2025-01-01T00:00:00.Z",
            "2025-01-01T00:00:00Zx",
            "2025-1-01T00:00:00Z",
            "２025-01-01T00:00:00Z",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("14min"), Some(840_000));
        assert_eq!(parse_duration("1h30min"), Some(5_400_000));
        assert_eq!(parse_duration("500ms"), Some(500));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(format_duration_readable(840_000), "14min");
        assert_eq!(format_duration_readable(5_400_500), "1h30min500ms");
        assert_eq!(format_duration(1_800_000), "30min");
        assert_eq!(format_duration(1500), "1500ms");
        assert_eq!(format_duration(0), "0s");
    }
}

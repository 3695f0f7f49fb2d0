//! Timestamps: RFC 3339, `YYYY-MM-DD HH:MM:SS` (UTC, or with an offset or a
//! ` UTC` suffix as BigQuery writes it), `YYYYMMDD` or Unix
//! epoch seconds / milliseconds / microseconds / nanoseconds, to Unix seconds.

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &[u8]) -> Option<u32> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    s.iter().try_fold(0u32, |a, &b| {
        a.checked_mul(10)?.checked_add((b - b'0') as u32)
    })
}

/// Parses `YYYY-MM-DD`, `YYYY-MM-DD HH:MM[:SS]`, RFC 3339
/// (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) or a number (see
/// [`parse_digits`]) to Unix seconds.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let b = s.trim().as_bytes();
    if b.first().is_some_and(u8::is_ascii_digit)
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'.')
    {
        return parse_digits(b);
    }
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) = (num(&b[0..4])?, num(&b[5..7])?, num(&b[8..10])?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
        return None;
    }
    let mut secs = days_from_civil(y as i64, mo, d) * 86_400;
    if b.len() == 10 {
        return Some(secs);
    }
    if b[10] != b' ' && b[10] != b'T' && b[10] != b't' {
        return None;
    }
    let rest = &b[11..];
    if rest.len() < 5 || rest[2] != b':' {
        return None;
    }
    let (h, mi) = (num(&rest[0..2])?, num(&rest[3..5])?);
    let mut at = 5;
    let mut sec = 0;
    if rest.len() >= 8 && rest[5] == b':' {
        sec = num(&rest[6..8])?;
        at = 8;
        if rest.len() > at && rest[at] == b'.' {
            at += 1;
            while at < rest.len() && rest[at].is_ascii_digit() {
                at += 1;
            }
        }
    }
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    secs += (h * 3600 + mi * 60 + sec) as i64;
    let tz = rest[at..].strip_prefix(b" ").unwrap_or(&rest[at..]);
    match tz {
        [] | [b'Z'] | [b'z'] | b"UTC" | b"GMT" => Some(secs),
        [sign @ (b'+' | b'-'), h1, h2, b':', m1, m2] | [sign @ (b'+' | b'-'), h1, h2, m1, m2] => {
            let off = (num(&[*h1, *h2])? * 3600 + num(&[*m1, *m2])? * 60) as i64;
            Some(if *sign == b'+' {
                secs - off
            } else {
                secs + off
            })
        }
        _ => None,
    }
}

/// A timestamp written as digits, told apart by its integer length: 8 is
/// `YYYYMMDD`; 9–10 Unix seconds (a fraction allowed), 12–13 milliseconds,
/// 15–16 microseconds, 18–19 nanoseconds (1973 to 2286 in each unit).
fn parse_digits(b: &[u8]) -> Option<i64> {
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    if frac.is_some_and(|f| f.contains(&b'.')) {
        return None;
    }
    let n: i64 = std::str::from_utf8(int).ok()?.parse().ok()?;
    let div = match int.len() {
        8 if frac.is_none() => {
            let (y, mo, d) = (n / 10_000, (n / 100 % 100) as u32, (n % 100) as u32);
            return ((1..=12).contains(&mo) && (1..=31).contains(&d))
                .then(|| days_from_civil(y, mo, d) * 86_400);
        }
        9 | 10 => 1,
        12 | 13 if frac.is_none() => 1_000,
        15 | 16 if frac.is_none() => 1_000_000,
        18 | 19 if frac.is_none() => 1_000_000_000,
        _ => return None,
    };
    Some(n / div)
}

/// Formats Unix seconds as `YYYY-MM-DD HH:MM:SS` (UTC).
pub fn format_timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_layouts_and_offsets() {
        assert_eq!(parse_timestamp("1970-01-01"), Some(0));
        assert_eq!(parse_timestamp("2011-11-01 00:00:00"), Some(1_320_105_600));
        assert_eq!(parse_timestamp("2011-11-01T00:00:00Z"), Some(1_320_105_600));
        assert_eq!(
            parse_timestamp("2011-11-01T01:00:00.123+01:00"),
            Some(1_320_105_600)
        );
        assert_eq!(
            parse_timestamp("2011-10-31T19:00:00-05:00"),
            Some(1_320_105_600)
        );
        assert_eq!(parse_timestamp("2010-12-01 08:26"), Some(1_291_191_960));
        for bad in [
            "",
            "2011-13-01",
            "2011/11/01",
            "2011-11-01X",
            "2011-11-01 25:00:00",
            "abc",
            "20111301",
            "12345",
            "1320105600.5.1",
            "1320105600000.5",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
        assert_eq!(format_timestamp(1_320_105_600), "2011-11-01 00:00:00");
        assert_eq!(parse_timestamp("20111101"), Some(1_320_105_600));
        // BigQuery's and other exports' zone suffixes.
        for zoned in [
            "2011-11-01 00:00:00 UTC",
            "2011-11-01 00:00:00+00:00",
            "2011-11-01 01:00:00 +0100",
            "2011-11-01T00:00:00.000000Z",
        ] {
            assert_eq!(parse_timestamp(zoned), Some(1_320_105_600), "{zoned}");
        }
        for epoch in [
            "1320105600",
            " 1320105600.25",
            "1320105600999",
            "1320105600000000",
            "1320105600000000000",
        ] {
            assert_eq!(parse_timestamp(epoch), Some(1_320_105_600), "{epoch}");
        }
    }
}

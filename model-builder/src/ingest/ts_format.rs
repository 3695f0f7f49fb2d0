//! A mapping's own timestamp layout (`ts_format = "%m/%d/%Y %H:%M"`), for
//! exports the built-in layouts do not read: a subset of `strftime`.
//!
//! `%Y` four-digit year, `%y` two-digit year (69–99 → 19xx, else 20xx), `%m`
//! month, `%d` day, `%H` hour (0–23), `%I` hour (1–12) with `%p` AM/PM, `%M`
//! minute, `%S` second, `%f` fraction digits (ignored), `%b` month name
//! (`Jan`, `January`), `%z` offset (`Z`, `+HHMM`, `+HH:MM`), `%%` a percent
//! sign. Numbers may omit leading zeros (`12/1/2010 8:26`); a space matches
//! one or more spaces; any other character matches itself. Read as UTC
//! unless `%z` says otherwise.
use super::time::days_from_civil;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Part {
    Lit(u8),
    Space,
    Year4,
    Year2,
    Month,
    Day,
    Hour,
    Hour12,
    AmPm,
    Minute,
    Second,
    Frac,
    MonthName,
    Zone,
}

/// A compiled timestamp layout.
#[derive(Debug, Clone, PartialEq)]
pub struct TsFormat {
    parts: Vec<Part>,
    text: String,
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// The fields read so far.
#[derive(Default)]
struct Fields {
    year: Option<i64>,
    month: Option<u32>,
    day: Option<u32>,
    hour: u32,
    hour12: Option<u32>,
    pm: Option<bool>,
    minute: u32,
    second: u32,
    offset: i64,
}

impl TsFormat {
    /// Compiles `text`; the error names the directive it does not know.
    pub fn compile(text: &str) -> Result<TsFormat, String> {
        let mut parts = Vec::new();
        let mut bytes = text.bytes();
        while let Some(b) = bytes.next() {
            parts.push(match b {
                b'%' => match bytes.next() {
                    Some(b'Y') => Part::Year4,
                    Some(b'y') => Part::Year2,
                    Some(b'm') => Part::Month,
                    Some(b'd') => Part::Day,
                    Some(b'H') => Part::Hour,
                    Some(b'I') => Part::Hour12,
                    Some(b'p') => Part::AmPm,
                    Some(b'M') => Part::Minute,
                    Some(b'S') => Part::Second,
                    Some(b'f') => Part::Frac,
                    Some(b'b') | Some(b'B') => Part::MonthName,
                    Some(b'z') => Part::Zone,
                    Some(b'%') => Part::Lit(b'%'),
                    Some(c) => return Err(format!("unknown directive `%{}`", c as char)),
                    None => return Err("a lone `%` at the end".into()),
                },
                b' ' => Part::Space,
                c => Part::Lit(c),
            });
        }
        let has = |p: Part| parts.contains(&p);
        if !(has(Part::Year4) || has(Part::Year2))
            || !(has(Part::Month) || has(Part::MonthName))
            || !has(Part::Day)
        {
            return Err("needs a year (%Y or %y), a month (%m or %b) and a day (%d)".into());
        }
        if has(Part::Hour12) != has(Part::AmPm) {
            return Err("%I and %p go together".into());
        }
        Ok(TsFormat {
            parts,
            text: text.to_string(),
        })
    }

    /// The layout as written in the mapping.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Unix seconds of `s` read with this layout; `None` if it does not fit.
    pub fn parse(&self, s: &str) -> Option<i64> {
        let b = s.trim().as_bytes();
        let mut at = 0;
        let mut f = Fields::default();
        for &part in &self.parts {
            match part {
                Part::Lit(c) => {
                    (b.get(at) == Some(&c)).then_some(())?;
                    at += 1;
                }
                Part::Space => {
                    let start = at;
                    while b.get(at) == Some(&b' ') {
                        at += 1;
                    }
                    (at > start).then_some(())?;
                }
                Part::Year4 => f.year = Some(digits(b, &mut at, 4, 4)? as i64),
                Part::Year2 => {
                    let y = digits(b, &mut at, 2, 2)? as i64;
                    f.year = Some(if y >= 69 { 1900 + y } else { 2000 + y });
                }
                Part::Month => f.month = Some(digits(b, &mut at, 1, 2)?),
                Part::Day => f.day = Some(digits(b, &mut at, 1, 2)?),
                Part::Hour => f.hour = digits(b, &mut at, 1, 2)?,
                Part::Hour12 => f.hour12 = Some(digits(b, &mut at, 1, 2)?),
                Part::Minute => f.minute = digits(b, &mut at, 1, 2)?,
                Part::Second => f.second = digits(b, &mut at, 1, 2)?,
                Part::Frac => {
                    digits(b, &mut at, 1, 9)?;
                }
                Part::AmPm => {
                    let word = b.get(at..at + 2)?.to_ascii_lowercase();
                    f.pm = Some(match &word[..] {
                        b"am" => false,
                        b"pm" => true,
                        _ => return None,
                    });
                    at += 2;
                }
                Part::MonthName => f.month = Some(month_name(b, &mut at)?),
                Part::Zone => f.offset = zone(b, &mut at)?,
            }
        }
        if at != b.len() {
            return None;
        }
        f.seconds()
    }
}

impl Fields {
    /// Unix seconds, after range checks.
    fn seconds(&self) -> Option<i64> {
        let (y, mo, d) = (self.year?, self.month?, self.day?);
        let hour = match (self.hour12, self.pm) {
            (Some(h), Some(pm)) if (1..=12).contains(&h) => h % 12 + if pm { 12 } else { 0 },
            (Some(_), _) => return None,
            _ => self.hour,
        };
        let ok = (1..=12).contains(&mo)
            && (1..=31).contains(&d)
            && hour <= 23
            && self.minute <= 59
            && self.second <= 60;
        ok.then(|| {
            days_from_civil(y, mo, d) * 86_400
                + (hour * 3600 + self.minute * 60 + self.second) as i64
                - self.offset
        })
    }
}

/// Reads `min..=max` ASCII digits at `*at` (as many as there are, up to max).
fn digits(b: &[u8], at: &mut usize, min: usize, max: usize) -> Option<u32> {
    let n = b[(*at).min(b.len())..]
        .iter()
        .take(max)
        .take_while(|c| c.is_ascii_digit())
        .count();
    if n < min {
        return None;
    }
    let v = b[*at..*at + n]
        .iter()
        .fold(0u32, |a, &c| a * 10 + (c - b'0') as u32);
    *at += n;
    Some(v)
}

/// A month's English name or three-letter abbreviation, any case.
fn month_name(b: &[u8], at: &mut usize) -> Option<u32> {
    let word: Vec<u8> = b[(*at).min(b.len())..]
        .iter()
        .take_while(|c| c.is_ascii_alphabetic())
        .map(u8::to_ascii_lowercase)
        .collect();
    // The full name, its first three letters, or "sept".
    let i = MONTHS.iter().position(|m| {
        let m = m.as_bytes();
        word == m || word == m[..3] || (word == b"sept" && m.starts_with(b"sep"))
    })?;
    *at += word.len();
    Some(i as u32 + 1)
}

/// `Z`, `±HHMM` or `±HH:MM`, as seconds east of UTC.
fn zone(b: &[u8], at: &mut usize) -> Option<i64> {
    match b.get(*at)? {
        b'Z' | b'z' => {
            *at += 1;
            Some(0)
        }
        &sign @ (b'+' | b'-') => {
            *at += 1;
            let h = digits(b, at, 2, 2)?;
            if b.get(*at) == Some(&b':') {
                *at += 1;
            }
            let m = digits(b, at, 2, 2)?;
            let off = (h * 3600 + m * 60) as i64;
            Some(if sign == b'+' { off } else { -off })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::TsFormat;

    fn at(format: &str, s: &str) -> Option<i64> {
        TsFormat::compile(format).unwrap().parse(s)
    }

    #[test]
    fn reads_common_export_layouts() {
        // 2010-12-01 08:26:00 UTC.
        let t = Some(1_291_191_960);
        assert_eq!(at("%m/%d/%Y %H:%M", "12/1/2010 8:26"), t);
        assert_eq!(at("%d.%m.%Y %H:%M:%S", "01.12.2010 08:26:00"), t);
        assert_eq!(at("%d/%m/%y %I:%M %p", "1/12/10 8:26 AM"), t);
        assert_eq!(
            at("%d/%m/%y %I:%M %p", "1/12/10 8:26 pm"),
            Some(1_291_235_160)
        );
        assert_eq!(at("%d %b %Y %H:%M", "1 Dec 2010  08:26"), t);
        assert_eq!(at("%B %d, %Y %H:%M", "December 01, 2010 08:26"), t);
        assert_eq!(
            at("%Y-%m-%dT%H:%M:%S.%f%z", "2010-12-01T09:26:00.5+01:00"),
            t
        );
        assert_eq!(at("%Y%m%d %H%M", "20101201 0826"), t);
    }

    #[test]
    fn rejects_what_does_not_fit() {
        for bad in [
            "13/1/2010 8:26",
            "12/1/2010",
            "12/1/2010 8:26 x",
            "12/32/2010 8:26",
            "12/1/2010 24:00",
            "",
        ] {
            assert_eq!(at("%m/%d/%Y %H:%M", bad), None, "{bad}");
        }
        assert_eq!(at("%d %b %Y", "1 Decx 2010"), None);
        assert_eq!(at("%d/%m/%y %I:%M %p", "1/12/10 13:26 PM"), None);
    }

    #[test]
    fn bad_layouts_say_why() {
        assert!(TsFormat::compile("%Y-%m-%d %q").unwrap_err().contains("%q"));
        assert!(TsFormat::compile("%H:%M").unwrap_err().contains("year"));
        assert!(TsFormat::compile("%Y-%m-%d %I:%M")
            .unwrap_err()
            .contains("%p"));
        assert!(TsFormat::compile("%Y-%m-%d %").is_err());
    }
}

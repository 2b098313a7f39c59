//! Whether a string is an RFC 3339 timestamp, as a thin event's `occurred_at` must be before it
//! is copied onto the events msgwork writes.

/// `2026-03-14T09:26:53Z`, `2026-03-14t09:26:53.120+01:00`, `2026-03-14 09:26:53Z`: a real
/// date and time of day with seconds, optional fractions and a `Z` or numeric offset.
pub fn is_rfc3339(s: &str) -> bool {
    let b = s.as_bytes();
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        std::str::from_utf8(digits).ok()?.parse().ok()
    };
    let at = |i: usize, wanted: &[u8]| b.get(i).is_some_and(|c| wanted.contains(c));
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        number(0..4),
        number(5..7),
        number(8..10),
        number(11..13),
        number(14..16),
        number(17..19),
    ) else {
        return false;
    };
    let shaped = at(4, b"-") && at(7, b"-") && at(10, b"Tt ") && at(13, b":") && at(16, b":");
    let date = (1..=12).contains(&month) && (1..=days_in(year, month)).contains(&day);
    let time = hour <= 23 && minute <= 59 && second <= 60;
    let mut rest = 19;
    if at(rest, b".") {
        let digits = b.get(rest + 1..).map_or(0, |tail| {
            tail.iter().take_while(|c| c.is_ascii_digit()).count()
        });
        if !(1..=9).contains(&digits) {
            return false;
        }
        rest += 1 + digits;
    }
    let offset = match b.get(rest..) {
        Some(b"Z" | b"z") => true,
        Some([sign, ..]) if *sign == b'+' || *sign == b'-' => {
            b.len() == rest + 6
                && at(rest + 3, b":")
                && number(rest + 1..rest + 3).is_some_and(|h| h <= 23)
                && number(rest + 4..rest + 6).is_some_and(|m| m <= 59)
        }
        _ => false,
    };
    shaped && date && time && offset
}

fn days_in(year: u32, month: u32) -> u32 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::is_rfc3339;

    #[test]
    fn rfc_3339_timestamps_are_accepted() {
        for s in [
            "2026-03-14T09:26:53Z",
            "2026-03-14t09:26:53z",
            "2026-03-14 09:26:53Z",
            "2026-03-14T09:26:53.1Z",
            "2026-03-14T09:26:53.123456789+01:00",
            "2026-03-14T09:26:53-08:00",
            "2024-02-29T00:00:00Z",
            "2016-12-31T23:59:60Z",
        ] {
            assert!(is_rfc3339(s), "{s}");
        }
    }

    #[test]
    fn anything_else_is_refused() {
        for s in [
            "078-05-1120",
            "123-45-6789",
            "2026-03-14",
            "2026-03-14T09:26:53",
            "2026-03-14T09:26Z",
            "2026-02-30T09:26:53Z",
            "2025-02-29T09:26:53Z",
            "2026-13-01T09:26:53Z",
            "2026-03-14T24:00:00Z",
            "2026-03-14T09:26:53.Z",
            "2026-03-14T09:26:53.1234567890Z",
            "2026-03-14T09:26:53+0100",
            "2026-03-14T09:26:53+01:00 ",
            "2026-03-14T09:26:53Z AKIAIOSFODNN7EXAMPLE",
            "２０２６-03-14T09:26:53Z",
            "1773480413000",
            "yesterday",
            "",
        ] {
            assert!(!is_rfc3339(s), "{s}");
        }
    }
}

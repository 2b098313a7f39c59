//! Folding text to the ASCII a detector reads: full-width and other Unicode digits and letters
//! mapped as NFKC maps them, zero-width and formatting characters removed, odd spaces and dashes
//! made plain, so `４１１１…` or `4111\u{200b}1111…` is read as the card number it is.

use std::borrow::Cow;

/// The first code point of each run of ten decimal digits (Unicode category Nd) outside ASCII:
/// Arabic-Indic, Devanagari, Bengali, Thai, full-width, mathematical and others.
const DIGIT_ZEROS: &[u32] = &[
    0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6, 0x0D66,
    0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0, 0x1A80, 0x1A90,
    0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0, 0xAA50, 0xABF0, 0xFF10,
    0x104A0, 0x1D7CE, 0x1D7D8, 0x1D7E2, 0x1D7EC, 0x1D7F6, 0x1E950, 0x1FBF0,
];

/// What one character reads as: `None` to drop it, or the ASCII it stands for.
fn fold(c: char) -> Option<char> {
    let code = u32::from(c);
    match code {
        // Soft hyphen, Mongolian vowel separator, zero-width space/joiners and direction marks,
        // word joiner and invisible operators, bidirectional embeddings and isolates, the
        // byte-order mark: invisible, and able to split a number without showing it.
        0x00AD
        | 0x034F
        | 0x061C
        | 0x180E
        | 0x200B..=0x200F
        | 0x202A..=0x202E
        | 0x2060..=0x206F
        | 0xFEFF
        | 0xFE00..=0xFE0F => None,
        // No-break, en, em, thin, hair, narrow and ideographic spaces.
        0x00A0 | 0x1680 | 0x2000..=0x200A | 0x202F | 0x205F | 0x3000 => Some(' '),
        // Hyphens, dashes and minus signs.
        0x2010..=0x2015 | 0x2212 | 0xFE58 | 0xFE63 | 0xFF0D => Some('-'),
        // Full-width ASCII (`Ａ`, `＠`, `＄`), as NFKC maps it.
        0xFF01..=0xFF5E => char::from_u32(code - 0xFF01 + 0x21),
        _ => {
            let digit = DIGIT_ZEROS
                .iter()
                .find(|&&zero| (zero..zero + 10).contains(&code))
                .and_then(|zero| char::from_digit(code - zero, 10));
            Some(digit.unwrap_or(c))
        }
    }
}

/// `s` as the detectors read it; borrowed when there is nothing to fold, as for plain ASCII.
pub(super) fn normalize(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    let folded: String = s.chars().filter_map(fold).collect();
    if folded == s {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(folded)
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn full_width_and_other_script_digits_read_as_ascii() {
        assert_eq!(normalize("４１１１ １１１１"), "4111 1111");
        assert_eq!(normalize("٤١١١"), "4111");
        assert_eq!(normalize("४१११"), "4111");
        assert_eq!(normalize("𝟒𝟏𝟏𝟏"), "4111");
        assert_eq!(normalize("ｓｋ＿ｌｉｖｅ＿"), "sk_live_");
    }

    #[test]
    fn invisible_characters_are_dropped_and_odd_spaces_and_dashes_made_plain() {
        assert_eq!(
            normalize("4111\u{200b}1111\u{2060}1111\u{feff}1111"),
            "4111111111111111"
        );
        assert_eq!(normalize("4111\u{00a0}1111\u{2009}1111"), "4111 1111 1111");
        assert_eq!(normalize("123\u{2010}45\u{2212}6789"), "123-45-6789");
        assert_eq!(normalize("pass\u{00ad}word"), "password");
    }

    #[test]
    fn ordinary_text_is_left_alone() {
        for s in ["ord_9f2a", "Crème brûlée", "東京都", "Ünïcödé — dash"] {
            let folded = normalize(s);
            if s.contains('—') {
                assert_eq!(folded, "Ünïcödé - dash");
            } else {
                assert!(matches!(folded, std::borrow::Cow::Borrowed(_)), "{s}");
            }
        }
    }
}

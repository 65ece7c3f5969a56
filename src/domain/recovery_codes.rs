//! Recovery codes (SPEC §5.5): 10 codes of 80 bits each, shown once as `xxxx-xxxx-xxxx-xxxx`
//! in an unambiguous lower-case alphabet (Crockford's Base32: no i, l, o or u), single-use.
//! People may type them in any case, with or without dashes and spaces, and confuse `o`/`0`
//! and `i`/`l`/`1`.

pub const COUNT: usize = 10;
const BYTES: usize = 10;
const CHARS: usize = 16;
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A fresh set of codes, formatted for display.
pub fn generate() -> Result<Vec<String>, getrandom::Error> {
    (0..COUNT)
        .map(|_| {
            let mut bytes = [0u8; BYTES];
            getrandom::fill(&mut bytes)?;
            Ok(format_code(&bytes))
        })
        .collect()
}

/// 80 bits as 16 symbols of 5 bits, in groups of four.
fn format_code(bytes: &[u8; BYTES]) -> String {
    let value = bytes.iter().fold(0u128, |acc, b| (acc << 8) | u128::from(*b));
    let symbols: Vec<char> = (0..CHARS).rev().map(|i| ALPHABET[((value >> (5 * i)) & 31) as usize] as char).collect();
    symbols.chunks(4).map(|group| group.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The canonical form that is hashed: 16 symbols, no dashes. `None` when it cannot be a code.
pub fn normalize(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let mut out = String::with_capacity(CHARS);
    for c in input.chars() {
        if c == '-' || c.is_whitespace() {
            continue;
        }
        let c = match c.to_ascii_lowercase() {
            'o' => '0',
            'i' | 'l' => '1',
            other => other,
        };
        if !c.is_ascii() || !ALPHABET.contains(&(c as u8)) {
            return None;
        }
        out.push(c);
    }
    (out.len() == CHARS).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_in_four_groups_of_four() {
        let codes = generate().unwrap();
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19, "{code}");
            let groups: Vec<&str> = code.split('-').collect();
            assert_eq!(groups.len(), 4);
            assert!(groups.iter().all(|g| g.len() == 4 && g.bytes().all(|b| ALPHABET.contains(&b))), "{code}");
        }
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 10);
    }

    #[test]
    fn sixteen_symbols_hold_all_80_bits() {
        assert_eq!(format_code(&[0; 10]), "0000-0000-0000-0000");
        assert_eq!(format_code(&[0xff; 10]), "zzzz-zzzz-zzzz-zzzz");
        assert_eq!(format_code(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 1]), "0000-0000-0000-0001");
        assert_eq!(format_code(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0]), "g000-0000-0000-0000");
    }

    #[test]
    fn typed_codes_are_normalized_to_one_form() {
        let canonical = Some("abcd0123efgh4567".to_string());
        for typed in ["abcd-0123-efgh-4567", "ABCD-0123-EFGH-4567", "abcd0123efgh4567", " abcd 0123 efgh 4567 "] {
            assert_eq!(normalize(typed), canonical, "{typed}");
        }
        assert_eq!(normalize("abcd-o123-efgh-4567"), canonical);
        assert_eq!(normalize("1111-iiii-LLLL-1111"), Some("1111111111111111".into()));
    }

    #[test]
    fn anything_else_is_not_a_code() {
        for bad in [
            "",
            "abcd-0123-efgh",
            "abcd-0123-efgh-4567-0",
            "abcd-0123-efgh-456u",
            "abcd_0123_efgh_4567",
            "ábcd-0123-efgh-4567",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert_eq!(normalize(&"-".repeat(10_000)), None);
    }
}

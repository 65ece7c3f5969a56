//! Passwords seen in data breaches, by Pwned Passwords' k-anonymity range API: only the first five
//! hex digits of the password's SHA-1 leave the worker; the range answers every suffix with that
//! prefix and how often it was seen (with `Add-Padding: true`, padded with made-up suffixes whose
//! count is 0, so the answer's size says nothing either). The lookup is pure; fetching the range
//! is storage's.

use sha1::{Digest, Sha1};

/// What the range says of a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Seen this many times in breaches.
    Times(u64),
    Never,
}

/// The SHA-1 of `password` as Pwned Passwords indexes it: the 5-digit prefix to ask for and the
/// 35-digit suffix to look for, upper-case hex.
pub fn range_of(password: &str) -> (String, String) {
    let hex: String = Sha1::digest(password.as_bytes()).iter().map(|b| format!("{b:02X}")).collect();
    let (prefix, suffix) = hex.split_at(5);
    (prefix.to_string(), suffix.to_string())
}

/// Looks `suffix` up in a range answer (`SUFFIX:COUNT` lines); a padding line (count 0) is never.
pub fn seen_in(range: &str, suffix: &str) -> Seen {
    let count = range
        .lines()
        .filter_map(|line| line.trim().split_once(':'))
        .find(|(candidate, _)| candidate.eq_ignore_ascii_case(suffix))
        .and_then(|(_, count)| count.trim().parse::<u64>().ok())
        .unwrap_or(0);
    if count == 0 {
        Seen::Never
    } else {
        Seen::Times(count)
    }
}

/// How often, in plain words: "once", "12 times", "about 3.9 million times".
pub fn in_words(times: u64) -> String {
    match times {
        1 => "once".into(),
        2..=9_999 => format!("{} times", group(times)),
        10_000..=999_999 => format!("more than {} times", group(times / 1000 * 1000)),
        _ => {
            let tenths = (times + 50_000) / 100_000;
            format!("about {}.{} million times", group(tenths / 10), tenths % 10)
        }
    }
}

fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_of_a_password_is_its_sha1_split_after_five_hex_digits() {
        // SHA-1("password") = 5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8
        assert_eq!(range_of("password"), ("5BAA6".into(), "1E4C9B93F3F0682250B6CF8331B7EE68FD8".into()));
    }

    #[test]
    fn a_suffix_is_found_with_its_count_and_padding_counts_as_never() {
        let range = "0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n1E4C9B93F3F0682250B6CF8331B7EE68FD8:9659365\r\n\
                     00D4F6E8FA6EECAD2A3AA415EEC418D38EC:0\r\n";
        assert_eq!(seen_in(range, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"), Seen::Times(9_659_365));
        assert_eq!(seen_in(range, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"), Seen::Times(9_659_365));
        assert_eq!(seen_in(range, "00D4F6E8FA6EECAD2A3AA415EEC418D38EC"), Seen::Never);
        assert_eq!(seen_in(range, "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"), Seen::Never);
        assert_eq!(seen_in("", "1E4C9B93F3F0682250B6CF8331B7EE68FD8"), Seen::Never);
        assert_eq!(seen_in("garbage\nno colon here", "X"), Seen::Never);
    }

    #[test]
    fn counts_read_as_plain_words() {
        assert_eq!(in_words(1), "once");
        assert_eq!(in_words(12), "12 times");
        assert_eq!(in_words(4_321), "4,321 times");
        assert_eq!(in_words(52_345), "more than 52,000 times");
        assert_eq!(in_words(9_659_365), "about 9.7 million times");
        assert_eq!(in_words(1_000_000), "about 1.0 million times");
        assert_eq!(in_words(1_249_999), "about 1.2 million times");
        assert_eq!(in_words(1_250_000), "about 1.3 million times");
        assert_eq!(in_words(1_234_567_890), "about 1,234.6 million times");
    }
}

//! The shipped list of common passwords (see README: from `@zxcvbn-ts/language-common`): the
//! 10,000 most common plus every listed one of 12+ characters, lower-cased and sorted bytewise,
//! so a lookup is a binary search over the embedded text with no allocation per request.

use std::sync::OnceLock;

const LIST: &str = include_str!("../../data/common-passwords.txt");

fn entries() -> &'static [&'static str] {
    static ENTRIES: OnceLock<Vec<&'static str>> = OnceLock::new();
    ENTRIES.get_or_init(|| LIST.lines().filter(|l| !l.is_empty()).collect())
}

/// True when the password, ignoring letter case, is on the list.
pub fn is_common(password: &str) -> bool {
    let lowered = password.to_lowercase();
    entries().binary_search(&lowered.as_str()).is_ok()
}

pub fn len() -> usize {
    entries().len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_has_at_least_ten_thousand_sorted_unique_entries() {
        let e = entries();
        assert!(e.len() >= 10_000, "{}", e.len());
        assert!(e.windows(2).all(|w| w[0] < w[1]), "list must be sorted bytewise and unique");
    }

    #[test]
    fn finds_common_passwords_in_any_case() {
        assert!(is_common("password"));
        assert!(is_common("PassWord"));
        assert!(is_common("123456"));
        assert!(is_common("p030710p$e4o"));
        assert!(!is_common("correct-Horse-7-battery"));
    }
}

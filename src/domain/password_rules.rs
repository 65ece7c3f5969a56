//! The product's "strong password" (SPEC §5.2). Every broken rule is reported, so the page can
//! show one checklist and the API one `problems` list. The rules judge the password's Unicode NFC
//! form, which is what gets hashed (`password::hash`), so length counts code points after NFC;
//! nothing is trimmed, truncated or folded.
//!
//! "Not common" refuses the listed passwords and their trivial variants — other letter case, the
//! usual character substitutions (`P@ssw0rd`), digits and symbols added before or after
//! (`!!Password2024`) — but never a listed word that is only part of a longer passphrase; the
//! exact rule is in [`common_passwords`].

use serde::Serialize;

use super::common_passwords;
use super::unicode::nfc;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

/// In checklist order (the derived order is the declaration's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    MissingLetter,
    MissingNumber,
    MissingSymbol,
    Common,
    ContainsEmail,
    ContainsName,
    /// Seen this many times in data breaches (Pwned Passwords; `domain::breaches`).
    Breached(u64),
}

impl PasswordProblem {
    pub fn code(self) -> &'static str {
        match self {
            Self::TooShort => "too_short",
            Self::TooLong => "too_long",
            Self::MissingLetter => "missing_letter",
            Self::MissingNumber => "missing_number",
            Self::MissingSymbol => "missing_symbol",
            Self::Common => "common",
            Self::ContainsEmail => "contains_email",
            Self::ContainsName => "contains_name",
            Self::Breached(_) => "breached",
        }
    }

    pub fn message(self) -> std::borrow::Cow<'static, str> {
        let fixed = match self {
            Self::TooShort => "Use at least 12 characters.",
            Self::TooLong => "Use at most 256 characters.",
            Self::MissingLetter => "Include at least one letter.",
            Self::MissingNumber => "Include at least one number.",
            Self::MissingSymbol => "Include at least one symbol, such as ! ? # or a space.",
            Self::Common => {
                "This password is too common, or a small variation of a common one. Choose one that is unique to your WEMASY account."
            }
            Self::ContainsEmail => "Do not use your e-mail address in your password.",
            Self::ContainsName => "Do not use your name in your password.",
            Self::Breached(times) => {
                return format!(
                    "This password has appeared in data breaches ({}), so attackers try it first. Choose one you have never used anywhere.",
                    super::breaches::in_words(times)
                )
                .into()
            }
        };
        fixed.into()
    }
}

/// What the password is checked against besides itself.
pub struct PasswordContext<'a> {
    pub email_local_part: &'a str,
    pub name: &'a str,
}

/// Every rule the password breaks, in checklist order; empty means it is strong.
pub fn check(password: &str, context: &PasswordContext<'_>, list: common_passwords::Loaded) -> Vec<PasswordProblem> {
    let password = &*nfc(password);
    let mut problems = Vec::new();
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        problems.push(PasswordProblem::TooShort);
    }
    if chars > MAX_CHARS {
        problems.push(PasswordProblem::TooLong);
    }
    if !password.chars().any(char::is_alphabetic) {
        problems.push(PasswordProblem::MissingLetter);
    }
    if !password.chars().any(char::is_numeric) {
        problems.push(PasswordProblem::MissingNumber);
    }
    if !password.chars().any(is_symbol) {
        problems.push(PasswordProblem::MissingSymbol);
    }
    if common_passwords::is_common(password, list) {
        problems.push(PasswordProblem::Common);
    }
    let lowered = password.to_lowercase();
    if contains_part(&lowered, context.email_local_part) {
        problems.push(PasswordProblem::ContainsEmail);
    }
    if context.name.split_whitespace().any(|word| contains_part(&lowered, word)) {
        problems.push(PasswordProblem::ContainsName);
    }
    problems
}

fn is_symbol(c: char) -> bool {
    !c.is_alphanumeric()
}

/// Parts shorter than three characters ("Al", "jo") would forbid half the dictionary.
fn contains_part(lowered_password: &str, part: &str) -> bool {
    let part = part.to_lowercase();
    part.chars().count() >= 3 && lowered_password.contains(&part)
}

#[cfg(test)]
mod tests {
    use super::*;
    use PasswordProblem::*;

    const CTX: PasswordContext<'static> = PasswordContext { email_local_part: "ada.lovelace", name: "Augusta King" };

    fn problems(p: &str) -> Vec<PasswordProblem> {
        check(p, &CTX, common_passwords::bundled())
    }

    #[test]
    fn a_twelve_character_mixed_uncommon_password_passes() {
        assert_eq!(problems("Tr0ub4dor&3x"), vec![]);
    }

    #[test]
    fn each_rule_is_reported_on_its_own() {
        assert_eq!(problems("Tr0ub4dor&3"), vec![TooShort]);
        assert_eq!(problems(&format!("Tr0ub4dor&3{}", "x".repeat(246))), vec![TooLong]);
        assert_eq!(problems("1234-5678-9012"), vec![MissingLetter]);
        assert_eq!(problems("Troubador&xyz"), vec![MissingNumber]);
        assert_eq!(problems("Troub4dor3xyz"), vec![MissingSymbol]);
        assert_eq!(problems("p030710p$e4o"), vec![Common]);
        assert_eq!(problems("ada.lovelace#2024"), vec![ContainsEmail]);
        assert_eq!(problems("x-Augusta-99!"), vec![ContainsName]);
    }

    #[test]
    fn every_broken_rule_is_listed() {
        assert_eq!(problems("password"), vec![TooShort, MissingNumber, MissingSymbol, Common]);
        assert_eq!(problems(""), vec![TooShort, MissingLetter, MissingNumber, MissingSymbol]);
    }

    #[test]
    fn length_counts_unicode_code_points_not_bytes() {
        assert_eq!(problems("ünïcødé-Pässw0"), vec![]);
        assert_eq!(problems("ü1!ü1!ü1!ü1"), vec![TooShort]);
        let at_limit: String = std::iter::repeat_n("é1!", 85).collect::<String>() + "x";
        assert_eq!(at_limit.chars().count(), 256);
        assert_eq!(problems(&at_limit), vec![]);
    }

    #[test]
    fn length_is_counted_after_nfc() {
        // Eleven characters typed decomposed are 19 code points, and still too short.
        let decomposed = "e\u{301}".repeat(8) + "1!x";
        assert_eq!(decomposed.chars().count(), 19);
        assert_eq!(problems(&decomposed), vec![TooShort]);
        assert_eq!(problems(&("e\u{301}".repeat(10) + "1!")), vec![]);
    }

    #[test]
    fn space_counts_as_a_symbol() {
        assert_eq!(problems("correct horse 7 battery"), vec![]);
    }

    #[test]
    fn trivial_variants_of_common_passwords_are_refused() {
        let variants = [
            "Password123!",
            "!!Password2024",
            "P@ssw0rd!2345",
            "Dr@g0n-1234567",
            "qwerty123456!",
            "iloveyou!!123",
            "PASSWORD-2024!!",
            "1L0V3Y0U!!2024",
            "!lov3you#2024",
            "M0nk3y#1234567",
            "Sh@d0w-2024-!!",
            "Sunsh1ne!!2024",
            "123456789!!Football",
            "Tr@ct0r_123456",
            "#1qaz2wsx#2024",
            "Tru$tn0!-2024#",
            "  Superman  1984",
            "L3tM3In!!!2024",
        ];
        for p in variants {
            assert!(problems(p).contains(&Common), "{p}: {:?}", problems(p));
        }
        // The other rules are met, so Common is the only reason for most of them.
        assert_eq!(problems("Password123!"), vec![Common]);
        assert_eq!(problems("P@ssw0rd!2345"), vec![Common]);
    }

    #[test]
    fn strong_passphrases_stay_accepted() {
        let passphrases = [
            "Blue-Harbor-a1b2c3d4e5f6-7!",
            "Blue-Harbor-0f9e8d7c6b5a-7!",
            "Violet-9f8e7d6c5b4a-Kettle!9",
            "Copper 0a1b2c3d4e5f Lantern#7",
            "Tr0ub4dor&3x",
            "correct horse 7 battery",
            "ünïcødé-Pässw0",
            "always-Lit-42x",
            "Another-Lantern-9!",
            "Fresh-Lantern-42!x",
            "Quiet-Lantern-42-a-7f3c!",
            "Concurrent-One-11!",
            "Not-my-password-1!",
            "Zq8#mK2$vL9!",
            "Legacy-Hash-Pass-1!",
            "Dragon-Harbor-Sunset-42!",
            "2024!Monkey-Trombone-Soup",
            "!!Tr0mbone-Dragon-2024!!",
            "iloveyou-but-not-Mondays-7",
            "P@ssw0rd-Is-Not-Enough-9",
            "7 purple elephants dance!",
            "Sunshine&Rain#2031x",
            "Correct-Horse-Battery-42!",
        ];
        for p in passphrases {
            assert_eq!(problems(p), vec![], "{p}");
        }
    }

    #[test]
    fn short_name_parts_are_not_forbidden() {
        let ctx = PasswordContext { email_local_part: "al", name: "Al Li" };
        assert_eq!(check("always-Lit-42x", &ctx, common_passwords::bundled()), vec![]);
    }
}

//! The product's "strong password" (SPEC §5.2). Every broken rule is reported, so the page can
//! show one checklist and the API one `problems` list. Nothing is trimmed, truncated or folded:
//! the password that passes is exactly the one that gets hashed.

use serde::Serialize;

use super::common_passwords;

pub const MIN_CHARS: usize = 12;
pub const MAX_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
        }
    }

    pub fn message(self) -> &'static str {
        match self {
            Self::TooShort => "Use at least 12 characters.",
            Self::TooLong => "Use at most 256 characters.",
            Self::MissingLetter => "Include at least one letter.",
            Self::MissingNumber => "Include at least one number.",
            Self::MissingSymbol => "Include at least one symbol, such as ! ? # or a space.",
            Self::Common => "This password is too common. Choose one that is unique to your WEMASY account.",
            Self::ContainsEmail => "Do not use your e-mail address in your password.",
            Self::ContainsName => "Do not use your name in your password.",
        }
    }
}

/// What the password is checked against besides itself.
pub struct PasswordContext<'a> {
    pub email_local_part: &'a str,
    pub name: &'a str,
}

/// Every rule the password breaks, in checklist order; empty means it is strong.
pub fn check(password: &str, context: &PasswordContext<'_>) -> Vec<PasswordProblem> {
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
    if common_passwords::is_common(password) {
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
        check(p, &CTX)
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
    fn space_counts_as_a_symbol() {
        assert_eq!(problems("correct horse 7 battery"), vec![]);
    }

    #[test]
    fn short_name_parts_are_not_forbidden() {
        let ctx = PasswordContext { email_local_part: "al", name: "Al Li" };
        assert_eq!(check("always-Lit-42x", &ctx), vec![]);
    }
}

//! The person's display name: what the top bar's initials come from.

const MAX_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonName(String);

impl PersonName {
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let name = raw.trim();
        if name.is_empty() {
            return Err("Enter your name.");
        }
        if name.chars().count() > MAX_CHARS {
            return Err("Your name can be at most 100 characters.");
        }
        if name.chars().any(|c| c.is_control() || is_invisible_format(c)) {
            return Err("Your name cannot contain control characters.");
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Bidi overrides and zero-width characters let a name look like something else in a list.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_keeps_unicode() {
        assert_eq!(PersonName::parse("  Zoë Ñúñez 李 ").unwrap().as_str(), "Zoë Ñúñez 李");
    }

    #[test]
    fn refuses_empty_long_and_control_characters() {
        assert!(PersonName::parse("   ").is_err());
        assert!(PersonName::parse(&"x".repeat(101)).is_err());
        assert!(PersonName::parse("Eve\r\nSet-Cookie: x").is_err());
        assert!(PersonName::parse("Eve\u{202E}evE").is_err());
        assert!(PersonName::parse("a\u{0}b").is_err());
    }
}

//! An e-mail address as the account's login: trimmed, lower-cased, plausibly shaped.

use std::fmt;

const MAX_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` after trimming and lower-casing; refuses whitespace and control
    /// characters anywhere, and anything longer than RFC 5321 allows.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter your e-mail address.");
        }
        if email.len() > MAX_LEN {
            return Err("That e-mail address is too long.");
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("An e-mail address cannot contain spaces or control characters.");
        }
        let Some((local, domain)) = email.rsplit_once('@') else {
            return Err("Enter an e-mail address like name@example.com.");
        };
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !domain.contains('@');
        if local.is_empty() || local.len() > 64 || !domain_ok {
            return Err("Enter an e-mail address like name@example.com.");
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn local_part(&self) -> &str {
        self.0.rsplit_once('@').map(|(local, _)| local).unwrap_or(&self.0)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_lowercases() {
        assert_eq!(Email::parse("  Ada@Example.COM ").unwrap().as_str(), "ada@example.com");
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "ada",
            "@example.com",
            "ada@",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "ada@example..com",
            "ada@example.com.",
            "a\u{0}@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn refuses_overlong_addresses() {
        let long = format!("{}@example.com", "a".repeat(10_000));
        assert!(Email::parse(&long).is_err());
    }

    #[test]
    fn local_part_is_before_the_last_at() {
        assert_eq!(Email::parse("grace.hopper@navy.mil").unwrap().local_part(), "grace.hopper");
    }
}

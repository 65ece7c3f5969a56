//! An e-mail address as the account's login: trimmed, NFC, case-folded, plausibly shaped.
//!
//! The normal form ([`unicode::normal_email`]) is what is stored and looked up, so one address
//! typed with composed or decomposed accents, or in another case, names one account. Accounts
//! stored before normalisation were keyed by [`legacy_form`] (trimmed and lower-cased only): a
//! sign-in looks for both forms ([`Lookup`]) until the stored address is rewritten.

use std::fmt;

use super::unicode;

const MAX_LEN: usize = 254;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    /// Accepts `local@domain.tld` in its normal form (trimmed, NFC, case-folded); refuses
    /// whitespace and control characters anywhere, and anything longer than RFC 5321 allows.
    pub fn parse(raw: &str) -> Result<Self, &'static str> {
        let email = unicode::normal_email(raw);
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

/// The form accounts were stored in before e-mail addresses were normalised: trimmed and
/// lower-cased, nothing more.
pub fn legacy_form(raw: &str) -> String {
    raw.trim().to_lowercase()
}

/// The two forms an account may be stored under for an address someone typed: the normal form,
/// which wins, and the [`legacy_form`]. An address that does not parse is looked up all the same
/// (in its normal form), so that it costs the same work as one that does and finds nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    pub normal: String,
    pub legacy: String,
}

impl Lookup {
    pub fn of(raw: &str) -> Self {
        Self { normal: unicode::normal_email(raw), legacy: legacy_form(raw) }
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
    fn composed_decomposed_and_cased_forms_are_one_address() {
        let nfc = Email::parse("jos\u{e9}@example.com").unwrap();
        assert_eq!(Email::parse("JOSE\u{301}@Example.com").unwrap(), nfc);
        assert_eq!(Email::parse("  José@EXAMPLE.COM ").unwrap(), nfc);
        assert_eq!(Email::parse("Straße@example.de").unwrap().as_str(), "strasse@example.de");
        assert_eq!(Email::parse(nfc.as_str()).unwrap(), nfc);
    }

    #[test]
    fn a_lookup_carries_the_normal_and_the_legacy_form() {
        let lookup = Lookup::of(" JOSE\u{301}@Example.com");
        assert_eq!(lookup.normal, "jos\u{e9}@example.com");
        assert_eq!(lookup.legacy, "jose\u{301}@example.com");
        let plain = Lookup::of("Ada@Example.com");
        assert_eq!((plain.normal.as_str(), plain.legacy.as_str()), ("ada@example.com", "ada@example.com"));
        assert_eq!(Lookup::of("not an address").normal, "not an address");
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

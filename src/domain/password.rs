//! Hashing and verifying passwords (SPEC §5.1): argon2id, PHC strings, parameters from config.
//! The single place that touches argon2, shared by sign-up, sign-in, confirm and password change.
//!
//! A password is hashed and checked in Unicode NFC (NIST SP 800-63B-4 §3.1.1.2), so the same
//! password typed with composed or decomposed accents is the same password; nothing else is
//! changed (no trimming, truncation or case folding, SPEC §5.2). Hashes stored before this rule
//! were made from the password as typed: [`verify`] tries that too when the typed password is not
//! in NFC, and asks for the hash to be replaced when it matched.

use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};

use super::unicode::nfc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's first recommendation for argon2id.
    pub const OWASP: Self = Self { memory_kib: 19_456, iterations: 2, parallelism: 1 };

    fn argon2(self) -> Result<Argon2<'static>, HashError> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, None)
            .map_err(|cause| HashError::BadParams(cause.to_string()))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

/// Why a password could not be hashed (each with its cause).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    #[error("invalid argon2 parameters: {0}")]
    BadParams(String),
    #[error("no randomness for the salt: {0}")]
    Random(String),
    #[error("argon2 hashing failed: {0}")]
    Hashing(String),
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash is outdated: made with other parameters, or from the password
    /// as typed before passwords were normalised. Store a new one, [`hash`] of the password
    /// (which hashes its NFC form).
    RightButOutdated,
}

impl Verdict {
    pub fn is_right(self) -> bool {
        self != Self::Wrong
    }
}

/// The hash of the password's NFC form.
pub fn hash(password: &str, params: HashParams) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|cause| HashError::Random(cause.to_string()))?;
    let password = nfc(password);
    let hashed = params
        .argon2()?
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map_err(|cause| HashError::Hashing(cause.to_string()))?;
    Ok(hashed.to_string())
}

/// Checks the password's NFC form; when that is wrong and the password was typed in another form,
/// the password as typed (a hash stored before normalisation), which is `RightButOutdated` when
/// it matches. The second argon2 run depends only on what was typed, never on the account, so an
/// unknown e-mail (checked against the dummy hash) still costs the same work as a known one.
pub fn verify(password: &str, stored: &str, configured: HashParams) -> Verdict {
    let normal = nfc(password);
    match verify_exactly(&normal, stored, configured) {
        Verdict::Wrong if normal != password => match verify_exactly(password, stored, configured) {
            Verdict::Wrong => Verdict::Wrong,
            Verdict::Right | Verdict::RightButOutdated => Verdict::RightButOutdated,
        },
        verdict => verdict,
    }
}

/// Constant-time comparison is argon2's own (`verify_password` compares digests with `subtle`).
/// A stored value that does not parse counts as a wrong password, never as a crash.
fn verify_exactly(password: &str, stored: &str, configured: HashParams) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Wrong;
    };
    let Ok(stored_params) = Params::try_from(&parsed) else {
        return Verdict::Wrong;
    };
    let Ok(argon2) = (HashParams {
        memory_kib: stored_params.m_cost(),
        iterations: stored_params.t_cost(),
        parallelism: stored_params.p_cost(),
    })
    .argon2() else {
        return Verdict::Wrong;
    };
    if argon2.verify_password(password.as_bytes(), &parsed).is_err() {
        return Verdict::Wrong;
    }
    let current = parsed.algorithm.as_str() == "argon2id"
        && stored_params.m_cost() == configured.memory_kib
        && stored_params.t_cost() == configured.iterations
        && stored_params.p_cost() == configured.parallelism;
    if current {
        Verdict::Right
    } else {
        Verdict::RightButOutdated
    }
}

/// A hash of a password nobody knows, with the configured parameters, so that an unknown
/// e-mail costs the same argon2 work as a known one.
pub fn dummy_hash(params: HashParams) -> String {
    format!(
        "$argon2id$v=19$m={},t={},p={}$c29tZXNhbHRzb21lc2FsdA$3N5Vd1WRkmLj3Xn8KkR/HwYq5+1k6v0H0T9dB8QjRyM",
        params.memory_kib, params.iterations, params.parallelism
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const FAST: HashParams = HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };

    #[test]
    fn a_hash_verifies_only_its_own_password() {
        let stored = hash("Tr0ub4dor&3x", FAST).unwrap();
        assert!(stored.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
        assert_eq!(verify("Tr0ub4dor&3x", &stored, FAST), Verdict::Right);
        assert_eq!(verify("tr0ub4dor&3x", &stored, FAST), Verdict::Wrong);
        assert_eq!(verify("Tr0ub4dor&3x ", &stored, FAST), Verdict::Wrong);
    }

    #[test]
    fn the_same_password_gets_a_fresh_salt_each_time() {
        assert_ne!(hash("Tr0ub4dor&3x", FAST).unwrap(), hash("Tr0ub4dor&3x", FAST).unwrap());
    }

    #[test]
    fn a_hash_with_other_parameters_is_reported_outdated() {
        let weak = HashParams { memory_kib: 32, iterations: 1, parallelism: 1 };
        let stored = hash("Tr0ub4dor&3x", weak).unwrap();
        assert_eq!(verify("Tr0ub4dor&3x", &stored, FAST), Verdict::RightButOutdated);
        assert_eq!(verify("nope", &stored, FAST), Verdict::Wrong);
    }

    #[test]
    fn non_ascii_passwords_round_trip_without_folding() {
        let stored = hash("Pässwörd-名前-🔐-1", FAST).unwrap();
        assert_eq!(verify("Pässwörd-名前-🔐-1", &stored, FAST), Verdict::Right);
        assert_eq!(verify("PÄSSWÖRD-名前-🔐-1", &stored, FAST), Verdict::Wrong);
    }

    const NFC_PASSWORD: &str = "Jos\u{e9}-Caf\u{e9}-2024!";
    const NFD_PASSWORD: &str = "Jose\u{301}-Cafe\u{301}-2024!";

    #[test]
    fn a_password_typed_in_another_unicode_form_is_the_same_password() {
        for set in [NFC_PASSWORD, NFD_PASSWORD] {
            let stored = hash(set, FAST).unwrap();
            assert_eq!(verify(NFC_PASSWORD, &stored, FAST), Verdict::Right, "set as {set:?}");
            assert_eq!(verify(NFD_PASSWORD, &stored, FAST), Verdict::Right, "set as {set:?}");
        }
    }

    /// A hash made before normalisation, from the password as typed (NFD).
    fn legacy_hash(typed: &str) -> String {
        let salt = [7u8; 16];
        let argon2 = FAST.argon2().unwrap();
        argon2.hash_password_with_salt(typed.as_bytes(), &salt).unwrap().to_string()
    }

    #[test]
    fn a_hash_of_a_password_as_typed_still_verifies_and_is_outdated() {
        let stored = legacy_hash(NFD_PASSWORD);
        assert_eq!(verify(NFD_PASSWORD, &stored, FAST), Verdict::RightButOutdated);
        assert_eq!(verify("Jose\u{301}-Cafe\u{301}-2025!", &stored, FAST), Verdict::Wrong);
        // Typed in NFC now, the NFD original cannot be recovered: only the form it was set in works.
        assert_eq!(verify(NFC_PASSWORD, &stored, FAST), Verdict::Wrong);
        // The upgrade stores the NFC form, which both forms then verify against.
        let upgraded = hash(NFD_PASSWORD, FAST).unwrap();
        assert_eq!(verify(NFC_PASSWORD, &upgraded, FAST), Verdict::Right);
        assert_eq!(verify(NFD_PASSWORD, &upgraded, FAST), Verdict::Right);
    }

    #[test]
    fn garbage_in_the_store_is_a_wrong_password() {
        for stored in
            ["", "plain", "$argon2id$v=19$m=1,t=1,p=1$xx$yy", "$argon2id$v=19$m=99999999999,t=1,p=1$c2FsdHNhbHQ$aGFzaA"]
        {
            assert_eq!(verify("x", stored, FAST), Verdict::Wrong, "{stored}");
        }
    }

    #[test]
    fn the_dummy_hash_parses_and_never_matches() {
        let dummy = dummy_hash(FAST);
        assert!(PasswordHash::new(&dummy).is_ok());
        assert_eq!(verify("", &dummy, FAST), Verdict::Wrong);
    }
}

//! Hashing and verifying passwords (SPEC §5.1): argon2id, PHC strings, parameters from config.
//! The single place that touches argon2, shared by sign-up, sign-in, confirm and password change.

use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Params, PasswordVerifier, Version};

use super::argon2id;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashParams {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

impl HashParams {
    /// OWASP's first recommendation for argon2id.
    pub const OWASP: Self = Self { memory_kib: 19_456, iterations: 2, parallelism: 1 };

    fn cost(self) -> argon2id::Cost {
        argon2id::Cost { memory_kib: self.memory_kib, passes: self.iterations, lanes: self.parallelism }
    }

    fn argon2(self) -> Result<Argon2<'static>, HashError> {
        let params =
            Params::new(self.memory_kib, self.iterations, self.parallelism, None).map_err(|_| HashError::BadParams)?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashError {
    BadParams,
    Random,
    Hashing,
}

impl std::fmt::Display for HashError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::BadParams => "invalid argon2 parameters",
            Self::Random => "no randomness for the salt",
            Self::Hashing => "argon2 hashing failed",
        })
    }
}

/// What checking a password against a stored hash found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wrong,
    Right,
    /// Right, and the stored hash was made with other parameters: store a new one.
    RightButOutdated,
}

impl Verdict {
    pub fn is_right(self) -> bool {
        self != Self::Wrong
    }
}

pub fn hash(password: &str, params: HashParams) -> Result<String, HashError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| HashError::Random)?;
    let crate_params = params.argon2()?.params().clone();
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    argon2id::hash(password.as_bytes(), &salt, &[], &[], params.cost(), &mut out).map_err(|_| HashError::Hashing)?;
    let phc = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: (&crate_params).try_into().map_err(|_| HashError::BadParams)?,
        salt: Some(Salt::new(&salt).map_err(|_| HashError::Hashing)?),
        hash: Some(Output::new(&out).map_err(|_| HashError::Hashing)?),
    };
    Ok(phc.to_string())
}

/// Digests are compared in constant time (every byte, whatever differs first). argon2id v0x13
/// strings (all that this worker writes) are checked with [`argon2id`]; any other a store might
/// hold, with the `argon2` crate. A stored value that does not parse counts as a wrong password,
/// never as a crash.
pub fn verify(password: &str, stored: &str, configured: HashParams) -> Verdict {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return Verdict::Wrong;
    };
    let Ok(stored_params) = Params::try_from(&parsed) else {
        return Verdict::Wrong;
    };
    let used = HashParams {
        memory_kib: stored_params.m_cost(),
        iterations: stored_params.t_cost(),
        parallelism: stored_params.p_cost(),
    };
    let ours = parsed.algorithm.as_str() == "argon2id" && parsed.version.is_none_or(|v| v == u32::from(Version::V0x13));
    let right = match (ours, &parsed.salt, &parsed.hash) {
        (true, Some(salt), Some(expected)) => {
            let mut out = vec![0u8; expected.len()];
            argon2id::hash(password.as_bytes(), salt, &[], &[], used.cost(), &mut out).is_ok()
                && constant_time_eq(&out, expected.as_bytes())
        }
        (true, _, _) => false,
        (false, _, _) => used.argon2().is_ok_and(|argon2| argon2.verify_password(password.as_bytes(), &parsed).is_ok()),
    };
    if !right {
        return Verdict::Wrong;
    }
    if parsed.algorithm.as_str() == "argon2id" && used == configured {
        Verdict::Right
    } else {
        Verdict::RightButOutdated
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
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
    fn hashes_the_argon2_crate_wrote_verify_and_ours_verify_with_it() {
        use argon2::password_hash::PasswordHasher;
        let salt = [9u8; 16];
        let theirs = FAST.argon2().unwrap().hash_password_with_salt(b"Tr0ub4dor&3x", &salt).unwrap().to_string();
        assert_eq!(verify("Tr0ub4dor&3x", &theirs, FAST), Verdict::Right);
        assert_eq!(verify("Tr0ub4dor&3y", &theirs, FAST), Verdict::Wrong);
        let ours = hash("Tr0ub4dor&3x", FAST).unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(FAST.argon2().unwrap().verify_password(b"Tr0ub4dor&3x", &parsed).is_ok());
        // argon2i (not ours) is checked by the crate and reported outdated.
        let argon2i = Argon2::new(Algorithm::Argon2i, Version::V0x13, FAST.argon2().unwrap().params().clone());
        let old = argon2i.hash_password_with_salt(b"Tr0ub4dor&3x", &salt).unwrap().to_string();
        assert_eq!(verify("Tr0ub4dor&3x", &old, FAST), Verdict::RightButOutdated);
        assert_eq!(verify("nope", &old, FAST), Verdict::Wrong);
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

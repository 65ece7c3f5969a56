//! Keys derived from `SECRET_KEY` and what they protect (SPEC §3): TOTP secrets encrypted with
//! AES-256-GCM, recovery codes stored as HMAC-SHA256. Each purpose has its own key,
//! HMAC-SHA256(SECRET_KEY, label). Everything written names the key it was made with
//! (a key id), and older keys (`SECRET_KEY_PREVIOUS`) still decrypt and verify, so an operator
//! can rotate `SECRET_KEY` without locking anyone out.
//!
//! Formats: ciphertext `v1.<kid>.<base64url(nonce || ciphertext+tag)>`, with the user id as
//! associated data (a ciphertext copied to another account does not decrypt); recovery-code
//! hash `<kid>.<hex(HMAC(user_id ":" code))>`.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::tokens::hex;

const FORMAT: &str = "v1";
const ENCRYPTION_LABEL: &[u8] = b"wemasy/v1/totp-secret-encryption";
const RECOVERY_LABEL: &[u8] = b"wemasy/v1/recovery-code-hmac";
const KEY_ID_LABEL: &[u8] = b"wemasy/v1/key-id";
const DEVICE_LABEL: &[u8] = b"wemasy/v1/device-cookie-hmac";
const NONCE_BYTES: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyError {
    /// `SECRET_KEY` (or one of the previous keys) is not base64 of at least 32 bytes.
    Malformed,
}

struct Key {
    id: String,
    encryption: [u8; 32],
    recovery: [u8; 32],
    device: [u8; 32],
}

impl Key {
    fn derive(encoded: &str) -> Result<Self, KeyError> {
        let material = STANDARD
            .decode(encoded.trim().trim_matches('"'))
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim().trim_end_matches('=')))
            .map_err(|_| KeyError::Malformed)?;
        if material.len() < 32 {
            return Err(KeyError::Malformed);
        }
        Ok(Self {
            id: hex(&hmac_sha256(&material, KEY_ID_LABEL)[..4]),
            encryption: hmac_sha256(&material, ENCRYPTION_LABEL),
            recovery: hmac_sha256(&material, RECOVERY_LABEL),
            device: hmac_sha256(&material, DEVICE_LABEL),
        })
    }
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The current key and any previous ones.
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl Keyring {
    /// `current` is `SECRET_KEY`; `previous` is `SECRET_KEY_PREVIOUS`, comma-separated.
    pub fn new(current: &str, previous: Option<&str>) -> Result<Self, KeyError> {
        let previous = previous
            .unwrap_or("")
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(Key::derive)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { current: Key::derive(current)?, previous })
    }

    fn keys(&self) -> impl Iterator<Item = &Key> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// Encrypts `plaintext` under the current key, bound to `context` (the user id).
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)?;
        let cipher = Aes256Gcm::new(&self.current.encryption.into());
        let sealed = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad: context.as_bytes() })
            .expect("AES-GCM encrypts any short message");
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&sealed);
        Ok(format!("{FORMAT}.{}.{}", self.current.id, URL_SAFE_NO_PAD.encode(blob)))
    }

    /// The plaintext, if `stored` was made by [`Keyring::encrypt`] under a key of this ring
    /// with the same `context`.
    pub fn decrypt(&self, stored: &str, context: &str) -> Option<Vec<u8>> {
        let mut parts = stored.splitn(3, '.');
        let (format, kid, blob) = (parts.next()?, parts.next()?, parts.next()?);
        if format != FORMAT {
            return None;
        }
        let key = self.keys().find(|k| k.id == kid)?;
        let blob = URL_SAFE_NO_PAD.decode(blob).ok()?;
        if blob.len() < NONCE_BYTES {
            return None;
        }
        let (nonce, sealed) = blob.split_at(NONCE_BYTES);
        let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
        Aes256Gcm::new(&key.encryption.into())
            .decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad: context.as_bytes() })
            .ok()
    }

    /// The stored form of a (normalized) recovery code under the current key.
    pub fn recovery_code_hash(&self, user_id: &str, code: &str) -> String {
        recovery_hash(&self.current, user_id, code)
    }

    /// Every stored form the code may have: one per key of the ring, current first.
    pub fn recovery_code_candidates(&self, user_id: &str, code: &str) -> Vec<String> {
        self.keys().map(|key| recovery_hash(key, user_id, code)).collect()
    }
}

impl Keyring {
    /// The signature of a device cookie naming `user_id` and `device_id`, under the current key.
    pub fn device_signature(&self, user_id: &str, device_id: &str) -> String {
        URL_SAFE_NO_PAD.encode(&hmac_sha256(&self.current.device, device_message(user_id, device_id).as_bytes())[..16])
    }

    /// Whether `signature` signs `user_id` and `device_id` under a key of this ring (compared in
    /// constant time).
    pub fn device_signature_is_valid(&self, user_id: &str, device_id: &str, signature: &str) -> bool {
        let Ok(given) = URL_SAFE_NO_PAD.decode(signature) else { return false };
        self.keys().any(|key| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&key.device).expect("HMAC takes any key length");
            mac.update(device_message(user_id, device_id).as_bytes());
            mac.verify_truncated_left(&given).is_ok() && given.len() == 16
        })
    }
}

fn device_message(user_id: &str, device_id: &str) -> String {
    format!("device:{user_id}:{device_id}")
}

fn recovery_hash(key: &Key, user_id: &str, code: &str) -> String {
    let message = format!("{user_id}:{code}");
    format!("{}.{}", key.id, hex(&hmac_sha256(&key.recovery, message.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY_A: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const KEY_B: &str = "//79/Pv6+fj39vX08/Lx8O/u7ezr6uno5+bl5OPi4eA=";

    #[test]
    fn a_secret_round_trips_and_the_ciphertext_says_nothing() {
        let ring = Keyring::new(KEY_A, None).unwrap();
        let secret = b"12345678901234567890";
        let stored = ring.encrypt(secret, "user-1").unwrap();
        assert!(stored.starts_with("v1."));
        assert!(!stored.contains("GEZDGNBV"));
        assert_eq!(ring.decrypt(&stored, "user-1").unwrap(), secret);
        assert_ne!(stored, ring.encrypt(secret, "user-1").unwrap(), "a fresh nonce every time");
    }

    #[test]
    fn a_ciphertext_is_bound_to_its_user_and_to_its_bytes() {
        let ring = Keyring::new(KEY_A, None).unwrap();
        let stored = ring.encrypt(b"secret", "user-1").unwrap();
        assert_eq!(ring.decrypt(&stored, "user-2"), None);
        let mut tampered = stored.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.decrypt(std::str::from_utf8(&tampered).unwrap(), "user-1"), None);
        for bad in ["", "v1", "v1.x.y", "v2.abc.def", "v1..", &stored.replacen("v1", "v9", 1)] {
            assert_eq!(ring.decrypt(bad, "user-1"), None, "{bad}");
        }
    }

    #[test]
    fn after_a_rotation_the_previous_key_still_decrypts_and_verifies() {
        let old = Keyring::new(KEY_A, None).unwrap();
        let stored = old.encrypt(b"secret", "u").unwrap();
        let old_hash = old.recovery_code_hash("u", "abcd0123efgh4567");

        let rotated = Keyring::new(KEY_B, Some(KEY_A)).unwrap();
        assert_eq!(rotated.decrypt(&stored, "u").unwrap(), b"secret");
        assert!(rotated.recovery_code_candidates("u", "abcd0123efgh4567").contains(&old_hash));
        assert!(rotated.encrypt(b"s", "u").unwrap().starts_with(&format!("v1.{}.", rotated.current.id)));

        let forgotten = Keyring::new(KEY_B, None).unwrap();
        assert_eq!(forgotten.decrypt(&stored, "u"), None);
    }

    #[test]
    fn purposes_and_keys_get_different_derived_keys() {
        let a = Key::derive(KEY_A).unwrap();
        let b = Key::derive(KEY_B).unwrap();
        assert_ne!(a.encryption, a.recovery);
        assert_ne!(a.id, b.id);
        assert_eq!(a.id.len(), 8);
    }

    #[test]
    fn recovery_hashes_depend_on_user_and_code_and_hide_both() {
        let ring = Keyring::new(KEY_A, None).unwrap();
        let hash = ring.recovery_code_hash("u1", "abcd0123efgh4567");
        assert_eq!(hash, ring.recovery_code_hash("u1", "abcd0123efgh4567"));
        assert_ne!(hash, ring.recovery_code_hash("u2", "abcd0123efgh4567"));
        assert_ne!(hash, ring.recovery_code_hash("u1", "abcd0123efgh4568"));
        assert!(!hash.contains("abcd"));
    }

    #[test]
    fn device_signatures_verify_under_current_and_previous_keys_only() {
        let old = Keyring::new(KEY_A, None).unwrap();
        let signature = old.device_signature("u1", "d1");
        assert!(old.device_signature_is_valid("u1", "d1", &signature));
        assert!(!old.device_signature_is_valid("u2", "d1", &signature));
        assert!(!old.device_signature_is_valid("u1", "d2", &signature));
        assert!(!old.device_signature_is_valid("u1", "d1", &signature[..10]));
        assert!(!old.device_signature_is_valid("u1", "d1", "not base64!"));
        assert!(Keyring::new(KEY_B, Some(KEY_A)).unwrap().device_signature_is_valid("u1", "d1", &signature));
        assert!(!Keyring::new(KEY_B, None).unwrap().device_signature_is_valid("u1", "d1", &signature));
    }

    #[test]
    fn malformed_keys_are_refused() {
        for bad in ["", "not base64!", "AAEC", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"] {
            assert!(Keyring::new(bad, None).is_err(), "{bad}");
        }
        assert!(Keyring::new(KEY_A, Some("nope")).is_err());
        assert!(Keyring::new(KEY_A, Some(&format!(" {KEY_B} , ,"))).is_ok());
    }
}

//! Keys and what they protect (SPEC §3, issue 16): TOTP secrets encrypted with AES-256-GCM,
//! recovery codes stored as HMAC-SHA256, device cookies signed with HMAC-SHA256.
//!
//! Two levels (envelope keys):
//! - **Root keys** come from `SECRET_KEY` (current) and `SECRET_KEY_PREVIOUS` (comma-separated,
//!   during a rotation). Each has a key id (8 hex characters, derived from the key) and derives,
//!   by HMAC-SHA256(key, label), a *wrapping key* and the legacy per-purpose keys that data
//!   written before data keys existed was made with.
//! - **Data keys** are random, one active per purpose ([`Purpose`]), and live in D1 only wrapped
//!   under a root key (`data_keys`, see `storage::data_keys`). Everything new is encrypted,
//!   hashed or signed under the active data key, so rotating `SECRET_KEY` re-wraps a few rows and
//!   never touches user data.
//!
//! Formats (unchanged by data keys; `<kid>` names a data key, or a root key for legacy values):
//! ciphertext `v1.<kid>.<base64url(nonce || ciphertext+tag)>`, with the user id as associated
//! data (a ciphertext copied to another account does not decrypt); recovery-code hash
//! `<kid>.<hex(HMAC(user_id ":" code))>`; wrapped data key `base64url(nonce || key+tag)` with
//! `wemasy/data-key/<purpose>/<kid>` as associated data.

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
/// Short-lived device-bound session cookies and their challenges (`domain::dbsc`), from the root
/// keys alone: the session check needs no data key for them.
const SESSION_BINDING_LABEL: &[u8] = b"wemasy/v1/session-binding-hmac";
const WRAPPING_LABEL: &[u8] = b"wemasy/v1/data-key-wrapping";
const NONCE_BYTES: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// `SECRET_KEY` (or one of the previous keys) is not base64 of at least 32 bytes.
    #[error("not base64 of at least 32 bytes")]
    Malformed,
}

/// What a data key is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Totp,
    Recovery,
    Device,
}

impl Purpose {
    pub const ALL: [Purpose; 3] = [Self::Totp, Self::Recovery, Self::Device];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::Recovery => "recovery",
            Self::Device => "device",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }
}

/// A stored secret that no configured key opens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Undecryptable {
    /// No configured key (data or root) has this id: the key it was made with is gone.
    MissingKey(String),
    /// Not a ciphertext of ours, or altered, or made for another account.
    Invalid,
}

/// A root key: `SECRET_KEY` or one of `SECRET_KEY_PREVIOUS`.
struct RootKey {
    id: String,
    wrapping: [u8; 32],
    encryption: [u8; 32],
    recovery: [u8; 32],
    device: [u8; 32],
    session_binding: [u8; 32],
}

impl RootKey {
    fn derive(encoded: &str) -> Result<Self, KeyError> {
        let material = STANDARD
            .decode(encoded.trim().trim_matches('"'))
            .or_else(|_| URL_SAFE_NO_PAD.decode(encoded.trim().trim_end_matches('=')))
            .ok()
            .ok_or(KeyError::Malformed)?;
        if material.len() < 32 {
            return Err(KeyError::Malformed);
        }
        Ok(Self {
            id: hex(&hmac_sha256(&material, KEY_ID_LABEL)[..4]),
            wrapping: hmac_sha256(&material, WRAPPING_LABEL),
            encryption: hmac_sha256(&material, ENCRYPTION_LABEL),
            recovery: hmac_sha256(&material, RECOVERY_LABEL),
            device: hmac_sha256(&material, DEVICE_LABEL),
            session_binding: hmac_sha256(&material, SESSION_BINDING_LABEL),
        })
    }

    /// This root key as the legacy key of `purpose` (values written before data keys).
    fn legacy(&self, purpose: Purpose) -> SecretKey<'_> {
        let key = match purpose {
            Purpose::Totp => &self.encryption,
            Purpose::Recovery => &self.recovery,
            Purpose::Device => &self.device,
        };
        SecretKey { id: &self.id, key }
    }
}

/// A data key, unwrapped.
#[derive(Clone)]
pub struct DataKey {
    pub kid: String,
    pub purpose: Purpose,
    /// The key new values of its purpose are made with (else retired: it only reads old ones).
    pub active: bool,
    key: [u8; 32],
}

impl DataKey {
    /// A new random data key with a random id.
    pub fn generate(purpose: Purpose) -> Result<Self, getrandom::Error> {
        let mut key = [0u8; 32];
        let mut id = [0u8; 4];
        getrandom::fill(&mut key)?;
        getrandom::fill(&mut id)?;
        Ok(Self { kid: hex(&id), purpose, active: true, key })
    }

    fn as_secret(&self) -> SecretKey<'_> {
        SecretKey { id: &self.kid, key: &self.key }
    }
}

/// A key of one purpose and its id, whichever level it comes from.
#[derive(Clone, Copy)]
struct SecretKey<'a> {
    id: &'a str,
    key: &'a [u8; 32],
}

fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

fn seal(key: &[u8; 32], plaintext: &[u8], aad: &[u8]) -> Result<String, getrandom::Error> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce)?;
    let sealed = Aes256Gcm::new(key.into())
        .encrypt(&Nonce::from(nonce), Payload { msg: plaintext, aad })
        .expect("AES-GCM encrypts any short message");
    let mut blob = nonce.to_vec();
    blob.extend_from_slice(&sealed);
    Ok(URL_SAFE_NO_PAD.encode(blob))
}

fn open(key: &[u8; 32], blob: &str, aad: &[u8]) -> Option<Vec<u8>> {
    let blob = URL_SAFE_NO_PAD.decode(blob).ok()?;
    if blob.len() < NONCE_BYTES {
        return None;
    }
    let (nonce, sealed) = blob.split_at(NONCE_BYTES);
    let nonce: [u8; NONCE_BYTES] = nonce.try_into().ok()?;
    Aes256Gcm::new(key.into()).decrypt(&Nonce::from(nonce), Payload { msg: sealed, aad }).ok()
}

fn wrap_context(purpose: Purpose, kid: &str) -> String {
    format!("wemasy/data-key/{}/{kid}", purpose.as_str())
}

/// A data key as D1 keeps it: wrapped under the root key `wrapped_by`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrappedKey {
    pub wrapped: String,
    pub wrapped_by: String,
}

/// The root keys and, once loaded from D1, the data keys.
pub struct Keyring {
    current: RootKey,
    previous: Vec<RootKey>,
    data: Vec<DataKey>,
}

impl Keyring {
    /// `current` is `SECRET_KEY`; `previous` is `SECRET_KEY_PREVIOUS`, comma-separated.
    pub fn new(current: &str, previous: Option<&str>) -> Result<Self, KeyError> {
        let previous = previous
            .unwrap_or("")
            .split(',')
            .filter(|k| !k.trim().is_empty())
            .map(RootKey::derive)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self { current: RootKey::derive(current)?, previous, data: Vec::new() })
    }

    /// The same root keys with these data keys.
    pub fn with_data_keys(mut self, data: Vec<DataKey>) -> Self {
        self.data = data;
        self
    }

    pub fn data_keys(&self) -> &[DataKey] {
        &self.data
    }

    /// The id of `SECRET_KEY`.
    pub fn root_id(&self) -> &str {
        &self.current.id
    }

    /// The ids of the keys in `SECRET_KEY_PREVIOUS`.
    pub fn previous_root_ids(&self) -> Vec<String> {
        self.previous.iter().map(|k| k.id.clone()).collect()
    }

    fn roots(&self) -> impl Iterator<Item = &RootKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }

    /// `data_key` wrapped under `SECRET_KEY`.
    pub fn wrap(&self, data_key: &DataKey) -> Result<WrappedKey, getrandom::Error> {
        let aad = wrap_context(data_key.purpose, &data_key.kid);
        Ok(WrappedKey {
            wrapped: seal(&self.current.wrapping, &data_key.key, aad.as_bytes())?,
            wrapped_by: self.current.id.clone(),
        })
    }

    /// The data key `kid` of `purpose` from its wrapped form, if a root key of this ring named
    /// `wrapped_by` opens it.
    pub fn unwrap(&self, kid: &str, purpose: Purpose, stored: &WrappedKey, active: bool) -> Option<DataKey> {
        let aad = wrap_context(purpose, kid);
        let root = self.roots().find(|r| r.id == stored.wrapped_by)?;
        let key: [u8; 32] = open(&root.wrapping, &stored.wrapped, aad.as_bytes())?.try_into().ok()?;
        Some(DataKey { kid: kid.to_string(), purpose, active, key })
    }

    /// The key new values of `purpose` are made with: the active data key, or (before data keys
    /// are loaded, e.g. in unit tests) `SECRET_KEY`'s legacy key.
    fn writing(&self, purpose: Purpose) -> SecretKey<'_> {
        self.data
            .iter()
            .find(|d| d.purpose == purpose && d.active)
            .map(DataKey::as_secret)
            .unwrap_or_else(|| self.current.legacy(purpose))
    }

    /// Every key that reads values of `purpose`: data keys, then the root keys' legacy keys.
    fn reading(&self, purpose: Purpose) -> impl Iterator<Item = SecretKey<'_>> {
        let data = self.data.iter().filter(move |d| d.purpose == purpose).map(DataKey::as_secret);
        data.chain(self.roots().map(move |r| r.legacy(purpose)))
    }

    /// Encrypts `plaintext` under the TOTP data key, bound to `context` (the user id).
    pub fn encrypt(&self, plaintext: &[u8], context: &str) -> Result<String, getrandom::Error> {
        let key = self.writing(Purpose::Totp);
        Ok(format!("{FORMAT}.{}.{}", key.id, seal(key.key, plaintext, context.as_bytes())?))
    }

    /// The plaintext of `stored` (made by [`Keyring::encrypt`] with the same `context`), or why
    /// it cannot be had.
    pub fn decrypt(&self, stored: &str, context: &str) -> Result<Vec<u8>, Undecryptable> {
        let mut parts = stored.splitn(3, '.');
        let (Some(FORMAT), Some(kid), Some(blob)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Undecryptable::Invalid);
        };
        let mut named = self.reading(Purpose::Totp).filter(|k| k.id == kid).peekable();
        if named.peek().is_none() {
            return Err(Undecryptable::MissingKey(kid.to_string()));
        }
        named.find_map(|k| open(k.key, blob, context.as_bytes())).ok_or(Undecryptable::Invalid)
    }

    /// Whether `stored` is made under a key other than the TOTP data key (to be re-encrypted).
    pub fn is_outdated(&self, stored: &str) -> bool {
        let current = self.writing(Purpose::Totp);
        stored.split('.').nth(1) != Some(current.id)
    }

    /// The ids of the keys that read TOTP secrets other than the one new secrets are made with.
    pub fn outdated_totp_key_ids(&self) -> Vec<String> {
        let current = self.writing(Purpose::Totp).id;
        let mut ids: Vec<String> =
            self.reading(Purpose::Totp).filter(|k| k.id != current).map(|k| k.id.to_string()).collect();
        ids.dedup();
        ids
    }

    /// Whether a key of this ring has the id `stored` names (a ciphertext made under a data key
    /// newer than this ring's does not).
    pub fn knows_key_of(&self, stored: &str) -> bool {
        let kid = stored.split('.').nth(1).unwrap_or_default();
        self.reading(Purpose::Totp).any(|k| k.id == kid)
    }

    /// The id of the key new recovery-code hashes are made with: codes stored under any other
    /// one should be regenerated (their key is retired, or a root key that may be rotated away).
    pub fn recovery_key_id(&self) -> String {
        self.writing(Purpose::Recovery).id.to_string()
    }

    /// The stored form of a (normalized) recovery code under the recovery data key.
    pub fn recovery_code_hash(&self, user_id: &str, code: &str) -> String {
        recovery_hash(self.writing(Purpose::Recovery), user_id, code)
    }

    /// Every stored form the code may have: one per key that reads recovery codes.
    pub fn recovery_code_candidates(&self, user_id: &str, code: &str) -> Vec<String> {
        self.reading(Purpose::Recovery).map(|key| recovery_hash(key, user_id, code)).collect()
    }

    /// The signature of a device cookie naming `user_id` and `device_id`, under the device key.
    pub fn device_signature(&self, user_id: &str, device_id: &str) -> String {
        let key = self.writing(Purpose::Device);
        URL_SAFE_NO_PAD.encode(&hmac_sha256(key.key, device_message(user_id, device_id).as_bytes())[..16])
    }

    /// Whether `signature` signs `user_id` and `device_id` under a key that reads device cookies
    /// (compared in constant time): `Some(true)` under the key new cookies are signed with,
    /// `Some(false)` under an older one (the cookie is worth re-issuing), `None` not at all.
    pub fn device_signature_check(&self, user_id: &str, device_id: &str, signature: &str) -> Option<bool> {
        let given = URL_SAFE_NO_PAD.decode(signature).ok().filter(|g| g.len() == 16)?;
        let signed_by = |key: &SecretKey<'_>| {
            let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key.key).expect("HMAC takes any key length");
            mac.update(device_message(user_id, device_id).as_bytes());
            mac.verify_truncated_left(&given).is_ok()
        };
        let writing = self.writing(Purpose::Device);
        if signed_by(&writing) {
            return Some(true);
        }
        // Retired device keys sign nothing any more (one is retired after a suspected leak).
        let retired = |k: &SecretKey<'_>| self.data.iter().any(|d| d.kid == k.id && !d.active);
        self.reading(Purpose::Device).filter(|k| !retired(k)).any(|k| signed_by(&k)).then_some(false)
    }

    /// Whether `signature` signs `user_id` and `device_id` under a key of this ring.
    pub fn device_signature_is_valid(&self, user_id: &str, device_id: &str, signature: &str) -> bool {
        self.device_signature_check(user_id, device_id, signature).is_some()
    }

    /// A MAC of a device-bound session's short cookie or challenge (`domain::dbsc`), under
    /// `SECRET_KEY`.
    pub fn session_binding_mac(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(&hmac_sha256(&self.current.session_binding, message.as_bytes())[..16])
    }

    /// Whether `mac` is [`Keyring::session_binding_mac`] of `message` under `SECRET_KEY` or a
    /// previous root key (a rotation leaves the cookies and challenges out there working).
    pub fn session_binding_mac_is_valid(&self, message: &str, mac: &str) -> bool {
        let Some(given) = URL_SAFE_NO_PAD.decode(mac).ok().filter(|g| g.len() == 16) else { return false };
        self.roots().any(|root| {
            let mut mac =
                <Hmac<Sha256> as KeyInit>::new_from_slice(&root.session_binding).expect("HMAC takes any key length");
            mac.update(message.as_bytes());
            mac.verify_truncated_left(&given).is_ok()
        })
    }
}

fn device_message(user_id: &str, device_id: &str) -> String {
    format!("device:{user_id}:{device_id}")
}

fn recovery_hash(key: SecretKey<'_>, user_id: &str, code: &str) -> String {
    let message = format!("{user_id}:{code}");
    format!("{}.{}", key.id, hex(&hmac_sha256(key.key, message.as_bytes())))
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
        assert_eq!(ring.decrypt(&stored, "user-2"), Err(Undecryptable::Invalid));
        let mut tampered = stored.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(ring.decrypt(std::str::from_utf8(&tampered).unwrap(), "user-1"), Err(Undecryptable::Invalid));
        for bad in ["", "v1", "v2.abc.def", &stored.replacen("v1", "v9", 1)] {
            assert_eq!(ring.decrypt(bad, "user-1"), Err(Undecryptable::Invalid), "{bad}");
        }
        for unknown in ["v1.x.y", "v1.."] {
            assert!(matches!(ring.decrypt(unknown, "user-1"), Err(Undecryptable::MissingKey(_))), "{unknown}");
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
        assert_eq!(forgotten.decrypt(&stored, "u"), Err(Undecryptable::MissingKey(old.current.id.clone())));
    }

    #[test]
    fn key_ids_are_the_ones_scripts_check_secret_key_derives() {
        // scripts/deploy-check.sh runs scripts/check-secret-key.mjs with these keys and ids.
        assert_eq!(Keyring::new(KEY_A, None).unwrap().root_id(), "31602b26");
        assert_eq!(Keyring::new(KEY_B, None).unwrap().root_id(), "0fa9749c");
    }

    #[test]
    fn purposes_and_keys_get_different_derived_keys() {
        let a = RootKey::derive(KEY_A).unwrap();
        let b = RootKey::derive(KEY_B).unwrap();
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

    fn data_keys() -> Vec<DataKey> {
        Purpose::ALL.into_iter().map(|p| DataKey::generate(p).unwrap()).collect()
    }

    #[test]
    fn data_keys_survive_a_rotation_of_the_root_key_by_re_wrapping() {
        let keys = data_keys();
        let under_a = Keyring::new(KEY_A, None).unwrap();
        let wrapped: Vec<WrappedKey> = keys.iter().map(|k| under_a.wrap(k).unwrap()).collect();
        let ring_a = Keyring::new(KEY_A, None).unwrap().with_data_keys(keys.clone());
        let stored = ring_a.encrypt(b"secret", "u").unwrap();
        assert!(stored.starts_with(&format!("v1.{}.", keys[0].kid)), "under the TOTP data key");
        let hash = ring_a.recovery_code_hash("u", "abcd0123efgh4567");
        let device = ring_a.device_signature("u", "d");

        // SECRET_KEY=B, SECRET_KEY_PREVIOUS=A: the data keys unwrap under A and re-wrap under B.
        let rotating = Keyring::new(KEY_B, Some(KEY_A)).unwrap();
        let rewrapped: Vec<(DataKey, WrappedKey)> = keys
            .iter()
            .zip(&wrapped)
            .map(|(k, w)| {
                assert_eq!(w.wrapped_by, under_a.root_id());
                let key = rotating.unwrap(&k.kid, k.purpose, w, true).expect("A still opens it");
                let again = rotating.wrap(&key).unwrap();
                assert_eq!(again.wrapped_by, rotating.root_id());
                (key, again)
            })
            .collect();

        // B alone: the re-wrapped keys open, and everything made under them still works.
        let only_b = Keyring::new(KEY_B, None).unwrap();
        assert!(keys.iter().zip(&wrapped).all(|(k, w)| only_b.unwrap(&k.kid, k.purpose, w, true).is_none()));
        let reloaded: Vec<DataKey> =
            rewrapped.iter().map(|(k, w)| only_b.unwrap(&k.kid, k.purpose, w, true).unwrap()).collect();
        let ring_b = only_b.with_data_keys(reloaded);
        assert_eq!(ring_b.decrypt(&stored, "u").unwrap(), b"secret");
        assert!(!ring_b.is_outdated(&stored));
        assert!(ring_b.recovery_code_candidates("u", "abcd0123efgh4567").contains(&hash));
        assert_eq!(ring_b.device_signature_check("u", "d", &device), Some(true));
    }

    #[test]
    fn a_wrapped_key_is_bound_to_its_id_and_purpose() {
        let ring = Keyring::new(KEY_A, None).unwrap();
        let key = DataKey::generate(Purpose::Totp).unwrap();
        let wrapped = ring.wrap(&key).unwrap();
        assert!(ring.unwrap(&key.kid, Purpose::Totp, &wrapped, true).is_some());
        assert!(ring.unwrap("00000000", Purpose::Totp, &wrapped, true).is_none());
        assert!(ring.unwrap(&key.kid, Purpose::Device, &wrapped, true).is_none());
    }

    #[test]
    fn legacy_values_under_the_root_key_still_read_and_are_outdated() {
        let legacy = Keyring::new(KEY_A, None).unwrap();
        let stored = legacy.encrypt(b"secret", "u").unwrap();
        let hash = legacy.recovery_code_hash("u", "abcd0123efgh4567");
        let device = legacy.device_signature("u", "d");
        let ring = Keyring::new(KEY_A, None).unwrap().with_data_keys(data_keys());
        assert_eq!(ring.decrypt(&stored, "u").unwrap(), b"secret");
        assert!(ring.is_outdated(&stored));
        assert!(!ring.is_outdated(&ring.encrypt(b"secret", "u").unwrap()));
        assert!(ring.recovery_code_candidates("u", "abcd0123efgh4567").contains(&hash));
        assert_ne!(ring.recovery_code_hash("u", "abcd0123efgh4567"), hash);
        assert_eq!(ring.device_signature_check("u", "d", &device), Some(false), "verifies, worth re-issuing");
    }

    #[test]
    fn a_retired_device_key_signs_nothing() {
        let mut keys = data_keys();
        let ring = Keyring::new(KEY_A, None).unwrap().with_data_keys(keys.clone());
        let signature = ring.device_signature("u", "d");
        keys[2].active = false;
        keys.push(DataKey::generate(Purpose::Device).unwrap());
        let rotated = Keyring::new(KEY_A, None).unwrap().with_data_keys(keys);
        assert_eq!(rotated.device_signature_check("u", "d", &signature), None);
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

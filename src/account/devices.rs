//! Known devices (OWASP "device cookies", SPEC §5.7): a browser that completed a sign-in gets a
//! signed `__Host-device` cookie naming the user and a random device id. At the next sign-in of
//! that user, its attempts count in the device's own failure run, so strangers who lock the
//! account's strangers' run out cannot keep the owner out. The cookie grants nothing else.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::domain::secrets::Keyring;
use crate::http::{cookies, ApiError};

/// How long a browser stays a known device after its last completed sign-in.
pub const DEVICE_COOKIE_SECONDS: u64 = 180 * 24 * 3600;

/// A device cookie whose signature holds: the user it was issued to and the device id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub user_id: String,
    pub device_id: String,
    /// Signed under an older key (before data keys, or under `SECRET_KEY_PREVIOUS`): the next
    /// completed sign-in re-issues it under the current one, same device.
    pub outdated: bool,
}

/// The device a `__Host-device` cookie value names, if its signature holds.
pub fn parse(value: &str, keys: &Keyring) -> Option<KnownDevice> {
    let mut parts = value.split('.');
    let (user_id, device_id, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = parts.next().is_none()
        && user_id.len() == 32
        && user_id.bytes().all(|b| b.is_ascii_hexdigit())
        && device_id.len() == 22
        && device_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return None;
    }
    let current = keys.device_signature_check(user_id, device_id, signature)?;
    Some(KnownDevice { user_id: user_id.into(), device_id: device_id.into(), outdated: !current })
}

/// A new device cookie for `user_id` (a `Set-Cookie` value).
pub fn new_cookie(keys: &Keyring, user_id: &str) -> Result<String, ApiError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|error| ApiError::internal("a device id", error))?;
    Ok(cookie_for(keys, user_id, &URL_SAFE_NO_PAD.encode(bytes)))
}

/// The device cookie of `device_id` for `user_id`, signed under the current device key.
pub fn cookie_for(keys: &Keyring, user_id: &str, device_id: &str) -> String {
    let value = format!("{user_id}.{device_id}.{}", keys.device_signature(user_id, device_id));
    cookies::set(cookies::DEVICE, &value, DEVICE_COOKIE_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const USER: &str = "0123456789abcdef0123456789abcdef";

    fn value_of(cookie: &str) -> String {
        cookie.split(';').next().unwrap().split_once('=').unwrap().1.to_string()
    }

    #[test]
    fn a_cookie_names_its_user_and_device_and_only_verifies_unchanged() {
        let keys = Keyring::new(KEY, None).unwrap();
        let value = value_of(&new_cookie(&keys, USER).unwrap());
        let device = parse(&value, &keys).unwrap();
        assert_eq!(device.user_id, USER);
        let other_user = value.replacen("0123", "1123", 1);
        assert_eq!(parse(&other_user, &keys), None);
        for bad in ["", "a.b.c", &format!("{value}.x"), &value.replace('.', "")] {
            assert_eq!(parse(bad, &keys), None, "{bad}");
        }
    }

    #[test]
    fn each_cookie_is_a_new_device() {
        let keys = Keyring::new(KEY, None).unwrap();
        let a = parse(&value_of(&new_cookie(&keys, USER).unwrap()), &keys).unwrap();
        let b = parse(&value_of(&new_cookie(&keys, USER).unwrap()), &keys).unwrap();
        assert_ne!(a.device_id, b.device_id);
    }
}

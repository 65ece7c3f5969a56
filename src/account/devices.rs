//! Known devices (OWASP "device cookies", SPEC §5.7): a browser that completed a sign-in gets a
//! signed `__Host-device` cookie naming the user and a random device id, and D1 remembers it as a
//! trusted device of that user. At the user's next sign-in its attempts count in the device's own
//! failure run, so strangers who lock the account's strangers' run out cannot keep the owner out.
//! The cookie grants nothing else, and only while its row exists: trust ends with a password
//! change, "sign out other sessions" (both keep the caller's own browser, which just proved
//! itself) or the owner forgetting the device on the Security page; the next completed sign-in
//! trusts it again.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{json, Value};

use super::error::{self, unexpected_from_storage, Unexpected};
use super::keys;
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::secrets::Keyring;
use crate::storage::devices::Trust;
use crate::storage::events::EventType;
use crate::storage::{Outcome, Store};

/// How long a device cookie lives from when it was issued (or signed again under a new key); its
/// trust may end long before (see the module doc).
pub const DEVICE_COOKIE_SECONDS: u64 = 180 * 24 * 3600;

/// What forgetting a device may refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such trusted device")]
    NotFound,
    #[error("needs a recent confirmation")]
    ReauthRequired,
    #[error(transparent)]
    Keys(#[from] keys::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}
unexpected_from_storage!(Error);

/// A device cookie whose signature holds: the user it was issued to and the device id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownDevice {
    pub user_id: String,
    pub device_id: String,
    /// Signed under an older key (before data keys, or under `SECRET_KEY_PREVIOUS`): the next
    /// completed sign-in re-issues it under the current one, same device.
    pub outdated: bool,
}

/// The value of a `__Host-device` cookie to send (for [`DEVICE_COOKIE_SECONDS`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceCookie(pub String);

/// The device a `__Host-device` cookie value names, if its signature holds.
pub fn parse(value: &str, keys: &Keyring) -> Option<KnownDevice> {
    let mut parts = value.split('.');
    let (user_id, device_id, signature) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = parts.next().is_none()
        && user_id.len() == 32
        && user_id.bytes().all(|b| b.is_ascii_hexdigit())
        && looks_like_device_id(device_id);
    if !well_formed {
        return None;
    }
    let current = keys.device_signature_check(user_id, device_id, signature)?;
    Some(KnownDevice { user_id: user_id.into(), device_id: device_id.into(), outdated: !current })
}

/// A device id is 16 random bytes, base64url: 22 characters.
pub fn looks_like_device_id(value: &str) -> bool {
    value.len() == 22 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn new_device_id() -> Result<String, Unexpected> {
    let mut bytes = [0u8; 16];
    error::random("a device id", &mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// The device cookie of `device_id` for `user_id`, signed under the current device key.
pub fn cookie_for(keys: &Keyring, user_id: &str, device_id: &str) -> DeviceCookie {
    DeviceCookie(format!("{user_id}.{device_id}.{}", keys.device_signature(user_id, device_id)))
}

/// The browser a completed sign-in trusts, decided before the batch that completes it (which
/// writes `row`), and the cookie to send it.
pub struct Trusting {
    pub row: Trust,
    /// A new `__Host-device` cookie, unless the browser holds this device's under the current key.
    pub cookie: Option<DeviceCookie>,
    /// The browser never signed in to this account before (its cookie names none of its devices).
    pub new_device: bool,
}

/// The browser of this request as a trusted device of `user_id`: the device its cookie names
/// when that is one of this user's (signed again if under an older key), else a new device.
pub fn trusting<S>(
    cx: &Cx<S>,
    keys: &Keyring,
    device: Option<&KnownDevice>,
    user_id: &str,
) -> Result<Trusting, Unexpected> {
    let new_device = device.is_none_or(|d| d.user_id != user_id);
    let (device_id, cookie) = match device {
        Some(d) if d.user_id == user_id && !d.outdated => (d.device_id.clone(), None),
        // Signed under an older key: the same device, signed again under the current key.
        Some(d) if d.user_id == user_id => (d.device_id.clone(), Some(cookie_for(keys, user_id, &d.device_id))),
        _ => {
            let id = new_device_id()?;
            let cookie = cookie_for(keys, user_id, &id);
            (id, Some(cookie))
        }
    };
    let facts = &cx.facts;
    let row = Trust {
        user_id: user_id.into(),
        device_id,
        device: facts.device.kind.as_str().to_string(),
        browser: facts.device.browser.clone(),
        os: facts.device.os.clone(),
        city: facts.origin.city.clone(),
        country: facts.origin.country.clone(),
        now: facts.now,
    };
    Ok(Trusting { row, cookie, new_device })
}

/// The device id of the caller's own browser: its cookie's, when the signature holds and it is
/// `user_id`'s. The data keys are read only when the request has a device cookie.
pub async fn own_device_id<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    user_id: &str,
) -> Result<Option<String>, keys::Error> {
    let Some(cookie) = device_cookie else { return Ok(None) };
    let keys = keys::load(cx).await?;
    Ok(parse(cookie, &keys).filter(|d| d.user_id == user_id).map(|d| d.device_id))
}

/// `GET /api/security/devices`: the caller's own browser first (marked `current`), then the
/// others, most recently used first; each as `openapi.json`'s `TrustedDevice`.
pub async fn list<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    current: &CurrentSession,
) -> Result<Vec<Value>, Error> {
    let user_id = &current.user.id;
    // The data keys are cached in the isolate: this rarely costs a round trip of its own.
    let own = own_device_id(cx, device_cookie, user_id).await?;
    let mut rows = cx.store.trusted_devices(user_id, own.as_deref()).await?;
    for row in rows.iter_mut() {
        let current = own.is_some() && row["id"].as_str() == own.as_deref();
        row["current"] = Value::Bool(current);
    }
    Ok(rows)
}

/// A device unused this long is one to sign out of (the seed's "sign out of devices you no longer
/// use"; the checkup counts them).
pub const UNUSED_SECONDS: u64 = 30 * 24 * 3600;

/// How many of the user's trusted devices have not been used for [`UNUSED_SECONDS`]: read with
/// the session check on the route that shows it, else near the user (it decides nothing about
/// access).
pub async fn unused<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<usize, Error> {
    let unused = match current.also_read.unused_devices {
        Some(unused) => unused,
        None => cx.store.unused_devices(&current.user.id, unused_before(cx)).await?,
    };
    Ok(unused as usize)
}

/// A trusted device last used before this is unused.
pub fn unused_before<S>(cx: &Cx<S>) -> u64 {
    cx.now().saturating_sub(UNUSED_SECONDS)
}

/// `DELETE /api/security/devices/{id}`: the device is a stranger again until its next completed
/// sign-in. Forgetting the caller's own browser needs no sudo; another one does (a stolen session
/// must not quietly strip the owner's device of its protection). Unknown ids and other users' ids
/// are the same 404.
pub async fn forget<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    current: &CurrentSession,
    id: &str,
) -> Result<(), Error> {
    if !looks_like_device_id(id) {
        return Err(Error::NotFound);
    }
    let user_id = &current.user.id;
    let own = own_device_id(cx, device_cookie, user_id).await?.as_deref() == Some(id);
    if !own && !current.in_sudo_window(cx.now()) {
        return Err(Error::ReauthRequired);
    }
    let event = cx.event(user_id, EventType::TrustedDeviceForgotten, json!({ "current": own }));
    match cx.store.forget_device(user_id, id, &event).await? {
        Outcome::Applied => Ok(()),
        Outcome::LostRace => Err(Error::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    const USER: &str = "0123456789abcdef0123456789abcdef";

    fn new_cookie(keys: &Keyring) -> String {
        cookie_for(keys, USER, &new_device_id().unwrap()).0
    }

    #[test]
    fn a_cookie_names_its_user_and_device_and_only_verifies_unchanged() {
        let keys = Keyring::new(KEY, None).unwrap();
        let value = new_cookie(&keys);
        let device = parse(&value, &keys).unwrap();
        assert_eq!(device.user_id, USER);
        assert!(looks_like_device_id(&device.device_id));
        let other_user = value.replacen("0123", "1123", 1);
        assert_eq!(parse(&other_user, &keys), None);
        for bad in ["", "a.b.c", &format!("{value}.x"), &value.replace('.', "")] {
            assert_eq!(parse(bad, &keys), None, "{bad}");
        }
    }

    #[test]
    fn each_cookie_is_a_new_device() {
        let keys = Keyring::new(KEY, None).unwrap();
        let a = parse(&new_cookie(&keys), &keys).unwrap();
        let b = parse(&new_cookie(&keys), &keys).unwrap();
        assert_ne!(a.device_id, b.device_id);
    }

    #[test]
    fn device_ids_are_22_base64url_characters() {
        assert!(looks_like_device_id("AAAAAAAAAAAAAAAAAAAA-_"));
        for bad in
            ["", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAA+/", "AAAAAAAAAAAAAAAAAAAA.."]
        {
            assert!(!looks_like_device_id(bad), "{bad}");
        }
    }
}

//! Random tokens and the ids derived from them. A session or pending sign-in is known to the
//! browser by its token and to storage only by `base64url(SHA-256(token))`, so nothing stored
//! can be replayed as a cookie.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use sha2::{Digest, Sha256};

use super::ids::SessionId;

/// 32 random bytes, base64url without padding: 43 characters.
pub fn new_token() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A random 128-bit id as 32 lower-case hex characters.
pub fn new_id() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex(&bytes))
}

pub fn id_of(token: &str) -> SessionId {
    SessionId::new(URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes())))
}

/// How a mail link's token is stored: `base64url(SHA-256(token))`, like a session's id.
pub fn hash_of(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// True for a string that has the shape of a token we issue; anything else is refused before
/// it reaches storage.
pub fn looks_like_token(value: &str) -> bool {
    value.len() == 43 && is_base64url(value)
}

/// A session cookie's value: `{user id}.{token}`. The user id is no secret and proves nothing (the
/// session id is the hash of the whole value); it lets the D1 check of the user start while the
/// session record is still being read from KV.
pub fn session_cookie_value(user_id: &str, token: &str) -> String {
    format!("{user_id}.{token}")
}

/// The user a session cookie names, if it is of the `{user id}.{token}` shape.
pub fn user_named_by(cookie_value: &str) -> Option<&str> {
    let (user, token) = cookie_value.split_once('.')?;
    (user.len() == 32 && user.bytes().all(|b| b.is_ascii_hexdigit()) && looks_like_token(token)).then_some(user)
}

/// A session cookie we issue: `{user id}.{token}`, or a bare token (sessions issued before).
pub fn looks_like_session_cookie(value: &str) -> bool {
    looks_like_token(value) || user_named_by(value).is_some()
}

/// Session ids are the same shape as tokens (43 base64url characters).
pub fn looks_like_id(value: &str) -> bool {
    looks_like_token(value)
}

fn is_base64url(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_differ() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert!(looks_like_token(&a));
        assert_ne!(a, b);
    }

    #[test]
    fn the_id_is_the_sha256_of_the_token_and_not_the_token() {
        let token = new_token().unwrap();
        let id = id_of(&token);
        assert!(looks_like_id(&id));
        assert_ne!(&*id, token.as_str());
        assert_eq!(&*id_of("abc"), "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0");
    }

    #[test]
    fn a_session_cookie_names_its_user_without_being_its_secret() {
        let token = new_token().unwrap();
        let user = "0123456789abcdef0123456789abcdef";
        let value = session_cookie_value(user, &token);
        assert_eq!(user_named_by(&value), Some(user));
        assert!(looks_like_session_cookie(&value) && looks_like_session_cookie(&token));
        assert_eq!(user_named_by(&token), None);
        for bad in
            [format!("{user}.short"), format!("xyz.{token}"), format!("{user}{token}"), format!("{user}.{token}.x")]
        {
            assert!(!looks_like_session_cookie(&bad), "{bad}");
        }
    }

    #[test]
    fn odd_shapes_are_not_tokens() {
        for bad in ["", "short", &"a".repeat(44), &"+".repeat(43), &"é".repeat(43)] {
            assert!(!looks_like_token(bad), "{bad}");
        }
    }

    #[test]
    fn ids_are_128_bit_hex() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
    }
}

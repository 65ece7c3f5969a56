//! Device Bound Session Credentials (W3C WebAppSec draft, issue 25): the browser keeps a key on
//! the device and proves it holds it with a signed JWT (`dbsc+jwt`); the worker then requires a
//! short-lived cookie besides the session token, which only that proof renews. A session token
//! stolen without the key stops working when the short cookie runs out.
//!
//! Here: the proofs (parse, ES256 signature by the key they enclose or the one stored, challenge,
//! audience, freshness), the key's stored form and thumbprint (RFC 7638), the headers' structured
//! fields, the session instructions, and the short cookie, which is stateless: its expiry and a
//! MAC over the session id, so checking it costs no read.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::secrets::Keyring;

/// The short-lived cookie a bound session needs besides `__Host-session`.
pub const BOUND_COOKIE: &str = "__Host-bound";
pub const REGISTER_PATH: &str = "/api/auth/dbsc/register";
pub const REFRESH_PATH: &str = "/api/auth/dbsc/refresh";
/// A proof's `iat`, when it has one, may be this far from the worker's clock.
pub const FRESH_SECONDS: u64 = 300;
/// After a registration, requests without the short cookie are still served this long: they
/// left the browser before the registration's answer set it.
pub const REGISTRATION_GRACE_SECONDS: u64 = 60;
const MAX_PROOF_CHARS: usize = 4096;

/// Why a proof proves nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the proof is not a JWT of the expected shape ({0})")]
    Malformed(&'static str),
    #[error("the proof's typ is not dbsc+jwt")]
    WrongType,
    #[error("the proof is not signed with ES256")]
    UnsupportedAlgorithm,
    #[error("the proof's key is not a P-256 public key")]
    BadKey,
    #[error("the proof's signature does not verify")]
    BadSignature,
    #[error("the proof names another audience")]
    WrongAudience,
    #[error("the proof's iat is not recent")]
    Stale,
}

impl Refusal {
    /// A short word for the event's detail and the logs.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed",
            Self::WrongType => "wrong_type",
            Self::UnsupportedAlgorithm => "unsupported_algorithm",
            Self::BadKey => "bad_key",
            Self::BadSignature => "bad_signature",
            Self::WrongAudience => "wrong_audience",
            Self::Stale => "stale",
        }
    }
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<Jwk>,
}

#[derive(Deserialize)]
struct Claims {
    jti: String,
    aud: Option<String>,
    /// A number, or (in early drafts) a string of one.
    iat: Option<Value>,
    /// Early drafts carried the key in the payload.
    jwk: Option<Jwk>,
}

/// An EC public key as a JWK; only P-256 is taken.
#[derive(Deserialize)]
struct Jwk {
    kty: String,
    crv: String,
    x: String,
    y: String,
}

/// A DBSC proof, parsed; nothing about it is checked yet.
pub struct Proof {
    header: Header,
    claims: Claims,
    signing_input: String,
    signature: Vec<u8>,
}

/// A session's bound key: its stored form (the RFC 7638 members) and thumbprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoundKey {
    pub jwk: String,
    pub thumbprint: String,
}

/// A `Secure-Session-Response` or `Sec-Secure-Session-Id` value: an sf-string, its parameters
/// ignored. A bare token (no quotes) is taken too, as some clients sent it.
pub fn sf_string(value: &str) -> Option<String> {
    let value = value.trim();
    let Some(rest) = value.strip_prefix('"') else {
        let bare = value.split(';').next().unwrap_or_default().trim();
        return (!bare.is_empty()).then(|| bare.to_string());
    };
    let mut out = String::new();
    let mut chars = rest.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return Some(out),
            '\\' => out.push(chars.next().filter(|c| *c == '"' || *c == '\\')?),
            c if (' '..='~').contains(&c) => out.push(c),
            _ => return None,
        }
    }
    None
}

pub fn parse(jwt: &str) -> Result<Proof, Refusal> {
    if jwt.len() > MAX_PROOF_CHARS {
        return Err(Refusal::Malformed("too long"));
    }
    let mut parts = jwt.split('.');
    let (Some(header), Some(claims), Some(signature), None) = (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::Malformed("three parts"));
    };
    let decode =
        |part: &str, what| URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok().ok_or(Refusal::Malformed(what));
    let header_json: Header =
        serde_json::from_slice(&decode(header, "header")?).ok().ok_or(Refusal::Malformed("header"))?;
    let claims_json: Claims =
        serde_json::from_slice(&decode(claims, "payload")?).ok().ok_or(Refusal::Malformed("payload"))?;
    Ok(Proof {
        header: header_json,
        claims: claims_json,
        signing_input: format!("{header}.{claims}"),
        signature: decode(signature, "signature")?,
    })
}

impl Proof {
    /// The challenge the proof answers (`jti`).
    pub fn challenge(&self) -> &str {
        &self.claims.jti
    }

    /// A registration: signed by the key it encloses, for `audience` (the registration URL, when
    /// the proof names one), recent. Answers the key to bind.
    pub fn verify_registration(&self, audience: &str, now: u64) -> Result<BoundKey, Refusal> {
        self.check_claims(audience, now)?;
        let jwk = self.header.jwk.as_ref().or(self.claims.jwk.as_ref()).ok_or(Refusal::BadKey)?;
        let key = BoundKey::of(jwk)?;
        self.check_signature(&key.verifying_key()?)?;
        Ok(key)
    }

    /// A refresh: signed by the session's bound key.
    pub fn verify_refresh(&self, key: &BoundKey, audience: &str, now: u64) -> Result<(), Refusal> {
        self.check_claims(audience, now)?;
        self.check_signature(&key.verifying_key()?)
    }

    fn check_claims(&self, audience: &str, now: u64) -> Result<(), Refusal> {
        if self.header.typ.as_deref().is_some_and(|typ| typ != "dbsc+jwt") {
            return Err(Refusal::WrongType);
        }
        if self.header.alg != "ES256" {
            return Err(Refusal::UnsupportedAlgorithm);
        }
        if self.claims.jti.is_empty() {
            return Err(Refusal::Malformed("jti"));
        }
        if self.claims.aud.as_deref().is_some_and(|aud| aud != audience) {
            return Err(Refusal::WrongAudience);
        }
        let iat = match &self.claims.iat {
            None => return Ok(()),
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse::<u64>().ok(),
            Some(_) => None,
        };
        match iat {
            Some(iat) if iat.abs_diff(now) <= FRESH_SECONDS => Ok(()),
            _ => Err(Refusal::Stale),
        }
    }

    fn check_signature(&self, key: &VerifyingKey) -> Result<(), Refusal> {
        // JWS ES256 signatures are r || s, 64 bytes (not DER).
        let signature = Signature::from_slice(&self.signature).ok().ok_or(Refusal::BadSignature)?;
        key.verify(self.signing_input.as_bytes(), &signature).ok().ok_or(Refusal::BadSignature)
    }
}

impl BoundKey {
    fn of(jwk: &Jwk) -> Result<Self, Refusal> {
        if jwk.kty != "EC" || jwk.crv != "P-256" {
            return Err(Refusal::BadKey);
        }
        // RFC 7638: the required members, in lexicographic order, no whitespace.
        let canonical = json!({ "crv": "P-256", "kty": "EC", "x": jwk.x, "y": jwk.y }).to_string();
        let key = Self { thumbprint: URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes())), jwk: canonical };
        key.verifying_key()?;
        Ok(key)
    }

    /// The key as stored (`jwk`).
    pub fn stored(jwk: &str) -> Result<Self, Refusal> {
        let parsed: Jwk = serde_json::from_str(jwk).ok().ok_or(Refusal::BadKey)?;
        Self::of(&parsed)
    }

    fn verifying_key(&self) -> Result<VerifyingKey, Refusal> {
        let jwk: Jwk = serde_json::from_str(&self.jwk).ok().ok_or(Refusal::BadKey)?;
        let coordinate = |c: &str| {
            let bytes = URL_SAFE_NO_PAD.decode(c).ok().ok_or(Refusal::BadKey)?;
            (bytes.len() == 32).then_some(bytes).ok_or(Refusal::BadKey)
        };
        let mut point = vec![0x04];
        point.extend(coordinate(&jwk.x)?);
        point.extend(coordinate(&jwk.y)?);
        VerifyingKey::from_sec1_bytes(&point).ok().ok_or(Refusal::BadKey)
    }
}

/// `Secure-Session-Registration`, offered with a completed sign-in.
pub fn registration_header(challenge: &str) -> String {
    format!("(ES256);path=\"{REGISTER_PATH}\";challenge=\"{challenge}\"")
}

/// `Secure-Session-Challenge` for the session `id` (the `id` parameter is required).
pub fn challenge_header(challenge: &str, id: &str) -> String {
    format!("\"{challenge}\";id=\"{id}\"")
}

/// The session instructions: this origin only, the short cookie, the refresh URL.
pub fn instructions(id: &str, origin: &str) -> Value {
    json!({
        "session_identifier": id,
        "refresh_url": REFRESH_PATH,
        "scope": { "origin": origin, "include_site": false },
        "credentials": [{
            "type": "cookie",
            "name": BOUND_COOKIE,
            "attributes": "Path=/; Secure; HttpOnly; SameSite=Lax",
        }],
    })
}

/// What ends a bound session in the browser: its refresh answered this.
pub fn ended() -> Value {
    json!({ "continue": false })
}

/// What a sealed value is: the short cookie, or a challenge of one step. Its MAC names it, so
/// one is never taken for another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sealed {
    Cookie,
    RegistrationChallenge,
    RefreshChallenge,
}

impl Sealed {
    fn label(self) -> &'static str {
        match self {
            Self::Cookie => "cookie",
            Self::RegistrationChallenge => "register",
            Self::RefreshChallenge => "refresh",
        }
    }
}

/// A stateless value for one session: `{expires}.{nonce}.{mac}`, the MAC over what it is, the
/// session, its expiry and a random nonce (every refresh sets a new cookie value). Checking one
/// costs no read; a challenge's single use is D1's (`spent_challenges`).
pub fn seal(keys: &Keyring, kind: Sealed, session_id: &str, expires: u64) -> Result<String, getrandom::Error> {
    let signed = format!("{expires}.{}", super::tokens::new_id()?);
    let mac = keys.session_binding_mac(&sealed_message(kind, session_id, &signed));
    Ok(format!("{signed}.{mac}"))
}

/// Whether `value` is a `kind` sealed for `session_id` that has not run out at `now`.
pub fn is_open(keys: &Keyring, kind: Sealed, session_id: &str, value: &str, now: u64) -> bool {
    if value.len() > 128 {
        return false;
    }
    let mut parts = value.rsplitn(2, '.');
    let (Some(mac), Some(signed)) = (parts.next(), parts.next()) else { return false };
    let Some((expires, nonce)) = signed.split_once('.') else { return false };
    let shaped = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    let unexpired = expires.parse::<u64>().is_ok_and(|expires| now < expires);
    shaped(nonce) && unexpired && keys.session_binding_mac_is_valid(&sealed_message(kind, session_id, signed), mac)
}

fn sealed_message(kind: Sealed, session_id: &str, signed: &str) -> String {
    format!("dbsc:{}:{session_id}:{signed}", kind.label())
}

/// A software device key's side of the protocol, for host tests: its JWK and its proofs.
#[cfg(test)]
pub mod test_key {
    use super::*;
    use p256::ecdsa::signature::Signer;
    pub use p256::ecdsa::SigningKey;

    pub fn jwk_of(key: &SigningKey) -> Value {
        let point = key.verifying_key().to_sec1_point(false);
        let b = point.as_bytes();
        json!({ "kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&b[1..33]), "y": URL_SAFE_NO_PAD.encode(&b[33..65]) })
    }

    /// A JWT of `header` and `claims` signed with `key` (ES256, r || s).
    pub fn sign(key: &SigningKey, header: Value, claims: Value) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let signature: Signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::test_key::{jwk_of, sign, SigningKey};
    use super::*;

    const AUD: &str = "http://127.0.0.1:8787/api/auth/dbsc/register";

    fn key() -> SigningKey {
        SigningKey::from_slice(&[5u8; 32]).unwrap()
    }

    fn registration(key: &SigningKey, claims: Value) -> String {
        sign(key, json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk_of(key) }), claims)
    }

    #[test]
    fn a_registration_signed_by_its_own_key_binds_that_key() {
        let jwt = registration(&key(), json!({ "jti": "c1", "aud": AUD, "iat": 1_000 }));
        let proof = parse(&jwt).unwrap();
        assert_eq!(proof.challenge(), "c1");
        let bound = proof.verify_registration(AUD, 1_100).unwrap();
        assert_eq!(bound.thumbprint.len(), 43);
        assert_eq!(BoundKey::stored(&bound.jwk).unwrap(), bound);
        // A refresh proof by the same key verifies against the stored one; another key's does not.
        let refresh = sign(&key(), json!({ "alg": "ES256", "typ": "dbsc+jwt" }), json!({ "jti": "c2" }));
        assert_eq!(parse(&refresh).unwrap().verify_refresh(&bound, AUD, 1_100), Ok(()));
        let other = SigningKey::from_slice(&[6u8; 32]).unwrap();
        let forged = sign(&other, json!({ "alg": "ES256", "typ": "dbsc+jwt" }), json!({ "jti": "c2" }));
        assert_eq!(parse(&forged).unwrap().verify_refresh(&bound, AUD, 1_100), Err(Refusal::BadSignature));
    }

    #[test]
    fn a_proof_with_another_type_algorithm_audience_or_an_old_iat_is_refused() {
        let check = |header: Value, claims: Value| {
            parse(&sign(&key(), header, claims)).unwrap().verify_registration(AUD, 10_000)
        };
        let jwk = jwk_of(&key());
        let good = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk });
        assert!(check(good.clone(), json!({ "jti": "c", "iat": "9999" })).is_ok());
        assert_eq!(
            check(json!({ "alg": "ES256", "typ": "JWT", "jwk": jwk }), json!({ "jti": "c" })).unwrap_err(),
            Refusal::WrongType
        );
        assert_eq!(
            check(json!({ "alg": "none", "jwk": jwk }), json!({ "jti": "c" })).unwrap_err(),
            Refusal::UnsupportedAlgorithm
        );
        assert_eq!(
            check(json!({ "alg": "RS256", "jwk": jwk }), json!({ "jti": "c" })).unwrap_err(),
            Refusal::UnsupportedAlgorithm
        );
        assert_eq!(
            check(good.clone(), json!({ "jti": "c", "aud": "https://evil.example/reg" })).unwrap_err(),
            Refusal::WrongAudience
        );
        assert_eq!(check(good.clone(), json!({ "jti": "c", "iat": 1 })).unwrap_err(), Refusal::Stale);
        assert_eq!(check(good.clone(), json!({ "jti": "" })).unwrap_err(), Refusal::Malformed("jti"));
        assert_eq!(check(json!({ "alg": "ES256" }), json!({ "jti": "c" })).unwrap_err(), Refusal::BadKey);
        let rsa = json!({ "alg": "ES256", "jwk": { "kty": "RSA", "crv": "P-256", "x": "", "y": "" } });
        assert_eq!(check(rsa, json!({ "jti": "c" })).unwrap_err(), Refusal::BadKey);
        // The key in the payload (early drafts) is taken too.
        assert!(check(json!({ "alg": "ES256" }), json!({ "jti": "c", "jwk": jwk })).is_ok());
    }

    #[test]
    fn a_proof_signed_by_another_key_than_it_encloses_or_tampered_is_refused() {
        let other = SigningKey::from_slice(&[6u8; 32]).unwrap();
        let header = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk_of(&key()) });
        let jwt = sign(&other, header, json!({ "jti": "c" }));
        assert_eq!(parse(&jwt).unwrap().verify_registration(AUD, 0).unwrap_err(), Refusal::BadSignature);
        let good = registration(&key(), json!({ "jti": "c" }));
        let mut parts: Vec<&str> = good.split('.').collect();
        let swapped = URL_SAFE_NO_PAD.encode(json!({ "jti": "another" }).to_string());
        parts[1] = &swapped;
        assert_eq!(parse(&parts.join(".")).unwrap().verify_registration(AUD, 0).unwrap_err(), Refusal::BadSignature);
        for broken in ["", "a.b", "a.b.c.d", "!!.e30.AA", &"a".repeat(5000)] {
            assert!(matches!(parse(broken), Err(Refusal::Malformed(_))), "{broken:.20}");
        }
    }

    #[test]
    fn structured_field_strings_are_read_and_their_parameters_ignored() {
        assert_eq!(sf_string("\"abc\""), Some("abc".into()));
        assert_eq!(sf_string(" \"a\\\"b\";id=\"x\""), Some("a\"b".into()));
        assert_eq!(sf_string("token123"), Some("token123".into()));
        assert_eq!(sf_string("\"unterminated"), None);
        assert_eq!(sf_string("\"bad\\n\""), None);
        assert_eq!(sf_string(""), None);
        assert_eq!(challenge_header("c", "s"), "\"c\";id=\"s\"");
        assert_eq!(registration_header("c"), "(ES256);path=\"/api/auth/dbsc/register\";challenge=\"c\"");
    }

    #[test]
    fn a_sealed_value_opens_only_for_its_kind_session_and_time() {
        let keys = Keyring::new(&"A".repeat(44), None).unwrap();
        let cookie = seal(&keys, Sealed::Cookie, "sid", 1_700).unwrap();
        assert!(is_open(&keys, Sealed::Cookie, "sid", &cookie, 1_699));
        assert!(!is_open(&keys, Sealed::Cookie, "sid", &cookie, 1_700), "run out");
        assert!(!is_open(&keys, Sealed::Cookie, "other", &cookie, 1_000), "another session's");
        assert!(!is_open(&keys, Sealed::RefreshChallenge, "sid", &cookie, 1_000), "a cookie is no challenge");
        assert_ne!(cookie, seal(&keys, Sealed::Cookie, "sid", 1_700).unwrap(), "a fresh nonce each time");
        let later = cookie.replacen("1700", "9999", 1);
        assert!(!is_open(&keys, Sealed::Cookie, "sid", &later, 1_000), "its expiry is signed");
        let other_key = Keyring::new(&"B".repeat(44), None).unwrap();
        assert!(!is_open(&other_key, Sealed::Cookie, "sid", &cookie, 1_000));
        // After a rotation, values sealed under the previous key still open.
        let rotated = Keyring::new(&"B".repeat(44), Some(&"A".repeat(44))).unwrap();
        assert!(is_open(&rotated, Sealed::Cookie, "sid", &cookie, 1_000));
        for broken in ["", "1700", "1700.n", "x.n.m", "1700..m", "1700.n.m", "1700.n;.m"] {
            assert!(!is_open(&keys, Sealed::Cookie, "sid", broken, 1_000), "{broken}");
        }
    }
}

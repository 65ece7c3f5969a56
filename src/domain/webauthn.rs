//! The relying party's checks of WebAuthn Level 3 ceremonies (SPEC §5.11), pure so every rule is
//! host-tested: the client data (type, challenge, own origin), the authenticator data (rp id
//! hash, user present and verified, backup flags, sign counter), the attested credential of a
//! registration (COSE ES256 or EdDSA key), and an assertion's signature over
//! `authenticatorData ‖ SHA-256(clientDataJSON)`. Challenges, storage and the failure count live
//! in `account::passkeys`.

use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// COSE algorithms we accept, in order of preference: EdDSA (Ed25519), then ES256 (P-256).
pub const ALGORITHMS: [i64; 2] = [EDDSA, ES256];
pub const ES256: i64 = -7;
pub const EDDSA: i64 = -8;

const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;

/// Longest credential id WebAuthn allows.
pub const MAX_CREDENTIAL_ID_BYTES: usize = 1023;

/// Why a ceremony's response was refused. `Malformed` is a broken request (400, not counted);
/// every other reason is a failed proof and counts like a wrong code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    Malformed(&'static str),
    WrongType,
    WrongChallenge,
    WrongOrigin,
    WrongRpId,
    UserNotPresent,
    UserNotVerified,
    UnsupportedKey,
    BadSignature,
    CounterWentBack,
    WrongUser,
    /// An assertion whose authenticator data says it carries a new credential (flag AT).
    AttestedDataInAssertion,
    /// An assertion whose backup eligibility (flag BE) is not the one registered.
    BackupEligibilityChanged,
}

impl Rejection {
    /// For logs and event details: never holds request data.
    pub fn reason(self) -> &'static str {
        match self {
            Self::Malformed(what) => what,
            Self::WrongType => "wrong_type",
            Self::WrongChallenge => "wrong_challenge",
            Self::WrongOrigin => "wrong_origin",
            Self::WrongRpId => "wrong_rp_id",
            Self::UserNotPresent => "user_not_present",
            Self::UserNotVerified => "user_not_verified",
            Self::UnsupportedKey => "unsupported_key",
            Self::BadSignature => "bad_signature",
            Self::CounterWentBack => "counter_went_back",
            Self::WrongUser => "wrong_user",
            Self::AttestedDataInAssertion => "attested_data_in_assertion",
            Self::BackupEligibilityChanged => "backup_eligibility_changed",
        }
    }
}

/// Which ceremony a client data belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    Create,
    Get,
}

impl Ceremony {
    fn client_data_type(self) -> &'static str {
        match self {
            Self::Create => "webauthn.create",
            Self::Get => "webauthn.get",
        }
    }
}

/// What the ceremony must be about: the challenge we issued, our origin and rp id.
/// What the person did for a ceremony. `Verified` (present, and verified by the authenticator) is
/// required of every ceremony but a conditional create (WebAuthn L3 §7.1 step 14–15): a passkey
/// the password manager makes right after it filled the password, neither asked nor verified.
/// Every later sign-in with that passkey is verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gesture {
    Verified,
    None,
}

pub struct Expected<'a> {
    pub challenge: &'a str,
    pub origin: &'a str,
    pub rp_id: &'a str,
}

/// Decodes base64url as WebAuthn's JSON forms carry it (padding tolerated).
pub fn decode(field: &'static str, value: &str) -> Result<Vec<u8>, Rejection> {
    let trimmed = value.trim_end_matches('=');
    URL_SAFE_NO_PAD.decode(trimmed).or_else(|_| URL_SAFE.decode(value)).ok().ok_or(Rejection::Malformed(field))
}

pub fn encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

#[derive(Deserialize)]
struct RawClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// The parsed `clientDataJSON`; `challenge` is what the client says it answered, to be looked
/// up before [`ClientData::check`].
pub struct ClientData {
    kind: String,
    pub challenge: String,
    origin: String,
    cross_origin: bool,
}

impl ClientData {
    pub fn parse(json: &[u8]) -> Result<Self, Rejection> {
        let raw: RawClientData = serde_json::from_slice(json).ok().ok_or(Rejection::Malformed("client_data"))?;
        if raw.challenge.is_empty() || raw.challenge.len() > 128 {
            return Err(Rejection::Malformed("client_data"));
        }
        Ok(Self {
            kind: raw.kind,
            challenge: raw.challenge,
            origin: raw.origin,
            cross_origin: raw.cross_origin == Some(true),
        })
    }

    pub fn check(&self, ceremony: Ceremony, expected: &Expected<'_>) -> Result<(), Rejection> {
        if self.kind != ceremony.client_data_type() {
            return Err(Rejection::WrongType);
        }
        let challenge = decode("client_data", &self.challenge).ok().ok_or(Rejection::WrongChallenge)?;
        if encode(&challenge) != expected.challenge {
            return Err(Rejection::WrongChallenge);
        }
        if self.origin != expected.origin || self.cross_origin {
            return Err(Rejection::WrongOrigin);
        }
        Ok(())
    }
}

/// A credential's public key, checked to be one we can verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey {
    pub algorithm: i64,
    /// The COSE_Key as the authenticator encoded it (what `passkeys.public_key` stores).
    pub cose: Vec<u8>,
}

impl PublicKey {
    /// Parses and validates a COSE_Key: EC2 P-256 with ES256, or OKP Ed25519 with EdDSA.
    pub fn from_cose(cose: &[u8]) -> Result<Self, Rejection> {
        let key = CoseKey::parse(cose)?;
        key.verifier()?;
        Ok(Self { algorithm: key.algorithm, cose: cose.to_vec() })
    }

    /// Checks `signature` over `authenticator_data ‖ SHA-256(client_data_json)`.
    pub fn verify(
        &self,
        authenticator_data: &[u8],
        client_data_json: &[u8],
        signature: &[u8],
    ) -> Result<(), Rejection> {
        let key = CoseKey::parse(&self.cose).ok().ok_or(Rejection::UnsupportedKey)?;
        let mut signed = authenticator_data.to_vec();
        signed.extend_from_slice(&Sha256::digest(client_data_json));
        key.verifier()?.verify(&signed, signature)
    }
}

struct CoseKey {
    algorithm: i64,
    kty: i64,
    crv: i64,
    x: Vec<u8>,
    y: Vec<u8>,
}

enum Verifier {
    Es256(p256::ecdsa::VerifyingKey),
    EdDsa(ed25519_dalek::VerifyingKey),
}

impl CoseKey {
    /// The labels we use (kty 1, alg 3, crv -1, x -2, y -3); a label of another key type with
    /// the same number but another CBOR type (RSA's `n` is -1) reads as absent.
    fn parse(cose: &[u8]) -> Result<Self, Rejection> {
        let (mut kty, mut algorithm, mut crv, mut x, mut y) = (None, None, None, None, None);
        cbor::each_entry(cose, |key, d| {
            match key {
                cbor::Key::Int(1) => kty = cbor::int(d)?,
                cbor::Key::Int(3) => algorithm = cbor::int(d)?,
                cbor::Key::Int(-1) => crv = cbor::int(d)?,
                cbor::Key::Int(-2) => x = cbor::bytes(d)?,
                cbor::Key::Int(-3) => y = cbor::bytes(d)?,
                _ => d.skip().ok()?,
            }
            Some(())
        })
        .ok_or(Rejection::Malformed("public_key"))?;
        Ok(Self {
            kty: kty.ok_or(Rejection::Malformed("public_key"))?,
            algorithm: algorithm.ok_or(Rejection::Malformed("public_key"))?,
            crv: crv.unwrap_or(0),
            x: x.unwrap_or_default(),
            y: y.unwrap_or_default(),
        })
    }

    fn verifier(&self) -> Result<Verifier, Rejection> {
        match (self.kty, self.algorithm, self.crv) {
            (2, ES256, 1) if self.x.len() == 32 && self.y.len() == 32 => {
                let mut sec1 = vec![0x04];
                sec1.extend_from_slice(&self.x);
                sec1.extend_from_slice(&self.y);
                p256::ecdsa::VerifyingKey::from_sec1_bytes(&sec1)
                    .map(Verifier::Es256)
                    .ok()
                    .ok_or(Rejection::UnsupportedKey)
            }
            (1, EDDSA, 6) => {
                let x: [u8; 32] = self.x.as_slice().try_into().ok().ok_or(Rejection::UnsupportedKey)?;
                ed25519_dalek::VerifyingKey::from_bytes(&x).map(Verifier::EdDsa).ok().ok_or(Rejection::UnsupportedKey)
            }
            _ => Err(Rejection::UnsupportedKey),
        }
    }
}

impl Verifier {
    fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), Rejection> {
        use p256::ecdsa::signature::Verifier as _;
        match self {
            Self::Es256(key) => {
                let signature = p256::ecdsa::Signature::from_der(signature).ok().ok_or(Rejection::BadSignature)?;
                // Authenticators need not normalise s; both halves are the same signature.
                let signature = signature.normalize_s();
                key.verify(message, &signature).ok().ok_or(Rejection::BadSignature)
            }
            Self::EdDsa(key) => {
                let signature = ed25519_dalek::Signature::from_slice(signature).ok().ok_or(Rejection::BadSignature)?;
                key.verify_strict(message, &signature).ok().ok_or(Rejection::BadSignature)
            }
        }
    }
}

/// The parts of `authenticatorData` the relying party decides on.
#[derive(Debug)]
pub struct AuthenticatorData {
    rp_id_hash: [u8; 32],
    flags: u8,
    pub sign_count: u32,
    pub attested: Option<AttestedCredential>,
}

/// The credential a registration created.
#[derive(Debug)]
pub struct AttestedCredential {
    pub aaguid: [u8; 16],
    pub credential_id: Vec<u8>,
    pub public_key: PublicKey,
}

impl AuthenticatorData {
    pub fn parse(data: &[u8]) -> Result<Self, Rejection> {
        let malformed = Rejection::Malformed("authenticator_data");
        if data.len() < 37 {
            return Err(malformed);
        }
        let rp_id_hash: [u8; 32] = data[..32].try_into().ok().ok_or(malformed)?;
        let flags = data[32];
        let sign_count = u32::from_be_bytes(data[33..37].try_into().ok().ok_or(malformed)?);
        let attested = match flags & FLAG_AT {
            0 => None,
            _ => Some(Self::attested(&data[37..])?),
        };
        Ok(Self { rp_id_hash, flags, sign_count, attested })
    }

    fn attested(data: &[u8]) -> Result<AttestedCredential, Rejection> {
        let malformed = Rejection::Malformed("authenticator_data");
        if data.len() < 18 {
            return Err(malformed);
        }
        let aaguid: [u8; 16] = data[..16].try_into().ok().ok_or(malformed)?;
        let id_len = usize::from(u16::from_be_bytes([data[16], data[17]]));
        if id_len == 0 || id_len > MAX_CREDENTIAL_ID_BYTES || data.len() < 18 + id_len {
            return Err(malformed);
        }
        let credential_id = data[18..18 + id_len].to_vec();
        let rest = &data[18 + id_len..];
        let cose = &rest[..cbor::item_len(rest).ok_or(Rejection::Malformed("public_key"))?];
        Ok(AttestedCredential { aaguid, credential_id, public_key: PublicKey::from_cose(cose)? })
    }

    /// The rp id hash, user presence and verification (unless the ceremony asked for neither),
    /// and the backup flags' consistency.
    pub fn check(&self, rp_id: &str, gesture: Gesture) -> Result<(), Rejection> {
        if self.rp_id_hash[..] != Sha256::digest(rp_id.as_bytes())[..] {
            return Err(Rejection::WrongRpId);
        }
        if gesture == Gesture::Verified && self.flags & FLAG_UP == 0 {
            return Err(Rejection::UserNotPresent);
        }
        if gesture == Gesture::Verified && self.flags & FLAG_UV == 0 {
            return Err(Rejection::UserNotVerified);
        }
        if self.flags & FLAG_BS != 0 && self.flags & FLAG_BE == 0 {
            return Err(Rejection::Malformed("authenticator_data"));
        }
        Ok(())
    }

    /// The credential may be backed up (a synced passkey).
    pub fn backup_eligible(&self) -> bool {
        self.flags & FLAG_BE != 0
    }

    /// The credential is backed up now.
    pub fn backed_up(&self) -> bool {
        self.flags & FLAG_BS != 0
    }
}

/// The sign counter must grow whenever either side is non-zero; a counter that did not is the
/// sign of a cloned authenticator (WebAuthn §6.1.1).
pub fn check_counter(stored: u32, received: u32) -> Result<(), Rejection> {
    if (stored != 0 || received != 0) && received <= stored {
        return Err(Rejection::CounterWentBack);
    }
    Ok(())
}

/// A registration's `attestationObject`: with attestation "none" only its authenticator data
/// matters; the statement, whatever its format, is not trusted and not kept.
pub fn authenticator_data_of_attestation(attestation_object: &[u8]) -> Result<Vec<u8>, Rejection> {
    let mut authenticator_data = None;
    cbor::each_entry(attestation_object, |key, d| {
        match key {
            cbor::Key::Text("authData") => authenticator_data = Some(d.bytes().ok()?.to_vec()),
            _ => d.skip().ok()?,
        }
        Some(())
    })
    .and(authenticator_data)
    .ok_or(Rejection::Malformed("attestation_object"))
}

/// The CBOR of WebAuthn (COSE keys, attestation objects), read with `minicbor`'s decoder:
/// definite-length maps, as CTAP2's canonical encoding writes them.
mod cbor {
    use minicbor::data::Type;
    use minicbor::Decoder;

    pub enum Key<'b> {
        Int(i64),
        Text(&'b str),
        Other,
    }

    /// The length of the one data item at the start of `bytes`.
    pub fn item_len(bytes: &[u8]) -> Option<usize> {
        let mut d = Decoder::new(bytes);
        d.skip().ok()?;
        Some(d.position())
    }

    /// Hands each key of the map that `bytes` holds (nothing after it) to `entry`, with the
    /// decoder at its value, which `entry` reads or skips; `None` if anything is malformed.
    pub fn each_entry<'b>(
        bytes: &'b [u8],
        mut entry: impl FnMut(Key<'b>, &mut Decoder<'b>) -> Option<()>,
    ) -> Option<()> {
        let mut d = Decoder::new(bytes);
        for _ in 0..d.map().ok()?? {
            let key = match d.datatype().ok()? {
                Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64 => {
                    Key::Int(d.i64().ok()?)
                }
                Type::String => Key::Text(d.str().ok()?),
                _ => {
                    d.skip().ok()?;
                    Key::Other
                }
            };
            entry(key, &mut d)?;
        }
        (d.position() == bytes.len()).then_some(())
    }

    fn is_int(d: &Decoder<'_>) -> bool {
        matches!(
            d.datatype(),
            Ok(Type::U8 | Type::U16 | Type::U32 | Type::U64 | Type::I8 | Type::I16 | Type::I32 | Type::I64)
        )
    }

    /// An integer value, or `Some(None)` (skipped) for a value of another type.
    pub fn int(d: &mut Decoder<'_>) -> Option<Option<i64>> {
        if is_int(d) {
            return Some(Some(d.i64().ok()?));
        }
        d.skip().ok()?;
        Some(None)
    }

    /// A byte string value, or `Some(None)` (skipped) for a value of another type.
    pub fn bytes(d: &mut Decoder<'_>) -> Option<Option<Vec<u8>>> {
        if d.datatype().ok()? == Type::Bytes {
            return Some(Some(d.bytes().ok()?.to_vec()));
        }
        d.skip().ok()?;
        Some(None)
    }
}

/// A registration response, checked: the new credential and the flags it was made with.
#[derive(Debug)]
pub struct Registered {
    pub credential_id: Vec<u8>,
    pub public_key: PublicKey,
    pub aaguid: [u8; 16],
    pub sign_count: u32,
    pub backup_eligible: bool,
    pub backed_up: bool,
}

/// Checks a registration (`navigator.credentials.create`) against what we asked for.
pub fn verify_registration(
    client_data: &ClientData,
    attestation_object: &[u8],
    expected: &Expected<'_>,
    gesture: Gesture,
) -> Result<Registered, Rejection> {
    client_data.check(Ceremony::Create, expected)?;
    let data = AuthenticatorData::parse(&authenticator_data_of_attestation(attestation_object)?)?;
    data.check(expected.rp_id, gesture)?;
    let (backup_eligible, backed_up, sign_count) = (data.backup_eligible(), data.backed_up(), data.sign_count);
    let attested = data.attested.ok_or(Rejection::Malformed("authenticator_data"))?;
    Ok(Registered {
        credential_id: attested.credential_id,
        public_key: attested.public_key,
        aaguid: attested.aaguid,
        sign_count,
        backup_eligible,
        backed_up,
    })
}

/// An assertion (`navigator.credentials.get`), to check against the stored credential.
pub struct Assertion<'a> {
    pub client_data: &'a ClientData,
    pub client_data_json: &'a [u8],
    pub authenticator_data: &'a [u8],
    pub signature: &'a [u8],
    pub user_handle: Option<&'a [u8]>,
}

/// What a valid assertion tells about the credential now.
#[derive(Debug, PartialEq, Eq)]
pub struct Asserted {
    pub sign_count: u32,
    pub backed_up: bool,
}

/// Checks an assertion made with the credential whose key, counter, user handle and backup
/// eligibility are stored.
pub fn verify_assertion(
    assertion: &Assertion<'_>,
    expected: &Expected<'_>,
    key: &PublicKey,
    stored_count: u32,
    user_handle: &[u8],
    stored_backup_eligible: bool,
) -> Result<Asserted, Rejection> {
    assertion.client_data.check(Ceremony::Get, expected)?;
    if assertion.user_handle.is_some_and(|handle| handle != user_handle) {
        return Err(Rejection::WrongUser);
    }
    check_assertion_flags(assertion.authenticator_data, stored_backup_eligible)?;
    let data = AuthenticatorData::parse(assertion.authenticator_data)?;
    data.check(expected.rp_id, Gesture::Verified)?;
    key.verify(assertion.authenticator_data, assertion.client_data_json, assertion.signature)?;
    check_counter(stored_count, data.sign_count)?;
    Ok(Asserted { sign_count: data.sign_count, backed_up: data.backed_up() })
}

/// The flags an assertion may not have (WebAuthn Level 3 §6.1, §7.2): AT, which only a
/// registration sets (checked before the data is parsed, so whatever follows the flag is refused
/// as a failed proof, not read), and a BE that differs from the registered one, which a
/// credential keeps for its whole life (§6.1.3). Data too short to hold flags is left to the parser.
fn check_assertion_flags(authenticator_data: &[u8], stored_backup_eligible: bool) -> Result<(), Rejection> {
    let Some(&flags) = authenticator_data.get(32) else {
        return Ok(());
    };
    if flags & FLAG_AT != 0 {
        return Err(Rejection::AttestedDataInAssertion);
    }
    if (flags & FLAG_BE != 0) != stored_backup_eligible {
        return Err(Rejection::BackupEligibilityChanged);
    }
    Ok(())
}

/// The authenticator's name for the AAGUIDs of common passkey providers (from the community
/// list at passkeydeveloper/passkey-authenticator-aaguids), `None` for others and for the
/// all-zero AAGUID that "none" attestation often carries.
pub fn authenticator_name(aaguid: &[u8; 16]) -> Option<&'static str> {
    let hex: String = aaguid.iter().map(|b| format!("{b:02x}")).collect();
    KNOWN_AUTHENTICATORS.iter().find(|(id, _)| *id == hex).map(|(_, name)| *name)
}

const KNOWN_AUTHENTICATORS: [(&str, &str); 18] = [
    ("fbfc3007154e4ecc8c0b6e020557d7bd", "iCloud Keychain"),
    ("dd4ec289e01d41c9bb8970fa845d4bf2", "iCloud Keychain (managed)"),
    ("ea9b8d664d011d213ce4b6b48cb575d4", "Google Password Manager"),
    ("adce000235bcc60a648b0b25f1f05503", "Chrome on Mac"),
    ("771b48fdd3d44f749232fc157ab0507a", "Edge on Mac"),
    ("b53976664885aa6bcebfe52262a439a2", "Chromium browser"),
    ("08987058cadc4b81b6e130de50dcbe96", "Windows Hello"),
    ("9ddd1817af5a4672a2b93e3dd95000a9", "Windows Hello"),
    ("6028b017b1d44c02b4b3afcdafc96bb2", "Windows Hello"),
    ("53414d53554e47000000000000000000", "Samsung Pass"),
    ("bada5566a7aa401fbd9645619a55120d", "1Password"),
    ("d548826e79b4db40a3d811116f7e8349", "Bitwarden"),
    ("531126d6e717415c93203d9aa6981239", "Dashlane"),
    ("b84e404815dc4dd08640f4f60813c8af", "NordPass"),
    ("0ea242b443c44a1b8b17dd6d0b6baec6", "Keeper"),
    ("f38095407f1449c1a8b38f813b225541", "Enpass"),
    ("fdb141b25d84443e8a354698c205a502", "KeePassXC"),
    ("50726f746f6e5061737350726f746f6e", "Proton Pass"),
];

/// The JSON forms of WebAuthn Level 3 (`PublicKeyCredential.toJSON()`) the browser sends back.
pub mod json {
    use serde::Deserialize;

    /// `RegistrationResponseJSON`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct RegistrationResponse {
        pub id: String,
        pub raw_id: Option<String>,
        #[serde(rename = "type")]
        pub kind: String,
        pub response: AttestationResponse,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AttestationResponse {
        #[serde(rename = "clientDataJSON")]
        pub client_data_json: String,
        pub attestation_object: String,
        #[serde(default)]
        pub transports: Vec<String>,
    }

    /// `AuthenticationResponseJSON`.
    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AuthenticationResponse {
        pub id: String,
        pub raw_id: Option<String>,
        #[serde(rename = "type")]
        pub kind: String,
        pub response: AssertionResponse,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct AssertionResponse {
        #[serde(rename = "clientDataJSON")]
        pub client_data_json: String,
        pub authenticator_data: String,
        pub signature: String,
        pub user_handle: Option<String>,
    }
}

/// A credential's id as the JSON forms carry it, checked: `id` and `rawId` agree, and it is
/// base64url of 1 to 1023 bytes. Answers it re-encoded without padding (how we store it).
pub fn credential_id(kind: &str, id: &str, raw_id: Option<&str>) -> Result<String, Rejection> {
    if kind != "public-key" {
        return Err(Rejection::Malformed("type"));
    }
    let bytes = decode("id", id)?;
    if bytes.is_empty() || bytes.len() > MAX_CREDENTIAL_ID_BYTES {
        return Err(Rejection::Malformed("id"));
    }
    if raw_id.is_some_and(|raw| decode("raw_id", raw).ok().as_deref() != Some(&bytes[..])) {
        return Err(Rejection::Malformed("raw_id"));
    }
    Ok(encode(&bytes))
}

/// Transports a registration may report (kept as hints for later ceremonies).
pub fn known_transports(reported: &[String]) -> Vec<String> {
    const KNOWN: [&str; 6] = ["ble", "hybrid", "internal", "nfc", "smart-card", "usb"];
    let mut kept: Vec<String> = reported.iter().filter(|t| KNOWN.contains(&t.as_str())).cloned().collect();
    kept.sort();
    kept.dedup();
    kept
}

/// A passkey's name as the user gives it: trimmed, 1 to 64 characters, nothing invisible.
pub fn passkey_name(raw: &str) -> Result<String, &'static str> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Enter a name for the passkey.");
    }
    if name.chars().count() > 64 {
        return Err("A passkey's name can be at most 64 characters.");
    }
    if name.chars().any(|c| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
    }) {
        return Err("A passkey's name cannot contain control or invisible characters.");
    }
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ciborium::Value;

    const ORIGIN: &str = "https://wemasy.example";
    const RP: &str = "wemasy.example";

    fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        format!(r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#, encode(challenge))
            .into_bytes()
    }

    fn expected(challenge: &str) -> Expected<'_> {
        Expected { challenge, origin: ORIGIN, rp_id: RP }
    }

    fn cbor(value: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        ciborium::into_writer(value, &mut out).unwrap();
        out
    }

    fn ed25519_cose(key: &ed25519_dalek::VerifyingKey) -> Vec<u8> {
        cbor(&Value::Map(vec![
            (1.into(), 1.into()),
            (3.into(), EDDSA.into()),
            ((-1).into(), 6.into()),
            ((-2).into(), Value::Bytes(key.to_bytes().to_vec())),
        ]))
    }

    fn p256_cose(key: &p256::ecdsa::VerifyingKey) -> Vec<u8> {
        let point = key.to_sec1_point(false);
        let bytes = point.as_bytes();
        cbor(&Value::Map(vec![
            (1.into(), 2.into()),
            (3.into(), ES256.into()),
            ((-1).into(), 1.into()),
            ((-2).into(), Value::Bytes(bytes[1..33].to_vec())),
            ((-3).into(), Value::Bytes(bytes[33..65].to_vec())),
        ]))
    }

    fn auth_data(rp: &str, flags: u8, count: u32, attested: Option<(&[u8], &[u8])>) -> Vec<u8> {
        let mut data = Sha256::digest(rp.as_bytes()).to_vec();
        data.push(flags | if attested.is_some() { FLAG_AT } else { 0 });
        data.extend_from_slice(&count.to_be_bytes());
        if let Some((id, cose)) = attested {
            data.extend_from_slice(&[0xad; 16]);
            data.extend_from_slice(&(id.len() as u16).to_be_bytes());
            data.extend_from_slice(id);
            data.extend_from_slice(cose);
        }
        data
    }

    fn attestation(auth_data: Vec<u8>) -> Vec<u8> {
        cbor(&Value::Map(vec![
            ("fmt".into(), "none".into()),
            ("attStmt".into(), Value::Map(vec![])),
            ("authData".into(), Value::Bytes(auth_data)),
        ]))
    }

    fn ed_key() -> ed25519_dalek::SigningKey {
        ed25519_dalek::SigningKey::from_bytes(&[7u8; 32])
    }

    fn p256_key() -> p256::ecdsa::SigningKey {
        p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap()
    }

    #[test]
    fn a_registration_with_an_ed25519_key_is_accepted() {
        let challenge = [1u8; 32];
        let cose = ed25519_cose(&ed_key().verifying_key());
        let json = client_data("webauthn.create", &challenge, ORIGIN);
        let object = attestation(auth_data(RP, FLAG_UP | FLAG_UV | FLAG_BE, 0, Some((b"cred-1", &cose))));
        let parsed = ClientData::parse(&json).unwrap();
        let registered =
            verify_registration(&parsed, &object, &expected(&encode(&challenge)), Gesture::Verified).unwrap();
        assert_eq!(registered.credential_id, b"cred-1");
        assert_eq!(registered.public_key.algorithm, EDDSA);
        assert!(registered.backup_eligible && !registered.backed_up);
    }

    #[test]
    fn a_registration_is_refused_for_another_origin_rp_type_or_challenge() {
        let challenge = [1u8; 32];
        let cose = ed25519_cose(&ed_key().verifying_key());
        let good = attestation(auth_data(RP, FLAG_UP | FLAG_UV, 0, Some((b"c", &cose))));
        let check = |json: Vec<u8>, object: &[u8]| {
            let parsed = ClientData::parse(&json).unwrap();
            verify_registration(&parsed, object, &expected(&encode(&challenge)), Gesture::Verified).unwrap_err()
        };
        assert_eq!(
            check(client_data("webauthn.create", &challenge, "https://evil.example"), &good),
            Rejection::WrongOrigin
        );
        assert_eq!(check(client_data("webauthn.get", &challenge, ORIGIN), &good), Rejection::WrongType);
        assert_eq!(check(client_data("webauthn.create", &[2u8; 32], ORIGIN), &good), Rejection::WrongChallenge);
        let other_rp = attestation(auth_data("evil.example", FLAG_UP | FLAG_UV, 0, Some((b"c", &cose))));
        assert_eq!(check(client_data("webauthn.create", &challenge, ORIGIN), &other_rp), Rejection::WrongRpId);
        let no_uv = attestation(auth_data(RP, FLAG_UP, 0, Some((b"c", &cose))));
        assert_eq!(check(client_data("webauthn.create", &challenge, ORIGIN), &no_uv), Rejection::UserNotVerified);
    }

    #[test]
    fn a_conditional_create_needs_neither_presence_nor_verification_but_every_other_check() {
        let challenge = [1u8; 32];
        let cose = ed25519_cose(&ed_key().verifying_key());
        let json = client_data("webauthn.create", &challenge, ORIGIN);
        let parsed = ClientData::parse(&json).unwrap();
        let silent = attestation(auth_data(RP, 0, 0, Some((b"c", &cose))));
        let automatic = verify_registration(&parsed, &silent, &expected(&encode(&challenge)), Gesture::None);
        assert_eq!(automatic.unwrap().credential_id, b"c");
        let asked = verify_registration(&parsed, &silent, &expected(&encode(&challenge)), Gesture::Verified);
        assert_eq!(asked.unwrap_err(), Rejection::UserNotPresent);
        let other_rp = attestation(auth_data("evil.example", 0, 0, Some((b"c", &cose))));
        let refused = verify_registration(&parsed, &other_rp, &expected(&encode(&challenge)), Gesture::None);
        assert_eq!(refused.unwrap_err(), Rejection::WrongRpId);
    }

    #[test]
    fn unsupported_or_broken_keys_are_refused() {
        let rsa = cbor(&Value::Map(vec![(1.into(), 3.into()), (3.into(), (-257).into())]));
        assert_eq!(PublicKey::from_cose(&rsa).unwrap_err(), Rejection::UnsupportedKey);
        let short = cbor(&Value::Map(vec![
            (1.into(), 2.into()),
            (3.into(), ES256.into()),
            ((-1).into(), 1.into()),
            ((-2).into(), Value::Bytes(vec![1; 31])),
            ((-3).into(), Value::Bytes(vec![1; 32])),
        ]));
        assert_eq!(PublicKey::from_cose(&short).unwrap_err(), Rejection::UnsupportedKey);
        assert!(matches!(PublicKey::from_cose(&[0xff, 0x00]), Err(Rejection::Malformed(_))));
        assert!(matches!(AuthenticatorData::parse(&[0; 10]), Err(Rejection::Malformed(_))));
        assert!(matches!(authenticator_data_of_attestation(b"\xa1"), Err(Rejection::Malformed(_))));
    }

    #[test]
    fn cbor_is_read_strictly_but_other_key_types_and_statements_are_skipped() {
        let key = ed_key().verifying_key();
        let cose = cbor(&Value::Map(vec![
            (1.into(), 1.into()),
            (3.into(), EDDSA.into()),
            ((-1).into(), 6.into()),
            ((-2).into(), Value::Bytes(key.to_bytes().to_vec())),
        ]));
        assert!(PublicKey::from_cose(&cose).is_ok());
        let mut trailing = cose.clone();
        trailing.push(0);
        assert!(matches!(PublicKey::from_cose(&trailing), Err(Rejection::Malformed(_))));
        // An indefinite-length map (0xbf … 0xff): CTAP2 never writes one.
        let mut indefinite = vec![0xbf];
        indefinite.extend_from_slice(&cose[1..]);
        indefinite.push(0xff);
        assert!(matches!(PublicKey::from_cose(&indefinite), Err(Rejection::Malformed(_))));
        // RSA's -1 is the modulus (bytes), not a curve: unsupported, not malformed.
        let rsa = cbor(&Value::Map(vec![
            (1.into(), 3.into()),
            (3.into(), (-257).into()),
            ((-1).into(), Value::Bytes(vec![7; 256])),
            ((-2).into(), Value::Bytes(vec![1, 0, 1])),
        ]));
        assert_eq!(PublicKey::from_cose(&rsa).unwrap_err(), Rejection::UnsupportedKey);
    }

    #[test]
    fn an_attestation_statement_is_skipped_and_auth_data_is_what_counts() {
        // A "packed" statement with a certificate chain is skipped; authData is what counts.
        let packed = cbor(&Value::Map(vec![
            ("fmt".into(), "packed".into()),
            (
                "attStmt".into(),
                Value::Map(vec![
                    ("alg".into(), ES256.into()),
                    ("sig".into(), Value::Bytes(vec![9; 70])),
                    ("x5c".into(), Value::Array(vec![Value::Bytes(vec![8; 300])])),
                ]),
            ),
            ("authData".into(), Value::Bytes(vec![5; 37])),
        ]));
        assert_eq!(authenticator_data_of_attestation(&packed).unwrap(), vec![5; 37]);
        let without = cbor(&Value::Map(vec![("fmt".into(), "none".into())]));
        assert!(authenticator_data_of_attestation(&without).is_err());
    }

    /// An assertion with these flags and counter, against a credential registered with the BE
    /// flag it has now.
    fn assert_with(
        key: &PublicKey,
        sign: impl Fn(&[u8]) -> Vec<u8>,
        flags: u8,
        count: u32,
        stored: u32,
    ) -> Result<Asserted, Rejection> {
        assert_signed(key, sign, auth_data(RP, flags, count, None), (stored, flags & FLAG_BE != 0))
    }

    /// An assertion over `data`, against a credential with this stored counter and BE flag.
    fn assert_signed(
        key: &PublicKey,
        sign: impl Fn(&[u8]) -> Vec<u8>,
        data: Vec<u8>,
        (stored, stored_backup_eligible): (u32, bool),
    ) -> Result<Asserted, Rejection> {
        let challenge = [3u8; 32];
        let json = client_data("webauthn.get", &challenge, ORIGIN);
        let mut signed = data.clone();
        signed.extend_from_slice(&Sha256::digest(&json));
        let signature = sign(&signed);
        let parsed = ClientData::parse(&json).unwrap();
        let assertion = Assertion {
            client_data: &parsed,
            client_data_json: &json,
            authenticator_data: &data,
            signature: &signature,
            user_handle: Some(b"user-1"),
        };
        verify_assertion(&assertion, &expected(&encode(&challenge)), key, stored, b"user-1", stored_backup_eligible)
    }

    #[test]
    fn an_assertion_carrying_attested_credential_data_is_refused() {
        use ed25519_dalek::Signer as _;
        let cose = ed25519_cose(&ed_key().verifying_key());
        let ed = PublicKey::from_cose(&cose).unwrap();
        let sign = |m: &[u8]| ed_key().sign(m).to_bytes().to_vec();
        let flags = FLAG_UP | FLAG_UV;
        let attested = auth_data(RP, flags, 0, Some((b"cred-1", &cose)));
        assert_eq!(assert_signed(&ed, sign, attested, (0, false)), Err(Rejection::AttestedDataInAssertion));
        // The flag alone, whatever follows it, is a refused proof, not a malformed request.
        let mut flag_only = auth_data(RP, flags | FLAG_AT, 0, None);
        flag_only.extend_from_slice(&[0xff; 3]);
        assert_eq!(assert_signed(&ed, sign, flag_only, (0, false)), Err(Rejection::AttestedDataInAssertion));
        assert!(assert_signed(&ed, sign, auth_data(RP, flags, 0, None), (0, false)).is_ok());
    }

    #[test]
    fn an_assertion_whose_backup_eligibility_changed_is_refused() {
        use ed25519_dalek::Signer as _;
        let ed = PublicKey::from_cose(&ed25519_cose(&ed_key().verifying_key())).unwrap();
        let sign = |m: &[u8]| ed_key().sign(m).to_bytes().to_vec();
        let (plain, synced) = (FLAG_UP | FLAG_UV, FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS);
        let refused = Err(Rejection::BackupEligibilityChanged);
        assert_eq!(assert_signed(&ed, sign, auth_data(RP, plain, 0, None), (0, true)), refused);
        assert_eq!(assert_signed(&ed, sign, auth_data(RP, synced, 0, None), (0, false)), refused);
        assert_eq!(assert_signed(&ed, sign, auth_data(RP, plain | FLAG_BE, 0, None), (0, false)), refused);
        // BS may change (a passkey that gets backed up), BE may not.
        let backed_up = assert_signed(&ed, sign, auth_data(RP, synced, 0, None), (0, true));
        assert_eq!(backed_up, Ok(Asserted { sign_count: 0, backed_up: true }));
        let not_yet = assert_signed(&ed, sign, auth_data(RP, plain | FLAG_BE, 0, None), (0, true));
        assert_eq!(not_yet, Ok(Asserted { sign_count: 0, backed_up: false }));
    }

    #[test]
    fn assertions_of_both_algorithms_verify_and_a_bad_signature_does_not() {
        use ed25519_dalek::Signer as _;
        let ed = PublicKey::from_cose(&ed25519_cose(&ed_key().verifying_key())).unwrap();
        let sign_ed = |m: &[u8]| ed_key().sign(m).to_bytes().to_vec();
        assert_eq!(
            assert_with(&ed, sign_ed, FLAG_UP | FLAG_UV, 0, 0),
            Ok(Asserted { sign_count: 0, backed_up: false })
        );
        let ec = PublicKey::from_cose(&p256_cose(p256_key().verifying_key())).unwrap();
        let sign_ec = |m: &[u8]| {
            let signature: p256::ecdsa::Signature = p256_key().sign(m);
            signature.to_der().as_bytes().to_vec()
        };
        assert_eq!(assert_with(&ec, sign_ec, FLAG_UP | FLAG_UV | FLAG_BE | FLAG_BS, 5, 4).unwrap().sign_count, 5);
        let flip = |m: &[u8]| {
            let mut s = ed_key().sign(m).to_bytes().to_vec();
            s[3] ^= 1;
            s
        };
        assert_eq!(assert_with(&ed, flip, FLAG_UP | FLAG_UV, 0, 0).unwrap_err(), Rejection::BadSignature);
        assert_eq!(assert_with(&ec, sign_ed, FLAG_UP | FLAG_UV, 0, 0).unwrap_err(), Rejection::BadSignature);
        assert_eq!(assert_with(&ed, sign_ed, FLAG_UP, 0, 0).unwrap_err(), Rejection::UserNotVerified);
        assert_eq!(assert_with(&ed, sign_ed, FLAG_UV, 0, 0).unwrap_err(), Rejection::UserNotPresent);
    }

    #[test]
    fn a_counter_that_does_not_grow_is_a_clone_warning() {
        use ed25519_dalek::Signer as _;
        let ed = PublicKey::from_cose(&ed25519_cose(&ed_key().verifying_key())).unwrap();
        let sign = |m: &[u8]| ed_key().sign(m).to_bytes().to_vec();
        assert_eq!(assert_with(&ed, sign, FLAG_UP | FLAG_UV, 7, 7).unwrap_err(), Rejection::CounterWentBack);
        assert_eq!(assert_with(&ed, sign, FLAG_UP | FLAG_UV, 3, 7).unwrap_err(), Rejection::CounterWentBack);
        assert_eq!(assert_with(&ed, sign, FLAG_UP | FLAG_UV, 0, 7).unwrap_err(), Rejection::CounterWentBack);
        assert!(check_counter(0, 0).is_ok() && check_counter(0, 1).is_ok() && check_counter(1, 2).is_ok());
    }

    #[test]
    fn another_users_handle_is_refused() {
        let challenge = [3u8; 32];
        let json = client_data("webauthn.get", &challenge, ORIGIN);
        let parsed = ClientData::parse(&json).unwrap();
        let data = auth_data(RP, FLAG_UP | FLAG_UV, 0, None);
        let assertion = Assertion {
            client_data: &parsed,
            client_data_json: &json,
            authenticator_data: &data,
            signature: &[0; 64],
            user_handle: Some(b"user-2"),
        };
        let key = PublicKey::from_cose(&ed25519_cose(&ed_key().verifying_key())).unwrap();
        let result = verify_assertion(&assertion, &expected(&encode(&challenge)), &key, 0, b"user-1", false);
        assert_eq!(result.unwrap_err(), Rejection::WrongUser);
    }

    #[test]
    fn known_aaguids_are_named() {
        let mut google = [0u8; 16];
        google.copy_from_slice(
            &(0..16)
                .map(|i| u8::from_str_radix(&"ea9b8d664d011d213ce4b6b48cb575d4"[i * 2..i * 2 + 2], 16).unwrap())
                .collect::<Vec<_>>(),
        );
        assert_eq!(authenticator_name(&google), Some("Google Password Manager"));
        assert_eq!(authenticator_name(&[0; 16]), None);
    }

    #[test]
    fn credential_ids_and_names_are_checked() {
        assert_eq!(credential_id("public-key", "AQI=", Some("AQI")).unwrap(), "AQI");
        assert!(credential_id("public-key", "AQI", Some("AQM")).is_err());
        assert!(credential_id("password", "AQI", None).is_err());
        assert!(credential_id("public-key", "", None).is_err());
        assert!(credential_id("public-key", &encode(&[1; 1024]), None).is_err());
        assert_eq!(passkey_name("  Work laptop ").unwrap(), "Work laptop");
        assert!(passkey_name(" ").is_err() && passkey_name(&"x".repeat(65)).is_err());
        assert!(passkey_name("a\u{202E}b").is_err() && passkey_name("a\nb").is_err());
        assert_eq!(passkey_name("Ключ 🔑").unwrap(), "Ключ 🔑");
        let reported = ["usb".to_string(), "internal".into(), "usb".into(), "<script>".into()];
        assert_eq!(known_transports(&reported), vec!["internal", "usb"]);
    }

    #[test]
    fn base64url_with_or_without_padding_decodes() {
        assert_eq!(decode("x", "AQI").unwrap(), vec![1, 2]);
        assert_eq!(decode("x", "AQI=").unwrap(), vec![1, 2]);
        assert!(decode("x", "A+/").is_err());
    }
}

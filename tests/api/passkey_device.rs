//! A phone or security key for the passkey tests: 1Password's software authenticator
//! (`passkey-authenticator`) behind their WebAuthn client (`passkey-client`), fed the options the
//! worker answers and answering WebAuthn's JSON forms. `Device::sign_raw` skips the client and
//! talks CTAP2 to the authenticator, with client data the test writes: that is how a phishing
//! page, a replay or a tampered browser looks to the worker; `Device::sign_with_flags` also sets
//! the authenticator data's flags, as a tampered authenticator could.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::collections::HashMap;

use passkey_authenticator::{
    Authenticator, CoseKeyPair, CredentialStore, DiscoverabilitySupport, StoreInfo, UiHint, UserCheck,
    UserValidationMethod,
};
use passkey_client::{Client, DefaultClientData};
use passkey_crypto::iana::{self, EnumI64};
use passkey_crypto::{AvailableBackend, AvailableSecretKey, SecretKeyT};
use passkey_types::ctap2::make_credential::{self, PublicKeyCredentialRpEntity, PublicKeyCredentialUserEntity};
use passkey_types::ctap2::{get_assertion, Aaguid, AttestedCredentialData, Ctap2Error, Flags, StatusCode};
use passkey_types::webauthn::{CredentialCreationOptions, CredentialRequestOptions, PublicKeyCredentialDescriptor};
use passkey_types::Passkey;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use url::Url;

/// The person holding the device: present, and verified whenever the client asks for it.
struct Holder;

#[async_trait::async_trait]
impl UserValidationMethod for Holder {
    type PasskeyItem = Passkey;

    async fn check_user<'a>(
        &self,
        _hint: UiHint<'a, Passkey>,
        presence: bool,
        verification: bool,
    ) -> Result<UserCheck, Ctap2Error> {
        Ok(UserCheck { presence, verification })
    }

    fn is_presence_enabled(&self) -> bool {
        true
    }

    fn is_verification_enabled(&self) -> Option<bool> {
        Some(true)
    }
}

/// The device's passkeys, found by rp id when the relying party names none (a discoverable
/// credential, as a passkey is), else by the ids it allows — and never for another rp id.
#[derive(Default)]
struct Keychain(HashMap<Vec<u8>, Passkey>);

#[async_trait::async_trait]
impl CredentialStore for Keychain {
    type PasskeyItem = Passkey;

    async fn find_credentials(
        &self,
        allow_credentials: Option<&[PublicKeyCredentialDescriptor]>,
        rp_id: &str,
        _user_handle: Option<&[u8]>,
    ) -> Result<Vec<Passkey>, StatusCode> {
        let allowed = |p: &Passkey| match allow_credentials {
            Some(list) if !list.is_empty() => list.iter().any(|d| *d.id == *p.credential_id),
            _ => true,
        };
        let found: Vec<Passkey> = self.0.values().filter(|p| p.rp_id == rp_id && allowed(p)).cloned().collect();
        if found.is_empty() {
            Err(Ctap2Error::NoCredentials.into())
        } else {
            Ok(found)
        }
    }

    async fn save_credential(
        &mut self,
        cred: Passkey,
        _user: PublicKeyCredentialUserEntity,
        _rp: PublicKeyCredentialRpEntity,
        _options: make_credential::Options,
    ) -> Result<(), StatusCode> {
        self.0.insert(cred.credential_id.to_vec(), cred);
        Ok(())
    }

    async fn update_credential(&mut self, cred: &Passkey) -> Result<(), StatusCode> {
        self.0.insert(cred.credential_id.to_vec(), cred.clone());
        Ok(())
    }

    async fn get_info(&self) -> StoreInfo {
        StoreInfo { discoverability: DiscoverabilitySupport::Full }
    }
}

type WebAuthnClient = Client<Keychain, Holder, AvailableBackend, public_suffix::PublicSuffixList, ()>;

pub struct Device {
    client: WebAuthnClient,
    algorithm: iana::Algorithm,
    /// The page's origin as the client reports it (`http://localhost:{port}`).
    pub origin: Url,
}

impl Device {
    pub fn es256(base: &str) -> Self {
        Self::new(base, iana::Algorithm::ES256)
    }

    pub fn ed25519(base: &str) -> Self {
        Self::new(base, iana::Algorithm::EdDSA)
    }

    fn new(base: &str, algorithm: iana::Algorithm) -> Self {
        let authenticator = Authenticator::new(Aaguid::new_empty(), Keychain::default(), Holder, AvailableBackend);
        let client = Client::new(authenticator).allows_insecure_localhost(true);
        Self { client, algorithm, origin: Url::parse(base).unwrap() }
    }

    /// Counts its signatures, as a security key does (synced passkeys answer 0 instead).
    pub fn with_signature_counter(mut self) -> Self {
        self.client.authenticator_mut().set_make_credentials_with_signature_counter(true);
        self
    }

    /// `navigator.credentials.create({publicKey})` on the worker's options (the `{publicKey}`
    /// answer), offering only this device's algorithm: `RegistrationResponseJSON`.
    pub async fn create(&mut self, options: &Value) -> Value {
        let mut options = options.clone();
        let alg = self.algorithm.to_i64();
        let offered = options["publicKey"]["pubKeyCredParams"].as_array().expect("pubKeyCredParams").clone();
        assert!(offered.iter().any(|p| p["alg"] == alg), "the worker offers alg {alg}: {offered:?}");
        options["publicKey"]["pubKeyCredParams"] = json!([{ "type": "public-key", "alg": alg }]);
        let options: CredentialCreationOptions = serde_json::from_value(options).expect("creation options parse");
        let origin = self.origin.clone();
        let created = self.client.register(&origin, options, DefaultClientData).await.expect("the device registers");
        serde_json::to_value(created).unwrap()
    }

    /// `navigator.credentials.get({publicKey})` on the worker's options: `AuthenticationResponseJSON`.
    pub async fn get(&mut self, options: &Value) -> Value {
        let options: CredentialRequestOptions = serde_json::from_value(options.clone()).expect("request options parse");
        let origin = self.origin.clone();
        let asserted = self.client.authenticate(&origin, options, DefaultClientData).await.expect("the device signs");
        serde_json::to_value(asserted).unwrap()
    }

    /// A registration over client data the test writes, talking CTAP2 to the authenticator:
    /// with `user_verified` false, the authenticator leaves the UV flag unset.
    pub async fn create_raw(&mut self, options: &Value, client_data: &Value, user_verified: bool) -> Value {
        let options: CredentialCreationOptions =
            serde_json::from_value(options.clone()).expect("creation options parse");
        let options = options.public_key;
        let client_data_json = serde_json::to_vec(client_data).unwrap();
        let request = make_credential::Request {
            client_data_hash: Sha256::digest(&client_data_json).to_vec().into(),
            rp: PublicKeyCredentialRpEntity { id: options.rp.id.clone().expect("rp id"), name: Some(options.rp.name) },
            user: options.user,
            pub_key_cred_params: options.pub_key_cred_params,
            exclude_list: None,
            extensions: None,
            options: make_credential::Options { rk: true, up: true, uv: user_verified },
            pin_auth: None,
            pin_protocol: None,
        };
        let made = self.client.authenticator_mut().make_credential(request).await.expect("the authenticator registers");
        let id = URL_SAFE_NO_PAD
            .encode(made.auth_data.attested_credential_data.as_ref().expect("credential").credential_id());
        let attestation = ciborium::Value::Map(vec![
            ("fmt".into(), made.fmt.clone().into()),
            ("attStmt".into(), made.att_stmt.clone()),
            ("authData".into(), ciborium::Value::Bytes(made.auth_data.to_vec())),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::into_writer(&attestation, &mut attestation_object).unwrap();
        credential_json(
            &id,
            json!({
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data_json),
                "attestationObject": URL_SAFE_NO_PAD.encode(attestation_object),
            }),
        )
    }

    /// An assertion over client data the test writes, for `rp_id`, with any credential of this
    /// device (no allow list), as a tampered or phishing client could produce it.
    pub async fn sign_raw(&mut self, rp_id: &str, client_data: &Value, user_verified: bool) -> Value {
        let client_data_json = serde_json::to_vec(client_data).unwrap();
        let request = get_assertion::Request {
            rp_id: rp_id.into(),
            client_data_hash: Sha256::digest(&client_data_json).to_vec().into(),
            allow_list: None,
            extensions: None,
            options: get_assertion::Options { up: true, uv: user_verified },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = self.client.authenticator_mut().get_assertion(request).await.expect("the authenticator signs");
        let id = URL_SAFE_NO_PAD.encode(&*response.credential.expect("credential").id);
        credential_json(
            &id,
            json!({
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data_json),
                "authenticatorData": URL_SAFE_NO_PAD.encode(response.auth_data.to_vec()),
                "signature": URL_SAFE_NO_PAD.encode(&*response.signature),
                "userHandle": response.user.map(|u| URL_SAFE_NO_PAD.encode(&*u.id)),
            }),
        )
    }

    /// An assertion like [`Device::sign_raw`]'s (user verified), whose authenticator data has
    /// `flags` (WebAuthn's bits: UP 0x01, UV 0x04, BE 0x08, BS 0x10, AT 0x40) and, with `attested`,
    /// the credential's attested data (its id and public key) after the counter, signed with the
    /// credential's own key: an authenticator that sends what it should not.
    pub async fn sign_with_flags(&mut self, rp_id: &str, client_data: &Value, flags: u8, attested: bool) -> Value {
        let client_data_json = serde_json::to_vec(client_data).unwrap();
        let client_data_hash = Sha256::digest(&client_data_json).to_vec();
        let request = get_assertion::Request {
            rp_id: rp_id.into(),
            client_data_hash: client_data_hash.clone().into(),
            allow_list: None,
            extensions: None,
            options: get_assertion::Options { up: true, uv: true },
            pin_auth: None,
            pin_protocol: None,
        };
        let response = self.client.authenticator_mut().get_assertion(request).await.expect("the authenticator signs");
        let credential_id = response.credential.expect("credential").id.to_vec();
        let passkey = self.client.authenticator().store().0.get(&credential_id).expect("a stored passkey").clone();
        let mut key = AvailableSecretKey::from_cose_key(&passkey.key).expect("the passkey's key");
        let mut auth_data = response.auth_data;
        auth_data.flags = Flags::from_bits_retain(flags);
        if attested {
            let public = CoseKeyPair::from_secret_key(&key).public;
            let data = AttestedCredentialData::new(Aaguid::new_empty(), credential_id.clone(), public).unwrap();
            auth_data.attested_credential_data = Some(data);
        }
        let auth_data = auth_data.to_vec();
        let signature = key.sign(&[auth_data.as_slice(), &client_data_hash].concat());
        let id = URL_SAFE_NO_PAD.encode(&credential_id);
        credential_json(
            &id,
            json!({
                "clientDataJSON": URL_SAFE_NO_PAD.encode(&client_data_json),
                "authenticatorData": URL_SAFE_NO_PAD.encode(auth_data),
                "signature": URL_SAFE_NO_PAD.encode(signature),
                "userHandle": passkey.user_handle.map(|h| URL_SAFE_NO_PAD.encode(&*h)),
            }),
        )
    }

    /// Client data as a browser writes it for `navigator.credentials.get` on `origin`.
    pub fn client_data(&self, challenge: &str, origin: &str) -> Value {
        json!({ "type": "webauthn.get", "challenge": challenge, "origin": origin, "crossOrigin": false })
    }

    /// Client data as a browser writes it for `navigator.credentials.create` on `origin`.
    pub fn creation_client_data(&self, challenge: &str, origin: &str) -> Value {
        json!({ "type": "webauthn.create", "challenge": challenge, "origin": origin, "crossOrigin": false })
    }

    /// Moves every stored credential to another relying party (its key unchanged): the device
    /// then signs for `rp_id`, as it would on a look-alike site where the user registered too.
    pub fn move_credentials_to(&mut self, rp_id: &str) {
        for passkey in self.client.authenticator_mut().store_mut().0.values_mut() {
            passkey.rp_id = rp_id.into();
        }
    }

    /// Sets the signature counter of every stored credential, as a cloned key would have it.
    pub fn set_counter(&mut self, counter: u32) {
        for passkey in self.client.authenticator_mut().store_mut().0.values_mut() {
            passkey.counter = Some(counter);
        }
    }

    /// The device's credentials as the worker should list them (base64url ids).
    pub fn credential_ids(&self) -> Vec<String> {
        self.client.authenticator().store().0.keys().map(|id| URL_SAFE_NO_PAD.encode(id)).collect()
    }

    pub fn descriptor_count(options: &Value, field: &str) -> usize {
        let list: Vec<PublicKeyCredentialDescriptor> =
            serde_json::from_value(options["publicKey"][field].clone()).unwrap_or_default();
        list.len()
    }
}

/// `PublicKeyCredential` JSON around a ceremony's `response`, as a browser's `toJSON()` writes it.
fn credential_json(id: &str, response: Value) -> Value {
    json!({ "id": id, "rawId": id, "type": "public-key", "clientExtensionResults": {}, "response": response })
}

/// The `challenge` of a `{publicKey}` options answer.
pub fn challenge_of(options: &Value) -> String {
    options["publicKey"]["challenge"].as_str().expect("challenge").to_string()
}

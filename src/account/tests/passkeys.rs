//! Passkeys: adding, naming and removing them, and the three ceremonies that use one (a sign-in,
//! the second step after a password, "Confirm it's you"), with a software authenticator made here
//! (P-256, attestation "none").

use std::cell::Cell;

use ciborium::Value as Cbor;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::signing_in::with_two_factor;
use super::*;
use crate::account::attempts::Refused;
use crate::account::passkeys::{self, CreationOptions, Error, PasskeyView, RelyingParty};
use crate::domain::tokens;
use crate::domain::webauthn::json::RegistrationResponse;
use crate::domain::webauthn::json::{AssertionResponse, AttestationResponse, AuthenticationResponse};
use crate::domain::webauthn::{encode, ES256};

const EMAIL: &str = "ada@example.com";
const ORIGIN: &str = "https://wemasy.example";
const RP_ID: &str = "wemasy.example";
/// Flags: user present, user verified; attested credential data.
const UP_UV: u8 = 0x05;
const AT: u8 = 0x40;

pub fn rp() -> RelyingParty {
    RelyingParty { origin: ORIGIN.into(), rp_id: RP_ID.into() }
}

/// The challenge of a ceremony's options (as the browser reads them).
pub fn challenge_of<T: Serialize>(options: &T) -> String {
    serde_json::to_value(options).unwrap()["challenge"].as_str().unwrap().to_string()
}

/// A passkey on a software authenticator: a P-256 key, its credential id, its counter, and the
/// user handle it was registered with.
pub struct Authenticator {
    key: SigningKey,
    pub credential_id: Vec<u8>,
    count: Cell<u32>,
    user_handle: std::cell::RefCell<String>,
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).unwrap();
    bytes
}

fn cbor(value: &Cbor) -> Vec<u8> {
    let mut out = Vec::new();
    ciborium::into_writer(value, &mut out).unwrap();
    out
}

fn client_data(kind: &str, challenge: &str) -> Vec<u8> {
    format!(r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{ORIGIN}","crossOrigin":false}}"#).into_bytes()
}

impl Authenticator {
    pub fn new() -> Self {
        let key = SigningKey::from_slice(&random::<32>()).expect("a P-256 key");
        let user_handle = Default::default();
        Self { key, credential_id: random::<16>().to_vec(), count: Cell::new(0), user_handle }
    }

    /// Another authenticator claiming this one's credential id (its signatures do not verify).
    pub fn forger_of(other: &Self) -> Self {
        let forger = Self::new();
        *forger.user_handle.borrow_mut() = other.user_handle.borrow().clone();
        Self { credential_id: other.credential_id.clone(), ..forger }
    }

    pub fn id(&self) -> String {
        encode(&self.credential_id)
    }

    fn cose(&self) -> Vec<u8> {
        let point = self.key.verifying_key().to_sec1_point(false);
        let xy = point.as_bytes();
        cbor(&Cbor::Map(vec![
            (1.into(), 2.into()),
            (3.into(), ES256.into()),
            ((-1).into(), 1.into()),
            ((-2).into(), Cbor::Bytes(xy[1..33].to_vec())),
            ((-3).into(), Cbor::Bytes(xy[33..65].to_vec())),
        ]))
    }

    fn auth_data(&self, flags: u8, count: u32) -> Vec<u8> {
        let mut data = Sha256::digest(RP_ID.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&count.to_be_bytes());
        data
    }

    /// `navigator.credentials.create` for these options, attestation "none".
    pub fn register<T: Serialize>(&self, options: &T) -> RegistrationResponse {
        self.register_with(options, UP_UV)
    }

    /// A create as a password manager answers a conditional create: neither presence nor verification.
    pub fn register_silently<T: Serialize>(&self, options: &T) -> RegistrationResponse {
        self.register_with(options, 0)
    }

    fn register_with<T: Serialize>(&self, options: &T, gesture: u8) -> RegistrationResponse {
        let options = serde_json::to_value(options).unwrap();
        *self.user_handle.borrow_mut() = options["user"]["id"].as_str().unwrap().to_string();
        let mut data = self.auth_data(gesture | AT, 0);
        data.extend_from_slice(&[0; 16]);
        data.extend_from_slice(&(self.credential_id.len() as u16).to_be_bytes());
        data.extend_from_slice(&self.credential_id);
        data.extend_from_slice(&self.cose());
        let attestation = cbor(&Cbor::Map(vec![
            ("fmt".into(), "none".into()),
            ("attStmt".into(), Cbor::Map(vec![])),
            ("authData".into(), Cbor::Bytes(data)),
        ]));
        let client_data = client_data("webauthn.create", options["challenge"].as_str().unwrap());
        let response = AttestationResponse {
            client_data_json: encode(&client_data),
            attestation_object: encode(&attestation),
            transports: vec!["internal".into()],
        };
        RegistrationResponse { id: self.id(), raw_id: Some(self.id()), kind: "public-key".into(), response }
    }

    /// `navigator.credentials.get` answering `challenge`, with the next counter.
    pub fn assert(&self, challenge: &str) -> AuthenticationResponse {
        self.count.set(self.count.get() + 1);
        self.assert_counted(challenge, self.count.get())
    }

    /// An assertion with the counter `count`.
    pub fn assert_counted(&self, challenge: &str, count: u32) -> AuthenticationResponse {
        let (data, client_data) = (self.auth_data(UP_UV, count), client_data("webauthn.get", challenge));
        let mut signed = data.clone();
        signed.extend_from_slice(&Sha256::digest(&client_data));
        let signature: Signature = self.key.sign(&signed);
        let response = AssertionResponse {
            client_data_json: encode(&client_data),
            authenticator_data: encode(&data),
            signature: encode(signature.to_der().as_bytes()),
            user_handle: Some(self.user_handle.borrow().clone()),
        };
        AuthenticationResponse { id: self.id(), raw_id: Some(self.id()), kind: "public-key".into(), response }
    }
}

/// Adds a passkey on `authenticator` from the browser's session: options, then the new credential.
pub fn add(
    w: &World,
    browser: &mut Browser,
    authenticator: &Authenticator,
) -> Result<Result<PasskeyView, Error>, Denied> {
    let options = request!(w, browser, "POST /api/security/passkeys/options", |cx, current| {
        passkeys::registration_options(cx, &current, &rp(), false)
    })?;
    let response = authenticator.register(&options.expect("options"));
    request!(w, browser, "POST /api/security/passkeys", |cx, current| {
        passkeys::register(cx, &current, &rp(), &response, Some("Phone"))
    })
}

/// `POST /api/auth/passkey/options`: a challenge for a sign-in.
fn sign_in_challenge(w: &World, browser: &mut Browser) -> String {
    let cx = w.cx(browser);
    let options = w.run(passkeys::sign_in_options(&cx, &rp())).expect("options");
    w.done(&cx, browser);
    challenge_of(&options)
}

/// `POST /api/auth/passkey/login` with `response`.
fn sign_in_answering(w: &World, browser: &mut Browser, response: &AuthenticationResponse) -> Result<(), Error> {
    let cx = w.cx(browser);
    let answer = w.run(passkeys::sign_in(&cx, browser.device.as_deref(), &rp(), response));
    w.done(&cx, browser);
    answer.map(|signed_in| keep_device(browser, &signed_in))
}

/// A passkey sign-in of `browser` with `authenticator`.
pub fn sign_in(w: &World, browser: &mut Browser, authenticator: &Authenticator) -> Result<(), Error> {
    let challenge = sign_in_challenge(w, browser);
    sign_in_answering(w, browser, &authenticator.assert(&challenge))
}

/// The second step of the browser's pending sign-in, with `authenticator`.
fn second_step(w: &World, browser: &mut Browser, authenticator: &Authenticator) -> Result<(), Error> {
    let pending = browser.pending.clone().expect("a pending sign-in");
    let cx = w.cx(browser);
    let options = w.run(passkeys::second_step_options(&cx, &rp(), &pending)).expect("options");
    w.done(&cx, browser);
    let response = authenticator.assert(&challenge_of(&options));
    let cx = w.cx(browser);
    let answer = w.run(passkeys::second_step(&cx, browser.device.as_deref(), &rp(), &pending, &response));
    w.done(&cx, browser);
    answer.map(|done| keep_device_of(browser, &done))
}

/// "Confirm it's you" with the response `answer` makes to the confirmation's challenge.
fn confirm_with(
    w: &World,
    browser: &mut Browser,
    answer: impl Fn(&str) -> AuthenticationResponse,
) -> Result<(), Error> {
    let options = request!(w, browser, "POST /api/auth/passkey/confirm/options", |cx, current| {
        passkeys::confirm_options(cx, &current, &rp())
    });
    let response = answer(&challenge_of(&options.unwrap().expect("options")));
    let confirmed = request!(w, browser, "POST /api/auth/passkey/confirm", |cx, current| {
        passkeys::confirm(cx, &current, &rp(), &response)
    });
    confirmed.expect("a live session")
}

fn passkey_runs(w: &World) -> Option<(u32, u64)> {
    w.run_of(&w.user_id(EMAIL), &Budget::PasskeyStrangers)
}

/// Ada's account with a passkey on `Authenticator`, and her browser.
fn with_passkey(w: &World) -> (Browser, Authenticator) {
    let mut ada = w.sign_up(EMAIL);
    let authenticator = Authenticator::new();
    add(w, &mut ada, &authenticator).unwrap().expect("added");
    (ada, authenticator)
}

#[test]
fn a_passkey_is_added_in_the_sudo_window_and_listed() {
    let w = World::new();
    let (mut ada, authenticator) = with_passkey(&w);
    let listed = request!(w, &mut ada, "GET /api/security/passkeys", |cx, current| passkeys::list(cx, &current));
    let listed = listed.unwrap().expect("listed");
    assert_eq!(
        (listed.len(), listed[0].id.as_str(), listed[0].name.as_str()),
        (1, authenticator.id().as_str(), "Phone")
    );
    assert_eq!(w.me(&mut ada).unwrap().user.passkeys, 1);
    assert!(w.events(&w.user_id(EMAIL)).contains(&"passkey_added".to_string()));
    w.advance(w.config.sudo_seconds);
    assert_eq!(add(&w, &mut ada, &Authenticator::new()).err(), Some(Denied::ReauthRequired));
}

/// A conditional create (`automatic` options), answered by `create` on the authenticator.
fn add_automatically(
    w: &World,
    browser: &mut Browser,
    automatic: bool,
    create: impl Fn(&CreationOptions) -> RegistrationResponse,
) -> Result<PasskeyView, Error> {
    let options = request!(w, browser, "POST /api/security/passkeys/options", |cx, current| {
        passkeys::registration_options(cx, &current, &rp(), automatic)
    });
    let options = options.unwrap().expect("options");
    let verification = serde_json::to_value(&options).unwrap()["authenticatorSelection"]["userVerification"].clone();
    assert_eq!(verification, if automatic { "preferred" } else { "required" });
    let response = create(&options);
    let added = request!(w, browser, "POST /api/security/passkeys", |cx, current| {
        passkeys::register(cx, &current, &rp(), &response, None)
    });
    added.expect("a live session")
}

#[test]
fn a_passkey_made_without_asking_is_accepted_only_for_a_conditional_create_and_signs_in_verified() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let (asked, silent) = (Authenticator::new(), Authenticator::new());
    let refused = add_automatically(&w, &mut ada, false, |options| asked.register_silently(options));
    assert!(matches!(refused, Err(Error::Rejected)), "a create without a gesture, for options that asked for one");
    add_automatically(&w, &mut ada, true, |options| silent.register_silently(options)).expect("added");
    assert_eq!(w.detail_of(&w.user_id(EMAIL), "passkey_added")["automatic"], true);
    let mut phone = Browser::at("198.51.100.30");
    sign_in(&w, &mut phone, &silent).expect("a verified sign-in with the automatic passkey");
}

#[test]
fn a_credential_registered_already_is_refused() {
    let w = World::new();
    let (mut ada, authenticator) = with_passkey(&w);
    assert_err!(add(&w, &mut ada, &authenticator).unwrap(), Error::Exists);
}

#[test]
fn a_passkey_signs_in_as_both_factors() {
    let w = World::new();
    let (mut ada, _, _) = with_two_factor(&w);
    let authenticator = Authenticator::new();
    add(&w, &mut ada, &authenticator).unwrap().expect("added");
    let mut laptop = Browser::at("198.51.100.20");
    sign_in(&w, &mut laptop, &authenticator).expect("signed in with no code");
    w.me(&mut laptop).expect("a live session");
    assert!(laptop.device.is_some());
    let user = w.user_id(EMAIL);
    assert_eq!(w.detail_of(&user, "sign_in")["method"], "passkey");
    let row = w.look(|s| s.passkeys[0].clone());
    assert_eq!((row.sign_count, row.last_used_at), (1, Some(w.now())));
}

#[test]
fn a_passkey_completes_the_second_step_of_a_password_sign_in() {
    let w = World::new();
    let (mut ada, _, _) = with_two_factor(&w);
    let authenticator = Authenticator::new();
    add(&w, &mut ada, &authenticator).unwrap().expect("added");
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    second_step(&w, &mut laptop, &authenticator).expect("signed in");
    w.me(&mut laptop).expect("a live session");
    assert_eq!(w.detail_of(&w.user_id(EMAIL), "sign_in")["method"], "password+passkey");
}

#[test]
fn a_passkey_confirms_it_is_you_on_a_new_token() {
    let w = World::new();
    let (mut ada, authenticator) = with_passkey(&w);
    w.advance(w.config.sudo_seconds);
    let mut old = ada.clone();
    confirm_with(&w, &mut ada, |challenge| authenticator.assert(challenge)).expect("confirmed");
    assert!(w.me(&mut ada).unwrap().in_sudo_window(w.now()));
    assert_eq!(w.me(&mut old).err(), Some(Denied::SignedOut));
}

#[test]
fn a_challenge_for_one_ceremony_does_not_answer_another() {
    let w = World::new();
    let (mut ada, authenticator) = with_passkey(&w);
    let sign_in_challenge = sign_in_challenge(&w, &mut Browser::at("198.51.100.20"));
    let answer = confirm_with(&w, &mut ada, |_| authenticator.assert(&sign_in_challenge));
    assert_err!(answer, Error::Rejected);
}

#[test]
fn an_answered_challenge_cannot_be_answered_again() {
    let w = World::new();
    let (_, authenticator) = with_passkey(&w);
    let mut laptop = Browser::at("198.51.100.20");
    let response = authenticator.assert(&sign_in_challenge(&w, &mut laptop));
    sign_in_answering(&w, &mut laptop, &response).expect("signed in");
    let mut attacker = Browser::at("198.51.100.66");
    assert_err!(sign_in_answering(&w, &mut attacker, &response), Error::Rejected);
    assert_eq!(passkey_runs(&w), Some((1, 0)));
}

#[test]
fn forged_assertions_lock_passkey_sign_ins_of_strangers_but_not_the_password() {
    let w = World::new();
    let (mut ada, authenticator) = with_passkey(&w);
    let forger = Authenticator::forger_of(&authenticator);
    let mut attacker = Browser::at("198.51.100.66");
    for _ in 0..4 {
        assert_err!(sign_in(&w, &mut attacker, &forger), Error::Rejected);
    }
    assert_err!(sign_in(&w, &mut attacker, &forger), Error::Refused(Refused::RateLimited { retry_after: 30 }));
    let mut laptop = Browser::at("198.51.100.20");
    assert_err!(sign_in(&w, &mut laptop, &authenticator), Error::Refused(Refused::RateLimited { .. }));
    assert!(w.sign_in(&mut laptop, EMAIL, PASSWORD).is_ok(), "the password run is another run");
    ada.session = None;
    sign_in(&w, &mut ada, &authenticator).expect("a trusted device has its own run");
}

#[test]
fn a_valid_passkey_signs_in_while_strangers_locked_the_password_run() {
    let w = World::new();
    let (_, authenticator) = with_passkey(&w);
    let mut attacker = Browser::at("198.51.100.66");
    for _ in 0..5 {
        let _ = w.sign_in(&mut attacker, EMAIL, WRONG);
    }
    let mut laptop = Browser::at("198.51.100.20");
    assert_err!(w.sign_in(&mut laptop, EMAIL, PASSWORD), crate::account::sign_in::Error::Refused(_));
    sign_in(&w, &mut laptop, &authenticator).expect("the passkey signs in");
}

#[test]
fn a_sign_counter_that_goes_back_is_refused_with_a_clone_warning() {
    let w = World::new();
    let (_, authenticator) = with_passkey(&w);
    let mut laptop = Browser::at("198.51.100.20");
    sign_in(&w, &mut laptop, &authenticator).expect("signed in");
    let challenge = sign_in_challenge(&w, &mut laptop);
    let cloned = sign_in_answering(&w, &mut laptop, &authenticator.assert_counted(&challenge, 1));
    assert_err!(cloned, Error::Rejected);
    assert!(w.events(&w.user_id(EMAIL)).contains(&"passkey_clone_warning".to_string()));
}

#[test]
fn an_unknown_credential_is_refused_as_unknown_and_counted_in_a_run_of_its_own() {
    let w = World::new();
    with_passkey(&w);
    let stranger = Authenticator::new();
    let mut attacker = Browser::at("198.51.100.66");
    assert_err!(sign_in(&w, &mut attacker, &stranger), Error::Unknown);
    let hash = tokens::id_of(&stranger.id()).to_string();
    assert_eq!(w.run_of("", &Budget::UnknownCredential(hash)), Some((1, 0)));
    assert_eq!(passkey_runs(&w), None);
}

#[test]
fn a_passkey_is_renamed_and_removed_and_then_signs_in_no_more() {
    let w = World::new();
    let (mut ada, authenticator) = with_passkey(&w);
    let id = authenticator.id();
    let renamed = request!(w, &mut ada, "PATCH /api/security/passkeys/{id}", |cx, current| {
        passkeys::rename(cx, &current, &id, " Work laptop ")
    });
    assert_eq!(renamed.unwrap().expect("renamed").name, "Work laptop");
    let unknown = request!(w, &mut ada, "PATCH /api/security/passkeys/{id}", |cx, current| {
        passkeys::rename(cx, &current, "nope", "x")
    });
    assert_err!(unknown.unwrap(), Error::NotFound);
    let removed =
        request!(w, &mut ada, "DELETE /api/security/passkeys/{id}", |cx, current| passkeys::remove(cx, &current, &id));
    removed.unwrap().expect("removed");
    assert!(w.events(&w.user_id(EMAIL)).contains(&"passkey_removed".to_string()));
    assert_err!(sign_in(&w, &mut Browser::at("198.51.100.20"), &authenticator), Error::Unknown);
}

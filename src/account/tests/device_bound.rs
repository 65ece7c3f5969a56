//! Device-bound sessions (DBSC): binding a session to a key after its sign-in, the short cookie
//! it then needs, renewing that cookie with a proof, and what a copied token, a replayed or
//! foreign proof and an ended session come to.

use serde_json::json;

use super::sessions::sign_out;
use super::*;
use crate::account::device_bound::{self, Error, Refreshed, Registered};
use crate::account::sessions;
use crate::domain::dbsc::test_key::{jwk_of, sign as signed, SigningKey};
use crate::domain::dbsc::{self, REGISTRATION_GRACE_SECONDS};

const EMAIL: &str = "ada@example.com";
const REGISTER: &str = "https://wemasy.example/api/auth/dbsc/register";
const REFRESH: &str = "https://wemasy.example/api/auth/dbsc/refresh";

fn device_key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).expect("a P-256 key")
}

/// A registration proof, as Chromium signs one: the key in the header, the challenge as `jti`.
fn registration_proof(key: &SigningKey, challenge: &str, now: u64) -> String {
    let header = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk_of(key) });
    signed(key, header, json!({ "jti": challenge, "aud": REGISTER, "iat": now }))
}

fn refresh_proof(key: &SigningKey, challenge: &str) -> String {
    signed(key, json!({ "alg": "ES256", "typ": "dbsc+jwt" }), json!({ "jti": challenge }))
}

/// The challenge of the `Secure-Session-Registration` offered with the browser's session.
fn offered_challenge(w: &World, browser: &Browser) -> String {
    let token = browser.session.as_deref().expect("a session");
    let offer = device_bound::registration_offer(&w.secrets(), token, w.now()).expect("an offer");
    offer.split("challenge=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a challenge").to_string()
}

fn register(w: &World, browser: &mut Browser, proof: &str) -> Result<Registered, Error> {
    let answer = request!(w, browser, "POST /api/auth/dbsc/register", |cx, current| {
        device_bound::register(cx, &current, proof, REGISTER)
    });
    answer.unwrap_or_else(|_| panic!("the session check refused the registration"))
}

fn refresh(w: &World, browser: &mut Browser, dbsc_id: &str, proof: Option<&str>) -> Refreshed {
    let cx = w.cx(browser);
    let token = browser.session.clone();
    let answer = w.run(device_bound::refresh(&cx, token.as_deref(), dbsc_id, proof, REFRESH));
    w.done(&cx, browser);
    answer.unwrap_or_else(|error| panic!("the refresh failed: {error}"))
}

/// A refresh that answers a challenge with a proof by `key`: the new cookie, kept by the browser.
fn renew(w: &World, browser: &mut Browser, dbsc_id: &str, key: &SigningKey) -> Refreshed {
    let Refreshed::Challenge(challenge) = refresh(w, browser, dbsc_id, None) else { panic!("a challenge first") };
    let answer = refresh(w, browser, dbsc_id, Some(&refresh_proof(key, &challenge)));
    if let Refreshed::Renewed { cookie, .. } = &answer {
        browser.bound = Some(cookie.clone());
    }
    answer
}

/// Ada signed up, and her browser bound the session to its key.
fn bound_session(w: &World) -> (Browser, String) {
    let mut ada = w.sign_up(EMAIL);
    let proof = registration_proof(&device_key(7), &offered_challenge(w, &ada), w.now());
    let registered = register(w, &mut ada, &proof).expect("bound");
    ada.bound = Some(registered.cookie);
    (ada, registered.dbsc_id)
}

#[test]
fn a_bound_session_works_with_its_short_cookie_and_a_copied_token_stops_when_it_runs_out() {
    let w = World::new();
    let (mut ada, dbsc_id) = bound_session(&w);
    let id = w.user_id(EMAIL);
    assert_eq!(w.events(&id).last().map(String::as_str), Some("session_bound"));
    assert!(w.me(&mut ada).is_ok());
    // The thief copied the session token, not the key (nor the short cookie, which runs out).
    let mut thief = Browser::at("203.0.113.66");
    thief.session = ada.session.clone();
    assert!(w.me(&mut thief).is_ok(), "within the minute after the registration, no cookie is needed");
    w.advance(REGISTRATION_GRACE_SECONDS);
    assert!(matches!(w.me(&mut thief), Err(Denied::WithoutDeviceProof)));
    w.advance(600);
    assert!(matches!(w.me(&mut ada), Err(Denied::WithoutDeviceProof)), "her short cookie ran out too");
    // Her browser renews it with its key; the thief cannot.
    assert!(matches!(renew(&w, &mut ada, &dbsc_id, &device_key(7)), Refreshed::Renewed { .. }));
    assert!(w.me(&mut ada).is_ok());
    let Refreshed::Challenge(challenge) = refresh(&w, &mut thief, &dbsc_id, None) else { panic!("a challenge") };
    let forged = refresh_proof(&device_key(9), &challenge);
    let cx = w.cx(&thief);
    let refused = w.run(device_bound::refresh(&cx, thief.session.as_deref(), &dbsc_id, Some(&forged), REFRESH));
    assert!(matches!(refused, Err(Error::Refused(dbsc::Refusal::BadSignature))));
    assert!(matches!(w.me(&mut thief), Err(Denied::WithoutDeviceProof)));
    // A refused request does not end the session: Ada's still works.
    assert!(w.me(&mut ada).is_ok());
}

#[test]
fn a_refresh_proof_counts_once_and_only_for_a_challenge_of_its_own_session() {
    let w = World::new();
    let (mut ada, dbsc_id) = bound_session(&w);
    let Refreshed::Challenge(challenge) = refresh(&w, &mut ada, &dbsc_id, None) else { panic!("a challenge") };
    let proof = refresh_proof(&device_key(7), &challenge);
    assert!(matches!(refresh(&w, &mut ada, &dbsc_id, Some(&proof)), Refreshed::Renewed { .. }));
    assert!(matches!(refresh(&w, &mut ada, &dbsc_id, Some(&proof)), Refreshed::Challenge(_)), "replayed");
    // Bob's session is bound too; a challenge of his does not renew Ada's.
    let mut bob = w.sign_up("bob@example.com");
    let bob_proof = registration_proof(&device_key(8), &offered_challenge(&w, &bob), w.now());
    let bob_id = register(&w, &mut bob, &bob_proof).expect("bound").dbsc_id;
    let Refreshed::Challenge(bobs) = refresh(&w, &mut bob, &bob_id, None) else { panic!("a challenge") };
    let crossed = refresh_proof(&device_key(7), &bobs);
    assert!(matches!(refresh(&w, &mut ada, &dbsc_id, Some(&crossed)), Refreshed::Challenge(_)));
    // Nor does Ada's token renew Bob's bound session.
    assert!(matches!(refresh(&w, &mut ada, &bob_id, None), Refreshed::Ended));
    // A challenge runs out.
    let Refreshed::Challenge(old) = refresh(&w, &mut ada, &dbsc_id, None) else { panic!("a challenge") };
    w.advance(device_bound::CHALLENGE_SECONDS);
    let late = refresh_proof(&device_key(7), &old);
    assert!(matches!(refresh(&w, &mut ada, &dbsc_id, Some(&late)), Refreshed::Challenge(_)));
}

#[test]
fn a_registration_binds_once_with_its_own_sessions_fresh_challenge() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let mut other = w.sign_up("bob@example.com");
    let bobs_challenge = offered_challenge(&w, &other);
    let proof = registration_proof(&device_key(7), &bobs_challenge, w.now());
    assert!(matches!(register(&w, &mut ada, &proof), Err(Error::ChallengeNotOpen)), "another session's challenge");
    let challenge = offered_challenge(&w, &ada);
    let foreign = signed(
        &device_key(9),
        json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": jwk_of(&device_key(7)) }),
        json!({ "jti": challenge }),
    );
    assert!(matches!(register(&w, &mut ada, &foreign), Err(Error::Refused(dbsc::Refusal::BadSignature))));
    let proof = registration_proof(&device_key(7), &challenge, w.now());
    assert!(register(&w, &mut ada, &proof).is_ok());
    let again = registration_proof(&device_key(8), &offered_challenge(&w, &ada), w.now());
    assert!(matches!(register(&w, &mut ada, &again), Err(Error::BoundAlready)));
    // Bob's own challenge binds his session to his key; it was not spent by the refused try.
    let proof = registration_proof(&device_key(8), &bobs_challenge, w.now());
    assert!(register(&w, &mut other, &proof).is_ok());
    let id = w.user_id(EMAIL);
    assert_eq!(w.events(&id).iter().filter(|e| *e == "session_bound").count(), 1);
}

#[test]
fn ending_a_bound_session_tells_its_browser_to_stop_refreshing_it() {
    let w = World::new();
    let (mut ada, dbsc_id) = bound_session(&w);
    let mut copy = ada.clone();
    sign_out(&w, &mut ada);
    assert!(matches!(refresh(&w, &mut copy, &dbsc_id, None), Refreshed::Ended));
    // Ended from another device's list, too.
    let w = World::new();
    let (mut laptop, laptop_id) = bound_session(&w);
    let mut phone = Browser::at("198.51.100.30");
    w.sign_in(&mut phone, EMAIL, PASSWORD).expect("signed in");
    let laptop_session = w.me(&mut laptop).expect("live").id.to_string();
    let ended = request!(&w, &mut phone, "DELETE /api/security/sessions/{id}", |cx, current| {
        sessions::end_one(cx, &current, &laptop_session)
    });
    assert!(ended.expect("a live session").is_ok());
    assert!(matches!(refresh(&w, &mut laptop, &laptop_id, None), Refreshed::Ended));
}

#[test]
fn the_session_list_says_which_sessions_are_bound_to_their_device() {
    let w = World::new();
    let (mut ada, _) = bound_session(&w);
    let mut phone = Browser::at("198.51.100.30");
    w.sign_in(&mut phone, EMAIL, PASSWORD).expect("signed in");
    let from_phone = request!(&w, &mut phone, "GET /api/security/sessions", |cx, current| async {
        let others = sessions::live_others(cx, &current).await.expect("listed");
        let own = sessions::is_bound_to_device(&current, &current.id);
        (own, others.iter().map(|s| sessions::is_bound_to_device(&current, &s.id)).collect::<Vec<_>>())
    });
    assert_eq!(from_phone.expect("a live session"), (false, vec![true]));
    let own = request!(&w, &mut ada, "GET /api/me", |_cx, current| async {
        sessions::is_bound_to_device(&current, &current.id)
    });
    assert!(own.expect("a live session"));
}

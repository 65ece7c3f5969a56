//! Loading the keys: data keys made once, a wrong `SECRET_KEY` refused with nothing written, a
//! previous key re-wrapped by the first request under the new one.

use futures::future::join_all;

use super::signing_in::with_two_factor;
use super::*;
use crate::account::keys::{self, Error};
use crate::account::sign_in::Error as SignInError;
use crate::domain::secrets::Keyring;

const EMAIL: &str = "ada@example.com";

fn root_id(key: &str) -> String {
    Keyring::new(key, None).unwrap().root_id().to_string()
}

fn wrapped_by(w: &World) -> Vec<String> {
    w.look(|s| s.data_keys.iter().map(|(k, _)| k.wrapped_by.clone()).collect())
}

/// Signs in on a new browser with the password and the code of now.
fn sign_in_with_code(w: &World, secret: &str) -> Result<(), SignInError> {
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD)?;
    w.second_factor(&mut laptop, code(&code_at(secret, w.now()))).map(drop)
}

#[test]
fn the_first_requests_make_one_data_key_per_purpose_even_when_they_race() {
    let w = World::new();
    let requests: Vec<TestCx> = (0..4).map(|_| w.cx(&w.browser())).collect();
    let rings = w.run(join_all(requests.iter().map(keys::load)));
    let kids: Vec<String> = rings.into_iter().map(|ring| ring.expect("keys").recovery_key_id()).collect();
    assert!(kids.iter().all(|kid| *kid == kids[0]), "{kids:?}");
    let mut purposes: Vec<String> = w.look(|s| s.data_keys.iter().map(|(k, _)| k.purpose.clone()).collect());
    purposes.sort();
    assert_eq!(purposes, ["device", "recovery", "totp"]);
}

#[test]
fn a_secret_key_that_opens_none_of_the_data_keys_is_refused_and_nothing_is_written() {
    let mut w = World::new();
    let ada = w.sign_up(EMAIL);
    let before = w.look(|s| (s.users.len(), s.events.len(), s.data_keys.len(), s.budgets.len()));
    w.secret_key = new_secret_key();
    assert_err!(w.run(keys::load(&w.cx(&ada))), Error::Mismatch);
    assert_err!(w.sign_up_as(&mut w.browser(), "bob@example.com", PASSWORD), SignInError::Keys(Error::Mismatch));
    let mut laptop = w.browser();
    assert_err!(w.sign_in(&mut laptop, EMAIL, WRONG), SignInError::Keys(Error::Mismatch));
    assert_eq!(w.look(|s| (s.users.len(), s.events.len(), s.data_keys.len(), s.budgets.len())), before);
    assert_eq!(w.run_of(&w.user_id(EMAIL), &Budget::Strangers), Some((0, 0)), "nothing counted");
}

#[test]
fn a_secret_key_too_short_to_be_one_configures_nothing() {
    let mut w = World::new();
    w.secret_key = "short".into();
    assert_err!(w.run(keys::load(&w.cx(&w.browser()))), Error::Malformed(_));
    assert!(w.look(|s| s.data_keys.is_empty()));
}

#[test]
fn the_first_request_under_a_new_secret_key_rewraps_the_data_keys_under_it() {
    let mut w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let old = std::mem::replace(&mut w.secret_key, new_secret_key());
    w.previous_key = Some(old.clone());
    w.advance(keys::CACHE_SECONDS);
    sign_in_with_code(&w, &secret).expect("signs in during the rotation");
    assert!(wrapped_by(&w).iter().all(|id| *id == root_id(&w.secret_key)), "re-wrapped after the answer");
    w.previous_key = None;
    w.advance(keys::CACHE_SECONDS);
    sign_in_with_code(&w, &secret).expect("signs in without the old key");
}

//! A signed-in session proving its password again: "Confirm it's you" and the password change.

use serde_json::json;

use super::signing_in::with_two_factor;
use super::*;
use crate::account::attempts::Refused;
use crate::account::credentials::{self, Error};
use crate::account::devices;
use crate::account::factors::SecondFactor;
use crate::domain::tokens;

const EMAIL: &str = "ada@example.com";

pub fn confirm(w: &World, browser: &mut Browser, password: &str, factor: Option<SecondFactor>) -> Result<(), Error> {
    let answer = request!(w, browser, "POST /api/auth/confirm", |cx, current| credentials::confirm(
        cx, &current, password, factor
    ));
    answer.expect("a live session")
}

pub fn change(w: &World, browser: &mut Browser, old: &str, new: &str, sign_out_others: bool) -> Result<usize, Error> {
    let device = browser.device.clone();
    let answer = request!(w, browser, "PUT /api/security/password", |cx, current| {
        credentials::change_password(cx, device.as_deref(), &current, old, new, sign_out_others)
    });
    answer.expect("a live session")
}

fn session_run(w: &World, browser: &Browser) -> Option<(u32, u64)> {
    let id = tokens::id_of(browser.session.as_deref().unwrap()).to_string();
    w.run_of(&w.user_id(EMAIL), &Budget::Session(id))
}

fn trusted_devices(w: &World) -> Vec<String> {
    w.look(|s| s.devices.keys().map(|(_, device)| device.clone()).collect())
}

fn device_of(w: &World, browser: &Browser) -> String {
    devices::parse(browser.device.as_deref().unwrap(), &w.keys()).unwrap().device_id
}

#[test]
fn confirming_opens_the_sudo_window_on_a_new_token_and_ends_the_old_one() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    w.advance(w.config.sudo_seconds + 1);
    assert!(!w.me(&mut ada).unwrap().in_sudo_window(w.now()));
    let mut old = ada.clone();
    confirm(&w, &mut ada, PASSWORD, None).expect("confirmed");
    assert_ne!(ada.session, old.session);
    assert!(w.me(&mut ada).unwrap().in_sudo_window(w.now()));
    assert_eq!(w.me(&mut old).err(), Some(Denied::SignedOut));
}

#[test]
fn confirming_with_two_factor_on_needs_a_code_as_well() {
    let w = World::new();
    let (mut ada, secret, _) = with_two_factor(&w);
    assert_err!(confirm(&w, &mut ada, PASSWORD, None), Error::InvalidInput(_));
    assert_err!(confirm(&w, &mut ada, PASSWORD, Some(code("000000"))), Error::InvalidCode);
    assert_err!(confirm(&w, &mut ada, WRONG, Some(code(&code_at(&secret, w.now())))), Error::WrongPassword);
    assert!(confirm(&w, &mut ada, PASSWORD, Some(code(&code_at(&secret, w.now())))).is_ok());
}

#[test]
fn a_recovery_code_confirms_as_well_and_is_used_up() {
    let w = World::new();
    let (mut ada, _, codes) = with_two_factor(&w);
    assert!(confirm(&w, &mut ada, PASSWORD, Some(recovery(&codes[3]))).is_ok());
    assert_err!(confirm(&w, &mut ada, PASSWORD, Some(recovery(&codes[3]))), Error::InvalidCode);
    assert_eq!(w.me(&mut ada).unwrap().user.recovery_codes_remaining, 9);
}

#[test]
fn changing_the_password_needs_the_current_one_and_counts_against_the_session() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    assert_err!(change(&w, &mut ada, WRONG, NEW_PASSWORD, true), Error::WrongPassword);
    assert_eq!(session_run(&w, &ada), Some((1, 0)));
    assert!(w.sign_in(&mut w.browser(), EMAIL, PASSWORD).is_ok(), "the password is unchanged");
}

#[test]
fn a_new_password_the_rules_refuse_hands_its_count_back_and_the_run_goes_on() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    for _ in 0..4 {
        assert_err!(change(&w, &mut ada, WRONG, NEW_PASSWORD, true), Error::WrongPassword);
    }
    assert_err!(change(&w, &mut ada, PASSWORD, "password", true), Error::WeakPassword(_));
    assert_eq!(session_run(&w, &ada), Some((4, w.now())), "its lock lifted with it");
    let fifth = change(&w, &mut ada, WRONG, NEW_PASSWORD, true);
    assert_err!(fifth, Error::Refused(Refused::RateLimited { retry_after: 30 }));
}

#[test]
fn the_same_password_again_is_refused() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    assert_err!(change(&w, &mut ada, PASSWORD, PASSWORD, true), Error::InvalidInput(_));
}

#[test]
fn a_password_change_signs_the_other_sessions_out_and_keeps_this_one_on_a_new_token() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let mut phone = Browser::at("198.51.100.30");
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    let mut old = ada.clone();
    assert_eq!(change(&w, &mut ada, PASSWORD, NEW_PASSWORD, true).expect("changed"), 1);
    assert_eq!(w.me(&mut phone).err(), Some(Denied::SignedOut));
    assert_eq!(w.me(&mut old).err(), Some(Denied::SignedOut));
    w.me(&mut ada).expect("this browser stays signed in");
    assert_eq!(trusted_devices(&w), [device_of(&w, &ada)], "only this browser stays trusted");
    let user = w.user_id(EMAIL);
    assert_eq!(w.detail_of(&user, "password_changed"), json!({ "signed_out_sessions": 1 }));
    assert_err!(w.sign_in(&mut w.browser(), EMAIL, PASSWORD), crate::account::sign_in::Error::InvalidCredentials);
    assert!(w.sign_in(&mut w.browser(), EMAIL, NEW_PASSWORD).is_ok());
}

#[test]
fn a_password_change_may_keep_the_other_sessions() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let mut phone = Browser::at("198.51.100.30");
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    let token = ada.session.clone();
    assert_eq!(change(&w, &mut ada, PASSWORD, NEW_PASSWORD, false).expect("changed"), 0);
    w.me(&mut phone).expect("the phone stays signed in");
    assert_eq!(ada.session, token, "no new token");
    assert_eq!(trusted_devices(&w), [device_of(&w, &ada)], "the other devices' trust ends all the same");
}

#[test]
fn a_pending_sign_in_of_the_old_password_cannot_complete_after_a_change() {
    let w = World::new();
    let (mut ada, secret, _) = with_two_factor(&w);
    let mut thief = Browser::at("198.51.100.66");
    w.sign_in(&mut thief, EMAIL, PASSWORD).unwrap();
    change(&w, &mut ada, PASSWORD, NEW_PASSWORD, false).expect("changed");
    let late = w.second_factor(&mut thief, code(&code_at(&secret, w.now())));
    assert_err!(late, crate::account::sign_in::Error::Refused(Refused::SignedOut));
    assert!(thief.session.is_none());
}

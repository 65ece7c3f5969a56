//! Trusted devices: the list, forgetting one, and what forgetting does to the next sign-in.

use serde_json::{json, Value};

use super::password::confirm;
use super::*;
use crate::account::attempts::Refused;
use crate::account::devices::{self, Error};
use crate::account::sign_in::Error as SignInError;

const EMAIL: &str = "ada@example.com";

fn list(w: &World, browser: &mut Browser) -> Vec<Value> {
    let device = browser.device.clone();
    let answer =
        request!(w, browser, "GET /api/security/devices", |cx, current| devices::list(cx, device.as_deref(), &current));
    answer.unwrap().expect("listed")
}

fn forget(w: &World, browser: &mut Browser, id: &str) -> Result<(), Error> {
    let device = browser.device.clone();
    let answer = request!(w, browser, "DELETE /api/security/devices/{id}", |cx, current| {
        devices::forget(cx, device.as_deref(), &current, id)
    });
    answer.expect("a live session")
}

pub fn device_id(w: &World, browser: &Browser) -> String {
    devices::parse(browser.device.as_deref().expect("a device cookie"), &w.keys()).expect("signed").device_id
}

fn ids(rows: &[Value]) -> Vec<(String, bool)> {
    rows.iter().map(|r| (r["id"].as_str().unwrap().to_string(), r["current"].as_bool().unwrap())).collect()
}

/// Ada signed in on her browser, then a phone, then a laptop, ten seconds apart.
fn three_devices(w: &World) -> (Browser, Browser, Browser) {
    let ada = w.sign_up(EMAIL);
    let (mut phone, mut laptop) = (Browser::at("198.51.100.30"), Browser::at("198.51.100.40"));
    w.advance(10);
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    w.advance(10);
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    (ada, phone, laptop)
}

#[test]
fn trusted_devices_are_listed_this_browser_first_then_the_most_recently_used() {
    let w = World::new();
    let (mut ada, mut phone, laptop) = three_devices(&w);
    let (a, p, l) = (device_id(&w, &ada), device_id(&w, &phone), device_id(&w, &laptop));
    assert_eq!(ids(&list(&w, &mut ada)), [(a.clone(), true), (l.clone(), false), (p.clone(), false)]);
    let rows = list(&w, &mut phone);
    assert_eq!(ids(&rows), [(p, true), (l, false), (a, false)]);
    assert_eq!((rows[0]["browser"].as_str(), rows[0]["city"].as_str()), (Some("Chrome"), Some("Amsterdam")));
}

#[test]
fn forgetting_this_browser_needs_no_sudo() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    w.advance(w.config.sudo_seconds);
    let own = device_id(&w, &ada);
    forget(&w, &mut ada, &own).expect("forgotten");
    assert!(list(&w, &mut ada).is_empty());
    let detail = w.detail_of(&w.user_id(EMAIL), "trusted_device_forgotten");
    assert_eq!((detail["current"].clone(), detail["browser"].clone()), (json!(true), json!("Chrome")));
}

#[test]
fn forgetting_another_device_needs_sudo() {
    let w = World::new();
    let (mut ada, phone, _) = three_devices(&w);
    w.advance(w.config.sudo_seconds);
    let other = device_id(&w, &phone);
    assert_err!(forget(&w, &mut ada, &other), Error::ReauthRequired);
    confirm(&w, &mut ada, PASSWORD, None).unwrap();
    forget(&w, &mut ada, &other).expect("forgotten");
    assert_eq!(list(&w, &mut ada).len(), 2);
}

#[test]
fn forgetting_an_unknown_or_another_accounts_device_is_not_found() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let bob = w.sign_up("bob@example.com");
    let bobs = device_id(&w, &bob);
    for id in ["nope", "AAAAAAAAAAAAAAAAAAAAAA", bobs.as_str()] {
        assert_err!(forget(&w, &mut ada, id), Error::NotFound);
    }
}

#[test]
fn a_forgotten_device_is_a_stranger_until_its_next_sign_in_then_trusted_again() {
    let w = World::new();
    let (mut ada, mut phone, _) = three_devices(&w);
    let phone_device = device_id(&w, &phone);
    forget(&w, &mut ada, &phone_device).expect("forgotten");
    let mut attacker = Browser::at("198.51.100.66");
    for _ in 0..5 {
        let _ = w.sign_in(&mut attacker, EMAIL, WRONG);
    }
    let refused = w.sign_in(&mut phone, EMAIL, PASSWORD);
    assert_err!(refused, SignInError::Refused(Refused::RateLimited { .. }));
    w.advance(30);
    w.sign_in(&mut phone, EMAIL, PASSWORD).expect("signed in");
    assert_eq!(device_id(&w, &phone), phone_device, "the same device");
    assert!(w.look(|s| s.is_trusted(&w.user_id(EMAIL), &phone_device)));
}

#[test]
fn a_device_forgotten_while_its_sign_in_waits_for_the_second_factor_must_start_again() {
    let w = World::new();
    let (mut ada, secret, _) = super::signing_in::with_two_factor(&w);
    let mut phone = Browser::at("198.51.100.30");
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    w.second_factor(&mut phone, code(&code_at(&secret, w.now()))).expect("signed in and trusted");
    w.advance(totp::STEP_SECONDS);
    let phone_device = device_id(&w, &phone);
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    forget(&w, &mut ada, &phone_device).expect("forgotten");
    let late = w.second_factor(&mut phone, code(&code_at(&secret, w.now())));
    assert_err!(late, SignInError::Refused(Refused::SignedOut));
    assert!(!w.look(|s| s.is_trusted(&w.user_id(EMAIL), &phone_device)));
}

#[test]
fn the_checkup_counts_devices_unused_for_thirty_days_read_with_the_check_or_alone() {
    let w = World::new();
    let (mut ada, _phone, _laptop) = three_devices(&w);
    let unused = |w: &World, browser: &mut Browser, route: &str| {
        request!(w, browser, route, |cx, current| devices::unused(cx, &current)).unwrap().expect("counted")
    };
    assert_eq!(unused(&w, &mut ada, "GET /api/security"), 0);
    w.advance(devices::UNUSED_SECONDS + 60);
    ada.session = None;
    w.sign_in(&mut ada, EMAIL, PASSWORD).unwrap();
    assert_eq!(unused(&w, &mut ada, "GET /api/security"), 2, "the phone and the laptop, read with the check");
    assert_eq!(unused(&w, &mut ada, "GET /api/me"), 2, "the same, read alone");
}

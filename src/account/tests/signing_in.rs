//! Signing up, and signing in with a password and a second factor.

use super::*;
use crate::account::attempts::Refused;
use crate::account::sign_in::{Error, PasswordStep};
use crate::account::two_factor;
use crate::domain::password;
use crate::domain::tokens;
use crate::storage::attempts::Budget;
use serde_json::json;

const EMAIL: &str = "ada@example.com";

/// A world with Ada's account, two-factor authentication on: her browser, the set-up secret and
/// the recovery codes.
pub fn with_two_factor(w: &World) -> (Browser, String, Vec<String>) {
    let mut ada = w.sign_up(EMAIL);
    let (secret, codes) = turn_on_two_factor(w, &mut ada);
    (ada, secret, codes)
}

/// Sets up two-factor authentication from the browser's session (fresh from its sign-in, so in
/// sudo), then moves the clock past the step of the code it typed.
pub fn turn_on_two_factor(w: &World, browser: &mut Browser) -> (String, Vec<String>) {
    let setup = request!(w, browser, "POST /api/security/two-factor/setup", |cx, current| {
        two_factor::start_setup(cx, &current)
    });
    let secret = setup.unwrap().expect("set up").secret;
    let typed = code_at(&secret, w.now());
    let codes = request!(w, browser, "POST /api/security/two-factor/enable", |cx, current| {
        two_factor::enable(cx, &current, &typed)
    });
    w.advance(totp::STEP_SECONDS);
    (secret, codes.unwrap().expect("enabled"))
}

#[test]
fn signing_up_starts_the_first_session_and_trusts_the_browser() {
    let w = World::new();
    let mut ada = w.sign_up("  Ada@Example.COM ");
    let current = w.me(&mut ada).expect("signed in");
    assert_eq!(current.user.email, EMAIL);
    assert!(current.in_sudo_window(w.now()));
    let user = w.user_id(EMAIL);
    assert_eq!(w.events(&user), ["account_created"]);
    assert!(ada.device.is_some());
    assert_eq!(w.look(|s| s.devices.keys().filter(|(u, _)| *u == user).count()), 1);
}

#[test]
fn an_address_with_an_account_cannot_sign_up_again_in_any_case() {
    let w = World::new();
    w.sign_up(EMAIL);
    let mut other = w.browser();
    let again = w.sign_up_as(&mut other, "ADA@example.com", NEW_PASSWORD);
    assert_err!(again, Error::EmailTaken);
    assert_eq!(w.look(|s| s.users.len()), 1);
    assert_eq!(other.session, None);
}

#[test]
fn a_weak_password_is_refused_with_every_broken_rule_and_nothing_is_written() {
    let w = World::new();
    let mut browser = w.browser();
    let weak = w.sign_up_as(&mut browser, EMAIL, "password");
    let Err(Error::WeakPassword(problems)) = weak else { panic!("not refused as weak") };
    assert!(problems.len() >= 2, "{problems:?}");
    assert!(w.look(|s| s.users.is_empty() && s.events.is_empty() && s.kv.is_empty()));
}

#[test]
fn the_right_password_signs_in_on_a_new_session_and_records_it() {
    let w = World::new();
    let first = w.sign_up(EMAIL);
    let mut laptop = Browser::at("198.51.100.20");
    let step = w.sign_in(&mut laptop, "Ada@example.com", PASSWORD).unwrap();
    assert!(matches!(step, PasswordStep::SignedIn(_)));
    assert_ne!(laptop.session, first.session);
    w.me(&mut laptop).expect("signed in");
    let user = w.user_id(EMAIL);
    assert_eq!(w.events(&user), ["account_created", "sign_in"]);
    assert_eq!(w.look(|s| s.devices.len()), 2);
}

#[test]
fn a_wrong_password_is_refused_and_counted_in_the_strangers_run() {
    let w = World::new();
    w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let mut stranger = Browser::at("198.51.100.66");
    let wrong = w.sign_in(&mut stranger, EMAIL, WRONG);
    assert_err!(wrong, Error::InvalidCredentials);
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((1, 0)));
    assert_eq!(w.detail_of(&user, "sign_in_failed"), json!({ "client": "account", "factor": "password" }));
    assert_eq!(stranger.session, None);
}

#[test]
fn an_unknown_email_gets_the_same_answer_and_a_run_of_its_own() {
    let w = World::new();
    w.sign_up(EMAIL);
    let mut stranger = w.browser();
    let unknown = w.sign_in(&mut stranger, "nobody@example.com", PASSWORD);
    assert_err!(unknown, Error::InvalidCredentials);
    let hash = tokens::id_of("nobody@example.com").to_string();
    assert_eq!(w.run_of("", &Budget::UnknownEmail(hash.clone())), Some((1, 0)));
    let owner = w.look(|s| s.budgets[&format!("unknown-email:{hash}")].user_id.clone());
    assert_eq!(owner, "", "a run of no account");
    assert_eq!(w.run_of(&w.user_id(EMAIL), &Budget::Strangers), Some((0, 0)));
    assert_eq!(w.look(|s| s.events.len()), 1, "only account_created");
}

#[test]
fn with_two_factor_on_a_right_password_waits_for_the_second_factor_and_hands_its_count_back() {
    let w = World::new();
    let (_, _, _) = with_two_factor(&w);
    let user = w.user_id(EMAIL);
    let mut laptop = Browser::at("198.51.100.20");
    let step = w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    assert!(matches!(step, PasswordStep::SecondFactorNeeded(_)));
    assert_eq!(laptop.session, None);
    assert!(laptop.pending.is_some());
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((0, 0)));
}

#[test]
fn a_code_from_the_app_completes_the_sign_in() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    let signed_in = w.second_factor(&mut laptop, code(&code_at(&secret, w.now()))).expect("signed in");
    assert_eq!(signed_in.email, EMAIL);
    w.me(&mut laptop).expect("a live session");
    let user = w.user_id(EMAIL);
    assert_eq!(w.events(&user).last().map(String::as_str), Some("sign_in"));
    assert!(laptop.pending.is_none() && laptop.device.is_some());
}

#[test]
fn a_recovery_code_completes_the_sign_in_once() {
    let w = World::new();
    let (_, _, codes) = with_two_factor(&w);
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    w.second_factor(&mut laptop, recovery(&codes[0].to_uppercase())).expect("signed in");
    let user = w.user_id(EMAIL);
    assert_eq!(w.detail_of(&user, "recovery_code_used"), json!({ "remaining": 9 }));
    let mut again = Browser::at("198.51.100.21");
    w.sign_in(&mut again, EMAIL, PASSWORD).unwrap();
    let reused = w.second_factor(&mut again, recovery(&codes[0]));
    assert_err!(reused, Error::InvalidCode);
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((1, 0)));
}

#[test]
fn a_wrong_code_keeps_the_pending_sign_in_for_another_try() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    let wrong = w.second_factor(&mut laptop, code("000000"));
    assert_err!(wrong, Error::InvalidCode);
    assert!(laptop.pending.is_some());
    w.second_factor(&mut laptop, code(&code_at(&secret, w.now()))).expect("the next try signs in");
}

#[test]
fn five_wrong_second_factors_end_the_pending_sign_in_and_lock_the_run() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    for _ in 0..4 {
        assert!(matches!(w.second_factor(&mut laptop, code("000000")), Err(Error::InvalidCode)));
    }
    let fifth = w.second_factor(&mut laptop, code("000000"));
    assert_err!(fifth, Error::Refused(Refused::RateLimited { retry_after: 30 }));
    w.advance(31);
    let after = w.second_factor(&mut laptop, code(&code_at(&secret, w.now())));
    assert_err!(after, Error::Refused(Refused::SignedOut));
}

#[test]
fn a_pending_sign_in_ends_after_five_minutes() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    w.advance(w.config.pending_sign_in_seconds + 1);
    let late = w.second_factor(&mut laptop, code(&code_at(&secret, w.now())));
    assert_err!(late, Error::Refused(Refused::SignedOut));
    assert!(w.look(|s| !s.kv.iter().any(|(k, e)| k.starts_with("pending:") && e.expires_at > s.now)));
}

#[test]
fn a_hash_made_with_other_parameters_is_upgraded_at_the_next_sign_in() {
    let mut w = World::new();
    w.sign_up(EMAIL);
    w.config.hash_params = HashParams { memory_kib: 128, iterations: 1, parallelism: 1 };
    let mut laptop = w.browser();
    w.sign_in(&mut laptop, EMAIL, PASSWORD).expect("signed in");
    let stored = w.look(|s| s.users[0].password_hash.clone());
    assert!(stored.contains("m=128"), "{stored}");
    assert_eq!(password::verify(PASSWORD, &stored, w.config.hash_params), password::Verdict::Right);
}

#[test]
fn an_address_stored_before_normalisation_signs_in_and_is_normalised_after() {
    let w = World::new();
    w.sign_up("jos\u{e9}@example.com");
    // An account stored by an older version: lower-cased, not NFC.
    w.store.plant(|s| s.users[0].email = "jose\u{301}@example.com".into());
    let mut laptop = w.browser();
    w.sign_in(&mut laptop, "JOSE\u{301}@example.com", PASSWORD).expect("found by its legacy form");
    assert_eq!(w.look(|s| s.users[0].email.clone()), "jos\u{e9}@example.com");
}

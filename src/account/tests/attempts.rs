//! The rules of failure runs and holds (SPEC §5.7): counted before checked, one run across
//! factors, only a completed action ends it, whose run it is, and the address hold.

use futures::future::join_all;

use super::signing_in::with_two_factor;
use super::*;
use crate::account::attempts::Refused;
use crate::account::credentials;
use crate::account::sign_in::{self as signing, Error, PasswordStep};
use crate::domain::tokens;

const EMAIL: &str = "ada@example.com";
const ATTACKER: &str = "198.51.100.66";

fn locked(retry_after: u64) -> Refused {
    Refused::RateLimited { retry_after }
}

/// `n` wrong passwords for `email` from `browser`.
fn guess(w: &World, browser: &mut Browser, email: &str, n: usize) {
    for _ in 0..n {
        let _ = w.sign_in(browser, email, WRONG);
    }
}

fn failures(w: &World, user_id: &str) -> usize {
    w.events(user_id).iter().filter(|kind| *kind == "sign_in_failed").count()
}

#[test]
fn parallel_wrong_guesses_are_counted_before_they_are_checked_so_at_most_five_are_evaluated() {
    let w = World::new();
    w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let attacker = Browser::at(ATTACKER);
    let requests: Vec<TestCx> = (0..32).map(|_| w.cx(&attacker)).collect();
    let answers = w.run(join_all(requests.iter().map(|cx| signing::with_password(cx, None, EMAIL, WRONG))));
    requests.iter().for_each(|cx| w.run(cx.effects.settle()));
    let wrong = answers.iter().filter(|a| matches!(a, Err(Error::InvalidCredentials))).count();
    let limited = answers.iter().filter(|a| matches!(a, Err(Error::Refused(r)) if *r == locked(30))).count();
    assert_eq!((wrong, limited), (4, 28), "the fifth evaluation locked the run");
    assert_eq!(failures(&w, &user), 5);
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((5, w.now() + 30)));
}

#[test]
fn a_locked_run_refuses_even_the_right_password_unchecked_until_the_lock_ends() {
    let w = World::new();
    w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let mut stranger = Browser::at(ATTACKER);
    guess(&w, &mut stranger, EMAIL, 5);
    assert_err!(w.sign_in(&mut stranger, EMAIL, PASSWORD), Error::Refused(Refused::RateLimited { retry_after: 30 }));
    assert_eq!(failures(&w, &user), 5);
    w.advance(30);
    assert!(w.sign_in(&mut stranger, EMAIL, PASSWORD).is_ok());
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((0, 0)));
}

#[test]
fn the_lock_doubles_with_each_further_failure_up_to_fifteen_minutes() {
    let w = World::new();
    w.sign_up(EMAIL);
    let mut stranger = Browser::at(ATTACKER);
    guess(&w, &mut stranger, EMAIL, 5);
    let mut locks = Vec::new();
    for wait in [30, 60, 120, 240, 480, 900] {
        w.advance(wait);
        match w.sign_in(&mut stranger, EMAIL, WRONG) {
            Err(Error::Refused(Refused::RateLimited { retry_after })) => locks.push(retry_after),
            _ => panic!("a failure after the threshold locks"),
        }
    }
    assert_eq!(locks, [60, 120, 240, 480, 900, 900]);
}

#[test]
fn codes_count_in_the_run_of_their_password_however_often_it_is_entered_again() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let mut thief = Browser::at(ATTACKER);
    w.sign_in(&mut thief, EMAIL, PASSWORD).unwrap();
    for _ in 0..4 {
        assert_err!(w.second_factor(&mut thief, code("000000")), Error::InvalidCode);
    }
    let again = w.sign_in(&mut thief, EMAIL, PASSWORD);
    assert!(matches!(again, Ok(PasswordStep::SecondFactorNeeded(_))), "a right password is no failure");
    assert_err!(w.second_factor(&mut thief, code("000000")), Error::Refused(Refused::RateLimited { retry_after: 30 }));
    let right = w.second_factor(&mut thief, code(&code_at(&secret, w.now())));
    assert_err!(right, Error::Refused(Refused::RateLimited { .. }) | Error::Refused(Refused::SignedOut));
}

#[test]
fn a_right_password_that_still_needs_its_second_factor_does_not_end_the_run() {
    let w = World::new();
    with_two_factor(&w);
    let user = w.user_id(EMAIL);
    let mut stranger = Browser::at(ATTACKER);
    guess(&w, &mut stranger, EMAIL, 3);
    w.sign_in(&mut stranger, EMAIL, PASSWORD).unwrap();
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((3, 0)));
    assert_err!(w.second_factor(&mut stranger, code("000000")), Error::InvalidCode);
    assert_err!(w.second_factor(&mut stranger, code("000000")), Error::Refused(Refused::RateLimited { .. }));
}

#[test]
fn only_a_sign_in_completed_with_every_factor_ends_the_run() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let user = w.user_id(EMAIL);
    let mut owner = Browser::at(ATTACKER);
    guess(&w, &mut owner, EMAIL, 3);
    w.sign_in(&mut owner, EMAIL, PASSWORD).unwrap();
    w.second_factor(&mut owner, code(&code_at(&secret, w.now()))).expect("signed in");
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((0, 0)));
}

#[test]
fn strangers_who_lock_the_account_do_not_lock_out_its_trusted_device() {
    let w = World::new();
    let mut owner = w.sign_up(EMAIL);
    owner.session = None;
    let user = w.user_id(EMAIL);
    let mut attacker = Browser::at(ATTACKER);
    guess(&w, &mut attacker, EMAIL, 5);
    assert_err!(w.sign_in(&mut Browser::at("192.0.2.1"), EMAIL, PASSWORD), Error::Refused(_));
    assert!(w.sign_in(&mut owner, EMAIL, PASSWORD).is_ok(), "the owner's device has a run of its own");
    assert_eq!(w.run_of(&user, &Budget::Strangers).map(|(n, _)| n), Some(5), "the strangers stay locked");
}

#[test]
fn a_trusted_device_has_a_run_of_its_own_which_locks_after_five_too() {
    let w = World::new();
    let mut owner = w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let device = crate::account::devices::parse(owner.device.as_deref().unwrap(), &w.keys()).unwrap().device_id;
    guess(&w, &mut owner, EMAIL, 5);
    assert_eq!(w.run_of(&user, &Budget::Device(device)), Some((5, w.now() + 30)));
    assert_err!(w.sign_in(&mut owner, EMAIL, PASSWORD), Error::Refused(Refused::RateLimited { retry_after: 30 }));
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((0, 0)));
    assert!(w.sign_in(&mut Browser::at("192.0.2.1"), EMAIL, PASSWORD).is_ok());
}

#[test]
fn a_device_cookie_of_another_account_or_a_forged_one_makes_its_holder_a_stranger() {
    let w = World::new();
    w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let mut bob = w.sign_up("bob@example.com");
    guess(&w, &mut bob, EMAIL, 1);
    let mut forged = Browser::at(ATTACKER);
    let cookie = bob.device.clone().unwrap();
    forged.device = Some(cookie.replacen(&w.user_id("bob@example.com"), &user, 1));
    guess(&w, &mut forged, EMAIL, 1);
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((2, 0)));
}

#[test]
fn a_signed_in_session_counts_its_own_confirmations_never_the_account() {
    let w = World::new();
    let mut owner = w.sign_up(EMAIL);
    let mut other = w.browser();
    w.sign_in(&mut other, EMAIL, PASSWORD).unwrap();
    let user = w.user_id(EMAIL);
    let confirm = |browser: &mut Browser, password: &'static str| {
        request!(w, browser, "POST /api/auth/confirm", |cx, current| credentials::confirm(cx, &current, password, None))
            .expect("a live session")
    };
    for _ in 0..4 {
        assert_err!(confirm(&mut owner, WRONG), credentials::Error::WrongPassword);
    }
    assert_err!(confirm(&mut owner, WRONG), credentials::Error::Refused(Refused::RateLimited { retry_after: 30 }));
    assert_err!(confirm(&mut owner, PASSWORD), credentials::Error::Refused(Refused::RateLimited { .. }));
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((0, 0)));
    assert!(confirm(&mut other, PASSWORD).is_ok(), "another session has its own run");
    assert!(w.sign_in(&mut Browser::at(ATTACKER), EMAIL, PASSWORD).is_ok());
}

#[test]
fn parallel_wrong_confirmations_of_one_session_get_at_most_five_evaluations() {
    let w = World::new();
    let owner = w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let token = owner.session.clone();
    let requests: Vec<TestCx> = (0..16).map(|_| w.cx(&owner)).collect();
    let answers = w.run(join_all(requests.iter().map(|cx| {
        serve!(cx, token.as_deref(), "POST /api/auth/confirm", |c, current| credentials::confirm(
            c, &current, WRONG, None
        ))
    })));
    requests.iter().for_each(|cx| w.run(cx.effects.settle()));
    let wrong = answers.iter().filter(|a| matches!(a, Ok(Err(credentials::Error::WrongPassword)))).count();
    assert_eq!(wrong, 4);
    assert_eq!(failures(&w, &user), 5);
}

#[test]
fn a_request_refused_before_its_secret_is_checked_hands_its_count_back() {
    let w = World::new();
    let (mut owner, _, _) = with_two_factor(&w);
    let user = w.user_id(EMAIL);
    let answer = request!(w, &mut owner, "POST /api/auth/confirm", |cx, current| credentials::confirm(
        cx, &current, PASSWORD, None
    ));
    assert_err!(answer.unwrap(), credentials::Error::InvalidInput(_));
    let session = tokens::id_of(owner.session.as_deref().unwrap()).to_string();
    assert_eq!(w.run_of(&user, &Budget::Session(session)), None, "no run left behind");
}

/// Puts `address` at the edge of its failed sign-in limit: its next failure holds it.
fn at_the_limit(w: &World, address: &str) {
    w.store.set_rate_count("SIGN_IN_FAILURES", address, 20);
}

#[test]
fn an_address_over_its_limit_is_held_and_its_requests_count_nothing_whatever_they_name() {
    let w = World::new();
    w.sign_up(EMAIL);
    let user = w.user_id(EMAIL);
    let mut attacker = Browser::at(ATTACKER);
    at_the_limit(&w, ATTACKER);
    assert_err!(w.sign_in(&mut attacker, EMAIL, WRONG), Error::Refused(Refused::RateLimited { retry_after: 60 }));
    for email in [EMAIL, "nobody@example.com"] {
        let held = w.sign_in(&mut attacker, email, PASSWORD);
        assert_err!(held, Error::Refused(Refused::RateLimited { retry_after: 60 }));
    }
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((1, 0)));
    assert_eq!(failures(&w, &user), 1);
    assert!(w.look(|s| s.budgets.is_empty()), "no run of the unknown e-mail");
    w.advance(61);
    assert!(w.sign_in(&mut attacker, EMAIL, PASSWORD).is_ok(), "the hold ends");
}

#[test]
fn a_device_cookie_lifts_the_hold_only_for_the_account_it_belongs_to() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL).moved_to(ATTACKER);
    w.sign_up("bob@example.com");
    at_the_limit(&w, ATTACKER);
    let _ = w.sign_in(&mut Browser::at(ATTACKER), "nobody@example.com", WRONG);
    assert!(w.sign_in(&mut ada, EMAIL, PASSWORD).is_ok());
    let bob = w.sign_in(&mut ada, "bob@example.com", PASSWORD);
    assert_err!(bob, Error::Refused(Refused::RateLimited { retry_after: 60 }));
}

#[test]
fn failures_of_a_trusted_device_do_not_count_against_its_address() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL).moved_to(ATTACKER);
    at_the_limit(&w, ATTACKER);
    assert_err!(w.sign_in(&mut ada, EMAIL, WRONG), Error::InvalidCredentials);
    assert!(w.look(|s| s.held.is_empty()));
}

#[test]
fn a_pending_sign_in_from_an_address_held_meanwhile_counts_nothing() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let user = w.user_id(EMAIL);
    let mut thief = Browser::at(ATTACKER);
    w.sign_in(&mut thief, EMAIL, PASSWORD).unwrap();
    at_the_limit(&w, ATTACKER);
    let _ = w.sign_in(&mut Browser::at(ATTACKER), "nobody@example.com", WRONG);
    let held = w.second_factor(&mut thief, code(&code_at(&secret, w.now())));
    assert_err!(held, Error::Refused(Refused::RateLimited { retry_after: 60 }));
    assert_eq!(w.run_of(&user, &Budget::Strangers), Some((0, 0)));
}

#[test]
fn locked_answers_are_the_same_for_known_and_unknown_addresses() {
    let w = World::new();
    w.sign_up(EMAIL);
    let mut attacker = Browser::at(ATTACKER);
    guess(&w, &mut attacker, EMAIL, 5);
    guess(&w, &mut attacker, "nobody@example.com", 5);
    for email in [EMAIL, "nobody@example.com"] {
        let answer = w.sign_in(&mut attacker, email, PASSWORD);
        assert_err!(answer, Error::Refused(Refused::RateLimited { retry_after: 30 }));
    }
}

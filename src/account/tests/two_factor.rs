//! Turning two-factor authentication on and off, and its recovery codes.

use super::signing_in::with_two_factor;
use super::*;
use crate::account::factors::SecondFactor;
use crate::account::keys::CACHE_SECONDS;
use crate::account::sign_in::{Error as SignInError, PasswordStep};
use crate::account::two_factor::{self, Error, Setup};
use crate::domain::tokens;

const EMAIL: &str = "ada@example.com";

fn set_up(w: &World, browser: &mut Browser) -> Result<Result<Setup, Error>, Denied> {
    request!(w, browser, "POST /api/security/two-factor/setup", |cx, current| two_factor::start_setup(cx, &current))
}

fn enable(w: &World, browser: &mut Browser, typed: &str) -> Result<Vec<String>, Error> {
    let answer = request!(w, browser, "POST /api/security/two-factor/enable", |cx, current| two_factor::enable(
        cx, &current, typed
    ));
    answer.expect("in sudo")
}

fn disable(w: &World, browser: &mut Browser, password: &str, factor: SecondFactor) -> Result<(), Error> {
    let answer = request!(w, browser, "POST /api/security/two-factor/disable", |cx, current| {
        two_factor::disable(cx, &current, password, factor)
    });
    answer.expect("a live session")
}

fn regenerate(w: &World, browser: &mut Browser) -> Result<Vec<String>, Error> {
    let answer = request!(w, browser, "POST /api/security/two-factor/recovery-codes", |cx, current| {
        two_factor::regenerate_codes(cx, &current)
    });
    answer.expect("in sudo")
}

/// Signs in on a new browser with the password and `factor`.
fn sign_in_with(w: &World, factor: SecondFactor) -> Result<(), SignInError> {
    let mut laptop = Browser::at("198.51.100.20");
    match w.sign_in(&mut laptop, EMAIL, PASSWORD)? {
        PasswordStep::SignedIn(_) => Ok(()),
        PasswordStep::SecondFactorNeeded(_) => w.second_factor(&mut laptop, factor).map(drop),
    }
}

#[test]
fn set_up_shows_a_secret_for_the_app_and_only_a_right_code_turns_it_on() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let setup = set_up(&w, &mut ada).unwrap().expect("a set-up");
    assert!(setup.otpauth_uri.starts_with("otpauth://totp/WEMASY:") && setup.otpauth_uri.contains(&setup.secret));
    assert!(setup.qr_svg.contains("<svg"));
    assert_err!(enable(&w, &mut ada, "000000"), Error::InvalidCode);
    let codes = enable(&w, &mut ada, &code_at(&setup.secret, w.now())).expect("on");
    assert_eq!(codes.len(), 10);
    assert!(codes.iter().all(|c| c.len() == 19 && c.split('-').count() == 4), "{codes:?}");
    let current = w.me(&mut ada).unwrap();
    assert!(current.user.totp_enabled_at.is_some());
    assert_eq!(current.user.recovery_codes_remaining, 10);
    let session = tokens::id_of(ada.session.as_deref().unwrap()).to_string();
    assert_eq!(w.run_of(&w.user_id(EMAIL), &Budget::Session(session)), None, "the run ended with it");
    assert!(w.events(&w.user_id(EMAIL)).contains(&"two_factor_enabled".to_string()));
}

#[test]
fn set_up_needs_the_sudo_window() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    w.advance(w.config.sudo_seconds + 1);
    assert_eq!(set_up(&w, &mut ada).err(), Some(Denied::ReauthRequired));
}

#[test]
fn set_up_while_it_is_on_and_enabling_without_a_set_up_are_refused() {
    let w = World::new();
    let (mut ada, secret, _) = with_two_factor(&w);
    assert_err!(set_up(&w, &mut ada).unwrap(), Error::AlreadyOn);
    assert_err!(enable(&w, &mut ada, &code_at(&secret, w.now())), Error::AlreadyOn);
    let mut bob = w.sign_up("bob@example.com");
    assert_err!(enable(&w, &mut bob, "123456"), Error::NoSetup);
}

#[test]
fn the_code_typed_during_set_up_counts_as_used() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let setup = set_up(&w, &mut ada).unwrap().unwrap();
    let typed = code_at(&setup.secret, w.now());
    enable(&w, &mut ada, &typed).expect("on");
    assert_err!(sign_in_with(&w, code(&typed)), SignInError::InvalidCode);
    w.advance(totp::STEP_SECONDS);
    assert!(sign_in_with(&w, code(&code_at(&setup.secret, w.now()))).is_ok());
}

#[test]
fn turning_it_off_needs_the_password_and_a_code() {
    let w = World::new();
    let (mut ada, secret, _) = with_two_factor(&w);
    let now_code = || code(&code_at(&secret, w.now()));
    assert_err!(disable(&w, &mut ada, WRONG, now_code()), Error::WrongPassword);
    assert_err!(disable(&w, &mut ada, PASSWORD, code("000000")), Error::InvalidCode);
    disable(&w, &mut ada, PASSWORD, now_code()).expect("off");
    let user = w.user_id(EMAIL);
    assert!(w.look(|s| s.codes.is_empty() && s.user(&user).unwrap().totp_secret.is_none()));
    assert!(w.events(&user).contains(&"two_factor_disabled".to_string()));
    assert!(sign_in_with(&w, code("000000")).is_ok(), "the password alone signs in");
    assert_err!(disable(&w, &mut ada, PASSWORD, now_code()), Error::NotOn);
}

#[test]
fn a_recovery_code_turns_it_off_as_well() {
    let w = World::new();
    let (mut ada, _, codes) = with_two_factor(&w);
    disable(&w, &mut ada, PASSWORD, recovery(&codes[9])).expect("off");
    let user = w.user_id(EMAIL);
    let events = w.events(&user);
    assert_eq!(events[events.len() - 2..], ["recovery_code_used", "two_factor_disabled"]);
    assert!(w.look(|s| s.codes.is_empty()));
}

#[test]
fn new_recovery_codes_replace_the_old_set() {
    let w = World::new();
    let (mut ada, _, old) = with_two_factor(&w);
    let new = regenerate(&w, &mut ada).expect("new codes");
    assert_eq!(new.len(), 10);
    assert_err!(sign_in_with(&w, recovery(&old[0])), SignInError::InvalidCode);
    assert!(sign_in_with(&w, recovery(&new[0])).is_ok());
    assert!(w.events(&w.user_id(EMAIL)).contains(&"recovery_codes_regenerated".to_string()));
    let mut bob = w.sign_up("bob@example.com");
    assert_err!(regenerate(&w, &mut bob), Error::NotOn);
}

#[test]
fn codes_made_under_a_retired_recovery_key_ask_to_be_regenerated() {
    let w = World::new();
    let (mut ada, _, _) = with_two_factor(&w);
    let stale = |w: &World, ada: &mut Browser| {
        request!(w, ada, "GET /api/security", |cx, current| two_factor::codes_need_regenerating(cx, &current))
            .unwrap()
            .unwrap()
    };
    assert!(!stale(&w, &mut ada));
    w.store.plant(|s| {
        let recovery = s.data_keys.iter_mut().find(|(k, _)| k.purpose == "recovery").unwrap();
        recovery.0.retired_at = Some(T0);
    });
    w.advance(CACHE_SECONDS);
    assert!(stale(&w, &mut ada), "a new recovery key is made, the codes are under the old one");
    regenerate(&w, &mut ada).expect("new codes");
    assert!(!stale(&w, &mut ada));
}

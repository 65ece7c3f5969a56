//! Races, as concurrent requests run them against D1: the store yields at every call, and one of
//! the two requests starts a few calls later each time, so every test below goes through many
//! interleavings (and checks that each outcome it allows did happen in one of them).

use std::collections::BTreeSet;
use std::future::Future;

use futures::future::{join, join_all};

use super::passkeys::{add, challenge_of, rp, Authenticator};
use super::signing_in::with_two_factor;
use super::*;
use crate::account::factors::SecondFactor;
use crate::account::sign_in::{self as signing, PasswordStep};
use crate::account::{credentials, passkeys, sessions};
use crate::storage::memory::yield_now;

const EMAIL: &str = "ada@example.com";
const THIEF: &str = "198.51.100.66";
/// How many storage calls later the second request starts, at most.
const DELAYS: usize = 24;

/// `future`, started after the other requests made `yields` storage calls.
async fn after<F: Future>(yields: usize, future: F) -> F::Output {
    for _ in 0..yields {
        yield_now().await;
    }
    future.await
}

/// How many storage calls later each of two requests starts: the first later, then the second.
fn delays() -> impl Iterator<Item = (usize, usize)> {
    (0..DELAYS).map(|d| (d, 0)).chain((1..DELAYS).map(|d| (0, d)))
}

fn signed_in(step: &Result<PasswordStep, signing::Error>) -> bool {
    matches!(step, Ok(PasswordStep::SignedIn(_)))
}

/// Ada changes her password (signing the others out) while a thief signs in with the old one.
fn password_change_against_sign_in((first, second): (usize, usize)) -> (World, Browser, Browser, bool) {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let mut thief = Browser::at(THIEF);
    let (cx_ada, cx_thief) = (w.cx(&ada), w.cx(&thief));
    let (token, device) = (ada.session.clone(), ada.device.clone());
    let change = serve!(&cx_ada, token.as_deref(), "PUT /api/security/password", |cx, current| {
        credentials::change_password(cx, device.as_deref(), &current, PASSWORD, NEW_PASSWORD, true)
    });
    let sign_in = signing::with_password(&cx_thief, None, EMAIL, PASSWORD);
    let (changed, step) = w.run(join(after(first, change), after(second, sign_in)));
    w.done(&cx_ada, &mut ada);
    w.done(&cx_thief, &mut thief);
    changed.unwrap().expect("the change wins");
    (w, ada, thief, signed_in(&step))
}

#[test]
fn a_sign_in_racing_a_password_change_never_yields_a_live_session_nor_trust() {
    let mut outcomes = BTreeSet::new();
    for delays in delays() {
        let (w, mut ada, mut thief, thief_signed_in) = password_change_against_sign_in(delays);
        outcomes.insert(thief_signed_in);
        assert_eq!(w.me(&mut thief).err(), Some(Denied::SignedOut), "delays {delays:?}");
        w.me(&mut ada).expect("the owner stays signed in");
        assert_eq!(w.look(|s| s.devices.len()), 1, "only the owner's browser is trusted ({delays:?})");
    }
    assert_eq!(outcomes.len(), 2, "the sign-in completed before the change and lost to it: {outcomes:?}");
}

#[test]
fn a_sign_in_that_verified_the_generation_before_a_sign_out_of_the_others_never_yields_a_live_session() {
    let mut outcomes = BTreeSet::new();
    for (first, second) in delays() {
        let w = World::new();
        let mut ada = w.sign_up(EMAIL);
        let mut thief = Browser::at(THIEF);
        let (cx_ada, cx_thief) = (w.cx(&ada), w.cx(&thief));
        let (token, device) = (ada.session.clone(), ada.device.clone());
        let end = serve!(&cx_ada, token.as_deref(), "POST /api/security/sessions/revoke-others", |cx, current| {
            sessions::end_others(cx, device.as_deref(), &current)
        });
        let sign_in = signing::with_password(&cx_thief, None, EMAIL, PASSWORD);
        let (ended, step) = w.run(join(after(first, end), after(second, sign_in)));
        w.done(&cx_ada, &mut ada);
        w.done(&cx_thief, &mut thief);
        ended.unwrap().expect("ended");
        let generation = thief.session.as_deref().and_then(|token| session_generation(&w, token));
        let live = w.me(&mut thief).is_ok();
        let outcome = match (signed_in(&step), generation) {
            (false, _) => "refused: its generation moved on before it completed",
            // No record: it was listed with the others, and forgotten with them.
            (true, Some(0) | None) => "completed under the old generation, ended with it",
            (true, _) => "verified the new generation: a sign-in after the sign-out",
        };
        assert_eq!(live, outcome.starts_with("verified"), "{outcome} (delays {first}, {second})");
        outcomes.insert(outcome);
        w.me(&mut ada).expect("the owner stays signed in");
    }
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
}

/// The session generation a session token's record was authenticated under, while KV has it.
fn session_generation(w: &World, token: &str) -> Option<u64> {
    let id = crate::domain::tokens::id_of(token);
    let record = w.look(|s| s.kv.get(&crate::storage::kv::names::session(&id)).map(|e| e.value.clone()))?;
    let record: crate::storage::sessions::SessionRecord = serde_json::from_str(&record).unwrap();
    Some(record.generations.session)
}

#[test]
fn a_confirmation_racing_a_revocation_of_its_session_loses_to_it() {
    let mut outcomes = BTreeSet::new();
    for (first, second) in delays() {
        let w = World::new();
        let mut ada = w.sign_up(EMAIL);
        let mut phone = Browser::at("198.51.100.30");
        w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
        let target = super::sessions::id_of(&ada);
        let (cx_ada, cx_phone) = (w.cx(&ada), w.cx(&phone));
        let (ada_token, phone_token) = (ada.session.clone(), phone.session.clone());
        let confirm = serve!(&cx_ada, ada_token.as_deref(), "POST /api/auth/confirm", |cx, current| {
            credentials::confirm(cx, &current, PASSWORD, None)
        });
        let revoke = serve!(&cx_phone, phone_token.as_deref(), "DELETE /api/security/sessions/{id}", |cx, current| {
            sessions::end_one(cx, &current, &target)
        });
        let (confirmed, revoked) = w.run(join(after(first, confirm), after(second, revoke)));
        w.done(&cx_ada, &mut ada);
        w.done(&cx_phone, &mut phone);
        assert!(matches!(revoked, Ok(Ok(sessions::Ended::Other))), "delays {first}, {second}");
        outcomes.insert(matches!(confirmed, Ok(Ok(()))));
        assert_eq!(w.me(&mut ada).err(), Some(Denied::SignedOut), "the revocation wins ({first}, {second})");
    }
    assert_eq!(outcomes.len(), 2, "{outcomes:?}");
}

#[test]
fn of_two_password_changes_at_once_exactly_one_wins() {
    for delay in 0..DELAYS {
        let w = World::new();
        let ada = w.sign_up(EMAIL);
        let mut phone = Browser::at("198.51.100.30");
        w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
        let (cx_ada, cx_phone) = (w.cx(&ada), w.cx(&phone));
        let (ada_token, phone_token) = (ada.session.clone(), phone.session.clone());
        let changes = join(
            serve!(&cx_ada, ada_token.as_deref(), "PUT /api/security/password", |cx, current| {
                credentials::change_password(cx, None, &current, PASSWORD, NEW_PASSWORD, true)
            }),
            after(
                delay,
                serve!(&cx_phone, phone_token.as_deref(), "PUT /api/security/password", |cx, current| {
                    credentials::change_password(cx, None, &current, PASSWORD, "Another!Orbit-Lantern-77", true)
                }),
            ),
        );
        let (first, second) = w.run(changes);
        let won = [&first, &second].iter().filter(|answer| matches!(answer, Ok(Ok(_)))).count();
        assert_eq!(won, 1, "delay {delay}");
        let works = ["Another!Orbit-Lantern-77", NEW_PASSWORD, PASSWORD]
            .iter()
            .filter(|password| w.sign_in(&mut w.browser(), EMAIL, password).is_ok())
            .count();
        assert_eq!(works, 1, "one password works (delay {delay})");
    }
}

#[test]
fn of_two_sign_outs_of_the_other_sessions_at_once_exactly_one_wins() {
    for delay in 0..DELAYS {
        let w = World::new();
        let mut ada = w.sign_up(EMAIL);
        let mut phone = Browser::at("198.51.100.30");
        w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
        let (cx_ada, cx_phone) = (w.cx(&ada), w.cx(&phone));
        let (ada_token, phone_token) = (ada.session.clone(), phone.session.clone());
        let route = "POST /api/security/sessions/revoke-others";
        let ends = join(
            serve!(&cx_ada, ada_token.as_deref(), route, |cx, current| sessions::end_others(cx, None, &current)),
            after(
                delay,
                serve!(&cx_phone, phone_token.as_deref(), route, |cx, current| sessions::end_others(
                    cx, None, &current
                )),
            ),
        );
        let (first, second) = w.run(ends);
        w.done(&cx_ada, &mut ada);
        w.done(&cx_phone, &mut phone);
        let won = [&first, &second].iter().filter(|answer| matches!(answer, Ok(Ok(_)))).count();
        assert_eq!(won, 1, "delay {delay}");
        let live = [ada, phone].into_iter().filter(|b| w.me(&mut b.clone()).is_ok()).count();
        assert_eq!(live, 1, "only the winner's session lives (delay {delay})");
    }
}

/// Two browsers that both know Ada's password and factor, each with a pending sign-in, send the
/// same second factor at once: one signs in.
fn same_factor_twice(factor: impl Fn(&str, &[String], u64) -> SecondFactor) {
    for delay in 0..DELAYS {
        let w = World::new();
        let (_, secret, codes) = with_two_factor(&w);
        let mut browsers = [Browser::at("198.51.100.30"), Browser::at("198.51.100.40")];
        browsers.iter_mut().for_each(|b| drop(w.sign_in(b, EMAIL, PASSWORD).unwrap()));
        let requests: Vec<TestCx> = browsers.iter().map(|b| w.cx(b)).collect();
        let sends = browsers.iter().zip(&requests).enumerate().map(|(i, (b, cx))| {
            let pending = b.pending.clone().unwrap();
            let factor = factor(&secret, &codes, w.now());
            after(i * delay, async move { signing::with_second_factor(cx, None, &pending, factor).await.is_ok() })
        });
        let answers = w.run(join_all(sends));
        assert_eq!(answers.iter().filter(|ok| **ok).count(), 1, "delay {delay}");
    }
}

#[test]
fn one_code_sent_twice_at_once_signs_in_once() {
    same_factor_twice(|secret, _, now| code(&code_at(secret, now)));
}

#[test]
fn one_recovery_code_sent_twice_at_once_signs_in_once() {
    same_factor_twice(|_, codes, _| recovery(&codes[0]));
}

#[test]
fn one_passkey_assertion_sent_twice_at_once_signs_in_once() {
    for delay in 0..DELAYS {
        let w = World::new();
        let mut ada = w.sign_up(EMAIL);
        let authenticator = Authenticator::new();
        add(&w, &mut ada, &authenticator).unwrap().expect("added");
        let browser = Browser::at("198.51.100.30");
        let cx = w.cx(&browser);
        let options = w.run(passkeys::sign_in_options(&cx, &rp())).unwrap();
        let response = authenticator.assert(&challenge_of(&options));
        let requests: Vec<TestCx> = (0..2).map(|_| w.cx(&browser)).collect();
        let sends = requests
            .iter()
            .enumerate()
            .map(|(i, cx)| after(i * delay, async { passkeys::sign_in(cx, None, &rp(), &response).await.is_ok() }));
        let answers = w.run(join_all(sends));
        assert_eq!(answers.iter().filter(|ok| **ok).count(), 1, "delay {delay}");
    }
}

#[test]
fn two_sign_ups_with_one_address_at_once_make_one_account() {
    for delay in 0..DELAYS {
        let w = World::new();
        let browsers = [w.browser(), Browser::at("198.51.100.30")];
        let requests: Vec<TestCx> = browsers.iter().map(|b| w.cx(b)).collect();
        let emails = [EMAIL, "ADA@example.com"];
        let sign_ups = requests.iter().zip(emails).enumerate().map(|(i, (cx, email))| {
            after(i * delay, async move { signing::sign_up(cx, email, PASSWORD, NAME).await.is_ok() })
        });
        let answers = w.run(join_all(sign_ups));
        assert_eq!(answers.iter().filter(|ok| **ok).count(), 1, "delay {delay}");
        assert_eq!(w.look(|s| s.users.len()), 1);
    }
}

#[test]
fn parallel_wrong_codes_of_one_pending_sign_in_get_at_most_five_evaluations() {
    let w = World::new();
    with_two_factor(&w);
    let user = w.user_id(EMAIL);
    let mut thief = Browser::at(THIEF);
    w.sign_in(&mut thief, EMAIL, PASSWORD).unwrap();
    let pending = thief.pending.clone().unwrap();
    let requests: Vec<TestCx> = (0..16).map(|_| w.cx(&thief)).collect();
    let sends = requests.iter().map(|cx| signing::with_second_factor(cx, None, &pending, code("000000")));
    let answers = w.run(join_all(sends));
    requests.iter().for_each(|cx| w.run(cx.effects.settle()));
    let wrong = answers.iter().filter(|a| matches!(a, Err(signing::Error::InvalidCode))).count();
    assert_eq!(wrong, 4);
    assert_eq!(w.events(&user).iter().filter(|kind| *kind == "sign_in_failed").count(), 5);
}

//! Breached passwords on the host: a new password seen in breaches is refused with how often; the
//! service being down blocks nothing; a sign-in with a breached password flags the account once.

use super::*;
use crate::domain::breaches::range_of;
use crate::domain::password_rules::PasswordProblem;

const EMAIL: &str = "ada@example.com";
const LEAKED: &str = "Correct-Horse-Battery-9!";

/// Plants `password` in the service's range, seen `times` times, among padding.
fn leak(w: &World, password: &str, times: u64) {
    let (prefix, suffix) = range_of(password);
    let range = format!(
        "0018A45C4D1DEF81644B54AB7F969B88D65:0\r\n{suffix}:{times}\r\nFFFF0000FFFF0000FFFF0000FFFF0000FFF:3\r\n"
    );
    w.store.plant(|s| {
        s.breach_ranges.insert(prefix, range);
    });
}

#[test]
fn a_new_password_seen_in_breaches_is_refused_saying_how_often() {
    let w = World::new();
    leak(&w, LEAKED, 52_345);
    let refused = w.sign_up_as(&mut w.browser(), EMAIL, LEAKED);
    let Err(signing::Error::WeakPassword(problems)) = refused else { panic!("not refused") };
    assert_eq!(problems, [PasswordProblem::Breached(52_345)]);
    assert!(problems[0].message().contains("more than 52,000 times"), "{}", problems[0].message());
    assert!(w.look(|s| s.users.is_empty()));

    let mut ada = w.sign_up(EMAIL);
    let changed = super::password::change(&w, &mut ada, PASSWORD, LEAKED, false);
    assert!(
        matches!(changed, Err(crate::account::credentials::Error::WeakPassword(ref p)) if p == &[PasswordProblem::Breached(52_345)])
    );
}

#[test]
fn the_service_being_down_blocks_nothing_and_the_built_in_list_still_holds() {
    let w = World::new();
    leak(&w, LEAKED, 7);
    w.store.plant(|s| s.breach_service_down = true);
    assert!(w.sign_up_as(&mut w.browser(), EMAIL, LEAKED).is_ok());
    let common = w.sign_up_as(&mut w.browser(), "grace@example.com", "password1234");
    assert!(matches!(common, Err(signing::Error::WeakPassword(_))));
}

#[test]
fn a_sign_in_with_a_breached_password_flags_the_account_once_and_a_new_password_clears_it() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    leak(&w, PASSWORD, 3);
    let id = w.user_id(EMAIL);
    for _ in 0..2 {
        assert!(matches!(w.sign_in(&mut w.browser(), EMAIL, PASSWORD), Ok(PasswordStep::SignedIn(_))));
    }
    assert_eq!(w.look(|s| s.users[0].password_breached_count), Some(3));
    let flagged = w.events(&id).iter().filter(|kind| *kind == "password_breached").count();
    assert_eq!(flagged, 1, "flagged once");
    assert_eq!(w.detail_of(&id, "password_breached"), serde_json::json!({ "times": 3 }));

    super::password::change(&w, &mut ada, PASSWORD, "Quiet-Lantern-Orchard-58!", false).expect("changed");
    assert_eq!(w.look(|s| s.users[0].password_breached_count), None);
}

#[test]
fn a_wrong_password_is_never_checked() {
    let w = World::new();
    w.sign_up(EMAIL);
    leak(&w, "Wrong-Password-Here-1!", 3);
    let _ = w.sign_in(&mut w.browser(), EMAIL, "Wrong-Password-Here-1!");
    assert_eq!(w.look(|s| s.users[0].password_breached_count), None);
}

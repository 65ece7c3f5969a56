//! Unfamiliar sign-ins on the host: a new device, country or network, and impossible travel, as
//! the sign-in's event records them; "This was me" clears the flag, and only for the account's
//! own sessions.

use super::*;
use crate::account::sessions::Error;
use crate::account::unfamiliar::{confirm_familiar, sign_in_flags};
use crate::domain::unfamiliar::Flags;

const EMAIL: &str = "ada@example.com";
const LISBON: Place = Place { country: "PT", city: "Lisbon", network: "AS3243", coordinates: (38.72, -9.14) };
const SYDNEY: Place = Place { country: "AU", city: "Sydney", network: "AS1221", coordinates: (-33.87, 151.21) };

/// The flags (if still to review) of the sign-in the browser's session started with, as the
/// session list reads them with its session check (the same as a read of their own).
fn flags_of(w: &World, browser: &mut Browser) -> Flags {
    let current = w.me(browser).expect("signed in");
    assert!(current.also_read.sign_ins.is_none(), "GET /api/me reads no sign-ins");
    let cx = w.cx(browser);
    let read_alone = w.run(sign_in_flags(&cx, &current)).expect("read");
    let listing = w.run(check(&cx, browser.session.as_deref(), "GET /api/security/sessions")).expect("signed in");
    assert!(listing.also_read.sign_ins.is_some(), "the session list reads them with its check");
    let flags = w.run(sign_in_flags(&cx, &listing)).expect("read");
    assert_eq!(flags, read_alone);
    w.done(&cx, browser);
    let sign_in = current.record.summary.sign_in.clone().expect("a session of a sign-in");
    flags.get(&sign_in).cloned().unwrap_or_default()
}

fn signed_in_from(w: &World, place: Place) -> Browser {
    let mut browser = Browser { place, ..w.browser() };
    assert!(matches!(w.sign_in(&mut browser, EMAIL, PASSWORD), Ok(PasswordStep::SignedIn(_))));
    browser
}

#[test]
fn a_new_browser_from_the_same_place_is_a_new_device_and_nothing_else() {
    let w = World::new();
    w.sign_up(EMAIL);
    w.advance(3600);
    let mut laptop = signed_in_from(&w, AMSTERDAM);
    assert_eq!(flags_of(&w, &mut laptop).reasons(), ["new_device"]);

    w.advance(3600);
    let mut again = Browser { session: None, ..laptop.clone() };
    assert!(matches!(w.sign_in(&mut again, EMAIL, PASSWORD), Ok(PasswordStep::SignedIn(_))));
    assert!(flags_of(&w, &mut again).reasons().is_empty(), "a known device from a known place");
}

#[test]
fn a_new_country_and_network_are_flagged_and_impossible_travel_too() {
    let w = World::new();
    w.sign_up(EMAIL);
    w.advance(6 * 3600);
    let mut lisbon = signed_in_from(&w, LISBON);
    let flags = flags_of(&w, &mut lisbon);
    assert_eq!(flags.reasons(), ["new_country", "new_network", "new_device"], "{flags:?}");
    assert!(flags.travel_kmh.is_some_and(|kmh| kmh < 1000), "Amsterdam to Lisbon in six hours: {flags:?}");

    w.advance(600);
    let mut sydney = signed_in_from(&w, SYDNEY);
    let flags = flags_of(&w, &mut sydney);
    assert!(flags.impossible_travel(), "Lisbon to Sydney in ten minutes: {flags:?}");
}

#[test]
fn this_was_me_clears_the_flag_of_the_accounts_own_sessions_only() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    w.advance(3600);
    let mut lisbon = signed_in_from(&w, LISBON);
    let lisbon_id = w.me(&mut lisbon).unwrap().id.to_string();
    assert!(flags_of(&w, &mut lisbon).to_review());

    let mut grace = w.sign_up("grace@example.com");
    let answer = request!(w, &mut grace, "POST /api/security/sessions/{id}/familiar", |cx, current| {
        confirm_familiar(cx, &current, &lisbon_id)
    });
    assert_err!(answer.unwrap(), Error::NotFound);
    assert!(flags_of(&w, &mut lisbon).to_review());

    let answer = request!(w, &mut ada, "POST /api/security/sessions/{id}/familiar", |cx, current| {
        confirm_familiar(cx, &current, &lisbon_id)
    });
    assert!(answer.unwrap().is_ok());
    assert_eq!(flags_of(&w, &mut lisbon), Flags::default(), "nothing left to review");
    let record = Flags::of(&w.detail_of(&w.user_id(EMAIL), "sign_in"));
    assert!(record.reviewed && !record.reasons().is_empty(), "reviewed, the record kept: {record:?}");
}

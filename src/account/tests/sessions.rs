//! Sessions: signing out, the list, ending one (a hand-over included) and ending all others, and
//! their lifetimes.

use serde_json::json;

use super::password::confirm;
use super::*;
use crate::account::sessions::{self, Ended, Error};
use crate::domain::tokens;
use crate::storage::kv::names;

const EMAIL: &str = "ada@example.com";

/// `POST /api/auth/logout`, as its handler serves it.
pub fn sign_out(w: &World, browser: &mut Browser) {
    let cx = w.cx(browser);
    w.run(async {
        match session::current(&cx, browser.session.as_deref(), DeviceProof::NotNeeded, WithCheck::default()).await {
            Ok(current) => sessions::sign_out(&cx, &current).await.expect("signed out"),
            Err(_) => cx.effects.set_session_cookie(SessionCookie::Clear),
        }
    });
    w.done(&cx, browser);
}

fn list(w: &World, browser: &mut Browser) -> Vec<String> {
    let others = request!(w, browser, "GET /api/security/sessions", |cx, current| sessions::live_others(cx, &current));
    others.unwrap().expect("listed").into_iter().map(|s| s.id.to_string()).collect()
}

fn end(w: &World, browser: &mut Browser, id: &str) -> Result<Ended, Error> {
    let answer =
        request!(w, browser, "DELETE /api/security/sessions/{id}", |cx, current| sessions::end_one(cx, &current, id));
    answer.expect("a live session")
}

fn end_others(w: &World, browser: &mut Browser) -> Result<Result<usize, Error>, Denied> {
    let device = browser.device.clone();
    request!(w, browser, "POST /api/security/sessions/revoke-others", |cx, current| {
        sessions::end_others(cx, device.as_deref(), &current)
    })
}

pub fn id_of(browser: &Browser) -> String {
    tokens::id_of(browser.session.as_deref().expect("a session")).to_string()
}

/// Ada's account signed in on three browsers, a few seconds apart: hers, a phone and a laptop.
fn three_sessions(w: &World) -> (Browser, Browser, Browser) {
    let ada = w.sign_up(EMAIL);
    let (mut phone, mut laptop) = (Browser::at("198.51.100.30"), Browser::at("198.51.100.40"));
    w.advance(10);
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    w.advance(10);
    w.sign_in(&mut laptop, EMAIL, PASSWORD).unwrap();
    (ada, phone, laptop)
}

#[test]
fn signing_out_ends_the_session_everywhere() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let mut stale_copy = ada.clone();
    let id = id_of(&ada);
    sign_out(&w, &mut ada);
    assert_eq!(ada.session, None);
    assert_eq!(w.me(&mut stale_copy).err(), Some(Denied::SignedOut));
    assert!(w.look(|s| s.is_revoked(&id) && !s.kv.contains_key(&names::session(&id))));
    assert_eq!(w.events(&w.user_id(EMAIL)).last().map(String::as_str), Some("sign_out"));
}

#[test]
fn the_list_shows_the_other_live_sessions_most_recently_active_first() {
    let w = World::new();
    let (mut ada, mut phone, laptop) = three_sessions(&w);
    assert_eq!(list(&w, &mut ada), [id_of(&laptop), id_of(&phone)]);
    sign_out(&w, &mut phone);
    assert_eq!(list(&w, &mut ada), [id_of(&laptop)]);
}

#[test]
fn ending_another_session_needs_sudo_and_ends_it_everywhere() {
    let w = World::new();
    let (mut ada, mut phone, _) = three_sessions(&w);
    w.advance(w.config.sudo_seconds);
    let phone_id = id_of(&phone);
    assert_err!(end(&w, &mut ada, &phone_id), Error::ReauthRequired);
    confirm(&w, &mut ada, PASSWORD, None).unwrap();
    assert!(matches!(end(&w, &mut ada, &phone_id), Ok(Ended::Other)));
    assert_eq!(w.me(&mut phone).err(), Some(Denied::SignedOut));
    let user = w.user_id(EMAIL);
    let detail = w.detail_of(&user, "session_revoked");
    assert_eq!(detail["current"], json!(false));
}

#[test]
fn ending_an_unknown_or_another_accounts_session_is_not_found() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let bob = w.sign_up("bob@example.com");
    let unknown = tokens::id_of("nobody's token").to_string();
    for id in ["not-an-id", unknown.as_str(), id_of(&bob).as_str()] {
        assert_err!(end(&w, &mut ada, id), Error::NotFound);
    }
}

#[test]
fn ending_ones_own_session_needs_no_sudo_and_signs_out() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    w.advance(w.config.sudo_seconds);
    let own = id_of(&ada);
    assert!(matches!(end(&w, &mut ada, &own), Ok(Ended::Own)));
    assert_eq!(ada.session, None);
}

#[test]
fn ending_a_session_that_was_handed_over_ends_what_it_became() {
    let w = World::new();
    let (mut ada, mut phone, _) = three_sessions(&w);
    let listed = id_of(&phone);
    confirm(&w, &mut phone, PASSWORD, None).expect("the phone confirms: a new token");
    assert_ne!(id_of(&phone), listed);
    assert!(matches!(end(&w, &mut ada, &listed), Ok(Ended::Other)));
    assert_eq!(w.me(&mut phone).err(), Some(Denied::SignedOut));
}

#[test]
fn ending_the_other_sessions_keeps_only_this_one_on_a_new_token() {
    let w = World::new();
    let (mut ada, mut phone, mut laptop) = three_sessions(&w);
    let mut old = ada.clone();
    assert_eq!(end_others(&w, &mut ada).unwrap().expect("ended"), 2);
    for browser in [&mut phone, &mut laptop, &mut old] {
        assert_eq!(w.me(browser).err(), Some(Denied::SignedOut));
    }
    w.me(&mut ada).expect("this one stays, on a new token");
    assert!(list(&w, &mut ada).is_empty());
    assert_eq!(w.look(|s| s.devices.len()), 1, "only this browser stays trusted");
    assert_eq!(w.detail_of(&w.user_id(EMAIL), "other_sessions_revoked"), json!({ "revoked": 2 }));
}

#[test]
fn ending_the_other_sessions_needs_sudo() {
    let w = World::new();
    let (mut ada, mut phone, _) = three_sessions(&w);
    w.advance(w.config.sudo_seconds);
    assert_eq!(end_others(&w, &mut ada).err(), Some(Denied::ReauthRequired));
    w.me(&mut phone).expect("nothing ended");
}

#[test]
fn an_idle_session_ends_after_a_week_and_activity_slides_it() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let id = id_of(&ada);
    let last_active = |w: &World| w.look(|s| s.kv.get(&names::session(&id)).map(|e| e.value.clone())).unwrap();
    w.advance(6 * 24 * 3600);
    w.me(&mut ada).expect("six days idle");
    assert!(last_active(&w).contains(&format!("\"last_active_at\":{}", w.now())), "written back");
    w.advance(6 * 24 * 3600);
    w.me(&mut ada).expect("slid by the last activity");
    w.advance(7 * 24 * 3600 + 1);
    assert_eq!(w.me(&mut ada).err(), Some(Denied::SignedOut));
}

#[test]
fn a_session_ends_after_thirty_days_however_active() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    for _ in 0..4 {
        w.advance(6 * 24 * 3600);
        w.me(&mut ada).expect("active");
    }
    w.advance(6 * 24 * 3600 - 1);
    w.me(&mut ada).expect("the last second");
    w.advance(1);
    assert_eq!(w.me(&mut ada).err(), Some(Denied::SignedOut));
}

//! Recent security activity, and what no event may hold.

use super::password::{change, confirm};
use super::signing_in::with_two_factor;
use super::*;
use crate::account::activity;
use crate::storage::events::EventRow;

const EMAIL: &str = "ada@example.com";

fn recent(w: &World, browser: &mut Browser, limit: u32) -> Vec<EventRow> {
    let answer = request!(w, browser, "GET /api/security/events", |cx, current| activity::recent(cx, &current, limit));
    answer.unwrap().expect("read")
}

#[test]
fn recent_activity_lists_the_accounts_own_events_newest_first() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    w.sign_up("bob@example.com");
    let _ = w.sign_in(&mut Browser::at("198.51.100.66"), EMAIL, WRONG);
    w.advance(5);
    w.sign_in(&mut Browser::at("198.51.100.20"), EMAIL, PASSWORD).unwrap();
    let events = recent(&w, &mut ada, 100);
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["sign_in", "sign_in_failed", "account_created"]);
    assert_eq!(events[0].ip.as_deref(), Some("198.51.100.20"));
    assert_eq!(recent(&w, &mut ada, 1).len(), 1);
}

#[test]
fn no_event_holds_a_password_a_code_a_secret_or_a_token() {
    let w = World::new();
    let (mut ada, secret, codes) = with_two_factor(&w);
    let mut thief = Browser::at("198.51.100.66");
    w.sign_in(&mut thief, EMAIL, PASSWORD).unwrap();
    let _ = w.second_factor(&mut thief, code("123456"));
    let _ = w.second_factor(&mut thief, recovery(&codes[1]));
    confirm(&w, &mut ada, PASSWORD, Some(code(&code_at(&secret, w.now())))).unwrap();
    let _ = change(&w, &mut ada, WRONG, NEW_PASSWORD, true);
    change(&w, &mut ada, PASSWORD, NEW_PASSWORD, true).unwrap();
    let mut secrets = vec![PASSWORD, NEW_PASSWORD, WRONG, secret.as_str()];
    secrets.extend(codes.iter().map(String::as_str));
    let tokens = [ada.session.clone(), ada.device.clone(), thief.pending.clone(), thief.session.clone()];
    let written = w.look(|s| format!("{:?}", s.events));
    for secret in secrets.into_iter().chain(tokens.iter().flatten().map(String::as_str)) {
        assert!(!written.contains(secret), "an event holds {secret}");
    }
}

//! E-mail on the host: delivering alerts (decide, link, send, record; a refused send put back and
//! recorded as failed from the dead letters), the verified address, "This wasn't me", and a
//! password reset that still needs the second factor — with the races between them.

use futures::join;

use super::signing_in::with_two_factor;
use super::*;
use crate::account::{address, alerts, reset};
use crate::storage::memory::State;
use crate::storage::sessions::PendingSignIn;

const EMAIL: &str = "ada@example.com";
const NEW_PASSWORD: &str = "Quiet-Lantern-Orchard-58!";

impl World {
    /// Delivers every pending alert, as the queue's consumer would; answers the mails sent.
    fn deliver(&self) -> Vec<crate::storage::memory::SentMail> {
        let before = self.look(|s| s.sent_mails.len());
        let pending: Vec<String> = self.look(|s| {
            s.events
                .iter()
                .filter(|e| e.alert.as_deref() == Some("pending"))
                .filter_map(|e| e.alert_id.clone())
                .collect()
        });
        for alert in pending {
            let delivered = self.run(alerts::deliver(&self.store, &self.config, &alert, self.now()));
            assert!(delivered.is_ok(), "{delivered:?}");
        }
        self.look(|s| s.sent_mails[before..].to_vec())
    }

    fn verified(&self, email: &str) -> Browser {
        let mut browser = self.sign_up(email);
        let mail = self.deliver().pop().expect("the verification mail");
        let verified = self.run(address::verify(&self.cx(&browser), &token_in(&mail.text)));
        assert_eq!(verified.expect("verified"), email);
        self.done(&self.cx(&browser), &mut browser);
        browser
    }

    fn alert_state(&self, kind: &str) -> Option<String> {
        self.look(|s| s.events.iter().rev().find(|e| e.kind == kind).and_then(|e| e.alert.clone()))
    }

    fn pending_record(&self, browser: &Browser) -> Option<PendingSignIn> {
        let id = crate::domain::tokens::id_of(browser.pending.as_deref()?);
        self.run(crate::storage::store::Records::pending(&self.store, &id)).unwrap()
    }
}

fn token_in(text: &str) -> String {
    let start = text.find("#token=").expect("a link") + "#token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

fn password_of(state: &State) -> String {
    state.users[0].password_hash.clone()
}

#[test]
fn a_verification_mail_goes_to_an_unverified_address_and_nothing_else_does() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    let mails = w.deliver();
    assert_eq!(mails.len(), 1);
    assert_eq!((mails[0].to.as_str(), mails[0].subject.as_str()), (EMAIL, "Verify your e-mail address"));
    assert!(mails[0].html.contains(&w.config.site_url), "{}", mails[0].html);

    super::password::change(&w, &mut ada, PASSWORD, NEW_PASSWORD, false).expect("changed");
    assert!(w.deliver().is_empty());
    assert_eq!(w.alert_state("password_changed").as_deref(), Some("skipped"));

    let token = token_in(&mails[0].text);
    assert_eq!(w.run(address::verify(&w.cx(&ada), &token)).expect("verified"), EMAIL);
    assert_err!(w.run(address::verify(&w.cx(&ada), &token)), address::Error::InvalidToken);
    super::password::change(&w, &mut ada, NEW_PASSWORD, PASSWORD, false).expect("changed back");
    let mails = w.deliver();
    assert_eq!(mails.iter().map(|m| m.subject.as_str()).collect::<Vec<_>>(), ["Your password was changed"]);
}

#[test]
fn every_sent_mail_is_recorded_and_a_delivered_alert_is_not_sent_twice() {
    let w = World::new();
    w.sign_up(EMAIL);
    let alert = w.look(|s| s.events[0].alert_id.clone().expect("account_created mails"));
    w.deliver();
    let again = w.run(alerts::deliver(&w.store, &w.config, &alert, w.now())).expect("delivered");
    assert_eq!(again, alerts::Delivered::Nothing);
    assert_eq!(w.look(|s| s.sent_mails.len()), 1);
    assert_eq!(w.detail_of(&w.user_id(EMAIL), "alert_sent"), serde_json::json!({ "alert": "account_created" }));
}

#[test]
fn a_refused_send_is_put_back_for_a_retry_and_the_dead_letter_records_the_failure() {
    let w = World::new();
    w.sign_up(EMAIL);
    let alert = w.look(|s| s.events[0].alert_id.clone().unwrap());
    w.store.plant(|s| s.mail_refused = true);

    let refused = w.run(alerts::deliver(&w.store, &w.config, &alert, w.now()));
    assert_err!(refused, alerts::Error::NotSent(_));
    assert_eq!(w.alert_state("account_created").as_deref(), Some("pending"));

    w.run(alerts::give_up(&w.store, &alert, w.now())).expect("recorded");
    assert_eq!(w.alert_state("account_created").as_deref(), Some("failed"));
    assert_eq!(w.events(&w.user_id(EMAIL)), ["account_created", "alert_failed"]);
    // A late delivery of the same message sends nothing.
    w.store.plant(|s| s.mail_refused = false);
    assert_eq!(w.run(alerts::deliver(&w.store, &w.config, &alert, w.now())).unwrap(), alerts::Delivered::Nothing);
}

#[test]
fn the_daily_run_queues_again_what_was_never_delivered() {
    let w = World::new();
    w.sign_up(EMAIL);
    assert_eq!(w.run(alerts::requeue_stale(&w.store, w.now())).unwrap(), 0, "too fresh to be lost");
    w.advance(alerts::STALE_SECONDS + 1);
    assert_eq!(w.run(alerts::requeue_stale(&w.store, w.now())).unwrap(), 1);
    assert_eq!(w.look(|s| s.queued_alerts.len()), 1);
}

#[test]
fn a_new_device_sign_in_is_mailed_and_the_same_device_again_is_not() {
    let w = World::new();
    w.verified(EMAIL);
    let mut phone = w.browser();
    w.sign_in(&mut phone, EMAIL, PASSWORD).expect("signed in");
    let mails = w.deliver();
    assert_eq!(mails.len(), 1);
    assert!(mails[0].text.contains("Amsterdam, Netherlands"), "{}", mails[0].text);
    assert!(mails[0].text.contains("/not-me#token="), "{}", mails[0].text);

    w.sign_in(&mut phone, EMAIL, PASSWORD).expect("signed in again");
    assert!(w.deliver().is_empty());
    assert_eq!(w.alert_state("sign_in").as_deref(), Some("skipped"));
}

#[test]
fn this_wasnt_me_answers_once_ends_every_session_and_trust_and_hands_over_a_reset() {
    let w = World::new();
    let mut ada = w.verified(EMAIL);
    let mut intruder = w.browser();
    w.sign_in(&mut intruder, EMAIL, PASSWORD).expect("signed in");
    let token = token_in(&w.deliver()[0].text);

    let (cx1, cx2) = (w.cx(&w.browser()), w.cx(&w.browser()));
    let (one, two) = w.run(async { join!(reset::not_me(&cx1, &token), reset::not_me(&cx2, &token)) });
    let (reset_token, lost) = match (one, two) {
        (Ok(token), Err(lost)) | (Err(lost), Ok(token)) => (token, lost),
        _ => panic!("exactly one answer"),
    };
    assert!(matches!(lost, reset::Error::InvalidToken));
    assert!(matches!(w.me(&mut ada), Err(Denied::SignedOut)));
    assert!(matches!(w.me(&mut intruder), Err(Denied::SignedOut)));
    assert!(w.look(|s| s.devices.is_empty()));

    let cx = w.cx(&w.browser());
    assert!(matches!(w.run(reset::complete(&cx, &reset_token, NEW_PASSWORD)), Ok(reset::Completed::Done)));
    assert!(matches!(w.sign_in(&mut w.browser(), EMAIL, NEW_PASSWORD), Ok(PasswordStep::SignedIn(_))));
}

#[test]
fn a_reset_of_a_two_factor_account_waits_for_its_second_factor() {
    let w = World::new();
    let (mut ada, secret, _codes) = with_two_factor(&w);
    w.run(address::verify(&w.cx(&ada), &token_in(&w.deliver()[0].text))).expect("verified");
    let mut stranger = w.browser();
    w.run(reset::request(&w.cx(&stranger), EMAIL)).expect("asked");
    let token = token_in(&w.deliver().pop().expect("the reset mail").text);
    let old_hash = w.look(password_of);

    let cx = w.cx(&stranger);
    let Ok(reset::Completed::SecondFactorNeeded(pending)) = w.run(reset::complete(&cx, &token, NEW_PASSWORD)) else {
        panic!("the second factor is needed");
    };
    stranger.pending = Some(pending.token);
    assert!(w.pending_record(&stranger).and_then(|p| p.reset).is_some());
    assert_eq!(w.look(password_of), old_hash, "the mailbox alone changes nothing");

    assert_err!(w.second_step(&mut stranger.clone(), code("000000")), signing::Error::InvalidCode);
    let done = w.second_step(&mut stranger, code(&code_at(&secret, w.now()))).expect("reset");
    assert!(matches!(done, SecondStepDone::PasswordReset));
    assert_ne!(w.look(password_of), old_hash);
    assert!(stranger.session.is_none(), "a reset starts no session");
    assert!(matches!(w.me(&mut ada), Err(Denied::SignedOut)));
    assert!(w.look(|s| s.users[0].totp_enabled_at.is_some()), "two-factor stays on");
    assert_eq!(w.events(&w.user_id(EMAIL)).last().map(String::as_str), Some("password_reset"));
}

#[test]
fn a_pending_reset_ends_when_the_password_changes_under_it() {
    let w = World::new();
    let (mut ada, secret, _codes) = with_two_factor(&w);
    w.run(address::verify(&w.cx(&ada), &token_in(&w.deliver()[0].text))).expect("verified");
    let mut stranger = w.browser();
    w.run(reset::request(&w.cx(&stranger), EMAIL)).expect("asked");
    let token = token_in(&w.deliver().pop().unwrap().text);
    let Ok(reset::Completed::SecondFactorNeeded(pending)) =
        w.run(reset::complete(&w.cx(&stranger), &token, NEW_PASSWORD))
    else {
        panic!("the second factor is needed");
    };
    stranger.pending = Some(pending.token);

    let typed = code_at(&secret, w.now());
    super::password::change(&w, &mut ada, PASSWORD, "Another-Fresh-Passphrase-77", false).expect("changed");
    w.advance(totp::STEP_SECONDS);
    assert_err!(w.second_step(&mut stranger, code(&typed)), signing::Error::Refused(_));
    assert!(matches!(w.sign_in(&mut w.browser(), EMAIL, NEW_PASSWORD), Err(signing::Error::InvalidCredentials)));
}

#[test]
fn reset_requests_for_unknown_addresses_do_nothing_and_known_ones_mail_at_most_three_an_hour() {
    let w = World::new();
    w.verified(EMAIL);
    let browser = w.browser();
    w.run(reset::request(&w.cx(&browser), "nobody@example.com")).expect("the same answer");
    assert!(w.deliver().is_empty());
    for _ in 0..4 {
        w.run(reset::request(&w.cx(&browser), EMAIL)).expect("the same answer");
    }
    assert_eq!(w.deliver().len(), 3);
    assert_err!(w.run(reset::request(&w.cx(&browser), "not an address")), reset::Error::InvalidInput(_));
}

#[test]
fn an_address_change_is_confirmed_by_the_new_address_and_told_to_the_old_one() {
    let w = World::new();
    let ada = w.verified(EMAIL);
    let id = crate::domain::ids::UserId::new(w.user_id(EMAIL));
    w.run(address::change(&w.cx(&ada), &id, EMAIL, "lovelace@example.com")).expect("asked");
    let confirm = w.deliver().pop().expect("the confirmation");
    assert_eq!(confirm.to, "lovelace@example.com");
    assert_eq!(w.look(|s| s.users[0].email.clone()), EMAIL, "unchanged until confirmed");

    w.sign_up("taken@example.com");
    assert_err!(w.run(address::change(&w.cx(&ada), &id, EMAIL, "taken@example.com")), address::Error::EmailTaken);
    assert_eq!(w.run(address::verify(&w.cx(&ada), &token_in(&confirm.text))).unwrap(), "lovelace@example.com");
    let told: Vec<_> = w.deliver().into_iter().filter(|m| m.to == EMAIL).collect();
    assert_eq!(told[0].subject, "Your e-mail address was changed");
}

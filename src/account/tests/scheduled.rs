//! The daily scheduled run: the key rotation's part and the e-mail normalisation.

use super::signing_in::with_two_factor;
use super::*;
use crate::account::keys::CACHE_SECONDS;
use crate::account::{emails, key_rotation};
use crate::domain::secrets::Keyring;

const EMAIL: &str = "ada@example.com";

fn rotate(w: &World) {
    w.run(key_rotation::run(&w.store, &w.secrets(), w.now())).expect("the rotation ran");
}

/// The key id a stored TOTP secret (`v1.<kid>.…`) names.
fn kid_of(stored: &str) -> String {
    stored.split('.').nth(1).unwrap().to_string()
}

fn totp_secret_kid(w: &World, email: &str) -> String {
    let id = w.user_id(email);
    w.look(|s| {
        let user = s.user(&id).unwrap();
        kid_of(user.totp_secret.as_deref().or(user.totp_pending_secret.as_deref()).unwrap())
    })
}

fn sign_in_with_code(w: &World, secret: &str) -> bool {
    let mut laptop = Browser::at("198.51.100.20");
    w.sign_in(&mut laptop, EMAIL, PASSWORD).is_ok()
        && w.second_factor(&mut laptop, code(&code_at(secret, w.now()))).is_ok()
}

#[test]
fn the_rotation_rewraps_the_data_keys_so_that_the_previous_key_can_go() {
    let mut w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let old = std::mem::replace(&mut w.secret_key, new_secret_key());
    w.previous_key = Some(old.clone());
    rotate(&w);
    let new_id = Keyring::new(&w.secret_key, None).unwrap().root_id().to_string();
    assert!(w.look(|s| s.data_keys.iter().all(|(k, _)| k.wrapped_by == new_id)));
    let old_id = Keyring::new(&old, None).unwrap().root_id().to_string();
    let left = w.run(crate::storage::store::Upkeep::key_dependents(&w.store, &[old_id])).unwrap();
    assert!(left.none(), "{left:?}");
    w.previous_key = None;
    w.advance(CACHE_SECONDS);
    assert!(sign_in_with_code(&w, &secret));
}

#[test]
fn the_rotation_moves_secrets_off_a_retired_totp_key_and_deletes_it_once_unused() {
    let w = World::new();
    let (_, secret, _) = with_two_factor(&w);
    let mut bob = w.sign_up("bob@example.com");
    let setup = request!(w, &mut bob, "POST /api/security/two-factor/setup", |cx, current| {
        crate::account::two_factor::start_setup(cx, &current)
    });
    setup.unwrap().expect("a set-up left unfinished");
    let retired = totp_secret_kid(&w, EMAIL);
    w.store.plant(|s| s.data_keys.iter_mut().find(|(k, _)| k.kid == retired).unwrap().0.retired_at = Some(w.now()));
    w.advance(CACHE_SECONDS);
    rotate(&w);
    let moved = (totp_secret_kid(&w, EMAIL), totp_secret_kid(&w, "bob@example.com"));
    assert!(moved.0 != retired && moved.0 == moved.1, "both under the new TOTP key: {moved:?}");
    assert!(w.look(|s| s.data_keys.iter().any(|(k, _)| k.kid == retired)), "kept while isolates may use it");
    w.advance(2 * CACHE_SECONDS);
    rotate(&w);
    assert!(w.look(|s| !s.data_keys.iter().any(|(k, _)| k.kid == retired)));
    assert!(sign_in_with_code(&w, &secret));
}

#[test]
fn the_normalisation_moves_addresses_stored_before_it_and_leaves_those_another_account_holds() {
    let w = World::new();
    w.sign_up("jos\u{e9}@example.com");
    for (email, legacy) in [("x@example.com", "jose\u{301}@example.com"), ("y@example.com", "rene\u{301}@example.com")]
    {
        w.sign_up(email);
        w.store.plant(|s| s.users.iter_mut().find(|u| u.email == email).unwrap().email = legacy.into());
    }
    w.run(emails::scheduled(&w.store)).expect("ran");
    let emails: Vec<String> = w.look(|s| s.users.iter().map(|u| u.email.clone()).collect());
    assert_eq!(emails, ["jos\u{e9}@example.com", "jose\u{301}@example.com", "ren\u{e9}@example.com"]);
}

fn prune(w: &World) {
    w.run(crate::storage::store::Upkeep::prune(&w.store, w.now())).expect("pruned");
}

/// How many revocations, events, runs, holds, spent challenges and trusted devices D1 keeps.
fn kept(w: &World) -> [usize; 6] {
    w.look(|s| [s.revoked.len(), s.events.len(), s.budgets.len(), s.held.len(), s.spent.len(), s.devices.len()])
}

#[test]
fn the_daily_clean_up_drops_only_what_no_longer_matters() {
    let w = World::new();
    let mut ada = w.sign_up(EMAIL);
    super::sessions::sign_out(&w, &mut ada);
    let mut attacker = Browser::at("198.51.100.66");
    w.store.set_rate_count("SIGN_IN_FAILURES", &attacker.ip, 20);
    let _ = w.sign_in(&mut attacker, "nobody@example.com", WRONG);
    let held = super::passkeys::sign_in(&w, &mut attacker, &super::passkeys::Authenticator::new());
    assert!(held.is_err(), "held, its challenge spent all the same");
    prune(&w);
    assert_eq!(kept(&w), [1, 2, 1, 1, 1, 1], "everything still matters");
    w.advance(181 * 24 * 3600);
    prune(&w);
    assert_eq!(kept(&w), [0; 6]);
    assert_eq!(w.look(|s| s.users.len()), 1, "accounts stay");
}

#[test]
fn after_ninety_days_a_sign_in_keeps_only_its_flags_and_after_a_year_nothing() {
    let w = World::new();
    w.sign_up(EMAIL);
    let mut phone = Browser::at("198.51.100.30");
    w.sign_in(&mut phone, EMAIL, PASSWORD).unwrap();
    let id = w.user_id(EMAIL);
    let flags = w.detail_of(&id, "sign_in");
    let place = |w: &World| {
        w.look(|s| {
            let e = s.events.iter().find(|e| e.user_id == id && e.kind == "sign_in").expect("the sign-in");
            (e.ip.is_some(), e.city.is_some(), e.network.is_some(), e.latitude.is_some(), !e.user_agent.is_empty())
        })
    };
    assert_eq!(place(&w), (true, true, true, true, true));

    w.advance(crate::storage::EVENT_RETENTION_SECONDS + 60);
    prune(&w);
    assert_eq!(w.events(&id), ["sign_in"], "only the sign-in outlives 90 days");
    assert_eq!(place(&w), (false, false, false, false, false), "without its address, place, network or device");
    assert_eq!(w.detail_of(&id, "sign_in"), flags, "its flags kept");

    w.advance(crate::storage::SIGN_IN_FLAGS_RETENTION_SECONDS);
    prune(&w);
    assert!(w.events(&id).is_empty(), "gone after a year");
}

//! The attacker's side of SPEC §5.7–§5.8: for every rule, the request pattern that tries to walk
//! around it, with real concurrent requests against the real worker.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{d1, now, plant_session, session_id_of, TestApp, TestUser, FIREFOX_LINUX, SAFARI_IPHONE};
use crate::two_factor::{event_rows, oathtool, pending_sign_in, steady_step, user_with_two_factor, wrong_code};

const WRONG: &str = "Wrong-password-123!";

fn statuses(responses: &[crate::helpers::TestResponse]) -> Vec<u16> {
    responses.iter().map(|r| r.status).collect()
}

/// Whether the worker answered: under a burst, the local dev proxy in front of workerd now and
/// then answers 503 "worker restarted mid-request" itself (no JSON error). The worker answers 503
/// only as a JSON error (`secret_key_mismatch`), and a request it never answered counts in no
/// assertion about its answers.
fn from_worker(response: &crate::helpers::TestResponse) -> bool {
    !(response.status == 503 && response.error_code().is_empty())
}

fn count(events: &[Value], kind: &str) -> usize {
    events.iter().filter(|r| r["type"] == kind).count()
}

fn details(events: &[Value], kind: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|r| r["type"] == kind)
        .map(|r| serde_json::from_str(r["detail"].as_str().unwrap()).unwrap())
        .collect()
}

async fn signed_up(app: &mut TestApp) -> (TestUser, String) {
    let user = app.signed_up_user().await;
    let id = TestApp::user_id_of(&app.me().await);
    (user, id)
}

/// `n` wrong passwords for `email` at once, each from a new client with its own address.
async fn concurrent_wrong_passwords(email: &str, n: usize) -> Vec<crate::helpers::TestResponse> {
    join_all((0..n).map(|_| async move { TestApp::new().login(email, WRONG).await })).await
}

#[tokio::test]
async fn thirty_concurrent_wrong_passwords_are_never_all_evaluated() {
    let mut owner = TestApp::new();
    let (user, id) = signed_up(&mut owner).await;

    let responses = concurrent_wrong_passwords(&user.email, 32).await;

    let answered: Vec<_> = responses.iter().filter(|r| from_worker(r)).collect();
    let evaluated = answered.iter().filter(|r| r.status == 401).count();
    let refused: Vec<_> = answered.iter().filter(|r| r.status == 429).collect();
    assert!(evaluated < 5, "at most the threshold is checked (the 5th answers 429): {:?}", statuses(&responses));
    assert_eq!(evaluated + refused.len(), answered.len(), "{:?}", statuses(&responses));
    for r in &refused {
        r.assert_error(429, "rate_limited");
        assert!(r.header("retry-after").and_then(|v| v.parse::<u64>().ok()).is_some_and(|s| s > 0 && s <= 900));
    }
    let events = event_rows(&id);
    assert!(count(&events, "sign_in_failed") <= 5, "only checked attempts are failures");
    assert!(count(&events, "locked_out") <= 1);
    TestApp::new().login(&user.email, &user.password).await.assert_error(429, "rate_limited");
}

#[tokio::test]
async fn thirty_concurrent_wrong_codes_are_never_all_evaluated() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let devices: Vec<TestApp> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(pending_sign_in(&tf.user).await);
        }
        v
    };
    let wrong = wrong_code(&tf.secret, tf.step);

    // 32 guesses spread over four pending sign-ins, all at once.
    let mut devices = devices;
    let guesses = devices.iter_mut().flat_map(|d| {
        let (pending, wrong) = (d.pending.clone(), wrong.clone());
        (0..8).map(move |_| {
            let mut guesser = TestApp::with_user_agent(SAFARI_IPHONE);
            guesser.pending = pending.clone();
            let wrong = wrong.clone();
            async move { guesser.login_two_factor(json!({ "code": wrong })).await }
        })
    });
    let responses = join_all(guesses).await;

    let evaluated = responses.iter().filter(|r| r.status == 400).count();
    assert!(evaluated < 5, "{:?}", statuses(&responses));
    assert!(
        responses.iter().all(|r| matches!(r.status, 400 | 401 | 429) || !from_worker(r)),
        "{:?}",
        statuses(&responses)
    );
    assert!(count(&event_rows(&tf.id), "sign_in_failed") <= 5);
}

#[tokio::test]
async fn re_entering_the_password_does_not_reset_the_run_of_wrong_codes() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let wrong = wrong_code(&tf.secret, tf.step);

    // The attacker knows the password: password, 4 wrong codes, password again, ...
    let mut attacker = pending_sign_in(&tf.user).await;
    for _ in 0..4 {
        attacker.login_two_factor(json!({ "code": wrong })).await.assert_error(400, "invalid_code");
    }
    let again = attacker.login(&tf.user.email, &tf.user.password).await;
    assert_eq!(again.body, json!({ "two_factor_required": true }), "a right password is no failure: {}", again.text);
    let fifth = attacker.login_two_factor(json!({ "code": wrong })).await;
    let password_after = attacker.login(&tf.user.email, &tf.user.password).await;

    fifth.assert_error(429, "rate_limited");
    password_after.assert_error(429, "rate_limited");
    assert_eq!(count(&event_rows(&tf.id), "sign_in_failed"), 5);
}

#[tokio::test]
async fn a_completed_sign_in_with_both_factors_ends_the_run() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let wrong = wrong_code(&tf.secret, tf.step);
    let mut device = pending_sign_in(&tf.user).await;
    for _ in 0..4 {
        device.login_two_factor(json!({ "code": wrong })).await.assert_error(400, "invalid_code");
    }
    let done = device.login_two_factor(json!({ "code": oathtool(&tf.secret, tf.step + 1) })).await;
    assert_eq!(done.status, 200, "{}", done.text);

    // A fresh run: four more wrong codes are still just wrong.
    let mut next = pending_sign_in(&tf.user).await;
    for _ in 0..4 {
        next.login_two_factor(json!({ "code": wrong })).await.assert_error(400, "invalid_code");
    }
}

#[tokio::test]
async fn strangers_who_lock_the_account_cannot_keep_the_owner_out_of_a_known_device() {
    let mut owner = TestApp::new();
    let (user, _) = signed_up(&mut owner).await;
    assert!(owner.device.is_some(), "sign-up completes a sign-in: {:?}", owner.device);
    owner.logout().await;

    let responses = concurrent_wrong_passwords(&user.email, 12).await;
    assert!(responses.iter().any(|r| r.status == 429));
    TestApp::new().login(&user.email, &user.password).await.assert_error(429, "rate_limited");

    let back = owner.login(&user.email, &user.password).await;
    assert_eq!(back.status, 200, "the owner's known device signs in: {}", back.text);
    assert_eq!(owner.me().await.status, 200);
}

#[tokio::test]
async fn a_known_device_has_a_failure_run_of_its_own() {
    let mut owner = TestApp::new();
    let (user, id) = signed_up(&mut owner).await;
    owner.logout().await;
    for _ in 0..4 {
        owner.login(&user.email, WRONG).await.assert_error(401, "invalid_credentials");
    }
    owner.login(&user.email, WRONG).await.assert_error(429, "rate_limited");
    owner.login(&user.email, &user.password).await.assert_error(429, "rate_limited");

    // Strangers' run is untouched.
    let stranger = TestApp::new().login(&user.email, &user.password).await;
    assert_eq!(stranger.status, 200, "{}", stranger.text);
    let locks = details(&event_rows(&id), "locked_out");
    assert_eq!(locks.len(), 1);
    assert_eq!(locks[0]["client"], "device");
}

#[tokio::test]
async fn a_device_cookie_of_another_account_or_a_forged_one_counts_as_a_stranger() {
    let mut other = TestApp::new();
    other.signed_up_user().await;
    let foreign = other.device.clone().unwrap();
    let mut owner = TestApp::new();
    let (user, _) = signed_up(&mut owner).await;
    let genuine = owner.device.clone().unwrap();
    let mut forged = genuine.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });

    // Five failures spread over clients with a foreign, a forged, and no device cookie: one run.
    for cookie in [Some(foreign.clone()), Some(forged.clone()), None, Some(foreign), Some(forged)] {
        let mut client = TestApp::new();
        client.device = cookie;
        let response = client.login(&user.email, WRONG).await;
        assert!(matches!(response.status, 401 | 429), "{}", response.text);
    }
    TestApp::new().login(&user.email, &user.password).await.assert_error(429, "rate_limited");
    let mut genuine_device = TestApp::new();
    genuine_device.device = Some(genuine);
    assert_eq!(genuine_device.login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn the_account_lock_does_not_stop_the_owners_signed_in_session() {
    let mut owner = TestApp::new();
    let (user, _) = signed_up(&mut owner).await;
    concurrent_wrong_passwords(&user.email, 10).await;
    TestApp::new().login(&user.email, &user.password).await.assert_error(429, "rate_limited");

    let confirmed = owner.confirm(json!({ "password": user.password })).await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    let new_password = format!("{}-new", user.password);
    let changed =
        owner.change_password(json!({ "current_password": user.password, "new_password": new_password })).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
}

#[tokio::test]
async fn a_sessions_own_wrong_passwords_lock_that_session_only() {
    let mut owner = TestApp::new();
    let (user, id) = signed_up(&mut owner).await;
    let mut laptop = TestApp::known_device(&user, FIREFOX_LINUX).await;
    laptop.login(&user.email, &user.password).await;

    for _ in 0..4 {
        owner.confirm(json!({ "password": WRONG })).await.assert_error(403, "wrong_password");
    }
    owner.confirm(json!({ "password": WRONG })).await.assert_error(429, "rate_limited");
    owner.confirm(json!({ "password": user.password })).await.assert_error(429, "rate_limited");
    owner
        .change_password(json!({ "current_password": user.password, "new_password": "Another-Secret-42!" }))
        .await
        .assert_error(429, "rate_limited");

    assert_eq!(laptop.confirm(json!({ "password": user.password })).await.status, 204);
    let stranger = TestApp::new().login(&user.email, &user.password).await;
    assert_eq!(stranger.status, 200, "the account itself is not locked: {}", stranger.text);
    assert_eq!(details(&event_rows(&id), "locked_out")[0]["client"], "session");
}

/// 30 wrong guesses at once on `owner`'s session, guess `i` sent by `guess`: fewer than 5 are
/// evaluated (403), the rest answer 429, and at most 5 failures are recorded for user `id`.
async fn thirty_concurrent_guesses_on_one_session<F, Fut>(owner: &TestApp, id: &str, guess: F)
where
    F: Fn(TestApp, usize) -> Fut,
    Fut: std::future::Future<Output = crate::helpers::TestResponse>,
{
    let token = owner.session.clone().unwrap();
    let tries = (0..30).map(|i| {
        let mut same = TestApp::new();
        same.session = Some(token.clone());
        guess(same, i)
    });
    let responses = join_all(tries).await;
    assert!(responses.iter().filter(|r| r.status == 403).count() < 5, "{:?}", statuses(&responses));
    assert!(responses.iter().all(|r| matches!(r.status, 403 | 429) || !from_worker(r)), "{:?}", statuses(&responses));
    assert!(count(&event_rows(id), "sign_in_failed") <= 5);
}

#[tokio::test]
async fn thirty_concurrent_wrong_confirmations_on_one_session_are_never_all_evaluated() {
    let mut owner = TestApp::new();
    let (_, id) = signed_up(&mut owner).await;
    thirty_concurrent_guesses_on_one_session(&owner, &id, |mut same, _| async move {
        same.confirm(json!({ "password": WRONG })).await
    })
    .await;
}

#[tokio::test]
async fn thirty_concurrent_wrong_password_changes_on_one_session_are_never_all_evaluated() {
    let mut owner = TestApp::new();
    let (user, id) = signed_up(&mut owner).await;
    thirty_concurrent_guesses_on_one_session(&owner, &id, |mut same, i| async move {
        let body = json!({ "current_password": format!("{WRONG}{i}"), "new_password": "Never-Stored-Secret-77!" });
        same.change_password(body).await
    })
    .await;
    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200, "the password is unchanged");
}

/// The session check reserves the attempt of a route that checks a secret before the body is
/// read; a request that never gets to the secret must not count as a guess.
#[tokio::test]
async fn bad_requests_to_routes_that_check_a_secret_are_not_counted_as_guesses() {
    let mut owner = TestApp::new();
    let (user, id) = signed_up(&mut owner).await;
    let bad_json = |owner: &TestApp| {
        let bad = owner.raw(reqwest::Method::PUT, "/api/security/password").body("{not json");
        bad.header("Origin", owner.base.clone()).header("Content-Type", "application/json")
    };
    for _ in 0..8 {
        owner.change_password(json!({ "current_password": user.password })).await.assert_error(400, "invalid_input");
        owner.confirm(json!({ "password": 42 })).await.assert_error(400, "invalid_input");
        let bad = bad_json(&owner);
        owner.send(bad).await.assert_error(400, "invalid_json");
    }
    for _ in 0..4 {
        owner.confirm(json!({ "password": WRONG })).await.assert_error(403, "wrong_password");
    }
    // Counted, this one would be the fifth failure and lock the session.
    let bad = bad_json(&owner);
    owner.send(bad).await.assert_error(400, "invalid_json");

    assert_eq!(owner.confirm(json!({ "password": user.password })).await.status, 204, "4 guesses, not 29");
    assert_eq!(count(&event_rows(&id), "sign_in_failed"), 4);
    assert_eq!(count(&event_rows(&id), "locked_out"), 0);
}

#[tokio::test]
async fn password_spraying_from_one_address_is_held_back_across_accounts() {
    // The local limiter counts in fixed one-minute windows: start early in one.
    if now() % 60 > 40 {
        tokio::time::sleep(std::time::Duration::from_secs(61 - now() % 60)).await;
    }
    let sprayer_ip = crate::helpers::random_ip();
    let mut owner = TestApp::new();
    let (victim, _) = signed_up(&mut owner).await;
    let mut answers = Vec::new();
    for n in 0..22 {
        let mut sprayer = TestApp::new();
        sprayer.ip = sprayer_ip.clone();
        let email = format!("sprayed.{n}.{}@example.com", crate::helpers::random_hex(4));
        answers.push(sprayer.login(&email, WRONG).await.status);
    }
    assert_eq!(answers[..20], [401; 20], "{answers:?}");
    assert!(answers[20..].iter().all(|s| *s == 429), "{answers:?}");

    // From that address even the right password waits (spraying learns nothing)...
    let mut same_address = TestApp::new();
    same_address.ip = sprayer_ip.clone();
    let held = same_address.login(&victim.email, &victim.password).await;
    held.assert_error(429, "rate_limited");
    assert_eq!(held.header("retry-after"), Some("60"));
    // ...but not from elsewhere, nor from the owner's known device behind the same address.
    assert_eq!(TestApp::new().login(&victim.email, &victim.password).await.status, 200);
    owner.ip = sprayer_ip;
    owner.logout().await;
    assert_eq!(owner.login(&victim.email, &victim.password).await.status, 200);
}

/// Known devices of `user`, so that their concurrent sign-ins are not held back by the
/// strangers' run.
async fn known_devices(user: &TestUser, n: usize) -> Vec<TestApp> {
    let mut devices = Vec::new();
    for _ in 0..n {
        devices.push(TestApp::known_device(user, FIREFOX_LINUX).await);
    }
    devices
}

/// What a racing sign-in may answer: signed in or refused (or nothing, see [`from_worker`]).
fn raced(response: &crate::helpers::TestResponse) -> bool {
    matches!(response.status, 200 | 401) || !from_worker(response)
}

#[tokio::test]
async fn sign_ins_racing_a_password_change_do_not_survive_it() {
    let mut owner = TestApp::new();
    let (user, _) = signed_up(&mut owner).await;
    let mut devices = known_devices(&user, 30).await;
    let new_password = "Racing-Lantern-2026!";

    // Thirty sign-ins with the old password while it changes: whichever verified the old
    // password, before or after the change committed, must not leave a working session.
    let logins = devices.iter_mut().map(|d| {
        let (email, password) = (user.email.clone(), user.password.clone());
        async move { d.login(&email, &password).await }
    });
    let change = owner.change_password(json!({ "current_password": user.password, "new_password": new_password }));
    let (responses, changed) = tokio::join!(join_all(logins), change);

    assert_eq!(changed.status, 200, "{}", changed.text);
    assert!(responses.iter().all(raced), "{:?}", statuses(&responses));
    for device in devices.iter_mut().filter(|d| d.session.is_some()) {
        device.me().await.assert_error(401, "unauthenticated");
    }
    assert_eq!(owner.me().await.status, 200, "the changer's session stays");
    let listed = owner.sessions().await;
    assert_eq!(listed.body["sessions"].as_array().unwrap().len(), 1, "{}", listed.text);
}

#[tokio::test]
async fn sign_ins_racing_sign_out_of_other_sessions_leave_no_hidden_session() {
    let mut owner = TestApp::new();
    let (user, _) = signed_up(&mut owner).await;
    let mut devices = known_devices(&user, 30).await;

    let logins = devices.iter_mut().map(|d| {
        let (email, password) = (user.email.clone(), user.password.clone());
        async move { d.login(&email, &password).await }
    });
    let (responses, revoked) = tokio::join!(join_all(logins), owner.revoke_others());

    assert_eq!(revoked.status, 200, "{}", revoked.text);
    assert!(responses.iter().all(raced), "{:?}", statuses(&responses));
    // A sign-in that verified after the sign-out may live, but then the owner sees it: every
    // session that works is in the list, and nothing in the list is dead.
    let listed: Vec<String> = owner.sessions().await.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] != true)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    for device in devices.iter_mut().filter(|d| d.session.is_some()) {
        let id = session_id_of(device.session.as_deref().unwrap());
        let alive = device.me().await.status == 200;
        assert_eq!(alive, listed.contains(&id), "alive={alive}, listed={}", listed.contains(&id));
    }
    // And signing out the others once more ends every one of them.
    assert_eq!(owner.revoke_others().await.status, 200);
    for device in devices.iter_mut().filter(|d| d.session.is_some()) {
        device.me().await.assert_error(401, "unauthenticated");
    }
    assert_eq!(owner.me().await.status, 200);
}

#[tokio::test]
async fn a_pending_sign_in_started_before_a_password_change_cannot_be_completed() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut intruder = pending_sign_in(&tf.user).await;

    let changed = app
        .change_password(json!({ "current_password": tf.user.password, "new_password": "Fresh-Harbor-Lamp-88!" }))
        .await;
    assert_eq!(changed.status, 200, "{}", changed.text);

    let step = steady_step();
    let response = intruder.login_two_factor(json!({ "code": oathtool(&tf.secret, step.max(tf.step + 1)) })).await;
    response.assert_error(401, "unauthenticated");
    assert!(intruder.session.is_none());
}

#[tokio::test]
async fn a_pending_sign_in_started_before_sign_out_of_other_sessions_cannot_be_completed() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut intruder = pending_sign_in(&tf.user).await;

    assert_eq!(app.revoke_others().await.status, 200);

    let response = intruder.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await;
    response.assert_error(401, "unauthenticated");
    // The recovery code was not used up by the refused attempt.
    let mut owner_device = pending_sign_in(&tf.user).await;
    assert_eq!(owner_device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await.status, 200);
}

#[tokio::test]
async fn confirming_issues_a_new_token_and_ends_the_old_one() {
    let mut app = TestApp::new();
    let (user, _) = signed_up(&mut app).await;
    let old = app.session.clone().unwrap();

    let confirmed = app.confirm(json!({ "password": user.password })).await;

    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    let new = app.session.clone().unwrap();
    assert_ne!(new, old);
    let mut stolen = TestApp::new();
    stolen.session = Some(old);
    stolen.me().await.assert_error(401, "unauthenticated");
    assert_eq!(app.me().await.status, 200);
    assert_eq!(app.two_factor_setup().await.status, 200, "the new token carries the sudo window");
    let listed = app.sessions().await;
    let sessions = listed.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 1, "{}", listed.text);
    assert_eq!(sessions[0]["id"], session_id_of(&new));
}

fn max_age_of(cookies: &[String], name: &str) -> Option<u64> {
    let cookie = cookies.iter().find(|c| c.starts_with(&format!("{name}=")))?;
    cookie.split(';').find_map(|p| p.trim().strip_prefix("Max-Age=")).and_then(|v| v.parse().ok())
}

#[tokio::test]
async fn the_session_cookie_is_sent_again_with_a_slid_max_age_when_activity_is_written_back() {
    let mut app = TestApp::new();
    let (_, id) = signed_up(&mut app).await;
    let t = now();
    // Signed in 20 days ago, last active an hour ago: the absolute end is 10 days away.
    let token = plant_session(&id, t - 20 * 86400, t - 3600, t - 20 * 86400 + 30 * 86400, 0);
    let mut device = TestApp::new();
    device.session = Some(token.clone());

    let response = device.me().await;

    assert_eq!(response.status, 200, "{}", response.text);
    let max_age = max_age_of(&response.set_cookies(), "__Host-session").expect("the session cookie is re-sent");
    assert!((7 * 86400 - 60..=7 * 86400).contains(&max_age), "idle window from now: {max_age}");
    assert_eq!(device.session.as_deref(), Some(token.as_str()), "same token");
    // Within the write-back interval nothing is re-sent.
    assert_eq!(max_age_of(&device.me().await.set_cookies(), "__Host-session"), None);
}

#[tokio::test]
async fn a_used_recovery_code_is_recorded_with_the_codes_left() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;
    assert_eq!(device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[3] })).await.status, 200);

    let events = app.events(None).await;
    let used = events.body["events"].as_array().unwrap().iter().find(|e| e["type"] == "recovery_code_used").cloned();
    assert_eq!(used.expect("recorded")["detail"]["remaining"], 9, "{}", events.text);
}

#[tokio::test]
async fn an_unknown_email_and_a_known_one_run_the_same_storage_statements() {
    // Timing is measured by `make bench`; here: both answers are identical and neither leaves a
    // trace that the other does not (no event, no lock for an account nobody owns).
    let mut owner = TestApp::new();
    let (user, id) = signed_up(&mut owner).await;
    let unknown = TestApp::new().login(&format!("nobody.{}@example.com", crate::helpers::random_hex(5)), WRONG).await;
    let known = TestApp::new().login(&user.email, WRONG).await;
    assert_eq!((unknown.status, &unknown.body), (known.status, &known.body));
    assert_eq!(d1(&format!("SELECT failed_attempts FROM users WHERE id = '{id}'"))[0]["failed_attempts"], 1);
}

#[tokio::test]
async fn an_unknown_email_is_locked_like_a_real_account_so_locks_tell_nothing() {
    let mut owner = TestApp::new();
    let (user, _) = signed_up(&mut owner).await;
    let nobody = format!("nobody.{}@example.com", crate::helpers::random_hex(5));
    let mut answers = Vec::new();
    for email in [&user.email, &nobody] {
        let mut statuses = Vec::new();
        for _ in 0..6 {
            let response = TestApp::new().login(email, WRONG).await;
            statuses.push((response.status, response.error_code().to_string()));
        }
        answers.push(statuses);
    }
    assert_eq!(answers[0], answers[1], "the same answers, lock included");
    assert_eq!(answers[1][4], (429, "rate_limited".to_string()));
}

/// Issue 21, point 7: a `SECRET_KEY` that opens none of the data keys in D1 must not write new
/// secrets under a key nobody keeps. Every request that needs a key answers 503
/// `secret_key_mismatch` before any attempt is counted, nothing is written, the worker logs the
/// key ids once, and the rest (sessions, sign-out) keeps working; back on the right key, all works.
#[tokio::test]
#[ignore = "needs a worker started with a wrong SECRET_KEY: scripts/run-tests.sh runs it in its own phase"]
async fn a_wrong_secret_key_refuses_to_write_and_says_so() {
    crate::wrong_key::stage().await;
}

//! E-mail (issue 23, docs/email.md): the verified address, alerts with "This wasn't me", and a
//! password reset that keeps two-factor authentication — read from the mails the worker really
//! sent (`mailbox`), their links followed as the pages would.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{d1, now, TestApp, TestUser, FIREFOX_LINUX, SAFARI_IPHONE};
use crate::mailbox::{self, Mail};
use crate::two_factor::{oathtool, steady_step, user_with_two_factor};

const NEW_PASSWORD: &str = "Quiet-Lantern-Orchard-58!";

/// Signs up on `app` and follows the verification mail's link.
async fn verified_user(app: &mut TestApp) -> TestUser {
    let user = app.signed_up_user().await;
    verify(app, &user.email).await;
    user
}

async fn verify(app: &mut TestApp, email: &str) {
    let mail = mailbox::wait_for(email, "Verify your e-mail address").await;
    let verified = app.verify_email(&mail.token()).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
}

fn user_id(email: &str) -> String {
    let rows = d1(&format!("SELECT id FROM users WHERE email = '{email}'"));
    rows[0]["id"].as_str().expect("the account").to_string()
}

/// Where the mail of the user's newest event of `kind` stands (`alert`), once delivery settled it.
async fn alert_of(user_id: &str, kind: &str) -> Value {
    for _ in 0..120 {
        let rows = d1(&format!(
            "SELECT alert FROM security_events WHERE user_id = '{user_id}' AND type = '{kind}' ORDER BY id DESC LIMIT 1"
        ));
        let alert = rows.first().map(|r| r["alert"].clone()).unwrap_or(Value::Null);
        if alert != json!("pending") && alert != json!("sending") && !rows.is_empty() {
            return alert;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the {kind} event of {user_id} was never delivered");
}

async fn reset_mail(email: &str, nth: usize) -> Mail {
    mailbox::wait_for_nth(email, "Reset your password", nth).await
}

#[tokio::test]
async fn sign_up_mails_a_link_that_verifies_the_address_once() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    assert_eq!(app.security().await.body["email_verified"], false);

    let mail = mailbox::wait_for(&user.email, "Verify your e-mail address").await;
    assert_eq!((mail.from.as_str(), mail.to.as_str()), ("security@wemasy.example", user.email.as_str()));
    assert!(mail.link().contains("/verify-email#token="), "{}", mail.text);
    assert!(mail.html.contains("<!doctype html>") || mail.html.contains("<!DOCTYPE html>"), "{}", mail.html);
    let (first, again) = (app.verify_email(&mail.token()).await, app.verify_email(&mail.token()).await);

    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["email"], user.email.as_str());
    again.assert_error(400, "invalid_token");
    let overview = app.security().await.body;
    assert_eq!(overview["email_verified"], true);
    assert_eq!(overview["alerts"]["new_sign_in"], true);
}

#[tokio::test]
async fn unknown_malformed_and_wrong_kind_tokens_get_one_answer() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let verification = mailbox::wait_for(&user.email, "Verify your e-mail address").await;

    for token in ["", "short", &"A".repeat(43), "🙂🙂🙂", &"x".repeat(5000)] {
        app.verify_email(token).await.assert_error(400, "invalid_token");
        app.not_me(token).await.assert_error(400, "invalid_token");
        app.check_password_reset(token).await.assert_error(400, "invalid_token");
    }
    // A verification link is no reset and no "This wasn't me".
    app.check_password_reset(&verification.token()).await.assert_error(400, "invalid_token");
    app.not_me(&verification.token()).await.assert_error(400, "invalid_token");
    let wrong_type = app.request(Method::POST, "/api/auth/verify-email", Some(json!({ "token": 5 }))).await;
    wrong_type.assert_error(400, "invalid_input");
}

#[tokio::test]
async fn until_the_address_is_verified_only_the_verification_mail_goes_to_it() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let id = user_id(&user.email);
    let body = json!({ "current_password": user.password, "new_password": NEW_PASSWORD });
    assert_eq!(app.change_password(body).await.status, 200);

    assert_eq!(alert_of(&id, "password_changed").await, "skipped");
    assert_eq!(mailbox::count(&user.email, "Your password was changed"), 0);

    verify(&mut app, &user.email).await;
    let body = json!({ "current_password": NEW_PASSWORD, "new_password": user.password });
    assert_eq!(app.change_password(body).await.status, 200);
    let mail = mailbox::wait_for(&user.email, "Your password was changed").await;
    assert!(mail.link().contains("/not-me#token="), "{}", mail.text);
    assert!(mail.text.contains("Chrome on Windows"), "{}", mail.text);
    assert!(mail.text.contains("Amsterdam, Netherlands"), "{}", mail.text);
}

#[tokio::test]
async fn sending_the_verification_again_works_until_verified_and_is_limited() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let resent = app.resend_verification().await;
    assert_eq!(resent.status, 202, "{}", resent.text);
    let second = mailbox::wait_for_nth(&user.email, "Verify your e-mail address", 1).await;
    // Both links work until one is used.
    assert_eq!(app.verify_email(&second.token()).await.status, 200);
    app.resend_verification().await.assert_error(409, "already_verified");

    let mut other = TestApp::new();
    other.signed_up_user().await;
    let answers: Vec<u16> = futures::future::join_all((0..5).map(|_| {
        let mut app = other.another_device(SAFARI_IPHONE);
        app.session = other.session.clone();
        async move { app.resend_verification().await.status }
    }))
    .await;
    assert_eq!(answers.iter().filter(|s| **s == 202).count(), 3, "{answers:?}");
    assert!(answers.iter().all(|s| *s == 202 || *s == 429), "{answers:?}");
}

#[tokio::test]
async fn a_sign_in_from_a_new_device_or_place_is_mailed_and_a_familiar_one_is_not() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let id = user_id(&user.email);

    let mut phone = TestApp::with_user_agent(SAFARI_IPHONE);
    phone.place = "PT; Lisbon; AS3243".into();
    assert_eq!(phone.login(&user.email, &user.password).await.status, 200);
    let mail = mailbox::wait_for(&user.email, "New sign-in").await;
    assert!(mail.text.contains("Lisbon, Portugal"), "{}", mail.text);
    assert!(mail.text.contains("Safari on iOS"), "{}", mail.text);
    assert!(mail.link().contains("/not-me#token="), "{}", mail.text);

    // The same browser from the same place again: nothing to tell.
    phone.logout().await;
    assert_eq!(phone.login(&user.email, &user.password).await.status, 200);
    assert_eq!(alert_of(&id, "sign_in").await, "skipped");

    // The same browser from a network this account never used: a new place.
    phone.logout().await;
    phone.place = "PT; Lisbon; AS12353".into();
    assert_eq!(phone.login(&user.email, &user.password).await.status, 200);
    assert_eq!(alert_of(&id, "sign_in").await, "sent");
    assert_eq!(mailbox::count(&user.email, "New sign-in"), 2);
}

#[tokio::test]
async fn new_sign_in_alerts_can_be_switched_off_and_the_others_cannot() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let id = user_id(&user.email);
    let off = app.set_alerts(false).await;
    assert_eq!(off.status, 200, "{}", off.text);
    assert_eq!(off.body, json!({ "new_sign_in": false }));
    assert_eq!(app.security().await.body["alerts"]["new_sign_in"], false);

    let mut laptop = TestApp::with_user_agent(FIREFOX_LINUX);
    laptop.place = "BR; São Paulo; AS28573".into();
    assert_eq!(laptop.login(&user.email, &user.password).await.status, 200);
    assert_eq!(alert_of(&id, "sign_in").await, "skipped");

    let bad = app.request(Method::PUT, "/api/security/alerts", Some(json!({ "new_sign_in": "no" }))).await;
    bad.assert_error(400, "invalid_input");
    let body = json!({ "current_password": user.password, "new_password": NEW_PASSWORD });
    assert_eq!(app.change_password(body).await.status, 200);
    mailbox::wait_for(&user.email, "Your password was changed").await;
}

#[tokio::test]
async fn this_wasnt_me_ends_every_session_and_device_trust_and_goes_on_to_a_reset() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let id = user_id(&user.email);
    let mut intruder = TestApp::with_user_agent(FIREFOX_LINUX);
    intruder.place = "RU; Moscow; AS8359".into();
    assert_eq!(intruder.login(&user.email, &user.password).await.status, 200);
    let alert = mailbox::wait_for(&user.email, "New sign-in").await;
    assert_eq!(d1(&format!("SELECT COUNT(*) AS n FROM trusted_devices WHERE user_id = '{id}'"))[0]["n"], 2);

    // Anyone holding the link, from anywhere, without a session: the mail is the proof.
    let (mut owner, mut someone) = (TestApp::with_user_agent(SAFARI_IPHONE), TestApp::new());
    let token = alert.token();
    let (first, second) = tokio::join!(owner.not_me(&token), someone.not_me(&token));
    let (answered, refused) = if first.status == 200 { (first, second) } else { (second, first) };
    assert_eq!(answered.status, 200, "{}", answered.text);
    refused.assert_error(400, "invalid_token");

    intruder.me().await.assert_error(401, "unauthenticated");
    app.me().await.assert_error(401, "unauthenticated");
    assert_eq!(d1(&format!("SELECT COUNT(*) AS n FROM trusted_devices WHERE user_id = '{id}'"))[0]["n"], 0);
    let types = d1(&format!("SELECT type FROM security_events WHERE user_id = '{id}' AND type = 'reported_not_me'"));
    assert_eq!(types.len(), 1);

    let reset_token = answered.body["reset_token"].as_str().expect("a reset token").to_string();
    let check = owner.check_password_reset(&reset_token).await;
    assert_eq!(check.body, json!({ "email": user.email, "two_factor": false, "passkeys": false }));
    assert_eq!(owner.complete_password_reset(&reset_token, NEW_PASSWORD).await.status, 204);
    intruder.login(&user.email, &user.password).await.assert_error(401, "invalid_credentials");
    assert_eq!(owner.login(&user.email, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn a_password_reset_without_two_factor_ends_every_session_and_its_link_works_once() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let mut forgetful = TestApp::with_user_agent(SAFARI_IPHONE);
    let asked = forgetful.request_password_reset(&user.email).await;
    assert_eq!((asked.status, asked.body.clone()), (202, json!({})));
    let mail = reset_mail(&user.email, 0).await;
    assert!(mail.link().contains("/reset-password#token="), "{}", mail.text);
    assert!(mail.text.contains("30 minutes"), "{}", mail.text);

    let weak = forgetful.complete_password_reset(&mail.token(), "password").await;
    weak.assert_error(400, "invalid_input");
    let check = forgetful.check_password_reset(&mail.token()).await;
    assert_eq!(check.body["two_factor"], false, "{}", check.text);
    let (mut racer, token, other) = (TestApp::new(), mail.token(), "Another-Brand-New-Pass-91!");
    let (one, two) = tokio::join!(
        forgetful.complete_password_reset(&token, NEW_PASSWORD),
        racer.complete_password_reset(&token, other)
    );
    let mut statuses = [one.status, two.status];
    statuses.sort();
    assert_eq!(statuses, [204, 400], "{} / {}", one.text, two.text);
    let chosen = if one.status == 204 { NEW_PASSWORD } else { other };
    assert!(forgetful.session.is_none(), "a reset starts no session");

    app.me().await.assert_error(401, "unauthenticated");
    forgetful.complete_password_reset(&mail.token(), NEW_PASSWORD).await.assert_error(400, "invalid_token");
    assert_eq!(forgetful.login(&user.email, chosen).await.status, 200);
    let changed = mailbox::wait_for(&user.email, "Your password was changed").await;
    assert!(changed.link().contains("/not-me#token="));
}

#[tokio::test]
async fn a_password_reset_of_a_two_factor_account_needs_its_second_factor() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    verify(&mut app, &tf.user.email).await;
    let mut mailbox_holder = TestApp::with_user_agent(SAFARI_IPHONE);
    assert_eq!(mailbox_holder.request_password_reset(&tf.user.email).await.status, 202);
    let mail = reset_mail(&tf.user.email, 0).await;
    let check = mailbox_holder.check_password_reset(&mail.token()).await;
    assert_eq!(check.body["two_factor"], true, "{}", check.text);

    let step = mailbox_holder.complete_password_reset(&mail.token(), NEW_PASSWORD).await;
    assert_eq!(step.body, json!({ "two_factor_required": true }), "{}", step.text);
    assert!(mailbox_holder.pending.is_some() && mailbox_holder.session.is_none());
    // The mailbox alone changed nothing.
    assert_eq!(TestApp::new().login(&tf.user.email, &tf.user.password).await.body["two_factor_required"], true);
    mailbox_holder.login_two_factor(json!({ "code": "000000" })).await.assert_error(400, "invalid_code");

    let done = mailbox_holder.login_two_factor(json!({ "code": oathtool(&tf.secret, steady_step() + 1) })).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert_eq!(done.body, json!({ "password_reset": true }));
    assert!(mailbox_holder.session.is_none(), "a reset starts no session");
    app.me().await.assert_error(401, "unauthenticated");
    TestApp::new().login(&tf.user.email, &tf.user.password).await.assert_error(401, "invalid_credentials");
    let again = TestApp::new().login(&tf.user.email, NEW_PASSWORD).await;
    assert_eq!(again.body, json!({ "two_factor_required": true }), "two-factor stays on");
    mailbox_holder.complete_password_reset(&mail.token(), NEW_PASSWORD).await.assert_error(400, "invalid_token");
}

#[tokio::test]
async fn a_recovery_code_completes_a_two_factor_reset_too() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    verify(&mut app, &tf.user.email).await;
    let mut device = TestApp::new();
    device.request_password_reset(&tf.user.email).await;
    let mail = reset_mail(&tf.user.email, 0).await;
    assert_eq!(device.complete_password_reset(&mail.token(), NEW_PASSWORD).await.status, 200);
    let done = device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await;
    assert_eq!(done.body, json!({ "password_reset": true }), "{}", done.text);
    assert_eq!(TestApp::new().login(&tf.user.email, NEW_PASSWORD).await.status, 200);
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_mail() {
    let mut app = TestApp::new();
    let unknown = format!("nobody.{}@example.com", crate::helpers::random_hex(6));
    let known = verified_user(&mut TestApp::new()).await;
    let a = app.request_password_reset(&unknown).await;
    let b = app.request_password_reset(&known.email).await;
    assert_eq!((a.status, &a.body), (b.status, &b.body));
    assert_eq!(a.headers.get("content-type"), b.headers.get("content-type"));
    reset_mail(&known.email, 0).await;
    assert!(mailbox::sent_to(&unknown).is_empty());
    app.request_password_reset("not an address").await.assert_error(400, "invalid_input");
}

#[tokio::test]
async fn reset_mails_are_limited_per_account_silently_and_requests_per_address() {
    let user = verified_user(&mut TestApp::new()).await;
    let id = user_id(&user.email);
    for _ in 0..4 {
        let answer = TestApp::new().request_password_reset(&user.email).await;
        assert_eq!(answer.status, 202, "{}", answer.text);
    }
    let requested = d1(&format!(
        "SELECT COUNT(*) AS n FROM security_events WHERE user_id = '{id}' AND type = 'password_reset_requested'"
    ));
    assert_eq!(requested[0]["n"], 3);

    let mut one_address = TestApp::new();
    let answers: Vec<u16> = futures::future::join_all((0..8).map(|_| {
        let mut app = one_address.another_device(SAFARI_IPHONE);
        app.ip = one_address.ip.clone();
        async move { app.request_password_reset("someone@example.com").await.status }
    }))
    .await;
    assert!(answers.contains(&429), "{answers:?}");
    let limited = one_address.request_password_reset(&user.email).await;
    limited.assert_error(429, "rate_limited");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test]
async fn expired_links_are_refused() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let id = user_id(&user.email);
    app.request_password_reset(&user.email).await;
    let mail = reset_mail(&user.email, 0).await;
    d1(&format!("UPDATE email_tokens SET expires_at = {} WHERE user_id = '{id}' AND purpose = 'reset'", now() - 1));
    app.check_password_reset(&mail.token()).await.assert_error(400, "invalid_token");
    app.complete_password_reset(&mail.token(), NEW_PASSWORD).await.assert_error(400, "invalid_token");
}

#[tokio::test]
async fn changing_the_address_confirms_the_new_one_and_tells_the_old_one() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let new = format!("moved.{}@example.com", crate::helpers::random_hex(6));
    let taken = verified_user(&mut TestApp::new()).await;
    app.change_email(&taken.email).await.assert_error(409, "email_taken");
    app.change_email("not an address").await.assert_error(400, "invalid_input");

    let asked = app.change_email(&new).await;
    assert_eq!(asked.status, 202, "{}", asked.text);
    assert_eq!(app.security().await.body["email"], user.email.as_str(), "unchanged until confirmed");
    let confirm = mailbox::wait_for(&new, "Confirm your new e-mail address").await;
    let confirmed = app.verify_email(&confirm.token()).await;
    assert_eq!(confirmed.body, json!({ "email": new }), "{}", confirmed.text);

    let overview = app.security().await.body;
    assert_eq!((overview["email"].clone(), overview["email_verified"].clone()), (json!(new), json!(true)));
    let told = mailbox::wait_for(&user.email, "Your e-mail address was changed").await;
    assert!(told.text.contains(&new), "{}", told.text);
    assert!(told.link().contains("/not-me#token="));
    assert_eq!(TestApp::new().login(&new, &user.password).await.status, 200);
    app.verify_email(&confirm.token()).await.assert_error(400, "invalid_token");
}

#[tokio::test]
async fn changing_the_address_needs_a_recent_confirmation() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut later = TestApp::new();
    assert_eq!(later.login(&user.email, &user.password).await.status, 200);
    let id = user_id(&user.email);
    let session = crate::helpers::plant_session(&id, now() - 3600, now(), now() + 3600, 0);
    later.session = Some(session);
    later.change_email("elsewhere@example.com").await.assert_error(403, "reauth_required");
    later.set_alerts(false).await.assert_error(403, "reauth_required");
}

#[tokio::test]
async fn every_mail_sent_is_in_the_activity() {
    let mut app = TestApp::new();
    let user = verified_user(&mut app).await;
    let id = user_id(&user.email);
    let _ = alert_of(&id, "account_created").await;
    let events = app.events(None).await;
    let sent: Vec<&Value> =
        events.body["events"].as_array().unwrap().iter().filter(|e| e["type"] == "alert_sent").collect();
    assert_eq!(sent.len(), 1, "{}", events.text);
    assert_eq!(sent[0]["detail"]["alert"], "account_created");
}

#[tokio::test]
async fn the_well_known_change_password_url_leads_to_the_security_page() {
    let app = TestApp::new();
    let response = app.raw(Method::GET, "/.well-known/change-password").send().await.unwrap();
    assert_eq!(response.status().as_u16(), 302);
    assert_eq!(response.headers()["location"], "/security#password");
}

/// Run only in its own phase of `scripts/run-tests.sh` (a worker whose `send_email` binding
/// refuses every address but one, as a binding error would): a send that fails is retried, then
/// recorded from the dead-letter queue; the request that wrote the event never knew.
#[tokio::test]
#[ignore = "needs the mail-outage worker of scripts/run-tests.sh"]
async fn a_send_that_fails_is_retried_recorded_and_never_fails_the_request() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let id = user_id(&user.email);

    assert_eq!(alert_of(&id, "account_created").await, "failed");
    let log = std::fs::read_to_string(std::env::var("WEMASY_WORKER_LOG").unwrap()).unwrap();
    let refusals = log.matches("a mail could not be sent: email to <the recipient> not allowed").count();
    assert_eq!(refusals, 3, "one send and two retries");
    assert!(!log.contains(&user.email), "the address stays out of the worker's log");
    let failed = d1(&format!("SELECT detail FROM security_events WHERE user_id = '{id}' AND type = 'alert_failed'"));
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["detail"], r#"{"alert":"account_created"}"#);
    assert!(mailbox::sent_to(&user.email).is_empty());
    let events = app.events(None).await;
    assert!(events.body["events"].as_array().unwrap().iter().any(|e| e["type"] == "alert_failed"), "{}", events.text);
}

#[tokio::test]
async fn a_passkey_completes_a_two_factor_reset_and_starts_no_session() {
    let mut app = TestApp::at_localhost();
    let tf = user_with_two_factor(&mut app).await;
    verify(&mut app, &tf.user.email).await;
    let mut phone = crate::passkey_device::Device::es256(&app.base);
    crate::passkeys::add_passkey(&mut app, &mut phone, None).await;

    let mut device = TestApp::at_localhost();
    device.request_password_reset(&tf.user.email).await;
    let mail = reset_mail(&tf.user.email, 0).await;
    assert_eq!(device.check_password_reset(&mail.token()).await.body["passkeys"], true);
    assert_eq!(device.complete_password_reset(&mail.token(), NEW_PASSWORD).await.status, 200);
    let options = device.passkey_second_step_options().await;
    assert_eq!(options.status, 200, "{}", options.text);
    let done = device.passkey_second_step(&phone.get(&options.body).await).await;
    assert_eq!(done.body, json!({ "password_reset": true }), "{}", done.text);
    assert!(device.session.is_none() && device.pending.is_none());
    app.me().await.assert_error(401, "unauthenticated");
    let again = TestApp::new().login(&tf.user.email, NEW_PASSWORD).await;
    assert_eq!(again.body, json!({ "two_factor_required": true }));
}

#[tokio::test]
async fn every_security_alert_is_mailed_with_its_this_wasnt_me_link() {
    let mut app = TestApp::at_localhost();
    let tf = user_with_two_factor(&mut app).await;
    verify(&mut app, &tf.user.email).await;
    let mut subjects = Vec::new();

    let mut phone = crate::passkey_device::Device::es256(&app.base);
    let passkey = crate::passkeys::add_passkey(&mut app, &mut phone, None).await;
    subjects.push("A passkey was added to your account");
    let regenerated = app.regenerate_recovery_codes().await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    subjects.push("New recovery codes were made");
    let codes: Vec<String> =
        regenerated.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    for code in &codes[..codes.len() - 3] {
        let mut device = TestApp::new();
        assert_eq!(device.login(&tf.user.email, &tf.user.password).await.status, 200);
        let done = device.login_two_factor(json!({ "recovery_code": code })).await;
        assert_eq!(done.status, 200, "{}", done.text);
    }
    subjects.push("You have 3 recovery codes left");
    let removed = app.remove_passkey(passkey["id"].as_str().unwrap()).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    subjects.push("A passkey was removed from your account");
    let code = oathtool(&tf.secret, steady_step() + 1);
    let disabled = app.two_factor_disable(json!({ "password": tf.user.password, "code": code })).await;
    assert_eq!(disabled.status, 204, "{}", disabled.text);
    subjects.push("Two-factor authentication was turned off");

    for subject in subjects {
        let mail = mailbox::wait_for(&tf.user.email, subject).await;
        assert!(mail.link().contains("/not-me#token="), "{subject}: {}", mail.text);
        assert!(mail.text.contains("Where:") && mail.text.contains("When:"), "{subject}: {}", mail.text);
        assert!(!mail.html.contains("<img") && !mail.html.contains("<script"), "{subject}");
    }
    assert_eq!(mailbox::count(&tf.user.email, "recovery codes left"), 1, "only once the codes run low");
}

#[tokio::test]
async fn every_kind_of_link_expires() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let id = user_id(&user.email);
    let verification = mailbox::wait_for(&user.email, "Verify your e-mail address").await;
    let new = format!("later.{}@example.com", crate::helpers::random_hex(6));
    assert_eq!(app.change_email(&new).await.status, 202);
    let change = mailbox::wait_for(&new, "Confirm your new e-mail address").await;
    d1(&format!("UPDATE email_tokens SET expires_at = {} WHERE user_id = '{id}'", now() - 1));

    app.verify_email(&verification.token()).await.assert_error(400, "invalid_token");
    app.verify_email(&change.token()).await.assert_error(400, "invalid_token");
    assert_eq!(app.security().await.body["email_verified"], false);

    let mut owner = TestApp::new();
    let other = verified_user(&mut owner).await;
    let other_id = user_id(&other.email);
    let body = json!({ "current_password": other.password, "new_password": NEW_PASSWORD });
    assert_eq!(owner.change_password(body).await.status, 200);
    let alert = mailbox::wait_for(&other.email, "Your password was changed").await;
    d1(&format!("UPDATE email_tokens SET expires_at = {} WHERE user_id = '{other_id}'", now() - 1));
    TestApp::new().not_me(&alert.token()).await.assert_error(400, "invalid_token");
    assert_eq!(owner.me().await.status, 200, "an expired link ends nothing");
}

//! Passkeys (SPEC §5.11) against the real worker, driven by an authenticator and a WebAuthn
//! client that nobody here wrote (`passkey_device`): ES256 and Ed25519 ceremonies for adding,
//! signing in, the second step and "Confirm it's you", naming and removing; then what an
//! attacker tries — another origin or rp id, a replayed or foreign challenge, no user
//! verification, a forged signature, a cloned key, another account's credential, and garbage.

use futures::future::join_all;
use serde_json::{json, Value};

use crate::helpers::{d1, TestApp, TestResponse, TestUser};
use crate::passkey_device::{challenge_of, Device};
use crate::two_factor::{pending_sign_in, user_with_two_factor};

/// A fresh account on `localhost` (a valid rp id), signed in, and its id.
async fn signed_up() -> (TestApp, TestUser, String) {
    let mut app = TestApp::at_localhost();
    let user = app.signed_up_user().await;
    let id = TestApp::user_id_of(&app.me().await);
    (app, user, id)
}

/// Adds a passkey of `device` to the signed-in account of `app` (in its sudo window).
pub(crate) async fn add_passkey(app: &mut TestApp, device: &mut Device, name: Option<&str>) -> Value {
    let options = app.passkey_registration_options().await;
    assert_eq!(options.status, 200, "{}", options.text);
    let credential = device.create(&options.body).await;
    let added = app.add_passkey(&credential, name).await;
    assert_eq!(added.status, 201, "{}", added.text);
    added.body["passkey"].clone()
}

pub(crate) async fn sign_in_options(app: &mut TestApp) -> Value {
    let options = app.passkey_sign_in_options().await;
    assert_eq!(options.status, 200, "{}", options.text);
    options.body
}

pub(crate) fn events_of(user_id: &str, kind: &str) -> Vec<Value> {
    d1(&format!("SELECT detail FROM security_events WHERE user_id = '{user_id}' AND type = '{kind}' ORDER BY id"))
        .iter()
        .map(|r| serde_json::from_str(r["detail"].as_str().unwrap()).unwrap())
        .collect()
}

/// The `reason` of the account's latest failed sign-in or confirmation.
fn last_failure_reason(user_id: &str) -> String {
    let failures = events_of(user_id, "sign_in_failed");
    failures.last().expect("a failure event")["reason"].as_str().unwrap_or_default().to_string()
}

/// A live session of the user, signed in an hour ago, whose sudo window has closed.
fn session_out_of_sudo(user_id: &str) -> String {
    let now = crate::helpers::now();
    crate::helpers::plant_session(user_id, now - 3600, now, now + 3600, 0)
}

fn assert_rejected(response: &TestResponse) {
    response.assert_error(400, "passkey_rejected");
}

/// A base64url field of the credential JSON, changed by `change` on its bytes.
pub(crate) fn tamper(credential: &Value, field: &str, change: impl FnOnce(&mut Vec<u8>)) -> Value {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    let mut credential = credential.clone();
    let mut bytes = URL_SAFE_NO_PAD.decode(credential["response"][field].as_str().unwrap()).unwrap();
    change(&mut bytes);
    credential["response"][field] = json!(URL_SAFE_NO_PAD.encode(bytes));
    credential
}

#[tokio::test]
async fn a_passkey_is_added_listed_and_signs_in_with_both_factors_es256() {
    let (mut app, user, id) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    let passkey = add_passkey(&mut app, &mut phone, Some("My phone")).await;
    assert_eq!(passkey["name"], "My phone");
    assert_eq!(passkey["id"], json!(phone.credential_ids()[0]));
    assert!(passkey["last_used_at"].is_null());

    let list = app.passkeys().await;
    assert_eq!(list.status, 200, "{}", list.text);
    assert_eq!(list.body["passkeys"], json!([passkey]));
    assert_eq!(app.security().await.body["passkeys"]["count"], 1);

    let mut browser = TestApp::at_localhost();
    let options = sign_in_options(&mut browser).await;
    assert_eq!(options["publicKey"]["rpId"], "localhost");
    assert_eq!(options["publicKey"]["userVerification"], "required");
    let signed_in = browser.passkey_sign_in(&phone.get(&options).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["user"]["email"], json!(user.email));
    assert!(browser.session.is_some());
    assert_eq!(browser.me().await.status, 200);
    assert_eq!(events_of(&id, "sign_in").last().unwrap()["method"], "passkey");
    let sessions = browser.sessions().await;
    let current = sessions.body["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(current["sign_in_method"], "passkey", "{current}");
    assert!(app.passkeys().await.body["passkeys"][0]["last_used_at"].is_u64());
    assert_eq!(events_of(&id, "passkey_added").len(), 1);
}

#[tokio::test]
async fn an_ed25519_passkey_registers_and_signs_in() {
    let (mut app, user, _) = signed_up().await;
    let mut key = Device::ed25519(&app.base);
    let options = app.passkey_registration_options().await;
    let algorithms: Vec<i64> = options.body["publicKey"]["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert!(algorithms.contains(&-8) && algorithms.contains(&-7), "{algorithms:?}");
    let added = app.add_passkey(&key.create(&options.body).await, None).await;
    assert_eq!(added.status, 201, "{}", added.text);
    assert!(!added.body["passkey"]["name"].as_str().unwrap().is_empty(), "a passkey without a name gets one");

    let mut browser = TestApp::at_localhost();
    let options = sign_in_options(&mut browser).await;
    let signed_in = browser.passkey_sign_in(&key.get(&options).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(signed_in.body["user"]["email"], json!(user.email));
}

#[tokio::test]
async fn registration_options_exclude_the_accounts_passkeys_and_a_second_registration_of_one_is_refused() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    let first = app.passkey_registration_options().await;
    assert_eq!(Device::descriptor_count(&first.body, "excludeCredentials"), 0);
    let options = &first.body["publicKey"];
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(options["attestation"], "none");
    assert_eq!(options["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(options["authenticatorSelection"]["userVerification"], "required");
    let credential = phone.create(&first.body).await;
    assert_eq!(app.add_passkey(&credential, None).await.status, 201);

    let second = app.passkey_registration_options().await;
    assert_eq!(Device::descriptor_count(&second.body, "excludeCredentials"), 1);
    // The same response again: its challenge is spent, and the credential is registered anyway.
    let again = app.add_passkey(&credential, None).await;
    assert!(again.status == 400 || again.status == 409, "{}", again.text);
    assert_eq!(app.passkeys().await.body["passkeys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn adding_a_passkey_needs_a_recent_confirmation() {
    let (_, _, id) = signed_up().await;
    let mut stale = TestApp::at_localhost();
    stale.session = Some(session_out_of_sudo(&id));
    stale.passkey_registration_options().await.assert_error(403, "reauth_required");
    stale.add_passkey(&json!({}), None).await.assert_error(403, "reauth_required");
}

#[tokio::test]
async fn a_passkey_is_renamed_and_removed_and_the_password_still_signs_in() {
    let (mut app, user, id) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    let passkey = add_passkey(&mut app, &mut phone, None).await;
    let pid = passkey["id"].as_str().unwrap();

    let renamed = app.rename_passkey(pid, "Work laptop 💻").await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(renamed.body["passkey"]["name"], "Work laptop 💻");
    app.rename_passkey(pid, "").await.assert_error(400, "invalid_input");
    app.rename_passkey(pid, "tab\there").await.assert_error(400, "invalid_input");
    app.rename_passkey(pid, &"x".repeat(65)).await.assert_error(400, "invalid_input");
    app.rename_passkey("AAAA", "nope").await.assert_error(404, "not_found");

    let removed = app.remove_passkey(pid).await;
    assert_eq!(removed.status, 204, "{}", removed.text);
    assert_eq!(app.passkeys().await.body["passkeys"], json!([]));
    app.remove_passkey(pid).await.assert_error(404, "not_found");
    assert_eq!(events_of(&id, "passkey_removed").len(), 1);

    // The removed passkey no longer signs in; the password does.
    let mut browser = TestApp::at_localhost();
    let options = sign_in_options(&mut browser).await;
    browser.passkey_sign_in(&phone.get(&options).await).await.assert_error(400, "passkey_unknown");
    assert_eq!(browser.login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn another_accounts_passkey_can_be_neither_renamed_nor_removed_nor_listed() {
    let (mut owner, _, _) = signed_up().await;
    let mut phone = Device::es256(&owner.base);
    let passkey = add_passkey(&mut owner, &mut phone, Some("Mine")).await;
    let pid = passkey["id"].as_str().unwrap();
    let (mut stranger, _, _) = signed_up().await;
    assert_eq!(stranger.passkeys().await.body["passkeys"], json!([]));
    stranger.rename_passkey(pid, "Stolen").await.assert_error(404, "not_found");
    stranger.remove_passkey(pid).await.assert_error(404, "not_found");
    assert_eq!(owner.passkeys().await.body["passkeys"][0]["name"], "Mine");
}

#[tokio::test]
async fn a_passkey_serves_as_the_second_step_after_the_password() {
    let mut app = TestApp::at_localhost();
    let two_factor = user_with_two_factor(&mut app).await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;

    let mut device = pending_sign_in(&two_factor.user).await;
    device.base = app.base.clone();
    let options = device.passkey_second_step_options().await;
    assert_eq!(options.status, 200, "{}", options.text);
    assert_eq!(Device::descriptor_count(&options.body, "allowCredentials"), 1);
    let done = device.passkey_second_step(&phone.get(&options.body).await).await;
    assert_eq!(done.status, 200, "{}", done.text);
    assert!(device.session.is_some() && device.pending.is_none());
    assert_eq!(events_of(&two_factor.id, "sign_in").last().unwrap()["method"], "password+passkey");

    // A passkey sign-in needs no code even with two-factor authentication on.
    let mut other = TestApp::at_localhost();
    let options = sign_in_options(&mut other).await;
    let signed_in = other.passkey_sign_in(&phone.get(&options).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert!(other.pending.is_none());
}

#[tokio::test]
async fn a_passkey_confirms_its_you_and_opens_the_sudo_window() {
    let (mut app, _, id) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    app.session = Some(session_out_of_sudo(&id));
    app.revoke_others().await.assert_error(403, "reauth_required");

    let options = app.passkey_confirm_options().await;
    assert_eq!(options.status, 200, "{}", options.text);
    let confirmed = app.passkey_confirm(&phone.get(&options.body).await).await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    assert_eq!(app.revoke_others().await.status, 200);
}

#[tokio::test]
async fn an_assertion_made_for_another_origin_or_rp_id_is_refused() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    let mut browser = TestApp::at_localhost();

    // A look-alike page on another port relays our challenge; the user's device signs for our rp id.
    let challenge = challenge_of(&sign_in_options(&mut browser).await);
    let phished = phone.sign_raw("localhost", &phone.client_data(&challenge, "http://localhost:1"), true).await;
    assert_rejected(&browser.passkey_sign_in(&phished).await);
    let phished = phone.sign_raw("localhost", &phone.client_data(&challenge, "https://evil.example"), true).await;
    assert_rejected(&browser.passkey_sign_in(&phished).await);

    // The right client data, but signed for another relying party.
    let challenge = challenge_of(&sign_in_options(&mut browser).await);
    let origin = app.base.clone();
    let client_data = phone.client_data(&challenge, &origin);
    phone.move_credentials_to("evil.example");
    assert_rejected(&browser.passkey_sign_in(&phone.sign_raw("evil.example", &client_data, true).await).await);
    assert!(browser.session.is_none());
}

#[tokio::test]
async fn a_registration_from_another_origin_is_refused() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256("http://localhost:1");
    let options = app.passkey_registration_options().await;
    assert_rejected(&app.add_passkey(&phone.create(&options.body).await, None).await);
    assert_eq!(app.passkeys().await.body["passkeys"], json!([]));
}

#[tokio::test]
async fn a_conditional_create_may_skip_user_verification_but_its_passkey_signs_in_only_verified() {
    let (mut app, _, id) = signed_up().await;
    let options = app.passkey_registration_options_with(json!({ "mediation": "conditional" })).await;
    assert_eq!(options.status, 200, "{}", options.text);
    assert_eq!(options.body["publicKey"]["authenticatorSelection"]["userVerification"], "preferred");
    let mut phone = Device::es256(&app.base);
    let client_data = phone.creation_client_data(&challenge_of(&options.body), &app.base);
    let added = app.add_passkey(&phone.create_raw(&options.body, &client_data, false).await, None).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let added_events = events_of(&id, "passkey_added");
    assert_eq!(added_events.last().expect("passkey_added")["automatic"], true);

    // Its sign-ins are verified like any passkey's.
    let mut browser = TestApp::at_localhost();
    let challenge = challenge_of(&sign_in_options(&mut browser).await);
    let client_data = phone.client_data(&challenge, &app.base);
    assert_rejected(&browser.passkey_sign_in(&phone.sign_raw("localhost", &client_data, false).await).await);
    let verified = phone.get(&sign_in_options(&mut browser).await).await;
    let signed_in = browser.passkey_sign_in(&verified).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);

    // Other mediations ask for verification; a wrong one is a clear 400.
    for mediation in ["optional", "required", "silent"] {
        let options = app.passkey_registration_options_with(json!({ "mediation": mediation })).await;
        assert_eq!(options.body["publicKey"]["authenticatorSelection"]["userVerification"], "required");
    }
    for body in [json!({ "mediation": "sometimes" }), json!({ "mediation": 1 }), json!([])] {
        app.passkey_registration_options_with(body).await.assert_error(400, "invalid_input");
    }
}

#[tokio::test]
async fn a_sign_in_with_a_passkey_no_account_has_is_refused_as_unknown_and_counted() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    let passkey_id = app.passkeys().await.body["passkeys"][0]["id"].as_str().unwrap().to_string();
    let mut stray = Device::es256(&app.base);
    stray.create(&app.passkey_registration_options().await.body).await;

    let mut browser = TestApp::at_localhost();
    let never_registered = stray.get(&sign_in_options(&mut browser).await).await;
    browser.passkey_sign_in(&never_registered).await.assert_error(400, "passkey_unknown");

    // Removed from the account: unknown too. A known passkey with a bad signature is not.
    app.remove_passkey(&passkey_id).await;
    let removed = phone.get(&sign_in_options(&mut browser).await).await;
    browser.passkey_sign_in(&removed).await.assert_error(400, "passkey_unknown");
    let mut laptop = Device::es256(&app.base);
    add_passkey(&mut app, &mut laptop, None).await;
    let forged = tamper(&laptop.get(&sign_in_options(&mut browser).await).await, "signature", |s| s[8] ^= 0xff);
    browser.passkey_sign_in(&forged).await.assert_error(400, "passkey_rejected");
}

#[tokio::test]
async fn a_device_that_does_not_verify_its_user_is_refused() {
    let (mut app, _, id) = signed_up().await;
    let mut unverified = Device::es256(&app.base);
    let options = app.passkey_registration_options().await;
    let client_data = unverified.creation_client_data(&challenge_of(&options.body), &app.base);
    assert_rejected(&app.add_passkey(&unverified.create_raw(&options.body, &client_data, false).await, None).await);
    assert_eq!(app.passkeys().await.body["passkeys"], json!([]));
    // The same ceremony with user verification is accepted: UV was the only thing missing.
    let mut phone = Device::es256(&app.base);
    let options = app.passkey_registration_options().await;
    let client_data = phone.creation_client_data(&challenge_of(&options.body), &app.base);
    let added = app.add_passkey(&phone.create_raw(&options.body, &client_data, true).await, None).await;
    assert_eq!(added.status, 201, "{}", added.text);

    // An assertion of that passkey without UV.
    let mut browser = TestApp::at_localhost();
    let challenge = challenge_of(&sign_in_options(&mut browser).await);
    let client_data = phone.client_data(&challenge, &app.base);
    assert_rejected(&browser.passkey_sign_in(&phone.sign_raw("localhost", &client_data, false).await).await);
    assert_eq!(last_failure_reason(&id), "user_not_verified");
}

#[tokio::test]
async fn a_forged_signature_or_altered_data_is_refused() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    let mut browser = TestApp::at_localhost();

    let assertion = phone.get(&sign_in_options(&mut browser).await).await;
    let forged = tamper(&assertion, "signature", |s| {
        let last = s.len() - 1;
        s[last] ^= 1;
    });
    assert_rejected(&browser.passkey_sign_in(&forged).await);

    let assertion = phone.get(&sign_in_options(&mut browser).await).await;
    let altered = tamper(&assertion, "authenticatorData", |d| d[36] ^= 0x40); // the counter's last byte
    assert_rejected(&browser.passkey_sign_in(&altered).await);
    assert!(browser.session.is_none());
}

#[tokio::test]
async fn a_challenge_is_spent_once_even_by_concurrent_replays() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    let mut browser = TestApp::at_localhost();
    let assertion = phone.get(&sign_in_options(&mut browser).await).await;

    let answers = join_all((0..6).map(|_| {
        let assertion = assertion.clone();
        async move { TestApp::at_localhost().passkey_sign_in(&assertion).await }
    }))
    .await;
    let ok = answers.iter().filter(|a| a.status == 200).count();
    assert_eq!(ok, 1, "{:?}", answers.iter().map(|a| (a.status, a.text.clone())).collect::<Vec<_>>());
    // The others are refused: as spent, or held back by the throttle while the first one runs.
    for refused in answers.iter().filter(|a| a.status != 200) {
        assert!(["passkey_rejected", "rate_limited"].contains(&refused.error_code()), "{}", refused.text);
    }
    let again = browser.passkey_sign_in(&assertion).await;
    assert!(["passkey_rejected", "rate_limited"].contains(&again.error_code()), "{}", again.text);

    // Strangers' failures lock strangers out, not the owner on a device that signed in before.
    app.logout().await;
    let options = sign_in_options(&mut app).await;
    let signed_in = app.passkey_sign_in(&phone.get(&options).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

#[tokio::test]
async fn a_challenge_made_for_one_purpose_or_account_serves_no_other() {
    let (mut owner, _, _) = signed_up().await;
    let mut phone = Device::es256(&owner.base);
    add_passkey(&mut owner, &mut phone, None).await;
    let (mut stranger, _, _) = signed_up().await;

    // The stranger's registration challenge, answered in the owner's session.
    let options = stranger.passkey_registration_options().await;
    let credential = Device::es256(&owner.base).create(&options.body).await;
    assert_rejected(&owner.add_passkey(&credential, None).await);

    // The owner's confirm challenge, used to sign in elsewhere.
    let options = owner.passkey_confirm_options().await;
    let assertion = phone.get(&options.body).await;
    let mut browser = TestApp::at_localhost();
    assert_rejected(&browser.passkey_sign_in(&assertion).await);

    // A sign-in challenge the worker never issued.
    let client_data = phone.client_data(&crate::helpers::random_hex(32), &owner.base);
    assert_rejected(&browser.passkey_sign_in(&phone.sign_raw("localhost", &client_data, true).await).await);
}

#[tokio::test]
async fn another_accounts_passkey_neither_confirms_nor_completes_a_second_step() {
    let mut owner = TestApp::at_localhost();
    let two_factor = user_with_two_factor(&mut owner).await;
    let mut owners_phone = Device::es256(&owner.base);
    add_passkey(&mut owner, &mut owners_phone, None).await;
    // The attacker's own account and passkey, offered for the owner's session and pending sign-in.
    let (mut attacker, _, _) = signed_up().await;
    let mut attackers_phone = Device::es256(&attacker.base);
    add_passkey(&mut attacker, &mut attackers_phone, None).await;

    let challenge = challenge_of(&owner.passkey_confirm_options().await.body);
    let foreign =
        attackers_phone.sign_raw("localhost", &attackers_phone.client_data(&challenge, &owner.base), true).await;
    assert_rejected(&owner.passkey_confirm(&foreign).await);
    assert_eq!(last_failure_reason(&two_factor.id), "wrong_user");

    let mut device = pending_sign_in(&two_factor.user).await;
    device.base = owner.base.clone();
    let challenge = challenge_of(&device.passkey_second_step_options().await.body);
    let foreign =
        attackers_phone.sign_raw("localhost", &attackers_phone.client_data(&challenge, &owner.base), true).await;
    assert_rejected(&device.passkey_second_step(&foreign).await);
    assert!(device.session.is_none());
    assert_eq!(last_failure_reason(&two_factor.id), "wrong_user");
}

#[tokio::test]
async fn a_signature_counter_that_goes_back_is_refused_with_a_clone_warning() {
    let (mut app, _, id) = signed_up().await;
    let mut key = Device::es256(&app.base).with_signature_counter();
    add_passkey(&mut app, &mut key, None).await;
    let mut browser = TestApp::at_localhost();
    key.set_counter(10);
    let options = sign_in_options(&mut browser).await;
    let signed_in = browser.passkey_sign_in(&key.get(&options).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);

    key.set_counter(3);
    let mut clone = TestApp::at_localhost();
    let options = sign_in_options(&mut clone).await;
    assert_rejected(&clone.passkey_sign_in(&key.get(&options).await).await);
    assert_eq!(events_of(&id, "passkey_clone_warning").len(), 1);
}

#[tokio::test]
async fn failed_passkey_assertions_count_like_wrong_passwords() {
    let (mut app, _, id) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    let mut browser = TestApp::at_localhost();
    for _ in 0..3 {
        let assertion = phone.get(&sign_in_options(&mut browser).await).await;
        let forged = tamper(&assertion, "signature", |s| s[8] ^= 0xff);
        assert_rejected(&browser.passkey_sign_in(&forged).await);
    }
    let failures = d1(&format!(
        "SELECT COUNT(*) AS n FROM security_events WHERE user_id = '{id}' AND type = 'sign_in_failed' AND detail LIKE '%passkey%'"
    ));
    assert_eq!(failures[0]["n"], 3, "every refused assertion is a failed sign-in event");
}

#[tokio::test]
async fn malformed_credentials_get_a_json_4xx_never_a_5xx() {
    let (mut app, _, _) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    let options = app.passkey_registration_options().await;
    let good = phone.create(&options.body).await;
    let mut browser = TestApp::at_localhost();

    let bad_credentials = vec![
        json!({}),
        json!({ "id": "not base64!", "rawId": "x", "type": "public-key", "response": {} }),
        json!({ "id": good["id"], "rawId": good["rawId"], "type": "public-key", "response": { "clientDataJSON": "%%%", "attestationObject": "AAAA" } }),
        tamper(&good, "attestationObject", |a| a.truncate(a.len() / 2)),
        tamper(&good, "attestationObject", |a| *a = vec![0xff; 40]),
        tamper(&good, "clientDataJSON", |c| *c = b"{not json".to_vec()),
        tamper(&good, "clientDataJSON", |c| {
            *c = "{\"type\":\"webauthn.create\",\"challenge\":\"\u{202e}\",\"origin\":\"x\"}".as_bytes().to_vec()
        }),
        json!({ "id": good["id"], "rawId": good["rawId"], "type": "private-key", "response": good["response"] }),
        json!({ "id": 42, "rawId": [1, 2], "type": "public-key", "response": "nope" }),
    ];
    for credential in &bad_credentials {
        let answer = app.add_passkey(credential, None).await;
        assert!((400..500).contains(&answer.status), "{credential} → {} {}", answer.status, answer.text);
        assert!(!answer.error_code().is_empty(), "{}", answer.text);
        let answer = browser.passkey_sign_in(credential).await;
        assert!((400..500).contains(&answer.status), "{credential} → {} {}", answer.status, answer.text);
        assert!(!answer.error_code().is_empty(), "{}", answer.text);
    }
    let answer = browser.passkey_sign_in(&json!({ "response": { "authenticatorData": "A".repeat(100_000) } })).await;
    assert!((400..500).contains(&answer.status), "{} {}", answer.status, answer.text);
    assert_eq!(app.passkeys().await.body["passkeys"], json!([]));
}

/// The flags of an assertion from this test authenticator, whose passkeys are registered backup
/// eligible and backed up (UP, UV, BE, BS).
const UP_UV_BE_BS: u8 = 0x01 | 0x04 | 0x08 | 0x10;

#[tokio::test]
async fn an_assertion_carrying_attested_credential_data_is_refused_and_counted() {
    let (mut app, _, id) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    let mut browser = TestApp::at_localhost();
    // The builder's own assertion with the registered flags signs in.
    let client_data = phone.client_data(&challenge_of(&sign_in_options(&mut browser).await), &app.base);
    let signed_in =
        browser.passkey_sign_in(&phone.sign_with_flags("localhost", &client_data, UP_UV_BE_BS, false).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);

    let mut attacker = TestApp::at_localhost();
    let client_data = phone.client_data(&challenge_of(&sign_in_options(&mut attacker).await), &app.base);
    let with_at = phone.sign_with_flags("localhost", &client_data, UP_UV_BE_BS, true).await;
    assert_rejected(&attacker.passkey_sign_in(&with_at).await);
    assert!(attacker.session.is_none());
    assert_eq!(last_failure_reason(&id), "attested_data_in_assertion");
}

#[tokio::test]
async fn an_assertion_whose_backup_eligibility_changed_is_refused_and_counted() {
    let (mut app, _, id) = signed_up().await;
    let mut phone = Device::es256(&app.base);
    add_passkey(&mut app, &mut phone, None).await;
    assert_eq!(d1(&format!("SELECT backup_eligible FROM passkeys WHERE user_id = '{id}'"))[0]["backup_eligible"], 1);
    let mut attacker = TestApp::at_localhost();
    let client_data = phone.client_data(&challenge_of(&sign_in_options(&mut attacker).await), &app.base);
    let not_eligible = phone.sign_with_flags("localhost", &client_data, 0x01 | 0x04, false).await;
    assert_rejected(&attacker.passkey_sign_in(&not_eligible).await);
    assert!(attacker.session.is_none());
    assert_eq!(last_failure_reason(&id), "backup_eligibility_changed");

    // BS may change (a passkey not backed up right now); BE may not.
    let mut browser = TestApp::at_localhost();
    let client_data = phone.client_data(&challenge_of(&sign_in_options(&mut browser).await), &app.base);
    let not_backed_up = phone.sign_with_flags("localhost", &client_data, 0x01 | 0x04 | 0x08, false).await;
    let signed_in = browser.passkey_sign_in(&not_backed_up).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
}

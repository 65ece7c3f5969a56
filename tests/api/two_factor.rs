//! Two-factor authentication (SPEC §5.4–§5.7) against the real worker. Codes come from
//! independent TOTP implementations (`oathtool`, the `otpauth` npm package) fed with what the
//! API answers. A code is accepted once, so a test that needs several codes uses codes of
//! distinct steps, and starts away from a step boundary so that every code it uses stays within
//! the server's ±1 step window.

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::helpers::{d1, kv_get, kv_keys, kv_put, random_hex, session_id_of, TestApp, TestUser, SAFARI_IPHONE};

const STEP: u64 = 30;

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// The current time step, after waiting out the end of a step: the answer and the next step
/// stay within the server's window for at least 25 seconds.
pub(crate) fn steady_step() -> u64 {
    let now = unix_now();
    if now % STEP >= STEP - 5 {
        std::thread::sleep(Duration::from_secs(STEP - now % STEP));
    }
    unix_now() / STEP
}

/// The code of `step` as `oathtool` computes it from the Base32 secret.
pub(crate) fn oathtool(secret: &str, step: u64) -> String {
    let output = Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now", &format!("@{}", step * STEP + 1)])
        .output()
        .expect("oathtool runs (scripts/setup.sh test installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// The code of `step` as the `otpauth` npm package computes it from the URI alone, as an
/// authenticator app would, with the label and issuer it read.
fn otpauth_npm(uri: &str, step: u64) -> (String, String, String) {
    let script = "const OTPAuth = require('otpauth'); const t = OTPAuth.URI.parse(process.argv[1]); \
                  console.log(JSON.stringify([t.generate({ timestamp: Number(process.argv[2]) * 1000 }), t.label, t.issuer, t.algorithm, t.digits, t.period]));";
    let output =
        Command::new("node").args(["-e", script, uri, &(step * STEP + 1).to_string()]).output().expect("node runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let v: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!((v[3].as_str(), v[4].as_u64(), v[5].as_u64()), (Some("SHA1"), Some(6), Some(30)), "{v}");
    (v[0].as_str().unwrap().into(), v[1].as_str().unwrap().into(), v[2].as_str().unwrap().into())
}

/// A six-digit code that is valid at no step the server could accept now.
pub(crate) fn wrong_code(secret: &str, step: u64) -> String {
    let valid: Vec<String> = (step - 2..=step + 2).map(|s| oathtool(secret, s)).collect();
    (0..).map(|n| format!("{:06}", n * 7919 % 1_000_000)).find(|c| !valid.contains(c)).unwrap()
}

pub(crate) struct TwoFactorUser {
    pub user: TestUser,
    pub id: String,
    pub secret: String,
    pub recovery_codes: Vec<String>,
    /// The step whose code turned two-factor authentication on.
    pub step: u64,
}

/// Signs up on `app`, sets up and turns on two-factor authentication with the code of the
/// current step.
pub(crate) async fn user_with_two_factor(app: &mut TestApp) -> TwoFactorUser {
    let user = app.signed_up_user().await;
    let id = TestApp::user_id_of(&app.me().await);
    let setup = app.two_factor_setup().await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().unwrap().to_string();
    let step = steady_step();
    let enabled = app.two_factor_enable(&oathtool(&secret, step)).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let recovery_codes =
        enabled.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect();
    TwoFactorUser { user, id, secret, recovery_codes, step }
}

/// A new device that has passed the password step and waits for the second factor.
pub(crate) async fn pending_sign_in(user: &TestUser) -> TestApp {
    let mut device = TestApp::with_user_agent(SAFARI_IPHONE);
    let response = device.login(&user.email, &user.password).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body, json!({ "two_factor_required": true }));
    assert!(device.session.is_none());
    assert!(device.pending.is_some());
    device
}

/// The account's events, without the mail pipeline's own records (`alert_sent`, `alert_failed`).
pub(crate) fn event_rows(user_id: &str) -> Vec<Value> {
    d1(&format!(
        "SELECT type, detail FROM security_events WHERE user_id = '{user_id}' AND type NOT LIKE 'alert_%' ORDER BY id"
    ))
}

fn event_types(user_id: &str) -> Vec<String> {
    event_rows(user_id).iter().map(|r| r["type"].as_str().unwrap().to_string()).collect()
}

async fn remaining_recovery_codes(app: &mut TestApp) -> u64 {
    let overview = app.security().await;
    assert_eq!(overview.status, 200, "{}", overview.text);
    overview.body["two_factor"]["recovery_codes_remaining"].as_u64().unwrap()
}

/// Ends the sudo window of `app`'s session by rewriting its KV record.
async fn close_sudo_window(app: &TestApp) {
    let key = wemasy_security::kv_keys::session(&session_id_of(app.session.as_ref().unwrap()));
    let mut record: Value = serde_json::from_str(&kv_get(&key).expect("session record")).unwrap();
    record["sudo_until"] = json!(0);
    kv_put_settled(app, &key, &record.to_string()).await;
}

/// `kv_put`, then waits until the worker answers again: local KV is a SQLite file that the
/// worker's storage reopens after a write from outside, and a request in that moment can
/// lose its connection.
async fn kv_put_settled(app: &TestApp, key: &str, value: &str) {
    kv_put(key, value, None);
    for _ in 0..20 {
        if app.raw(reqwest::Method::GET, "/api/me").send().await.is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
}

fn sign_in_methods(user_id: &str) -> Vec<String> {
    kv_keys(&wemasy_security::kv_keys::session_index_prefix(user_id))
        .iter()
        .map(|k| k["metadata"]["sign_in_method"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test]
async fn setup_answers_a_base32_secret_and_the_uri_authenticator_apps_read() {
    let mut app = TestApp::new();
    let mut user = TestUser::generate();
    user.email = format!("ada+{}@example.com", random_hex(4));
    assert_eq!(app.signup(&user).await.status, 201);

    let setup = app.two_factor_setup().await;

    assert_eq!(setup.status, 200, "{}", setup.text);
    let secret = setup.body["secret"].as_str().unwrap();
    assert_eq!(secret.len(), 32, "160 bits in Base32 without padding: {secret}");
    assert!(secret.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{secret}");
    let label = user.email.replace('+', "%2B").replace('@', "%40");
    let uri = setup.body["otpauth_uri"].as_str().unwrap();
    assert_eq!(uri, format!("otpauth://totp/WEMASY:{label}?secret={secret}&issuer=WEMASY"));
    let step = unix_now() / STEP;
    let (code, app_label, issuer) = otpauth_npm(uri, step);
    assert_eq!((app_label.as_str(), issuer.as_str()), (user.email.as_str(), "WEMASY"));
    assert_eq!(code, oathtool(secret, step));
}

#[tokio::test]
async fn the_qr_code_decodes_to_exactly_the_otpauth_uri() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let setup = app.two_factor_setup().await;
    let dir = std::env::temp_dir().join(format!("wemasy-qr-{}", random_hex(6)));
    std::fs::create_dir_all(&dir).unwrap();
    let (svg, png) = (dir.join("qr.svg"), dir.join("qr.png"));
    std::fs::write(&svg, setup.body["qr_svg"].as_str().unwrap()).unwrap();

    let converted = Command::new("rsvg-convert").arg("-o").arg(&png).arg(&svg).output().expect("rsvg-convert runs");
    let decoded = Command::new("zbarimg").args(["--raw", "-q"]).arg(&png).output().expect("zbarimg runs");

    assert!(converted.status.success(), "{}", String::from_utf8_lossy(&converted.stderr));
    assert!(decoded.status.success(), "{}", String::from_utf8_lossy(&decoded.stderr));
    let text = String::from_utf8(decoded.stdout).unwrap();
    assert_eq!(text.trim_end_matches('\n'), setup.body["otpauth_uri"].as_str().unwrap());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_code_from_an_independent_totp_implementation_turns_two_factor_on() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let setup = app.two_factor_setup().await;
    let step = steady_step();
    let (code, _, _) = otpauth_npm(setup.body["otpauth_uri"].as_str().unwrap(), step);

    let enabled = app.two_factor_enable(&code).await;

    assert_eq!(enabled.status, 200, "{}", enabled.text);
    let codes = enabled.body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    for code in codes {
        let code = code.as_str().unwrap();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.split('-').count(), 4, "{code}");
    }
    let overview = app.security().await;
    assert_eq!(overview.body["two_factor"]["enabled"], true);
    assert_eq!(overview.body["two_factor"]["recovery_codes_remaining"], 10);
    assert_eq!(overview.body["two_factor"]["recovery_codes_need_regenerating"], false, "fresh codes, current key");
}

#[tokio::test]
async fn a_new_setup_replaces_an_unfinished_one() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let first = app.two_factor_setup().await.body["secret"].as_str().unwrap().to_string();
    let second = app.two_factor_setup().await.body["secret"].as_str().unwrap().to_string();
    let step = steady_step();
    assert_ne!(first, second);

    let with_first = app.two_factor_enable(&oathtool(&first, step)).await;
    let with_second = app.two_factor_enable(&oathtool(&second, step)).await;

    with_first.assert_error(400, "invalid_code");
    assert_eq!(with_second.status, 200, "{}", with_second.text);
}

#[tokio::test]
async fn enabling_with_a_wrong_code_leaves_two_factor_off() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let secret = app.two_factor_setup().await.body["secret"].as_str().unwrap().to_string();

    let response = app.two_factor_enable(&wrong_code(&secret, unix_now() / STEP)).await;

    response.assert_error(400, "invalid_code");
    let overview = app.security().await;
    assert_eq!(overview.body["two_factor"]["enabled"], false);
    assert_eq!(overview.body["two_factor"]["recovery_codes_remaining"], 0);
    assert_eq!(app.me().await.status, 200, "a wrong code does not sign anyone out");
}

#[tokio::test]
async fn setup_and_enable_need_a_recent_sign_in_or_confirmation() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let secret = app.two_factor_setup().await.body["secret"].as_str().unwrap().to_string();
    close_sudo_window(&app).await;

    let enable = app.two_factor_enable(&oathtool(&secret, steady_step())).await;
    let setup = app.two_factor_setup().await;
    let wrong = app.confirm(json!({ "password": "Wrong-password-123!" })).await;
    let confirmed = app.confirm(json!({ "password": user.password })).await;
    let after = app.two_factor_setup().await;

    enable.assert_error(403, "reauth_required");
    setup.assert_error(403, "reauth_required");
    wrong.assert_error(403, "wrong_password");
    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(app.security().await.body["two_factor"]["enabled"], false);
}

#[tokio::test]
async fn with_two_factor_on_confirming_needs_the_password_and_a_code() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    close_sudo_window(&app).await;

    let password_only = app.confirm(json!({ "password": tf.user.password })).await;
    let wrong_code =
        app.confirm(json!({ "password": tf.user.password, "code": wrong_code(&tf.secret, tf.step) })).await;
    let still_closed = app.regenerate_recovery_codes().await;
    let confirmed =
        app.confirm(json!({ "password": tf.user.password, "code": oathtool(&tf.secret, tf.step + 1) })).await;
    let regenerated = app.regenerate_recovery_codes().await;

    password_only.assert_error(400, "invalid_input");
    wrong_code.assert_error(400, "invalid_code");
    still_closed.assert_error(403, "reauth_required");
    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
}

#[tokio::test]
async fn with_two_factor_on_the_password_alone_does_not_sign_in() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;

    let mut device = pending_sign_in(&tf.user).await;

    device.me().await.assert_error(401, "unauthenticated");
    let pending_id = session_id_of(device.pending.as_ref().unwrap());
    let stored: Value =
        serde_json::from_str(&kv_get(&wemasy_security::kv_keys::pending(&pending_id)).unwrap()).unwrap();
    assert_eq!(stored["user_id"], tf.id.as_str());
}

#[tokio::test]
async fn the_code_used_to_enable_two_factor_cannot_sign_in() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;

    let replayed = device.login_two_factor(json!({ "code": oathtool(&tf.secret, tf.step) })).await;
    let next = device.login_two_factor(json!({ "code": oathtool(&tf.secret, tf.step + 1) })).await;

    replayed.assert_error(400, "invalid_code");
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(next.body["user"]["email"], tf.user.email.as_str());
    assert!(device.pending.is_none(), "the pending cookie is cleared");
    assert_eq!(device.me().await.status, 200);
    assert!(sign_in_methods(&tf.id).contains(&"password+totp".to_string()));
}

#[tokio::test]
async fn an_accepted_code_cannot_be_accepted_twice() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let code = oathtool(&tf.secret, tf.step + 1);
    let mut first = pending_sign_in(&tf.user).await;
    let mut second = pending_sign_in(&tf.user).await;

    let accepted = first.login_two_factor(json!({ "code": code })).await;
    let again = second.login_two_factor(json!({ "code": code })).await;
    let older = second.login_two_factor(json!({ "code": oathtool(&tf.secret, tf.step) })).await;

    assert_eq!(accepted.status, 200, "{}", accepted.text);
    again.assert_error(400, "invalid_code");
    older.assert_error(400, "invalid_code");
    assert!(second.session.is_none());
}

#[tokio::test]
async fn concurrent_uses_of_one_code_let_exactly_one_through() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let code = oathtool(&tf.secret, tf.step + 1);
    let mut devices = Vec::new();
    for _ in 0..4 {
        devices.push(pending_sign_in(&tf.user).await);
    }

    let mut attempts = Vec::new();
    for mut device in devices {
        let code = code.clone();
        attempts.push(tokio::spawn(async move { device.login_two_factor(json!({ "code": code })).await.status }));
    }
    let mut statuses = Vec::new();
    for attempt in attempts {
        statuses.push(attempt.await.unwrap());
    }

    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 1, "{statuses:?}");
}

#[tokio::test]
async fn each_recovery_code_signs_in_once_and_the_remaining_count_follows() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let typed = tf.recovery_codes[0].to_uppercase().replace('-', "");

    let mut first = pending_sign_in(&tf.user).await;
    let used = first.login_two_factor(json!({ "recovery_code": typed })).await;
    let mut second = pending_sign_in(&tf.user).await;
    let reused = second.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await;
    let other = second.login_two_factor(json!({ "recovery_code": format!(" {} ", tf.recovery_codes[1]) })).await;

    assert_eq!(used.status, 200, "{}", used.text);
    reused.assert_error(400, "invalid_code");
    assert_eq!(other.status, 200, "{}", other.text);
    assert_eq!(remaining_recovery_codes(&mut app).await, 8);
    assert!(sign_in_methods(&tf.id).contains(&"password+recovery_code".to_string()));
    let types = event_types(&tf.id);
    assert_eq!(types.iter().filter(|t| *t == "recovery_code_used").count(), 2, "{types:?}");
}

#[tokio::test]
async fn after_regeneration_the_old_recovery_codes_fail_and_the_new_ones_work() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;
    assert_eq!(device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await.status, 200);
    assert_eq!(remaining_recovery_codes(&mut app).await, 9);

    let regenerated = app.regenerate_recovery_codes().await;

    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    let new_codes: Vec<String> =
        regenerated.body["recovery_codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap().into()).collect();
    assert_eq!(new_codes.len(), 10);
    assert!(new_codes.iter().all(|c| !tf.recovery_codes.contains(c)));
    assert_eq!(remaining_recovery_codes(&mut app).await, 10);
    let mut old = pending_sign_in(&tf.user).await;
    old.login_two_factor(json!({ "recovery_code": tf.recovery_codes[1] })).await.assert_error(400, "invalid_code");
    assert_eq!(old.login_two_factor(json!({ "recovery_code": new_codes[0] })).await.status, 200);
    assert_eq!(remaining_recovery_codes(&mut app).await, 9);
    assert!(event_types(&tf.id).contains(&"recovery_codes_regenerated".to_string()));
}

#[tokio::test]
async fn regenerating_needs_the_sudo_window() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    close_sudo_window(&app).await;

    app.regenerate_recovery_codes().await.assert_error(403, "reauth_required");

    let mut device = pending_sign_in(&tf.user).await;
    assert_eq!(device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await.status, 200);
    assert_eq!(device.regenerate_recovery_codes().await.status, 200, "a two-factor sign-in opens the sudo window");
}

#[tokio::test]
async fn disabling_with_the_password_only_is_refused() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;

    let response = app.two_factor_disable(json!({ "password": tf.user.password })).await;
    let wrong_password = app
        .two_factor_disable(json!({ "password": "Wrong-password-123!", "code": oathtool(&tf.secret, tf.step + 1) }))
        .await;

    response.assert_error(400, "invalid_input");
    wrong_password.assert_error(403, "wrong_password");
    assert_eq!(app.security().await.body["two_factor"]["enabled"], true);
}

#[tokio::test]
async fn disabling_with_the_password_and_a_code_deletes_the_secret_and_the_codes() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;

    let response = app
        .two_factor_disable(json!({ "password": tf.user.password, "code": oathtool(&tf.secret, tf.step + 1) }))
        .await;

    assert_eq!(response.status, 204, "{}", response.text);
    let overview = app.security().await;
    assert_eq!(overview.body["two_factor"]["enabled"], false);
    let row = &d1(&format!(
        "SELECT totp_secret, totp_pending_secret, totp_enabled_at, totp_last_step FROM users WHERE id = '{}'",
        tf.id
    ))[0];
    assert_eq!(
        row,
        &json!({ "totp_secret": null, "totp_pending_secret": null, "totp_enabled_at": null, "totp_last_step": 0 })
    );
    assert_eq!(d1(&format!("SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = '{}'", tf.id))[0]["n"], 0);
    let login = TestApp::new().login(&tf.user.email, &tf.user.password).await;
    assert!(login.body["user"].is_object(), "{}", login.text);
    assert!(event_types(&tf.id).contains(&"two_factor_disabled".to_string()));
}

#[tokio::test]
async fn disabling_with_the_password_and_a_recovery_code_works() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;

    let response =
        app.two_factor_disable(json!({ "password": tf.user.password, "recovery_code": tf.recovery_codes[3] })).await;

    assert_eq!(response.status, 204, "{}", response.text);
    assert_eq!(app.security().await.body["two_factor"]["enabled"], false);
    let types = event_types(&tf.id);
    assert!(types.ends_with(&["recovery_code_used".to_string(), "two_factor_disabled".to_string()]), "{types:?}");
}

#[tokio::test]
async fn a_pending_sign_in_expires() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;
    let key = wemasy_security::kv_keys::pending(&session_id_of(device.pending.as_ref().unwrap()));
    let old = json!({ "user_id": tf.id, "created_at": unix_now() - 301, "failures": 0 });
    kv_put_settled(&device, &key, &old.to_string()).await;

    let response = device.login_two_factor(json!({ "code": oathtool(&tf.secret, tf.step + 1) })).await;

    response.assert_error(401, "unauthenticated");
    assert!(device.session.is_none());
}

#[tokio::test]
async fn a_pending_sign_in_cannot_be_used_after_it_succeeded() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;
    let pending = device.pending.clone();
    assert_eq!(device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await.status, 200);

    let mut replay = TestApp::new();
    replay.pending = pending;
    let response = replay.login_two_factor(json!({ "recovery_code": tf.recovery_codes[1] })).await;

    response.assert_error(401, "unauthenticated");
    assert!(replay.session.is_none());
    assert_eq!(remaining_recovery_codes(&mut app).await, 9);
}

#[tokio::test]
async fn five_wrong_codes_end_a_pending_sign_in() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;
    let wrong = wrong_code(&tf.secret, tf.step);
    for _ in 0..4 {
        device.login_two_factor(json!({ "code": wrong })).await.assert_error(400, "invalid_code");
    }

    let fifth = device.login_two_factor(json!({ "code": wrong })).await;
    let right = device.login_two_factor(json!({ "code": oathtool(&tf.secret, tf.step + 1) })).await;

    fifth.assert_error(429, "rate_limited");
    right.assert_error(401, "unauthenticated");
    assert!(device.session.is_none());
    let failed: Vec<Value> = event_rows(&tf.id)
        .into_iter()
        .filter(|r| r["type"] == "sign_in_failed")
        .map(|r| serde_json::from_str(r["detail"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(failed.len(), 5);
    assert!(failed.iter().all(|d| d["factor"] == "totp"), "{failed:?}");
}

#[tokio::test]
async fn passwords_codes_and_recovery_codes_share_one_failure_count() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;
    device.login_two_factor(json!({ "code": wrong_code(&tf.secret, tf.step) })).await.assert_error(400, "invalid_code");
    device.login_two_factor(json!({ "code": wrong_code(&tf.secret, tf.step) })).await.assert_error(400, "invalid_code");
    for bad in ["0000-0000-0000-0000", "not a code"] {
        device.login_two_factor(json!({ "recovery_code": bad })).await.assert_error(400, "invalid_code");
    }

    let fifth = TestApp::new().login(&tf.user.email, "Wrong-password-123!").await;
    let right = device.login_two_factor(json!({ "recovery_code": tf.recovery_codes[0] })).await;

    fifth.assert_error(429, "rate_limited");
    right.assert_error(429, "rate_limited");
    let factors: Vec<String> = event_rows(&tf.id)
        .into_iter()
        .filter(|r| r["type"] == "sign_in_failed")
        .map(|r| {
            serde_json::from_str::<Value>(r["detail"].as_str().unwrap()).unwrap()["factor"].as_str().unwrap().into()
        })
        .collect();
    assert_eq!(factors, ["totp", "totp", "recovery_code", "recovery_code", "password"]);
}

#[tokio::test]
async fn d1_holds_no_secret_and_no_recovery_code_in_the_clear() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut other = TestApp::new();
    other.signed_up_user().await;
    let other_id = TestApp::user_id_of(&other.me().await);
    let pending_secret = other.two_factor_setup().await.body["secret"].as_str().unwrap().to_string();

    let users =
        serde_json::to_string(&d1(&format!("SELECT * FROM users WHERE id IN ('{}', '{other_id}')", tf.id))).unwrap();
    let codes = d1(&format!("SELECT * FROM recovery_codes WHERE user_id = '{}'", tf.id));
    let events =
        serde_json::to_string(&d1(&format!("SELECT * FROM security_events WHERE user_id = '{}'", tf.id))).unwrap();

    assert!(users.contains("\"totp_pending_secret\":\"v1."), "{users}");
    assert!(!users.to_lowercase().contains(&pending_secret.to_lowercase()), "{users}");
    assert_eq!(codes.len(), 10);
    let codes = serde_json::to_string(&codes).unwrap();
    let secret_hex: String = {
        let bytes = decode_base32(&tf.secret);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    };
    for haystack in [&users, &codes, &events] {
        let lower = haystack.to_lowercase();
        assert!(!lower.contains(&tf.secret.to_lowercase()), "{haystack}");
        assert!(!lower.contains(&secret_hex), "{haystack}");
        for code in &tf.recovery_codes {
            assert!(!lower.contains(code), "{haystack}");
            assert!(!lower.contains(&code.replace('-', "")), "{haystack}");
        }
    }
    assert!(users.contains("\"totp_secret\":\"v1."), "{users}");
}

fn decode_base32(text: &str) -> Vec<u8> {
    let (mut buffer, mut bits, mut out) = (0u32, 0, Vec::new());
    for c in text.bytes() {
        let v = if c.is_ascii_uppercase() { c - b'A' } else { c - b'2' + 26 };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test]
async fn turning_two_factor_on_and_off_is_recorded_without_secrets() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    app.two_factor_enable(&oathtool(&tf.secret, tf.step + 1)).await.assert_error(400, "invalid_input");
    app.two_factor_disable(json!({ "password": tf.user.password, "code": oathtool(&tf.secret, tf.step + 1) })).await;

    let rows = event_rows(&tf.id);

    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["account_created", "two_factor_enabled", "two_factor_disabled"]);
    let dump = serde_json::to_string(&rows).unwrap();
    assert!(!dump.contains(&tf.secret));
}

#[tokio::test]
async fn two_factor_bodies_of_the_wrong_shape_are_refused() {
    let mut app = TestApp::new();
    let tf = user_with_two_factor(&mut app).await;
    let mut device = pending_sign_in(&tf.user).await;

    let nothing = device.login_two_factor(json!({})).await;
    let both = device.login_two_factor(json!({ "code": "123456", "recovery_code": tf.recovery_codes[0] })).await;
    let extra = device.login_two_factor(json!({ "code": "123456", "admin": true })).await;
    let no_pending = TestApp::new().login_two_factor(json!({ "code": "123456" })).await;

    nothing.assert_error(400, "invalid_input");
    both.assert_error(400, "invalid_input");
    extra.assert_error(400, "invalid_input");
    no_pending.assert_error(401, "unauthenticated");
    assert_eq!(remaining_recovery_codes(&mut app).await, 10);
}

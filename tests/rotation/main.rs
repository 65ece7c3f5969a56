//! Rotating `SECRET_KEY` end to end (issue 16), against the real worker in workerd, across
//! restarts over the same local D1/KV state. `scripts/run-tests.sh` runs this binary once per
//! stage, after the other suites:
//!
//! - stage `a`: the worker runs with `SECRET_KEY=A`;
//! - stage `b`: with `SECRET_KEY=B` and `SECRET_KEY_PREVIOUS=A`;
//! - stage `c`: with `SECRET_KEY=B` alone.
//!
//! What the people of this story hold (sessions, device cookies, secrets, recovery codes) is kept
//! between stages in `ROTATION_STATE` (a JSON file). Ada uses the worker as it is; Grace's and
//! Linus's second factors are stored as the worker wrote them before data keys existed (under
//! key A itself); Barbara's secret is under a key the worker never had. Without `ROTATION_STAGE`
//! this binary does nothing (it is not part of `cargo test`).

#[path = "../api/helpers.rs"]
mod helpers;

use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wemasy_security::domain::{base32, recovery_codes, secrets::Keyring};

use helpers::{d1, TestApp, TestUser, SAFARI_IPHONE};

/// What one person holds between stages.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Person {
    id: String,
    email: String,
    password: String,
    secret: String,
    recovery_codes: Vec<String>,
    /// The last TOTP step used (a code is accepted once).
    last_step: u64,
    /// A session that stays signed in through every stage.
    session: Option<String>,
    /// The `__Host-device` cookie of the browser this person signs in with.
    device: Option<String>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Story {
    ada: Option<Person>,
    grace: Option<Person>,
    linus: Option<Person>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by scripts/run-tests.sh"))
}

fn load_story() -> Story {
    std::fs::read_to_string(env("ROTATION_STATE")).map(|s| serde_json::from_str(&s).unwrap()).unwrap_or_default()
}

fn save_story(story: &Story) {
    std::fs::write(env("ROTATION_STATE"), serde_json::to_string_pretty(story).unwrap()).unwrap();
}

fn key_a() -> Keyring {
    Keyring::new(&env("ROTATION_KEY_A"), None).unwrap()
}

fn say(sentence: &str) {
    println!("  ✓ {sentence}");
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A code of a step after `person.last_step` that the worker accepts now (it takes the steps
/// around its clock, ±1); waits for the next step when needed.
fn next_code(person: &mut Person) -> String {
    loop {
        let now = unix_now();
        let (step, into) = (now / 30, now % 30);
        let candidate = (person.last_step + 1).max(step);
        // Stay clear of a step boundary: the code must still be valid when it arrives.
        if candidate <= step + 1 && !(candidate == step && into >= 27) {
            person.last_step = candidate;
            return oathtool(&person.secret, candidate);
        }
        std::thread::sleep(Duration::from_secs(30 - into + 1));
    }
}

fn oathtool(secret: &str, step: u64) -> String {
    let output = Command::new("oathtool")
        .args(["--totp", "-b", secret, "--now", &format!("@{}", step * 30 + 1)])
        .output()
        .expect("oathtool runs (scripts/setup.sh test installs it)");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

/// A person who signed up and turned on two-factor authentication through the API.
async fn sign_up_with_two_factor() -> (TestApp, Person) {
    let mut app = TestApp::new();
    let user: TestUser = app.signed_up_user().await;
    let id = TestApp::user_id_of(&app.me().await);
    let setup = app.two_factor_setup().await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    let mut person = Person {
        id,
        email: user.email,
        password: user.password,
        secret: setup.body["secret"].as_str().unwrap().to_string(),
        recovery_codes: Vec::new(),
        last_step: 0,
        session: None,
        device: None,
    };
    let enabled = app.two_factor_enable(&next_code(&mut person)).await;
    assert_eq!(enabled.status, 200, "{}", enabled.text);
    person.recovery_codes = strings(&enabled.body["recovery_codes"]);
    person.session = app.session.clone();
    (app, person)
}

fn strings(value: &Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|c| c.as_str().unwrap().to_string()).collect()
}

/// The browser `person` signs in with (their device cookie, if they have one).
fn browser_of(person: &Person) -> TestApp {
    let mut app = TestApp::with_user_agent(SAFARI_IPHONE);
    app.device = person.device.clone();
    app
}

/// Password, then a code from the authenticator app; answers the second step's response.
async fn sign_in_with_code(app: &mut TestApp, person: &mut Person) -> helpers::TestResponse {
    let first = app.login(&person.email, &person.password).await;
    assert_eq!(first.status, 200, "{}", first.text);
    assert_eq!(first.body["two_factor_required"], true, "{}", first.text);
    app.login_two_factor(json!({ "code": next_code(person) })).await
}

/// Password, then the next unused recovery code (taken from the person's list).
async fn sign_in_with_recovery_code(person: &mut Person) -> helpers::TestResponse {
    let mut app = TestApp::new();
    let first = app.login(&person.email, &person.password).await;
    assert_eq!(first.body["two_factor_required"], true, "{}", first.text);
    let code = person.recovery_codes.remove(0);
    app.login_two_factor(json!({ "recovery_code": code })).await
}

fn user_row(id: &str) -> Value {
    d1(&format!("SELECT totp_secret FROM users WHERE id = '{id}'")).remove(0)
}

fn kid_of_secret(id: &str) -> String {
    user_row(id)["totp_secret"].as_str().unwrap().split('.').nth(1).unwrap().to_string()
}

/// Rewrites a person's TOTP secret as the worker stored it before data keys: encrypted under
/// key A itself.
fn store_secret_as_before_data_keys(person: &Person) {
    let a = key_a();
    let secret = base32::decode(&person.secret).unwrap();
    let legacy = a.encrypt(&secret, &person.id).unwrap();
    assert!(legacy.starts_with(&format!("v1.{}.", a.root_id())));
    d1(&format!("UPDATE users SET totp_secret = '{legacy}' WHERE id = '{}'", person.id));
}

/// Rewrites a person's recovery codes as the worker stored them before data keys: hashed under
/// key A itself.
fn store_codes_as_before_data_keys(person: &Person) {
    let a = key_a();
    let hashes: Vec<String> = person
        .recovery_codes
        .iter()
        .map(|c| {
            format!("('{}', '{}')", person.id, a.recovery_code_hash(&person.id, &recovery_codes::normalize(c).unwrap()))
        })
        .collect();
    d1(&format!(
        "DELETE FROM recovery_codes WHERE user_id = '{0}'; INSERT INTO recovery_codes (user_id, code_hash) VALUES {1}",
        person.id,
        hashes.join(", ")
    ));
}

/// A device cookie as the worker signed it before data keys (under key A itself).
fn device_cookie_before_data_keys(user_id: &str) -> String {
    let device_id = "AAAAAAAAAAAAAAAAAAAAAA";
    format!("{user_id}.{device_id}.{}", key_a().device_signature(user_id, device_id))
}

/// The `key_rotation` lines of the worker's log.
fn rotation_log_lines() -> Vec<Value> {
    let log = std::fs::read_to_string(env("WEMASY_WORKER_LOG")).unwrap();
    log.lines()
        .filter(|l| l.contains("\"msg\":\"key_rotation\""))
        .map(|l| serde_json::from_str(&l[l.find('{').unwrap()..]).unwrap())
        .collect()
}

/// Fires the daily cron (wrangler's `/__scheduled` hook) and answers the log line it wrote.
async fn run_scheduled() -> Value {
    let before = rotation_log_lines().len();
    let mut app = TestApp::new();
    let response = app.request(reqwest::Method::GET, "/__scheduled?cron=17+3+*+*+*", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
    for _ in 0..50 {
        let lines = rotation_log_lines();
        if lines.len() > before {
            return lines.last().unwrap().clone();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the scheduled run wrote no key_rotation log line");
}

/// The operator's read-only query of README "Rotating SECRET_KEY": which key ids D1 still needs.
fn key_ids_still_in_use() -> Vec<String> {
    let sql = include_str!("key-ids-in-use.sql");
    d1(sql).iter().map(|row| row["key_id"].as_str().unwrap_or_default().to_string()).collect()
}

#[tokio::test]
async fn rotation_stage() {
    let Ok(stage) = std::env::var("ROTATION_STAGE") else {
        println!("ROTATION_STAGE is not set: run through scripts/run-tests.sh");
        return;
    };
    let mut story = load_story();
    match stage.as_str() {
        "a" => stage_a(&mut story).await,
        "b" => stage_b(&mut story).await,
        "c" => stage_c(&mut story).await,
        other => panic!("unknown stage {other}"),
    }
    save_story(&story);
}

/// `SECRET_KEY=A`.
async fn stage_a(story: &mut Story) {
    println!("stage A: SECRET_KEY=A");
    let (_, mut ada) = sign_up_with_two_factor().await;
    let mut browser = browser_of(&ada);
    let signed_in = sign_in_with_code(&mut browser, &mut ada).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    ada.device = browser.device.clone();
    assert!(ada.device.is_some());
    say("Ada turns on two-factor authentication and signs in on her phone with a code");
    let data_keys = d1("SELECT purpose, wrapped_by FROM data_keys ORDER BY purpose");
    assert_eq!(data_keys.len(), 3, "{data_keys:?}");
    assert!(data_keys.iter().all(|k| k["wrapped_by"] == key_a().root_id()), "{data_keys:?}");
    assert_ne!(kid_of_secret(&ada.id), key_a().root_id());
    say("D1 holds three data keys (TOTP, recovery codes, device cookies), each wrapped under key A; Ada's secret is under the TOTP data key");

    let (_, mut grace) = sign_up_with_two_factor().await;
    store_secret_as_before_data_keys(&grace);
    store_codes_as_before_data_keys(&grace);
    grace.device = Some(device_cookie_before_data_keys(&grace.id));
    let (_, linus) = sign_up_with_two_factor().await;
    store_secret_as_before_data_keys(&linus);
    assert_eq!(kid_of_secret(&grace.id), key_a().root_id());
    say("Grace's second factors and device cookie, and Linus's TOTP secret, are stored as before data keys: under key A itself");
    *story = Story { ada: Some(ada), grace: Some(grace), linus: Some(linus) };
}

/// `SECRET_KEY=B`, `SECRET_KEY_PREVIOUS=A`.
async fn stage_b(story: &mut Story) {
    println!("stage B: SECRET_KEY=B, SECRET_KEY_PREVIOUS=A");
    let mut ada = story.ada.clone().unwrap();
    let mut grace = story.grace.clone().unwrap();
    let linus = story.linus.clone().unwrap();
    everyones_session_still_works(&ada).await;

    let mut browser = browser_of(&ada);
    let signed_in = sign_in_with_code(&mut browser, &mut ada).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert!(signed_in.set_cookies().iter().all(|c| !c.starts_with("__Host-device=")), "{:?}", signed_in.set_cookies());
    say("Ada signs in on her phone with a code, and her phone is still a known device (no new device cookie)");
    let password = ada.password.clone();
    let confirmed = browser.confirm(json!({ "password": password, "code": next_code(&mut ada) })).await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.text);
    say("Ada confirms it's her with her password and a code");
    let used = sign_in_with_recovery_code(&mut ada).await;
    assert_eq!(used.status, 200, "{}", used.text);
    say("Ada signs in on another computer with a recovery code");

    let wrapped_by: Vec<Value> =
        d1("SELECT DISTINCT wrapped_by FROM data_keys").into_iter().map(|r| r["wrapped_by"].clone()).collect();
    assert!(wrapped_by.iter().all(|w| w != key_a().root_id()), "{wrapped_by:?}");
    say("the worker re-wrapped the data keys under key B at their first use");

    let mut browser = browser_of(&grace);
    let signed_in = sign_in_with_code(&mut browser, &mut grace).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    let old_device = grace.device.clone().unwrap();
    let new_device = browser.device.clone().unwrap();
    assert_ne!(new_device, old_device, "the device cookie is signed again");
    assert_eq!(new_device.split('.').nth(1), old_device.split('.').nth(1), "same device");
    grace.device = Some(new_device);
    say("Grace signs in with her code from before data keys; her browser's old device cookie is still known, and re-signed for the same device");
    std::thread::sleep(Duration::from_millis(500));
    assert_ne!(kid_of_secret(&grace.id), key_a().root_id());
    say("Grace's secret was re-encrypted under the TOTP data key at that use");
    let used = sign_in_with_recovery_code(&mut grace).await;
    assert_eq!(used.status, 200, "{}", used.text);
    say("Grace signs in with one of her recovery codes from before data keys");

    let report = run_scheduled().await;
    assert_eq!(report["previous_key_ids"], json!([key_a().root_id()]), "{report}");
    assert_eq!(report["still_on_previous"]["unused_recovery_codes"], 9, "{report}");
    assert_eq!(report["previous_key_needed"], true, "{report}");
    assert_ne!(kid_of_secret(&linus.id), key_a().root_id());
    assert!(key_ids_still_in_use().contains(&key_a().root_id().to_string()));
    say("the scheduled run re-encrypts Linus's secret (he never signed in) and says key A is still needed: Grace's 9 unused old recovery codes");

    let overview = browser.security().await;
    assert_eq!(overview.body["two_factor"]["recovery_codes_need_regenerating"], true, "{}", overview.text);
    say("the Security page asks Grace to regenerate her recovery codes made with key A");
    // Her phone signed in minutes ago: the session may regenerate the codes.
    let regenerated = browser.regenerate_recovery_codes().await;
    assert_eq!(regenerated.status, 200, "{}", regenerated.text);
    grace.recovery_codes = strings(&regenerated.body["recovery_codes"]);
    let overview = browser.security().await;
    assert_eq!(overview.body["two_factor"]["recovery_codes_need_regenerating"], false, "{}", overview.text);
    grace.session = browser.session.clone();
    let report = run_scheduled().await;
    assert_eq!(report["previous_key_needed"], false, "{report}");
    assert!(report["advice"].as_str().unwrap().contains("can be removed"), "{report}");
    assert!(!key_ids_still_in_use().contains(&key_a().root_id().to_string()), "{:?}", key_ids_still_in_use());
    say("once Grace regenerates her recovery codes, the scheduled run's log line and the README query say nothing depends on key A");
    story.ada = Some(ada);
    story.grace = Some(grace);
}

/// `SECRET_KEY=B` alone.
async fn stage_c(story: &mut Story) {
    println!("stage C: SECRET_KEY=B alone");
    let mut ada = story.ada.clone().unwrap();
    let mut grace = story.grace.clone().unwrap();
    let mut linus = story.linus.clone().unwrap();
    everyones_session_still_works(&ada).await;
    let mut grace_app = TestApp::new();
    grace_app.session = grace.session.clone();
    assert_eq!(grace_app.me().await.status, 200);

    for person in [&mut ada, &mut grace] {
        let mut browser = browser_of(person);
        let signed_in = sign_in_with_code(&mut browser, person).await;
        assert_eq!(signed_in.status, 200, "{}", signed_in.text);
        assert!(
            signed_in.set_cookies().iter().all(|c| !c.starts_with("__Host-device=")),
            "{:?}",
            signed_in.set_cookies()
        );
        let used = sign_in_with_recovery_code(person).await;
        assert_eq!(used.status, 200, "{}", used.text);
    }
    say("Ada and Grace sign in with a code (their browsers still known devices) and with a recovery code");
    let mut browser = browser_of(&linus);
    let signed_in = sign_in_with_code(&mut browser, &mut linus).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    say("Linus, whose secret the scheduled run re-encrypted, signs in with a code");

    // Barbara's secret is under a key this worker never had (as if an operator removed a key
    // that was still needed).
    let (_, mut barbara) = sign_up_with_two_factor().await;
    let lost = Keyring::new("c2VjcmV0LWtleS10aGF0LXdhcy1sb3N0LWZvci1nb29kIQ==", None).unwrap();
    let stored = lost.encrypt(&base32::decode(&barbara.secret).unwrap(), &barbara.id).unwrap();
    d1(&format!("UPDATE users SET totp_secret = '{stored}' WHERE id = '{}'", barbara.id));
    let mut browser = TestApp::new();
    let refused = sign_in_with_code(&mut browser, &mut barbara).await;
    refused.assert_error(409, "second_factor_unavailable");
    assert!(refused.body["error"]["message"].as_str().unwrap().contains("recovery code"), "{}", refused.text);
    let with_code = browser.login_two_factor(json!({ "recovery_code": barbara.recovery_codes[0] })).await;
    assert_eq!(with_code.status, 200, "{}", with_code.text);
    std::thread::sleep(Duration::from_millis(500));
    let events =
        d1(&format!("SELECT detail FROM security_events WHERE user_id = '{}' AND type = 'sign_in_failed'", barbara.id));
    assert!(events.iter().any(|e| e["detail"].as_str().unwrap_or("").contains("key_unavailable")), "{events:?}");
    let log = std::fs::read_to_string(env("WEMASY_WORKER_LOG")).unwrap();
    assert!(log.contains(&format!("\"missing_key_id\":\"{}\"", lost.root_id())), "the log names the missing key id");
    say("a secret under a lost key answers 409 second_factor_unavailable (use a recovery code), records an event, logs the key id; the pending sign-in still takes a recovery code");

    // README "Rotating a data key": retire the TOTP data key.
    let retired = kid_of_secret(&ada.id);
    d1("UPDATE data_keys SET retired_at = unixepoch() WHERE purpose = 'totp' AND retired_at IS NULL");
    run_scheduled().await;
    let fresh = kid_of_secret(&ada.id);
    assert_ne!(fresh, retired);
    let active = d1("SELECT kid FROM data_keys WHERE purpose = 'totp' AND retired_at IS NULL");
    assert_eq!(active[0]["kid"], json!(fresh), "{active:?}");
    let mut browser = browser_of(&ada);
    let signed_in = sign_in_with_code(&mut browser, &mut ada).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    say("after the TOTP data key is retired, the scheduled run makes a new one and re-encrypts Ada's secret under it; she signs in with a code");
    story.ada = Some(ada);
}

async fn everyones_session_still_works(ada: &Person) {
    let mut app = TestApp::new();
    app.session = ada.session.clone();
    let me = app.me().await;
    assert_eq!(me.status, 200, "{}", me.text);
    let security = app.security().await;
    assert_eq!(security.status, 200, "{}", security.text);
    assert_eq!(security.body["two_factor"]["enabled"], true);
    say("Ada's session from stage A is still signed in");
}

//! A worker started with a wrong `SECRET_KEY` (issue 21, point 7), as the operator who typed the
//! wrong key and the person signing in meet it. A shared worker cannot change its key mid-run,
//! so `scripts/run-tests.sh` runs `attacks::a_wrong_secret_key_refuses_to_write_and_says_so`
//! (ignored otherwise) in a phase of its own, three times over one local D1/KV state:
//!
//! - `WRONG_KEY_STAGE=a`: the worker runs with key A; Ada turns two-factor on and starts a sign-in
//!   that waits for its code, Bob signs up;
//! - `WRONG_KEY_STAGE=wrong`: with key C, which wraps none of the data keys;
//! - `WRONG_KEY_STAGE=again`: with key A again.
//!
//! What they hold is kept between stages in `WRONG_KEY_STATE` (a JSON file).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use wemasy_security::domain::secrets::Keyring;

use crate::helpers::{d1, now, plant_session, TestApp, TestResponse, TestUser};
use crate::two_factor::{oathtool, pending_sign_in, steady_step, user_with_two_factor};

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Person {
    id: String,
    email: String,
    password: String,
    session: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Story {
    ada: Person,
    ada_secret: String,
    ada_recovery_codes: Vec<String>,
    /// The step of the last code the worker accepted from Ada.
    ada_step: u64,
    /// Ada's sign-in on another device, waiting for its second factor.
    ada_pending: String,
    bob: Person,
    /// D1 as stage `a` left it: what a wrong key must not change.
    before: Vec<Vec<Value>>,
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name}: run this test through scripts/run-tests.sh"))
}

fn say(sentence: &str) {
    println!("  ✓ {sentence}");
}

/// Runs the stage `WRONG_KEY_STAGE` names.
pub async fn stage() {
    let path = env("WRONG_KEY_STATE");
    match env("WRONG_KEY_STAGE").as_str() {
        "a" => {
            let story = with_key_a().await;
            std::fs::write(&path, serde_json::to_string_pretty(&story).unwrap()).unwrap();
        }
        stage => {
            let story: Story = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            match stage {
                "wrong" => with_a_wrong_key(&story).await,
                "again" => with_key_a_again(&story).await,
                other => panic!("unknown WRONG_KEY_STAGE {other}"),
            }
        }
    }
}

/// Everything a wrong key must leave as it is: the people's failure runs, secrets, recovery
/// codes and events (not the mail pipeline's `alert_*`, which land whenever the queue runs), the
/// data keys, and the number of accounts.
fn snapshot(ids: &[&str]) -> Vec<Vec<Value>> {
    let ids = ids.iter().map(|id| format!("'{id}'")).collect::<Vec<_>>().join(", ");
    [
        format!("SELECT id, failed_attempts, locked_until, totp_secret, totp_pending_secret FROM users WHERE id IN ({ids}) ORDER BY id"),
        format!("SELECT scope, failed_attempts, locked_until FROM attempt_budgets WHERE user_id IN ({ids}) AND (failed_attempts > 0 OR locked_until > 0) ORDER BY scope"),
        format!("SELECT user_id, code_hash, used_at FROM recovery_codes WHERE user_id IN ({ids}) ORDER BY code_hash"),
        format!("SELECT user_id, type, detail FROM security_events WHERE user_id IN ({ids}) AND type NOT LIKE 'alert_%' ORDER BY id"),
        "SELECT kid, purpose, wrapped, wrapped_by, retired_at FROM data_keys ORDER BY kid".to_string(),
        "SELECT count(*) AS accounts FROM users".to_string(),
    ]
    .iter()
    .map(|sql| d1(sql))
    .collect()
}

fn person(app: &TestApp, user: &TestUser, id: &str) -> Person {
    let session = app.session.clone().expect("signed in");
    Person { id: id.into(), email: user.email.clone(), password: user.password.clone(), session }
}

/// Key A: Ada turns two-factor on and starts a sign-in on another device; Bob signs up.
async fn with_key_a() -> Story {
    let mut ada_app = TestApp::new();
    let tf = user_with_two_factor(&mut ada_app).await;
    let pending = pending_sign_in(&tf.user).await.pending.expect("a pending sign-in");
    let mut bob_app = TestApp::new();
    let bob_user = bob_app.signed_up_user().await;
    let bob_id = TestApp::user_id_of(&bob_app.me().await);
    let bob = person(&bob_app, &bob_user, &bob_id);
    let keys = d1("SELECT purpose FROM data_keys WHERE retired_at IS NULL");
    assert_eq!(keys.len(), 3, "{keys:?}");
    say("with key A: Ada has two-factor on and a sign-in waiting for its code; Bob has an account; D1 holds three data keys");
    Story {
        ada: person(&ada_app, &tf.user, &tf.id),
        ada_secret: tf.secret,
        ada_recovery_codes: tf.recovery_codes,
        ada_step: tf.step,
        ada_pending: pending,
        before: snapshot(&[&tf.id, &bob.id]),
        bob,
    }
}

/// A session of `person` as a browser holds it.
fn browser(person: &Person) -> TestApp {
    let mut app = TestApp::new();
    app.session = Some(person.session.clone());
    app
}

/// A new session of `person` inside its sudo window, planted in KV (no key is needed for that).
fn sudo_browser(person: &Person) -> TestApp {
    let now = now();
    let mut app = TestApp::new();
    app.session = Some(plant_session(&person.id, now, now, now + 3600, now + 600));
    app
}

/// A code of Ada's authenticator app the worker would accept now: a step after `last`.
fn code_after(secret: &str, last: u64) -> (String, u64) {
    loop {
        let step = steady_step();
        if step > last {
            return (oathtool(secret, step), step);
        }
        std::thread::sleep(Duration::from_secs(5));
    }
}

#[track_caller]
fn assert_mismatch(what: &str, response: &TestResponse) {
    assert_eq!(response.status, 503, "{what}: {}", response.text);
    response.assert_error(503, "secret_key_mismatch");
    let message = response.body["error"]["message"].as_str().unwrap();
    assert!(!message.contains("SECRET_KEY") && !message.contains("key id"), "{what}: for a person: {message}");
    assert!(
        response.set_cookies().iter().all(|c| !c.starts_with("__Host-session=") && !c.starts_with("__Host-device=")),
        "{what}: {:?}",
        response.set_cookies()
    );
}

/// Key C: every request that needs a data key answers 503 `secret_key_mismatch` and changes
/// nothing; the rest keeps working.
async fn with_a_wrong_key(story: &Story) {
    let (ada, bob) = (&story.ada, &story.bob);
    assert_eq!(snapshot(&[&ada.id, &bob.id]), story.before, "the worker started with key C changed D1 by itself");
    refuses_every_request_that_needs_a_key(story).await;
    std::thread::sleep(Duration::from_millis(500));
    let after = snapshot(&[&ada.id, &bob.id]);
    assert_eq!(after, story.before, "no attempt counted, no event, no secret, code or data key written");
    say("nothing was written: no attempt counted, no sign_in_failed, no TOTP secret, recovery code, account or data key");
    let mut ada_app = browser(ada);
    for (what, response) in [
        ("GET /api/me", ada_app.me().await),
        ("GET /api/security", ada_app.security().await),
        ("GET /api/security/sessions", ada_app.sessions().await),
        ("GET /api/security/events", ada_app.events(None).await),
    ] {
        assert_eq!(response.status, 200, "{what}: {}", response.text);
    }
    assert_eq!(browser(bob).logout().await.status, 204);
    say("Ada's session still reads her account, sessions and activity; Bob signs out");
    the_log_says_so_once(story);
}

async fn refuses_every_request_that_needs_a_key(story: &Story) {
    let ada = &story.ada;
    let (code, _) = code_after(&story.ada_secret, story.ada_step);
    let mut pending = TestApp::new();
    pending.pending = Some(story.ada_pending.clone());
    assert_mismatch("TOTP second step", &pending.login_two_factor(json!({ "code": code })).await);
    let recovery = json!({ "recovery_code": story.ada_recovery_codes[0] });
    assert_mismatch("recovery-code second step", &pending.login_two_factor(recovery).await);
    assert!(pending.pending.is_some(), "the pending sign-in stays");
    say("Ada's second step, with a right code or a recovery code, answers 503 secret_key_mismatch");
    assert_mismatch("password sign-in", &TestApp::new().login(&ada.email, &ada.password).await);
    let mut sudo = sudo_browser(ada);
    assert_mismatch("confirm", &sudo.confirm(json!({ "password": ada.password, "code": code })).await);
    assert_mismatch("recovery codes", &sudo.regenerate_recovery_codes().await);
    let disable = json!({ "password": ada.password, "code": code });
    assert_mismatch("two-factor disable", &sudo.two_factor_disable(disable).await);
    assert_mismatch("two-factor set-up", &sudo_browser(&story.bob).two_factor_setup().await);
    assert_mismatch("sign-up", &TestApp::new().signup(&TestUser::generate()).await);
    say("sign-in, sign-up, confirm, two-factor set-up and off, new recovery codes: 503 secret_key_mismatch");
}

/// One `secret_key_mismatch` line in the worker's log: key ids, never a key.
fn the_log_says_so_once(story: &Story) {
    let log = std::fs::read_to_string(env("WEMASY_WORKER_LOG")).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("\"msg\":\"secret_key_mismatch\"")).collect();
    assert_eq!(lines.len(), 1, "logged once per isolate: {lines:?}");
    let wrong_id = Keyring::new(&env("WRONG_KEY_C"), None).unwrap().root_id().to_string();
    let wrapped_by = story.before[4][0]["wrapped_by"].as_str().unwrap();
    assert!(lines[0].contains(&wrong_id) && lines[0].contains(wrapped_by), "{}", lines[0]);
    for key in [env("WRONG_KEY_A"), env("WRONG_KEY_C")] {
        assert!(!log.contains(key.trim()), "the log holds a key");
    }
    say("the worker logged it once, with the key ids (SECRET_KEY's and the one the data keys are wrapped by)");
}

/// Key A again: everything works, under the same data keys.
async fn with_key_a_again(story: &Story) {
    let ada = &story.ada;
    assert_eq!(browser(ada).me().await.status, 200);
    let mut phone =
        pending_sign_in(&TestUser { email: ada.email.clone(), password: ada.password.clone(), name: String::new() })
            .await;
    let (code, _) = code_after(&story.ada_secret, story.ada_step);
    let signed_in = phone.login_two_factor(json!({ "code": code })).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);
    assert_eq!(phone.regenerate_recovery_codes().await.status, 200);
    let mut bob = TestApp::new();
    assert_eq!(bob.login(&story.bob.email, &story.bob.password).await.status, 200);
    let setup = bob.two_factor_setup().await;
    assert_eq!(setup.status, 200, "{}", setup.text);
    assert_eq!(TestApp::new().signup(&TestUser::generate()).await.status, 201);
    say("with key A again: Ada signs in with a code and regenerates her recovery codes, Bob sets up two-factor, a new account signs up");
    assert_eq!(d1("SELECT kid, purpose, wrapped, wrapped_by, retired_at FROM data_keys ORDER BY kid"), story.before[4]);
    say("under the same three data keys as before");
}

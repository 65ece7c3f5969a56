use serde_json::json;

use crate::helpers::{d1, session_id_of, TestApp, SAFARI_IPHONE};

#[tokio::test]
async fn events_are_newest_first_only_the_callers_and_limited() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut stranger = TestApp::new();
    stranger.signed_up_user().await;
    TestApp::new().login(&user.email, "Wrong-password-123!").await;
    TestApp::new().login(&user.email, &user.password).await;

    let all = app.events(None).await;
    let one = app.events(Some(1)).await;

    let types: Vec<&str> = all.body["events"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["sign_in", "sign_in_failed", "account_created"], "{}", all.text);
    assert_eq!(one.body["events"].as_array().unwrap().len(), 1);
    let first = &all.body["events"][0];
    for field in ["type", "at", "ip", "city", "country", "device", "detail"] {
        assert!(first.get(field).is_some(), "{field} missing: {first}");
    }
    assert_eq!(first["device"], "Chrome on Windows");
    for bad in ["0", "101", "abc", "-5"] {
        app.request(reqwest::Method::GET, &format!("/api/security/events?limit={bad}"), None)
            .await
            .assert_error(400, "invalid_input");
    }
    TestApp::new().events(None).await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn every_event_type_so_far_appears_after_its_action_and_none_holds_a_secret() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let user_id = TestApp::user_id_of(&app.me().await);
    let token_at_start = app.session.clone().unwrap();
    let mut phone = TestApp::with_user_agent(SAFARI_IPHONE);
    phone.login(&user.email, &user.password).await;
    app.end_session(&session_id_of(phone.session.as_ref().unwrap())).await;
    let mut laptop = TestApp::new();
    laptop.login(&user.email, &user.password).await;
    app.revoke_others().await;
    let new_password = "Another-Lantern-9!";
    app.change_password(json!({ "current_password": user.password, "new_password": new_password })).await;
    for _ in 0..5 {
        TestApp::new().login(&user.email, "Wrong-password-123!").await;
    }
    app.logout().await;

    let rows = d1(&format!("SELECT * FROM security_events WHERE user_id = '{user_id}'"));

    let types: Vec<&str> = rows.iter().map(|r| r["type"].as_str().unwrap()).collect();
    for expected in [
        "account_created",
        "sign_in",
        "sign_in_failed",
        "sign_out",
        "password_changed",
        "session_revoked",
        "other_sessions_revoked",
        "locked_out",
    ] {
        assert!(types.contains(&expected), "{expected} missing in {types:?}");
    }
    let dump = serde_json::to_string(&rows).unwrap();
    for secret in [
        user.password.as_str(),
        new_password,
        token_at_start.as_str(),
        phone.session.as_deref().unwrap_or("-"),
        "Wrong-password-123!",
    ] {
        assert!(!dump.contains(secret), "an event holds a secret");
    }
}

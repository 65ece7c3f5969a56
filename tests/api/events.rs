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

    let types: Vec<&str> = all.account_events().iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types, ["sign_in", "sign_in_failed", "account_created"], "{}", all.text);
    assert_eq!(one.body["events"].as_array().unwrap().len(), 1);
    let first = all.account_events()[0];
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

fn bookmark_cookie(response: &crate::helpers::TestResponse) -> Option<String> {
    response
        .headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with("__Host-d1-bookmark="))
        .map(str::to_string)
}

/// Activity is read near the user (a D1 read replica on Cloudflare): a browser's own writes must
/// show there at once, so every write hands it D1's bookmark, and its reads wait for that point.
#[tokio::test]
async fn a_write_hands_the_browser_the_d1_bookmark_its_reads_near_it_wait_for() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let after_sign_up = app.bookmark.clone().expect("signing up wrote: a bookmark cookie");
    assert!(after_sign_up.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-'), "{after_sign_up}");

    let changed =
        app.change_password(json!({ "current_password": user.password, "new_password": "Bookmark-Secret-88!" })).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let cookie = bookmark_cookie(&changed).expect("a write sends the bookmark");
    for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/", "Max-Age="] {
        assert!(cookie.contains(part), "{cookie}");
    }
    let after_change = app.bookmark.clone().unwrap();
    assert!(after_change > after_sign_up, "{after_change} after {after_sign_up}");

    let events = app.events(None).await;
    assert_eq!(events.newest_account_event(), "password_changed", "{}", events.text);
    assert_eq!(bookmark_cookie(&events), None, "nothing newer than the browser's bookmark was read");
    assert_eq!(bookmark_cookie(&app.me().await), None, "a read at the primary alone sends none");
}

#[tokio::test]
async fn a_garbled_or_forged_bookmark_cookie_changes_no_answer() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let far_future = "7fffffff-7fffffff-7fffffff-ffffffffffffffffffffffffffffffff".to_string();
    for value in ["not a bookmark!", "-", "zz-00", &"0".repeat(300), "%00%0a", &far_future] {
        app.bookmark = Some(value.to_string());
        let events = app.events(None).await;
        assert_eq!(events.status, 200, "{value}: {}", events.text);
        assert_eq!(events.newest_account_event(), "account_created", "{value}: {}", events.text);
        app.bookmark = Some(value.to_string());
        assert_eq!(app.passkeys().await.status, 200, "{value}");
        app.bookmark = Some(value.to_string());
        let me = app.me().await;
        assert_eq!(me.status, 200, "{value}");
    }
}

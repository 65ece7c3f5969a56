use serde_json::json;

use crate::helpers::{d1, kv_keys, kv_put, session_id_of, TestApp};

#[tokio::test]
async fn signing_in_with_the_right_password_works() {
    let user = TestApp::new().signed_up_user().await;
    let mut app = TestApp::new();

    let response = app.login(&user.email, &user.password).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["user"]["email"], user.email);
    assert_eq!(app.me().await.status, 200);
}

#[tokio::test]
async fn every_sign_in_gets_a_new_token() {
    let user = TestApp::new().signed_up_user().await;
    let mut first = TestApp::new();
    let mut second = TestApp::new();

    first.login(&user.email, &user.password).await;
    second.login(&user.email, &user.password).await;

    assert_ne!(first.session, second.session);
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let user = TestApp::new().signed_up_user().await;

    let wrong = TestApp::new().login(&user.email, "Wrong-password-123!").await;
    let unknown = TestApp::new().login(&format!("nobody.{}", user.email), &user.password).await;

    wrong.assert_error(401, "invalid_credentials");
    assert_eq!((wrong.status, &wrong.body), (unknown.status, &unknown.body));
}

#[tokio::test]
async fn five_wrong_passwords_in_a_row_lock_the_account_even_for_the_right_password() {
    let user = TestApp::new().signed_up_user().await;
    let mut app = TestApp::new();
    for _ in 0..4 {
        app.login(&user.email, "Wrong-password-123!").await.assert_error(401, "invalid_credentials");
    }

    let fifth = app.login(&user.email, "Wrong-password-123!").await;
    let right = app.login(&user.email, &user.password).await;

    fifth.assert_error(429, "rate_limited");
    right.assert_error(429, "rate_limited");
    let retry_after: u64 = right.header("retry-after").expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert!(app.session.is_none());
}

#[tokio::test]
async fn a_successful_sign_in_resets_the_failure_count() {
    let user = TestApp::new().signed_up_user().await;
    let mut app = TestApp::new();
    for _ in 0..4 {
        app.login(&user.email, "Wrong-password-123!").await;
    }
    assert_eq!(app.login(&user.email, &user.password).await.status, 200);

    for _ in 0..4 {
        app.login(&user.email, "Wrong-password-123!").await.assert_error(401, "invalid_credentials");
    }
    assert_eq!(app.login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn signing_out_clears_the_cookie_and_the_old_cookie_stops_working() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let old_token = app.session.clone().unwrap();

    let response = app.logout().await;

    assert_eq!(response.status, 204);
    assert!(response.set_cookies().iter().any(|c| c.starts_with("__Host-session=;") && c.contains("Max-Age=0")));
    let mut replay = TestApp::new();
    replay.session = Some(old_token);
    replay.me().await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn sign_in_and_sign_out_are_recorded_as_security_events() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let id = TestApp::user_id_of(&app.me().await);
    TestApp::new().login(&user.email, "Wrong-password-123!").await;
    app.login(&user.email, &user.password).await;
    app.logout().await;

    // The mail pipeline's own records (`alert_sent`: the verification mail) are not the sign-in's.
    let sql =
        format!("SELECT type FROM security_events WHERE user_id = '{id}' AND type NOT LIKE 'alert_%' ORDER BY id");
    let types: Vec<String> = d1(&sql).iter().map(|r| r["type"].as_str().unwrap().to_string()).collect();

    assert_eq!(types, ["account_created", "sign_in_failed", "sign_in", "sign_out"]);
}

#[tokio::test]
async fn the_raw_token_is_stored_nowhere() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let token = app.session.clone().unwrap();
    let id = session_id_of(&token);

    let keys = kv_keys("");
    let names: Vec<&str> = keys.iter().map(|k| k["name"].as_str().unwrap()).collect();
    let dump = serde_json::to_string(&keys).unwrap();
    let revoked = d1("SELECT * FROM revoked_sessions");
    let events = d1("SELECT * FROM security_events");

    assert!(names.contains(&wemasy_security::kv_keys::session(&id).as_str()));
    for haystack in [dump, serde_json::to_string(&revoked).unwrap(), serde_json::to_string(&events).unwrap()] {
        assert!(!haystack.contains(&token));
    }
}

#[tokio::test]
async fn a_session_revoked_in_d1_is_refused_even_while_kv_still_has_it() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let id = session_id_of(app.session.as_ref().unwrap());
    let user_id = TestApp::user_id_of(&app.me().await);

    d1(&format!(
        "INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES ('{id}', '{user_id}', 4102444800)"
    ));

    app.me().await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn a_stale_kv_copy_of_a_signed_out_session_is_refused() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let token = app.session.clone().unwrap();
    let id = session_id_of(&token);
    let record = crate::helpers::kv_get(&wemasy_security::kv_keys::session(&id)).expect("session record");

    app.logout().await;
    kv_put(&wemasy_security::kv_keys::session(&id), &record, None);
    let mut stale = TestApp::new();
    stale.session = Some(token);

    stale.me().await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn sign_in_bodies_of_the_wrong_shape_are_refused() {
    let mut app = TestApp::new();
    for body in [json!({}), json!({ "email": "a@b.co" }), json!({ "email": 1, "password": "x" }), json!([]), json!("x")]
    {
        app.request(reqwest::Method::POST, "/api/auth/login", Some(body)).await.assert_error(400, "invalid_input");
    }
}

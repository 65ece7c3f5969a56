use serde_json::json;

use crate::helpers::{d1, TestApp, TestUser};

const NEW_PASSWORD: &str = "Fresh-Lantern-42!x";

#[tokio::test]
async fn changing_password_works() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;

    let response =
        app.change_password(json!({ "current_password": user.password, "new_password": NEW_PASSWORD })).await;

    assert_eq!(response.status, 200, "{}", response.text);
    TestApp::new().login(&user.email, &user.password).await.assert_error(401, "invalid_credentials");
    assert_eq!(TestApp::new().login(&user.email, NEW_PASSWORD).await.status, 200);
    let overview = app.security().await;
    assert!(overview.body["password"]["changed_at"].as_u64().unwrap() > 0);
}

#[tokio::test]
async fn current_password_must_be_valid() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;

    let response =
        app.change_password(json!({ "current_password": "Not-my-password-1!", "new_password": NEW_PASSWORD })).await;

    response.assert_error(403, "wrong_password");
    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn new_password_must_follow_the_rules() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let local = user.email.split('@').next().unwrap().to_string();
    let first_name = user.name.split_whitespace().last().unwrap().to_string();
    let cases = [
        ("Sh0rt-pass!".to_string(), "too_short"),
        (format!("Zq8#{}", "x".repeat(253)), "too_long"),
        ("1234-5678-9012-3456".to_string(), "missing_letter"),
        ("no-digits-here-at-all!".to_string(), "missing_number"),
        ("NoSymbolsHere12345".to_string(), "missing_symbol"),
        ("p030710p$e4o".to_string(), "common"),
        // Trivial variants of listed passwords (case, substitutions, digits and symbols around).
        ("Password123!".to_string(), "common"),
        ("P@ssw0rd!2345".to_string(), "common"),
        ("!!Sunshine2024".to_string(), "common"),
        (format!("{local}#Z9"), "contains_email"),
        (format!("{first_name}-Q7!x-{first_name}"), "contains_name"),
    ];
    for (new_password, code) in cases {
        let response =
            app.change_password(json!({ "current_password": user.password, "new_password": new_password })).await;
        response.assert_error(400, "invalid_input");
        let problems: Vec<&str> = response.body["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert!(problems.contains(&code), "{new_password}: {problems:?}");
    }
    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn new_password_must_differ_from_the_current_one() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;

    let response =
        app.change_password(json!({ "current_password": user.password, "new_password": user.password })).await;

    response.assert_error(400, "invalid_input");
}

#[tokio::test]
async fn changing_password_signs_out_other_sessions() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut second = TestApp::new();
    let mut third = TestApp::with_user_agent(crate::helpers::SAFARI_IPHONE);
    second.login(&user.email, &user.password).await;
    third.login(&user.email, &user.password).await;

    let response =
        app.change_password(json!({ "current_password": user.password, "new_password": NEW_PASSWORD })).await;

    assert_eq!(response.body["signed_out_sessions"], 2, "{}", response.text);
    second.me().await.assert_error(401, "unauthenticated");
    third.security().await.assert_error(401, "unauthenticated");
    assert_eq!(app.me().await.status, 200);
    let sessions = app.sessions().await;
    assert_eq!(sessions.body["sessions"].as_array().unwrap().len(), 1, "{}", sessions.text);
    assert_eq!(sessions.body["sessions"][0]["current"], true);
}

#[tokio::test]
async fn sign_out_other_sessions_false_keeps_the_other_sessions() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut second = TestApp::new();
    second.login(&user.email, &user.password).await;

    let response = app
        .change_password(json!({ "current_password": user.password, "new_password": NEW_PASSWORD, "sign_out_other_sessions": false }))
        .await;

    assert_eq!(response.body["signed_out_sessions"], 0);
    assert_eq!(second.me().await.status, 200);
    assert_eq!(app.me().await.status, 200);
}

#[tokio::test]
async fn changing_the_password_is_recorded_without_the_password() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let id = TestApp::user_id_of(&app.me().await);

    app.change_password(json!({ "current_password": user.password, "new_password": NEW_PASSWORD })).await;

    let rows =
        d1(&format!("SELECT type, detail FROM security_events WHERE user_id = '{id}' AND type = 'password_changed'"));
    assert_eq!(rows.len(), 1);
    let dump = serde_json::to_string(&d1(&format!("SELECT * FROM security_events WHERE user_id = '{id}'"))).unwrap();
    assert!(!dump.contains(NEW_PASSWORD) && !dump.contains(&user.password));
}

#[tokio::test]
async fn changing_password_needs_a_session_and_the_same_origin() {
    let mut anonymous = TestApp::new();
    anonymous
        .change_password(json!({ "current_password": "x", "new_password": NEW_PASSWORD }))
        .await
        .assert_error(401, "unauthenticated");

    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let body = json!({ "current_password": user.password, "new_password": NEW_PASSWORD }).to_string();
    let req = app
        .raw(reqwest::Method::PUT, "/api/security/password")
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/json")
        .body(body);
    app.send(req).await.assert_error(403, "csrf_rejected");
    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn bad_password_change_bodies_are_refused_and_change_nothing() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let bodies = [
        json!({}),
        json!({ "current_password": user.password }),
        json!({ "current_password": user.password, "new_password": 42 }),
        json!({ "current_password": user.password, "new_password": NEW_PASSWORD, "sign_out_other_sessions": "yes" }),
        json!([user.password, NEW_PASSWORD]),
    ];
    for body in bodies {
        let response = app.change_password(body).await;
        assert!((400..500).contains(&response.status), "{}", response.text);
    }
    let base = app.base.clone();
    let req = app
        .raw(reqwest::Method::PUT, "/api/security/password")
        .header("Origin", base)
        .header("Content-Type", "application/json")
        .body("{not json");
    app.send(req).await.assert_error(400, "invalid_json");

    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn two_concurrent_password_changes_leave_exactly_one_new_password_working() {
    let mut first = TestApp::new();
    let user = first.signed_up_user().await;
    let mut second = TestApp::new();
    second.login(&user.email, &user.password).await;
    let (a, b) = ("Concurrent-One-11!", "Concurrent-Two-22!");

    let body =
        |p: &str| json!({ "current_password": user.password, "new_password": p, "sign_out_other_sessions": false });
    let (ra, rb) = tokio::join!(first.change_password(body(a)), second.change_password(body(b)));

    let works = |p: &'static str| {
        let email = user.email.clone();
        async move { TestApp::new().login(&email, p).await.status == 200 }
    };
    let (a_works, b_works, old_works) =
        (works(a).await, works(b).await, TestApp::new().login(&user.email, &user.password).await.status == 200);
    assert!(a_works ^ b_works, "exactly one new password must work: {} / {}", ra.text, rb.text);
    assert!(!old_works);
    assert_eq!([ra.status, rb.status].iter().filter(|s| **s == 200).count(), 1);
}

#[tokio::test]
async fn a_hash_with_weaker_parameters_is_upgraded_at_the_next_sign_in() {
    let user = TestUser { password: "Legacy-Hash-Pass-1!".into(), ..TestUser::generate() };
    let id = crate::helpers::random_hex(16);
    let weak = weak_hash(&user.password);
    d1(&format!(
        "INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at) VALUES ('{id}', '{}', 'Legacy User', '{weak}', 1, 1)",
        user.email
    ));

    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);

    let stored = d1(&format!("SELECT password_hash FROM users WHERE id = '{id}'"))[0]["password_hash"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(stored.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{stored}");
    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);
}

fn weak_hash(password: &str) -> String {
    wemasy_security::domain::password::hash(
        password,
        wemasy_security::domain::password::HashParams { memory_kib: 64, iterations: 1, parallelism: 1 },
    )
    .unwrap()
}

use serde_json::json;

use crate::helpers::{d1, TestApp, TestUser};

#[tokio::test]
async fn signing_up_creates_an_account_and_a_host_only_secure_session_cookie() {
    let mut app = TestApp::new();
    let user = TestUser::generate();

    let response = app.signup(&user).await;

    assert_eq!(response.status, 201, "{}", response.text);
    assert_eq!(response.body["user"]["email"], user.email);
    assert_eq!(response.body["user"]["name"], user.name);
    let cookie = response.set_cookies().into_iter().find(|c| c.starts_with("__Host-session=")).expect("session cookie");
    for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} missing in {cookie}");
    }
    assert!(!cookie.to_lowercase().contains("domain="), "{cookie}");
    assert_eq!(app.me().await.body["user"]["email"], user.email);
}

#[tokio::test]
async fn the_same_email_in_any_case_with_spaces_is_taken() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let shouted = TestUser { email: format!("  {}  ", user.email.to_uppercase()), ..TestUser::generate() };

    let response = TestApp::new().signup(&shouted).await;

    response.assert_error(409, "email_taken");
}

#[tokio::test]
async fn email_is_stored_trimmed_and_lower_cased() {
    let mut app = TestApp::new();
    let user = TestUser::generate();
    let messy = TestUser { email: format!(" {} ", user.email.to_uppercase()), ..user.clone() };

    let response = app.signup(&messy).await;

    assert_eq!(response.body["user"]["email"], user.email);
    assert_eq!(app.login(&user.email, &user.password).await.status, 200);
}

#[tokio::test]
async fn each_password_rule_produces_its_own_problem() {
    let cases = [
        ("Sh0rt-pass!", "too_short"),
        ("no-digits-here-at-all!", "missing_number"),
        ("1234-5678-9012-3456", "missing_letter"),
        ("NoSymbolsHere12345", "missing_symbol"),
        ("p030710p$e4o", "common"),
    ];
    for (password, code) in cases {
        let user = TestUser { password: password.into(), ..TestUser::generate() };
        let response = TestApp::new().signup(&user).await;
        response.assert_error(400, "invalid_input");
        let problems: Vec<&str> = response.body["error"]["problems"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["code"].as_str().unwrap())
            .collect();
        assert_eq!(problems, vec![code], "{password}");
    }
}

#[tokio::test]
async fn a_password_with_the_email_or_name_in_it_is_refused() {
    let base = TestUser::generate();
    let local = base.email.split('@').next().unwrap().to_string();
    let with_email = TestUser { password: format!("{local}#Z9"), ..base.clone() };
    let with_name =
        TestUser { name: "Marguerite Yourcenar".into(), password: "yourcenar-Q7!x".into(), ..TestUser::generate() };

    let email_problems = TestApp::new().signup(&with_email).await.body["error"]["problems"].clone();
    let name_problems = TestApp::new().signup(&with_name).await.body["error"]["problems"].clone();

    assert_eq!(
        email_problems,
        json!([{ "code": "contains_email", "message": "Do not use your e-mail address in your password." }])
    );
    assert_eq!(name_problems[0]["code"], "contains_name");
    assert_eq!(name_problems.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_twelve_character_mixed_uncommon_password_passes_and_257_characters_fail() {
    let twelve = TestUser { password: "Zq8#mK2$vL9!".into(), ..TestUser::generate() };
    assert_eq!(TestApp::new().signup(&twelve).await.status, 201);

    let long = TestUser { password: format!("Zq8#{}", "x".repeat(253)), ..TestUser::generate() };
    let response = TestApp::new().signup(&long).await;
    response.assert_error(400, "invalid_input");
    assert_eq!(response.body["error"]["problems"][0]["code"], "too_long");
}

#[tokio::test]
async fn a_non_ascii_password_round_trips() {
    let user = TestUser { password: "Пароль-日本語-ñ-🔐-42".into(), ..TestUser::generate() };
    assert_eq!(TestApp::new().signup(&user).await.status, 201);

    assert_eq!(TestApp::new().login(&user.email, &user.password).await.status, 200);
    // The same characters decomposed are the same password (NFC); another case is not.
    let decomposed = "Пароль-日本語-n\u{303}-🔐-42";
    assert_eq!(TestApp::new().login(&user.email, decomposed).await.status, 200);
    let other_case = "ПАРОЛЬ-日本語-ñ-🔐-42";
    TestApp::new().login(&user.email, other_case).await.assert_error(401, "invalid_credentials");
}

#[tokio::test]
async fn bad_sign_up_bodies_are_refused_and_write_nothing() {
    let user = TestUser::generate();
    let bodies = [
        json!({ "email": user.email, "password": user.password }),
        json!({ "email": user.email, "password": 123456789012_u64, "name": "x" }),
        json!({ "email": [user.email], "password": user.password, "name": "x" }),
        json!({ "email": "not-an-email", "password": user.password, "name": "x" }),
        json!({ "email": user.email, "password": user.password, "name": "   " }),
        json!({ "email": user.email, "password": user.password, "name": "Eve\u{0}" }),
    ];
    for body in bodies {
        let response = TestApp::new().request(reqwest::Method::POST, "/api/auth/signup", Some(body.clone())).await;
        response.assert_error(400, "invalid_input");
    }
    assert!(d1(&format!("SELECT id FROM users WHERE email = '{}'", user.email)).is_empty());
}

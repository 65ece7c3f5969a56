use reqwest::Method;
use serde_json::json;

use crate::helpers::{d1, TestApp, TestUser};

#[tokio::test]
async fn a_state_changing_request_from_another_origin_is_refused() {
    let mut app = TestApp::new();
    let user = TestUser::generate();
    let body = json!({ "email": user.email, "password": user.password, "name": user.name }).to_string();

    let foreign = app
        .raw(Method::POST, "/api/auth/signup")
        .header("Origin", "https://evil.example")
        .header("Content-Type", "application/json")
        .body(body.clone());
    let foreign = app.send(foreign).await;
    let unmarked =
        app.raw(Method::POST, "/api/auth/signup").header("Content-Type", "application/json").body(body.clone());
    let unmarked = app.send(unmarked).await;
    let cross_site = app
        .raw(Method::POST, "/api/auth/signup")
        .header("Sec-Fetch-Site", "cross-site")
        .header("Content-Type", "application/json")
        .body(body);
    let cross_site = app.send(cross_site).await;

    foreign.assert_error(403, "csrf_rejected");
    unmarked.assert_error(403, "csrf_rejected");
    cross_site.assert_error(403, "csrf_rejected");
    assert!(d1(&format!("SELECT id FROM users WHERE email = '{}'", user.email)).is_empty());
}

#[tokio::test]
async fn sec_fetch_site_same_origin_is_accepted_without_an_origin_header() {
    let mut app = TestApp::new();
    let user = TestUser::generate();
    let req = app
        .raw(Method::POST, "/api/auth/signup")
        .header("Sec-Fetch-Site", "same-origin")
        .header("Content-Type", "application/json")
        .body(json!({ "email": user.email, "password": user.password, "name": user.name }).to_string());

    assert_eq!(app.send(req).await.status, 201);
}

#[tokio::test]
async fn a_cross_origin_sign_out_does_not_end_the_session() {
    let mut app = TestApp::new();
    app.signed_up_user().await;

    let req = app.raw(Method::POST, "/api/auth/logout").header("Origin", "https://evil.example");
    app.send(req).await.assert_error(403, "csrf_rejected");

    assert_eq!(app.me().await.status, 200);
}

async fn post_raw(
    app: &mut TestApp,
    path: &str,
    content_type: &str,
    body: impl Into<reqwest::Body>,
) -> crate::helpers::TestResponse {
    let base = app.base.clone();
    let req = app.raw(Method::POST, path).header("Origin", base).header("Content-Type", content_type).body(body);
    app.send(req).await
}

#[tokio::test]
async fn malformed_json_wrong_types_and_missing_fields_are_clear_4xx_errors() {
    let mut app = TestApp::new();
    post_raw(&mut app, "/api/auth/signup", "application/json", "{\"email\": ").await.assert_error(400, "invalid_json");
    post_raw(&mut app, "/api/auth/signup", "application/json", "").await.assert_error(400, "invalid_json");
    post_raw(&mut app, "/api/auth/signup", "application/json", "{\"email\":\"\\ud800\"}")
        .await
        .assert_error(400, "invalid_json");
    post_raw(&mut app, "/api/auth/signup", "application/json", "{\"email\":true,\"password\":1,\"name\":null}")
        .await
        .assert_error(400, "invalid_input");
    post_raw(&mut app, "/api/auth/login", "application/json", "{\"email\":\"a@b.co\"}")
        .await
        .assert_error(400, "invalid_input");
    let nested =
        post_raw(&mut app, "/api/auth/login", "application/json", format!("{{\"email\":{}", "[".repeat(5000))).await;
    assert_eq!(nested.status, 400, "{}", nested.text);
}

#[tokio::test]
async fn a_body_over_16_kib_is_refused_with_413_and_nothing_is_written() {
    let mut app = TestApp::new();
    let user = TestUser::generate();
    let body = json!({ "email": user.email, "password": user.password, "name": "x".repeat(17 * 1024) }).to_string();

    post_raw(&mut app, "/api/auth/signup", "application/json", body).await.assert_error(413, "payload_too_large");
    post_raw(&mut app, "/api/auth/login", "application/json", vec![b' '; 1024 * 1024])
        .await
        .assert_error(413, "payload_too_large");

    assert!(d1(&format!("SELECT id FROM users WHERE email = '{}'", user.email)).is_empty());
}

#[tokio::test]
async fn a_body_that_is_not_json_is_refused_with_415() {
    let mut app = TestApp::new();
    let user = TestUser::generate();
    let form = format!("email={}&password=x&name=y", user.email);

    post_raw(&mut app, "/api/auth/signup", "application/x-www-form-urlencoded", form)
        .await
        .assert_error(415, "unsupported_media_type");
    post_raw(
        &mut app,
        "/api/auth/signup",
        "text/plain",
        json!({ "email": user.email, "password": user.password, "name": "n" }).to_string(),
    )
    .await
    .assert_error(415, "unsupported_media_type");

    assert!(d1(&format!("SELECT id FROM users WHERE email = '{}'", user.email)).is_empty());
}

#[tokio::test]
async fn api_answers_carry_the_security_headers_and_no_store() {
    let mut app = TestApp::new();
    app.signed_up_user().await;

    for response in [app.me().await, TestApp::new().me().await, app.request(Method::GET, "/api/nope", None).await] {
        assert_eq!(response.header("cache-control"), Some("no-store"));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(response.header("referrer-policy"), Some("no-referrer"));
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert!(response.header("strict-transport-security").is_some());
        let csp = response.header("content-security-policy").unwrap();
        assert!(
            csp.contains("frame-ancestors 'none'")
                && csp.contains("script-src 'self'")
                && !csp.contains("unsafe-inline")
        );
    }
}

#[tokio::test]
async fn pages_carry_the_security_headers() {
    let mut app = TestApp::new();
    for path in ["/login", "/account/security"] {
        let response = app.request(Method::GET, path, None).await;
        assert_eq!(response.status, 200, "{path}");
        assert!(response.header("content-type").unwrap().starts_with("text/html"));
        assert!(response.header("content-security-policy").unwrap().contains("script-src 'self'"), "{path}");
        assert_eq!(response.header("x-frame-options"), Some("DENY"));
        assert_eq!(response.header("x-content-type-options"), Some("nosniff"));
    }
}

#[tokio::test]
async fn unknown_routes_and_methods_are_json_errors() {
    let mut app = TestApp::new();
    app.request(Method::GET, "/api/does-not-exist", None).await.assert_error(404, "not_found");
    app.request(Method::GET, "/api/auth/login", None).await.assert_error(405, "method_not_allowed");
    app.request(Method::DELETE, "/api/me", None).await.assert_error(405, "method_not_allowed");
}

#[tokio::test]
async fn requests_without_a_valid_session_are_unauthenticated() {
    let mut app = TestApp::new();
    app.me().await.assert_error(401, "unauthenticated");
    for bad in ["", "short", "not base64 at all!!!!!!!!!!!!!!!!!!!!!!!!!!", &"A".repeat(43), &"A".repeat(4000)] {
        app.session = Some(bad.to_string());
        app.me().await.assert_error(401, "unauthenticated");
    }
}

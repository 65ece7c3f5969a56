//! Abuse cases: hostile bodies, headers, methods, paths and cookies, and races on one account.
//! Each answer must be a clean 4xx of the JSON error contract (never a 5xx), the account must
//! come out unchanged, and the worker's log must show no panic.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{session_id_of, TestApp, TestResponse, TestUser, FIREFOX_LINUX, SAFARI_IPHONE};

/// No panic or uncaught error in the worker's log so far (`WEMASY_WORKER_LOG`, the wrangler dev
/// output that `scripts/run-tests.sh` writes; skipped when the tests run against another worker).
fn assert_worker_log_clean() {
    let Ok(path) = std::env::var("WEMASY_WORKER_LOG") else { return };
    let log = std::fs::read_to_string(path).unwrap_or_default();
    for marker in ["panicked", "RuntimeError", "Uncaught"] {
        assert!(!log.contains(marker), "the worker log shows {marker:?}");
    }
}

/// The account still signs in with its original password and still has its name and e-mail.
async fn assert_account_unchanged(user: &TestUser) {
    let mut fresh = TestApp::new();
    let response = fresh.login(&user.email, &user.password).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["user"]["name"], user.name.as_str());
    assert_eq!(response.body["user"]["email"], user.email.as_str());
}

#[track_caller]
fn assert_clean_4xx(response: &TestResponse, what: &str) {
    assert!((400..500).contains(&response.status), "{what}: {} {}", response.status, response.text);
    assert!(response.body["error"]["code"].is_string(), "{what}: {}", response.text);
    assert!(response.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{what}");
}

async fn send_json(app: &mut TestApp, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> TestResponse {
    let base = app.base.clone();
    let req = app.raw(method, path).header("Origin", base).header("Content-Type", content_type).body(body);
    app.send(req).await
}

#[tokio::test]
async fn a_one_megabyte_body_is_refused_without_a_server_error() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let name = "x".repeat(1024 * 1024);
    let huge = json!({ "email": user.email, "password": user.password, "name": name }).to_string().into_bytes();
    for (method, path) in [
        (Method::POST, "/api/auth/signup"),
        (Method::POST, "/api/auth/login"),
        (Method::POST, "/api/auth/confirm"),
        (Method::PUT, "/api/security/password"),
        (Method::POST, "/api/security/two-factor/disable"),
        (Method::POST, "/api/auth/logout"),
        (Method::POST, "/api/security/sessions/revoke-others"),
    ] {
        let response = send_json(&mut app, method.clone(), path, "application/json", huge.clone()).await;
        response.assert_error(413, "payload_too_large");
    }
    assert_eq!(app.me().await.status, 200, "the session survives");
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn deeply_nested_json_is_refused_as_invalid_without_a_server_error() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let arrays = format!("{{\"email\":{}", "[".repeat(15_000));
    let objects = format!("{}1{}", "{\"a\":".repeat(2500), "}".repeat(2500));
    let closed = format!("{{\"email\":{}1{}}}", "[".repeat(5000), "]".repeat(5000));
    for body in [arrays, objects, closed] {
        for path in ["/api/auth/login", "/api/auth/signup", "/api/auth/confirm"] {
            let response = send_json(&mut app, Method::POST, path, "application/json", body.clone().into_bytes()).await;
            assert_eq!(response.status, 400, "{path}: {}", response.text);
            assert_clean_4xx(&response, path);
        }
    }
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn json_with_duplicate_keys_is_refused_and_changes_nothing() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let other = TestUser::generate();
    // A duplicate must not let the second value slip past a check made on the first.
    let signup = format!(
        r#"{{"email":"{}","password":"{}","name":"{}","email":"{}"}}"#,
        other.email, other.password, other.name, user.email
    );
    let login = format!(r#"{{"email":"{}","password":"wrong","password":"{}"}}"#, user.email, user.password);
    let change =
        format!(r#"{{"current_password":"{}","new_password":"Another-Strong-9!","new_password":"x"}}"#, user.password);
    send_json(&mut app, Method::POST, "/api/auth/signup", "application/json", signup.into_bytes())
        .await
        .assert_error(400, "invalid_input");
    send_json(&mut TestApp::new(), Method::POST, "/api/auth/login", "application/json", login.into_bytes())
        .await
        .assert_error(400, "invalid_input");
    send_json(&mut app, Method::PUT, "/api/security/password", "application/json", change.into_bytes())
        .await
        .assert_error(400, "invalid_input");

    assert_eq!(TestApp::new().login(&other.email, &other.password).await.status, 401, "no account was made");
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn nul_bytes_and_lone_surrogates_in_strings_are_refused_cleanly() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let fresh = TestUser::generate();
    let with_nul = [
        json!({ "email": fresh.email, "password": fresh.password, "name": "Ada\u{0}Lovelace" }),
        json!({ "email": format!("a\u{0}{}", fresh.email), "password": fresh.password, "name": fresh.name }),
        json!({ "email": fresh.email, "password": format!("{}\u{0}", fresh.password), "name": fresh.name }),
    ];
    for body in with_nul {
        let response = app.request(Method::POST, "/api/auth/signup", Some(body.clone())).await;
        if response.status == 201 {
            // A NUL inside a password is just a character: it must then be exactly the password.
            assert!(body["password"].as_str().unwrap().contains('\u{0}'));
            let password = body["password"].as_str().unwrap();
            assert_eq!(TestApp::new().login(&fresh.email, password).await.status, 200);
            assert_eq!(TestApp::new().login(&fresh.email, &fresh.password).await.status, 401, "not truncated");
            continue;
        }
        response.assert_error(400, "invalid_input");
    }
    let nul_login = TestApp::new().login(&format!("{}\u{0}", user.email), &user.password).await;
    nul_login.assert_error(401, "invalid_credentials");
    let nul_password = TestApp::new().login(&user.email, &format!("{}\u{0}", user.password)).await;
    nul_password.assert_error(401, "invalid_credentials");

    for raw in [
        format!(r#"{{"email":"{}","password":"\ud800","name":"x"}}"#, fresh.email),
        format!(r#"{{"email":"{}","password":"{}","name":"\udfff\ud800"}}"#, fresh.email, fresh.password),
        format!(r#"{{"email":"\ud83d","password":"{}"}}"#, user.password),
    ] {
        let path = if raw.contains("name") { "/api/auth/signup" } else { "/api/auth/login" };
        send_json(&mut TestApp::new(), Method::POST, path, "application/json", raw.into_bytes())
            .await
            .assert_error(400, "invalid_json");
    }
    // Raw bytes that are not UTF-8 at all.
    let mut bytes = br#"{"email":""#.to_vec();
    bytes.extend([0xff, 0xfe, 0x00, 0xc0]);
    bytes.extend(br#"","password":"x"}"#);
    let response = send_json(&mut TestApp::new(), Method::POST, "/api/auth/login", "application/json", bytes).await;
    response.assert_error(400, "invalid_json");

    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn a_ten_thousand_character_email_is_refused_without_a_server_error() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let long = format!("{}@example.com", "a".repeat(10_000));
    let other = TestUser::generate();

    let signup = app
        .request(
            Method::POST,
            "/api/auth/signup",
            Some(json!({ "email": long, "password": other.password, "name": other.name })),
        )
        .await;
    signup.assert_error(400, "invalid_input");
    TestApp::new().login(&long, &other.password).await.assert_error(401, "invalid_credentials");
    let long_domain = format!("ada@{}.com", "b".repeat(10_000));
    TestApp::new().login(&long_domain, &user.password).await.assert_error(401, "invalid_credentials");
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn content_type_lies_are_refused() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let login = json!({ "email": user.email, "password": user.password }).to_string().into_bytes();
    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/jsonp",
        "application/json-patch+json",
        "",
    ] {
        let response =
            send_json(&mut TestApp::new(), Method::POST, "/api/auth/login", content_type, login.clone()).await;
        response.assert_error(415, "unsupported_media_type");
    }
    // Declared JSON that is not.
    for body in [
        format!("email={}&password=x", user.email).into_bytes(),
        b"\x89PNG\r\n\x1a\n\0\0\0".to_vec(),
        b"<xml/>".to_vec(),
    ] {
        let response =
            send_json(&mut TestApp::new(), Method::POST, "/api/auth/login", "application/json; charset=utf-8", body)
                .await;
        response.assert_error(400, "invalid_json");
    }
    // No Content-Type header at all.
    let base = app.base.clone();
    let req = app.raw(Method::POST, "/api/auth/login").header("Origin", base).body(login.clone());
    app.send(req).await.assert_error(415, "unsupported_media_type");
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn head_options_and_unknown_methods_get_clean_answers() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let paths = ["/api/me", "/api/security", "/api/security/sessions", "/api/auth/login", "/api/nope"];
    for path in paths {
        for method in ["HEAD", "OPTIONS", "PATCH", "TRACE", "PROPFIND", "MKCOL", "LOCK", "SEARCH"] {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            let base = app.base.clone();
            let req = app.raw(method.clone(), path).header("Origin", base);
            let response = app.send(req).await;
            let expected = if path == "/api/nope" { [404, 405] } else { [405, 405] };
            assert!(expected.contains(&response.status), "{method} {path}: {} {}", response.status, response.text);
            if method != Method::HEAD {
                assert_clean_4xx(&response, &format!("{method} {path}"));
            }
            // workers-rs reads unknown methods as GET: none of them may reach a GET handler.
            assert!(!response.text.contains(&user.email), "{method} {path} answered the account");
        }
    }
    // A method workerd itself does not know is refused by the runtime before the worker runs
    // (501, not the worker's answer); it must not reach the worker as a GET either.
    let req = app.raw(Method::from_bytes(b"FROB").unwrap(), "/api/me");
    let response = app.send(req).await;
    assert!(matches!(response.status, 405 | 501), "{} {}", response.status, response.text);
    assert!(!response.text.contains(&user.email));
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn path_traversal_in_a_session_id_ends_nothing() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut other = TestApp::new().another_device(FIREFOX_LINUX);
    other.login(&user.email, &user.password).await;
    let other_id = session_id_of(other.session.as_deref().unwrap());
    for id in [
        "..%2F..%2Fme",
        "%2e%2e%2f%2e%2e%2fme",
        "%2E%2E",
        "..%5c..%5cme",
        "revoke-others%2F..",
        &format!("{other_id}%2F..%2F{other_id}"),
        &format!("{other_id}%00"),
        &format!("{other_id}%20"),
        &format!("{}%0d%0aSet-Cookie:%20x=y", &other_id[..20]),
        &format!("{other_id}/extra"),
        &"A".repeat(5000),
        "%ff%fe",
    ] {
        let response = app.request(Method::DELETE, &format!("/api/security/sessions/{id}"), None).await;
        assert_eq!(response.status, 404, "{id}: {}", response.text);
        assert_clean_4xx(&response, id);
        assert!(response.set_cookies().is_empty(), "{id}");
    }
    assert_eq!(other.me().await.status, 200, "the other session is untouched");
    assert_eq!(app.me().await.status, 200, "this session is untouched");
    assert_eq!(app.sessions().await.body["sessions"].as_array().unwrap().len(), 2);
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn header_injection_through_the_name_or_email_goes_nowhere() {
    let mut app = TestApp::new();
    let mut user = TestUser::generate();
    for name in ["Eve\r\nSet-Cookie: stolen=1", "Eve\nX-Injected: 1", "Eve\rLocation: https://evil.example"] {
        user.name = name.to_string();
        let response = app.signup(&user).await;
        response.assert_error(400, "invalid_input");
        assert!(response.headers.get("x-injected").is_none() && response.headers.get("location").is_none());
        assert!(!response.set_cookies().iter().any(|c| c.contains("stolen")));
    }
    let email = format!("{}\r\nSet-Cookie: stolen=1", user.email);
    let response = TestApp::new().login(&email, &user.password).await;
    response.assert_error(401, "invalid_credentials");
    assert!(!response.set_cookies().iter().any(|c| c.contains("stolen")));

    // A name with characters that look like line breaks but are not controls is kept as text,
    // inside the JSON body only.
    user.name = "Eve\u{2028}Set-Cookie: stolen=1".to_string();
    let response = app.signup(&user).await;
    if response.status == 201 {
        assert!(!response.set_cookies().iter().any(|c| c.contains("stolen")));
        assert_eq!(app.me().await.body["user"]["name"], user.name.as_str());
    } else {
        response.assert_error(400, "invalid_input");
    }
    assert_worker_log_clean();
}

#[tokio::test]
async fn session_cookies_of_another_shape_are_simply_signed_out() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let real = app.session.clone().unwrap();
    let probe = TestApp::new();
    let shapes = [
        String::new(),
        "\"\"".into(),
        real[..42].to_string(),
        format!("{real}A"),
        format!("{}=", &real[..42]),
        real.replace(|c: char| c.is_ascii_alphabetic(), "+"),
        "é".repeat(43),
        "%00".repeat(15),
        "A".repeat(8000),
        real.to_uppercase(),
    ];
    for shape in &shapes {
        for (method, path) in [(Method::GET, "/api/me"), (Method::GET, "/api/security/sessions")] {
            let req = probe.raw(method.clone(), path).header("Cookie", format!("__Host-session={shape}"));
            let response = app.send(req).await;
            assert_eq!(response.status, 401, "{shape:.50}: {}", response.text);
            response.assert_error(401, "unauthenticated");
        }
    }
    // Odd headers around the real cookie: the real one still counts, the others are ignored.
    for header in [
        format!("__Host-session=; __Host-session={real}"),
        format!("x=1;;; ;__Host-session={real}"),
        format!("__Host-session=\"{real}\""),
    ] {
        let req = probe.raw(Method::GET, "/api/me").header("Cookie", header.clone());
        let response = app.send(req).await;
        assert!(matches!(response.status, 200 | 401), "{header}: {}", response.text);
    }
    assert_eq!(app.me().await.status, 200);
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

#[tokio::test]
async fn concurrent_sign_ins_sign_outs_and_revocations_lose_or_resurrect_no_session() {
    let mut owner = TestApp::new();
    let user = owner.signed_up_user().await;

    // Eight devices sign in at once; half sign out again at once; meanwhile the owner ends the
    // others and then one session by id. They are known devices of the owner: concurrent
    // sign-ins of unknown clients would be held back by the strangers' failure run, which counts
    // every attempt before its password is checked.
    let mut known = Vec::new();
    for i in 0..11 {
        known.push(TestApp::known_device(&user, if i % 2 == 0 { SAFARI_IPHONE } else { FIREFOX_LINUX }).await);
    }
    let late_devices = known.split_off(8);
    let logins = known.into_iter().map(|mut device| {
        let user = user.clone();
        async move {
            let response = device.login(&user.email, &user.password).await;
            assert_eq!(response.status, 200, "{}", response.text);
            device
        }
    });
    let mut devices: Vec<TestApp> = futures::future::join_all(logins).await;
    let tokens: Vec<String> = devices.iter().map(|d| d.session.clone().unwrap()).collect();

    let (signed_out, kept) = devices.split_at_mut(4);
    let sign_outs = signed_out.iter_mut().map(|d| async move { d.logout().await.status });
    let extra_logins = late_devices.into_iter().map(|mut device| {
        let user = user.clone();
        async move {
            let status = device.login(&user.email, &user.password).await.status;
            (status, device)
        }
    });
    let (sign_out_statuses, revoke, late) = tokio::join!(
        futures::future::join_all(sign_outs),
        owner.revoke_others(),
        futures::future::join_all(extra_logins),
    );
    assert!(sign_out_statuses.iter().all(|s| *s == 204), "{sign_out_statuses:?}");
    assert_eq!(revoke.status, 200, "{}", revoke.text);

    // Every signed-out token stays dead, whatever the order.
    for token in &tokens[..4] {
        let mut probe = TestApp::new();
        probe.session = Some(token.clone());
        probe.me().await.assert_error(401, "unauthenticated");
    }
    // The owner's list holds exactly the sessions that still work: none lost, none resurrected.
    let listed = owner.sessions().await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let listed: Vec<String> = listed.body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["current"] != Value::Bool(true))
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut candidates: Vec<String> = tokens.clone();
    candidates.extend(late.iter().filter_map(|(_, d)| d.session.clone()));
    for token in &candidates {
        let mut probe = TestApp::new();
        probe.session = Some(token.clone());
        let alive = probe.me().await.status == 200;
        let id = session_id_of(token);
        assert_eq!(alive, listed.contains(&id), "session alive={alive} but listed={}", listed.contains(&id));
    }
    // The devices kept after the sign-outs had signed in before revoke-others started, so they
    // are gone; the late ones may or may not be, but consistently (checked above).
    for device in kept.iter_mut() {
        device.me().await.assert_error(401, "unauthenticated");
    }

    // Ending the last listed session by id while it signs out itself: one 204, no 5xx.
    if let Some((_, device)) = late.into_iter().find(|(_, d)| d.session.is_some()) {
        let mut device = device;
        let id = session_id_of(device.session.as_deref().unwrap());
        let (a, b) = tokio::join!(owner.end_session(&id), device.logout());
        assert!(a.status < 500 && b.status < 500, "{} / {}", a.text, b.text);
        assert_eq!(device.me().await.status, 401);
    }
    assert_eq!(owner.me().await.status, 200, "the owner's session survives it all");
    assert_account_unchanged(&user).await;
    assert_worker_log_clean();
}

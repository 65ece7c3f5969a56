//! Device-bound sessions (DBSC, issue 25) with a scripted client: a software ES256 key that
//! registers as Chromium does after a sign-in, and refreshes the short cookie (5 s in the test
//! worker) with proofs. What a thief with the session token but not the key gets, replayed and
//! foreign proofs, and every way a session ends.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

/// The test worker's `BOUND_COOKIE_SECONDS` (scripts/run-tests.sh).
const SHORT_COOKIE_SECONDS: u64 = 5;

/// A browser's device key, in software.
struct DeviceKey(SigningKey);

impl DeviceKey {
    fn new() -> Self {
        let mut seed = [0u8; 32];
        loop {
            getrandom::fill(&mut seed).unwrap();
            if let Ok(key) = SigningKey::from_slice(&seed) {
                return Self(key);
            }
        }
    }

    fn jwk(&self) -> Value {
        let point = self.0.verifying_key().to_sec1_point(false);
        let b = point.as_bytes();
        json!({ "kty": "EC", "crv": "P-256", "x": URL_SAFE_NO_PAD.encode(&b[1..33]), "y": URL_SAFE_NO_PAD.encode(&b[33..65]) })
    }

    fn sign(&self, header: Value, claims: Value) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let input = format!("{}.{}", b64(&header), b64(&claims));
        let signature: Signature = self.0.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()))
    }

    /// A registration proof as Chromium makes one: its key in the header, the challenge as `jti`.
    fn registration(&self, app: &TestApp, challenge: &str) -> String {
        let header = json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": self.jwk() });
        let aud = format!("{}/api/auth/dbsc/register", app.base);
        self.sign(header, json!({ "jti": challenge, "aud": aud, "iat": now() }))
    }

    fn refresh(&self, challenge: &str) -> String {
        self.sign(json!({ "alg": "ES256", "typ": "dbsc+jwt" }), json!({ "jti": challenge }))
    }
}

/// The challenge of the `Secure-Session-Registration` a response offered.
fn offered_challenge(response: &TestResponse) -> String {
    let offer = response.header("secure-session-registration").expect("Secure-Session-Registration offered");
    assert!(offer.starts_with("(ES256);path=\"/api/auth/dbsc/register\";"), "{offer}");
    offer.split("challenge=\"").nth(1).and_then(|rest| rest.split('"').next()).expect("a challenge").to_string()
}

/// The challenge of a refresh's 403, for the bound session `id`.
fn refresh_challenge(response: &TestResponse, id: &str) -> String {
    assert_eq!(response.status, 403, "{}", response.text);
    let header = response.header("secure-session-challenge").expect("Secure-Session-Challenge");
    let (challenge, rest) = header.strip_prefix('"').and_then(|h| h.split_once('"')).expect("an sf-string");
    assert_eq!(rest, format!(";id=\"{id}\""));
    challenge.to_string()
}

/// A user signed up on `app`, whose browser bound the session to `key`: the session identifier.
async fn bound_sign_up(app: &mut TestApp, key: &DeviceKey) -> (TestUser, String) {
    let user = TestUser::generate();
    let signed_up = app.signup(&user).await;
    assert_eq!(signed_up.status, 201, "{}", signed_up.text);
    let registered = app.dbsc_register(&key.registration(app, &offered_challenge(&signed_up))).await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let id = registered.body["session_identifier"].as_str().expect("an identifier").to_string();
    (user, id)
}

/// The browser's refresh: a challenge first, then its proof; the new short cookie is kept.
async fn refresh(app: &mut TestApp, key: &DeviceKey, id: &str) -> TestResponse {
    let first = app.dbsc_refresh(id, None).await;
    let challenge = refresh_challenge(&first, id);
    app.dbsc_refresh(id, Some(&key.refresh(&challenge))).await
}

async fn wait_for_the_short_cookie_to_run_out() {
    tokio::time::sleep(std::time::Duration::from_secs(SHORT_COOKIE_SECONDS + 1)).await;
}

#[tokio::test]
async fn a_sign_in_offers_a_binding_and_the_registration_answers_instructions_and_the_short_cookie() {
    let mut app = TestApp::new();
    let key = DeviceKey::new();
    let user = TestUser::generate();
    let signed_up = app.signup(&user).await;
    let challenge = offered_challenge(&signed_up);
    let registered = app.dbsc_register(&key.registration(&app, &challenge)).await;
    assert_eq!(registered.status, 200, "{}", registered.text);
    let body = &registered.body;
    assert!(body["session_identifier"].as_str().is_some_and(|id| id.len() == 43), "{body}");
    assert_eq!(body["refresh_url"], "/api/auth/dbsc/refresh");
    assert_eq!(body["scope"], json!({ "origin": app.base, "include_site": false }));
    assert_eq!(body["credentials"][0]["type"], "cookie");
    assert_eq!(body["credentials"][0]["name"], "__Host-bound");
    let cookie =
        registered.set_cookies().into_iter().find(|c| c.starts_with("__Host-bound=")).expect("the short cookie");
    for part in [format!("Max-Age={SHORT_COOKIE_SECONDS}"), "Path=/".into(), "Secure".into(), "HttpOnly".into()] {
        assert!(cookie.contains(&part), "{cookie}");
    }
    assert_eq!(app.me().await.status, 200);
    let sessions = app.sessions().await;
    assert_eq!(sessions.body["sessions"][0]["bound_to_device"], true, "{}", sessions.text);
    let events = app.events(None).await;
    assert!(events.text.contains("\"session_bound\""), "{}", events.text);
    // A second sign-in's session is offered its own binding; a password sign-in on another
    // browser is listed unbound until that browser registers.
    let mut phone = TestApp::signed_in_device(&user, SAFARI_IPHONE, &app.base).await;
    let listed = phone.sessions().await;
    let phone_row = &listed.body["sessions"][0];
    assert_eq!((phone_row["current"].as_bool(), phone_row["bound_to_device"].as_bool()), (Some(true), Some(false)));
    assert_eq!(listed.body["sessions"][1]["bound_to_device"], true);
}

#[tokio::test]
async fn a_stolen_session_token_without_the_key_stops_working_when_the_short_cookie_runs_out() {
    let mut ada = TestApp::new();
    let key = DeviceKey::new();
    let (_user, id) = bound_sign_up(&mut ada, &key).await;
    // Malware copies the session token and the short cookie to another machine.
    let mut thief = ada.another_device(FIREFOX_LINUX);
    (thief.session, thief.bound) = (ada.session.clone(), ada.bound.clone());
    assert_eq!(thief.me().await.status, 200, "until the short cookie runs out");
    wait_for_the_short_cookie_to_run_out().await;
    let refused = thief.me().await;
    refused.assert_error(401, "device_proof_required");
    assert!(refused.set_cookies().is_empty(), "a refused request clears nothing: {:?}", refused.set_cookies());
    // The thief asks for a challenge and signs it with a key of its own.
    let challenge = refresh_challenge(&thief.dbsc_refresh(&id, None).await, &id);
    let forged = thief.dbsc_refresh(&id, Some(&DeviceKey::new().refresh(&challenge))).await;
    forged.assert_error(400, "device_proof_rejected");
    assert!(forged.set_cookies().iter().all(|c| !c.starts_with("__Host-bound=")));
    thief.me().await.assert_error(401, "device_proof_required");
    thief
        .change_password(json!({ "current_password": "x", "new_password": "y" }))
        .await
        .assert_error(401, "device_proof_required");
    // Ada's browser had its short cookie run out too; its key renews it, and her session goes on.
    ada.me().await.assert_error(401, "device_proof_required");
    let renewed = refresh(&mut ada, &key, &id).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
    assert_eq!(renewed.body["session_identifier"], id.as_str());
    assert_eq!(ada.me().await.status, 200);
    // The thief's old copy of the short cookie is of no use either.
    thief.me().await.assert_error(401, "device_proof_required");
}

#[tokio::test]
async fn replayed_raced_or_foreign_refresh_proofs_renew_nothing() {
    let mut ada = TestApp::new();
    let key = DeviceKey::new();
    let (_user, id) = bound_sign_up(&mut ada, &key).await;
    let challenge = refresh_challenge(&ada.dbsc_refresh(&id, None).await, &id);
    let proof = key.refresh(&challenge);
    // The same proof sent twice at once: one renews.
    let mut twin = ada.another_device(CHROME_WINDOWS);
    (twin.session, twin.ip) = (ada.session.clone(), ada.ip.clone());
    let (first, second) = tokio::join!(ada.dbsc_refresh(&id, Some(&proof)), twin.dbsc_refresh(&id, Some(&proof)));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert_eq!(statuses, [200, 403], "{} / {}", first.text, second.text);
    // Replayed later: a new challenge, no cookie.
    let replayed = ada.dbsc_refresh(&id, Some(&proof)).await;
    refresh_challenge(&replayed, &id);
    assert!(replayed.set_cookies().iter().all(|c| !c.starts_with("__Host-bound=")));
    // Bob's challenge, signed by Ada's key, is no challenge of Ada's session.
    let mut bob = TestApp::new();
    let bob_key = DeviceKey::new();
    let (_bob, bob_id) = bound_sign_up(&mut bob, &bob_key).await;
    let bobs = refresh_challenge(&bob.dbsc_refresh(&bob_id, None).await, &bob_id);
    refresh_challenge(&ada.dbsc_refresh(&id, Some(&key.refresh(&bobs))).await, &id);
    // Ada's token does not refresh Bob's bound session; Bob's key does not sign for Ada's.
    let crossed = ada.dbsc_refresh(&bob_id, None).await;
    assert_eq!((crossed.status, &crossed.body), (200, &json!({ "continue": false })));
    let challenge = refresh_challenge(&ada.dbsc_refresh(&id, None).await, &id);
    ada.dbsc_refresh(&id, Some(&bob_key.refresh(&challenge))).await.assert_error(400, "device_proof_rejected");
    // Proofs of the wrong shape, algorithm or audience.
    let challenge = refresh_challenge(&ada.dbsc_refresh(&id, None).await, &id);
    let unsigned = format!("{}.", key.refresh(&challenge).rsplit_once('.').unwrap().0);
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "dbsc+jwt" }).to_string()),
        URL_SAFE_NO_PAD.encode(json!({ "jti": challenge }).to_string())
    );
    let elsewhere = key.sign(
        json!({ "alg": "ES256", "typ": "dbsc+jwt" }),
        json!({ "jti": challenge, "aud": "https://evil.example/refresh" }),
    );
    for bad in [unsigned, none, elsewhere, "not a jwt".into(), "a".repeat(5000)] {
        let answer = ada.dbsc_refresh(&id, Some(&bad)).await;
        answer.assert_error(400, "device_proof_rejected");
    }
    // None of that ended her session: the right proof over that same challenge renews.
    let renewed = ada.dbsc_refresh(&id, Some(&key.refresh(&challenge))).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text);
}

#[tokio::test]
async fn a_registration_binds_once_with_a_fresh_challenge_of_its_own_session_and_a_proof_by_its_key() {
    let mut ada = TestApp::new();
    let user = TestUser::generate();
    let challenge = offered_challenge(&ada.signup(&user).await);
    let key = DeviceKey::new();
    // Another session's challenge.
    let mut bob = TestApp::new();
    let bobs = offered_challenge(&bob.signup(&TestUser::generate()).await);
    ada.dbsc_register(&key.registration(&ada, &bobs)).await.assert_error(400, "device_proof_rejected");
    // Signed by another key than the one it encloses; no key; alg none; a stale iat; another audience.
    let enclosed_elsewhere = DeviceKey::new()
        .sign(json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": key.jwk() }), json!({ "jti": challenge }));
    let keyless = key.sign(json!({ "alg": "ES256", "typ": "dbsc+jwt" }), json!({ "jti": challenge }));
    let stale = key.sign(
        json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": key.jwk() }),
        json!({ "jti": challenge, "iat": now() - 3600 }),
    );
    let elsewhere = key.sign(
        json!({ "alg": "ES256", "typ": "dbsc+jwt", "jwk": key.jwk() }),
        json!({ "jti": challenge, "aud": "https://evil.example/api/auth/dbsc/register" }),
    );
    let none = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({ "alg": "none", "typ": "dbsc+jwt" }).to_string()),
        URL_SAFE_NO_PAD.encode(json!({ "jti": challenge }).to_string())
    );
    for bad in [enclosed_elsewhere, keyless, stale, elsewhere, none] {
        ada.dbsc_register(&bad).await.assert_error(400, "device_proof_rejected");
    }
    let missing = ada.send(ada.raw(Method::POST, "/api/auth/dbsc/register")).await;
    missing.assert_error(400, "invalid_input");
    // The right proof, twice at once: one binds.
    let proof = key.registration(&ada, &challenge);
    let mut twin = ada.another_device(CHROME_WINDOWS);
    twin.session = ada.session.clone();
    let (first, second) = tokio::join!(ada.dbsc_register(&proof), twin.dbsc_register(&proof));
    let mut statuses = [first.status, second.status];
    statuses.sort();
    assert!(statuses == [200, 400] || statuses == [200, 409], "{} / {}", first.text, second.text);
    // A bound session is not bound again, to any key.
    let again = ada.dbsc_register(&DeviceKey::new().registration(&ada, &challenge)).await;
    again.assert_error(409, "session_bound_already");
    let events = ada.events(None).await;
    assert_eq!(events.body["events"].as_array().unwrap().iter().filter(|e| e["type"] == "session_bound").count(), 1);
    // Without a session, no registration.
    let mut stranger = TestApp::new();
    stranger.dbsc_register(&proof).await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn every_way_a_session_ends_tells_its_browser_to_stop_refreshing_it() {
    let ended = json!({ "continue": false });
    let key = DeviceKey::new();
    // Signed out.
    let mut ada = TestApp::new();
    let (user, id) = bound_sign_up(&mut ada, &key).await;
    let mut copy = ada.another_device(CHROME_WINDOWS);
    copy.session = ada.session.clone();
    let signed_out = ada.logout().await;
    assert_eq!(signed_out.status, 204);
    assert!(signed_out.set_cookies().iter().any(|c| c.starts_with("__Host-bound=;") && c.contains("Max-Age=0")));
    let answer = copy.dbsc_refresh(&id, None).await;
    assert_eq!((answer.status, &answer.body), (200, &ended), "{}", answer.text);
    assert!(answer.set_cookies().iter().any(|c| c.starts_with("__Host-bound=;") && c.contains("Max-Age=0")));
    // Ended from another device's list.
    let mut laptop = TestApp::at(ada.base.clone(), CHROME_WINDOWS);
    let signed_in = laptop.login(&user.email, &user.password).await;
    let registered = laptop.dbsc_register(&key.registration(&laptop, &offered_challenge(&signed_in))).await;
    let laptop_id = registered.body["session_identifier"].as_str().unwrap().to_string();
    let laptop_session = session_id_of(laptop.session.as_deref().unwrap());
    let mut phone = TestApp::signed_in_device(&user, SAFARI_IPHONE, &ada.base).await;
    assert_eq!(phone.end_session(&laptop_session).await.status, 204);
    let answer = laptop.dbsc_refresh(&laptop_id, None).await;
    assert_eq!((answer.status, &answer.body), (200, &ended));
    laptop.me().await.assert_error(401, "unauthenticated");
    // Every other session ended ("Sign out of all other sessions"), and a password change.
    for how in ["revoke-others", "password"] {
        let mut desk = TestApp::at(ada.base.clone(), CHROME_WINDOWS);
        let signed_in = desk.login(&user.email, &user.password).await;
        let registered = desk.dbsc_register(&key.registration(&desk, &offered_challenge(&signed_in))).await;
        let desk_id = registered.body["session_identifier"].as_str().unwrap().to_string();
        match how {
            "revoke-others" => assert_eq!(phone.revoke_others().await.status, 200),
            _ => {
                let body =
                    json!({ "current_password": user.password, "new_password": format!("{}-Next!7", user.password) });
                assert_eq!(desk.change_password(body).await.status, 200);
                // The password change re-issues the changing session on a new token: the bound
                // one it replaced has ended, and the new one is offered a binding of its own.
            }
        }
        let answer = refresh_with_token(&desk, &desk_id, signed_in_token(&signed_in)).await;
        assert_eq!((answer.status, &answer.body), (200, &ended), "{how}: {}", answer.text);
    }
}

/// The session token a sign-in's answer set.
fn signed_in_token(response: &TestResponse) -> String {
    let cookie =
        response.set_cookies().into_iter().find(|c| c.starts_with("__Host-session=")).expect("a session cookie");
    cookie.trim_start_matches("__Host-session=").split(';').next().unwrap().to_string()
}

/// A refresh of `id` by a browser holding the session `token` (as it was before any re-issue).
async fn refresh_with_token(app: &TestApp, id: &str, token: String) -> TestResponse {
    let mut browser = app.another_device(CHROME_WINDOWS);
    browser.session = Some(token);
    browser.dbsc_refresh(id, None).await
}

#[tokio::test]
async fn a_request_without_the_short_cookie_just_after_the_registration_is_served() {
    let mut ada = TestApp::new();
    let key = DeviceKey::new();
    let (_user, _id) = bound_sign_up(&mut ada, &key).await;
    // A request that left the browser before the registration's answer set the cookie.
    ada.bound = None;
    assert_eq!(ada.me().await.status, 200);
    wait_for_the_short_cookie_to_run_out().await;
    ada.me().await.assert_error(401, "device_proof_required");
    // Still not signed out: the session works again once the browser renews the cookie.
    assert!(ada.session.is_some());
}

#[tokio::test]
async fn the_dbsc_endpoints_allow_no_cross_origin_credentials_and_no_framing() {
    let mut ada = TestApp::new();
    let key = DeviceKey::new();
    let (_user, id) = bound_sign_up(&mut ada, &key).await;
    for path in ["/api/auth/dbsc/refresh", "/api/auth/dbsc/register"] {
        let preflight = ada
            .send(
                ada.raw(Method::OPTIONS, path)
                    .header("Origin", "https://evil.example")
                    .header("Access-Control-Request-Method", "POST")
                    .header("Access-Control-Request-Headers", "sec-secure-session-id, secure-session-response"),
            )
            .await;
        assert!(preflight.header("access-control-allow-origin").is_none(), "{path}: {:?}", preflight.headers);
        assert!(preflight.header("access-control-allow-credentials").is_none());
    }
    let answer = ada
        .send(
            ada.raw(Method::POST, "/api/auth/dbsc/refresh")
                .header("Origin", "https://evil.example")
                .header("Sec-Secure-Session-Id", format!("\"{id}\"")),
        )
        .await;
    assert_eq!(answer.status, 403, "{}", answer.text);
    assert!(answer.header("access-control-allow-origin").is_none());
    assert_eq!(answer.header("x-frame-options"), Some("DENY"));
    assert!(answer.header("content-security-policy").is_some_and(|csp| csp.contains("frame-ancestors 'none'")));
    // Without the browser's own header, a refresh is no DBSC request.
    let plain = ada.request(Method::POST, "/api/auth/dbsc/refresh", None).await;
    plain.assert_error(400, "invalid_input");
}

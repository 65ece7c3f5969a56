//! Unfamiliar sign-ins (issue 24) through the worker, with places set by the tests' `X-Test-Place`
//! (honoured only under `TEST_PLACES`): each flag on the session list, the checkup's count, "This
//! was me" (the owner's sessions only) and "Not me" (ending that session).

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{d1, TestApp, TestUser, FIREFOX_LINUX, SAFARI_IPHONE};

const AMSTERDAM: &str = "NL; Amsterdam; AS1136; 52.37,4.90";
const LISBON: &str = "PT; Lisbon; AS3243; 38.72,-9.14";
const LISBON_OTHER_NETWORK: &str = "PT; Lisbon; AS12353; 38.72,-9.14";
const SYDNEY: &str = "AU; Sydney; AS1221; -33.87,151.21";

async fn owner() -> (TestApp, TestUser) {
    let mut app = TestApp::new();
    app.place = AMSTERDAM.into();
    let user = app.signed_up_user().await;
    (app, user)
}

async fn sign_in_from(user: &TestUser, user_agent: &str, place: &str) -> TestApp {
    let mut device = TestApp::with_user_agent(user_agent);
    device.place = place.into();
    let response = device.login(&user.email, &user.password).await;
    assert_eq!(response.status, 200, "{}", response.text);
    device
}

/// The session list's entry for the session `app` holds.
async fn own_entry(app: &mut TestApp) -> Value {
    let list = app.sessions().await;
    list.body["sessions"].as_array().unwrap().iter().find(|s| s["current"] == true).cloned().expect("its session")
}

#[tokio::test]
async fn a_new_device_a_new_country_and_a_new_network_are_each_flagged() {
    let (_app, user) = owner().await;
    let mut laptop = sign_in_from(&user, FIREFOX_LINUX, AMSTERDAM).await;
    assert_eq!(own_entry(&mut laptop).await["unfamiliar"]["reasons"], serde_json::json!(["new_device"]));

    laptop.logout().await;
    laptop.place = LISBON.into();
    assert_eq!(laptop.login(&user.email, &user.password).await.status, 200);
    let entry = own_entry(&mut laptop).await;
    // Seconds after Amsterdam, Lisbon is impossible travel too.
    let reasons = serde_json::json!(["new_country", "new_network", "impossible_travel"]);
    assert_eq!(entry["unfamiliar"]["reasons"], reasons, "{entry}");

    laptop.logout().await;
    laptop.place = LISBON_OTHER_NETWORK.into();
    assert_eq!(laptop.login(&user.email, &user.password).await.status, 200);
    assert_eq!(own_entry(&mut laptop).await["unfamiliar"]["reasons"], serde_json::json!(["new_network"]));

    laptop.logout().await;
    assert_eq!(laptop.login(&user.email, &user.password).await.status, 200);
    assert!(own_entry(&mut laptop).await.get("unfamiliar").is_none(), "a known device, country and network");
}

#[tokio::test]
async fn a_sign_in_from_too_far_too_soon_is_impossible_travel() {
    let (_app, user) = owner().await;
    let mut phone = sign_in_from(&user, SAFARI_IPHONE, SYDNEY).await;
    let entry = own_entry(&mut phone).await;
    let reasons = entry["unfamiliar"]["reasons"].as_array().unwrap();
    assert!(reasons.contains(&Value::from("impossible_travel")), "{entry}");
    assert!(entry["unfamiliar"]["travel_kmh"].as_u64().unwrap() > 1000, "{entry}");
}

#[tokio::test]
async fn the_checkup_counts_unfamiliar_sessions_and_this_was_me_clears_them() {
    let (mut app, user) = owner().await;
    let mut stranger = sign_in_from(&user, FIREFOX_LINUX, LISBON).await;
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 1);
    let id = own_entry(&mut stranger).await["id"].as_str().unwrap().to_string();

    let (mut other, _) = owner().await;
    let path = format!("/api/security/sessions/{id}/familiar");
    other.request(Method::POST, &path, None).await.assert_error(404, "not_found");
    app.request(Method::POST, "/api/security/sessions/nope/familiar", None).await.assert_error(404, "not_found");
    let reviewed = app.request(Method::POST, &path, None).await;
    assert_eq!(reviewed.status, 204, "{}", reviewed.text);
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 0);
    assert!(own_entry(&mut stranger).await.get("unfamiliar").is_none());
}

#[tokio::test]
async fn not_me_ends_that_session_at_once() {
    let (mut app, user) = owner().await;
    let mut stranger = sign_in_from(&user, FIREFOX_LINUX, SYDNEY).await;
    let id = own_entry(&mut stranger).await["id"].as_str().unwrap().to_string();
    assert_eq!(app.end_session(&id).await.status, 204);
    stranger.me().await.assert_error(401, "unauthenticated");
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 0);
}

/// Sets the detail of the user's sign-ins to `detail` (JSON) in D1.
fn rewrite_sign_ins(email: &str, detail: &str) {
    let user = format!("(SELECT id FROM users WHERE email = '{email}')");
    d1(&format!(
        "UPDATE security_events SET detail = json_set(detail, {detail}) WHERE user_id = {user} AND type = 'sign_in'"
    ));
}

#[tokio::test]
async fn only_a_flag_that_is_true_and_a_speed_that_is_a_number_over_the_limit_flags_a_sign_in() {
    let (mut app, user) = owner().await;
    let mut stranger = sign_in_from(&user, FIREFOX_LINUX, LISBON).await;
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 1);

    let other_shapes = "'$.new_country', 'yes', '$.new_network', 1, '$.new_device', 'true', '$.travel_kmh', '5000'";
    rewrite_sign_ins(&user.email, other_shapes);
    assert!(own_entry(&mut stranger).await.get("unfamiliar").is_none(), "no flag is `true`, no speed a number");
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 0);

    rewrite_sign_ins(&user.email, "'$.travel_kmh', 1000");
    assert!(own_entry(&mut stranger).await.get("unfamiliar").is_none(), "1,000 km/h is possible");
    rewrite_sign_ins(&user.email, "'$.travel_kmh', 1001");
    let entry = own_entry(&mut stranger).await;
    assert_eq!(entry["unfamiliar"]["reasons"], serde_json::json!(["impossible_travel"]), "{entry}");
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 1);

    rewrite_sign_ins(&user.email, "'$.reviewed', json('true')");
    assert!(own_entry(&mut stranger).await.get("unfamiliar").is_none(), "reviewed");
    assert_eq!(app.security().await.body["sessions"]["unfamiliar"], 0);
}

//! Trusted devices (SPEC §5.7, issue 21): the list on the Security page and forgetting one.
//! Every completed sign-in (sign-up, password, second step, passkey) trusts its browser; the
//! list marks the caller's own; forgetting another one needs "Confirm it's you", the caller's
//! own does not; ids of nobody, of another account, or of no shape at all are the same 404.

use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::{now, plant_session, TestApp, TestResponse, CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE};
use crate::passkey_device::Device;
use crate::two_factor::{oathtool, pending_sign_in, steady_step, user_with_two_factor};

fn devices_of(response: &TestResponse) -> Vec<Value> {
    assert_eq!(response.status, 200, "{}", response.text);
    response.body["devices"].as_array().expect("devices").clone()
}

fn ids_of(response: &TestResponse) -> Vec<String> {
    devices_of(response).iter().map(|d| d["id"].as_str().unwrap().to_string()).collect()
}

/// The owner's browser with a live session whose sudo window has closed (signed in an hour ago),
/// holding the owner's device cookie.
fn out_of_sudo(owner: &TestApp, user_id: &str) -> TestApp {
    let t = now();
    let mut browser = TestApp::with_user_agent(CHROME_WINDOWS);
    browser.session = Some(plant_session(user_id, t - 3600, t, t + 3600, 0));
    browser.device = owner.device.clone();
    browser
}

#[tokio::test]
async fn the_list_marks_this_browser_first_and_names_the_others() {
    let mut owner = TestApp::with_user_agent(CHROME_WINDOWS);
    let user = owner.signed_up_user().await;
    let laptop = TestApp::known_device(&user, FIREFOX_LINUX).await;

    let devices = devices_of(&owner.devices().await);

    assert_eq!(devices.len(), 2, "{devices:?}");
    let (this, other) = (&devices[0], &devices[1]);
    assert_eq!(this["current"], true);
    assert_eq!(this["id"], json!(owner.device_id()));
    assert_eq!(
        (this["browser"].as_str(), this["os"].as_str(), this["device"].as_str()),
        (Some("Chrome"), Some("Windows"), Some("desktop"))
    );
    assert_eq!(other["current"], false);
    assert_eq!(other["id"], json!(laptop.device_id()));
    assert_eq!((other["browser"].as_str(), other["os"].as_str()), (Some("Firefox"), Some("Linux")));
    for device in &devices {
        let mut keys: Vec<&str> = device.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let want = ["browser", "city", "country", "created_at", "current", "device", "id", "last_used_at", "os"];
        assert_eq!(keys, want, "{device}");
        assert!(device["created_at"].as_u64().unwrap() <= device["last_used_at"].as_u64().unwrap());
    }
}

#[tokio::test]
async fn the_others_are_listed_most_recently_used_first_and_a_sign_in_touches_its_device() {
    let mut owner = TestApp::with_user_agent(CHROME_WINDOWS);
    let user = owner.signed_up_user().await;
    let mut laptop = TestApp::known_device(&user, FIREFOX_LINUX).await;
    let phone = TestApp::known_device(&user, SAFARI_IPHONE).await;
    let laptop_id = laptop.device_id();
    let first_use = devices_of(&owner.devices().await).iter().find(|d| d["id"] == json!(laptop_id)).unwrap().clone();

    // A second apart, so the last use differs whatever the clock's second was.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(laptop.login(&user.email, &user.password).await.status, 200);

    let ids = ids_of(&owner.devices().await);
    assert_eq!(ids, [owner.device_id(), laptop_id.clone(), phone.device_id()]);
    let again = devices_of(&owner.devices().await).into_iter().find(|d| d["id"] == json!(laptop_id)).unwrap();
    assert_eq!(again["created_at"], first_use["created_at"]);
    assert!(again["last_used_at"].as_u64() > first_use["last_used_at"].as_u64(), "{first_use} then {again}");
}

#[tokio::test]
async fn a_browser_is_trusted_by_a_second_step_and_by_a_passkey_sign_in() {
    let mut owner = TestApp::at_localhost();
    let two_factor = user_with_two_factor(&mut owner).await;
    let mut phone = pending_sign_in(&two_factor.user).await;
    let code = oathtool(&two_factor.secret, steady_step().max(two_factor.step + 1));
    assert_eq!(phone.login_two_factor(json!({ "code": code })).await.status, 200);

    let mut key = Device::es256(&owner.base);
    let options = owner.passkey_registration_options().await;
    let added = owner.add_passkey(&key.create(&options.body).await, None).await;
    assert_eq!(added.status, 201, "{}", added.text);
    let mut tablet = TestApp::at_localhost();
    let options = tablet.passkey_sign_in_options().await;
    let signed_in = tablet.passkey_sign_in(&key.get(&options.body).await).await;
    assert_eq!(signed_in.status, 200, "{}", signed_in.text);

    let ids = ids_of(&owner.devices().await);
    assert_eq!(ids.len(), 3, "{ids:?}");
    assert!(ids.contains(&phone.device_id()) && ids.contains(&tablet.device_id()), "{ids:?}");
}

#[tokio::test]
async fn forgetting_another_device_needs_a_recent_confirmation() {
    let mut owner = TestApp::new();
    let user = owner.signed_up_user().await;
    let user_id = TestApp::user_id_of(&owner.me().await);
    let laptop = TestApp::known_device(&user, FIREFOX_LINUX).await;
    let mut stale = out_of_sudo(&owner, &user_id);

    stale.forget_device(&laptop.device_id()).await.assert_error(403, "reauth_required");
    assert_eq!(ids_of(&owner.devices().await).len(), 2, "nothing was forgotten");

    assert_eq!(stale.confirm(json!({ "password": user.password })).await.status, 204);
    let forgotten = stale.forget_device(&laptop.device_id()).await;
    assert_eq!(forgotten.status, 204, "{}", forgotten.text);
    assert_eq!(ids_of(&owner.devices().await), [owner.device_id()]);
}

#[tokio::test]
async fn forgetting_this_browser_needs_no_confirmation() {
    let mut owner = TestApp::new();
    owner.signed_up_user().await;
    let user_id = TestApp::user_id_of(&owner.me().await);
    let mut stale = out_of_sudo(&owner, &user_id);

    let forgotten = stale.forget_device(&owner.device_id()).await;

    assert_eq!(forgotten.status, 204, "{}", forgotten.text);
    assert!(devices_of(&owner.devices().await).is_empty());
    stale.forget_device(&owner.device_id()).await.assert_error(404, "not_found");
}

#[tokio::test]
async fn another_accounts_device_and_unknown_ids_are_not_found() {
    let mut owner = TestApp::new();
    owner.signed_up_user().await;
    let mut other = TestApp::new();
    other.signed_up_user().await;

    owner.forget_device(&other.device_id()).await.assert_error(404, "not_found");
    owner.forget_device("AAAAAAAAAAAAAAAAAAAAAA").await.assert_error(404, "not_found");

    assert_eq!(ids_of(&other.devices().await), [other.device_id()], "the other account's device stays");
    assert_eq!(ids_of(&owner.devices().await), [owner.device_id()]);
}

#[tokio::test]
async fn malformed_ids_are_not_found() {
    let mut owner = TestApp::new();
    owner.signed_up_user().await;
    let long = "A".repeat(43);
    for id in
        ["x", "AAAAAAAAAAAAAAAAAAAAA", "AAAAAAAAAAAAAAAAAAAAAAA", &long, "AAAAAAAAAAAAAAAAAAAA%2e", "..%2F..%2Fme"]
    {
        owner.forget_device(id).await.assert_error(404, "not_found");
    }
    assert_eq!(ids_of(&owner.devices().await), [owner.device_id()]);
}

#[tokio::test]
async fn a_cross_origin_forget_is_refused() {
    let mut owner = TestApp::new();
    owner.signed_up_user().await;
    let path = format!("/api/security/devices/{}", owner.device_id());

    let req = owner.raw(Method::DELETE, &path).header("Origin", "https://evil.example");
    owner.send(req).await.assert_error(403, "csrf_rejected");
    let req = owner.raw(Method::DELETE, &path).header("Sec-Fetch-Site", "cross-site");
    owner.send(req).await.assert_error(403, "csrf_rejected");

    assert_eq!(ids_of(&owner.devices().await), [owner.device_id()]);
}

#[tokio::test]
async fn forgetting_is_recorded_with_the_device_it_forgot() {
    let mut owner = TestApp::new();
    let user = owner.signed_up_user().await;
    let laptop = TestApp::known_device(&user, FIREFOX_LINUX).await;

    assert_eq!(owner.forget_device(&laptop.device_id()).await.status, 204);
    assert_eq!(owner.forget_device(&owner.device_id()).await.status, 204);

    let events = owner.events(None).await;
    let forgotten: Vec<&Value> =
        events.body["events"].as_array().unwrap().iter().filter(|e| e["type"] == "trusted_device_forgotten").collect();
    assert_eq!(forgotten.len(), 2, "{}", events.text);
    // Newest first: this browser, then the laptop.
    assert_eq!(
        forgotten[0]["detail"],
        json!({ "current": true, "device": "desktop", "browser": "Chrome", "os": "Windows" })
    );
    assert_eq!(
        forgotten[1]["detail"],
        json!({ "current": false, "device": "desktop", "browser": "Firefox", "os": "Linux" })
    );
    assert!(!events.text.contains(&laptop.device_id()), "no device id in the activity");
}

#[tokio::test]
async fn the_list_needs_a_session() {
    let mut stranger = TestApp::new();
    stranger.devices().await.assert_error(401, "unauthenticated");
    stranger.forget_device("AAAAAAAAAAAAAAAAAAAAAA").await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn a_device_forgotten_while_its_sign_in_waits_for_the_second_factor_must_start_again() {
    let mut owner = TestApp::at_localhost();
    let two_factor = user_with_two_factor(&mut owner).await;
    let mut phone = pending_sign_in(&two_factor.user).await;
    let code = oathtool(&two_factor.secret, steady_step().max(two_factor.step + 1));
    assert_eq!(phone.login_two_factor(json!({ "code": code })).await.status, 200, "the phone is trusted");
    let second = phone.login(&two_factor.user.email, &two_factor.user.password).await;
    assert_eq!(second.body, json!({ "two_factor_required": true }), "{}", second.text);

    assert_eq!(owner.forget_device(&phone.device_id()).await.status, 204);
    let recovery = &two_factor.recovery_codes[0];
    let late = phone.login_two_factor(json!({ "recovery_code": recovery })).await;

    late.assert_error(401, "unauthenticated");
    assert!(!ids_of(&owner.devices().await).contains(&phone.device_id()), "still forgotten");
    let mut laptop = pending_sign_in(&two_factor.user).await;
    let unspent = laptop.login_two_factor(json!({ "recovery_code": recovery })).await;
    assert_eq!(unspent.status, 200, "the recovery code was not spent: {}", unspent.text);
}

use crate::helpers::{
    kv_get, kv_keys, kv_put, now, plant_session, session_id_of, TestApp, CHROME_WINDOWS, FIREFOX_LINUX, SAFARI_IPHONE,
};

fn ids(response: &crate::helpers::TestResponse) -> Vec<String> {
    response.body["sessions"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn the_list_shows_each_device_with_its_browser_and_os_and_marks_the_current_one() {
    let mut windows = TestApp::with_user_agent(CHROME_WINDOWS);
    let user = windows.signed_up_user().await;
    let mut iphone = TestApp::with_user_agent(SAFARI_IPHONE);
    let mut linux = TestApp::with_user_agent(FIREFOX_LINUX);
    iphone.login(&user.email, &user.password).await;
    linux.login(&user.email, &user.password).await;

    let response = iphone.sessions().await;

    let sessions = response.body["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{}", response.text);
    assert_eq!(sessions[0]["current"], true);
    assert_eq!(
        (sessions[0]["browser"].as_str(), sessions[0]["os"].as_str(), sessions[0]["device"].as_str()),
        (Some("Safari"), Some("iOS"), Some("mobile"))
    );
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let find = |browser: &str| sessions.iter().find(|s| s["browser"] == browser).unwrap().clone();
    assert_eq!((find("Chrome")["os"].as_str(), find("Chrome")["device"].as_str()), (Some("Windows"), Some("desktop")));
    assert_eq!((find("Firefox")["os"].as_str(), find("Firefox")["device"].as_str()), (Some("Linux"), Some("desktop")));
    for s in sessions {
        for field in ["id", "sign_in_method", "created_at", "last_active_at", "expires_at"] {
            assert!(!s[field].is_null(), "{field} missing: {s}");
        }
        assert_eq!(s["sign_in_method"], "password");
    }
    assert_eq!(sessions[0]["id"], session_id_of(iphone.session.as_ref().unwrap()));
}

#[tokio::test]
async fn ending_another_session_stops_it_everywhere_at_once() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut other = TestApp::with_user_agent(SAFARI_IPHONE);
    other.login(&user.email, &user.password).await;
    let other_id = session_id_of(other.session.as_ref().unwrap());

    let response = app.end_session(&other_id).await;

    assert_eq!(response.status, 204, "{}", response.text);
    other.me().await.assert_error(401, "unauthenticated");
    other.sessions().await.assert_error(401, "unauthenticated");
    other.security().await.assert_error(401, "unauthenticated");
    assert!(!ids(&app.sessions().await).contains(&other_id));
    let events = app.events(None).await;
    assert!(
        events.body["events"].as_array().unwrap().iter().any(|e| e["type"] == "session_revoked"),
        "{}",
        events.text
    );
}

#[tokio::test]
async fn a_stale_edge_copy_of_an_ended_session_is_still_refused() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let user_id = TestApp::user_id_of(&app.me().await);
    let mut other = TestApp::with_user_agent(FIREFOX_LINUX);
    other.login(&user.email, &user.password).await;
    let other_id = session_id_of(other.session.as_ref().unwrap());
    let record = kv_get(&wemasy_security::kv_keys::session(&other_id)).expect("record");
    let index = kv_keys(&wemasy_security::kv_keys::session_index(&user_id, &other_id));
    let metadata = index[0]["metadata"].clone();

    app.end_session(&other_id).await;
    kv_put(&wemasy_security::kv_keys::session(&other_id), &record, None);
    kv_put(&wemasy_security::kv_keys::session_index(&user_id, &other_id), "", Some(&metadata));

    for response in [other.me().await, other.security().await, other.sessions().await, other.events(None).await] {
        response.assert_error(401, "unauthenticated");
    }
    assert!(!ids(&app.sessions().await).contains(&other_id));
    assert_eq!(app.security().await.body["sessions"]["active"], 1);
}

#[tokio::test]
async fn revoke_others_leaves_exactly_the_current_session_and_sign_in_works_after() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut others = Vec::new();
    for ua in [SAFARI_IPHONE, FIREFOX_LINUX] {
        let mut device = TestApp::with_user_agent(ua);
        device.login(&user.email, &user.password).await;
        others.push(device);
    }

    let response = app.revoke_others().await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["revoked"], 2);
    for device in &mut others {
        device.me().await.assert_error(401, "unauthenticated");
    }
    let list = app.sessions().await;
    assert_eq!(ids(&list).len(), 1, "{}", list.text);
    assert_eq!(list.body["sessions"][0]["current"], true);
    let mut again = TestApp::new();
    assert_eq!(again.login(&user.email, &user.password).await.status, 200);
    assert_eq!(again.me().await.status, 200);
    assert_eq!(ids(&app.sessions().await).len(), 2);
}

#[tokio::test]
async fn two_devices_signing_out_each_other_at_once_leave_exactly_one_session() {
    let mut laptop = TestApp::new();
    let user = laptop.signed_up_user().await;
    let mut phone = TestApp::with_user_agent(SAFARI_IPHONE);
    assert_eq!(phone.login(&user.email, &user.password).await.status, 200);

    let (a, b) = tokio::join!(laptop.revoke_others(), phone.revoke_others());

    let mut winners = 0;
    for (answer, app) in [(a, &mut laptop), (b, &mut phone)] {
        if answer.status == 200 {
            winners += 1;
            assert_eq!(app.me().await.status, 200, "the winner's new token works");
        } else {
            answer.assert_error(401, "unauthenticated");
            app.me().await.assert_error(401, "unauthenticated");
        }
    }
    assert_eq!(winners, 1, "one of two racing revoke-others wins; the other's session ended with it");
    let survivor = if laptop.me().await.status == 200 { &mut laptop } else { &mut phone };
    assert_eq!(ids(&survivor.sessions().await).len(), 1);
}

#[tokio::test]
async fn another_users_session_id_a_random_id_and_a_token_all_get_404() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let mut stranger = TestApp::new();
    stranger.signed_up_user().await;
    let stranger_id = session_id_of(stranger.session.as_ref().unwrap());
    let own_token = app.session.clone().unwrap();

    app.end_session(&stranger_id).await.assert_error(404, "not_found");
    app.end_session(&"A".repeat(43)).await.assert_error(404, "not_found");
    app.end_session(&own_token).await.assert_error(404, "not_found");
    app.end_session("..%2F..%2Fme").await.assert_error(404, "not_found");

    assert_eq!(stranger.me().await.status, 200);
    assert_eq!(app.me().await.status, 200);
}

#[tokio::test]
async fn ending_another_session_needs_a_recent_sign_in() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let user_id = TestApp::user_id_of(&app.me().await);
    let mut other = TestApp::new();
    other.login(&user.email, &user.password).await;
    let other_id = session_id_of(other.session.as_ref().unwrap());
    let t = now();
    let mut stale = TestApp::new();
    stale.session = Some(plant_session(&user_id, t, t, t + 86_400, 0));

    stale.end_session(&other_id).await.assert_error(403, "reauth_required");
    stale.revoke_others().await.assert_error(403, "reauth_required");

    assert_eq!(other.me().await.status, 200);
    assert_eq!(stale.end_session(&session_id_of(stale.session.as_ref().unwrap())).await.status, 204);
    stale.me().await.assert_error(401, "unauthenticated");
}

#[tokio::test]
async fn kv_keys_expire_and_sessions_past_their_lifetime_are_refused_before_kv_drops_them() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let user_id = TestApp::user_id_of(&app.me().await);
    let id = session_id_of(app.session.as_ref().unwrap());
    let t = now();

    let keys = kv_keys(&wemasy_security::kv_keys::session_index_prefix(&user_id));
    let record_key = kv_keys(&wemasy_security::kv_keys::session(&id));
    let idle_expired = plant_session(&user_id, t - 9 * 86_400, t - 8 * 86_400, t + 20 * 86_400, 0);
    let absolutely_expired = plant_session(&user_id, t - 31 * 86_400, t - 60, t - 1, 0);
    let fine = plant_session(&user_id, t, t, t + 86_400, 0);

    let expiration = keys[0]["expiration"].as_u64().expect("index key expires");
    assert!(expiration > t && expiration <= t + 7 * 86_400 + 60, "{expiration}");
    assert!(record_key[0]["expiration"].as_u64().is_some());
    for token in [idle_expired, absolutely_expired] {
        let mut device = TestApp::new();
        device.session = Some(token);
        device.me().await.assert_error(401, "unauthenticated");
    }
    let mut device = TestApp::new();
    device.session = Some(fine);
    assert_eq!(device.me().await.status, 200);
}

#[tokio::test]
async fn fifty_concurrent_sign_ins_all_appear_and_revoke_others_ends_the_49_others() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    app.logout().await;
    // Known devices of the owner, each with its own failure run: fifty concurrent attempts of
    // unknown clients would be held back at the strangers' threshold (counted before checked).
    let mut devices = Vec::new();
    for _ in 0..50 {
        devices.push(TestApp::known_device(&user, FIREFOX_LINUX).await);
    }

    let statuses = futures::future::join_all(devices.iter_mut().map(|d| {
        let (email, password) = (user.email.clone(), user.password.clone());
        async move { d.login(&email, &password).await.status }
    }))
    .await;

    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let first = &mut devices[0];
    let list = first.sessions().await;
    assert_eq!(ids(&list).len(), 50, "{}", list.text);
    let response = first.revoke_others().await;
    assert_eq!(response.body["revoked"], 49, "{}", response.text);
    assert_eq!(ids(&first.sessions().await).len(), 1);
    for device in devices.iter_mut().skip(1).step_by(7) {
        device.me().await.assert_error(401, "unauthenticated");
    }
}

#[tokio::test]
async fn last_activity_is_not_written_back_on_every_request() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let id = session_id_of(app.session.as_ref().unwrap());
    let before = kv_get(&wemasy_security::kv_keys::session(&id)).unwrap();
    let user_id = TestApp::user_id_of(&app.me().await);
    let t = now();
    let mut idle_a_while = TestApp::new();
    idle_a_while.session = Some(plant_session(&user_id, t - 600, t - 600, t + 86_400, 0));
    let planted_id = session_id_of(idle_a_while.session.as_ref().unwrap());

    for _ in 0..3 {
        app.me().await;
    }
    idle_a_while.me().await;

    assert_eq!(kv_get(&wemasy_security::kv_keys::session(&id)).unwrap(), before);
    let mut refreshed = None;
    for _ in 0..20 {
        let record: serde_json::Value =
            serde_json::from_str(&kv_get(&wemasy_security::kv_keys::session(&planted_id)).unwrap()).unwrap();
        refreshed = record["summary"]["last_active_at"].as_u64();
        if refreshed >= Some(t) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(refreshed >= Some(t), "last activity written back after 5 minutes: {refreshed:?}");
}

#[tokio::test]
async fn a_chromium_browser_is_named_by_its_client_hints() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let mut brave = TestApp::with_user_agent(CHROME_WINDOWS);
    let body = serde_json::json!({ "email": user.email, "password": user.password }).to_string();
    let req = brave
        .raw(reqwest::Method::POST, "/api/auth/login")
        .header("Origin", brave.base.clone())
        .header("Content-Type", "application/json")
        .header("Sec-CH-UA", r#""Brave";v="131", "Chromium";v="131", "Not_A Brand";v="24""#)
        .header("Sec-CH-UA-Platform", "\"Linux\"")
        .header("Sec-CH-UA-Mobile", "?0")
        .body(body);
    assert_eq!(brave.send(req).await.status, 200);

    let list = app.sessions().await;
    let other = list.body["sessions"].as_array().unwrap().iter().find(|s| s["current"] == false).cloned().unwrap();
    assert_eq!((other["browser"].as_str(), other["os"].as_str()), (Some("Brave"), Some("Linux")), "{}", list.text);
}

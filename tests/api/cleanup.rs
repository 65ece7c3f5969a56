use crate::helpers::{d1, now, random_hex, TestApp};

/// The daily cron (wrangler.toml `[triggers]`), fired through wrangler's `/__scheduled` hook.
async fn run_scheduled_cleanup(app: &mut TestApp) {
    let response = app.request(reqwest::Method::GET, "/__scheduled?cron=17+3+*+*+*", None).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

#[tokio::test]
async fn the_scheduled_cleanup_drops_expired_revocations_spent_challenges_and_events_older_than_90_days() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let user_id = TestApp::user_id_of(&app.me().await);
    let t = now();
    let (expired, live) = (random_hex(16), random_hex(16));
    d1(&format!(
        "INSERT INTO revoked_sessions (session_id, user_id, expires_at) VALUES ('{expired}', '{user_id}', {}), ('{live}', '{user_id}', {})",
        t - 10,
        t + 86_400
    ));
    d1(&format!(
        "INSERT INTO security_events (user_id, type, at, detail) VALUES ('{user_id}', 'sign_out', {}, '{{}}'), ('{user_id}', 'sign_out', {}, '{{}}')",
        t - 91 * 86_400,
        t - 89 * 86_400
    ));
    let flags = r#"{"method":"password","new_country":true,"sign_in":"0a"}"#;
    d1(&format!(
        "INSERT INTO security_events (user_id, type, at, ip, country, city, user_agent, network, latitude, longitude, detail) \
         VALUES ('{user_id}', 'sign_in', {}, '203.0.113.9', 'PT', 'Lisbon', 'Firefox', 'AS3243', 38.7, -9.1, '{flags}'), \
         ('{user_id}', 'sign_in', {}, '203.0.113.9', 'PT', 'Lisbon', 'Firefox', 'AS3243', 38.7, -9.1, '{flags}')",
        t - 91 * 86_400,
        t - 366 * 86_400
    ));
    let (spent, spending) = (random_hex(32), random_hex(32));
    d1(&format!(
        "INSERT INTO spent_challenges (challenge, spent_by, expires_at) VALUES ('{spent}', 'x', {}), ('{spending}', 'x', {})",
        t - 10,
        t + 300
    ));

    run_scheduled_cleanup(&mut app).await;

    let revoked = d1(&format!("SELECT session_id FROM revoked_sessions WHERE session_id IN ('{expired}', '{live}')"));
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0]["session_id"], live);
    let old_events = d1(&format!(
        "SELECT at FROM security_events WHERE user_id = '{user_id}' AND type = 'sign_out' AND at < {}",
        t - 60
    ));
    assert_eq!(old_events.len(), 1, "only the 89-day-old event stays");
    let sign_ins = d1(&format!(
        "SELECT at, ip, country, city, user_agent, network, latitude, longitude, detail FROM security_events \
         WHERE user_id = '{user_id}' AND type = 'sign_in'"
    ));
    let after_ninety_days = serde_json::json!([{
        "at": t - 91 * 86_400, "ip": null, "country": null, "city": null, "user_agent": null, "network": null,
        "latitude": null, "longitude": null, "detail": flags,
    }]);
    assert_eq!(serde_json::Value::from(sign_ins), after_ninety_days, "a sign-in keeps only its flags, for a year");
    let challenges =
        d1(&format!("SELECT challenge FROM spent_challenges WHERE challenge IN ('{spent}', '{spending}')"));
    assert_eq!(
        challenges,
        vec![serde_json::json!({ "challenge": spending })],
        "a challenge is kept while it could be answered"
    );
    assert_eq!(app.me().await.status, 200);
}

/// Signs up a fresh user and answers its id.
async fn new_user_id() -> String {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    TestApp::user_id_of(&app.me().await)
}

#[tokio::test]
async fn the_daily_run_moves_old_email_forms_to_the_normal_form_and_skips_a_collision() {
    let tag = random_hex(5);
    let (decomposed, sharp, taken, twin) =
        (new_user_id().await, new_user_id().await, new_user_id().await, new_user_id().await);
    // As addresses were stored before normalisation (trimmed and lower-cased, as typed), and a
    // pair that normalises to one address: the one already in normal form keeps it.
    let stored = [
        (&decomposed, format!("jose\u{301}.{tag}@example.com")),
        (&sharp, format!("gr\u{fc}\u{df}e.{tag}@example.com")),
        (&taken, format!("ana\u{ef}s.{tag}@example.com")),
        (&twin, format!("anai\u{308}s.{tag}@example.com")),
    ];
    for (id, email) in &stored {
        d1(&format!("UPDATE users SET email = '{email}' WHERE id = '{id}'"));
    }

    run_scheduled_cleanup(&mut TestApp::new()).await;

    let email_of = |id: &str| d1(&format!("SELECT email FROM users WHERE id = '{id}'"))[0]["email"].clone();
    assert_eq!(email_of(&decomposed), format!("jos\u{e9}.{tag}@example.com"));
    assert_eq!(email_of(&sharp), format!("gr\u{fc}sse.{tag}@example.com"));
    assert_eq!(email_of(&taken), format!("ana\u{ef}s.{tag}@example.com"));
    assert_eq!(email_of(&twin), format!("anai\u{308}s.{tag}@example.com"), "a collision is left as it is");
}

#[tokio::test]
async fn the_scheduled_cleanup_forgets_devices_unused_for_180_days() {
    let mut app = TestApp::new();
    app.signed_up_user().await;
    let user_id = TestApp::user_id_of(&app.me().await);
    let t = now();
    d1(&format!(
        "INSERT INTO trusted_devices (user_id, device_id, created_at, last_used_at, device, browser, os) VALUES \
         ('{user_id}', 'AAAAAAAAAAAAAAAAAAAAAA', {old}, {old}, 'desktop', 'Firefox', 'Linux'), \
         ('{user_id}', 'BBBBBBBBBBBBBBBBBBBBBB', {old}, {recent}, 'mobile', 'Safari', 'iOS')",
        old = t - 181 * 86_400,
        recent = t - 179 * 86_400
    ));

    run_scheduled_cleanup(&mut app).await;

    let ids: Vec<String> = app.devices().await.body["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, [app.device_id(), "BBBBBBBBBBBBBBBBBBBBBB".to_string()], "used 179 days ago: kept");
}

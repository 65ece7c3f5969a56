//! The worker's one JSON log line per request (`src/lib.rs`), read from the `wrangler dev` output
//! that `scripts/run-tests.sh` writes (path in `WEMASY_WORKER_LOG`): its format, and that no line
//! holds a password or session token (SPEC §5.9).

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::Value;

use crate::helpers::{random_hex, TestApp};

fn worker_log() -> String {
    let path = std::env::var("WEMASY_WORKER_LOG").expect("WEMASY_WORKER_LOG: run the API tests through `make test`");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("reading the worker log {path}: {e}"))
}

/// Every `{"msg":"request",...}` line of the log, parsed.
fn request_lines(log: &str) -> Vec<Value> {
    log.lines()
        .filter(|line| line.contains(r#""msg":"request""#))
        .map(|line| {
            let start = line.find('{').unwrap();
            serde_json::from_str(&line[start..]).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {line}"))
        })
        .collect()
}

/// Waits (the log is written asynchronously) until a request line matches `wanted`.
async fn wait_for_line(wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(line) = request_lines(&worker_log()).into_iter().find(|line| wanted(line)) {
            return line;
        }
        assert!(Instant::now() < deadline, "no matching request line in the worker log");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn every_request_writes_one_json_line_with_route_status_and_duration() {
    let mut app = TestApp::new();
    // An unknown path is its own route name, so a random one marks this test's request.
    let marker = format!("/api/observability-{}", random_hex(8));
    let response = app.request(Method::GET, &marker, None).await;
    assert_eq!(response.status, 404);

    let line = wait_for_line(|line| line["route"] == marker.as_str()).await;
    assert_eq!(line["method"], "GET");
    assert_eq!(line["status"], 404);
    assert!(line["duration_ms"].is_u64(), "duration_ms is a whole number of ms: {line}");
    let mut keys: Vec<&str> = line.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["duration_ms", "method", "msg", "route", "status"], "{line}");

    // Every request line of the whole run has the same shape.
    for line in request_lines(&worker_log()) {
        assert!(line["method"].is_string() && line["route"].is_string(), "{line}");
        assert!(line["status"].is_u64() && line["duration_ms"].is_u64(), "{line}");
    }
}

#[tokio::test]
async fn no_log_line_holds_a_password_or_session_token() {
    let mut app = TestApp::new();
    let user = app.signed_up_user().await;
    let signup_token = app.session.clone().expect("session cookie after sign-up");
    let response = app.login(&user.email, &user.password).await;
    assert_eq!(response.status, 200, "{}", response.text);
    let token = app.session.clone().expect("session cookie after sign-in");
    assert_eq!(app.me().await.status, 200);
    let wrong = format!("Wrong-{}-Password!", random_hex(6));
    assert_eq!(app.login(&user.email, &wrong).await.status, 401);

    // The requests above are logged; wait for a line of the last one before reading the log.
    let marker = format!("/api/observability-{}", random_hex(8));
    app.request(Method::GET, &marker, None).await;
    wait_for_line(|line| line["route"] == marker.as_str()).await;

    let log = worker_log();
    for (what, secret) in
        [("password", &user.password), ("wrong password", &wrong), ("token", &signup_token), ("token", &token)]
    {
        assert!(!log.contains(secret.as_str()), "the worker log holds the {what}");
    }
}

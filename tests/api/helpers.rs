//! `TestApp`: one method per endpoint, against the real worker that `scripts/run-tests.sh`
//! started in workerd; `TestUser`: a fresh random account per test. Cookies are kept by hand
//! (the `__Host-` cookies are `Secure`, and the worker is on plain loopback HTTP).

#![allow(dead_code)]

use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::HeaderMap;
use reqwest::{Client, Method};
use serde_json::{json, Value};

pub const CHROME_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
pub const SAFARI_IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
pub const FIREFOX_LINUX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0";

pub fn base_url() -> String {
    std::env::var("WEMASY_BASE_URL").unwrap_or_else(|_| "http://127.0.0.1:8790".into())
}

pub fn state_dir() -> String {
    std::env::var("WEMASY_STATE_DIR").expect("WEMASY_STATE_DIR: run the API tests through `make test`")
}

#[derive(Debug, Clone)]
pub struct TestUser {
    pub email: String,
    pub password: String,
    pub name: String,
}

const NAMES: [&str; 6] = ["Ada", "Grace", "Linus", "Zoë", "Barbara", "Niklaus"];

static COUNTER: AtomicU64 = AtomicU64::new(0);

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).unwrap();
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

impl TestUser {
    pub fn generate() -> Self {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tag = random_hex(6);
        Self {
            email: format!("user{n}.{tag}@example.com"),
            // Digits only: a hex tag can spell a name part ("ada"), which the rules refuse.
            password: format!("Blue-Harbor-{}-7!", u64::from_str_radix(&tag, 16).unwrap()),
            name: format!("Test Person {}", NAMES[(n as usize) % NAMES.len()]),
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
    pub body: Value,
}

impl TestResponse {
    /// The events of an events list without the mail pipeline's own records (`alert_sent`,
    /// `alert_failed`): those land a moment after the action that mailed, in any order with reads.
    pub fn account_events(&self) -> Vec<&Value> {
        let events = self.body["events"].as_array().map(Vec::as_slice).unwrap_or_default();
        events.iter().filter(|e| !e["type"].as_str().unwrap_or("").starts_with("alert_")).collect()
    }

    /// The newest of [`Self::account_events`]' types ("" when there is none).
    pub fn newest_account_event(&self) -> &str {
        self.account_events().first().and_then(|e| e["type"].as_str()).unwrap_or("")
    }

    pub fn error_code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    }

    /// The JSON error contract: `{"error": {"code", "message"}}` and the given status.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "status for {code}: {}", self.text);
        assert_eq!(self.error_code(), code, "{}", self.text);
        assert!(self.body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{}", self.text);
        assert!(self.header("content-type").unwrap_or("").starts_with("application/json"));
    }
}

pub struct TestApp {
    pub base: String,
    client: Client,
    pub session: Option<String>,
    pub pending: Option<String>,
    /// The `__Host-device` cookie this browser holds, once a sign-in completed.
    pub device: Option<String>,
    /// D1's bookmark of this client's last write, sent back as a browser would.
    pub bookmark: Option<String>,
    /// `__Host-bound`: a device-bound session's short-lived cookie (DBSC).
    pub bound: Option<String>,
    pub user_agent: String,
    /// The client address the worker sees (`CF-Connecting-IP`): each app is its own client, so
    /// the per-address limit of failed sign-ins never couples tests.
    pub ip: String,
    /// Where the worker believes the client is (`X-Test-Place: PT; Lisbon; AS3243`, honoured only
    /// under the tests' `TEST_PLACES`): each app is somewhere of its own unless a test says.
    pub place: String,
}

impl Default for TestApp {
    fn default() -> Self {
        Self::new()
    }
}

impl TestApp {
    pub fn new() -> Self {
        Self::with_user_agent(CHROME_WINDOWS)
    }

    pub fn with_user_agent(user_agent: &str) -> Self {
        Self::at(base_url(), user_agent)
    }

    /// The same worker as `http://localhost:{port}`: WebAuthn takes the rp id from the host, and
    /// an IP address is no valid rp id (browsers and authenticators refuse it).
    pub fn at_localhost() -> Self {
        Self::at(base_url().replace("127.0.0.1", "localhost"), CHROME_WINDOWS)
    }

    pub fn at(base: String, user_agent: &str) -> Self {
        // No pooled connections: a test that pauses (e.g. for a wrangler call) would otherwise reuse
        // a keep-alive connection the server has already closed.
        // A time limit: a lost response fails its test instead of hanging the whole run.
        let loopback = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(0)
            .timeout(std::time::Duration::from_secs(120))
            .resolve("localhost", loopback)
            .build()
            .unwrap();
        Self {
            base,
            client,
            session: None,
            pending: None,
            device: None,
            bookmark: None,
            bound: None,
            user_agent: user_agent.into(),
            ip: random_ip(),
            place: "NL; Amsterdam; AS1136".into(),
        }
    }

    /// Another device: same server, no cookies.
    pub fn another_device(&self, user_agent: &str) -> Self {
        Self::at(self.base.clone(), user_agent)
    }

    fn cookie_header(&self) -> Option<String> {
        let mut parts = Vec::new();
        if let Some(s) = &self.session {
            parts.push(format!("__Host-session={s}"));
        }
        if let Some(p) = &self.pending {
            parts.push(format!("__Host-pending={p}"));
        }
        if let Some(d) = &self.device {
            parts.push(format!("__Host-device={d}"));
        }
        if let Some(b) = &self.bookmark {
            parts.push(format!("__Host-d1-bookmark={b}"));
        }
        if let Some(b) = &self.bound {
            parts.push(format!("__Host-bound={b}"));
        }
        (!parts.is_empty()).then(|| parts.join("; "))
    }

    fn remember_cookies(&mut self, headers: &HeaderMap) {
        for value in headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let (pair, attributes) = value.split_once(';').unwrap_or((value, ""));
            let Some((name, token)) = pair.split_once('=') else { continue };
            let cleared = token.is_empty() || attributes.contains("Max-Age=0");
            let slot = match name.trim() {
                "__Host-session" => &mut self.session,
                "__Host-pending" => &mut self.pending,
                "__Host-device" => &mut self.device,
                "__Host-d1-bookmark" => &mut self.bookmark,
                "__Host-bound" => &mut self.bound,
                _ => continue,
            };
            *slot = if cleared { None } else { Some(token.to_string()) };
        }
    }

    /// Any request, as the page would send it (same-origin `Origin`, JSON, this app's cookies).
    pub async fn request(&mut self, method: Method, path: &str, body: Option<Value>) -> TestResponse {
        let mut req = self
            .client
            .request(method.clone(), format!("{}{path}", self.base))
            .header("User-Agent", &self.user_agent)
            .header("CF-Connecting-IP", &self.ip)
            .header("X-Test-Place", &self.place);
        if method != Method::GET && method != Method::HEAD {
            req = req.header("Origin", &self.base);
        }
        if let Some(cookie) = self.cookie_header() {
            req = req.header("Cookie", cookie);
        }
        if let Some(body) = body {
            req = req.header("Content-Type", "application/json").body(body.to_string());
        }
        self.send(req).await
    }

    pub async fn send(&mut self, req: reqwest::RequestBuilder) -> TestResponse {
        // The local dev proxy in front of workerd answers 503 "worker restarted mid-request"
        // itself (never the worker) when workerd swaps the worker under a burst of requests;
        // such a request never got its answer, so it is sent once more.
        let again = req.try_clone();
        let mut response = req.send().await.expect("worker unreachable");
        if response.status() == 503 && !is_json(&response) {
            if let Some(again) = again {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                response = again.send().await.expect("worker unreachable");
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        self.remember_cookies(&headers);
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        TestResponse { status, headers, text, body }
    }

    /// A raw builder for abuse cases: nothing is added but this app's cookies.
    pub fn raw(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .header("User-Agent", &self.user_agent)
            .header("CF-Connecting-IP", &self.ip)
            .header("X-Test-Place", &self.place);
        if let Some(cookie) = self.cookie_header() {
            req = req.header("Cookie", cookie);
        }
        req
    }

    pub async fn signup(&mut self, user: &TestUser) -> TestResponse {
        self.request(
            Method::POST,
            "/api/auth/signup",
            Some(json!({ "email": user.email, "password": user.password, "name": user.name })),
        )
        .await
    }

    pub async fn login(&mut self, email: &str, password: &str) -> TestResponse {
        self.request(Method::POST, "/api/auth/login", Some(json!({ "email": email, "password": password }))).await
    }

    pub async fn login_two_factor(&mut self, body: Value) -> TestResponse {
        self.request(Method::POST, "/api/auth/login/two-factor", Some(body)).await
    }

    pub async fn confirm(&mut self, body: Value) -> TestResponse {
        self.request(Method::POST, "/api/auth/confirm", Some(body)).await
    }

    pub async fn logout(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/auth/logout", None).await
    }

    pub async fn me(&mut self) -> TestResponse {
        self.request(Method::GET, "/api/me", None).await
    }

    pub async fn security(&mut self) -> TestResponse {
        self.request(Method::GET, "/api/security", None).await
    }

    pub async fn change_password(&mut self, body: Value) -> TestResponse {
        self.request(Method::PUT, "/api/security/password", Some(body)).await
    }

    pub async fn two_factor_setup(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/security/two-factor/setup", None).await
    }

    pub async fn two_factor_enable(&mut self, code: &str) -> TestResponse {
        self.request(Method::POST, "/api/security/two-factor/enable", Some(json!({ "code": code }))).await
    }

    pub async fn two_factor_disable(&mut self, body: Value) -> TestResponse {
        self.request(Method::POST, "/api/security/two-factor/disable", Some(body)).await
    }

    pub async fn regenerate_recovery_codes(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/security/two-factor/recovery-codes", None).await
    }

    pub async fn sessions(&mut self) -> TestResponse {
        self.request(Method::GET, "/api/security/sessions", None).await
    }

    pub async fn end_session(&mut self, id: &str) -> TestResponse {
        self.request(Method::DELETE, &format!("/api/security/sessions/{id}"), None).await
    }

    pub async fn revoke_others(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/security/sessions/revoke-others", None).await
    }

    pub async fn devices(&mut self) -> TestResponse {
        self.request(Method::GET, "/api/security/devices", None).await
    }

    pub async fn forget_device(&mut self, id: &str) -> TestResponse {
        self.request(Method::DELETE, &format!("/api/security/devices/{id}"), None).await
    }

    /// The device id of this browser's `__Host-device` cookie (`user . device . signature`).
    pub fn device_id(&self) -> String {
        let cookie = self.device.as_deref().expect("this browser holds a device cookie");
        cookie.split('.').nth(1).expect("user . device . signature").to_string()
    }

    pub async fn events(&mut self, limit: Option<u32>) -> TestResponse {
        let path = match limit {
            Some(l) => format!("/api/security/events?limit={l}"),
            None => "/api/security/events".into(),
        };
        self.request(Method::GET, &path, None).await
    }

    pub async fn passkey_sign_in_options(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/auth/passkey/options", None).await
    }

    pub async fn passkey_sign_in(&mut self, credential: &Value) -> TestResponse {
        self.request(Method::POST, "/api/auth/passkey/login", Some(json!({ "credential": credential }))).await
    }

    pub async fn passkey_second_step_options(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/auth/passkey/two-factor/options", None).await
    }

    pub async fn passkey_second_step(&mut self, credential: &Value) -> TestResponse {
        self.request(Method::POST, "/api/auth/passkey/two-factor", Some(json!({ "credential": credential }))).await
    }

    pub async fn passkey_confirm_options(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/auth/passkey/confirm/options", None).await
    }

    pub async fn passkey_confirm(&mut self, credential: &Value) -> TestResponse {
        self.request(Method::POST, "/api/auth/passkey/confirm", Some(json!({ "credential": credential }))).await
    }

    pub async fn passkeys(&mut self) -> TestResponse {
        self.request(Method::GET, "/api/security/passkeys", None).await
    }

    pub async fn passkey_registration_options(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/security/passkeys/options", None).await
    }

    /// Options for a conditional create (`{"mediation": "conditional"}`).
    pub async fn passkey_registration_options_with(&mut self, body: Value) -> TestResponse {
        self.request(Method::POST, "/api/security/passkeys/options", Some(body)).await
    }

    pub async fn add_passkey(&mut self, credential: &Value, name: Option<&str>) -> TestResponse {
        let body = match name {
            Some(name) => json!({ "credential": credential, "name": name }),
            None => json!({ "credential": credential }),
        };
        self.request(Method::POST, "/api/security/passkeys", Some(body)).await
    }

    pub async fn rename_passkey(&mut self, id: &str, name: &str) -> TestResponse {
        self.request(Method::PATCH, &format!("/api/security/passkeys/{id}"), Some(json!({ "name": name }))).await
    }

    pub async fn remove_passkey(&mut self, id: &str) -> TestResponse {
        self.request(Method::DELETE, &format!("/api/security/passkeys/{id}"), None).await
    }

    /// `POST /api/auth/dbsc/register`, as the browser sends it: no body, the proof in a header.
    pub async fn dbsc_register(&mut self, proof: &str) -> TestResponse {
        let req =
            self.raw(Method::POST, "/api/auth/dbsc/register").header("Secure-Session-Response", format!("\"{proof}\""));
        self.send(req).await
    }

    /// `POST /api/auth/dbsc/refresh` for the bound session `id`, with a proof or without.
    pub async fn dbsc_refresh(&mut self, id: &str, proof: Option<&str>) -> TestResponse {
        let mut req =
            self.raw(Method::POST, "/api/auth/dbsc/refresh").header("Sec-Secure-Session-Id", format!("\"{id}\""));
        if let Some(proof) = proof {
            req = req.header("Secure-Session-Response", format!("\"{proof}\""));
        }
        self.send(req).await
    }

    pub async fn verify_email(&mut self, token: &str) -> TestResponse {
        self.request(Method::POST, "/api/auth/verify-email", Some(json!({ "token": token }))).await
    }

    pub async fn resend_verification(&mut self) -> TestResponse {
        self.request(Method::POST, "/api/security/email/verification", None).await
    }

    pub async fn change_email(&mut self, email: &str) -> TestResponse {
        self.request(Method::PUT, "/api/security/email", Some(json!({ "email": email }))).await
    }

    pub async fn set_alerts(&mut self, new_sign_in: bool) -> TestResponse {
        self.request(Method::PUT, "/api/security/alerts", Some(json!({ "new_sign_in": new_sign_in }))).await
    }

    pub async fn request_password_reset(&mut self, email: &str) -> TestResponse {
        self.request(Method::POST, "/api/auth/password-reset", Some(json!({ "email": email }))).await
    }

    pub async fn check_password_reset(&mut self, token: &str) -> TestResponse {
        self.request(Method::POST, "/api/auth/password-reset/check", Some(json!({ "token": token }))).await
    }

    pub async fn complete_password_reset(&mut self, token: &str, new_password: &str) -> TestResponse {
        let body = json!({ "token": token, "new_password": new_password });
        self.request(Method::POST, "/api/auth/password-reset/complete", Some(body)).await
    }

    pub async fn not_me(&mut self, token: &str) -> TestResponse {
        self.request(Method::POST, "/api/auth/not-me", Some(json!({ "token": token }))).await
    }

    /// Another browser that once completed a sign-in of `user` (so it holds a device cookie and
    /// its attempts count in its own failure run) and then signed out.
    pub async fn known_device(user: &TestUser, user_agent: &str) -> Self {
        let mut device = Self::with_user_agent(user_agent);
        let response = device.login(&user.email, &user.password).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert!(device.device.is_some(), "a completed sign-in sets __Host-device");
        device.logout().await;
        device
    }

    /// Another browser of `user` on the worker at `base`, signed in with the password (a
    /// session of its own, sudo open, and its device cookie).
    pub async fn signed_in_device(user: &TestUser, user_agent: &str, base: &str) -> Self {
        let mut device = Self::at(base.to_string(), user_agent);
        let response = device.login(&user.email, &user.password).await;
        assert_eq!(response.status, 200, "{}", response.text);
        assert!(device.session.is_some());
        device
    }

    /// Signs up a fresh random user on this app and answers it.
    pub async fn signed_up_user(&mut self) -> TestUser {
        let user = TestUser::generate();
        let response = self.signup(&user).await;
        assert_eq!(response.status, 201, "{}", response.text);
        user
    }

    pub fn user_id_of(response: &TestResponse) -> String {
        response.body["user"]["id"].as_str().expect("user id").to_string()
    }
}

fn is_json(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// base64url(SHA-256(token)), as the worker derives a session id.
pub fn session_id_of(token: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()))
}

/// Runs a wrangler command on the worker's local state. The running worker holds the SQLite
/// files too, so a busy database (which wrangler reports in several ways) is retried.
fn wrangler(args: &[&str]) -> String {
    let mut last = String::new();
    for attempt in 0..8 {
        let output = Command::new("node_modules/.bin/wrangler")
            .args(args)
            .args(["--local", "--persist-to", &state_dir()])
            .env("WRANGLER_SEND_METRICS", "false")
            .output()
            .expect("wrangler runs");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        if output.status.success() {
            return stdout;
        }
        last = format!("{stdout}{}", String::from_utf8_lossy(&output.stderr));
        std::thread::sleep(std::time::Duration::from_millis(200 * (attempt + 1)));
    }
    panic!("wrangler {args:?} failed: {last}");
}

fn json_in(stdout: &str) -> Value {
    let start = stdout.find(['[', '{']).unwrap_or(0);
    serde_json::from_str(&stdout[start..]).unwrap_or_else(|e| panic!("no JSON in wrangler output ({e}): {stdout}"))
}

/// Rows of a query against the worker's local D1, read straight from its state.
pub fn d1(sql: &str) -> Vec<Value> {
    let out = json_in(&wrangler(&["d1", "execute", "DB", "--json", "--command", sql]));
    out[0]["results"].as_array().cloned().unwrap_or_default()
}

/// Every KV key with its expiration and metadata.
pub fn kv_keys(prefix: &str) -> Vec<Value> {
    let out = json_in(&wrangler(&["kv", "key", "list", "--binding", "SESSIONS", "--prefix", prefix]));
    out.as_array().cloned().unwrap_or_default()
}

pub fn kv_get(key: &str) -> Option<String> {
    let output = Command::new("node_modules/.bin/wrangler")
        .args(["kv", "key", "get", "--binding", "SESSIONS", key, "--local", "--persist-to", &state_dir(), "--text"])
        .env("WRANGLER_SEND_METRICS", "false")
        .output()
        .expect("wrangler runs");
    let text = String::from_utf8_lossy(&output.stdout).trim().to_string();
    (output.status.success() && !text.is_empty() && text != "Value not found").then_some(text)
}

/// Writes a KV key as an edge location would still hold it.
pub fn kv_put(key: &str, value: &str, metadata: Option<&Value>) {
    let meta = metadata.map(Value::to_string);
    // wrangler takes an empty positional value as missing: values go through a file.
    let file = std::env::temp_dir().join(format!("kv-value-{}", random_hex(8)));
    std::fs::write(&file, value).unwrap();
    let path = file.to_string_lossy().to_string();
    let mut args = vec!["kv", "key", "put", "--binding", "SESSIONS", key, "--path", &path, "--ttl", "3600"];
    if let Some(m) = &meta {
        args.extend(["--metadata", m.as_str()]);
    }
    wrangler(&args);
    let _ = std::fs::remove_file(file);
}

/// A random address from the documentation ranges (never contacted: it is only a header).
pub fn random_ip() -> String {
    let mut b = [0u8; 3];
    getrandom::fill(&mut b).unwrap();
    format!("198.{}.{}.{}", 18 + (b[0] & 1), b[1], b[2].max(1))
}

pub fn now() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs()
}

/// Plants a session straight into KV, as the worker would have written it, and answers its
/// token: for lifetimes and sudo windows that a test cannot wait for.
pub fn plant_session(user_id: &str, issued_at: u64, last_active_at: u64, expires_at: u64, sudo_until: u64) -> String {
    let token = {
        use base64::Engine;
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).unwrap();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    };
    let id = session_id_of(&token);
    let summary = json!({
        "device": "desktop", "browser": "Chrome", "os": "Windows", "ip": "203.0.113.9", "city": "Lisbon",
        "country": "PT", "sign_in_method": "password", "issued_at": issued_at, "created_at": issued_at,
        "last_active_at": last_active_at, "expires_at": expires_at,
    });
    let record = json!({ "user_id": user_id, "issued_at": issued_at, "sudo_until": sudo_until, "summary": summary });
    kv_put(&wemasy_security::kv_keys::session(&id), &record.to_string(), None);
    kv_put(&wemasy_security::kv_keys::session_index(user_id, &id), "", Some(&summary));
    token
}

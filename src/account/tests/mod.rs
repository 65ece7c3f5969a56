//! Host tests of the use cases, against the in-memory store (`storage::memory`), called exactly as
//! the routes call them. A [`World`] is one deployment (a store, a `SECRET_KEY`, a clock); a
//! [`Browser`] is one client with its cookies and address. Races are use-case futures run together
//! (`join!`, `join_all`): the store yields at every call, so they interleave as concurrent requests
//! do against D1.

/// A session route served as `routes::handle` serves it, as a future (for races): `serve!(cx,
/// token, "METHOD /path", |cx, current| use_case(cx, &current, …))` answers the use case's answer,
/// or why the route answered before it.
macro_rules! serve {
    ($cx:expr, $token:expr, $route:expr, |$c:ident, $current:ident| $body:expr) => {
        async {
            let $c: &$crate::account::tests::TestCx = $cx;
            match $crate::account::tests::check($c, $token, $route).await {
                Ok($current) => {
                    let answer = $body.await;
                    $crate::account::tests::finish($c, &$current).await;
                    Ok(answer)
                }
                Err(denied) => Err(denied),
            }
        }
    };
}

/// One request of a browser to a session route, answered and settled: `request!(world, &mut
/// browser, "METHOD /path", |cx, current| use_case(cx, &current, …))`.
macro_rules! request {
    ($world:expr, $browser:expr, $route:expr, |$c:ident, $current:ident| $body:expr) => {{
        let browser: &mut $crate::account::tests::Browser = $browser;
        let cx = $world.cx(browser);
        let (token, bound) = (browser.session.clone(), browser.bound.clone());
        let answer = $world.run(serve!(&cx, (token.as_deref(), bound.as_deref()), $route, |$c, $current| $body));
        $world.done(&cx, browser);
        answer
    }};
}

/// Asserts that `result` is the error `pattern` (the answers of use cases are not `Debug`).
macro_rules! assert_err {
    ($result:expr, $pattern:pat) => {
        match &$result {
            Err($pattern) => {}
            Err(other) => panic!("expected {}, got Err({other:?})", stringify!($pattern)),
            Ok(_) => panic!("expected {}, got Ok", stringify!($pattern)),
        }
    };
}

mod activity;
mod attempts;
mod breaches;
mod device_bound;
mod devices;
mod email;
mod keys;
mod passkeys;
mod password;
mod races;
mod scheduled;
mod sessions;
mod signing_in;
mod two_factor;
mod unfamiliar;

use std::cell::Cell;
use std::future::Future;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use futures::executor::block_on;

use super::attempts::Attempt;
use super::factors::SecondFactor;
use crate::account::sign_in::{self as signing, PasswordStep, SecondStepDone, SignedIn};
use crate::app::{Cx, Effects, Facts, Secrets, SessionCookie};
use crate::auth::session::{self, CurrentSession, DeviceProof, WithCheck};
use crate::config::Config;
use crate::domain::password::HashParams;
use crate::domain::throttle::ThrottlePolicy;
use crate::domain::{base32, client_address, totp, user_agent};
use crate::routes::{self, Access};
use crate::storage::attempts::Budget;
use crate::storage::events::Origin;
use crate::storage::memory::{MemoryStore, State};

/// When every world starts (a Tuesday in June 2025).
pub const T0: u64 = 1_750_000_000;
/// A password the rules accept, and another one.
pub const PASSWORD: &str = "Tr0ub4dor&3-staple-Quartz";
pub const NEW_PASSWORD: &str = "Gl4cier!Lantern-Orbit-92";
pub const WRONG: &str = "not-the-password-1A!";
pub const NAME: &str = "Ada Lovelace";
pub const CHROME: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/132.0.0.0 Safari/537.36";

/// argon2id light enough for tests (the rules and flows do not depend on its cost).
const FAST: HashParams = HashParams { memory_kib: 64, iterations: 1, parallelism: 1 };

pub type TestCx = Cx<MemoryStore>;

/// One deployment: its storage, its `SECRET_KEY` (random per world) and its clock.
pub struct World {
    pub store: MemoryStore,
    now: Cell<u64>,
    pub secret_key: String,
    /// `SECRET_KEY_PREVIOUS` (during a rotation).
    pub previous_key: Option<String>,
    pub config: Config,
}

/// A browser: where it is, what it says it is, and its cookies.
#[derive(Debug, Clone)]
pub struct Browser {
    pub ip: String,
    pub user_agent: String,
    /// `__Host-session`.
    pub session: Option<String>,
    /// `__Host-device`.
    pub device: Option<String>,
    /// `__Host-pending`.
    pub pending: Option<String>,
    /// `__Host-bound`: a device-bound session's short cookie (DBSC).
    pub bound: Option<String>,
    /// Where Cloudflare places it: country, city, network and coordinates.
    pub place: Place,
}

/// A client's place, as `request.cf` would give it.
#[derive(Debug, Clone)]
pub struct Place {
    pub country: &'static str,
    pub city: &'static str,
    pub network: &'static str,
    pub coordinates: (f64, f64),
}

pub const AMSTERDAM: Place = Place { country: "NL", city: "Amsterdam", network: "AS1136", coordinates: (52.37, 4.9) };

impl Browser {
    pub fn at(ip: &str) -> Self {
        Self {
            ip: ip.into(),
            user_agent: CHROME.into(),
            session: None,
            device: None,
            pending: None,
            bound: None,
            place: AMSTERDAM,
        }
    }

    /// The same browser with another address (the cookies go with it).
    pub fn moved_to(&self, ip: &str) -> Self {
        Self { ip: ip.into(), ..self.clone() }
    }
}

/// Why a route answered before its use case ran.
#[derive(Debug, PartialEq, Eq)]
pub enum Denied {
    SignedOut,
    ReauthRequired,
    /// A device-bound session without its short cookie (401 device_proof_required).
    WithoutDeviceProof,
}

/// A random `SECRET_KEY` (32 bytes, base64).
pub fn new_secret_key() -> String {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("randomness");
    STANDARD.encode(key)
}

impl World {
    pub fn new() -> Self {
        let config = Config {
            session_idle_seconds: 7 * 24 * 3600,
            session_absolute_seconds: 30 * 24 * 3600,
            sudo_seconds: 600,
            last_active_write_seconds: 300,
            pending_sign_in_seconds: 300,
            hash_params: FAST,
            throttle: ThrottlePolicy::DEFAULT,
            totp_issuer: "WEMASY".into(),
            site_url: "https://wemasy.test".into(),
            mail_from: "security@wemasy.test".into(),
            test_places: false,
            bound_cookie_seconds: 600,
            pwned_range_url: "https://pwned.test/range/".into(),
        };
        let (store, secret_key) = (MemoryStore::new(T0), new_secret_key());
        Self { store, now: Cell::new(T0), secret_key, previous_key: None, config }
    }

    pub fn now(&self) -> u64 {
        self.now.get()
    }

    pub fn advance(&self, seconds: u64) {
        self.now.set(self.now.get() + seconds);
        self.store.set_now(self.now.get());
    }

    /// A new browser at its own address.
    pub fn browser(&self) -> Browser {
        Browser::at("203.0.113.10")
    }

    /// A request of `browser`, now.
    pub fn cx(&self, browser: &Browser) -> TestCx {
        self.cx_with(browser, self.secrets())
    }

    /// `SECRET_KEY` and `SECRET_KEY_PREVIOUS` as this world's worker has them.
    pub fn secrets(&self) -> Secrets {
        Secrets { current: Some(self.secret_key.clone()), previous: self.previous_key.clone() }
    }

    pub fn cx_with(&self, browser: &Browser, secrets: Secrets) -> TestCx {
        let origin = Origin {
            ip: Some(browser.ip.clone()),
            country: Some(browser.place.country.into()),
            city: Some(browser.place.city.into()),
            network: Some(browser.place.network.into()),
            latitude: Some(browser.place.coordinates.0),
            longitude: Some(browser.place.coordinates.1),
            user_agent: browser.user_agent.clone(),
        };
        let device = user_agent::parse_with_hints(&origin.user_agent, &Default::default());
        let facts = Facts {
            now: self.now(),
            config: self.config.clone(),
            origin,
            device,
            address_key: client_address::counted_as(Some(&browser.ip)),
            secrets,
            request_id: crate::domain::tokens::new_id().expect("randomness"),
        };
        Cx { facts, store: self.store.clone(), effects: Effects::default() }
    }

    pub fn run<F: Future>(&self, future: F) -> F::Output {
        block_on(future)
    }

    /// The answer reaches the browser (its session cookie) and the work after it runs.
    pub fn done(&self, cx: &TestCx, browser: &mut Browser) {
        take_cookie(cx, browser);
        block_on(cx.effects.settle());
    }

    /// The keys as this world's requests load them.
    pub fn keys(&self) -> crate::domain::secrets::Keyring {
        let cx = self.cx(&self.browser());
        block_on(crate::account::keys::load(&cx)).expect("the keys")
    }

    pub fn look<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        self.store.look(read)
    }
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

/// What the answer did to the session cookie, applied to the browser.
pub fn take_cookie(cx: &TestCx, browser: &mut Browser) {
    match cx.effects.take_session_cookie() {
        Some(SessionCookie::Issue { token, .. } | SessionCookie::Refresh { token, .. }) => {
            browser.session = Some(token)
        }
        Some(SessionCookie::Clear) => browser.session = None,
        None => {}
    }
}

/// What a completed second step gives the browser: a sign-in's device cookie.
pub fn keep_device_of(browser: &mut Browser, done: &SecondStepDone) {
    if let SecondStepDone::SignedIn(signed_in) = done {
        keep_device(browser, signed_in);
    }
}

/// What a signed-in answer gives the browser besides the session: its device cookie.
pub fn keep_device(browser: &mut Browser, signed_in: &SignedIn) {
    if let Some(cookie) = &signed_in.device_cookie {
        browser.device = Some(cookie.0.clone());
    }
}

/// How the route table says a route is served: what its session check reads, and whether it needs
/// the sudo window.
#[derive(Clone, Copy)]
pub struct Serving {
    pub with: WithCheck,
    pub sudo: bool,
}

/// The route `"METHOD /path"` of the real route table.
pub fn route(name: &str) -> Serving {
    let (method, path) = name.split_once(' ').expect("METHOD /path");
    let route = routes::table().into_iter().find(|r| r.method.to_string() == method && r.path == path);
    let route = route.unwrap_or_else(|| panic!("no route {name}"));
    let sudo = matches!(route.access, Access::Sudo(_));
    assert!(!matches!(route.access, Access::Public(_)), "{name} needs no session");
    Serving { with: route.with_check, sudo }
}

/// The session check of the route `name`, as `routes::handle` makes it: what the route reads or
/// reserves with it, and the sudo window (an attempt reserved for a request refused there goes back).
pub async fn check<'a>(cx: &TestCx, cookies: impl Into<Cookies<'a>>, name: &str) -> Result<CurrentSession, Denied> {
    let (serving, Cookies(token, bound)) = (route(name), cookies.into());
    let current = match session::current(cx, token, DeviceProof::Cookie(bound), serving.with).await {
        Ok(current) => current,
        Err(session::Error::SignedOut) => return Err(Denied::SignedOut),
        Err(session::Error::WithoutDeviceProof) => return Err(Denied::WithoutDeviceProof),
        Err(error) => panic!("the session check failed: {error}"),
    };
    if serving.sudo && !current.in_sudo_window(cx.now()) {
        finish(cx, &current).await;
        return Err(Denied::ReauthRequired);
    }
    Ok(current)
}

/// The cookies a request shows for its session: `__Host-session` and `__Host-bound`.
pub struct Cookies<'a>(pub Option<&'a str>, pub Option<&'a str>);

impl<'a> From<Option<&'a str>> for Cookies<'a> {
    fn from(token: Option<&'a str>) -> Self {
        Self(token, None)
    }
}

impl<'a> From<(Option<&'a str>, Option<&'a str>)> for Cookies<'a> {
    fn from((token, bound): (Option<&'a str>, Option<&'a str>)) -> Self {
        Self(token, bound)
    }
}

/// After the handler: the attempt the check reserved and nobody claimed goes back.
pub async fn finish(cx: &TestCx, current: &CurrentSession) {
    if let Some(unclaimed) = current.unclaimed_attempt() {
        Attempt::hand_back_unclaimed(cx, unclaimed).await.expect("handing back");
    }
}

impl World {
    /// The session the browser holds, as `GET /api/me` sees it.
    pub fn me(&self, browser: &mut Browser) -> Result<CurrentSession, Denied> {
        let cx = self.cx(browser);
        let current = block_on(check(&cx, (browser.session.as_deref(), browser.bound.as_deref()), "GET /api/me"));
        self.done(&cx, browser);
        current
    }
}

/// Signing up and in.
impl World {
    pub fn sign_up_as(&self, browser: &mut Browser, email: &str, password: &str) -> Result<SignedIn, signing::Error> {
        let cx = self.cx(browser);
        let answer = block_on(signing::sign_up(&cx, email, password, NAME));
        self.done(&cx, browser);
        if let Ok(signed_in) = &answer {
            keep_device(browser, signed_in);
        }
        answer
    }

    /// A new account of `email`, signed in on a new browser.
    pub fn sign_up(&self, email: &str) -> Browser {
        let mut browser = self.browser();
        self.sign_up_as(&mut browser, email, PASSWORD).expect("signed up");
        browser
    }

    /// `POST /api/auth/login`: the session (and device) cookie, or the pending one.
    pub fn sign_in(&self, browser: &mut Browser, email: &str, password: &str) -> Result<PasswordStep, signing::Error> {
        let cx = self.cx(browser);
        let answer = block_on(signing::with_password(&cx, browser.device.as_deref(), email, password));
        self.done(&cx, browser);
        match &answer {
            Ok(PasswordStep::SignedIn(signed_in)) => keep_device(browser, signed_in),
            Ok(PasswordStep::SecondFactorNeeded(pending)) => browser.pending = Some(pending.token.clone()),
            Err(_) => {}
        }
        answer
    }

    /// `POST /api/auth/login/two-factor`.
    pub fn second_factor(&self, browser: &mut Browser, factor: SecondFactor) -> Result<SignedIn, signing::Error> {
        self.second_step(browser, factor).map(|done| match done {
            SecondStepDone::SignedIn(signed_in) => signed_in,
            SecondStepDone::PasswordReset => panic!("a password reset, not a sign-in"),
        })
    }

    /// `POST /api/auth/login/two-factor`, of a sign-in or a password reset.
    pub fn second_step(&self, browser: &mut Browser, factor: SecondFactor) -> Result<SecondStepDone, signing::Error> {
        let cx = self.cx(browser);
        let pending = browser.pending.clone().expect("a pending sign-in");
        let answer = block_on(signing::with_second_factor(&cx, browser.device.as_deref(), &pending, factor));
        self.done(&cx, browser);
        if let Ok(done) = &answer {
            keep_device_of(browser, done);
            browser.pending = None;
        }
        answer
    }

    /// The user id of the account of `email`.
    pub fn user_id(&self, email: &str) -> String {
        self.look(|s| s.users.iter().find(|u| u.email == email).map(|u| u.id.clone())).expect("an account")
    }

    /// The event types of the user, oldest first.
    pub fn events(&self, user_id: &str) -> Vec<String> {
        self.look(|s| s.events.iter().filter(|e| e.user_id == user_id).map(|e| e.kind.clone()).collect())
    }

    /// The detail of the user's latest event of `kind`.
    pub fn detail_of(&self, user_id: &str, kind: &str) -> serde_json::Value {
        let detail = self
            .look(|s| s.events.iter().rev().find(|e| e.user_id == user_id && e.kind == kind).map(|e| e.detail.clone()));
        serde_json::from_str(&detail.unwrap_or_else(|| panic!("no {kind} event"))).expect("JSON")
    }

    /// The count and lock of a run.
    pub fn run_of(&self, user_id: &str, budget: &Budget) -> Option<(u32, u64)> {
        self.look(|s| s.budget_of(user_id, budget))
    }
}

/// The code an authenticator app shows now for the set-up secret (base32).
pub fn code_at(secret: &str, now: u64) -> String {
    totp::code_at(&base32::decode(secret).expect("a base32 secret"), now)
}

pub fn code(factor: &str) -> SecondFactor {
    SecondFactor::Code(factor.into())
}

pub fn recovery(factor: &str) -> SecondFactor {
    SecondFactor::RecoveryCode(factor.into())
}

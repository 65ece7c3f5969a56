//! The HTTP API as one table: method, path, log name, who may call it, and the handler. The
//! dispatcher derives everything else from it: 404 and 405, the route name in the log line, the
//! session and sudo checks, and (in tests) the comparison with `openapi.json`. Handlers parse,
//! call one use case and map its outcome to HTTP; they hold no SQL, no KV keys and import no
//! other route file.

mod auth;
mod dbsc;
mod devices;
mod email;
mod errors;
mod events;
mod me;
mod passkeys;
mod password;
mod sessions;
mod two_factor;

use std::future::Future;
use std::pin::Pin;

use serde::Serialize;
use worker::{Method, Request, Response};

use crate::account::attempts::Attempt;
use crate::account::devices::{DeviceCookie, DEVICE_COOKIE_SECONDS};
use crate::account::passkeys::RelyingParty;
use crate::account::sign_in::{SecondStepDone, SignedIn};
use crate::auth::session::{self, CurrentSession, DeviceProof, WithCheck};
use crate::domain::tokens;
use crate::http::url::RequestUrl;
use crate::http::{cookies, csrf, ApiError};
use crate::storage::address_limits::PerAddress;
use crate::storage::store::Accounts;
use crate::storage::Bindings;

/// What a handler works with: the use cases' world, on Cloudflare's bindings.
pub type Cx = crate::app::Cx<Bindings>;

type Handled<'a> = Pin<Box<dyn Future<Output = Result<Response, ApiError>> + 'a>>;

/// Who may call a route, with the handler of that kind.
pub enum Access {
    /// Anyone (sign-up, sign-in, sign-out).
    Public(for<'a> fn(Request, &'a Cx) -> Handled<'a>),
    /// A live session, resolved before the handler runs (401 otherwise).
    Session(for<'a> fn(Request, &'a Cx, &'a CurrentSession) -> Handled<'a>),
    /// A live session within its sudo window (403 `reauth_required` otherwise).
    Sudo(for<'a> fn(Request, &'a Cx, &'a CurrentSession) -> Handled<'a>),
}

pub struct Route {
    pub method: Method,
    /// `/api/...`, a `{name}` segment matching any one segment.
    pub path: &'static str,
    pub access: Access,
    /// What the session check reads or reserves for the handler, in its round trips.
    pub with_check: WithCheck,
    /// The per-address limit the request counts against, before anything else is done for it.
    pub per_address: Option<PerAddress>,
    /// A state-changing request must come from this origin's pages (`Origin`, else
    /// `Sec-Fetch-Site`); false only where a header no page can send cross-origin stands in.
    pub same_origin_only: bool,
}

impl Route {
    /// The handler lists the user's other sessions.
    fn listing_sessions(mut self) -> Self {
        self.with_check.list_others = true;
        self
    }

    /// The handler shows the flags of the sign-ins the sessions started with (read with the
    /// check).
    fn showing_sign_in_flags(mut self) -> Self {
        self.with_check.sign_in_flags = true;
        self
    }

    /// The handler counts the trusted devices not used for a while (read with the check).
    fn counting_unused_devices(mut self) -> Self {
        self.with_check.unused_devices = true;
        self
    }

    /// The handler checks the session's password or a code: the attempt is reserved with the
    /// session check (handed back if the handler never checks it).
    fn checking_a_secret(mut self) -> Self {
        self.with_check.reserve_attempt = true;
        self
    }

    /// Limited per client address: the handler costs work (argon2id, storage writes) whoever
    /// asks, so each request counts against `limit` for its address, and over it is refused
    /// before that work.
    fn limited(mut self, limit: PerAddress) -> Self {
        self.per_address = Some(limit);
        self
    }

    /// Called by the browser itself (DBSC), with the origin of whichever request set it off (a
    /// link from another site, too), and with a header no page can send to another origin
    /// without a preflight this worker never allows: that header is the check.
    fn called_by_the_browser(mut self) -> Self {
        self.same_origin_only = false;
        self
    }
}

macro_rules! public {
    ($handler:path) => {
        Access::Public(|req, cx| Box::pin($handler(req, cx)))
    };
}
macro_rules! session {
    ($handler:path) => {
        Access::Session(|req, cx, current| Box::pin($handler(req, cx, current)))
    };
}
macro_rules! sudo {
    ($handler:path) => {
        Access::Sudo(|req, cx, current| Box::pin($handler(req, cx, current)))
    };
}

/// Every route of the API (SPEC §4); `openapi.json` documents exactly these.
pub fn table() -> Vec<Route> {
    let mut routes = signing_in();
    routes.extend(my_account());
    routes
}

fn route(method: Method, path: &'static str, access: Access) -> Route {
    Route { method, path, access, with_check: WithCheck::default(), per_address: None, same_origin_only: true }
}

/// `/api/auth/…`: signing up, in and out, confirming, e-mail links.
fn signing_in() -> Vec<Route> {
    use Method::Post;
    use PerAddress::{PasskeyOptions, PasswordResets, SignUps};
    vec![
        route(Post, "/api/auth/signup", public!(auth::signup)).limited(SignUps),
        route(Post, "/api/auth/login", public!(auth::login)),
        route(Post, "/api/auth/login/two-factor", public!(auth::login_two_factor)),
        route(Post, "/api/auth/confirm", session!(auth::confirm)).checking_a_secret(),
        route(Post, "/api/auth/logout", public!(auth::logout)),
        route(Post, "/api/auth/passkey/options", public!(passkeys::sign_in_options)).limited(PasskeyOptions),
        route(Post, "/api/auth/passkey/login", public!(passkeys::sign_in)),
        route(Post, "/api/auth/verify-email", public!(email::verify)),
        route(Post, "/api/auth/password-reset", public!(email::request_reset)).limited(PasswordResets),
        route(Post, "/api/auth/password-reset/check", public!(email::check_reset)),
        route(Post, "/api/auth/password-reset/complete", public!(email::complete_reset)),
        route(Post, "/api/auth/not-me", public!(email::not_me)),
        route(Post, "/api/auth/passkey/two-factor/options", public!(passkeys::second_step_options))
            .limited(PasskeyOptions),
        route(Post, "/api/auth/passkey/two-factor", public!(passkeys::second_step)),
        route(Post, "/api/auth/passkey/confirm/options", session!(passkeys::confirm_options)).limited(PasskeyOptions),
        route(Post, "/api/auth/passkey/confirm", session!(passkeys::confirm)),
        route(Post, "/api/auth/dbsc/register", session!(dbsc::register)).called_by_the_browser(),
        route(Post, "/api/auth/dbsc/refresh", public!(dbsc::refresh)).called_by_the_browser(),
    ]
}

/// `/api/me` and `/api/security/…`: the signed-in user's account.
fn my_account() -> Vec<Route> {
    use Method::{Delete, Get, Patch, Post, Put};
    use PerAddress::PasskeyOptions;
    vec![
        route(Get, "/api/me", session!(me::me)),
        route(Get, "/api/security", session!(me::overview))
            .listing_sessions()
            .showing_sign_in_flags()
            .counting_unused_devices(),
        route(Put, "/api/security/password", session!(password::change)).listing_sessions().checking_a_secret(),
        route(Post, "/api/security/two-factor/setup", sudo!(two_factor::setup)),
        route(Post, "/api/security/two-factor/enable", sudo!(two_factor::enable)).checking_a_secret(),
        route(Post, "/api/security/two-factor/disable", session!(two_factor::disable)).checking_a_secret(),
        route(Post, "/api/security/two-factor/recovery-codes", sudo!(two_factor::regenerate)),
        route(Post, "/api/security/email/verification", session!(email::resend)),
        route(Put, "/api/security/email", sudo!(email::change)),
        route(Put, "/api/security/alerts", sudo!(email::set_alerts)),
        route(Get, "/api/security/sessions", session!(sessions::list)).listing_sessions().showing_sign_in_flags(),
        route(Post, "/api/security/sessions/revoke-others", sudo!(sessions::revoke_others)).listing_sessions(),
        route(Delete, "/api/security/sessions/{id}", session!(sessions::end)),
        route(Post, "/api/security/sessions/{id}/familiar", session!(sessions::familiar)),
        route(Get, "/api/security/devices", session!(devices::list)),
        route(Delete, "/api/security/devices/{id}", session!(devices::forget)),
        route(Get, "/api/security/events", session!(events::recent)),
        route(Get, "/api/security/passkeys", session!(passkeys::list)),
        route(Post, "/api/security/passkeys/options", sudo!(passkeys::registration_options)).limited(PasskeyOptions),
        route(Post, "/api/security/passkeys", sudo!(passkeys::add)),
        route(Patch, "/api/security/passkeys/{id}", session!(passkeys::rename)),
        route(Delete, "/api/security/passkeys/{id}", sudo!(passkeys::remove)),
    ]
}

fn matches(pattern: &str, path: &str) -> bool {
    let (mut p, mut s) = (pattern.split('/'), path.split('/'));
    loop {
        match (p.next(), s.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) if want == got || (want.starts_with('{') && !got.is_empty()) => {}
            _ => return false,
        }
    }
}

/// The routes whose path matches, literal paths first (`revoke-others` before `{id}`).
fn routes_for(path: &str) -> Vec<Route> {
    let mut found: Vec<Route> = table().into_iter().filter(|r| matches(r.path, path)).collect();
    found.sort_by_key(|r| r.path.contains('{'));
    found
}

pub async fn handle(req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let route = route_of(&req)?;
    if route.same_origin_only && csrf::is_state_changing(&route.method) && !is_same_origin(&req)? {
        return Err(ApiError::CsrfRejected);
    }
    if let Some(limit) = route.per_address {
        admit(cx, limit).await?;
    }
    let (handler, sudo) = match route.access {
        Access::Public(handler) => return handler(req, cx).await,
        Access::Session(handler) => (handler, false),
        Access::Sudo(handler) => (handler, true),
    };
    let (token, bound) = (cookie(&req, cookies::SESSION), cookie(&req, crate::domain::dbsc::BOUND_COOKIE));
    let current =
        session::current(cx, token.as_deref(), DeviceProof::Cookie(bound.as_deref()), route.with_check).await?;
    let answer = match sudo && !current.in_sudo_window(cx.now()) {
        true => Err(ApiError::ReauthRequired),
        false => handler(req, cx, &current).await,
    };
    // Only checked secrets count: an attempt the check reserved for a request that never reached
    // its secret (bad input, no sudo) goes back before the answer, so the client's next request
    // never meets a count or lock this one left.
    if let Some(unclaimed) = current.unclaimed_attempt() {
        if let Err(error) = Attempt::hand_back_unclaimed(cx, unclaimed).await {
            crate::log::error(&format!("an unclaimed attempt was not handed back: {error}"));
        }
    }
    answer
}

/// The route the request's path and method name, or 404 / 405 (with the path's methods).
fn route_of(req: &Request) -> Result<Route, ApiError> {
    let method = req.method();
    // workers-rs reads a method it does not know (PROPFIND, LOCK, ...) as GET: such a request
    // must not reach a GET handler, nor pass the CSRF check as a read.
    let known_method = req.inner().method().eq_ignore_ascii_case(method.as_ref());
    let candidates = routes_for(&req.path());
    if candidates.is_empty() {
        return Err(ApiError::NotFound);
    }
    let allow: Vec<String> = candidates.iter().map(|r| r.method.to_string()).collect();
    let route = candidates.into_iter().find(|r| known_method && r.method == method);
    route.ok_or_else(|| ApiError::MethodNotAllowed(allow.join(", ")))
}

/// Counts the request against `limit` for its client address; over the limit, 429 with the
/// limit's period as `Retry-After` (no session check, body, argon2id or storage yet).
async fn admit(cx: &Cx, limit: PerAddress) -> Result<(), ApiError> {
    if cx.store.admits(limit, &cx.facts.address_key).await? {
        Ok(())
    } else {
        Err(ApiError::RateLimited { retry_after: limit.period_seconds() })
    }
}

fn is_same_origin(req: &Request) -> Result<bool, ApiError> {
    let own = RequestUrl::of(req)?.origin();
    let header = |name: &str| req.headers().get(name).ok().flatten();
    Ok(csrf::is_same_origin(&own, header("Origin").as_deref(), header("Sec-Fetch-Site").as_deref()))
}

/// The route pattern of a path, for the log line: ids are replaced, so no log line holds one.
/// An unknown path is its own name (control characters dropped, long ones cut).
pub fn route_name(path: &str) -> String {
    match routes_for(path).first() {
        Some(route) => route.path.to_string(),
        None if path.len() > 100 => "(long path)".into(),
        None => path.chars().filter(|c| !c.is_control()).collect(),
    }
}

/// A JSON answer with the given status.
fn json<T: Serialize>(status: u16, body: &T) -> Result<Response, ApiError> {
    Ok(Response::from_json(body)?.with_status(status))
}

fn no_content() -> Result<Response, ApiError> {
    Ok(Response::empty()?.with_status(204))
}

fn with_cookie(response: Response, cookie: &str) -> Result<Response, ApiError> {
    response.headers().append("Set-Cookie", cookie)?;
    Ok(response)
}

/// A request cookie's value.
fn cookie(req: &Request, name: &str) -> Option<String> {
    let header = req.headers().get("Cookie").ok().flatten()?;
    cookies::find(&header, name).map(str::to_string)
}

/// The request's `__Host-device` cookie (checked by the use case, which holds the keys).
fn device_cookie(req: &Request) -> Option<String> {
    cookie(req, cookies::DEVICE)
}

/// The `__Host-pending` token of a sign-in waiting for its second factor, else 401.
fn pending_token(req: &Request) -> Result<String, ApiError> {
    cookie(req, cookies::PENDING).filter(|t| tokens::looks_like_token(t)).ok_or(ApiError::Unauthenticated)
}

/// A completed sign-in: `{user}` and, for a browser that is not yet a trusted device under the
/// current key, its device cookie (the session cookie is an effect of the use case).
fn signed_in_response(status: u16, signed_in: SignedIn) -> Result<Response, ApiError> {
    let body = UserBody::new(&signed_in.user_id, &signed_in.email, &signed_in.name);
    let response = json(status, &body)?;
    match &signed_in.device_cookie {
        Some(DeviceCookie(value)) => {
            with_cookie(response, &cookies::set(cookies::DEVICE, value, DEVICE_COOKIE_SECONDS))
        }
        None => Ok(response),
    }
}

/// A completed second step: a sign-in (`{user}`), or the password reset it held
/// (`{"password_reset": true}`, no session); either way the pending cookie goes.
fn second_step_response(done: SecondStepDone) -> Result<Response, ApiError> {
    let response = match done {
        SecondStepDone::SignedIn(signed_in) => signed_in_response(200, signed_in)?,
        SecondStepDone::PasswordReset => json(200, &serde_json::json!({ "password_reset": true }))?,
    };
    with_cookie(response, &cookies::clear(cookies::PENDING))
}

/// Who the worker is to an authenticator: the request's own origin and host.
fn relying_party(req: &Request) -> Result<RelyingParty, ApiError> {
    let url = RequestUrl::of(req)?;
    Ok(RelyingParty { origin: url.origin(), rp_id: url.host_name() })
}

/// `{user: {id, email, name}}`.
#[derive(Serialize)]
struct UserBody<'a> {
    user: UserView<'a>,
}

#[derive(Serialize)]
struct UserView<'a> {
    id: &'a str,
    email: &'a str,
    name: &'a str,
}

impl<'a> UserBody<'a> {
    fn new(id: &'a str, email: &'a str, name: &'a str) -> Self {
        Self { user: UserView { id, email, name } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API contract, served from the static assets (`public/api/openapi.json`).
    const OPENAPI: &str = include_str!("../../public/api/openapi.json");

    #[test]
    fn patterns_match_whole_segments() {
        assert!(matches("/api/security/sessions/{id}", "/api/security/sessions/abc"));
        assert!(!matches("/api/security/sessions/{id}", "/api/security/sessions/"));
        assert!(!matches("/api/security/sessions/{id}", "/api/security/sessions/a/b"));
        assert!(!matches("/api/me", "/api/me/"));
        assert_eq!(routes_for("/api/security/sessions/revoke-others")[0].path, "/api/security/sessions/revoke-others");
    }

    #[test]
    fn log_names_hide_ids_and_keep_unknown_paths() {
        assert_eq!(route_name("/api/security/sessions/SECRETID"), "/api/security/sessions/{id}");
        assert_eq!(route_name("/api/nope"), "/api/nope");
        assert_eq!(route_name(&format!("/api/{}", "x".repeat(200))), "(long path)");
    }

    #[test]
    fn the_table_and_openapi_json_list_the_same_routes() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        let mut documented: Vec<(String, String)> = document["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| item.as_object().unwrap().keys().map(move |m| (m.to_uppercase(), path.clone())))
            .collect();
        let mut routed: Vec<(String, String)> =
            table().iter().map(|r| (r.method.to_string(), r.path.to_string())).collect();
        documented.sort();
        routed.sort();
        assert_eq!(routed, documented);
    }

    #[test]
    fn sign_up_password_resets_and_every_passkey_options_route_are_limited_per_address() {
        let limited: Vec<(&str, Option<PerAddress>)> =
            table().iter().filter(|r| r.per_address.is_some()).map(|r| (r.path, r.per_address)).collect();
        assert_eq!(
            limited,
            [
                ("/api/auth/signup", Some(PerAddress::SignUps)),
                ("/api/auth/passkey/options", Some(PerAddress::PasskeyOptions)),
                ("/api/auth/password-reset", Some(PerAddress::PasswordResets)),
                ("/api/auth/passkey/two-factor/options", Some(PerAddress::PasskeyOptions)),
                ("/api/auth/passkey/confirm/options", Some(PerAddress::PasskeyOptions)),
                ("/api/security/passkeys/options", Some(PerAddress::PasskeyOptions)),
            ]
        );
    }

    #[test]
    fn openapi_json_documents_the_429_of_every_route_limited_per_address() {
        let document: serde_json::Value = serde_json::from_str(OPENAPI).expect("openapi.json is JSON");
        for route in table().iter().filter(|r| r.per_address.is_some()) {
            let method = route.method.to_string().to_lowercase();
            let answer = &document["paths"][route.path][&method]["responses"]["429"];
            assert_eq!(answer["$ref"], "#/components/responses/TooManyFromAddress", "{method} {}", route.path);
        }
    }

    #[test]
    fn every_route_is_unique() {
        let mut seen: Vec<(String, &str)> = table().iter().map(|r| (r.method.to_string(), r.path)).collect();
        let n = seen.len();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), n);
    }
}

//! What a request handler works with: the bindings, the config, the time, who is asking.

use std::cell::RefCell;

use worker::{Context, D1Database, Env, KvStore, Request, Response};

use crate::config::Config;
use crate::domain::user_agent::ClientHints;
use crate::http::ApiError;
use crate::storage::attempts::{Budget, Reservation};
use crate::storage::events::Origin;

pub struct App {
    pub env: Env,
    pub ctx: Context,
    pub config: Config,
    pub now: u64,
    pub origin: Origin,
    /// What Chromium browsers say of themselves besides the User-Agent (names the device).
    pub client_hints: ClientHints,
    /// A `Set-Cookie` that re-sends the session cookie with a slid `Max-Age`, added to the
    /// response unless the handler set the session cookie itself.
    session_cookie_refresh: RefCell<Option<String>>,
    /// An attempt the session check reserved for a route that checks a secret, until the use
    /// case claims it (or, unclaimed, it is handed back after the response).
    reserved_attempt: RefCell<Option<ReservedAttempt>>,
}

/// An attempt reserved ahead of the use case that checks the secret.
pub struct ReservedAttempt {
    pub user_id: String,
    pub budget: Budget,
    pub reservation: Reservation,
}

const MAX_USER_AGENT_CHARS: usize = 512;
const MAX_PLACE_CHARS: usize = 64;

impl App {
    pub fn new(req: &Request, env: Env, ctx: Context) -> Self {
        let config = Config::of_isolate(&env);
        let now = worker::Date::now().as_millis() / 1000;
        let hint = |name: &str| {
            let value = req.headers().get(name).ok().flatten()?;
            Some(value.chars().filter(|c| !c.is_control()).take(MAX_USER_AGENT_CHARS).collect())
        };
        let client_hints = ClientHints {
            brands: hint("Sec-CH-UA"),
            platform: hint("Sec-CH-UA-Platform"),
            mobile: hint("Sec-CH-UA-Mobile"),
        };
        Self {
            env,
            ctx,
            config,
            now,
            origin: origin_of(req),
            client_hints,
            session_cookie_refresh: RefCell::new(None),
            reserved_attempt: RefCell::new(None),
        }
    }

    pub fn db(&self) -> Result<D1Database, ApiError> {
        Ok(self.env.d1("DB")?)
    }

    pub fn kv(&self) -> Result<KvStore, ApiError> {
        Ok(self.env.kv("SESSIONS")?)
    }

    pub fn refresh_cookie(&self, cookie: String) {
        *self.session_cookie_refresh.borrow_mut() = Some(cookie);
    }

    pub fn hold_reserved_attempt(&self, attempt: ReservedAttempt) {
        *self.reserved_attempt.borrow_mut() = Some(attempt);
    }

    /// The reserved attempt of `budget`, if the session check made one; it can be taken once.
    pub fn take_reserved_attempt(&self, budget: &Budget) -> Option<ReservedAttempt> {
        let mut slot = self.reserved_attempt.borrow_mut();
        slot.as_ref().is_some_and(|held| held.budget == *budget).then(|| slot.take()).flatten()
    }

    /// The reserved attempt nobody claimed (the request ended before its secret was checked).
    pub fn unclaimed_attempt(&self) -> Option<ReservedAttempt> {
        self.reserved_attempt.borrow_mut().take()
    }

    /// Adds the session cookie refresh to `response` if the handler did not set that cookie.
    pub fn finish(&self, response: &Response) -> worker::Result<()> {
        let Some(cookie) = self.session_cookie_refresh.borrow_mut().take() else { return Ok(()) };
        let prefix = format!("{}=", crate::http::cookies::SESSION);
        let set_by_handler = response.headers().entries().any(|(name, value)| {
            name.eq_ignore_ascii_case("set-cookie") && value.split(", ").any(|c| c.trim_start().starts_with(&prefix))
        });
        if !set_by_handler && response.status_code() != 401 {
            response.headers().append("Set-Cookie", &cookie)?;
        }
        Ok(())
    }

    /// Runs `work` after the response is sent; failures are logged, never answered.
    pub fn in_background<E: std::fmt::Debug>(&self, work: impl std::future::Future<Output = Result<(), E>> + 'static) {
        self.ctx.wait_until(async move {
            if let Err(error) = work.await {
                worker::console_error!("background work failed: {error:?}");
            }
        });
    }
}

fn origin_of(req: &Request) -> Origin {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let clip = |value: String, max: usize| -> String { value.chars().filter(|c| !c.is_control()).take(max).collect() };
    let cf = req.cf();
    Origin {
        ip: header("CF-Connecting-IP").map(|ip| clip(ip, 45)),
        country: cf.and_then(|cf| cf.country()).map(|c| clip(c, MAX_PLACE_CHARS)),
        city: cf.and_then(|cf| cf.city()).map(|c| clip(c, MAX_PLACE_CHARS)),
        user_agent: clip(header("User-Agent").unwrap_or_default(), MAX_USER_AGENT_CHARS),
    }
}

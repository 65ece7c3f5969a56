//! What a request handler works with: the bindings, the config, the time, who is asking.

use std::cell::RefCell;

use worker::{Context, Env, KvStore, Method, Request, Response};

use crate::config::Config;
use crate::domain::client_address;
use crate::domain::user_agent::ClientHints;
use crate::http::ApiError;
use crate::storage::attempts::{Budget, Reservation};
use crate::storage::events::Origin;
use crate::storage::Db;

pub struct App {
    pub env: Env,
    pub ctx: Context,
    pub config: Config,
    pub now: u64,
    pub origin: Origin,
    /// The key this client's address is counted under in every per-address limit
    /// (`domain::client_address`: IPv6 per /64); `origin.ip` stays the full address shown.
    pub address_key: String,
    /// What Chromium browsers say of themselves besides the User-Agent (names the device).
    pub client_hints: ClientHints,
    /// A `Set-Cookie` that re-sends the session cookie with a slid `Max-Age`, added to the
    /// response unless the handler set the session cookie itself.
    session_cookie_refresh: RefCell<Option<String>>,
    /// An attempt the session check reserved for a route that checks a secret, until the use
    /// case claims it (or, unclaimed, it is handed back before the answer).
    reserved_attempt: RefCell<Option<ReservedAttempt>>,
    /// The request's D1 sessions, made on first use: at the primary, and near the user.
    primary_db: RefCell<Option<Db>>,
    near_db: RefCell<Option<Db>>,
    /// The D1 bookmark of the browser's last write, from its cookie (when bookmark-shaped).
    bookmark: Option<String>,
    /// The request may write (not GET/HEAD): its bookmark goes back to the browser.
    writes: bool,
}

/// An attempt reserved ahead of the use case that checks the secret.
pub struct ReservedAttempt {
    pub user_id: String,
    pub budget: Budget,
    pub reservation: Reservation,
}

const MAX_USER_AGENT_CHARS: usize = 512;
/// How long a bookmark is kept: read replicas are far closer behind the primary than this.
const BOOKMARK_SECONDS: u64 = 3600;
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
        let bookmark = req.headers().get("Cookie").ok().flatten().and_then(|header| {
            crate::http::cookies::find(&header, crate::http::cookies::D1_BOOKMARK)
                .filter(|b| crate::storage::is_bookmark_shaped(b))
                .map(str::to_string)
        });
        Self {
            env,
            ctx,
            config,
            now,
            origin: origin_of(req),
            address_key: client_address::counted_as(req.headers().get("CF-Connecting-IP").ok().flatten().as_deref()),
            client_hints,
            session_cookie_refresh: RefCell::new(None),
            reserved_attempt: RefCell::new(None),
            primary_db: RefCell::new(None),
            near_db: RefCell::new(None),
            bookmark,
            writes: !matches!(req.method(), Method::Get | Method::Head),
        }
    }

    /// D1 at the primary: the session check, attempts and every write go here.
    pub fn db(&self) -> Result<Db, ApiError> {
        let mut slot = self.primary_db.borrow_mut();
        match &*slot {
            Some(db) => Ok(db.clone()),
            None => Ok(slot.insert(Db::primary(&self.env)?).clone()),
        }
    }

    /// D1 near the user (a read replica when there is one), no older than the browser's last
    /// write: for reads that decide nothing about access (SPEC §5.8 checks go to [`App::db`]).
    pub fn near_db(&self) -> Result<Db, ApiError> {
        let mut slot = self.near_db.borrow_mut();
        match &*slot {
            Some(db) => Ok(db.clone()),
            None => Ok(slot.insert(Db::near(&self.env, self.bookmark.as_deref())?).clone()),
        }
    }

    /// Runs `read` on [`App::near_db`]; if that fails (a bookmark D1 no longer takes, a replica
    /// gone), on the primary.
    pub async fn read_near<T, F, Fut>(&self, read: F) -> Result<T, ApiError>
    where
        F: Fn(Db) -> Fut,
        Fut: std::future::Future<Output = Result<T, crate::storage::Error>>,
    {
        match read(self.near_db()?).await {
            Ok(value) => Ok(value),
            Err(error) => {
                worker::console_warn!("a read near the user failed, reading at the primary: {error:?}");
                Ok(read(self.db()?).await?)
            }
        }
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

    /// Adds the D1 bookmark cookie (read-your-writes for this browser's reads near it) and the
    /// session cookie refresh to `response`.
    pub fn finish(&self, response: &Response) -> worker::Result<()> {
        self.finish_session_cookie(response)?;
        if let Some(bookmark) = self.newer_bookmark().filter(|_| response.status_code() < 400) {
            let cookie = crate::http::cookies::set(crate::http::cookies::D1_BOOKMARK, &bookmark, BOOKMARK_SECONDS);
            response.headers().append("Set-Cookie", &cookie)?;
        }
        Ok(())
    }

    /// The D1 position after this request's writes, if it may have written and the browser
    /// does not have that position yet. Reads alone move nothing the browser must see, and an
    /// error answer changed nothing it must see at once (a refused guess's record appears when
    /// the replica catches up).
    fn newer_bookmark(&self) -> Option<String> {
        if !self.writes {
            return None;
        }
        let newest = self.primary_db.borrow().as_ref().and_then(Db::bookmark)?;
        (self.bookmark.as_deref() < Some(newest.as_str()) && crate::storage::is_bookmark_shaped(&newest))
            .then_some(newest)
    }

    fn finish_session_cookie(&self, response: &Response) -> worker::Result<()> {
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

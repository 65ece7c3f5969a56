//! What a use case works with, in three parts: the *facts* of the request (when, from where, by
//! which browser, under which configuration and keys), the *store* it may ask (see
//! `storage::store`), and the *effects* its answer carries besides the body (work that goes on
//! after the answer, the session cookie). Only `lib.rs` and the routes know the request and the
//! runtime; a use case sees these three, so it runs the same on the host in tests.

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;

use crate::config::Config;
use crate::domain::user_agent::Device;
use crate::storage::events::{EventType, NewEvent, Origin};

/// `SECRET_KEY` and `SECRET_KEY_PREVIOUS`, as configured (see README "Rotating SECRET_KEY").
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub current: Option<String>,
    pub previous: Option<String>,
}

/// The request, as far as use cases care.
#[derive(Debug, Clone)]
pub struct Facts {
    pub now: u64,
    pub config: Config,
    pub origin: Origin,
    /// The device as its owner knows it, named from the User-Agent and what Chromium browsers say
    /// of themselves besides it (the session list and trusted devices show it).
    pub device: Device,
    /// The key the client's address is counted under by per-address limits
    /// (`domain::client_address`: IPv6 per /64); `origin.ip` stays the full address shown.
    pub address_key: String,
    pub secrets: Secrets,
    /// A random id of this request: a sign-in's event and the session it starts both carry it
    /// (`sign_in`), so the session list finds the sign-in's flags (`account::unfamiliar`).
    pub request_id: String,
}

type Work = Pin<Box<dyn Future<Output = ()>>>;

/// What the answer does to the `__Host-session` cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionCookie {
    /// The same token again, its `Max-Age` slid with the session's idle expiry (not on a 401).
    Refresh { token: String, max_age: u64 },
    /// A new token: a sign-in, a confirmation, a re-issue.
    Issue { token: String, max_age: u64 },
    /// Signed out.
    Clear,
}

/// What the answer carries besides its body.
#[derive(Default)]
pub struct Effects {
    /// Starts work that goes on after the answer (the runtime's `waitUntil`); without one (host
    /// tests) the work waits in `queued` until [`Effects::settle`].
    spawn: Option<Box<dyn Fn(Work)>>,
    queued: RefCell<Vec<Work>>,
    /// What the answer does to the session cookie, if anything: the last one set wins, and the
    /// response carries it once.
    session_cookie: RefCell<Option<SessionCookie>>,
}

impl Effects {
    pub fn new(spawn: impl Fn(Work) + 'static) -> Self {
        Self { spawn: Some(Box::new(spawn)), ..Self::default() }
    }

    /// Runs `work` after the answer; a failure is logged with its cause, never answered.
    pub fn later<E: std::fmt::Display>(&self, what: &'static str, work: impl Future<Output = Result<(), E>> + 'static) {
        let work: Work = Box::pin(async move {
            if let Err(error) = work.await {
                crate::log::error(&format!("{what} (after the answer) failed: {error}"));
            }
        });
        match &self.spawn {
            Some(spawn) => spawn(work),
            None => self.queued.borrow_mut().push(work),
        }
    }

    /// Runs the work queued so far (host tests: what the runtime would run after the answer).
    #[cfg(test)]
    pub async fn settle(&self) {
        let queued: Vec<Work> = self.queued.borrow_mut().drain(..).collect();
        for work in queued {
            work.await;
        }
    }

    pub fn set_session_cookie(&self, cookie: SessionCookie) {
        *self.session_cookie.borrow_mut() = Some(cookie);
    }

    pub fn take_session_cookie(&self) -> Option<SessionCookie> {
        self.session_cookie.borrow_mut().take()
    }
}

/// A use case's world: the request's facts, the store, and the answer's effects.
pub struct Cx<S> {
    pub facts: Facts,
    pub store: S,
    pub effects: Effects,
}

impl<S> Cx<S> {
    pub fn now(&self) -> u64 {
        self.facts.now
    }

    pub fn config(&self) -> &Config {
        &self.facts.config
    }

    /// An event of this request (its time and origin) for `user_id`.
    pub fn event<'a>(&'a self, user_id: &'a str, kind: EventType, detail: serde_json::Value) -> NewEvent<'a> {
        NewEvent { user_id, kind, at: self.facts.now, origin: &self.facts.origin, detail }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::rc::Rc;

    #[test]
    fn work_after_the_answer_waits_until_settled_and_the_last_session_cookie_wins() {
        let effects = Effects::default();
        let done = Rc::new(RefCell::new(Vec::new()));
        for n in [1, 2] {
            let done = done.clone();
            effects.later("a test", async move {
                done.borrow_mut().push(n);
                Ok::<(), std::fmt::Error>(())
            });
        }
        assert!(done.borrow().is_empty());
        futures_util::FutureExt::now_or_never(effects.settle()).expect("nothing to wait for");
        assert_eq!(*done.borrow(), [1, 2]);
        effects.set_session_cookie(SessionCookie::Refresh { token: "a".into(), max_age: 1 });
        effects.set_session_cookie(SessionCookie::Clear);
        assert_eq!(effects.take_session_cookie(), Some(SessionCookie::Clear));
        assert_eq!(effects.take_session_cookie(), None);
    }
}

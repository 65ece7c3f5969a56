//! Sessions (SPEC §5.8): starting one after a completed sign-in, re-issuing it on a new token,
//! listing the others, and ending one (a sign-out, or another device's from the list) or every
//! other one. D1 is written first, so an ended session is refused everywhere at once; KV records
//! follow after the answer.

use futures_util::future::join;
use serde_json::json;

use super::devices;
use super::error::{unexpected_from_storage, Unexpected};
use crate::app::{Cx, SessionCookie};
use crate::auth::session::CurrentSession;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::tokens;
use crate::storage::attempts::Generations;
use crate::storage::events::EventType;
use crate::storage::revocations::Handover;
use crate::storage::sessions::{ListedSession, SessionRecord, SessionSummary};
use crate::storage::{Outcome, Store};

/// What ending sessions may refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("no such session")]
    NotFound,
    #[error("needs a recent confirmation")]
    ReauthRequired,
    /// The caller's own session ended meanwhile (another device signed everyone out first).
    #[error("signed out")]
    SignedOut,
    #[error(transparent)]
    Keys(#[from] super::keys::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}
unexpected_from_storage!(Error);

/// A freshly issued session, as stored; its token goes to the cookie only (an effect of the
/// answer), and storage knows its id.
pub struct IssuedSession {
    pub record: SessionRecord,
}

/// The token a session will be issued on, made before the D1 write that names it (a hand-over
/// names its successor, `storage::revocations::Handover`).
pub struct NextToken {
    token: String,
    pub id: SessionId,
}

pub fn next_token(user_id: &UserId) -> Result<NextToken, Unexpected> {
    let token = tokens::session_cookie_value(user_id, &super::error::new_token("a session token")?);
    Ok(NextToken { id: tokens::id_of(&token), token })
}

/// Stores `record` on `next` and makes it the answer's session cookie.
async fn issue<S: Store>(cx: &Cx<S>, next: NextToken, record: SessionRecord) -> Result<IssuedSession, Unexpected> {
    let idle = cx.config().session_idle_seconds;
    cx.store.put_session(&next.id, &record, idle, cx.now()).await?;
    let max_age = record.ends_at(idle).saturating_sub(cx.now());
    cx.effects.set_session_cookie(SessionCookie::Issue { token: next.token, max_age });
    Ok(IssuedSession { record })
}

/// Starts a new session after a completed sign-in: a new token every time, sudo open.
pub async fn start<S: Store>(
    cx: &Cx<S>,
    user_id: &str,
    method: &str,
    generations: Generations,
) -> Result<IssuedSession, Unexpected> {
    let record = SessionRecord {
        user_id: UserId::new(user_id),
        issued_at: cx.now(),
        generations,
        sudo_until: cx.now() + cx.config().sudo_seconds,
        summary: summary(cx, method, generations),
    };
    issue(cx, next_token(&record.user_id)?, record).await
}

/// What the session list will show of a session that starts now.
fn summary<S>(cx: &Cx<S>, method: &str, generations: Generations) -> SessionSummary {
    let facts = &cx.facts;
    SessionSummary {
        device: facts.device.kind.as_str().to_string(),
        browser: facts.device.browser.clone(),
        os: facts.device.os.clone(),
        ip: facts.origin.ip.clone(),
        city: facts.origin.city.clone(),
        country: facts.origin.country.clone(),
        sign_in_method: method.to_string(),
        issued_at: facts.now,
        created_at: facts.now,
        last_active_at: facts.now,
        expires_at: facts.now + facts.config.session_absolute_seconds,
        session_generation: generations.session,
        sign_in: Some(facts.request_id.clone()),
    }
}

/// Replaces the caller's session with `next`, carrying the same summary, under `generations`,
/// with the sudo window until `sudo_until`. The old token must already be dead in D1 (handed
/// over, or of a past generation); its KV records go after the answer.
pub async fn reissue<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    next: NextToken,
    generations: Generations,
    sudo_until: u64,
) -> Result<IssuedSession, Unexpected> {
    let mut record = current.record.clone();
    record.issued_at = cx.now();
    record.generations = generations;
    record.sudo_until = sudo_until;
    record.summary.issued_at = cx.now();
    record.summary.last_active_at = cx.now();
    record.summary.session_generation = generations.session;
    let issued = issue(cx, next, record).await?;
    forget_later(cx, &current.user.id, vec![current.id.clone()]);
    Ok(issued)
}

/// Removes ended sessions' KV records after the answer: D1 already refuses them everywhere.
pub fn forget_later<S: Store>(cx: &Cx<S>, user_id: &UserId, ids: Vec<SessionId>) {
    if ids.is_empty() {
        return;
    }
    let (store, user_id) = (cx.store.clone(), user_id.clone());
    cx.effects.later("forgetting ended sessions", async move {
        for id in ids {
            store.delete_session(&user_id, &id).await?;
        }
        Ok::<(), crate::storage::Error>(())
    });
}

/// The user's other sessions that still work, most recently active first: what KV lists, less
/// what D1 has ended (KV may still list those) and what has run out of time (KV drops those
/// late). Read with the session check on routes that list sessions; otherwise one KV list and
/// one D1 query.
pub async fn live_others<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<Vec<ListedSession>, Unexpected> {
    let read;
    let (listed, revoked) = match &current.others_read {
        Some(others) => (&others.listed, &others.revoked),
        None => {
            let user_id = &current.user.id;
            let (listed, revoked) = join(cx.store.list_sessions(user_id), cx.store.revoked_session_ids(user_id)).await;
            read = (listed?, revoked?);
            (&read.0, &read.1)
        }
    };
    let (idle, user) = (cx.config().session_idle_seconds, &current.user);
    let mut live: Vec<ListedSession> = listed
        .iter()
        .filter(|s| s.id != current.id && !revoked.contains(&s.id))
        .filter(|s| s.summary.session_generation == user.session_generation)
        .filter(|s| s.summary.issued_at >= user.sessions_valid_after && s.summary.ends_at(idle) > cx.now())
        .cloned()
        .collect();
    live.sort_by_key(|s| std::cmp::Reverse(s.summary.last_active_at));
    Ok(live)
}

/// Whether the caller's session, or one of the others read with the check, is bound to a device
/// key (DBSC).
pub fn is_bound_to_device(current: &CurrentSession, id: &SessionId) -> bool {
    match *id == current.id {
        true => current.user.bound_at.is_some(),
        false => current.others_read.as_ref().is_some_and(|others| others.bound.contains(id)),
    }
}

/// Signs the current session out.
pub async fn sign_out<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<(), Error> {
    let event = cx.event(&current.user.id, EventType::SignOut, json!({}));
    let expires_at = current.record.summary.expires_at;
    cx.store.end_session(&current.id, &current.user.id, expires_at, Some(&event)).await?;
    cx.store.delete_session(&current.user.id, &current.id).await?;
    cx.effects.set_session_cookie(SessionCookie::Clear);
    Ok(())
}

/// Whether the session ended by [`end_one`] was the caller's own.
pub enum Ended {
    Own,
    Other,
}

/// Ends the session `id` of the caller's account: the caller's own needs no sudo (it is a
/// sign-out); another one does. Unknown ids and other users' ids are the same 404.
pub async fn end_one<S: Store>(cx: &Cx<S>, current: &CurrentSession, id: &str) -> Result<Ended, Error> {
    if !tokens::looks_like_id(id) {
        return Err(Error::NotFound);
    }
    let id = &SessionId::new(id);
    let own = *id == current.id;
    if !own && !current.in_sudo_window(cx.now()) {
        return Err(Error::ReauthRequired);
    }
    let summary = match own {
        true => current.record.summary.clone(),
        false => match cx.store.session(id).await? {
            Some(record) if record.user_id == current.user.id => record.summary,
            Some(_) => return Err(Error::NotFound),
            // KV forgets a session once it was handed over to a new token; D1 still knows.
            None => return end_handed_over(cx, current, id).await,
        },
    };
    let detail = json!({ "device": summary.device, "browser": summary.browser, "os": summary.os, "current": own });
    let event = cx.event(&current.user.id, EventType::SessionRevoked, detail);
    cx.store.end_session(id, &current.user.id, summary.expires_at, Some(&event)).await?;
    cx.store.delete_session(&current.user.id, id).await?;
    if own {
        cx.effects.set_session_cookie(SessionCookie::Clear);
    }
    Ok(if own { Ended::Own } else { Ended::Other })
}

/// Ends what a session of the caller's that was handed over to a new token became (its device
/// confirmed it's you, or changed the password, while the caller's list still showed the old
/// id); 404 when D1 knows no such session.
async fn end_handed_over<S: Store>(cx: &Cx<S>, current: &CurrentSession, id: &SessionId) -> Result<Ended, Error> {
    let event = cx.event(&current.user.id, EventType::SessionRevoked, json!({ "current": false }));
    let expires_at = cx.now() + cx.config().session_absolute_seconds;
    match cx.store.end_successors(id, &current.user.id, expires_at, &event).await? {
        Outcome::Applied => Ok(Ended::Other),
        Outcome::LostRace => Err(Error::NotFound),
    }
}

/// Ends every other session with one D1 write (the user's `session_generation`), racing sign-ins
/// included, and the trust of every device but the caller's (its `device_cookie`); the caller
/// gets a new token of the new generation. Answers how many sessions were listed as live.
pub async fn end_others<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    current: &CurrentSession,
) -> Result<usize, Error> {
    let (others, own_device) =
        join(live_others(cx, current), devices::own_device_id(cx, device_cookie, &current.user.id)).await;
    let (others, own_device) = (others?, own_device?);
    let user_id = &current.user.id;
    let event = cx.event(user_id, EventType::OtherSessionsRevoked, json!({ "revoked": others.len() }));
    let from = current.user.generations();
    let next_generations = Generations { session: from.session + 1, ..from };
    let next = next_token(user_id)?;
    let new_id = next.id.clone();
    let handover = Handover { user_id, old: &current.id, new: &new_id, expires_at: current.record.summary.expires_at };
    // The caller's new session (of the next generation) is stored while D1 moves on to it.
    let (ended, issued) = join(
        cx.store.end_all_sessions(from.session, &handover, &event, own_device.as_deref()),
        reissue(cx, current, next, next_generations, current.record.sudo_until),
    )
    .await;
    let issued = issued?;
    if ended? == Outcome::LostRace {
        // Someone ended every session first, or this one: the revocation wins, and the new
        // record (which another "sign out everywhere" may have made current) never works.
        cx.store.end_session(&new_id, user_id, issued.record.summary.expires_at, None).await?;
        forget_later(cx, user_id, vec![new_id]);
        cx.effects.set_session_cookie(SessionCookie::Clear);
        return Err(Error::SignedOut);
    }
    forget_later(cx, user_id, others.iter().map(|s| s.id.clone()).collect());
    Ok(others.len())
}

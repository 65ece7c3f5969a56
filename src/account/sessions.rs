//! Ending sessions (SPEC §5.8): one (a sign-out, or another device's from the list) or every other
//! one. D1 is written first, so the session is refused everywhere at once; KV records follow.

use futures_util::future::join;
use serde_json::json;

use super::devices;
use crate::app::App;
use crate::auth::require_sudo;
use crate::auth::session::{self, CurrentSession, IssuedSession};
use crate::domain::ids::SessionId;
use crate::domain::tokens;
use crate::http::ApiError;
use crate::storage::attempts::Generations;
use crate::storage::events::EventType;
use crate::storage::revocations::Handover;
use crate::storage::{sessions, users, Outcome};

/// Signs the current session out.
pub async fn sign_out(app: &App, current: &CurrentSession) -> Result<(), ApiError> {
    let event = super::event(app, &current.user.id, EventType::SignOut, json!({}));
    let expires_at = current.record.summary.expires_at;
    users::end_session(&app.db()?, &current.id, &current.user.id, expires_at, Some(&event)).await?;
    sessions::delete(&app.kv()?, &current.user.id, &current.id).await?;
    Ok(())
}

/// Whether the session ended by [`end_one`] was the caller's own.
pub enum Ended {
    Own,
    Other,
}

/// Ends the session `id` of the caller's account: the caller's own needs no sudo (it is a
/// sign-out); another one does. Unknown ids and other users' ids are the same 404.
pub async fn end_one(app: &App, current: &CurrentSession, id: &str) -> Result<Ended, ApiError> {
    if !tokens::looks_like_id(id) {
        return Err(ApiError::NotFound);
    }
    let id = &SessionId::new(id);
    let own = *id == current.id;
    if !own {
        require_sudo(current, app.now)?;
    }
    let kv = app.kv()?;
    let summary = if own {
        current.record.summary.clone()
    } else {
        match sessions::get(&kv, id).await? {
            Some(record) if record.user_id == current.user.id => record.summary,
            Some(_) => return Err(ApiError::NotFound),
            // KV forgets a session once it was handed over to a new token; D1 still knows.
            None => return end_handed_over(app, current, id).await,
        }
    };
    let detail = json!({ "device": summary.device, "browser": summary.browser, "os": summary.os, "current": own });
    let event = super::event(app, &current.user.id, EventType::SessionRevoked, detail);
    users::end_session(&app.db()?, id, &current.user.id, summary.expires_at, Some(&event)).await?;
    sessions::delete(&kv, &current.user.id, id).await?;
    Ok(if own { Ended::Own } else { Ended::Other })
}

/// Ends what a session of the caller's that was handed over to a new token became (its device
/// confirmed it's you, or changed the password, while the caller's list still showed the old
/// id); 404 when D1 knows no such session.
async fn end_handed_over(app: &App, current: &CurrentSession, id: &SessionId) -> Result<Ended, ApiError> {
    let event = super::event(app, &current.user.id, EventType::SessionRevoked, json!({ "current": false }));
    let expires_at = app.now + app.config.session_absolute_seconds;
    match users::end_successors(&app.db()?, id, &current.user.id, expires_at, &event).await? {
        Outcome::Applied => Ok(Ended::Other),
        Outcome::LostRace => Err(ApiError::NotFound),
    }
}

/// Ends every other session with one D1 write (the user's `session_generation`), racing sign-ins
/// included, and the trust of every device but the caller's (its `device_cookie`); the caller
/// gets a new token of the new generation. Answers it and how many sessions were listed as live.
pub async fn end_others(
    app: &App,
    device_cookie: Option<&str>,
    current: &CurrentSession,
) -> Result<(IssuedSession, usize), ApiError> {
    let (others, own_device) =
        join(session::live_others(app, current), devices::own_device_id(app, device_cookie, &current.user.id)).await;
    let (others, own_device) = (others?, own_device?);
    let user_id = &current.user.id;
    let event = super::event(app, user_id, EventType::OtherSessionsRevoked, json!({ "revoked": others.len() }));
    let from = current.user.generations();
    let next_generations = Generations { session: from.session + 1, ..from };
    let next = session::next_token(user_id)?;
    let new_id = next.id.clone();
    let handover = Handover { user_id, old: &current.id, new: &new_id, expires_at: current.record.summary.expires_at };
    // The caller's new session (of the next generation) is stored while D1 moves on to it.
    let (ended, issued) = join(
        users::end_all_sessions(&app.db()?, from.session, &handover, &event, own_device.as_deref()),
        session::reissue(app, current, next, next_generations, current.record.sudo_until),
    )
    .await;
    let issued = issued?;
    if ended? == Outcome::LostRace {
        // Someone ended every session first, or this one: the revocation wins, and the new
        // record (which another "sign out everywhere" may have made current) never works.
        users::end_session(&app.db()?, &new_id, user_id, issued.record.summary.expires_at, None).await?;
        session::forget_in_background(app, user_id, vec![new_id]);
        return Err(ApiError::Unauthenticated);
    }
    session::forget_in_background(app, user_id, others.iter().map(|s| s.id.clone()).collect());
    Ok((issued, others.len()))
}

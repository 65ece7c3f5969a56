//! Unfamiliar sign-ins (issue 24, `domain::unfamiliar`): the flags of the sign-ins the listed
//! sessions started with, and "This was me", which marks one reviewed. "Not me" is ending that
//! session (`sessions::end_one`) and changing the password, from the page.

use std::collections::HashMap;

use super::sessions::Error;
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::ids::SessionId;
use crate::domain::tokens;
use crate::domain::unfamiliar::Flags;
use crate::storage::Store;

/// The flags of the user's sign-ins still to review that a live session may have started with
/// (no session is older than the absolute lifetime), by the sign-in's id — a session's
/// `sign_in`; a familiar or reviewed sign-in is not among them. Read with the session check on
/// the routes that show them, else one query near the user.
pub async fn sign_in_flags<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<HashMap<String, Flags>, Error> {
    let rows = match &current.also_read.sign_ins {
        Some(rows) => rows.clone(),
        None => cx.store.sign_ins(&current.user.id, sign_ins_since(cx)).await?,
    };
    let flags = rows.into_iter().filter_map(|row| {
        let detail: serde_json::Value = serde_json::from_str(&row.detail).ok()?;
        Some((detail.get("sign_in")?.as_str()?.to_string(), Flags::of(&detail)))
    });
    Ok(flags.collect())
}

/// No live session started before its absolute lifetime: older sign-ins flag no session.
pub fn sign_ins_since<S>(cx: &Cx<S>) -> u64 {
    cx.now().saturating_sub(cx.config().session_absolute_seconds)
}

/// `POST /api/security/sessions/{id}/familiar`: "This was me" for the sign-in that started the
/// session `id` (the caller's own or another of the same user's); unknown or another user's: 404.
pub async fn confirm_familiar<S: Store>(cx: &Cx<S>, current: &CurrentSession, id: &str) -> Result<(), Error> {
    if !tokens::looks_like_id(id) {
        return Err(Error::NotFound);
    }
    let id = SessionId::new(id);
    let started = match id == current.id {
        true => current.record.summary.sign_in.clone(),
        false => match cx.store.session(&id).await? {
            Some(record) if record.user_id == current.user.id => record.summary.sign_in,
            _ => return Err(Error::NotFound),
        },
    };
    // A session that started with a sign-up has no sign-in to review: nothing to change.
    if let Some(sign_in) = started {
        cx.store.review_sign_in(&current.user.id, &sign_in).await?;
    }
    Ok(())
}

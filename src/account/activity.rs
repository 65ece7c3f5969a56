//! Recent security activity (SPEC §4 `GET /api/security/events`): what happened to the account,
//! newest first, read near the user (it decides nothing about access).

use super::error::Unexpected;
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::storage::events::EventRow;
use crate::storage::Store;

pub async fn recent<S: Store>(cx: &Cx<S>, current: &CurrentSession, limit: u32) -> Result<Vec<EventRow>, Unexpected> {
    Ok(cx.store.recent_events(&current.user.id, limit).await?)
}

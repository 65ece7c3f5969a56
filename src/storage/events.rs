//! The security activity log (`security_events`).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement};

use super::users::Guard;
use super::{int, opt_text, text};
use super::Error;

/// The event types of SPEC §5.9.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    AccountCreated,
    SignIn,
    SignInFailed,
    SignOut,
    PasswordChanged,
    TwoFactorEnabled,
    TwoFactorDisabled,
    RecoveryCodesRegenerated,
    RecoveryCodeUsed,
    SessionRevoked,
    OtherSessionsRevoked,
    LockedOut,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccountCreated => "account_created",
            Self::SignIn => "sign_in",
            Self::SignInFailed => "sign_in_failed",
            Self::SignOut => "sign_out",
            Self::PasswordChanged => "password_changed",
            Self::TwoFactorEnabled => "two_factor_enabled",
            Self::TwoFactorDisabled => "two_factor_disabled",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::SessionRevoked => "session_revoked",
            Self::OtherSessionsRevoked => "other_sessions_revoked",
            Self::LockedOut => "locked_out",
        }
    }
}

/// Where a request came from, as recorded with events and session summaries.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub user_agent: String,
}

/// An insert that callers put in the same `batch` as the change it records, so an action and
/// its event land together or not at all.
pub fn insert(
    db: &D1Database,
    user_id: &str,
    kind: EventType,
    at: u64,
    origin: &Origin,
    detail: Value,
) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare("INSERT INTO security_events (user_id, type, at, ip, country, city, user_agent, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .bind(&values(user_id, kind, at, origin, &detail))?)
}

/// Like [`insert`], but written only if `guard` holds when the batch reaches it: an event for a
/// change that a concurrent request may have won instead.
pub fn insert_when(
    db: &D1Database,
    guard: &Guard,
    user_id: &str,
    kind: EventType,
    at: u64,
    origin: &Origin,
    detail: Value,
) -> Result<D1PreparedStatement, Error> {
    let mut binds = values(user_id, kind, at, origin, &detail).to_vec();
    binds.push(text(&guard.value()));
    let sql = format!(
        "INSERT INTO security_events (user_id, type, at, ip, country, city, user_agent, detail) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE {}",
        guard.condition("?1", "?9")
    );
    Ok(db.prepare(sql).bind(&binds)?)
}

pub(super) fn values(user_id: &str, kind: EventType, at: u64, origin: &Origin, detail: &Value) -> [JsValue; 8] {
    [
        text(user_id),
        text(kind.as_str()),
        int(at),
        opt_text(origin.ip.as_deref()),
        opt_text(origin.country.as_deref()),
        opt_text(origin.city.as_deref()),
        text(&origin.user_agent),
        text(&detail.to_string()),
    ]
}

#[derive(Debug, Clone, Deserialize)]
pub struct EventRow {
    #[serde(rename = "type")]
    pub kind: String,
    pub at: u64,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
}

pub async fn recent(db: &D1Database, user_id: &str, limit: u32) -> Result<Vec<EventRow>, Error> {
    super::all(
        db.prepare("SELECT type, at, ip, country, city, user_agent, detail FROM security_events WHERE user_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2")
            .bind(&[text(user_id), int(limit.into())])?,
    )
    .await
}

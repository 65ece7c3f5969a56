//! The security activity log (`security_events`).

use super::Db;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::precondition::Precondition;
use super::Error;
use super::{int, opt_text, text};

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
    PasskeyAdded,
    PasskeyRemoved,
    /// A passkey's sign counter did not grow: it may have been cloned.
    PasskeyCloneWarning,
    /// The owner forgot a trusted device: it is a stranger again until its next sign-in.
    TrustedDeviceForgotten,
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
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::PasskeyCloneWarning => "passkey_clone_warning",
            Self::TrustedDeviceForgotten => "trusted_device_forgotten",
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

/// An event to record: who, what, when, from where, and the detail (never a secret).
pub struct NewEvent<'a> {
    pub user_id: &'a str,
    pub kind: EventType,
    pub at: u64,
    pub origin: &'a Origin,
    pub detail: Value,
}

/// The one `INSERT` of an event, for the batch of the change it records, written only while
/// `when` holds: an action and its event land together or not at all.
pub fn insert(db: &Db, event: &NewEvent<'_>, when: &Precondition) -> Result<D1PreparedStatement, Error> {
    insert_computed(db, event, when, "?8")
}

/// Records one event on its own (for the account's user, while it exists).
pub async fn record(db: &Db, event: &NewEvent<'_>) -> Result<(), Error> {
    super::batch(db, vec![insert(db, event, &Precondition::user_exists(event.user_id))?]).await?;
    Ok(())
}

/// [`insert`] with the detail computed in SQL by `detail_sql` (over `?1` = user id), so it can
/// count rows of the same transaction.
pub fn insert_computed(
    db: &Db,
    event: &NewEvent<'_>,
    when: &Precondition,
    detail_sql: &str,
) -> Result<D1PreparedStatement, Error> {
    let sql = format!(
        "INSERT INTO security_events (user_id, type, at, ip, country, city, user_agent, detail) \
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, {detail_sql} WHERE {{pre}}"
    );
    when.statement(db, &sql, values(event).to_vec())
}

fn values(event: &NewEvent<'_>) -> [JsValue; 8] {
    [
        text(event.user_id),
        text(event.kind.as_str()),
        int(event.at),
        opt_text(event.origin.ip.as_deref()),
        opt_text(event.origin.country.as_deref()),
        opt_text(event.origin.city.as_deref()),
        text(&event.origin.user_agent),
        text(&event.detail.to_string()),
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

pub async fn recent(db: &Db, user_id: &str, limit: u32) -> Result<Vec<EventRow>, Error> {
    super::all(
        db.prepare("SELECT type, at, ip, country, city, user_agent, detail FROM security_events WHERE user_id = ?1 ORDER BY at DESC, id DESC LIMIT ?2")
            .bind(&[text(user_id), int(limit.into())])?,
    )
    .await
}

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
    /// The owner asked for the verification mail again.
    EmailVerificationRequested,
    /// A link proved the address (`detail.email`).
    EmailVerified,
    /// The owner asked to change the address to `detail.to` (its confirmation mail goes there).
    EmailChangeRequested,
    /// The address changed from `detail.from` (told there) to `detail.to`.
    EmailChanged,
    PasswordResetRequested,
    /// A password reset was completed (every session ended).
    PasswordReset,
    /// "This wasn't me" from a mail: every session and device trust ended.
    ReportedNotMe,
    /// New-sign-in alerts switched on or off (`detail.new_sign_in`).
    AlertsChanged,
    /// A mail about an event was sent (`detail.alert`: the event's type).
    AlertSent,
    /// A mail about an event could not be sent after its retries.
    AlertFailed,
    /// The password a sign-in used was found in data breaches (`detail.times`).
    PasswordBreached,
    /// The browser bound the session to a key it keeps on the device (DBSC; `detail.key`: the
    /// key's RFC 7638 thumbprint).
    SessionBound,
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
            Self::EmailVerificationRequested => "email_verification_requested",
            Self::EmailVerified => "email_verified",
            Self::EmailChangeRequested => "email_change_requested",
            Self::EmailChanged => "email_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::ReportedNotMe => "reported_not_me",
            Self::AlertsChanged => "alerts_changed",
            Self::AlertSent => "alert_sent",
            Self::AlertFailed => "alert_failed",
            Self::PasswordBreached => "password_breached",
            Self::SessionBound => "session_bound",
        }
    }

    /// Whether an event of this type may send a mail (whether it does is decided when its
    /// queued alert is delivered: `account::alerts`).
    pub fn may_mail(self) -> bool {
        matches!(
            self,
            Self::AccountCreated
                | Self::EmailVerificationRequested
                | Self::EmailChangeRequested
                | Self::EmailChanged
                | Self::PasswordResetRequested
                | Self::SignIn
                | Self::PasswordChanged
                | Self::PasswordReset
                | Self::TwoFactorDisabled
                | Self::RecoveryCodesRegenerated
                | Self::RecoveryCodeUsed
                | Self::PasskeyAdded
                | Self::PasskeyRemoved
                | Self::PasswordBreached
        )
    }
}

/// Where a request came from, as recorded with events and session summaries.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    /// The client's network (its AS number), as Cloudflare knows it.
    pub network: Option<String>,
    /// Where Cloudflare places the client (degrees), for "impossible travel".
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
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
    let detail = if event.kind == EventType::SignIn { SIGN_IN_DETAIL } else { "?8" };
    insert_computed(db, event, when, detail)
}

/// A sign-in's detail with what makes it unfamiliar (issue 24), computed over the account's own
/// earlier events in the statement that records it: a country or a network no sign-in or sign-up
/// of the account came from in the 90 days before (`new_country`, `new_network`), and the speed
/// from the place of the account's last sign-in (`travel_kmh`, great-circle distance over the
/// time between, at least a minute).
const SIGN_IN_DETAIL: &str = "json_set(?8, \
    '$.new_country', json(CASE WHEN ?5 IS NULL OR EXISTS (SELECT 1 FROM security_events p WHERE p.user_id = ?1 \
      AND p.type IN ('sign_in', 'account_created') AND p.at >= ?3 - 7776000 AND p.country = ?5) \
      THEN 'false' ELSE 'true' END), \
    '$.new_network', json(CASE WHEN ?9 IS NULL OR EXISTS (SELECT 1 FROM security_events p WHERE p.user_id = ?1 \
      AND p.type IN ('sign_in', 'account_created') AND p.at >= ?3 - 7776000 AND p.network = ?9) \
      THEN 'false' ELSE 'true' END), \
    '$.travel_kmh', (SELECT CAST(ROUND(12742 * asin(sqrt( \
        pow(sin(radians(?11 - p.latitude) / 2), 2) \
        + cos(radians(p.latitude)) * cos(radians(?11)) * pow(sin(radians(?12 - p.longitude) / 2), 2))) \
        / max((?3 - p.at) / 3600.0, 1 / 60.0)) AS INTEGER) \
      FROM security_events p WHERE p.user_id = ?1 AND p.type IN ('sign_in', 'account_created') \
      AND p.latitude IS NOT NULL AND ?11 IS NOT NULL AND ?12 IS NOT NULL AND p.at >= ?3 - 7776000 \
      ORDER BY p.at DESC, p.id DESC LIMIT 1))";

/// Records one event on its own (for the account's user, while it exists).
pub async fn record(db: &Db, event: &NewEvent<'_>) -> Result<(), Error> {
    super::batch(db, vec![insert(db, event, &Precondition::user_exists(event.user_id))?]).await?;
    Ok(())
}

/// [`insert`] with the detail computed in SQL by `detail_sql` (over `?1` = user id), so it can
/// count rows of the same transaction. The one INSERT of an event: an event that may mail gets
/// an alert id and stands `pending`, and the id is noted for the queue (after the answer).
pub fn insert_computed(
    db: &Db,
    event: &NewEvent<'_>,
    when: &Precondition,
    detail_sql: &str,
) -> Result<D1PreparedStatement, Error> {
    let sql = format!(
        "INSERT INTO security_events (user_id, type, at, ip, country, city, user_agent, detail, network, alert_id, \
         alert, latitude, longitude) SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, {detail_sql}, ?9, ?10, CASE WHEN ?10 IS NULL \
         THEN NULL ELSE 'pending' END, ?11, ?12 WHERE {{pre}}"
    );
    let alert_id = match event.kind.may_mail() {
        true => Some(crate::domain::tokens::new_id().map_err(|cause| Error::Randomness(cause.to_string()))?),
        false => None,
    };
    let statement = when.statement(db, &sql, values(event, alert_id.as_deref()).to_vec())?;
    if let Some(id) = alert_id {
        db.note_alert(id);
    }
    Ok(statement)
}

/// The event's values, ?1 to ?12 (?8 the detail, ?9 the network, ?10 the alert id, ?11 and ?12
/// the latitude and longitude).
fn values(event: &NewEvent<'_>, alert_id: Option<&str>) -> [JsValue; 12] {
    [
        text(event.user_id),
        text(event.kind.as_str()),
        int(event.at),
        opt_text(event.origin.ip.as_deref()),
        opt_text(event.origin.country.as_deref()),
        opt_text(event.origin.city.as_deref()),
        text(&event.origin.user_agent),
        text(&event.detail.to_string()),
        opt_text(event.origin.network.as_deref()),
        opt_text(alert_id),
        event.origin.latitude.map_or(JsValue::NULL, JsValue::from_f64),
        event.origin.longitude.map_or(JsValue::NULL, JsValue::from_f64),
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

/// A sign-in event's detail (its id and flags, `domain::unfamiliar`).
#[derive(Debug, Clone, Deserialize)]
pub struct SignInRow {
    pub detail: String,
}

/// The user's sign-ins since `since` (no live session started before) that may still be to
/// review: flagged, and the owner has not said "This was me". Narrowed in SQL so that few rows
/// leave D1, however often the account signs in; `domain::unfamiliar::Flags::to_review` decides.
pub async fn sign_ins(db: &Db, user_id: &str, since: u64) -> Result<Vec<SignInRow>, Error> {
    super::all(sign_ins_statement(db, user_id, since)?).await
}

pub(super) fn sign_ins_statement(db: &Db, user_id: &str, since: u64) -> Result<D1PreparedStatement, Error> {
    let sql = "SELECT detail FROM security_events WHERE user_id = ?1 AND type = 'sign_in' AND at >= ?2 \
               AND json_type(detail, '$.reviewed') IS NOT 'true' \
               AND (json_type(detail, '$.new_country') = 'true' OR json_type(detail, '$.new_network') = 'true' \
                    OR json_type(detail, '$.new_device') = 'true' \
                    OR json_extract(detail, '$.travel_kmh') > ?3)";
    let impossible = int(crate::domain::unfamiliar::IMPOSSIBLE_KMH);
    Ok(db.prepare(sql).bind(&[text(user_id), int(since), impossible])?)
}

/// "This was me": the sign-in `sign_in` (its request id) is reviewed (its flags stay, as the
/// record of what it was).
pub async fn review_sign_in(db: &Db, user_id: &str, sign_in: &str) -> Result<super::Outcome, Error> {
    let statement = db
        .prepare(
            "UPDATE security_events SET detail = json_set(detail, '$.reviewed', json('true')) \
             WHERE user_id = ?1 AND type = 'sign_in' AND json_extract(detail, '$.sign_in') = ?2",
        )
        .bind(&[text(user_id), text(sign_in)])?;
    let results = super::batch(db, vec![statement]).await?;
    Ok(match super::users::changes(&results, 0) {
        0 => super::Outcome::LostRace,
        _ => super::Outcome::Applied,
    })
}

//! Trusted devices in D1 (`trusted_devices`, SPEC §5.7): a `__Host-device` cookie makes its
//! browser a known device of the user only while this table has its row, so that trust can end.
//! Every write here is a statement for the batch of the change it belongs to (a completed
//! sign-in trusts, a password change or "sign out other sessions" ends the others' trust), guarded
//! by that change's precondition: trust is given or taken only with the change that decides it.

use serde_json::Value;
use worker::D1PreparedStatement;

use super::events::{self, NewEvent};
use super::precondition::Precondition;
use super::{int, opt_text, text, users, Db, Error, Outcome};

/// A device no completed sign-in used for this long is forgotten by the daily clean-up (as long
/// as its cookie lives).
pub const KEEP_UNUSED_SECONDS: u64 = 180 * 24 * 3600;

/// The browser a completed sign-in trusts, as the list will show it.
#[derive(Debug, Clone)]
pub struct Trust {
    pub user_id: String,
    pub device_id: String,
    pub device: String,
    pub browser: String,
    pub os: String,
    pub city: Option<String>,
    pub country: Option<String>,
    pub now: u64,
}

/// Trusts `trust`'s browser (a new row, or the last use, name and place of its row), while `when`
/// holds: for the batch that completes the sign-in.
pub(super) fn trust(db: &Db, trust: &Trust, when: &Precondition) -> Result<D1PreparedStatement, Error> {
    when.statement(
        db,
        "INSERT INTO trusted_devices (user_id, device_id, created_at, last_used_at, device, browser, os, city, country) \
         SELECT ?1, ?2, ?3, ?3, ?4, ?5, ?6, ?7, ?8 WHERE {pre} \
         ON CONFLICT (user_id, device_id) DO UPDATE SET last_used_at = excluded.last_used_at, \
         device = excluded.device, browser = excluded.browser, os = excluded.os, \
         city = excluded.city, country = excluded.country",
        vec![
            text(&trust.user_id),
            text(&trust.device_id),
            int(trust.now),
            text(&trust.device),
            text(&trust.browser),
            text(&trust.os),
            opt_text(trust.city.as_deref()),
            opt_text(trust.country.as_deref()),
        ],
    )
}

/// Ends the trust of every device of the user but `keep` (the caller's own, which just proved
/// itself), while `when` holds: for the batch of a password change or "sign out other sessions".
pub(super) fn end_trust_of_others(
    db: &Db,
    user_id: &str,
    keep: Option<&str>,
    when: &Precondition,
) -> Result<D1PreparedStatement, Error> {
    when.statement(
        db,
        "DELETE FROM trusted_devices WHERE user_id = ?1 AND device_id != ?2 AND {pre}",
        vec![text(user_id), text(keep.unwrap_or(""))],
    )
}

/// SQL: the device `?{device}` is a trusted device of the user `?{user}`.
pub(super) fn is_trusted_sql(user: usize, device: usize) -> String {
    format!("EXISTS (SELECT 1 FROM trusted_devices WHERE user_id = ?{user} AND device_id = ?{device})")
}

/// The same as a [`Precondition`] (its markers bound in order: user id, device id).
pub(super) fn is_trusted(user_id: &str, device_id: &str) -> Precondition {
    Precondition::new(
        "EXISTS (SELECT 1 FROM trusted_devices WHERE user_id = ? AND device_id = ?)",
        vec![text(user_id), text(device_id)],
    )
}

/// The user's trusted devices, `own` (the caller's browser) first, then the most recently used,
/// each as the API answers it but for `current`: `{id, device, browser, os, city, country,
/// created_at, last_used_at}`. Rows stay JSON values (read as every batch result is) rather than a
/// typed row: a struct of its own, read and written, costs the worker kilobytes of its 512 KiB
/// budget.
pub async fn list(db: &Db, user_id: &str, own: Option<&str>) -> Result<Vec<Value>, Error> {
    super::all(
        db.prepare(
            "SELECT device_id AS id, device, browser, os, city, country, created_at, last_used_at \
             FROM trusted_devices WHERE user_id = ?1 ORDER BY device_id = ?2 DESC, last_used_at DESC, device_id",
        )
        .bind(&[text(user_id), text(own.unwrap_or(""))])?,
    )
    .await
}

/// How many of the user's trusted devices were last used before `before`.
pub async fn unused(db: &Db, user_id: &str, before: u64) -> Result<u32, Error> {
    Ok(super::first::<super::Count>(unused_statement(db, user_id, before)?).await?.map_or(0, |c| c.n))
}

/// How many of the user's trusted devices were last used before `before` (as `n`).
pub(super) fn unused_statement(db: &Db, user_id: &str, before: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare("SELECT COUNT(*) AS n FROM trusted_devices WHERE user_id = ?1 AND last_used_at < ?2")
        .bind(&[text(user_id), int(before)])?)
}

/// Forgets one of the user's trusted devices and records `event` with it, its detail being the
/// event's own (`?8`, JSON) with the device's names added from the row; `LostRace` when the user
/// has no such device (never had, or another request forgot it first).
pub async fn forget(db: &Db, user_id: &str, device_id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error> {
    let exists = is_trusted(user_id, device_id);
    // The precondition's values follow the event's twelve: ?13 user id, ?14 device id.
    let detail = "(SELECT json_set(?8, '$.device', device, '$.browser', browser, '$.os', os) \
                  FROM trusted_devices WHERE user_id = ?13 AND device_id = ?14)";
    let record = events::insert_computed(db, event, &exists, detail)?;
    let delete = db
        .prepare("DELETE FROM trusted_devices WHERE user_id = ?1 AND device_id = ?2")
        .bind(&[text(user_id), text(device_id)])?;
    let results = users::run_batch(db, vec![record, delete]).await?;
    Ok(if users::changes(&results, 1) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// Drops devices no completed sign-in used for [`KEEP_UNUSED_SECONDS`].
pub fn prune(db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db
        .prepare("DELETE FROM trusted_devices WHERE last_used_at < ?1")
        .bind(&[int(now.saturating_sub(KEEP_UNUSED_SECONDS))])?)
}

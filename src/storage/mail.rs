//! Mail in D1 (docs/email.md): events whose alert is pending, sending, sent, skipped or failed;
//! the tokens of links in mails (`email_tokens`, by their SHA-256), and the changes a link
//! makes, each one transaction that spends its token or does nothing. The queue itself is
//! `super::bindings`'.

use serde::Deserialize;
use serde_json::json;
use worker::D1PreparedStatement;

use super::events::{self, NewEvent, Origin};
use super::precondition::Precondition;
use super::users::{account_by_email, changes};
use super::{batch, first, int, opt_text, text, Db, Error, Outcome};

/// How long a claimed alert stays claimed before another delivery may take it (a consumer that
/// died mid-send).
pub const CLAIM_SECONDS: u64 = 300;
/// Password-reset mails per account per hour (more requests are answered alike and send nothing).
pub const RESETS_PER_HOUR: u64 = 3;
/// Verification and change mails per account per hour.
pub const VERIFICATIONS_PER_HOUR: u64 = 3;

/// An event claimed for its mail, with what deciding and rendering it needs.
#[derive(Debug, Clone, Deserialize)]
pub struct ClaimedAlert {
    pub user_id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub at: u64,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub user_agent: Option<String>,
    pub detail: String,
    /// The account's address now.
    pub email: String,
    pub verified: u32,
    pub new_sign_in_alerts: u32,
    /// A sign-in or sign-up from this country and network was recorded in the 90 days before.
    pub familiar_place: u32,
}

/// Where an alert's mail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    Sent,
    Skipped,
    Failed,
}

impl AlertState {
    fn as_str(self) -> &'static str {
        match self {
            Self::Sent => "sent",
            Self::Skipped => "skipped",
            Self::Failed => "failed",
        }
    }
}

/// What a link in a mail does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Verify,
    Change,
    Reset,
    NotMe,
}

impl Purpose {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::Change => "change",
            Self::Reset => "reset",
            Self::NotMe => "not_me",
        }
    }
}

/// A link's token to store (its hash only).
pub struct NewToken<'a> {
    pub hash: &'a str,
    pub user_id: &'a str,
    pub purpose: Purpose,
    pub email: &'a str,
    pub now: u64,
    pub expires_at: u64,
}

/// An unused, unexpired token, as read before it is spent.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenRow {
    pub user_id: String,
    /// The address the link was sent to (for a change: the new address).
    pub email: String,
    /// The account's address now.
    pub current_email: String,
    pub verified: u32,
    pub two_factor: u32,
    pub passkeys: u32,
    pub name: String,
    pub password_generation: u64,
    pub session_generation: u64,
}

/// Spending a token: `hash` of `purpose`, unused and unexpired at `now`, marked used by `nonce`
/// (unique to this request) so the statements after it can tell that *this* request spent it.
pub struct Spend<'a> {
    pub hash: &'a str,
    pub purpose: Purpose,
    pub nonce: &'a str,
    pub now: u64,
}

impl Spend<'_> {
    fn statement(&self, db: &Db, also: &str) -> Result<D1PreparedStatement, Error> {
        let sql = format!(
            "UPDATE email_tokens SET used_at = ?3, used_by = ?4 WHERE token_hash = ?1 AND purpose = ?2 \
             AND used_at IS NULL AND expires_at > ?3 {also}"
        );
        Ok(db.prepare(sql).bind(&[text(self.hash), text(self.purpose.as_str()), int(self.now), text(self.nonce)])?)
    }

    /// This request spent the token (for the statements after [`Spend::statement`]).
    fn spent(&self) -> Precondition {
        Precondition::new(
            "EXISTS (SELECT 1 FROM email_tokens WHERE token_hash = ? AND used_by = ?)",
            vec![text(self.hash), text(self.nonce)],
        )
    }
}

/// Claims the event of `alert_id` for delivery (pending, or claimed long ago); None when it is
/// not there (never written, already sent) or another delivery holds it.
pub async fn claim(db: &Db, alert_id: &str, now: u64) -> Result<Option<ClaimedAlert>, Error> {
    let claim = db
        .prepare(
            "UPDATE security_events SET alert = 'sending', alert_at = ?2 WHERE alert_id = ?1 \
             AND (alert = 'pending' OR (alert = 'sending' AND alert_at < ?3))",
        )
        .bind(&[text(alert_id), int(now), int(now.saturating_sub(CLAIM_SECONDS))])?;
    let read = db
        .prepare(
            "SELECT e.user_id, e.type, e.at, e.ip, e.country, e.city, e.user_agent, e.detail, u.email, \
             u.email_verified_at IS NOT NULL AS verified, u.new_sign_in_alerts, \
             EXISTS (SELECT 1 FROM security_events p WHERE p.user_id = e.user_id AND p.id < e.id \
               AND p.type IN ('sign_in', 'account_created') AND p.at >= e.at - ?3 \
               AND p.country IS e.country AND p.network IS e.network) AS familiar_place \
             FROM security_events e JOIN users u ON u.id = e.user_id \
             WHERE e.alert_id = ?1 AND e.alert = 'sending' AND e.alert_at = ?2",
        )
        .bind(&[text(alert_id), int(now), int(super::EVENT_RETENTION_SECONDS)])?;
    let results = batch(db, vec![claim, read]).await?;
    if changes(&results, 0) == 0 {
        return Ok(None);
    }
    super::attempts::first_of(&results, 1)
}

/// Ends a claimed alert: `sent` (with its `alert_sent` event), `skipped` or `failed` (with
/// `alert_failed`), only while it is still claimed.
pub async fn settle(db: &Db, alert_id: &str, state: AlertState, event: Option<&NewEvent<'_>>) -> Result<(), Error> {
    let mut statements = vec![db
        .prepare("UPDATE security_events SET alert = ?2 WHERE alert_id = ?1 AND alert IN ('sending', 'pending')")
        .bind(&[text(alert_id), text(state.as_str())])?];
    if let Some(event) = event {
        let settled = Precondition::new(
            "EXISTS (SELECT 1 FROM security_events WHERE alert_id = ? AND alert = ?) AND changes() > 0",
            vec![text(alert_id), text(state.as_str())],
        );
        statements.push(events::insert(db, event, &settled)?);
    }
    batch(db, statements).await?;
    Ok(())
}

/// Puts a claimed alert back (its send failed and will be retried).
pub async fn release(db: &Db, alert_id: &str) -> Result<(), Error> {
    let statement =
        db.prepare("UPDATE security_events SET alert = 'pending' WHERE alert_id = ?1 AND alert = 'sending'");
    batch(db, vec![statement.bind(&[text(alert_id)])?]).await?;
    Ok(())
}

/// Alerts left pending or claimed since before `before` (a queue send lost after the answer).
pub async fn unsent(db: &Db, before: u64, limit: u64) -> Result<Vec<String>, Error> {
    #[derive(Deserialize)]
    struct Row {
        alert_id: String,
    }
    let rows: Vec<Row> = super::all(
        db.prepare(
            "SELECT alert_id FROM security_events WHERE alert IN ('pending', 'sending') \
             AND COALESCE(alert_at, at) < ?1 ORDER BY at LIMIT ?2",
        )
        .bind(&[int(before), int(limit)])?,
    )
    .await?;
    Ok(rows.into_iter().map(|r| r.alert_id).collect())
}

pub async fn create_token(db: &Db, token: &NewToken<'_>) -> Result<(), Error> {
    let statement = db
        .prepare(
            "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .bind(&[
            text(token.hash),
            text(token.user_id),
            text(token.purpose.as_str()),
            text(token.email),
            int(token.now),
            int(token.expires_at),
        ])?;
    batch(db, vec![statement]).await?;
    Ok(())
}

/// The unused, unexpired token of `purpose` with this hash, and its account.
pub async fn token(db: &Db, hash: &str, purpose: Purpose, now: u64) -> Result<Option<TokenRow>, Error> {
    first(
        db.prepare(
            "SELECT t.user_id, t.email, u.email AS current_email, u.email_verified_at IS NOT NULL AS verified, \
             u.totp_enabled_at IS NOT NULL AS two_factor, \
             EXISTS (SELECT 1 FROM passkeys p WHERE p.user_id = t.user_id) AS passkeys, \
             u.name, u.password_generation, u.session_generation \
             FROM email_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = ?1 AND t.purpose = ?2 AND t.used_at IS NULL AND t.expires_at > ?3",
        )
        .bind(&[text(hash), text(purpose.as_str()), int(now)])?,
    )
    .await
}

/// Spends a verification token and marks the address verified (only while the account's
/// address is still the one the link was sent to), with `event`.
pub async fn verify(db: &Db, spend: &Spend<'_>, user_id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error> {
    let still = "AND email = (SELECT email FROM users WHERE id = email_tokens.user_id)";
    let statements = vec![
        spend.statement(db, still)?,
        spend.spent().statement(
            db,
            "UPDATE users SET email_verified_at = COALESCE(email_verified_at, ?2) WHERE id = ?1 AND {pre}",
            vec![text(user_id), int(spend.now)],
        )?,
        events::insert(db, event, &spend.spent())?,
    ];
    outcome(batch(db, statements).await?)
}

/// Spends a change token and moves the account to its address (verified), unless another
/// account took that address meanwhile; `event` is the `email_changed` event.
pub async fn change(
    db: &Db,
    spend: &Spend<'_>,
    user_id: &str,
    to: &str,
    event: &NewEvent<'_>,
) -> Result<Outcome, Error> {
    let free = "AND NOT EXISTS (SELECT 1 FROM users WHERE email = email_tokens.email)";
    let statements = vec![
        spend.statement(db, free)?,
        spend.spent().statement(
            db,
            "UPDATE users SET email = ?2, email_verified_at = ?3 WHERE id = ?1 AND {pre}",
            vec![text(user_id), text(to), int(spend.now)],
        )?,
        events::insert(db, event, &spend.spent())?,
        // Links sent to the old address no longer apply to the account.
        spend.spent().statement(
            db,
            "DELETE FROM email_tokens WHERE user_id = ?1 AND used_at IS NULL AND purpose IN ('verify', 'change', 'reset') \
             AND {pre}",
            vec![text(user_id)],
        )?,
    ];
    outcome(batch(db, statements).await?)
}

/// "This wasn't me": spends the token, ends every session and pending sign-in (the session
/// generation), ends every device's trust, records `event` and stores `reset` (a reset token
/// handed to the page).
pub async fn not_me(
    db: &Db,
    spend: &Spend<'_>,
    user_id: &str,
    event: &NewEvent<'_>,
    reset: &NewToken<'_>,
) -> Result<Outcome, Error> {
    let spent = spend.spent();
    let statements = vec![
        spend.statement(db, "")?,
        spent.statement(
            db,
            "UPDATE users SET session_generation = session_generation + 1 WHERE id = ?1 AND {pre}",
            vec![text(user_id)],
        )?,
        spent.statement(db, "DELETE FROM trusted_devices WHERE user_id = ?1 AND {pre}", vec![text(user_id)])?,
        events::insert(db, event, &spent)?,
        spent.statement(
            db,
            "INSERT INTO email_tokens (token_hash, user_id, purpose, email, created_at, expires_at) \
             SELECT ?1, ?2, ?3, ?4, ?5, ?6 WHERE {pre}",
            vec![
                text(reset.hash),
                text(reset.user_id),
                text(reset.purpose.as_str()),
                text(reset.email),
                int(reset.now),
                int(reset.expires_at),
            ],
        )?,
    ];
    outcome(batch(db, statements).await?)
}

/// A password reset to apply: the new hash, and the generations a second factor was verified
/// under (None: the account has no second factor, and must still have none).
pub struct Reset<'a> {
    pub user_id: &'a str,
    pub new_hash: &'a str,
    pub generations: Option<super::attempts::Generations>,
}

/// Spends a reset token and sets the password: every session and pending sign-in ends (both
/// generations), every device's trust and failure run ends, with `event`.
pub async fn reset(db: &Db, spend: &Spend<'_>, reset: &Reset<'_>, event: &NewEvent<'_>) -> Result<Outcome, Error> {
    let (id, spent) = (reset.user_id, spend.spent());
    let guard = match reset.generations {
        None => "AND EXISTS (SELECT 1 FROM users WHERE id = email_tokens.user_id AND totp_enabled_at IS NULL)".into(),
        Some(g) => format!(
            "AND EXISTS (SELECT 1 FROM users WHERE id = email_tokens.user_id AND password_generation = {} \
             AND session_generation = {})",
            g.password, g.session
        ),
    };
    let statements = vec![
        spend.statement(db, &guard)?,
        spent.statement(
            db,
            "UPDATE users SET password_hash = ?2, password_changed_at = ?3, failed_attempts = 0, locked_until = 0, password_breached_count = NULL, \
             password_generation = password_generation + 1, session_generation = session_generation + 1 \
             WHERE id = ?1 AND {pre}",
            vec![text(id), text(reset.new_hash), int(spend.now)],
        )?,
        spent.statement(db, "DELETE FROM trusted_devices WHERE user_id = ?1 AND {pre}", vec![text(id)])?,
        spent.statement(db, "DELETE FROM attempt_budgets WHERE user_id = ?1 AND {pre}", vec![text(id)])?,
        events::insert(db, event, &spent)?,
    ];
    outcome(batch(db, statements).await?)
}

/// Records `password_reset_requested` for the account of this address (its mail carries the
/// link), unless it had [`RESETS_PER_HOUR`] already; for an unknown address it writes nothing,
/// in the same one statement.
pub async fn request_reset(
    db: &Db,
    lookup: (&str, &str),
    origin: &Origin,
    now: u64,
    alert_id: &str,
) -> Result<(), Error> {
    let account = account_by_email(1, 2);
    let sql = format!(
        "INSERT INTO security_events (user_id, type, at, ip, country, city, user_agent, detail, network, alert_id, alert) \
         SELECT id, 'password_reset_requested', ?3, ?4, ?5, ?6, ?7, '{{}}', ?8, ?9, 'pending' FROM users \
         WHERE id = {account} AND (SELECT COUNT(*) FROM security_events WHERE user_id = users.id \
           AND type = 'password_reset_requested' AND at > ?3 - 3600) < {RESETS_PER_HOUR}"
    );
    let statement = db.prepare(sql).bind(&[
        text(lookup.0),
        text(lookup.1),
        int(now),
        opt_text(origin.ip.as_deref()),
        opt_text(origin.country.as_deref()),
        opt_text(origin.city.as_deref()),
        text(&origin.user_agent),
        opt_text(origin.network.as_deref()),
        text(alert_id),
    ])?;
    db.note_alert(alert_id.to_string());
    batch(db, vec![statement]).await?;
    Ok(())
}

/// Records an event that sends a verification or change mail, unless the account had
/// [`VERIFICATIONS_PER_HOUR`] of them in the last hour (then `LostRace`); `unverified`: only
/// while the address is not verified yet.
pub async fn request_verification(db: &Db, event: &NewEvent<'_>, unverified: bool) -> Result<Outcome, Error> {
    let mut under = Precondition::new(
        "(SELECT COUNT(*) FROM security_events WHERE user_id = ? AND type IN \
         ('email_verification_requested', 'email_change_requested') AND at > ?) < ?",
        vec![text(event.user_id), int(event.at.saturating_sub(3600)), int(VERIFICATIONS_PER_HOUR)],
    );
    if unverified {
        under = under.and(Precondition::new(
            "EXISTS (SELECT 1 FROM users WHERE id = ? AND email_verified_at IS NULL)",
            vec![text(event.user_id)],
        ));
    }
    outcome(batch(db, vec![events::insert(db, event, &under)?]).await?)
}

/// Whether another account uses this address (normal or legacy form).
pub async fn email_taken(db: &Db, lookup: (&str, &str)) -> Result<bool, Error> {
    #[derive(Deserialize)]
    struct Row {
        taken: u32,
    }
    let sql = format!("SELECT {} IS NOT NULL AS taken", account_by_email(1, 2));
    let row: Option<Row> = first(db.prepare(sql).bind(&[text(lookup.0), text(lookup.1)])?).await?;
    Ok(row.is_some_and(|r| r.taken == 1))
}

/// Switches new-sign-in alerts on or off, with `event`.
pub async fn set_alerts(db: &Db, user_id: &str, on: bool, event: &NewEvent<'_>) -> Result<(), Error> {
    let statements = vec![
        db.prepare("UPDATE users SET new_sign_in_alerts = ?2 WHERE id = ?1")
            .bind(&[text(user_id), int(u64::from(on))])?,
        events::insert(db, event, &Precondition::user_exists(user_id))?,
    ];
    batch(db, statements).await?;
    Ok(())
}

/// Drops tokens past their expiry (used or not).
pub fn prune(db: &Db, now: u64) -> Result<D1PreparedStatement, Error> {
    Ok(db.prepare("DELETE FROM email_tokens WHERE expires_at < ?1").bind(&[int(now)])?)
}

fn outcome(results: Vec<worker::D1Result>) -> Result<Outcome, Error> {
    Ok(if changes(&results, 0) > 0 { Outcome::Applied } else { Outcome::LostRace })
}

/// The detail of an `alert_sent` / `alert_failed` event: the kind of event the mail was about.
pub fn about(kind: &str) -> serde_json::Value {
    json!({ "alert": kind })
}

/// An event of the worker itself (a delivery), without a request's origin.
pub fn worker_origin() -> Origin {
    Origin { user_agent: String::new(), ..Origin::default() }
}

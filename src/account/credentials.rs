//! A signed-in session proving its password again: "Confirm it's you" (sudo) and the password
//! change (SPEC §5.3, §5.8). Failures count against the session, never the account.

use futures_util::future::join;
use serde_json::json;

use super::attempts::Attempt;
use super::factors::{self, SecondFactor};
use super::keys;
use super::sign_in::hash_password;
use crate::app::App;
use crate::auth::session::{self, CurrentSession, IssuedSession};
use crate::domain::email::Email;
use crate::domain::password;
use crate::domain::password_rules::{self, PasswordContext};
use crate::http::ApiError;
use crate::storage::attempts::Budget;
use crate::storage::events::EventType;
use crate::storage::two_factor::{self, FactorsRow, Use};
use crate::storage::users::{self, NewPassword, PasswordChange};
use crate::storage::Outcome;

/// `POST /api/auth/confirm`: the password (and, with 2FA on, a code or recovery code) opens the
/// sudo window on a new token; the old token ends at once (ASVS 5.0 V7.2.4).
pub async fn confirm(
    app: &App,
    current: &CurrentSession,
    password: &str,
    factor: Option<SecondFactor>,
) -> Result<IssuedSession, ApiError> {
    let row = FactorsRow::from(&current.user);
    if row.enabled() && factor.is_none() {
        return Err(ApiError::invalid_input(
            "Enter your password and a code from your authenticator app (or a recovery code).",
        ));
    }
    // The keys before the attempt is claimed: a wrong SECRET_KEY answers 503 with nothing counted.
    let keys = if row.enabled() { Some(keys::load_for(app, row.totp_secret.as_deref()).await?) } else { None };
    let attempt = Attempt::by_session(app, current).await?;
    if !password::verify(password, &row.password_hash, app.config.hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "confirm" });
        return Err(attempt.failed(app, detail, ApiError::WrongPassword).await?);
    }
    let db = app.db()?;
    match factor.filter(|_| row.enabled()).zip(keys) {
        Some((factor, keys)) => {
            let (attempt, candidate) = factors::candidate_or_hand_back(app, &keys, &row, &factor, attempt).await?;
            let outcome = match candidate {
                Some(candidate) => {
                    let using = Use { budget: attempt.budget(), generations: None, events: &[] };
                    two_factor::use_proof(&db, &row.id, &candidate.proof(), &using, app.now, &app.origin).await?
                }
                None => Outcome::LostRace,
            };
            if outcome == Outcome::LostRace {
                let detail = json!({ "factor": factor.name(), "action": "confirm" });
                return Err(attempt.failed(app, detail, ApiError::InvalidCode).await?);
            }
        }
        None => return open_sudo(app, current, Some(attempt.budget())).await,
    }
    open_sudo(app, current, None).await
}

/// Opens the sudo window on a new token; the old token ends everywhere before the new one is
/// handed out. `passed`: the run of the attempt that proved the secret ends in the same write.
pub(super) async fn open_sudo(
    app: &App,
    current: &CurrentSession,
    passed: Option<&Budget>,
) -> Result<IssuedSession, ApiError> {
    let expires_at = current.record.summary.expires_at;
    users::end_session(&app.db()?, &current.id, expires_at, None, &current.user.id, passed).await?;
    let generations = current.record.generations;
    session::reissue(app, current, generations, app.now + app.config.sudo_seconds).await
}

/// What a password change answers.
pub struct PasswordChanged {
    pub signed_out_sessions: usize,
    /// The caller's new session when the others were signed out (the old token ended too).
    pub session: Option<IssuedSession>,
}

/// `PUT /api/security/password`: needs the current password; by default ends every other
/// session (one D1 write bumps the generations) and gives the caller a new token.
pub async fn change_password(
    app: &App,
    current: &CurrentSession,
    current_password: &str,
    new_password: &str,
    sign_out_others: bool,
) -> Result<PasswordChanged, ApiError> {
    let user = &current.user;
    // The sessions to sign out are listed while the attempt is counted: one round trip less.
    let listing = async {
        match sign_out_others {
            true => session::live_others(app, current).await,
            false => Ok(Vec::new()),
        }
    };
    let (attempt, others) = join(Attempt::by_session(app, current), listing).await;
    let (attempt, others) = (attempt?, others?);
    if !password::verify(current_password, &user.password_hash, app.config.hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "change_password" });
        return Err(attempt.failed(app, detail, ApiError::WrongPassword).await?);
    }
    let db = app.db()?;
    let email = Email::parse(&user.email).map_err(|_| ApiError::Internal)?;
    let problems = password_rules::check(
        new_password,
        &PasswordContext { email_local_part: email.local_part(), name: &user.name },
    );
    let refusal = if !problems.is_empty() {
        Some(ApiError::WeakPassword(problems))
    } else if new_password == current_password {
        Some(ApiError::invalid_input("Choose a new password that is different from your current one."))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        attempt.passed(app).await?;
        return Err(refusal);
    }
    let new_hash = hash_password(new_password, app)?;
    let event = super::event(app, &user.id, EventType::PasswordChanged, json!({ "signed_out_sessions": others.len() }));
    let change = NewPassword {
        user_id: &user.id,
        old_hash: &user.password_hash,
        new_hash: &new_hash,
        now: app.now,
        end_sessions: sign_out_others,
    };
    let generations = match users::change_password(&db, &change, &event, attempt.budget()).await? {
        PasswordChange::Applied(generations) => generations,
        // Another change won the race: the password given as current is no longer current.
        PasswordChange::LostRace => return Err(ApiError::WrongPassword),
    };
    if !sign_out_others {
        return Ok(PasswordChanged { signed_out_sessions: 0, session: None });
    }
    session::forget_in_background(app, &user.id, others.iter().map(|s| s.id.clone()).collect());
    let issued = session::reissue(app, current, generations, current.record.sudo_until).await?;
    Ok(PasswordChanged { signed_out_sessions: others.len(), session: Some(issued) })
}

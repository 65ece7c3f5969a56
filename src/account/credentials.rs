//! A signed-in session proving its password again: "Confirm it's you" (sudo) and the password
//! change (SPEC §5.3, §5.8). Failures count against the session, never the account.

use futures_util::future::join3;
use serde_json::json;

use super::attempts::Attempt;
use super::devices;
use super::factors::{self, SecondFactor};
use super::keys;
use super::sign_in::hash_password;
use crate::app::App;
use crate::auth::session::{self, CurrentSession, IssuedSession};
use crate::domain::email::Email;
use crate::domain::password;
use crate::domain::password_rules::{self, PasswordContext};
use crate::domain::unicode::nfc;
use crate::http::ApiError;
use crate::storage::attempts::Budget;
use crate::storage::events::EventType;
use crate::storage::revocations::Handover;
use crate::storage::two_factor::{self, FactorsRow, Use};
use crate::storage::users::{self, ChangingSession, NewPassword, PasswordChange};
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
                    let using = Use { budget: attempt.budget(), generations: None, events: &[], trust: None };
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
/// handed out, unless the session was revoked meanwhile (401: the revocation wins). `passed`:
/// the run of the attempt that proved the secret ends in the same write.
pub(super) async fn open_sudo(
    app: &App,
    current: &CurrentSession,
    passed: Option<&Budget>,
) -> Result<IssuedSession, ApiError> {
    let next = session::next_token(&current.user.id)?;
    let handover = Handover {
        user_id: &current.user.id,
        old: &current.id,
        new: &next.id,
        expires_at: current.record.summary.expires_at,
    };
    if users::hand_over(&app.db()?, &handover, passed).await? == Outcome::LostRace {
        return Err(ApiError::Unauthenticated);
    }
    session::reissue(app, current, next, current.record.generations, app.now + app.config.sudo_seconds).await
}

/// What a password change answers.
pub struct PasswordChanged {
    pub signed_out_sessions: usize,
    /// The caller's new session when the others were signed out (the old token ended too).
    pub session: Option<IssuedSession>,
}

/// `PUT /api/security/password`: needs the current password; by default ends every other
/// session (one D1 write bumps the generations) and gives the caller a new token. Every other
/// device's trust ends with it; the caller's browser (its `device_cookie`) stays trusted.
pub async fn change_password(
    app: &App,
    device_cookie: Option<&str>,
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
    let own_device = devices::own_device_id(app, device_cookie, &user.id);
    let (attempt, others, own_device) = join3(Attempt::by_session(app, current), listing, own_device).await;
    let (attempt, others, own_device) = (attempt?, others?, own_device?);
    if !password::verify(current_password, &user.password_hash, app.config.hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "change_password" });
        return Err(attempt.failed(app, detail, ApiError::WrongPassword).await?);
    }
    let db = app.db()?;
    let email = Email::parse(&user.email).map_err(|error| ApiError::internal("reading the stored e-mail", error))?;
    let problems = password_rules::check(
        new_password,
        &PasswordContext { email_local_part: email.local_part(), name: &user.name },
    );
    let refusal = if !problems.is_empty() {
        Some(ApiError::WeakPassword(problems))
    } else if nfc(new_password) == nfc(current_password) {
        Some(ApiError::invalid_input("Choose a new password that is different from your current one."))
    } else {
        None
    };
    if let Some(refusal) = refusal {
        // The password was right but nothing changed: the run goes on (SPEC §5.7).
        attempt.refund(app).await?;
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
        keep_device: own_device.as_deref(),
    };
    let next = sign_out_others.then(|| session::next_token(&user.id)).transpose()?;
    let changing = ChangingSession {
        id: &current.id,
        session_generation: current.record.generations.session,
        issued_at: current.record.issued_at,
        handover: next.as_ref().map(|next| Handover {
            user_id: &user.id,
            old: &current.id,
            new: &next.id,
            expires_at: current.record.summary.expires_at,
        }),
    };
    let generations = match users::change_password(&db, &change, &changing, &event, attempt.budget()).await? {
        PasswordChange::Applied(generations) => generations,
        // Another change won the race: the password given as current is no longer current.
        PasswordChange::LostRace => return Err(ApiError::WrongPassword),
        PasswordChange::SessionEnded => return Err(ApiError::Unauthenticated),
    };
    let Some(next) = next else {
        return Ok(PasswordChanged { signed_out_sessions: 0, session: None });
    };
    session::forget_in_background(app, &user.id, others.iter().map(|s| s.id.clone()).collect());
    let issued = session::reissue(app, current, next, generations, current.record.sudo_until).await?;
    Ok(PasswordChanged { signed_out_sessions: others.len(), session: Some(issued) })
}

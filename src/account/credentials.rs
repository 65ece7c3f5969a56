//! A signed-in session proving its password again: "Confirm it's you" (sudo) and the password
//! change (SPEC §5.3, §5.8). Failures count against the session, never the account.

use futures_util::future::join3;
use serde_json::json;

use super::attempts::{Attempt, Refused};
use super::devices;
use super::error::{unexpected_from_storage, Unexpected};
use super::factors::{self, SecondFactor};
use super::keys::{self, Unavailable};
use super::sessions::{self, NextToken};
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::email::Email;
use crate::domain::password;
use crate::domain::password_rules::{PasswordContext, PasswordProblem};
use crate::domain::unicode::nfc;
use crate::storage::attempts::Budget;
use crate::storage::events::EventType;
use crate::storage::revocations::Handover;
use crate::storage::sessions::ListedSession;
use crate::storage::two_factor::{FactorsRow, Use};
use crate::storage::users::{ChangingSession, NewPassword, PasswordChange};
use crate::storage::{Outcome, Store};

/// What confirming or changing the password may refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("wrong current password")]
    WrongPassword,
    #[error("wrong code")]
    InvalidCode,
    #[error("{0}")]
    InvalidInput(&'static str),
    #[error("the new password breaks the rules")]
    WeakPassword(Vec<PasswordProblem>),
    #[error(transparent)]
    Refused(#[from] Refused),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Keys(#[from] keys::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}
unexpected_from_storage!(Error);

/// `POST /api/auth/confirm`: the password (and, with 2FA on, a code or recovery code) opens the
/// sudo window on a new token; the old token ends at once (ASVS 5.0 V7.2.4).
pub async fn confirm<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    password: &str,
    factor: Option<SecondFactor>,
) -> Result<(), Error> {
    let row = FactorsRow::from(&current.user);
    let factor = match (row.enabled(), factor) {
        (true, None) => {
            return Err(Error::InvalidInput(
                "Enter your password and a code from your authenticator app (or a recovery code).",
            ))
        }
        (enabled, factor) => factor.filter(|_| enabled),
    };
    // The keys before the attempt is claimed: a wrong SECRET_KEY answers 503 with nothing counted.
    let keys = match row.enabled() {
        true => Some(keys::load_for(cx, row.totp_secret.as_deref()).await?),
        false => None,
    };
    let attempt = Attempt::by_session::<S, Error>(cx, current).await?;
    if !password::verify(password, &row.password_hash, cx.config().hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "confirm" });
        return Err(attempt.failed(cx, detail, Error::WrongPassword).await?);
    }
    let Some((factor, keys)) = factor.zip(keys) else {
        return open_sudo(cx, current, Some(attempt.budget())).await;
    };
    let (attempt, candidate) = factors::candidate_or_hand_back::<S, Error>(cx, &keys, &row, &factor, attempt).await?;
    let using = Use { budget: attempt.budget(), generations: None, events: &[], trust: None };
    let outcome = match candidate {
        Some(candidate) => cx.store.use_proof(&row.id, &candidate.proof(), &using, &cx.facts.origin, cx.now()).await?,
        None => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        let detail = json!({ "factor": factor.name(), "action": "confirm" });
        return Err(attempt.failed(cx, detail, Error::InvalidCode).await?);
    }
    open_sudo(cx, current, None).await
}

/// Opens the sudo window on a new token; the old token ends everywhere before the new one is
/// handed out, unless the session was revoked meanwhile (signed out: the revocation wins).
/// `passed`: the run of the attempt that proved the secret ends in the same write.
pub(super) async fn open_sudo<S, E>(cx: &Cx<S>, current: &CurrentSession, passed: Option<&Budget>) -> Result<(), E>
where
    S: Store,
    E: From<Refused> + From<Unexpected>,
{
    let next = sessions::next_token(&current.user.id)?;
    let handover = handover(current, &next);
    if cx.store.hand_over(&handover, passed).await.map_err(Unexpected::from)? == Outcome::LostRace {
        return Err(Refused::SignedOut.into());
    }
    let sudo_until = cx.now() + cx.config().sudo_seconds;
    sessions::reissue(cx, current, next, current.record.generations, sudo_until).await?;
    Ok(())
}

/// The caller's session, to be handed over to `next`.
fn handover<'a>(current: &'a CurrentSession, next: &'a NextToken) -> Handover<'a> {
    Handover {
        user_id: &current.user.id,
        old: &current.id,
        new: &next.id,
        expires_at: current.record.summary.expires_at,
    }
}

/// `PUT /api/security/password`: needs the current password; by default ends every other
/// session (one D1 write bumps the generations) and gives the caller a new token. Every other
/// device's trust ends with it; the caller's browser (its `device_cookie`) stays trusted.
/// Answers how many other sessions were signed out.
pub async fn change_password<S: Store>(
    cx: &Cx<S>,
    device_cookie: Option<&str>,
    current: &CurrentSession,
    current_password: &str,
    new_password: &str,
    sign_out_others: bool,
) -> Result<usize, Error> {
    let user = &current.user;
    // The sessions to sign out are listed while the attempt is counted: one round trip less.
    let listing = async {
        match sign_out_others {
            true => sessions::live_others(cx, current).await,
            false => Ok(Vec::new()),
        }
    };
    let own_device = devices::own_device_id(cx, device_cookie, &user.id);
    let (attempt, others, own_device) = join3(Attempt::by_session::<S, Error>(cx, current), listing, own_device).await;
    let (attempt, others, own_device) = (attempt?, others?, own_device?);
    if !password::verify(current_password, &user.password_hash, cx.config().hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "change_password" });
        return Err(attempt.failed(cx, detail, Error::WrongPassword).await?);
    }
    if let Err(refusal) = acceptable(cx, current, current_password, new_password).await {
        // The password was right but nothing changed: the run goes on (SPEC §5.7).
        attempt.refund(cx).await?;
        return Err(refusal);
    }
    let change = Change { others: &others, own_device: own_device.as_deref(), sign_out_others };
    store_new_password(cx, current, &attempt, new_password, change).await?;
    Ok(if sign_out_others { others.len() } else { 0 })
}

/// Whether `new` may replace `old` (the rules, and not the same password).
async fn acceptable<S: Store>(cx: &Cx<S>, current: &CurrentSession, old: &str, new: &str) -> Result<(), Error> {
    let email = Email::parse(&current.user.email).map_err(Unexpected::Broken)?;
    let context = PasswordContext { email_local_part: email.local_part(), name: &current.user.name };
    if nfc(new) == nfc(old) {
        return Err(Error::InvalidInput("Choose a new password that is different from your current one."));
    }
    let problems = super::breaches::problems_of_new(cx, new, &context).await?;
    if !problems.is_empty() {
        return Err(Error::WeakPassword(problems));
    }
    Ok(())
}

/// What a password change ends besides the old password.
struct Change<'a> {
    others: &'a [ListedSession],
    own_device: Option<&'a str>,
    sign_out_others: bool,
}

/// Hashes and stores the new password (one D1 write, guarded on the old hash and the session
/// being live), then gives the caller its new token when the others were signed out.
async fn store_new_password<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    attempt: &Attempt,
    new_password: &str,
    change: Change<'_>,
) -> Result<(), Error> {
    let user = &current.user;
    let new_hash = password::hash(new_password, cx.config().hash_params).map_err(Unexpected::from)?;
    let signed_out = if change.sign_out_others { change.others.len() } else { 0 };
    let event = cx.event(&user.id, EventType::PasswordChanged, json!({ "signed_out_sessions": signed_out }));
    let (old_hash, now, end_sessions) = (user.password_hash.as_str(), cx.now(), change.sign_out_others);
    let new = NewPassword {
        user_id: &user.id,
        old_hash,
        new_hash: &new_hash,
        now,
        end_sessions,
        keep_device: change.own_device,
    };
    let next = end_sessions.then(|| sessions::next_token(&user.id)).transpose()?;
    let changing = ChangingSession {
        id: &current.id,
        session_generation: current.record.generations.session,
        issued_at: current.record.issued_at,
        handover: next.as_ref().map(|next| handover(current, next)),
    };
    let generations = match cx.store.change_password(&new, &changing, &event, attempt.budget()).await? {
        PasswordChange::Applied(generations) => generations,
        // Another change won the race: the password given as current is no longer current.
        PasswordChange::LostRace => return Err(Error::WrongPassword),
        PasswordChange::SessionEnded => return Err(Refused::SignedOut.into()),
    };
    if let Some(next) = next {
        sessions::forget_later(cx, &user.id, change.others.iter().map(|s| s.id.clone()).collect());
        sessions::reissue(cx, current, next, generations, current.record.sudo_until).await?;
    }
    Ok(())
}

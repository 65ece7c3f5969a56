//! A forgotten password (docs/email.md): asking for a reset mail (the same answer and work for
//! every address), checking and completing its link, and "This wasn't me" from an alert, which
//! ends every session and device trust and goes on to a reset. An account with two-factor
//! authentication still needs its second factor: the reset waits in a pending sign-in whose
//! second step (code, recovery code or passkey, counted like a sign-in's) completes it, so a
//! mailbox alone never takes over such an account.

use serde_json::json;

use super::ceremony::{Pending, PendingToken};
use super::error::{new_token, unexpected_from_storage, Unexpected};
use crate::app::Cx;
use crate::domain::alerts::RESET_SECONDS;
use crate::domain::email::{self, Email};
use crate::domain::ids::UserId;
use crate::domain::password;
use crate::domain::password_rules::{PasswordContext, PasswordProblem};
use crate::domain::tokens;
use crate::storage::attempts::Generations;
use crate::storage::events::EventType;
use crate::storage::mail::{NewToken, Purpose, Reset, Spend, TokenRow};
use crate::storage::sessions::PendingReset;
use crate::storage::store::Mail;
use crate::storage::{Outcome, Store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Unknown, used, expired, or of another purpose: one answer for all.
    #[error("the link's token is not usable")]
    InvalidToken,
    #[error("{0}")]
    InvalidInput(&'static str),
    #[error("the password breaks the rules")]
    WeakPassword(Vec<PasswordProblem>),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

unexpected_from_storage!(Error);

/// `POST /api/auth/password-reset`: records the request of the account using this address, if
/// any (its mail is sent from the queue); an unknown address does the same work and answers the
/// same. At most `RESETS_PER_HOUR` mails an hour per account, silently.
pub async fn request<S: Store>(cx: &Cx<S>, raw_email: &str) -> Result<(), Error> {
    let legacy = email::legacy_form(raw_email);
    let email = Email::parse(raw_email).map_err(Error::InvalidInput)?;
    let alert_id = tokens::new_id().map_err(|cause| Unexpected::Randomness("an alert id", cause))?;
    cx.store.request_reset((email.as_str(), &legacy), &cx.facts.origin, cx.now(), &alert_id).await?;
    Ok(())
}

/// What the reset page shows before the new password is chosen.
#[derive(Debug, serde::Serialize)]
pub struct ResetCheck {
    pub email: String,
    pub two_factor: bool,
    pub passkeys: bool,
}

/// `POST /api/auth/password-reset/check`: whether the link still works (it is not used up).
pub async fn check<S: Store>(cx: &Cx<S>, token: &str) -> Result<ResetCheck, Error> {
    let row = usable(cx, token, Purpose::Reset).await?;
    Ok(ResetCheck { email: row.current_email, two_factor: row.two_factor == 1, passkeys: row.passkeys == 1 })
}

/// How a completed reset form goes on.
pub enum Completed {
    /// The password is set; every session ended.
    Done,
    /// Two-factor authentication is on: the second step (of this pending reset) completes it.
    SecondFactorNeeded(PendingToken),
}

/// `POST /api/auth/password-reset/complete`.
pub async fn complete<S: Store>(cx: &Cx<S>, token: &str, new_password: &str) -> Result<Completed, Error> {
    let row = usable(cx, token, Purpose::Reset).await?;
    let local_part = row.current_email.split('@').next().unwrap_or_default();
    let context = PasswordContext { email_local_part: local_part, name: &row.name };
    let problems = super::breaches::problems_of_new(cx, new_password, &context).await?;
    if !problems.is_empty() {
        return Err(Error::WeakPassword(problems));
    }
    let new_hash = password::hash(new_password, cx.config().hash_params).map_err(Unexpected::from)?;
    let user_id = UserId::new(row.user_id.clone());
    let reset = PendingReset { token_hash: tokens::hash_of(token), new_hash };
    if row.two_factor == 1 {
        let generations = Generations { password: row.password_generation, session: row.session_generation };
        return Ok(Completed::SecondFactorNeeded(Pending::start_reset(cx, &user_id, generations, reset).await?));
    }
    apply(cx, &user_id, &reset, None).await?;
    Ok(Completed::Done)
}

/// Completes the reset a pending second step held, once its factor was verified and used.
pub async fn complete_after_second_factor<S: Store>(cx: &Cx<S>, pending: &Pending) -> Result<(), Error> {
    let reset = pending.reset().ok_or(Unexpected::Broken("a pending sign-in completed as a reset"))?;
    apply(cx, pending.user_id(), reset, Some(pending.generations())).await
}

/// Spends the reset token and sets the password, ending every session and device trust.
async fn apply<S: Store>(
    cx: &Cx<S>,
    user_id: &UserId,
    reset: &PendingReset,
    generations: Option<Generations>,
) -> Result<(), Error> {
    let nonce = tokens::new_id().map_err(|cause| Unexpected::Randomness("a spend id", cause))?;
    let spend = Spend { hash: &reset.token_hash, purpose: Purpose::Reset, nonce: &nonce, now: cx.now() };
    let applying = Reset { user_id, new_hash: &reset.new_hash, generations };
    let event = cx.event(user_id, EventType::PasswordReset, json!({}));
    match cx.store.reset_password(&spend, &applying, &event).await? {
        Outcome::Applied => Ok(()),
        // Used meanwhile, expired, or the account changed under it (2FA turned on, a new password).
        Outcome::LostRace => Err(Error::InvalidToken),
    }
}

/// `POST /api/auth/not-me`: ends every session and pending sign-in and every device's trust,
/// records the report, and hands the page a reset token (its link is not mailed: the person is
/// already at the page, from the alert's mail).
pub async fn not_me<S: Store>(cx: &Cx<S>, token: &str) -> Result<String, Error> {
    let row = usable(cx, token, Purpose::NotMe).await?;
    let user_id = UserId::new(row.user_id.clone());
    let (reset_token, nonce) = (new_token("a reset token")?, new_token("a spend id")?);
    let reset_hash = tokens::hash_of(&reset_token);
    let reset = NewToken {
        hash: &reset_hash,
        user_id: &row.user_id,
        purpose: Purpose::Reset,
        email: &row.current_email,
        now: cx.now(),
        expires_at: cx.now() + RESET_SECONDS,
    };
    let spend = Spend { hash: &tokens::hash_of(token), purpose: Purpose::NotMe, nonce: &nonce, now: cx.now() };
    let event = cx.event(&row.user_id, EventType::ReportedNotMe, json!({}));
    match cx.store.report_not_me(&spend, &user_id, &event, &reset).await? {
        Outcome::Applied => Ok(reset_token),
        Outcome::LostRace => Err(Error::InvalidToken),
    }
}

/// The unused, unexpired token of `purpose`, read (not spent).
pub(super) async fn usable<S: Mail>(cx: &Cx<S>, token: &str, purpose: Purpose) -> Result<TokenRow, Error> {
    if !tokens::looks_like_token(token) {
        return Err(Error::InvalidToken);
    }
    cx.store.token(&tokens::hash_of(token), purpose, cx.now()).await?.ok_or(Error::InvalidToken)
}

//! The account's e-mail address (docs/email.md): verifying it from its link, sending that link
//! again, changing it (the new address confirms, the old one is told), and whether new sign-ins
//! are mailed. Every mail goes out from the queue, after the answer.

use serde_json::json;

use super::error::{unexpected_from_storage, Unexpected};
use super::reset::{usable, Error as TokenError};
use crate::app::Cx;
use crate::domain::email::{self, Email};
use crate::domain::ids::UserId;
use crate::domain::tokens;
use crate::storage::events::EventType;
use crate::storage::mail::{Purpose, Spend};
use crate::storage::{Outcome, Store};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the link's token is not usable")]
    InvalidToken,
    #[error("{0}")]
    InvalidInput(&'static str),
    #[error("the address is verified already")]
    AlreadyVerified,
    #[error("another account uses the address")]
    EmailTaken,
    /// More verification or change mails than an hour allows.
    #[error("too many mails asked for")]
    TooMany { retry_after: u64 },
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

unexpected_from_storage!(Error);

impl From<TokenError> for Error {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Unexpected(error) => Self::Unexpected(error),
            _ => Self::InvalidToken,
        }
    }
}

const HOUR: u64 = 3600;

/// `POST /api/auth/verify-email`: a verification link proves the address; a change link moves
/// the account to its new address (and the old address is told). Answers the address verified.
pub async fn verify<S: Store>(cx: &Cx<S>, token: &str) -> Result<String, Error> {
    let nonce = tokens::new_id().map_err(|cause| Unexpected::Randomness("a spend id", cause))?;
    let hash = tokens::hash_of(token);
    if let Ok(row) = usable(cx, token, Purpose::Verify).await {
        let spend = Spend { hash: &hash, purpose: Purpose::Verify, nonce: &nonce, now: cx.now() };
        let event = cx.event(&row.user_id, EventType::EmailVerified, json!({ "email": row.email }));
        return match cx.store.verify_email(&spend, &UserId::new(row.user_id.clone()), &event).await? {
            Outcome::Applied => Ok(row.email),
            Outcome::LostRace => Err(Error::InvalidToken),
        };
    }
    let row = usable(cx, token, Purpose::Change).await?;
    let spend = Spend { hash: &hash, purpose: Purpose::Change, nonce: &nonce, now: cx.now() };
    let detail = json!({ "from": row.current_email, "to": row.email, "from_verified": row.verified == 1 });
    let event = cx.event(&row.user_id, EventType::EmailChanged, detail);
    match cx.store.change_email(&spend, &UserId::new(row.user_id.clone()), &row.email, &event).await? {
        Outcome::Applied => Ok(row.email),
        Outcome::LostRace if cx.store.email_taken((&row.email, &row.email)).await? => Err(Error::EmailTaken),
        Outcome::LostRace => Err(Error::InvalidToken),
    }
}

/// `POST /api/security/email/verification`: the verification mail again.
pub async fn resend<S: Store>(cx: &Cx<S>, user_id: &UserId, verified: bool) -> Result<(), Error> {
    if verified {
        return Err(Error::AlreadyVerified);
    }
    let event = cx.event(user_id, EventType::EmailVerificationRequested, json!({}));
    match cx.store.request_verification(&event, true).await? {
        Outcome::Applied => Ok(()),
        Outcome::LostRace => Err(Error::TooMany { retry_after: HOUR }),
    }
}

/// `PUT /api/security/email` (sudo): a confirmation link goes to `raw_email`; the address
/// changes when it is used.
pub async fn change<S: Store>(cx: &Cx<S>, user_id: &UserId, current: &str, raw_email: &str) -> Result<(), Error> {
    let legacy = email::legacy_form(raw_email);
    let new = Email::parse(raw_email).map_err(Error::InvalidInput)?;
    if new.as_str() == current {
        return Err(Error::InvalidInput("That is already your e-mail address."));
    }
    if cx.store.email_taken((new.as_str(), &legacy)).await? {
        return Err(Error::EmailTaken);
    }
    let event = cx.event(user_id, EventType::EmailChangeRequested, json!({ "to": new.as_str() }));
    match cx.store.request_verification(&event, false).await? {
        Outcome::Applied => Ok(()),
        Outcome::LostRace => Err(Error::TooMany { retry_after: HOUR }),
    }
}

/// `PUT /api/security/alerts`: whether new sign-ins are mailed (the other alerts always are).
pub async fn set_alerts<S: Store>(cx: &Cx<S>, user_id: &UserId, new_sign_in: bool) -> Result<bool, Error> {
    let event = cx.event(user_id, EventType::AlertsChanged, json!({ "new_sign_in": new_sign_in }));
    cx.store.set_alerts(user_id, new_sign_in, &event).await?;
    Ok(new_sign_in)
}

//! Turning two-factor authentication on and off (SPEC §5.4–§5.6): the checks of codes and the
//! password go through the session's failure run.

use serde_json::json;

use super::attempts::{Attempt, Refused};
use super::error::{self, unexpected_from_storage, Unexpected};
use super::factors::{self, SecondFactor};
use super::keys::{self, Unavailable};
use crate::app::Cx;
use crate::auth::session::CurrentSession;
use crate::domain::{base32, password, qr, recovery_codes, secrets::Keyring, totp};
use crate::storage::two_factor::{EnableTotp, FactorsRow};
use crate::storage::{Outcome, Store};

/// What turning two-factor authentication on or off may refuse.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("two-factor authentication is already on")]
    AlreadyOn,
    #[error("two-factor authentication is not on")]
    NotOn,
    #[error("there is no set-up to finish")]
    NoSetup,
    #[error("the set-up can no longer be finished")]
    SetupUnreadable,
    #[error("wrong current password")]
    WrongPassword,
    #[error("wrong code")]
    InvalidCode,
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

/// Ten new recovery codes and their stored forms.
fn new_recovery_codes(keyring: &Keyring, user_id: &str) -> Result<(Vec<String>, Vec<String>), Unexpected> {
    let codes = recovery_codes::generate().map_err(|cause| Unexpected::Randomness("recovery codes", cause))?;
    let hashes = codes
        .iter()
        .map(|code| recovery_codes::normalize(code).map(|c| keyring.recovery_code_hash(user_id, &c)))
        .collect::<Option<Vec<_>>>()
        .ok_or(Unexpected::Broken("a new recovery code does not read as one"))?;
    Ok((codes, hashes))
}

/// Whether the user's recovery codes were made with a key that is no longer the current one
/// (a rotated data key, or `SECRET_KEY` itself before data keys): the page asks to regenerate.
pub async fn codes_need_regenerating<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<bool, Error> {
    if current.user.totp_enabled_at.is_none() || current.user.recovery_codes_remaining == 0 {
        return Ok(false);
    }
    let key_id = match keys::load(cx).await {
        Ok(keys) => keys.recovery_key_id(),
        // A wrong SECRET_KEY (logged where it is found) leaves the overview answering.
        Err(keys::Error::Mismatch) => return Ok(false),
        Err(error) => return Err(error.into()),
    };
    Ok(cx.store.codes_under_other_keys(&current.user.id, &key_id).await? > 0)
}

/// What set-up shows, once: the secret as text, as an `otpauth://` URI and as a QR code.
pub struct Setup {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// A new secret, kept encrypted as the unfinished set-up (replacing an earlier one).
pub async fn start_setup<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<Setup, Error> {
    if current.user.totp_enabled_at.is_some() {
        return Err(Error::AlreadyOn);
    }
    let keys = keys::load(cx).await?;
    let mut secret = [0u8; totp::SECRET_BYTES];
    error::random("a TOTP secret", &mut secret)?;
    let encrypted =
        keys.encrypt(&secret, &current.user.id).map_err(|cause| Unexpected::Randomness("a nonce", cause))?;
    if cx.store.start_totp_setup(&current.user.id, &encrypted).await? == Outcome::LostRace {
        return Err(Error::AlreadyOn);
    }
    let secret = base32::encode(&secret);
    let otpauth_uri = totp::otpauth_uri(&cx.config().totp_issuer, &current.user.email, &secret);
    let qr_svg = qr::svg(&otpauth_uri).ok_or(Unexpected::Broken("the otpauth URI does not fit a QR code"))?;
    Ok(Setup { secret, otpauth_uri, qr_svg })
}

/// A new set of recovery codes; the old set stops working.
pub async fn regenerate_codes<S: Store>(cx: &Cx<S>, current: &CurrentSession) -> Result<Vec<String>, Error> {
    if current.user.totp_enabled_at.is_none() {
        return Err(Error::NotOn);
    }
    let (codes, hashes) = new_recovery_codes(&keys::load(cx).await?, &current.user.id)?;
    let outcome = cx.store.regenerate_codes(&current.user.id, &hashes, &cx.facts.origin, cx.now()).await?;
    if outcome == Outcome::LostRace {
        return Err(Error::NotOn);
    }
    Ok(codes)
}

/// Turns it on with a correct code of the pending secret (that code's step counts as used);
/// answers the recovery codes, once.
pub async fn enable<S: Store>(cx: &Cx<S>, current: &CurrentSession, code: &str) -> Result<Vec<String>, Error> {
    let row = FactorsRow::from(&current.user);
    if row.enabled() {
        return Err(Error::AlreadyOn);
    }
    let pending = row.totp_pending_secret.as_deref().ok_or(Error::NoSetup)?;
    let keys = keys::load_for(cx, Some(pending)).await?;
    let secret = keys.decrypt(pending, &row.id).map_err(|why| {
        crate::log::error(&format!("a pending TOTP secret does not decrypt with the configured keys: {why:?}"));
        Error::SetupUnreadable
    })?;
    let attempt = Attempt::by_session::<S, Error>(cx, current).await?;
    let detail = json!({ "factor": "totp", "action": "enable_two_factor" });
    let Some(step) = totp::verify(&secret, code, cx.now(), row.totp_last_step) else {
        return Err(attempt.failed(cx, detail, Error::InvalidCode).await?);
    };
    let (codes, hashes) = new_recovery_codes(&keys, &row.id)?;
    let (budget, origin, now) = (attempt.budget(), &cx.facts.origin, cx.now());
    let enabling = EnableTotp { user_id: &row.id, pending, step, code_hashes: &hashes, budget, origin, now };
    if cx.store.enable_totp(&enabling).await? == Outcome::LostRace {
        // A concurrent request turned it on or used this code first.
        return Err(attempt.failed(cx, detail, Error::InvalidCode).await?);
    }
    Ok(codes)
}

/// Turns it off with the password and a code or recovery code (SPEC §5.6).
pub async fn disable<S: Store>(
    cx: &Cx<S>,
    current: &CurrentSession,
    password_typed: &str,
    factor: SecondFactor,
) -> Result<(), Error> {
    let row = FactorsRow::from(&current.user);
    if !row.enabled() {
        return Err(Error::NotOn);
    }
    // The keys before the attempt is claimed: a wrong SECRET_KEY answers 503 with nothing counted.
    let keys = keys::load_for(cx, row.totp_secret.as_deref()).await?;
    let attempt = Attempt::by_session::<S, Error>(cx, current).await?;
    if !password::verify(password_typed, &row.password_hash, cx.config().hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "disable_two_factor" });
        return Err(attempt.failed(cx, detail, Error::WrongPassword).await?);
    }
    let (attempt, candidate) = factors::candidate_or_hand_back::<S, Error>(cx, &keys, &row, &factor, attempt).await?;
    let (origin, now) = (&cx.facts.origin, cx.now());
    let outcome = match candidate {
        Some(candidate) => cx.store.disable_totp(&row.id, &candidate.proof(), attempt.budget(), origin, now).await?,
        None => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        let detail = json!({ "factor": factor.name(), "action": "disable_two_factor" });
        return Err(attempt.failed(cx, detail, Error::InvalidCode).await?);
    }
    Ok(())
}

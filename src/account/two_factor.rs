//! Turning two-factor authentication on and off (SPEC §5.4–§5.6): the checks of codes and the
//! password go through the session's failure run.

use serde_json::json;

use super::attempts::Attempt;
use super::factors::{self, SecondFactor};
use super::keys;
use crate::app::App;
use crate::auth::session::CurrentSession;
use crate::domain::{base32, password, qr, recovery_codes, secrets::Keyring, totp};
use crate::http::ApiError;
use crate::storage::two_factor::{self, FactorsRow};
use crate::storage::Outcome;

fn already_on() -> ApiError {
    ApiError::invalid_input("Two-factor authentication is already on. Turn it off first to set it up again.")
}

fn not_on() -> ApiError {
    ApiError::invalid_input("Two-factor authentication is not on.")
}

/// Ten new recovery codes and their stored forms.
fn new_recovery_codes(keyring: &Keyring, user_id: &str) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let codes = recovery_codes::generate().map_err(|_| ApiError::Internal)?;
    let hashes = codes
        .iter()
        .map(|code| recovery_codes::normalize(code).map(|c| keyring.recovery_code_hash(user_id, &c)))
        .collect::<Option<Vec<_>>>()
        .ok_or(ApiError::Internal)?;
    Ok((codes, hashes))
}

/// Whether the user's recovery codes were made with a key that is no longer the current one
/// (a rotated data key, or `SECRET_KEY` itself before data keys): the page asks to regenerate.
pub async fn codes_need_regenerating(app: &App, current: &CurrentSession) -> Result<bool, ApiError> {
    if current.user.totp_enabled_at.is_none() || current.user.recovery_codes_remaining == 0 {
        return Ok(false);
    }
    let key_id = match keys::load(app).await {
        Ok(keys) => keys.recovery_key_id(),
        // A wrong SECRET_KEY (logged where it is found) leaves the overview answering.
        Err(ApiError::SecretKeyMismatch) => return Ok(false),
        Err(error) => return Err(error),
    };
    Ok(two_factor::codes_under_other_keys(&app.db()?, &current.user.id, &key_id).await? > 0)
}

/// What set-up shows, once: the secret as text, as an `otpauth://` URI and as a QR code.
pub struct Setup {
    pub secret: String,
    pub otpauth_uri: String,
    pub qr_svg: String,
}

/// A new secret, kept encrypted as the unfinished set-up (replacing an earlier one).
pub async fn start_setup(app: &App, current: &CurrentSession) -> Result<Setup, ApiError> {
    if current.user.totp_enabled_at.is_some() {
        return Err(already_on());
    }
    let keys = keys::load(app).await?;
    let mut secret = [0u8; totp::SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|_| ApiError::Internal)?;
    let encrypted = keys.encrypt(&secret, &current.user.id).map_err(|_| ApiError::Internal)?;
    if two_factor::start_setup(&app.db()?, &current.user.id, &encrypted).await? == Outcome::LostRace {
        return Err(already_on());
    }
    let secret = base32::encode(&secret);
    let otpauth_uri = totp::otpauth_uri(&app.config.totp_issuer, &current.user.email, &secret);
    let qr_svg = qr::svg(&otpauth_uri).ok_or(ApiError::Internal)?;
    Ok(Setup { secret, otpauth_uri, qr_svg })
}

/// A new set of recovery codes; the old set stops working.
pub async fn regenerate_codes(app: &App, current: &CurrentSession) -> Result<Vec<String>, ApiError> {
    if current.user.totp_enabled_at.is_none() {
        return Err(not_on());
    }
    let (codes, hashes) = new_recovery_codes(&keys::load(app).await?, &current.user.id)?;
    let outcome = two_factor::regenerate(&app.db()?, &current.user.id, &hashes, app.now, &app.origin).await?;
    if outcome == Outcome::LostRace {
        return Err(not_on());
    }
    Ok(codes)
}

/// Turns it on with a correct code of the pending secret (that code's step counts as used);
/// answers the recovery codes, once.
pub async fn enable(app: &App, current: &CurrentSession, code: &str) -> Result<Vec<String>, ApiError> {
    let row = FactorsRow::from(&current.user);
    if row.enabled() {
        return Err(already_on());
    }
    let pending = row.totp_pending_secret.as_deref().ok_or_else(|| {
        ApiError::invalid_input("There is no set-up to finish. Start setting up two-factor authentication again.")
    })?;
    let keys = keys::load_for(app, Some(pending)).await?;
    let secret = keys.decrypt(pending, &row.id).map_err(|why| {
        worker::console_error!("a pending TOTP secret does not decrypt with the configured keys: {why:?}");
        ApiError::invalid_input(
            "This set-up can no longer be finished. Start setting up two-factor authentication again.",
        )
    })?;
    let attempt = Attempt::by_session(app, current).await?;
    let detail = json!({ "factor": "totp", "action": "enable_two_factor" });
    let Some(step) = totp::verify(&secret, code, app.now, row.totp_last_step) else {
        return Err(attempt.failed(app, detail, ApiError::InvalidCode).await?);
    };
    let (codes, hashes) = new_recovery_codes(&keys, &row.id)?;
    let db = app.db()?;
    let outcome =
        two_factor::enable(&db, &row.id, pending, step, &hashes, attempt.budget(), app.now, &app.origin).await?;
    if outcome == Outcome::LostRace {
        // A concurrent request turned it on or used this code first.
        return Err(attempt.failed(app, detail, ApiError::InvalidCode).await?);
    }
    Ok(codes)
}

/// Turns it off with the password and a code or recovery code (SPEC §5.6).
pub async fn disable(
    app: &App,
    current: &CurrentSession,
    password_typed: &str,
    factor: SecondFactor,
) -> Result<(), ApiError> {
    let row = FactorsRow::from(&current.user);
    if !row.enabled() {
        return Err(not_on());
    }
    // The keys before the attempt is claimed: a wrong SECRET_KEY answers 503 with nothing counted.
    let keys = keys::load_for(app, row.totp_secret.as_deref()).await?;
    let attempt = Attempt::by_session(app, current).await?;
    if !password::verify(password_typed, &row.password_hash, app.config.hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "disable_two_factor" });
        return Err(attempt.failed(app, detail, ApiError::WrongPassword).await?);
    }
    let (attempt, candidate) = factors::candidate_or_hand_back(app, &keys, &row, &factor, attempt).await?;
    let outcome = match candidate {
        Some(candidate) => {
            let db = app.db()?;
            two_factor::disable(&db, &row.id, &candidate.proof(), attempt.budget(), app.now, &app.origin).await?
        }
        None => Outcome::LostRace,
    };
    if outcome == Outcome::LostRace {
        let detail = json!({ "factor": factor.name(), "action": "disable_two_factor" });
        return Err(attempt.failed(app, detail, ApiError::InvalidCode).await?);
    }
    Ok(())
}

//! Two-factor authentication (SPEC §5.4–§5.6): set-up with a QR code, turning it on with a
//! code, recovery codes, turning it off. Also the factor checks that sign-in and confirm share.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{json, no_content};
use crate::app::App;
use crate::auth::{current_session, require_sudo, throttle};
use crate::domain::secrets::Keyring;
use crate::domain::{base32, password, recovery_codes, totp};
use crate::http::body::{read_json, refuse_oversized};
use crate::http::ApiError;
use crate::storage::events::EventType;
use crate::storage::two_factor::{self, FactorsRow, Proof};
use crate::storage::users;

/// The keys derived from `SECRET_KEY` (and `SECRET_KEY_PREVIOUS` during a rotation).
pub fn keyring(app: &App) -> Result<Keyring, ApiError> {
    let current = app.env.secret("SECRET_KEY").map(|s| s.to_string()).map_err(|_| {
        worker::console_error!("SECRET_KEY is not set");
        ApiError::Internal
    })?;
    let previous = app.env.secret("SECRET_KEY_PREVIOUS").ok().map(|s| s.to_string());
    Keyring::new(&current, previous.as_deref()).map_err(|_| {
        worker::console_error!("SECRET_KEY or SECRET_KEY_PREVIOUS is not base64 of at least 32 bytes");
        ApiError::Internal
    })
}

/// A second factor as typed: a code from the app or a recovery code.
pub enum SecondFactor {
    Code(String),
    RecoveryCode(String),
}

impl SecondFactor {
    /// From a body's optional `code` and `recovery_code`: at most one of them.
    pub fn from_fields(code: Option<String>, recovery_code: Option<String>) -> Result<Option<Self>, ApiError> {
        match (code, recovery_code) {
            (Some(_), Some(_)) => Err(ApiError::invalid_input("Send either a code or a recovery code, not both.")),
            (Some(code), None) => Ok(Some(Self::Code(code))),
            (None, Some(recovery)) => Ok(Some(Self::RecoveryCode(recovery))),
            (None, None) => Ok(None),
        }
    }

    /// How it is named in events and sign-in methods.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Code(_) => "totp",
            Self::RecoveryCode(_) => "recovery_code",
        }
    }
}

/// A second factor that passed every check that needs no write: a TOTP code of a step after
/// the last accepted one, or a well-formed recovery code. The batch that uses it decides.
pub enum Candidate {
    Totp { secret: String, step: u64 },
    RecoveryCode { candidates: Vec<String> },
}

impl Candidate {
    pub fn proof(&self) -> Proof<'_> {
        match self {
            Self::Totp { secret, step } => Proof::Totp { secret, step: *step },
            Self::RecoveryCode { candidates } => Proof::RecoveryCode { candidates },
        }
    }
}

/// Checks `factor` against the account's enabled second factor; `None` when it is wrong.
pub fn candidate(
    app: &App,
    keyring: &Keyring,
    row: &FactorsRow,
    factor: &SecondFactor,
) -> Result<Option<Candidate>, ApiError> {
    match factor {
        SecondFactor::Code(code) => {
            let Some(stored) = row.totp_secret.as_deref() else { return Ok(None) };
            let secret = keyring.decrypt(stored, &row.id).ok_or_else(|| {
                worker::console_error!("a stored TOTP secret does not decrypt with the configured keys");
                ApiError::Internal
            })?;
            Ok(totp::verify(&secret, code, app.now, row.totp_last_step)
                .map(|step| Candidate::Totp { secret: stored.to_string(), step }))
        }
        SecondFactor::RecoveryCode(typed) => Ok(recovery_codes::normalize(typed)
            .map(|code| Candidate::RecoveryCode { candidates: keyring.recovery_code_candidates(&row.id, &code) })),
    }
}

/// Counts a wrong second factor against the account (SPEC §5.7) and answers the error to send.
pub async fn wrong_factor(app: &App, user_id: &str, factor: &str, action: &str) -> Result<ApiError, ApiError> {
    let detail = json!({ "factor": factor, "action": action });
    throttle::record_failure(app, user_id, EventType::SignInFailed, detail, ApiError::InvalidCode).await
}

/// Counts a wrong password the same way.
pub async fn wrong_password(app: &App, user_id: &str, action: &str) -> Result<ApiError, ApiError> {
    let detail = json!({ "factor": "password", "action": action });
    throttle::record_failure(app, user_id, EventType::SignInFailed, detail, ApiError::WrongPassword).await
}

fn new_recovery_codes(keyring: &Keyring, user_id: &str) -> Result<(Vec<String>, Vec<String>), ApiError> {
    let codes = recovery_codes::generate().map_err(|_| ApiError::Internal)?;
    let hashes = codes
        .iter()
        .map(|code| recovery_codes::normalize(code).map(|c| keyring.recovery_code_hash(user_id, &c)))
        .collect::<Option<Vec<_>>>()
        .ok_or(ApiError::Internal)?;
    Ok((codes, hashes))
}

fn qr_svg(text: &str) -> Result<String, ApiError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(|_| ApiError::Internal)?;
    Ok(code
        .render::<svg::Color<'_>>()
        .min_dimensions(232, 232)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build())
}

/// `POST /api/security/two-factor/setup` (sudo): a new secret, kept encrypted as the unfinished
/// set-up (replacing an earlier one), shown once as text, URI and QR code.
pub async fn setup(req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    require_sudo(&current, app.now)?;
    refuse_oversized(&req)?;
    if current.user.totp_enabled_at.is_some() {
        return Err(already_on());
    }
    let keyring = keyring(app)?;
    let mut secret = [0u8; totp::SECRET_BYTES];
    getrandom::fill(&mut secret).map_err(|_| ApiError::Internal)?;
    let encrypted = keyring.encrypt(&secret, &current.user.id).map_err(|_| ApiError::Internal)?;
    if !two_factor::start_setup(&app.db()?, &current.user.id, &encrypted).await? {
        return Err(already_on());
    }
    let secret = base32::encode(&secret);
    let uri = totp::otpauth_uri(&app.config.totp_issuer, &current.user.email, &secret);
    let svg = qr_svg(&uri)?;
    json(200, &json!({ "secret": secret, "otpauth_uri": uri, "qr_svg": svg }))
}

fn already_on() -> ApiError {
    ApiError::invalid_input("Two-factor authentication is already on. Turn it off first to set it up again.")
}

fn not_on() -> ApiError {
    ApiError::invalid_input("Two-factor authentication is not on.")
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enable {
    code: String,
}

/// `POST /api/security/two-factor/enable` (sudo): turns it on with a correct code of the
/// pending secret; that code's step counts as used. Answers the recovery codes, once.
pub async fn enable(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    require_sudo(&current, app.now)?;
    let body: Enable = read_json(&mut req).await?;
    let db = app.db()?;
    let row = FactorsRow::from(&current.user);
    if row.enabled() {
        return Err(already_on());
    }
    let pending = row.totp_pending_secret.as_deref().ok_or_else(|| {
        ApiError::invalid_input("There is no set-up to finish. Start setting up two-factor authentication again.")
    })?;
    throttle::ensure_not_locked(row.locked_until, app.now)?;
    let keyring = keyring(app)?;
    let secret = keyring.decrypt(pending, &row.id).ok_or_else(|| {
        worker::console_error!("a pending TOTP secret does not decrypt with the configured keys");
        ApiError::Internal
    })?;
    let Some(step) = totp::verify(&secret, &body.code, app.now, row.totp_last_step) else {
        return Err(wrong_factor(app, &row.id, "totp", "enable_two_factor").await?);
    };
    let (codes, hashes) = new_recovery_codes(&keyring, &row.id)?;
    let results =
        users::run_batch(&db, two_factor::enable(&db, &row.id, pending, step, &hashes, app.now, &app.origin)?).await?;
    if !two_factor::decided(&results) {
        // A concurrent request turned it on or used this code first.
        return Err(wrong_factor(app, &row.id, "totp", "enable_two_factor").await?);
    }
    json(200, &json!({ "recovery_codes": codes }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/security/two-factor/disable`: needs the password and a code or recovery code
/// (SPEC §5.6); clears the secret, the replay guard and every recovery code in one batch.
pub async fn disable(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    let body: Disable = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)?.ok_or_else(|| {
        ApiError::invalid_input(
            "To turn off two-factor authentication, enter your password and a code from your authenticator app or a recovery code.",
        )
    })?;
    let db = app.db()?;
    let row = FactorsRow::from(&current.user);
    if !row.enabled() {
        return Err(not_on());
    }
    throttle::ensure_not_locked(row.locked_until, app.now)?;
    if !password::verify(&body.password, &row.password_hash, app.config.hash_params).is_right() {
        return Err(wrong_password(app, &row.id, "disable_two_factor").await?);
    }
    let keyring = keyring(app)?;
    let Some(candidate) = candidate(app, &keyring, &row, &factor)? else {
        return Err(wrong_factor(app, &row.id, factor.name(), "disable_two_factor").await?);
    };
    let results =
        users::run_batch(&db, two_factor::disable(&db, &row.id, &candidate.proof(), app.now, &app.origin)?).await?;
    if !two_factor::decided_at(&results, two_factor::DISABLE_DECIDING_FROM_END) {
        return Err(wrong_factor(app, &row.id, factor.name(), "disable_two_factor").await?);
    }
    no_content()
}

/// `POST /api/security/two-factor/recovery-codes` (sudo): a new set; the old one stops working.
pub async fn regenerate(req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    require_sudo(&current, app.now)?;
    refuse_oversized(&req)?;
    if current.user.totp_enabled_at.is_none() {
        return Err(not_on());
    }
    let keyring = keyring(app)?;
    let (codes, hashes) = new_recovery_codes(&keyring, &current.user.id)?;
    let db = app.db()?;
    let results =
        users::run_batch(&db, two_factor::regenerate(&db, &current.user.id, &hashes, app.now, &app.origin)?).await?;
    if !two_factor::decided(&results) {
        return Err(not_on());
    }
    json(200, &json!({ "recovery_codes": codes }))
}

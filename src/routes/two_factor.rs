//! Two-factor authentication (SPEC §5.4–§5.6): set-up with a QR code, turning it on with a
//! code, recovery codes, turning it off.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{json, no_content};
use crate::account::factors::SecondFactor;
use crate::account::keys::keyring;
use crate::account::two_factor::{self as use_case, already_on, new_recovery_codes, not_on};
use crate::app::App;
use crate::auth::{current_session, require_sudo};
use crate::domain::{base32, totp};
use crate::http::body::{read_json, refuse_oversized};
use crate::http::ApiError;
use crate::storage::two_factor;
use crate::storage::Outcome;

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
    if two_factor::start_setup(&app.db()?, &current.user.id, &encrypted).await? == Outcome::LostRace {
        return Err(already_on());
    }
    let secret = base32::encode(&secret);
    let uri = totp::otpauth_uri(&app.config.totp_issuer, &current.user.email, &secret);
    let svg = qr_svg(&uri)?;
    json(200, &json!({ "secret": secret, "otpauth_uri": uri, "qr_svg": svg }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enable {
    code: String,
}

/// `POST /api/security/two-factor/enable` (sudo): turns it on with a correct code of the
/// pending secret. Answers the recovery codes, once.
pub async fn enable(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    require_sudo(&current, app.now)?;
    let body: Enable = read_json(&mut req).await?;
    let codes = use_case::enable(app, &current, &body.code).await?;
    json(200, &json!({ "recovery_codes": codes }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/security/two-factor/disable`: needs the password and a code or recovery code.
pub async fn disable(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    let body: Disable = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code)?.ok_or_else(|| {
        ApiError::invalid_input(
            "To turn off two-factor authentication, enter your password and a code from your authenticator app or a recovery code.",
        )
    })?;
    use_case::disable(app, &current, &body.password, factor).await?;
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
    let outcome = two_factor::regenerate(&app.db()?, &current.user.id, &hashes, app.now, &app.origin).await?;
    if outcome == Outcome::LostRace {
        return Err(not_on());
    }
    json(200, &json!({ "recovery_codes": codes }))
}

//! Two-factor authentication (SPEC §5.4–§5.6): set-up with a QR code, turning it on with a
//! code, recovery codes, turning it off.

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::Cx;
use super::{json, no_content};
use crate::account::factors::SecondFactor;
use crate::account::two_factor as use_case;
use crate::auth::session::CurrentSession;
use crate::http::body::{read_json, refuse_oversized};
use crate::http::ApiError;

#[derive(Serialize)]
struct SetupBody {
    secret: String,
    otpauth_uri: String,
    qr_svg: String,
}

/// `POST /api/security/two-factor/setup` (sudo): the secret, shown once as text, URI and QR code.
pub async fn setup(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let setup = use_case::start_setup(cx, current).await?;
    json(200, &SetupBody { secret: setup.secret, otpauth_uri: setup.otpauth_uri, qr_svg: setup.qr_svg })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Enable {
    code: String,
}

#[derive(Serialize)]
struct RecoveryCodes {
    recovery_codes: Vec<String>,
}

/// `POST /api/security/two-factor/enable` (sudo): turns it on with a correct code; answers the
/// recovery codes, once.
pub async fn enable(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: Enable = read_json(&mut req).await?;
    let recovery_codes = use_case::enable(cx, current, &body.code).await?;
    json(200, &RecoveryCodes { recovery_codes })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Disable {
    password: String,
    code: Option<String>,
    recovery_code: Option<String>,
}

/// `POST /api/security/two-factor/disable`: needs the password and a code or recovery code.
pub async fn disable(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: Disable = read_json(&mut req).await?;
    let factor = SecondFactor::from_fields(body.code, body.recovery_code).map_err(ApiError::invalid_input)?.ok_or_else(|| {
        ApiError::invalid_input(
            "To turn off two-factor authentication, enter your password and a code from your authenticator app or a recovery code.",
        )
    })?;
    use_case::disable(cx, current, &body.password, factor).await?;
    no_content()
}

/// `POST /api/security/two-factor/recovery-codes` (sudo): a new set; the old one stops working.
pub async fn regenerate(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let recovery_codes = use_case::regenerate_codes(cx, current).await?;
    json(200, &RecoveryCodes { recovery_codes })
}

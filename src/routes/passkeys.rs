//! Passkeys: the three ceremonies that use one (sign-in, second step, confirm) and the
//! management of the account's passkeys (SPEC §5.11).

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::{device_cookie, json, no_content, pending_token, signed_in_response, with_cookie};
use crate::account::passkeys::{self, PasskeyView, RelyingParty};
use crate::app::App;
use crate::auth::session::CurrentSession;
use crate::domain::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use crate::http::body::{read_json, refuse_oversized};
use crate::http::{cookies, ApiError};

/// Options for `navigator.credentials.create` / `.get`, as WebAuthn's JSON form.
#[derive(Serialize)]
struct Options<T> {
    #[serde(rename = "publicKey")]
    public_key: T,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Assertion {
    credential: AuthenticationResponse,
}

pub async fn sign_in_options(req: Request, app: &App) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let options = passkeys::sign_in_options(app, &RelyingParty::of(&req)?).await?;
    json(200, &Options { public_key: options })
}

pub async fn sign_in(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let body: Assertion = read_json(&mut req).await?;
    let signed_in =
        passkeys::sign_in(app, device_cookie(&req).as_deref(), &RelyingParty::of(&req)?, &body.credential).await?;
    signed_in_response(app, 200, signed_in)
}

pub async fn second_step_options(req: Request, app: &App) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let token = pending_token(&req)?;
    let options = passkeys::second_step_options(app, &RelyingParty::of(&req)?, &token).await?;
    json(200, &Options { public_key: options })
}

pub async fn second_step(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let token = pending_token(&req)?;
    let body: Assertion = read_json(&mut req).await?;
    let signed_in =
        passkeys::second_step(app, device_cookie(&req).as_deref(), &RelyingParty::of(&req)?, &token, &body.credential)
            .await?;
    with_cookie(signed_in_response(app, 200, signed_in)?, &cookies::clear(cookies::PENDING))
}

pub async fn confirm_options(req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let options = passkeys::confirm_options(app, &current, &RelyingParty::of(&req)?).await?;
    json(200, &Options { public_key: options })
}

pub async fn confirm(mut req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    let body: Assertion = read_json(&mut req).await?;
    let issued = passkeys::confirm(app, &current, &RelyingParty::of(&req)?, &body.credential).await?;
    with_cookie(no_content()?, &issued.cookie(app))
}

#[derive(Serialize)]
struct PasskeyList {
    passkeys: Vec<PasskeyView>,
}

#[derive(Serialize)]
struct PasskeyBody {
    passkey: PasskeyView,
}

pub async fn list(_req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    json(200, &PasskeyList { passkeys: passkeys::list(app, &current).await? })
}

pub async fn registration_options(req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let options = passkeys::registration_options(app, &current, &RelyingParty::of(&req)?).await?;
    json(200, &Options { public_key: options })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPasskey {
    credential: RegistrationResponse,
    name: Option<String>,
}

pub async fn add(mut req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    let body: NewPasskey = read_json(&mut req).await?;
    let rp = RelyingParty::of(&req)?;
    let passkey = passkeys::register(app, &current, &rp, &body.credential, body.name.as_deref()).await?;
    json(201, &PasskeyBody { passkey })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

pub async fn rename(mut req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    let id = passkey_id(&req)?;
    let body: Rename = read_json(&mut req).await?;
    json(200, &PasskeyBody { passkey: passkeys::rename(app, &current, &id, &body.name).await? })
}

pub async fn remove(req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    passkeys::remove(app, &current, &passkey_id(&req)?).await?;
    no_content()
}

/// The `{id}` of `/api/security/passkeys/{id}`: a credential id (base64url), else 404.
fn passkey_id(req: &Request) -> Result<String, ApiError> {
    let path = req.path();
    let id = path.rsplit('/').next().unwrap_or_default();
    let ok =
        !id.is_empty() && id.len() <= 1400 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(id.to_string())
    } else {
        Err(ApiError::NotFound)
    }
}

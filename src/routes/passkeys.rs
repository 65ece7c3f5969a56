//! Passkeys: the three ceremonies that use one (sign-in, second step, confirm) and the
//! management of the account's passkeys (SPEC §5.11).

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::{
    device_cookie, json, no_content, pending_token, relying_party, second_step_response, signed_in_response, Cx,
};
use crate::account::passkeys::{self, PasskeyView};
use crate::auth::session::CurrentSession;
use crate::domain::webauthn::json::{AuthenticationResponse, RegistrationResponse};
use crate::http::body::{read_json, read_optional_json, refuse_oversized};
use crate::http::ApiError;

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

pub async fn sign_in_options(req: Request, cx: &Cx) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let options = passkeys::sign_in_options(cx, &relying_party(&req)?).await?;
    json(200, &Options { public_key: options })
}

pub async fn sign_in(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let body: Assertion = read_json(&mut req).await?;
    let signed_in =
        passkeys::sign_in(cx, device_cookie(&req).as_deref(), &relying_party(&req)?, &body.credential).await?;
    signed_in_response(200, signed_in)
}

pub async fn second_step_options(req: Request, cx: &Cx) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let token = pending_token(&req)?;
    let options = passkeys::second_step_options(cx, &relying_party(&req)?, &token).await?;
    json(200, &Options { public_key: options })
}

pub async fn second_step(mut req: Request, cx: &Cx) -> Result<Response, ApiError> {
    let token = pending_token(&req)?;
    let body: Assertion = read_json(&mut req).await?;
    let done =
        passkeys::second_step(cx, device_cookie(&req).as_deref(), &relying_party(&req)?, &token, &body.credential)
            .await?;
    second_step_response(done)
}

pub async fn confirm_options(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let options = passkeys::confirm_options(cx, current, &relying_party(&req)?).await?;
    json(200, &Options { public_key: options })
}

pub async fn confirm(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: Assertion = read_json(&mut req).await?;
    passkeys::confirm(cx, current, &relying_party(&req)?, &body.credential).await?;
    no_content()
}

#[derive(Serialize)]
struct PasskeyList {
    passkeys: Vec<PasskeyView>,
}

#[derive(Serialize)]
struct PasskeyBody {
    passkey: PasskeyView,
}

pub async fn list(_req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    json(200, &PasskeyList { passkeys: passkeys::list(cx, current).await? })
}

/// `{"mediation": "conditional"}` (optional): a passkey the browser may create without asking.
#[derive(Deserialize, Default)]
struct CreationRequest {
    mediation: Option<Mediation>,
}

/// `CredentialMediationRequirement`.
#[derive(Deserialize, PartialEq)]
#[serde(rename_all = "lowercase")]
enum Mediation {
    Silent,
    Optional,
    Conditional,
    Required,
}

pub async fn registration_options(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: CreationRequest = read_optional_json(&mut req).await?;
    let automatic = body.mediation == Some(Mediation::Conditional);
    let options = passkeys::registration_options(cx, current, &relying_party(&req)?, automatic).await?;
    json(200, &Options { public_key: options })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPasskey {
    credential: RegistrationResponse,
    name: Option<String>,
}

pub async fn add(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: NewPasskey = read_json(&mut req).await?;
    let rp = relying_party(&req)?;
    let passkey = passkeys::register(cx, current, &rp, &body.credential, body.name.as_deref()).await?;
    json(201, &PasskeyBody { passkey })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rename {
    name: String,
}

pub async fn rename(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let id = passkey_id(&req)?;
    let body: Rename = read_json(&mut req).await?;
    json(200, &PasskeyBody { passkey: passkeys::rename(cx, current, &id, &body.name).await? })
}

pub async fn remove(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    passkeys::remove(cx, current, &passkey_id(&req)?).await?;
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

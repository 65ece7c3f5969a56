//! Trusted devices (SPEC §5.7): browsers that completed a sign-in and still count as the owner's,
//! listed with where and when they were last used; forgetting one makes it a stranger again.

use serde_json::json;
use worker::{Request, Response};

use super::Cx;
use super::{device_cookie, json, no_content};
use crate::account::devices as use_case;
use crate::auth::session::CurrentSession;
use crate::http::body::refuse_oversized;
use crate::http::ApiError;

/// `GET /api/security/devices`: `{devices}`, this browser first, then the most recently used.
pub async fn list(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let devices = use_case::list(cx, device_cookie(&req).as_deref(), current).await?;
    json(200, &json!({ "devices": devices }))
}

/// `DELETE /api/security/devices/{id}`.
pub async fn forget(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    refuse_oversized(&req)?;
    let path = req.path();
    let id = path.rsplit('/').next().unwrap_or_default();
    use_case::forget(cx, device_cookie(&req).as_deref(), current, id).await?;
    no_content()
}

//! `GET /api/security`: the overview the Security page opens with.

use serde_json::json;
use worker::{Request, Response};

use super::json;
use crate::app::App;
use crate::auth::current_session;
use crate::auth::session::live_others;
use crate::http::ApiError;

pub async fn overview(req: Request, app: &App) -> Result<Response, ApiError> {
    let session = current_session(&req, app).await?;
    let user = &session.user;
    let active = 1 + live_others(app, &session).await?.len();
    json(
        200,
        &json!({
            "email": user.email,
            "password": { "changed_at": user.password_changed_at },
            "two_factor": {
                "enabled": user.totp_enabled_at.is_some(),
                "enabled_at": user.totp_enabled_at,
                "recovery_codes_remaining": user.recovery_codes_remaining,
            },
            "sessions": { "active": active },
        }),
    )
}

//! `GET /api/security`: the overview the Security page opens with.

use serde_json::json;
use worker::{Request, Response};

use super::json;
use crate::app::App;
use crate::auth::current_session;
use crate::http::ApiError;
use crate::storage::{sessions, two_factor};

pub async fn overview(req: Request, app: &App) -> Result<Response, ApiError> {
    let session = current_session(&req, app).await?;
    let user = &session.user;
    let remaining = match user.totp_enabled_at {
        Some(_) => two_factor::recovery_codes_remaining(&app.db()?, &user.id).await?,
        None => 0,
    };
    let active = sessions::list(&app.kv()?, &user.id).await?.len();
    json(
        200,
        &json!({
            "email": user.email,
            "password": { "changed_at": user.password_changed_at },
            "two_factor": {
                "enabled": user.totp_enabled_at.is_some(),
                "enabled_at": user.totp_enabled_at,
                "recovery_codes_remaining": remaining,
            },
            "sessions": { "active": active },
        }),
    )
}

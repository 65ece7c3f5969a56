//! `GET /api/me`: who is signed in.

use serde_json::json;
use worker::{Request, Response};

use super::json;
use crate::app::App;
use crate::auth::current_session;
use crate::http::ApiError;

pub async fn me(req: Request, app: &App) -> Result<Response, ApiError> {
    let session = current_session(&req, app).await?;
    json(200, &json!({ "user": user_json(&session.user.id, &session.user.email, &session.user.name) }))
}

pub fn user_json(id: &str, email: &str, name: &str) -> serde_json::Value {
    json!({ "id": id, "email": email, "name": name })
}

//! `PUT /api/security/password` (SPEC §5.3): needs the current password, applies the rules, and
//! by default signs out every other session.

use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::{json, with_cookie};
use crate::account::credentials;
use crate::app::App;
use crate::auth::session::current_session;
use crate::http::body::read_json;
use crate::http::ApiError;

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangePassword {
    current_password: String,
    new_password: String,
    #[serde(default = "yes")]
    sign_out_other_sessions: bool,
}

pub async fn change(mut req: Request, app: &App) -> Result<Response, ApiError> {
    let current = current_session(&req, app).await?;
    let body: ChangePassword = read_json(&mut req).await?;
    let changed = credentials::change_password(
        app,
        &current,
        &body.current_password,
        &body.new_password,
        body.sign_out_other_sessions,
    )
    .await?;
    let response = json(200, &json!({ "signed_out_sessions": changed.signed_out_sessions }))?;
    match changed.session {
        Some(issued) => with_cookie(response, &issued.cookie(app)),
        None => Ok(response),
    }
}

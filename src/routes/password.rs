//! `PUT /api/security/password` (SPEC §5.3): needs the current password, applies the rules, and
//! by default signs out every other session.

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::{device_cookie, json, with_cookie};
use crate::account::credentials;
use crate::app::App;
use crate::auth::session::CurrentSession;
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

#[derive(Serialize)]
struct Changed {
    signed_out_sessions: usize,
}

pub async fn change(mut req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    let body: ChangePassword = read_json(&mut req).await?;
    let (old, new, others) = (&body.current_password, &body.new_password, body.sign_out_other_sessions);
    let changed = credentials::change_password(app, device_cookie(&req).as_deref(), &current, old, new, others).await?;
    let response = json(200, &Changed { signed_out_sessions: changed.signed_out_sessions })?;
    match changed.session {
        Some(issued) => with_cookie(response, &issued.cookie(app)),
        None => Ok(response),
    }
}

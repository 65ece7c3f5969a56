//! `PUT /api/security/password` (SPEC §5.3): needs the current password, applies the rules, and
//! by default signs out every other session.

use serde::{Deserialize, Serialize};
use worker::{Request, Response};

use super::Cx;
use super::{device_cookie, json};
use crate::account::credentials;
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

pub async fn change(mut req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let body: ChangePassword = read_json(&mut req).await?;
    let (old, new, others) = (&body.current_password, &body.new_password, body.sign_out_other_sessions);
    let signed_out_sessions =
        credentials::change_password(cx, device_cookie(&req).as_deref(), current, old, new, others).await?;
    json(200, &Changed { signed_out_sessions })
}

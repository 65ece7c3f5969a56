//! `GET /api/me` (who is signed in) and `GET /api/security` (the overview the Security page
//! opens with).

use serde::Serialize;
use worker::{Request, Response};

use super::{json, UserBody};
use crate::app::App;
use crate::auth::session::{live_others, CurrentSession};
use crate::http::ApiError;

pub async fn me(_req: Request, _app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    json(200, &UserBody::new(&current.user.id, &current.user.email, &current.user.name))
}

#[derive(Serialize)]
struct Overview<'a> {
    email: &'a str,
    password: PasswordState,
    two_factor: TwoFactorState,
    sessions: SessionsState,
}

#[derive(Serialize)]
struct PasswordState {
    changed_at: u64,
}

#[derive(Serialize)]
struct TwoFactorState {
    enabled: bool,
    enabled_at: Option<u64>,
    recovery_codes_remaining: u32,
}

#[derive(Serialize)]
struct SessionsState {
    active: usize,
}

pub async fn overview(_req: Request, app: &App, current: CurrentSession) -> Result<Response, ApiError> {
    let active = 1 + live_others(app, &current).await?.len();
    let user = &current.user;
    json(
        200,
        &Overview {
            email: &user.email,
            password: PasswordState { changed_at: user.password_changed_at },
            two_factor: TwoFactorState {
                enabled: user.totp_enabled_at.is_some(),
                enabled_at: user.totp_enabled_at,
                recovery_codes_remaining: user.recovery_codes_remaining,
            },
            sessions: SessionsState { active },
        },
    )
}

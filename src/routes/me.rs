//! `GET /api/me` (who is signed in) and `GET /api/security` (the overview the Security page
//! opens with).

use futures_util::future::join;
use serde::Serialize;
use worker::{Request, Response};

use super::{json, Cx, UserBody};
use crate::account::sessions::live_others;
use crate::account::two_factor;
use crate::auth::session::CurrentSession;
use crate::http::ApiError;

pub async fn me(_req: Request, _cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    json(200, &UserBody::new(&current.user.id, &current.user.email, &current.user.name))
}

#[derive(Serialize)]
struct Overview<'a> {
    email: &'a str,
    password: PasswordState,
    two_factor: TwoFactorState,
    sessions: SessionsState,
    passkeys: PasskeysState,
}

#[derive(Serialize)]
struct PasskeysState {
    count: u32,
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
    /// The codes were made with a retired key: regenerate them.
    recovery_codes_need_regenerating: bool,
}

#[derive(Serialize)]
struct SessionsState {
    active: usize,
}

pub async fn overview(_req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let (others, stale) = join(live_others(cx, current), two_factor::codes_need_regenerating(cx, current)).await;
    let (active, stale) = (1 + others?.len(), stale?);
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
                recovery_codes_need_regenerating: stale,
            },
            sessions: SessionsState { active },
            passkeys: PasskeysState { count: user.passkeys },
        },
    )
}

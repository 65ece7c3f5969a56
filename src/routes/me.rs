//! `GET /api/me` (who is signed in) and `GET /api/security` (the overview the Security page
//! opens with).

use futures_util::future::join4;
use serde::Serialize;
use worker::{Request, Response};

use super::{json, Cx, UserBody};
use crate::account::sessions::live_others;
use crate::account::{devices, two_factor, unfamiliar};
use crate::auth::session::CurrentSession;
use crate::http::ApiError;
use crate::storage::sessions::SessionSummary;

pub async fn me(_req: Request, _cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    json(200, &UserBody::new(&current.user.id, &current.user.email, &current.user.name))
}

#[derive(Serialize)]
struct Overview<'a> {
    email: &'a str,
    email_verified: bool,
    alerts: AlertsState,
    devices: DevicesState,
    password: PasswordState,
    two_factor: TwoFactorState,
    sessions: SessionsState,
    passkeys: PasskeysState,
}

/// Which alerts the owner may switch (the others are always sent).
#[derive(Serialize)]
struct AlertsState {
    new_sign_in: bool,
}

#[derive(Serialize)]
struct PasskeysState {
    count: u32,
}

#[derive(Serialize)]
struct PasswordState {
    changed_at: u64,
    /// A sign-in found the password in data breaches.
    breached: bool,
}

/// Trusted devices not used for 30 days (the checkup's "sign out of devices you no longer use").
#[derive(Serialize)]
struct DevicesState {
    unused: usize,
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
    /// Sessions whose sign-in was unfamiliar and that the owner has not reviewed.
    unfamiliar: usize,
}

pub async fn overview(_req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let (others, stale, unused, flags) = join4(
        live_others(cx, current),
        two_factor::codes_need_regenerating(cx, current),
        devices::unused(cx, current),
        unfamiliar::sign_in_flags(cx, current),
    )
    .await;
    let (others, stale, unused, flags) = (others?, stale?, unused?, flags?);
    let to_review =
        |s: &&SessionSummary| s.sign_in.as_ref().and_then(|id| flags.get(id)).is_some_and(|f| f.to_review());
    let unfamiliar = others.iter().map(|s| &s.summary).chain([&current.record.summary]).filter(to_review).count();
    let sessions = SessionsState { active: 1 + others.len(), unfamiliar };
    let user = &current.user;
    json(
        200,
        &Overview {
            email: &user.email,
            email_verified: user.email_verified == 1,
            alerts: AlertsState { new_sign_in: user.new_sign_in_alerts == 1 },
            password: PasswordState {
                changed_at: user.password_changed_at,
                breached: user.password_breached_count.is_some(),
            },
            devices: DevicesState { unused },
            two_factor: TwoFactorState {
                enabled: user.totp_enabled_at.is_some(),
                enabled_at: user.totp_enabled_at,
                recovery_codes_remaining: user.recovery_codes_remaining,
                recovery_codes_need_regenerating: stale,
            },
            sessions,
            passkeys: PasskeysState { count: user.passkeys },
        },
    )
}

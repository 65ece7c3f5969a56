//! `PUT /api/security/password` (SPEC §5.3): needs the current password, applies the rules, and
//! by default signs out every other session, in D1 first so it holds everywhere at once.

use serde::Deserialize;
use serde_json::json;
use worker::{Request, Response};

use super::auth::hash_password;
use super::{json, with_cookie};
use crate::app::App;
use crate::auth::session::{self, current_session};
use crate::auth::throttle;
use crate::domain::email::Email;
use crate::domain::password;
use crate::domain::password_rules::{self, PasswordContext};
use crate::http::body::read_json;
use crate::http::ApiError;
use crate::storage::events::{self, EventType};
use crate::storage::users::{self, Guard};

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
    let db = app.db()?;
    let user = &current.user;
    throttle::ensure_not_locked(user.locked_until, app.now)?;
    if !password::verify(&body.current_password, &user.password_hash, app.config.hash_params).is_right() {
        let detail = json!({ "factor": "password", "action": "change_password" });
        return Err(
            throttle::record_failure(app, &user.id, EventType::SignInFailed, detail, ApiError::WrongPassword).await?
        );
    }
    let email = Email::parse(&user.email).map_err(|_| ApiError::Internal)?;
    let problems = password_rules::check(
        &body.new_password,
        &PasswordContext { email_local_part: email.local_part(), name: &user.name },
    );
    if !problems.is_empty() {
        return Err(ApiError::WeakPassword(problems));
    }
    if body.new_password == body.current_password {
        return Err(ApiError::invalid_input("Choose a new password that is different from your current one."));
    }
    let new_hash = hash_password(&body.new_password, app)?;
    let others = if body.sign_out_other_sessions { session::other_sessions(app, &current).await? } else { Vec::new() };
    let guard = Guard::PasswordHashIs(&new_hash);
    let mut statements = vec![users::change_password(
        &db,
        &user.id,
        &user.password_hash,
        &new_hash,
        app.now,
        body.sign_out_other_sessions,
    )?];
    if body.sign_out_other_sessions {
        statements.push(users::revoke_sessions(
            &db,
            &user.id,
            &session::revocation_rows(&current, &others),
            Some(&guard),
        )?);
    }
    let detail = json!({ "signed_out_sessions": others.len() });
    statements.push(events::insert_when(
        &db,
        &guard,
        &user.id,
        EventType::PasswordChanged,
        app.now,
        &app.origin,
        detail,
    )?);
    let results = users::run_batch(&db, statements).await?;
    if users::changes(&results, 0) == 0 {
        // Another change won the race: the password given as current is no longer current.
        return Err(ApiError::WrongPassword);
    }
    let response = json(200, &json!({ "signed_out_sessions": others.len() }))?;
    if !body.sign_out_other_sessions {
        return Ok(response);
    }
    let issued = session::finish_ending_others(app, &current, &others).await?;
    with_cookie(response, &issued.cookie(app))
}

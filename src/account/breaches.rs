//! Breached passwords (Pwned Passwords, `domain::breaches`): a new password (sign-up, change,
//! reset) seen in breaches is refused, saying how often; a password a sign-in used is checked
//! after the answer, and when found the account is flagged (the checkup shows it) and alerted.
//! The service being slow (over a second) or down never blocks: the built-in common-password
//! list (`password_rules`) is all that is checked then, and that is logged.

use serde_json::json;

use super::error::Unexpected;
use crate::app::Cx;
use crate::domain::breaches::{range_of, seen_in, Seen};
use crate::domain::ids::UserId;
use crate::domain::password_rules::{self, PasswordContext, PasswordProblem};
use crate::storage::events::EventType;
use crate::storage::Store;

/// What the service said of a password; None when it could not be asked.
async fn seen<S: Store>(store: &S, base: &str, password: &str) -> Option<Seen> {
    if base.is_empty() {
        return None;
    }
    let (prefix, suffix) = range_of(password);
    match store.breach_range(base, &prefix).await {
        Ok(Some(range)) => Some(seen_in(&range, &suffix)),
        Ok(None) => {
            crate::log::warn("the breached-password service did not answer in time: the built-in list alone");
            None
        }
        Err(error) => {
            crate::log::warn(&format!("the breached-password check failed ({error}): the built-in list alone"));
            None
        }
    }
}

/// The rules' problems with a new password and, when it keeps them all, whether it was seen in
/// breaches (empty: it may be set).
pub async fn problems_of_new<S: Store>(
    cx: &Cx<S>,
    password: &str,
    context: &PasswordContext<'_>,
) -> Result<Vec<PasswordProblem>, Unexpected> {
    let mut problems = password_rules::check(password, context, super::common_passwords::loaded(cx).await?);
    if problems.is_empty() {
        if let Some(Seen::Times(times)) = seen(&cx.store, &cx.config().pwned_range_url, password).await {
            problems.push(PasswordProblem::Breached(times));
        }
    }
    Ok(problems)
}

/// After a password sign-in's answer: checks the password it used, and flags and alerts the
/// account when it was seen in breaches (once per password).
pub fn check_after_sign_in<S: Store>(cx: &Cx<S>, user_id: &UserId, password_generation: u64, password: &str) {
    let (store, base, password) = (cx.store.clone(), cx.config().pwned_range_url.clone(), password.to_string());
    let (user_id, origin, now) = (user_id.clone(), cx.facts.origin.clone(), cx.now());
    cx.effects.later("checking a password for breaches", async move {
        let Some(Seen::Times(times)) = seen(&store, &base, &password).await else {
            return Ok(());
        };
        let event = crate::storage::events::NewEvent {
            user_id: &user_id,
            kind: EventType::PasswordBreached,
            at: now,
            origin: &origin,
            detail: json!({ "times": times }),
        };
        store.flag_breached_password(&user_id, password_generation, times, &event).await?;
        // After the answer: the runtime has queued this request's alerts already.
        store.queue_noted_alerts().await
    });
}

//! Delivering the mail of an event (docs/email.md), from the queue consumer: claim the event,
//! decide (`domain::alerts`), make the link's token, render (`domain::mail`), send, and record
//! that it was sent — or put it back for the queue to retry. The dead-letter queue's consumer
//! records a mail that could not be sent. Nothing here runs in a request.

use serde_json::Value;

use crate::account::error::{new_token, Unexpected};
use crate::config::Config;
use crate::domain::alerts::{self, Decision, Situation};
use crate::domain::{mail, tokens, user_agent};
use crate::storage::events::{EventType, NewEvent};
use crate::storage::mail::{about, worker_origin, AlertState, ClaimedAlert, NewToken, Purpose};
use crate::storage::store::{Mail, OutgoingMail};
use crate::storage::Store;

/// Alerts left unsent for this long are queued again by the daily run.
pub const STALE_SECONDS: u64 = 15 * 60;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The send failed: the alert is back to pending and the message is retried.
    #[error("sending the mail")]
    NotSent(#[source] crate::storage::Error),
    #[error(transparent)]
    Unexpected(#[from] Unexpected),
}

crate::account::error::unexpected_from_storage!(Error);

/// What a delivery did.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    Sent,
    Skipped,
    /// No such pending alert (already delivered, or its event was never written).
    Nothing,
}

/// Delivers the alert `alert_id`.
pub async fn deliver<S: Store>(store: &S, config: &Config, alert_id: &str, now: u64) -> Result<Delivered, Error> {
    let Some(alert) = store.claim_alert(alert_id, now).await? else {
        return Ok(Delivered::Nothing);
    };
    let detail: Value = serde_json::from_str(&alert.detail).unwrap_or(Value::Null);
    let to = match alerts::decide(&situation(&alert, &detail)) {
        Decision::Send(to) => to,
        Decision::Skip => {
            store.settle_alert(alert_id, AlertState::Skipped, None).await?;
            return Ok(Delivered::Skipped);
        }
    };
    let link = link(store, config, &alert, &detail, now).await?;
    let device = device_name(alert.user_agent.as_deref().unwrap_or_default());
    let Some(rendered) = mail::render(&facts(&alert, &detail, config, &device, link.as_deref())) else {
        store.settle_alert(alert_id, AlertState::Skipped, None).await?;
        return Ok(Delivered::Skipped);
    };
    let outgoing = OutgoingMail {
        from: &config.mail_from,
        to: &to,
        subject: &rendered.subject,
        text: &rendered.text,
        html: &rendered.html,
    };
    if let Err(error) = store.send_mail(&outgoing).await {
        store.release_alert(alert_id).await?;
        return Err(Error::NotSent(error));
    }
    let sent = delivery_event(&alert, EventType::AlertSent, now);
    store.settle_alert(alert_id, AlertState::Sent, Some(&sent.event())).await?;
    Ok(Delivered::Sent)
}

/// The dead-letter queue's consumer: the mail of `alert_id` could not be sent after its retries.
pub async fn give_up<S: Store>(store: &S, alert_id: &str, now: u64) -> Result<(), Error> {
    // Claimed first, so a delivery still running cannot settle it as sent afterwards.
    let Some(alert) = store.claim_alert(alert_id, now + alerts::NOT_ME_SECONDS).await? else {
        return Ok(());
    };
    crate::log::error(&format!(r#"{{"msg":"alert_failed","type":"{}"}}"#, alert.kind));
    let failed = delivery_event(&alert, EventType::AlertFailed, now);
    store.settle_alert(alert_id, AlertState::Failed, Some(&failed.event())).await?;
    Ok(())
}

/// The daily run: queues again the alerts a lost queue send left behind.
pub async fn requeue_stale<S: Store>(store: &S, now: u64) -> Result<usize, Error> {
    let stale = store.unsent_alerts(now.saturating_sub(STALE_SECONDS), 500).await?;
    store.queue_alerts(&stale).await?;
    Ok(stale.len())
}

fn situation<'a>(alert: &'a ClaimedAlert, detail: &'a Value) -> Situation<'a> {
    Situation {
        kind: &alert.kind,
        detail,
        email: &alert.email,
        verified: alert.verified == 1,
        new_sign_in_alerts: alert.new_sign_in_alerts == 1,
        familiar_place: alert.familiar_place == 1,
    }
}

/// The mail's link, with its token made and stored (hashed) first.
async fn link<S: Mail>(
    store: &S,
    config: &Config,
    alert: &ClaimedAlert,
    detail: &Value,
    now: u64,
) -> Result<Option<String>, Error> {
    let Some(kind) = mail::link_of(&alert.kind) else {
        return Ok(None);
    };
    let (purpose, page, seconds) = match kind {
        mail::Link::Verify => (Purpose::Verify, "verify-email", alerts::VERIFY_SECONDS),
        mail::Link::ConfirmChange => (Purpose::Change, "verify-email", alerts::VERIFY_SECONDS),
        mail::Link::Reset => (Purpose::Reset, "reset-password", alerts::RESET_SECONDS),
        mail::Link::NotMe => (Purpose::NotMe, "not-me", alerts::NOT_ME_SECONDS),
    };
    let email = match purpose {
        Purpose::Change => detail.get("to").and_then(Value::as_str).unwrap_or(&alert.email),
        _ => &alert.email,
    };
    let token = new_token("a link in a mail")?;
    let hash = tokens::hash_of(&token);
    let stored = NewToken { hash: &hash, user_id: &alert.user_id, purpose, email, now, expires_at: now + seconds };
    store.create_token(&stored).await?;
    Ok(Some(format!("{}/{page}#token={token}", config.site_url)))
}

fn facts<'a>(
    alert: &'a ClaimedAlert,
    detail: &'a Value,
    config: &'a Config,
    device: &'a str,
    link: Option<&'a str>,
) -> mail::Facts<'a> {
    mail::Facts {
        kind: &alert.kind,
        detail,
        at: alert.at,
        device,
        city: alert.city.as_deref(),
        country: alert.country.as_deref(),
        ip: alert.ip.as_deref(),
        link,
        site: &config.site_url,
    }
}

/// The device as the session list names it ("Chrome on Windows", `public/js/security/words.js`).
fn device_name(user_agent: &str) -> String {
    let device = user_agent::parse(user_agent);
    match device.os.starts_with("Unknown") || device.os.is_empty() {
        true => device.browser,
        false => format!("{} on {}", device.browser, device.os),
    }
}

/// An `alert_sent` / `alert_failed` event of the account, about the alert's event.
struct Delivery<'a> {
    alert: &'a ClaimedAlert,
    kind: EventType,
    now: u64,
    origin: crate::storage::events::Origin,
}

fn delivery_event(alert: &ClaimedAlert, kind: EventType, now: u64) -> Delivery<'_> {
    Delivery { alert, kind, now, origin: worker_origin() }
}

impl Delivery<'_> {
    fn event(&self) -> NewEvent<'_> {
        NewEvent {
            user_id: &self.alert.user_id,
            kind: self.kind,
            at: self.now,
            origin: &self.origin,
            detail: about(&self.alert.kind),
        }
    }
}

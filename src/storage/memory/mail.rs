//! `storage::mail` in memory: alerts, the queue and the send, link tokens and what they change.

use super::tables::{EmailToken, Event, SentMail, State};
use crate::storage::events::{EventType, NewEvent, Origin};
use crate::storage::mail::{AlertState, ClaimedAlert, NewToken, Purpose, Reset, Spend, TokenRow, CLAIM_SECONDS};
use crate::storage::mail::{RESETS_PER_HOUR, VERIFICATIONS_PER_HOUR};
use crate::storage::store::OutgoingMail;
use crate::storage::{Outcome, EVENT_RETENTION_SECONDS};

impl State {
    /// `mail::claim`.
    pub(super) fn claim_alert(&mut self, alert_id: &str, now: u64) -> Option<ClaimedAlert> {
        let event = self.events.iter_mut().find(|e| e.alert_id.as_deref() == Some(alert_id))?;
        let claimable = match event.alert.as_deref() {
            Some("pending") => true,
            Some("sending") => event.alert_at.unwrap_or(0) < now.saturating_sub(CLAIM_SECONDS),
            _ => false,
        };
        if !claimable {
            return None;
        }
        (event.alert, event.alert_at) = (Some("sending".into()), Some(now));
        let event = event.clone();
        let user = self.user(&event.user_id)?;
        let familiar = self.events.iter().any(|p| familiar_to(p, &event));
        Some(ClaimedAlert {
            user_id: event.user_id.clone(),
            kind: event.kind.clone(),
            at: event.at,
            ip: event.ip.clone(),
            country: event.country.clone(),
            city: event.city.clone(),
            user_agent: Some(event.user_agent.clone()),
            detail: event.detail.clone(),
            email: user.email.clone(),
            verified: u32::from(user.email_verified_at.is_some()),
            new_sign_in_alerts: u32::from(user.new_sign_in_alerts),
            familiar_place: u32::from(familiar),
        })
    }

    /// `mail::settle`: while the alert is pending or claimed; its event only with the change.
    pub(super) fn settle_alert(&mut self, alert_id: &str, state: AlertState, event: Option<&NewEvent<'_>>) {
        let Some(row) = self.events.iter_mut().find(|e| e.alert_id.as_deref() == Some(alert_id)) else {
            return;
        };
        if !matches!(row.alert.as_deref(), Some("sending" | "pending")) {
            return;
        }
        row.alert = Some(state_name(state).into());
        if let Some(event) = event {
            self.record_if(true, event);
        }
    }

    pub(super) fn release_alert(&mut self, alert_id: &str) {
        if let Some(row) = self.events.iter_mut().find(|e| e.alert_id.as_deref() == Some(alert_id)) {
            if row.alert.as_deref() == Some("sending") {
                row.alert = Some("pending".into());
            }
        }
    }

    pub(super) fn unsent_alerts(&self, before: u64, limit: u64) -> Vec<String> {
        let unsent = |e: &&Event| matches!(e.alert.as_deref(), Some("pending" | "sending"));
        let stale = |e: &&Event| e.alert_at.unwrap_or(e.at) < before;
        let ids = self.events.iter().filter(unsent).filter(stale).filter_map(|e| e.alert_id.clone());
        ids.take(limit as usize).collect()
    }

    pub(super) fn send_mail(&mut self, mail: &OutgoingMail<'_>) -> Result<(), String> {
        if self.mail_refused {
            return Err(format!("email to {} not allowed", mail.to));
        }
        let (to, subject) = (mail.to.to_string(), mail.subject.to_string());
        self.sent_mails.push(SentMail { to, subject, text: mail.text.into(), html: mail.html.into() });
        Ok(())
    }

    pub(super) fn create_token(&mut self, token: &NewToken<'_>) {
        self.email_tokens.push(EmailToken {
            hash: token.hash.into(),
            user_id: token.user_id.into(),
            purpose: token.purpose.as_str().into(),
            email: token.email.into(),
            expires_at: token.expires_at,
            used_at: None,
        });
    }

    fn usable_token(&self, hash: &str, purpose: Purpose, now: u64) -> Option<&EmailToken> {
        self.email_tokens
            .iter()
            .find(|t| t.hash == hash && t.purpose == purpose.as_str() && t.used_at.is_none() && t.expires_at > now)
    }

    /// `mail::token`.
    pub(super) fn token(&self, hash: &str, purpose: Purpose, now: u64) -> Option<TokenRow> {
        let token = self.usable_token(hash, purpose, now)?;
        let user = self.user(&token.user_id)?;
        Some(TokenRow {
            user_id: token.user_id.clone(),
            email: token.email.clone(),
            current_email: user.email.clone(),
            verified: u32::from(user.email_verified_at.is_some()),
            two_factor: u32::from(user.totp_enabled_at.is_some()),
            passkeys: u32::from(self.passkeys.iter().any(|p| p.user_id == token.user_id)),
            name: user.name.clone(),
            password_generation: user.password_generation,
            session_generation: user.session_generation,
        })
    }

    /// `Spend::statement`, with its extra condition decided by `also`: marks the token used.
    fn spend_token(&mut self, spend: &Spend<'_>, also: impl Fn(&State, &EmailToken) -> bool) -> Option<EmailToken> {
        let token = self.usable_token(spend.hash, spend.purpose, spend.now)?.clone();
        if !also(self, &token) {
            return None;
        }
        let row = self.email_tokens.iter_mut().find(|t| t.hash == spend.hash)?;
        row.used_at = Some(spend.now);
        Some(token)
    }

    /// `mail::verify`.
    pub(super) fn verify_email(&mut self, spend: &Spend<'_>, user_id: &str, event: &NewEvent<'_>) -> Outcome {
        let still = |s: &State, t: &EmailToken| s.user(&t.user_id).is_some_and(|u| u.email == t.email);
        if self.spend_token(spend, still).is_none() {
            return Outcome::LostRace;
        }
        if let Some(user) = self.user_mut(user_id) {
            user.email_verified_at = user.email_verified_at.or(Some(spend.now));
        }
        self.record_if(true, event);
        Outcome::Applied
    }

    /// `mail::change`.
    pub(super) fn change_email(&mut self, spend: &Spend<'_>, user_id: &str, to: &str, event: &NewEvent<'_>) -> Outcome {
        let free = |s: &State, t: &EmailToken| !s.users.iter().any(|u| u.email == t.email);
        if self.spend_token(spend, free).is_none() {
            return Outcome::LostRace;
        }
        if let Some(user) = self.user_mut(user_id) {
            (user.email, user.email_verified_at) = (to.into(), Some(spend.now));
        }
        self.record_if(true, event);
        let stale = |t: &EmailToken| {
            t.user_id == user_id && t.used_at.is_none() && ["verify", "change", "reset"].contains(&t.purpose.as_str())
        };
        self.email_tokens.retain(|t| !stale(t));
        Outcome::Applied
    }

    /// `mail::not_me`.
    pub(super) fn report_not_me(
        &mut self,
        spend: &Spend<'_>,
        user_id: &str,
        event: &NewEvent<'_>,
        reset: &NewToken<'_>,
    ) -> Outcome {
        if self.spend_token(spend, |_, _| true).is_none() {
            return Outcome::LostRace;
        }
        if let Some(user) = self.user_mut(user_id) {
            user.session_generation += 1;
        }
        self.devices.retain(|(user, _), _| user != user_id);
        self.record_if(true, event);
        self.create_token(reset);
        Outcome::Applied
    }

    /// `mail::reset`.
    pub(super) fn reset_password(&mut self, spend: &Spend<'_>, reset: &Reset<'_>, event: &NewEvent<'_>) -> Outcome {
        let guard = |s: &State, t: &EmailToken| match reset.generations {
            None => s.user(&t.user_id).is_some_and(|u| u.totp_enabled_at.is_none()),
            Some(g) => s.is_current(&t.user_id, g),
        };
        if self.spend_token(spend, guard).is_none() {
            return Outcome::LostRace;
        }
        let id = reset.user_id;
        if let Some(user) = self.user_mut(id) {
            (user.password_hash, user.password_changed_at) = (reset.new_hash.into(), spend.now);
            user.password_breached_count = None;
            (user.failed_attempts, user.locked_until) = (0, 0);
            user.password_generation += 1;
            user.session_generation += 1;
        }
        self.devices.retain(|(user, _), _| user != id);
        self.budgets.retain(|_, b| b.user_id != id);
        self.record_if(true, event);
        Outcome::Applied
    }

    /// `mail::request_reset`: for a known address under its hourly limit.
    pub(super) fn request_reset(&mut self, lookup: (&str, &str), origin: &Origin, now: u64) {
        let Some(user_id) = self.by_email(lookup.0, lookup.1).map(|u| u.id.clone()) else {
            return;
        };
        let kinds = ["password_reset_requested"];
        if self.mails_in_the_hour(&user_id, &kinds, now) >= RESETS_PER_HOUR {
            return;
        }
        let detail = serde_json::json!({});
        let event = NewEvent { user_id: &user_id, kind: EventType::PasswordResetRequested, at: now, origin, detail };
        self.insert_event(&event, "{}".into());
    }

    /// `mail::request_verification`.
    pub(super) fn request_verification(&mut self, event: &NewEvent<'_>, unverified: bool) -> Outcome {
        let kinds = ["email_verification_requested", "email_change_requested"];
        let under = self.mails_in_the_hour(event.user_id, &kinds, event.at) < VERIFICATIONS_PER_HOUR;
        let still = !unverified || self.user(event.user_id).is_some_and(|u| u.email_verified_at.is_none());
        if !(under && still) {
            return Outcome::LostRace;
        }
        self.record_if(true, event);
        Outcome::Applied
    }

    fn mails_in_the_hour(&self, user_id: &str, kinds: &[&str], now: u64) -> u64 {
        let counted = |e: &&Event| e.user_id == user_id && kinds.contains(&e.kind.as_str()) && e.at > now - 3600;
        self.events.iter().filter(counted).count() as u64
    }

    pub(super) fn set_alerts(&mut self, user_id: &str, on: bool, event: &NewEvent<'_>) {
        if let Some(user) = self.user_mut(user_id) {
            user.new_sign_in_alerts = on;
        }
        self.record_event(event);
    }
}

fn state_name(state: AlertState) -> &'static str {
    match state {
        AlertState::Sent => "sent",
        AlertState::Skipped => "skipped",
        AlertState::Failed => "failed",
    }
}

/// `mail::claim`'s `familiar_place`: an earlier sign-in or sign-up from the same country and
/// network within the retention window.
fn familiar_to(earlier: &Event, event: &Event) -> bool {
    earlier.user_id == event.user_id
        && earlier.id < event.id
        && ["sign_in", "account_created"].contains(&earlier.kind.as_str())
        && earlier.at + EVENT_RETENTION_SECONDS >= event.at
        && earlier.country == event.country
        && earlier.network == event.network
}

//! The tables (D1's, as in `migrations/`), the KV namespace and the rate limiter's counts, and
//! the conditions many statements share (the preconditions of `storage::precondition`).

use std::collections::{BTreeMap, HashMap};

use crate::storage::attempts::Generations;
use crate::storage::data_keys::DataKeyRow;
use crate::storage::devices::Trust;
use crate::storage::events::NewEvent;
use crate::storage::passkeys::PasskeyRow;

/// A row of `users`.
#[derive(Debug, Clone, Default)]
pub struct Account {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub password_changed_at: u64,
    pub totp_secret: Option<String>,
    pub totp_pending_secret: Option<String>,
    pub totp_enabled_at: Option<u64>,
    pub totp_last_step: u64,
    /// The strangers' failure run.
    pub failed_attempts: u32,
    pub locked_until: u64,
    pub sessions_valid_after: u64,
    pub password_generation: u64,
    pub session_generation: u64,
    pub email_verified_at: Option<u64>,
    pub new_sign_in_alerts: bool,
    pub password_breached_count: Option<u64>,
}

/// A row of `attempt_budgets` (keyed by its scope).
#[derive(Debug, Clone)]
pub struct BudgetRow {
    pub user_id: String,
    pub failed_attempts: u32,
    pub locked_until: u64,
    pub expires_at: u64,
}

/// A row of `revoked_sessions` (keyed by the session id).
#[derive(Debug, Clone)]
pub struct Revoked {
    pub user_id: String,
    pub expires_at: u64,
    pub successor: Option<String>,
}

/// A row of `recovery_codes`.
#[derive(Debug, Clone)]
pub struct Code {
    pub user_id: String,
    pub code_hash: String,
    pub used_at: Option<u64>,
}

/// A row of `trusted_devices` (keyed by user id and device id).
#[derive(Debug, Clone)]
pub struct Device {
    pub created_at: u64,
    pub last_used_at: u64,
    pub device: String,
    pub browser: String,
    pub os: String,
    pub city: Option<String>,
    pub country: Option<String>,
}

/// A row of `security_events`.
#[derive(Debug, Clone)]
pub struct Event {
    pub id: u64,
    pub user_id: String,
    pub kind: String,
    pub at: u64,
    pub ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub user_agent: String,
    /// JSON text, as stored.
    pub detail: String,
    pub network: Option<String>,
    /// `events::insert_computed`: an event that may mail has an alert id and stands `pending`.
    pub alert_id: Option<String>,
    pub alert: Option<String>,
    pub alert_at: Option<u64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
}

/// A row of `email_tokens`.
#[derive(Debug, Clone)]
pub struct EmailToken {
    pub hash: String,
    pub user_id: String,
    pub purpose: String,
    pub email: String,
    pub expires_at: u64,
    pub used_at: Option<u64>,
}

/// A mail the `send_email` binding took.
#[derive(Debug, Clone)]
pub struct SentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// A KV value (JSON text, as KV holds it), its metadata and when it expires.
#[derive(Debug, Clone)]
pub struct KvEntry {
    pub value: String,
    pub metadata: Option<serde_json::Value>,
    pub expires_at: u64,
}

/// Everything the store holds.
#[derive(Debug, Default)]
pub struct State {
    /// The store's clock: KV expiry and rate-limit windows.
    pub now: u64,
    /// In insertion order (SQLite's rowid order, which unordered reads follow).
    pub users: Vec<Account>,
    pub budgets: BTreeMap<String, BudgetRow>,
    pub revoked: BTreeMap<String, Revoked>,
    pub codes: Vec<Code>,
    pub devices: BTreeMap<(String, String), Device>,
    pub events: Vec<Event>,
    pub passkeys: Vec<PasskeyRow>,
    /// `spent_challenges`: challenge → (spent by, expires at).
    pub spent: BTreeMap<String, (String, u64)>,
    /// `session_bindings`, by session id.
    pub bindings: BTreeMap<String, crate::storage::device_bound::BindingRow>,
    /// `held_addresses`: address → until.
    pub held: BTreeMap<String, u64>,
    /// `data_keys` with their `created_at`.
    pub data_keys: Vec<(DataKeyRow, u64)>,
    /// The KV namespace `SESSIONS`, by key name (`storage::kv`).
    pub kv: BTreeMap<String, KvEntry>,
    /// Rate-limit counts by (binding, address, window).
    pub rate: HashMap<(String, String, u64), u32>,
    pub email_tokens: Vec<EmailToken>,
    /// The queue `MAILS`: alert ids sent to it, in order.
    pub queued_alerts: Vec<String>,
    /// What the `send_email` binding took, and whether it refuses every send (a test's outage).
    pub sent_mails: Vec<SentMail>,
    pub mail_refused: bool,
    /// Pwned Passwords' ranges by prefix, and whether the service is down (a test's outage).
    pub breach_ranges: BTreeMap<String, String>,
    pub breach_service_down: bool,
}

impl State {
    pub fn user(&self, id: &str) -> Option<&Account> {
        self.users.iter().find(|u| u.id == id)
    }

    pub(super) fn user_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.users.iter_mut().find(|u| u.id == id)
    }

    pub(super) fn user_exists(&self, id: &str) -> bool {
        self.user(id).is_some()
    }

    /// `users::account_by_email`: the normal form wins over the legacy one.
    pub(super) fn by_email(&self, normal: &str, legacy: &str) -> Option<&Account> {
        let with = |email: &str| self.users.iter().find(|u| u.email == email);
        with(normal).or_else(|| with(legacy))
    }

    /// `Precondition::current`: the user is still under these generations.
    pub(super) fn is_current(&self, user_id: &str, generations: Generations) -> bool {
        self.user(user_id).is_some_and(|u| {
            u.password_generation == generations.password && u.session_generation == generations.session
        })
    }

    pub fn is_revoked(&self, session_id: &str) -> bool {
        self.revoked.contains_key(session_id)
    }

    /// `Precondition::session_live`.
    pub(super) fn session_live(&self, user_id: &str, session_id: &str, generation: u64, issued_at: u64) -> bool {
        let user = self.user(user_id);
        user.is_some_and(|u| u.session_generation == generation && u.sessions_valid_after <= issued_at)
            && !self.is_revoked(session_id)
    }

    /// `Precondition::two_factor_on`.
    pub(super) fn two_factor_on(&self, user_id: &str) -> bool {
        self.user(user_id).is_some_and(|u| u.totp_enabled_at.is_some())
    }

    /// `events::insert` (its guard decided by the caller), with the detail as stored; a sign-in's
    /// with its flags (`events::SIGN_IN_DETAIL`).
    pub(super) fn insert_event(&mut self, event: &NewEvent<'_>, detail: String) {
        let detail = match event.kind {
            crate::storage::events::EventType::SignIn => self.sign_in_detail(event, &detail),
            _ => detail,
        };
        let id = self.events.last().map_or(1, |e| e.id + 1);
        let alert_id = event.kind.may_mail().then(|| crate::domain::tokens::new_id().expect("randomness"));
        self.events.push(Event {
            network: event.origin.network.clone(),
            latitude: event.origin.latitude,
            longitude: event.origin.longitude,
            alert: alert_id.as_ref().map(|_| "pending".to_string()),
            alert_id,
            alert_at: None,
            id,
            user_id: event.user_id.to_string(),
            kind: event.kind.as_str().to_string(),
            at: event.at,
            ip: event.origin.ip.clone(),
            country: event.origin.country.clone(),
            city: event.origin.city.clone(),
            user_agent: event.origin.user_agent.clone(),
            detail,
        });
    }

    /// `events::insert` with the event's own detail, when `when` holds.
    pub(super) fn record_if(&mut self, when: bool, event: &NewEvent<'_>) {
        if when {
            self.insert_event(event, event.detail.to_string());
        }
    }

    pub fn is_trusted(&self, user_id: &str, device_id: &str) -> bool {
        self.devices.contains_key(&(user_id.to_string(), device_id.to_string()))
    }

    /// `devices::trust`, when `when` holds: a new row, or the last use, names and place of its row.
    pub(super) fn trust_if(&mut self, when: bool, trust: &Trust) {
        if !when {
            return;
        }
        let key = (trust.user_id.clone(), trust.device_id.clone());
        let created_at = self.devices.get(&key).map_or(trust.now, |d| d.created_at);
        let row = Device {
            created_at,
            last_used_at: trust.now,
            device: trust.device.clone(),
            browser: trust.browser.clone(),
            os: trust.os.clone(),
            city: trust.city.clone(),
            country: trust.country.clone(),
        };
        self.devices.insert(key, row);
    }

    /// `devices::end_trust_of_others`, when `when` holds.
    pub(super) fn end_trust_of_others_if(&mut self, when: bool, user_id: &str, keep: Option<&str>) {
        if when {
            let keep = keep.unwrap_or("");
            self.devices.retain(|(user, device), _| user != user_id || device == keep);
        }
    }
}

impl State {
    /// `events::SIGN_IN_DETAIL`: the detail with `new_country`, `new_network` and `travel_kmh`
    /// over the account's earlier sign-ins and sign-up of the last 90 days.
    fn sign_in_detail(&self, event: &NewEvent<'_>, detail: &str) -> String {
        let window = |e: &&Event| {
            e.user_id == event.user_id
                && ["sign_in", "account_created"].contains(&e.kind.as_str())
                && e.at + crate::storage::EVENT_RETENTION_SECONDS >= event.at
        };
        let earlier: Vec<&Event> = self.events.iter().filter(window).collect();
        let new = |value: &Option<String>, of: fn(&Event) -> &Option<String>| {
            value.is_some() && !earlier.iter().any(|e| of(e) == value)
        };
        let mut detail: serde_json::Value = serde_json::from_str(detail).unwrap_or_default();
        detail["new_country"] = new(&event.origin.country, |e| &e.country).into();
        detail["new_network"] = new(&event.origin.network, |e| &e.network).into();
        let here = event.origin.latitude.zip(event.origin.longitude);
        let last = earlier.iter().filter(|e| e.latitude.is_some()).max_by_key(|e| (e.at, e.id));
        if let (Some((lat, lon)), Some(last)) = (here, last) {
            let km = great_circle_km((last.latitude.unwrap(), last.longitude.unwrap()), (lat, lon));
            let hours = ((event.at - last.at) as f64 / 3600.0).max(1.0 / 60.0);
            detail["travel_kmh"] = ((km / hours).round() as u64).into();
        }
        detail.to_string()
    }
}

/// The haversine distance, as the SQL computes it (Earth's diameter 12,742 km).
fn great_circle_km((lat1, lon1): (f64, f64), (lat2, lon2): (f64, f64)) -> f64 {
    let half = |d: f64| (d.to_radians() / 2.0).sin().powi(2);
    12742.0 * (half(lat2 - lat1) + lat1.to_radians().cos() * lat2.to_radians().cos() * half(lon2 - lon1)).sqrt().asin()
}

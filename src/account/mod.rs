//! Use cases between the routes and storage. Every check of a password, TOTP code or recovery
//! code goes through [`attempts::Attempt`]: an attempt is counted before the secret is checked,
//! in the failure run of whoever is trying (strangers, a known device, a signed-in session), and
//! only a completed sign-in or change ends the run. Routes cannot read, reset or skip it.

pub mod attempts;
pub mod ceremony;
pub mod credentials;
pub mod devices;
pub mod emails;
pub mod factors;
pub mod keys;
pub mod passkeys;
pub mod sessions;
pub mod sign_in;
pub mod two_factor;

use crate::app::App;
use crate::storage::events::{EventType, NewEvent};

/// An event of this request (its time and origin) for `user_id`.
pub(crate) fn event<'a>(app: &'a App, user_id: &'a str, kind: EventType, detail: serde_json::Value) -> NewEvent<'a> {
    NewEvent { user_id, kind, at: app.now, origin: &app.origin, detail }
}

//! Use cases between the routes and storage. Every sign-in step goes through the one ceremony
//! ([`ceremony`]) and every check of a password, TOTP code, recovery code or passkey assertion
//! through [`attempts::Attempt`]: an attempt is counted before the secret is checked, in the
//! failure run of whoever is trying (strangers, a trusted device, a signed-in session), and only
//! a completed sign-in or change ends the run. Use cases see the request's facts, a store and
//! the answer's effects ([`crate::app::Cx`]), never HTTP: they run the same on the host in tests.

pub mod activity;
pub mod address;
pub mod alerts;
pub mod attempts;
pub mod breaches;
pub mod ceremony;
pub mod common_passwords;
pub mod credentials;
pub mod device_bound;
pub mod devices;
pub mod emails;
pub mod error;
pub mod factors;
pub mod key_rotation;
pub mod keys;
pub mod passkeys;
pub mod reset;
pub mod sessions;
pub mod sign_in;
#[cfg(test)]
mod tests;
pub mod two_factor;
pub mod unfamiliar;

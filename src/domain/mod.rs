//! Pure rules of the product: no bindings, no I/O, so every piece is unit-tested on the host.

pub mod alerts;
pub mod base32;
pub mod breaches;
pub mod client_address;
pub mod common_passwords;
pub mod countries;
pub mod dbsc;
pub mod email;
pub mod ids;
pub mod mail;
pub mod name;
pub mod password;
pub mod password_rules;
pub mod qr;
pub mod recovery_codes;
pub mod secrets;

pub mod throttle;
pub mod tokens;
pub mod totp;
pub mod unfamiliar;
pub mod unicode;

pub mod user_agent;
pub mod webauthn;

//! What the use cases may ask of storage, and nothing else: each method is one atomic operation
//! with typed arguments that answers an outcome. Two implementations keep the same promises: the
//! Cloudflare bindings (`super::bindings`: D1, KV, Rate Limiting — the real thing, tested through
//! workerd) and, for host tests of the use cases, an in-memory one (`super::memory`).
//!
//! The traits are split by what they hold, so a reader finds an operation by its subject; a use
//! case asks for [`Store`], which is all of them.

#![allow(async_fn_in_trait)] // single-threaded (wasm): no `Send` bound is wanted on these futures

use serde_json::Value;

use super::address_limits::PerAddress;
use super::attempts::{Budget, Condition, Generations, Reservation};
use super::data_keys::{DataKeyRow, Dependents, OutdatedSecrets, Reencrypted, Rewrapped};
use super::device_bound::{Binding, BindingRow, NewBinding};
use super::devices::Trust;
use super::emails::{Rewrite, StoredEmail};
use super::events::{EventRow, NewEvent, Origin, SignInRow};
use super::mail::{AlertState, ClaimedAlert, NewToken, Purpose, Reset, Spend as TokenSpend, TokenRow};
use super::passkeys::{
    Adding, IssuedChallenge, NewPasskey, PasskeyRow, PasskeyUse, Recorded, SessionAssertion, SessionAssertionReserved,
    Spend,
};
use super::revocations::Handover;
use super::sessions::{ListedSession, PendingSignIn, SessionRecord};
use super::sign_in::{FirstStep, FirstStepReserved, SecondStep, SecondStepRead, SecondStepReserved};
use super::two_factor::{EnableTotp, Proof, Use};
use super::users::{ChangingSession, CheckAlso, Checked, Completion, NewPassword, NewUser, PasswordChange};
use super::{Error, Outcome};
use crate::domain::ids::{SessionId, UserId};

/// Sessions, sign-ins waiting for their second factor, and WebAuthn challenges: records that
/// expire (KV, each with a TTL).
pub trait Records {
    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, Error>;
    /// Stores the session and its index entry (the session list reads the latter).
    async fn put_session(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        idle_seconds: u64,
        now: u64,
    ) -> Result<(), Error>;
    async fn delete_session(&self, user_id: &UserId, id: &SessionId) -> Result<(), Error>;
    /// Every session the store still lists for the user (ended ones included: D1 decides).
    async fn list_sessions(&self, user_id: &UserId) -> Result<Vec<ListedSession>, Error>;
    async fn put_pending(&self, id: &SessionId, pending: &PendingSignIn, ttl: u64) -> Result<(), Error>;
    async fn pending(&self, id: &SessionId) -> Result<Option<PendingSignIn>, Error>;
    async fn delete_pending(&self, id: &SessionId) -> Result<(), Error>;
    async fn put_challenge(&self, challenge: &str, issued: &IssuedChallenge, ttl: u64) -> Result<(), Error>;
    async fn challenge(&self, challenge: &str) -> Result<Option<IssuedChallenge>, Error>;
    async fn forget_challenge(&self, challenge: &str) -> Result<(), Error>;
}

/// Accounts, their failure runs, revocations, trusted devices and security events (D1), and the
/// per-address counters (Rate Limiting).
pub trait Accounts {
    /// The session check: the user's auth view, whether D1 ended the session, and what `also`
    /// asks for, in one round trip.
    async fn check_session(&self, user_id: &UserId, session_id: &SessionId, also: CheckAlso) -> Result<Checked, Error>;
    async fn revoked_session_ids(&self, user_id: &UserId) -> Result<Vec<SessionId>, Error>;
    async fn create_user(&self, user: &NewUser<'_>, origin: &Origin, trust: &Trust) -> Result<Outcome, Error>;
    async fn upgrade_outdated_hash(&self, user_id: &UserId, old_hash: &str, new_hash: &str) -> Result<(), Error>;
    async fn complete_sign_in(&self, completion: &Completion<'_>) -> Result<Outcome, Error>;
    async fn change_password(
        &self,
        change: &NewPassword<'_>,
        session: &ChangingSession<'_>,
        event: &NewEvent<'_>,
        budget: &Budget,
    ) -> Result<PasswordChange, Error>;
    async fn end_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: Option<&NewEvent<'_>>,
    ) -> Result<(), Error>;
    async fn end_successors(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error>;
    async fn hand_over(&self, handover: &Handover<'_>, run_ended: Option<&Budget>) -> Result<Outcome, Error>;
    async fn end_all_sessions(
        &self,
        from: u64,
        handover: &Handover<'_>,
        event: &NewEvent<'_>,
        keep_device: Option<&str>,
    ) -> Result<Outcome, Error>;
    async fn reserve(
        &self,
        budget: &Budget,
        condition: Condition<'_>,
        policy: crate::domain::throttle::ThrottlePolicy,
        now: u64,
    ) -> Result<Reservation, Error>;
    async fn hand_back(&self, user_id: &str, budget: &Budget, now: u64) -> Result<(), Error>;
    async fn record_failure(&self, failed: &NewEvent<'_>, locked: Option<&NewEvent<'_>>) -> Result<(), Error>;
    async fn reserve_first_step(&self, step: &FirstStep<'_>) -> Result<FirstStepReserved, Error>;
    async fn reserve_second_step(
        &self,
        step: &SecondStep<'_>,
        read: SecondStepRead<'_>,
    ) -> Result<SecondStepReserved, Error>;
    async fn hold_address(&self, address: &str, until: u64) -> Result<(), Error>;
    /// Counts a failed sign-in of the address; `true` when that put it over its limit.
    async fn count_sign_in_failure(&self, address: &str) -> Result<bool, Error>;
    /// Counts a request under a per-address limit; `false` when the address is over it.
    async fn admits(&self, limit: PerAddress, address: &str) -> Result<bool, Error>;
    async fn record_event(&self, event: &NewEvent<'_>) -> Result<(), Error>;
    async fn recent_events(&self, user_id: &UserId, limit: u32) -> Result<Vec<EventRow>, Error>;
    async fn trusted_devices(&self, user_id: &UserId, own: Option<&str>) -> Result<Vec<Value>, Error>;
    /// How many of the user's trusted devices were last used before `before` (near the user).
    async fn unused_devices(&self, user_id: &UserId, before: u64) -> Result<u32, Error>;
    /// The user's sign-ins since `since`, with their flags (near the user: they decide nothing
    /// about access).
    async fn sign_ins(&self, user_id: &UserId, since: u64) -> Result<Vec<SignInRow>, Error>;
    /// "This was me" for the sign-in `sign_in` (its request id); `LostRace` when there is none.
    async fn review_sign_in(&self, user_id: &UserId, sign_in: &str) -> Result<Outcome, Error>;
    async fn forget_device(&self, user_id: &UserId, device_id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error>;
}

/// Second factors: the TOTP secret and recovery codes, and passkeys (D1).
pub trait Factors {
    async fn codes_under_other_keys(&self, user_id: &UserId, key_id: &str) -> Result<u32, Error>;
    async fn start_totp_setup(&self, user_id: &UserId, pending_secret: &str) -> Result<Outcome, Error>;
    async fn use_proof(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        using: &Use<'_>,
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error>;
    async fn enable_totp(&self, enabling: &EnableTotp<'_>) -> Result<Outcome, Error>;
    async fn regenerate_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error>;
    async fn disable_totp(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        budget: &Budget,
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error>;
    /// The user's passkeys; `near`: from a read replica when there is one (the list the page shows).
    async fn passkeys(&self, user_id: &UserId, near: bool) -> Result<Vec<PasskeyRow>, Error>;
    async fn passkey(&self, user_id: &UserId, credential_id: &str) -> Result<Option<PasskeyRow>, Error>;
    async fn add_passkey(&self, new: &NewPasskey<'_>, spend: &Spend<'_>, event: &NewEvent<'_>)
        -> Result<Adding, Error>;
    async fn rename_passkey(
        &self,
        user_id: &UserId,
        credential_id: &str,
        name: &str,
    ) -> Result<Option<PasskeyRow>, Error>;
    async fn remove_passkey(
        &self,
        user_id: &UserId,
        credential_id: &str,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error>;
    async fn reserve_for_session(&self, asking: &SessionAssertion<'_>) -> Result<SessionAssertionReserved, Error>;
    async fn record_passkey_use(
        &self,
        used: &PasskeyUse<'_>,
        spend: &Spend<'_>,
        budget: &Budget,
        generations: Option<Generations>,
        events: &[NewEvent<'_>],
        trust: Option<&Trust>,
    ) -> Result<Recorded, Error>;
}

/// The data keys (wrapped under `SECRET_KEY`), what depends on them, and the daily clean-up.
pub trait Upkeep {
    async fn data_keys(&self) -> Result<Vec<DataKeyRow>, Error>;
    async fn create_data_keys(&self, rows: &[DataKeyRow], now: u64) -> Result<(), Error>;
    async fn rewrap_data_key(&self, rewrapped: &Rewrapped) -> Result<Outcome, Error>;
    async fn reencrypt(&self, secrets: &[Reencrypted]) -> Result<usize, Error>;
    async fn outdated_secrets(&self, from: &[String], limit: u64) -> Result<Vec<OutdatedSecrets>, Error>;
    async fn key_dependents(&self, kids: &[String]) -> Result<Dependents, Error>;
    async fn delete_unused_retired_keys(&self, retired_before: u64) -> Result<(), Error>;
    async fn non_ascii_emails(&self, after_id: &str, limit: u64) -> Result<Vec<StoredEmail>, Error>;
    async fn rewrite_emails(&self, rewrites: &[Rewrite<'_>]) -> Result<Vec<String>, Error>;
    /// Drops what no longer matters: expired revocations, old events, unused failure runs and
    /// trusted devices, spent challenges, ended holds.
    async fn prune(&self, now: u64) -> Result<(), Error>;
}

/// Files the worker reads from its static assets.
pub trait Assets {
    /// The common-password list (`public/data/common-passwords.txt`), one entry per line.
    async fn common_passwords(&self) -> Result<String, Error>;
}

/// A mail to send (rendered), by the `send_email` binding.
pub struct OutgoingMail<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub subject: &'a str,
    pub text: &'a str,
    pub html: &'a str,
}

/// Mail (docs/email.md): alerts in D1 and their queue, the send, and the tokens of links in
/// mails with the changes they make (each spends its token in the same transaction).
pub trait Mail {
    async fn queue_alerts(&self, alert_ids: &[String]) -> Result<(), Error>;
    /// Queues the alerts of the events this store's writes recorded so far, once (after the
    /// answer; work after the answer that records such an event calls it again).
    async fn queue_noted_alerts(&self) -> Result<(), Error>;
    async fn claim_alert(&self, alert_id: &str, now: u64) -> Result<Option<ClaimedAlert>, Error>;
    async fn settle_alert(&self, alert_id: &str, state: AlertState, event: Option<&NewEvent<'_>>) -> Result<(), Error>;
    async fn release_alert(&self, alert_id: &str) -> Result<(), Error>;
    async fn unsent_alerts(&self, before: u64, limit: u64) -> Result<Vec<String>, Error>;
    async fn send_mail(&self, mail: &OutgoingMail<'_>) -> Result<(), Error>;
    async fn create_token(&self, token: &NewToken<'_>) -> Result<(), Error>;
    async fn token(&self, hash: &str, purpose: Purpose, now: u64) -> Result<Option<TokenRow>, Error>;
    async fn verify_email(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error>;
    async fn change_email(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        to: &str,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error>;
    async fn report_not_me(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        event: &NewEvent<'_>,
        reset: &NewToken<'_>,
    ) -> Result<Outcome, Error>;
    async fn reset_password(
        &self,
        spend: &TokenSpend<'_>,
        reset: &Reset<'_>,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error>;
    async fn request_reset(&self, lookup: (&str, &str), origin: &Origin, now: u64, alert_id: &str)
        -> Result<(), Error>;
    async fn request_verification(&self, event: &NewEvent<'_>, unverified: bool) -> Result<Outcome, Error>;
    async fn email_taken(&self, lookup: (&str, &str)) -> Result<bool, Error>;
    async fn set_alerts(&self, user_id: &UserId, on: bool, event: &NewEvent<'_>) -> Result<(), Error>;
}

/// Pwned Passwords' range API: an outside service, reached by `fetch`.
pub trait Breaches {
    /// The range of `prefix` (`base` + prefix, padded), or None when the service did not answer
    /// well within [`BREACH_CHECK_MS`] (slow, down, or not 200).
    async fn breach_range(&self, base: &str, prefix: &str) -> Result<Option<String>, Error>;
    /// Flags the user's password (still of `password_generation`) as seen in breaches, with
    /// `event`, unless it is flagged already.
    async fn flag_breached_password(
        &self,
        user_id: &UserId,
        password_generation: u64,
        times: u64,
        event: &NewEvent<'_>,
    ) -> Result<(), Error>;
}

/// Sessions bound to a device key (DBSC, issue 25; D1 `session_bindings`).
pub trait DeviceBound {
    /// Binds the session to a key, spending the registration's challenge, while it is live.
    async fn bind_session(
        &self,
        new: &NewBinding<'_>,
        spend: &Spend<'_>,
        event: &NewEvent<'_>,
    ) -> Result<Binding, Error>;
    async fn session_binding(&self, session_id: &SessionId) -> Result<Option<BindingRow>, Error>;
    /// Spends a refresh's challenge (false: answered already) and notes the refresh.
    async fn refresh_binding(&self, session_id: &SessionId, spend: &Spend<'_>, now: u64) -> Result<bool, Error>;
}

/// How long a password change or sign-up waits for the breach check before going on without it.
pub const BREACH_CHECK_MS: u64 = 1000;

/// Everything a use case may ask of storage. Cloning is cheap (handles), so work that goes on
/// after the answer can hold its own.
pub trait Store:
    Records + Accounts + Factors + Upkeep + Assets + Mail + Breaches + DeviceBound + Clone + 'static
{
}

impl<T: Records + Accounts + Factors + Upkeep + Assets + Mail + Breaches + DeviceBound + Clone + 'static> Store for T {}

//! The [`Store`](super::store::Store) on Cloudflare: D1 (`DB`) through a session of D1's Sessions
//! API per request, KV (`SESSIONS`) and the Rate Limiting bindings. Made once per request.
//!
//! D1 is reached at the primary (`first-primary`) for the session check, attempts and every
//! write; reads that decide nothing about access (the activity list, the passkey list, trusted
//! devices) may start at the nearest read replica, no older than the browser's bookmark of its
//! own last write, and are made at the primary if that fails.

use std::cell::RefCell;
use std::rc::Rc;

use serde_json::Value;
use worker::{Env, KvStore};

use super::address_limits::{self, PerAddress};
use super::attempts::{self, Budget, Condition, Generations, Reservation};
use super::data_keys::{self, DataKeyRow, Dependents, OutdatedSecrets, Reencrypted, Rewrapped};
use super::devices::{self, Trust};
use super::emails::{self, Rewrite, StoredEmail};
use super::events::{self, EventRow, NewEvent, Origin};
use super::passkeys::{
    self, Adding, IssuedChallenge, NewPasskey, PasskeyRow, PasskeyUse, Recorded, SessionAssertion,
    SessionAssertionReserved, Spend,
};
use super::revocations::Handover;
use super::sessions::{self, ListedSession, PendingSignIn, SessionRecord};
use super::sign_in::{self, FirstStep, FirstStepReserved, SecondStep, SecondStepRead, SecondStepReserved};
use super::store::{Accounts, Factors, Records, Upkeep};
use super::two_factor::{self, EnableTotp, Proof, Use};
use super::users::{self, ChangingSession, CheckAlso, Checked, Completion, NewPassword, NewUser, PasswordChange};
use super::{ip_limits, Db, Error, Outcome};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::throttle::ThrottlePolicy;

/// The request's bindings. Cloning shares them.
#[derive(Clone)]
pub struct Bindings(Rc<Inner>);

struct Inner {
    env: Env,
    kv: KvStore,
    primary: RefCell<Option<Db>>,
    near: RefCell<Option<Db>>,
    /// The D1 bookmark of the browser's last write, from its cookie (when bookmark-shaped).
    bookmark: Option<String>,
}

impl Bindings {
    pub fn new(env: Env, bookmark: Option<String>) -> Result<Self, Error> {
        let kv = env.kv("SESSIONS")?;
        let inner = Inner { env, kv, primary: RefCell::new(None), near: RefCell::new(None), bookmark };
        Ok(Self(Rc::new(inner)))
    }

    fn db(&self) -> Result<Db, Error> {
        let mut slot = self.0.primary.borrow_mut();
        match &*slot {
            Some(db) => Ok(db.clone()),
            None => Ok(slot.insert(Db::primary(&self.0.env)?).clone()),
        }
    }

    fn near_db(&self) -> Result<Db, Error> {
        let mut slot = self.0.near.borrow_mut();
        match &*slot {
            Some(db) => Ok(db.clone()),
            None => Ok(slot.insert(Db::near(&self.0.env, self.0.bookmark.as_deref())?).clone()),
        }
    }

    /// Runs `read` near the user; if that fails (a bookmark D1 no longer takes, a replica gone),
    /// at the primary.
    async fn read_near<T, F, Fut>(&self, read: F) -> Result<T, Error>
    where
        F: Fn(Db) -> Fut,
        Fut: std::future::Future<Output = Result<T, Error>>,
    {
        match read(self.near_db()?).await {
            Ok(value) => Ok(value),
            Err(error) => {
                crate::log::warn(&format!("a read near the user failed, reading at the primary: {error}"));
                read(self.db()?).await
            }
        }
    }

    /// The D1 position after this request's writes, if the browser does not have it yet.
    pub fn newer_bookmark(&self) -> Option<String> {
        let newest = self.0.primary.borrow().as_ref().and_then(Db::bookmark)?;
        (self.0.bookmark.as_deref() < Some(newest.as_str()) && super::is_bookmark_shaped(&newest)).then_some(newest)
    }
}

impl Records for Bindings {
    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, Error> {
        sessions::get(&self.0.kv, id).await
    }

    async fn put_session(&self, id: &SessionId, record: &SessionRecord, idle: u64, now: u64) -> Result<(), Error> {
        sessions::put(&self.0.kv, id, record, idle, now).await
    }

    async fn delete_session(&self, user_id: &UserId, id: &SessionId) -> Result<(), Error> {
        sessions::delete(&self.0.kv, user_id, id).await
    }

    async fn list_sessions(&self, user_id: &UserId) -> Result<Vec<ListedSession>, Error> {
        sessions::list(&self.0.kv, user_id).await
    }

    async fn put_pending(&self, id: &SessionId, pending: &PendingSignIn, ttl: u64) -> Result<(), Error> {
        sessions::put_pending(&self.0.kv, id, pending, ttl).await
    }

    async fn pending(&self, id: &SessionId) -> Result<Option<PendingSignIn>, Error> {
        sessions::get_pending(&self.0.kv, id).await
    }

    async fn delete_pending(&self, id: &SessionId) -> Result<(), Error> {
        sessions::delete_pending(&self.0.kv, id).await
    }

    async fn put_challenge(&self, challenge: &str, issued: &IssuedChallenge, ttl: u64) -> Result<(), Error> {
        passkeys::put_challenge(&self.0.kv, challenge, issued, ttl).await
    }

    async fn challenge(&self, challenge: &str) -> Result<Option<IssuedChallenge>, Error> {
        passkeys::get_challenge(&self.0.kv, challenge).await
    }

    async fn forget_challenge(&self, challenge: &str) -> Result<(), Error> {
        passkeys::forget_challenge(&self.0.kv, challenge).await
    }
}

impl Accounts for Bindings {
    async fn check_session(&self, user_id: &UserId, session: &SessionId, also: CheckAlso) -> Result<Checked, Error> {
        users::check_session(&self.db()?, user_id, session, also).await
    }

    async fn revoked_session_ids(&self, user_id: &UserId) -> Result<Vec<SessionId>, Error> {
        users::revoked_session_ids(&self.db()?, user_id).await
    }

    async fn create_user(&self, user: &NewUser<'_>, origin: &Origin, trust: &Trust) -> Result<Outcome, Error> {
        users::create(&self.db()?, user, origin, trust).await
    }

    async fn upgrade_outdated_hash(&self, user_id: &UserId, old_hash: &str, new_hash: &str) -> Result<(), Error> {
        users::upgrade_outdated_hash(&self.db()?, user_id, old_hash, new_hash).await
    }

    async fn complete_sign_in(&self, completion: &Completion<'_>) -> Result<Outcome, Error> {
        users::complete_sign_in(&self.db()?, completion).await
    }

    async fn change_password(
        &self,
        change: &NewPassword<'_>,
        session: &ChangingSession<'_>,
        event: &NewEvent<'_>,
        budget: &Budget,
    ) -> Result<PasswordChange, Error> {
        users::change_password(&self.db()?, change, session, event, budget).await
    }

    async fn end_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: Option<&NewEvent<'_>>,
    ) -> Result<(), Error> {
        users::end_session(&self.db()?, session_id, user_id, expires_at, event).await
    }

    async fn end_successors(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error> {
        users::end_successors(&self.db()?, session_id, user_id, expires_at, event).await
    }

    async fn hand_over(&self, handover: &Handover<'_>, run_ended: Option<&Budget>) -> Result<Outcome, Error> {
        users::hand_over(&self.db()?, handover, run_ended).await
    }

    async fn end_all_sessions(
        &self,
        from: u64,
        handover: &Handover<'_>,
        event: &NewEvent<'_>,
        keep_device: Option<&str>,
    ) -> Result<Outcome, Error> {
        users::end_all_sessions(&self.db()?, from, handover, event, keep_device).await
    }

    async fn reserve(
        &self,
        budget: &Budget,
        condition: Condition<'_>,
        policy: ThrottlePolicy,
        now: u64,
    ) -> Result<Reservation, Error> {
        attempts::reserve(&self.db()?, budget, condition, policy, now).await
    }

    async fn hand_back(&self, user_id: &str, budget: &Budget, now: u64) -> Result<(), Error> {
        attempts::hand_back(&self.db()?, user_id, budget, now).await
    }

    async fn record_failure(&self, failed: &NewEvent<'_>, locked: Option<&NewEvent<'_>>) -> Result<(), Error> {
        attempts::record_failure(&self.db()?, failed, locked).await
    }

    async fn reserve_first_step(&self, step: &FirstStep<'_>) -> Result<FirstStepReserved, Error> {
        sign_in::reserve_first_step(&self.db()?, step).await
    }

    async fn reserve_second_step(
        &self,
        step: &SecondStep<'_>,
        read: SecondStepRead<'_>,
    ) -> Result<SecondStepReserved, Error> {
        sign_in::reserve_second_step(&self.db()?, step, read).await
    }

    async fn hold_address(&self, address: &str, until: u64) -> Result<(), Error> {
        sign_in::hold_address(&self.db()?, address, until).await
    }

    async fn count_sign_in_failure(&self, address: &str) -> Result<bool, Error> {
        ip_limits::count_failure(&self.0.env, address).await
    }

    async fn admits(&self, limit: PerAddress, address: &str) -> Result<bool, Error> {
        address_limits::admits(&self.0.env, limit, address).await
    }

    async fn record_event(&self, event: &NewEvent<'_>) -> Result<(), Error> {
        events::record(&self.db()?, event).await
    }

    async fn recent_events(&self, user_id: &UserId, limit: u32) -> Result<Vec<EventRow>, Error> {
        self.read_near(|db| async move { events::recent(&db, user_id, limit).await }).await
    }

    async fn trusted_devices(&self, user_id: &UserId, own: Option<&str>) -> Result<Vec<Value>, Error> {
        self.read_near(|db| async move { devices::list(&db, user_id, own).await }).await
    }

    async fn forget_device(&self, user_id: &UserId, device_id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error> {
        devices::forget(&self.db()?, user_id, device_id, event).await
    }
}

impl Factors for Bindings {
    async fn codes_under_other_keys(&self, user_id: &UserId, key_id: &str) -> Result<u32, Error> {
        two_factor::codes_under_other_keys(&self.db()?, user_id, key_id).await
    }

    async fn start_totp_setup(&self, user_id: &UserId, pending_secret: &str) -> Result<Outcome, Error> {
        two_factor::start_setup(&self.db()?, user_id, pending_secret).await
    }

    async fn use_proof(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        using: &Use<'_>,
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error> {
        two_factor::use_proof(&self.db()?, user_id, proof, using, now, origin).await
    }

    async fn enable_totp(&self, enabling: &EnableTotp<'_>) -> Result<Outcome, Error> {
        two_factor::enable(&self.db()?, enabling).await
    }

    async fn regenerate_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error> {
        two_factor::regenerate(&self.db()?, user_id, hashes, now, origin).await
    }

    async fn disable_totp(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        budget: &Budget,
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error> {
        two_factor::disable(&self.db()?, user_id, proof, budget, now, origin).await
    }

    async fn passkeys(&self, user_id: &UserId, near: bool) -> Result<Vec<PasskeyRow>, Error> {
        match near {
            true => self.read_near(|db| async move { passkeys::list(&db, user_id).await }).await,
            false => passkeys::list(&self.db()?, user_id).await,
        }
    }

    async fn passkey(&self, user_id: &UserId, credential_id: &str) -> Result<Option<PasskeyRow>, Error> {
        passkeys::find(&self.db()?, user_id, credential_id).await
    }

    async fn add_passkey(
        &self,
        new: &NewPasskey<'_>,
        spend: &Spend<'_>,
        event: &NewEvent<'_>,
    ) -> Result<Adding, Error> {
        passkeys::add(&self.db()?, new, spend, event).await
    }

    async fn rename_passkey(&self, user_id: &UserId, id: &str, name: &str) -> Result<Option<PasskeyRow>, Error> {
        passkeys::rename(&self.db()?, user_id, id, name).await
    }

    async fn remove_passkey(&self, user_id: &UserId, id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error> {
        passkeys::remove(&self.db()?, user_id, id, event).await
    }

    async fn reserve_for_session(&self, asking: &SessionAssertion<'_>) -> Result<SessionAssertionReserved, Error> {
        passkeys::reserve_for_session(&self.db()?, asking).await
    }

    async fn record_passkey_use(
        &self,
        used: &PasskeyUse<'_>,
        spend: &Spend<'_>,
        budget: &Budget,
        generations: Option<Generations>,
        events: &[NewEvent<'_>],
        trust: Option<&Trust>,
    ) -> Result<Recorded, Error> {
        passkeys::record_use(&self.db()?, used, spend, budget, generations, events, trust).await
    }
}

impl Upkeep for Bindings {
    async fn data_keys(&self) -> Result<Vec<DataKeyRow>, Error> {
        data_keys::all_keys(&self.db()?).await
    }

    async fn create_data_keys(&self, rows: &[DataKeyRow], now: u64) -> Result<(), Error> {
        data_keys::create(&self.db()?, rows, now).await
    }

    async fn rewrap_data_key(&self, rewrapped: &Rewrapped) -> Result<Outcome, Error> {
        data_keys::rewrap(&self.db()?, rewrapped).await
    }

    async fn reencrypt(&self, secrets: &[Reencrypted]) -> Result<usize, Error> {
        data_keys::reencrypt(&self.db()?, secrets).await
    }

    async fn outdated_secrets(&self, from: &[String], limit: u64) -> Result<Vec<OutdatedSecrets>, Error> {
        data_keys::outdated_secrets(&self.db()?, from, limit).await
    }

    async fn key_dependents(&self, kids: &[String]) -> Result<Dependents, Error> {
        data_keys::dependents(&self.db()?, kids).await
    }

    async fn delete_unused_retired_keys(&self, retired_before: u64) -> Result<(), Error> {
        data_keys::delete_unused_retired(&self.db()?, retired_before).await
    }

    async fn non_ascii_emails(&self, after_id: &str, limit: u64) -> Result<Vec<StoredEmail>, Error> {
        emails::non_ascii(&self.db()?, after_id, limit).await
    }

    async fn rewrite_emails(&self, rewrites: &[Rewrite<'_>]) -> Result<Vec<String>, Error> {
        emails::rewrite(&self.db()?, rewrites).await
    }

    async fn prune(&self, now: u64) -> Result<(), Error> {
        super::prune(&self.db()?, now).await
    }
}

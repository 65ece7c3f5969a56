//! The [`Store`](super::store::Store) on Cloudflare: D1 (`DB`) through a session of D1's Sessions
//! API per request, KV (`SESSIONS`) and the Rate Limiting bindings. Made once per request.
//!
//! D1 is reached at the primary (`first-primary`) for the session check, attempts and every
//! write; reads that decide nothing about access (the activity list, the passkey list, trusted
//! devices) may start at the nearest read replica, no older than the browser's bookmark of its
//! own last write, and are made at the primary if that fails.

use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;

use serde_json::Value;
use worker::{Env, KvStore};

use super::address_limits::{self, PerAddress};
use super::attempts::{self, Budget, Condition, Generations, Reservation};
use super::data_keys::{self, DataKeyRow, Dependents, OutdatedSecrets, Reencrypted, Rewrapped};
use super::device_bound::{Binding, BindingRow, NewBinding};
use super::devices::{self, Trust};
use super::emails::{self, Rewrite, StoredEmail};
use super::events::{self, EventRow, NewEvent, Origin, SignInRow};
use super::mail::{self, AlertState, ClaimedAlert, NewToken, Purpose, Reset, Spend as TokenSpend, TokenRow};
use super::passkeys::{
    self, Adding, IssuedChallenge, NewPasskey, PasskeyRow, PasskeyUse, Recorded, SessionAssertion,
    SessionAssertionReserved, Spend,
};
use super::revocations::Handover;
use super::sessions::{self, ListedSession, PendingSignIn, SessionRecord};
use super::sign_in::{self, FirstStep, FirstStepReserved, SecondStep, SecondStepRead, SecondStepReserved};
use super::store::{Accounts, Assets, Breaches, DeviceBound, Factors, Mail, OutgoingMail, Records, Upkeep};
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
    primary: Db,
    near: RefCell<Option<Db>>,
    /// The D1 bookmark of the browser's last write, from its cookie (when bookmark-shaped).
    bookmark: Option<String>,
}

impl Bindings {
    pub fn new(env: Env, bookmark: Option<String>) -> Result<Self, Error> {
        let (kv, primary) = (env.kv("SESSIONS")?, Db::primary(&env)?);
        let inner = Inner { env, kv, primary, near: RefCell::new(None), bookmark };
        Ok(Self(Rc::new(inner)))
    }

    fn db(&self) -> &Db {
        &self.0.primary
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
                read(self.db().clone()).await
            }
        }
    }

    /// The D1 position after this request's writes, if the browser does not have it yet.
    pub fn newer_bookmark(&self) -> Option<String> {
        let newest = self.0.primary.bookmark()?;
        (self.0.bookmark.as_deref() < Some(newest.as_str()) && super::is_bookmark_shaped(&newest)).then_some(newest)
    }
}

impl Records for Bindings {
    fn session(&self, id: &SessionId) -> impl Future<Output = Result<Option<SessionRecord>, Error>> {
        sessions::get(&self.0.kv, id)
    }

    fn put_session(
        &self,
        id: &SessionId,
        record: &SessionRecord,
        idle: u64,
        now: u64,
    ) -> impl Future<Output = Result<(), Error>> {
        sessions::put(&self.0.kv, id, record, idle, now)
    }

    fn delete_session(&self, user_id: &UserId, id: &SessionId) -> impl Future<Output = Result<(), Error>> {
        sessions::delete(&self.0.kv, user_id, id)
    }

    fn list_sessions(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<ListedSession>, Error>> {
        sessions::list(&self.0.kv, user_id)
    }

    fn put_pending(
        &self,
        id: &SessionId,
        pending: &PendingSignIn,
        ttl: u64,
    ) -> impl Future<Output = Result<(), Error>> {
        sessions::put_pending(&self.0.kv, id, pending, ttl)
    }

    fn pending(&self, id: &SessionId) -> impl Future<Output = Result<Option<PendingSignIn>, Error>> {
        sessions::get_pending(&self.0.kv, id)
    }

    fn delete_pending(&self, id: &SessionId) -> impl Future<Output = Result<(), Error>> {
        sessions::delete_pending(&self.0.kv, id)
    }

    fn put_challenge(
        &self,
        challenge: &str,
        issued: &IssuedChallenge,
        ttl: u64,
    ) -> impl Future<Output = Result<(), Error>> {
        passkeys::put_challenge(&self.0.kv, challenge, issued, ttl)
    }

    fn challenge(&self, challenge: &str) -> impl Future<Output = Result<Option<IssuedChallenge>, Error>> {
        passkeys::get_challenge(&self.0.kv, challenge)
    }

    fn forget_challenge(&self, challenge: &str) -> impl Future<Output = Result<(), Error>> {
        passkeys::forget_challenge(&self.0.kv, challenge)
    }
}

impl Accounts for Bindings {
    fn check_session(
        &self,
        user_id: &UserId,
        session: &SessionId,
        also: CheckAlso,
    ) -> impl Future<Output = Result<Checked, Error>> {
        users::check_session(self.db(), user_id, session, also)
    }

    fn revoked_session_ids(&self, user_id: &UserId) -> impl Future<Output = Result<Vec<SessionId>, Error>> {
        users::revoked_session_ids(self.db(), user_id)
    }

    fn create_user(
        &self,
        user: &NewUser<'_>,
        origin: &Origin,
        trust: &Trust,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        users::create(self.db(), user, origin, trust)
    }

    fn upgrade_outdated_hash(
        &self,
        user_id: &UserId,
        old_hash: &str,
        new_hash: &str,
    ) -> impl Future<Output = Result<(), Error>> {
        users::upgrade_outdated_hash(self.db(), user_id, old_hash, new_hash)
    }

    fn complete_sign_in(&self, completion: &Completion<'_>) -> impl Future<Output = Result<Outcome, Error>> {
        users::complete_sign_in(self.db(), completion)
    }

    fn change_password(
        &self,
        change: &NewPassword<'_>,
        session: &ChangingSession<'_>,
        event: &NewEvent<'_>,
        budget: &Budget,
    ) -> impl Future<Output = Result<PasswordChange, Error>> {
        users::change_password(self.db(), change, session, event, budget)
    }

    fn end_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: Option<&NewEvent<'_>>,
    ) -> impl Future<Output = Result<(), Error>> {
        users::end_session(self.db(), session_id, user_id, expires_at, event)
    }

    fn end_successors(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        users::end_successors(self.db(), session_id, user_id, expires_at, event)
    }

    fn hand_over(
        &self,
        handover: &Handover<'_>,
        run_ended: Option<&Budget>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        users::hand_over(self.db(), handover, run_ended)
    }

    fn end_all_sessions(
        &self,
        from: u64,
        handover: &Handover<'_>,
        event: &NewEvent<'_>,
        keep_device: Option<&str>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        users::end_all_sessions(self.db(), from, handover, event, keep_device)
    }

    fn reserve(
        &self,
        budget: &Budget,
        condition: Condition<'_>,
        policy: ThrottlePolicy,
        now: u64,
    ) -> impl Future<Output = Result<Reservation, Error>> {
        attempts::reserve(self.db(), budget, condition, policy, now)
    }

    fn hand_back(&self, user_id: &str, budget: &Budget, now: u64) -> impl Future<Output = Result<(), Error>> {
        attempts::hand_back(self.db(), user_id, budget, now)
    }

    fn record_failure(
        &self,
        failed: &NewEvent<'_>,
        locked: Option<&NewEvent<'_>>,
    ) -> impl Future<Output = Result<(), Error>> {
        attempts::record_failure(self.db(), failed, locked)
    }

    fn reserve_first_step(&self, step: &FirstStep<'_>) -> impl Future<Output = Result<FirstStepReserved, Error>> {
        sign_in::reserve_first_step(self.db(), step)
    }

    fn reserve_second_step(
        &self,
        step: &SecondStep<'_>,
        read: SecondStepRead<'_>,
    ) -> impl Future<Output = Result<SecondStepReserved, Error>> {
        sign_in::reserve_second_step(self.db(), step, read)
    }

    fn hold_address(&self, address: &str, until: u64) -> impl Future<Output = Result<(), Error>> {
        sign_in::hold_address(self.db(), address, until)
    }

    fn count_sign_in_failure(&self, address: &str) -> impl Future<Output = Result<bool, Error>> {
        ip_limits::count_failure(&self.0.env, address)
    }

    fn admits(&self, limit: PerAddress, address: &str) -> impl Future<Output = Result<bool, Error>> {
        address_limits::admits(&self.0.env, limit, address)
    }

    fn record_event(&self, event: &NewEvent<'_>) -> impl Future<Output = Result<(), Error>> {
        events::record(self.db(), event)
    }

    async fn recent_events(&self, user_id: &UserId, limit: u32) -> Result<Vec<EventRow>, Error> {
        self.read_near(|db| async move { events::recent(&db, user_id, limit).await }).await
    }

    async fn trusted_devices(&self, user_id: &UserId, own: Option<&str>) -> Result<Vec<Value>, Error> {
        self.read_near(|db| async move { devices::list(&db, user_id, own).await }).await
    }

    async fn unused_devices(&self, user_id: &UserId, before: u64) -> Result<u32, Error> {
        self.read_near(|db| async move { devices::unused(&db, user_id, before).await }).await
    }

    async fn sign_ins(&self, user_id: &UserId, since: u64) -> Result<Vec<SignInRow>, Error> {
        self.read_near(|db| async move { events::sign_ins(&db, user_id, since).await }).await
    }

    fn review_sign_in(&self, user_id: &UserId, sign_in: &str) -> impl Future<Output = Result<Outcome, Error>> {
        events::review_sign_in(self.db(), user_id, sign_in)
    }

    fn forget_device(
        &self,
        user_id: &UserId,
        device_id: &str,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        devices::forget(self.db(), user_id, device_id, event)
    }
}

impl Factors for Bindings {
    fn codes_under_other_keys(&self, user_id: &UserId, key_id: &str) -> impl Future<Output = Result<u32, Error>> {
        two_factor::codes_under_other_keys(self.db(), user_id, key_id)
    }

    fn start_totp_setup(&self, user_id: &UserId, pending_secret: &str) -> impl Future<Output = Result<Outcome, Error>> {
        two_factor::start_setup(self.db(), user_id, pending_secret)
    }

    fn use_proof(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        using: &Use<'_>,
        origin: &Origin,
        now: u64,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        two_factor::use_proof(self.db(), user_id, proof, using, now, origin)
    }

    fn enable_totp(&self, enabling: &EnableTotp<'_>) -> impl Future<Output = Result<Outcome, Error>> {
        two_factor::enable(self.db(), enabling)
    }

    fn regenerate_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        origin: &Origin,
        now: u64,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        two_factor::regenerate(self.db(), user_id, hashes, now, origin)
    }

    fn disable_totp(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        budget: &Budget,
        origin: &Origin,
        now: u64,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        two_factor::disable(self.db(), user_id, proof, budget, now, origin)
    }

    async fn passkeys(&self, user_id: &UserId, near: bool) -> Result<Vec<PasskeyRow>, Error> {
        match near {
            true => self.read_near(|db| async move { passkeys::list(&db, user_id).await }).await,
            false => passkeys::list(self.db(), user_id).await,
        }
    }

    fn passkey(
        &self,
        user_id: &UserId,
        credential_id: &str,
    ) -> impl Future<Output = Result<Option<PasskeyRow>, Error>> {
        passkeys::find(self.db(), user_id, credential_id)
    }

    fn add_passkey(
        &self,
        new: &NewPasskey<'_>,
        spend: &Spend<'_>,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Adding, Error>> {
        passkeys::add(self.db(), new, spend, event)
    }

    fn rename_passkey(
        &self,
        user_id: &UserId,
        id: &str,
        name: &str,
    ) -> impl Future<Output = Result<Option<PasskeyRow>, Error>> {
        passkeys::rename(self.db(), user_id, id, name)
    }

    fn remove_passkey(
        &self,
        user_id: &UserId,
        id: &str,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        passkeys::remove(self.db(), user_id, id, event)
    }

    fn reserve_for_session(
        &self,
        asking: &SessionAssertion<'_>,
    ) -> impl Future<Output = Result<SessionAssertionReserved, Error>> {
        passkeys::reserve_for_session(self.db(), asking)
    }

    fn record_passkey_use(
        &self,
        used: &PasskeyUse<'_>,
        spend: &Spend<'_>,
        budget: &Budget,
        generations: Option<Generations>,
        events: &[NewEvent<'_>],
        trust: Option<&Trust>,
    ) -> impl Future<Output = Result<Recorded, Error>> {
        passkeys::record_use(self.db(), used, spend, budget, generations, events, trust)
    }
}

impl Assets for Bindings {
    async fn common_passwords(&self) -> Result<String, Error> {
        let assets = self.0.env.assets("ASSETS")?;
        // Any host: the binding serves the worker's own assets by path.
        let mut response = assets.fetch("https://assets.invalid/data/common-passwords.txt", None).await?;
        if response.status_code() != 200 {
            return Err(Error::Missing("the common-password list asset"));
        }
        Ok(response.text().await?)
    }
}

impl Upkeep for Bindings {
    fn data_keys(&self) -> impl Future<Output = Result<Vec<DataKeyRow>, Error>> {
        data_keys::all_keys(self.db())
    }

    fn create_data_keys(&self, rows: &[DataKeyRow], now: u64) -> impl Future<Output = Result<(), Error>> {
        data_keys::create(self.db(), rows, now)
    }

    fn rewrap_data_key(&self, rewrapped: &Rewrapped) -> impl Future<Output = Result<Outcome, Error>> {
        data_keys::rewrap(self.db(), rewrapped)
    }

    fn reencrypt(&self, secrets: &[Reencrypted]) -> impl Future<Output = Result<usize, Error>> {
        data_keys::reencrypt(self.db(), secrets)
    }

    fn outdated_secrets(
        &self,
        from: &[String],
        limit: u64,
    ) -> impl Future<Output = Result<Vec<OutdatedSecrets>, Error>> {
        data_keys::outdated_secrets(self.db(), from, limit)
    }

    fn key_dependents(&self, kids: &[String]) -> impl Future<Output = Result<Dependents, Error>> {
        data_keys::dependents(self.db(), kids)
    }

    fn delete_unused_retired_keys(&self, retired_before: u64) -> impl Future<Output = Result<(), Error>> {
        data_keys::delete_unused_retired(self.db(), retired_before)
    }

    fn non_ascii_emails(&self, after_id: &str, limit: u64) -> impl Future<Output = Result<Vec<StoredEmail>, Error>> {
        emails::non_ascii(self.db(), after_id, limit)
    }

    fn rewrite_emails(&self, rewrites: &[Rewrite<'_>]) -> impl Future<Output = Result<Vec<String>, Error>> {
        emails::rewrite(self.db(), rewrites)
    }

    fn prune(&self, now: u64) -> impl Future<Output = Result<(), Error>> {
        super::prune(self.db(), now)
    }
}

/// The queue message of an alert: its event's alert id (the consumer reads the rest from D1).
#[derive(serde::Serialize, serde::Deserialize)]
pub struct AlertMessage {
    pub alert: String,
}

impl Mail for Bindings {
    async fn queue_alerts(&self, alert_ids: &[String]) -> Result<(), Error> {
        let queue = self.0.env.queue("MAILS")?;
        for alert in alert_ids {
            queue.send(AlertMessage { alert: alert.clone() }).await?;
        }
        Ok(())
    }

    async fn queue_noted_alerts(&self) -> Result<(), Error> {
        let noted = self.0.primary.take_alerts();
        match noted.is_empty() {
            true => Ok(()),
            false => self.queue_alerts(&noted).await,
        }
    }

    fn claim_alert(&self, alert_id: &str, now: u64) -> impl Future<Output = Result<Option<ClaimedAlert>, Error>> {
        mail::claim(self.db(), alert_id, now)
    }

    fn settle_alert(
        &self,
        alert_id: &str,
        state: AlertState,
        event: Option<&NewEvent<'_>>,
    ) -> impl Future<Output = Result<(), Error>> {
        mail::settle(self.db(), alert_id, state, event)
    }

    fn release_alert(&self, alert_id: &str) -> impl Future<Output = Result<(), Error>> {
        mail::release(self.db(), alert_id)
    }

    fn unsent_alerts(&self, before: u64, limit: u64) -> impl Future<Output = Result<Vec<String>, Error>> {
        mail::unsent(self.db(), before, limit)
    }

    async fn send_mail(&self, outgoing: &OutgoingMail<'_>) -> Result<(), Error> {
        let message = worker::SendEmailBuilder::builder(outgoing.from, outgoing.to, outgoing.subject)
            .text(outgoing.text)
            .html(outgoing.html)
            .build();
        match self.0.env.send_email("EMAIL")?.send_with_builder(&message).await {
            Ok(_) => Ok(()),
            // The binding's message names the recipient: not for the logs.
            Err(error) => Err(Error::Send(String::from(error.message()).replace(outgoing.to, "<the recipient>"))),
        }
    }

    fn create_token(&self, token: &NewToken<'_>) -> impl Future<Output = Result<(), Error>> {
        mail::create_token(self.db(), token)
    }

    fn token(&self, hash: &str, purpose: Purpose, now: u64) -> impl Future<Output = Result<Option<TokenRow>, Error>> {
        mail::token(self.db(), hash, purpose, now)
    }

    fn verify_email(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        mail::verify(self.db(), spend, user_id, event)
    }

    fn change_email(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        to: &str,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        mail::change(self.db(), spend, user_id, to, event)
    }

    fn report_not_me(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        event: &NewEvent<'_>,
        reset: &NewToken<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        mail::not_me(self.db(), spend, user_id, event, reset)
    }

    fn reset_password(
        &self,
        spend: &TokenSpend<'_>,
        reset: &Reset<'_>,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        mail::reset(self.db(), spend, reset, event)
    }

    async fn request_reset(
        &self,
        lookup: (&str, &str),
        origin: &Origin,
        now: u64,
        alert_id: &str,
    ) -> Result<(), Error> {
        mail::request_reset(self.db(), lookup, origin, now, alert_id).await
    }

    fn request_verification(
        &self,
        event: &NewEvent<'_>,
        unverified: bool,
    ) -> impl Future<Output = Result<Outcome, Error>> {
        mail::request_verification(self.db(), event, unverified)
    }

    fn email_taken(&self, lookup: (&str, &str)) -> impl Future<Output = Result<bool, Error>> {
        mail::email_taken(self.db(), lookup)
    }

    fn set_alerts(&self, user_id: &UserId, on: bool, event: &NewEvent<'_>) -> impl Future<Output = Result<(), Error>> {
        mail::set_alerts(self.db(), user_id, on, event)
    }
}

impl DeviceBound for Bindings {
    fn bind_session(
        &self,
        new: &NewBinding<'_>,
        spend: &Spend<'_>,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<Binding, Error>> {
        super::device_bound::bind(self.db(), new, spend, event)
    }

    fn session_binding(&self, session_id: &SessionId) -> impl Future<Output = Result<Option<BindingRow>, Error>> {
        super::device_bound::find(self.db(), session_id)
    }

    fn refresh_binding(
        &self,
        session_id: &SessionId,
        spend: &Spend<'_>,
        now: u64,
    ) -> impl Future<Output = Result<bool, Error>> {
        super::device_bound::refresh(self.db(), session_id, spend, now)
    }
}

impl Breaches for Bindings {
    fn breach_range(&self, base: &str, prefix: &str) -> impl Future<Output = Result<Option<String>, Error>> {
        super::breaches::range(base, prefix)
    }

    fn flag_breached_password(
        &self,
        user_id: &UserId,
        password_generation: u64,
        times: u64,
        event: &NewEvent<'_>,
    ) -> impl Future<Output = Result<(), Error>> {
        super::breaches::flag(self.db(), user_id, password_generation, times, event)
    }
}

//! The [`Store`](super::store::Store) in memory, for host tests of the use cases (`cargo test
//! --lib`). Its operations keep the promises of the Cloudflare bindings: the SQL of the sibling
//! modules (`users`, `attempts`, `sign_in`, `revocations`, `devices`, `two_factor`, `passkeys`,
//! `data_keys`, `emails`, `events`) is the specification of each one, and each is written here
//! over plain tables with the same guards, counts and outcomes.
//!
//! Every operation is atomic, as a D1 batch is: it borrows the state once and applies whole. Before
//! it applies it yields once to the executor, so use-case futures run together (`join!`,
//! `join_all`) interleave at every storage call, as concurrent requests do against D1: races are
//! testable on the host.
//!
//! KV records honour their expiry by the store's clock ([`MemoryStore::set_now`]). The per-address
//! rate limits count per fixed window of their period, with the limits of `wrangler.toml`
//! ([`MemoryStore::reset_rate_limits`] and [`MemoryStore::set_rate_count`] for tests).

mod accounts;
mod device_bound;
mod factors;
mod limits;
mod mail;
mod records;
mod runs;
mod sign_in;
mod tables;
mod upkeep;

use std::cell::RefCell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

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
use super::store::{Accounts, Assets, Breaches, DeviceBound, Factors, Mail, OutgoingMail, Records, Upkeep};
use super::two_factor::{EnableTotp, Proof, Use};
use super::users::{ChangingSession, CheckAlso, Checked, Completion, NewPassword, NewUser, PasswordChange};
use super::{Error, Outcome};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::throttle::ThrottlePolicy;

pub use tables::{SentMail, State};

/// The in-memory store. Cloning shares the state (as cloning the bindings shares D1).
#[derive(Clone, Default)]
pub struct MemoryStore(Rc<RefCell<State>>);

impl MemoryStore {
    pub fn new(now: u64) -> Self {
        let store = Self::default();
        store.set_now(now);
        store
    }

    /// The clock KV expiry and rate-limit windows are read by (D1 statements take `now` as a value).
    pub fn set_now(&self, now: u64) {
        self.0.borrow_mut().now = now;
    }

    /// A look at the tables (never a change): for tests that check what storage holds.
    pub fn look<T>(&self, read: impl FnOnce(&State) -> T) -> T {
        read(&self.0.borrow())
    }

    /// Plants state a use case cannot make (an operator's change, such as retiring a data key).
    pub fn plant(&self, change: impl FnOnce(&mut State)) {
        change(&mut self.0.borrow_mut());
    }

    /// Forgets every per-address count (a new window everywhere).
    pub fn reset_rate_limits(&self) {
        self.0.borrow_mut().rate.clear();
    }

    /// Sets the count of `binding` for `address` in the current window.
    pub fn set_rate_count(&self, binding: &str, address: &str, count: u32) {
        let mut state = self.0.borrow_mut();
        let key = state.rate_key(binding, address);
        state.rate.insert(key, count);
    }

    /// Yields once, then applies `operation` to the state in one borrow.
    async fn apply<T>(&self, operation: impl FnOnce(&mut State) -> T) -> Result<T, Error> {
        YieldOnce(false).await;
        Ok(operation(&mut self.0.borrow_mut()))
    }
}

/// Lets every other future run once: for tests that start a request a few storage calls later.
pub async fn yield_now() {
    YieldOnce(false).await;
}

/// A future that is pending once (waking itself at once), then ready: the point where another
/// request's storage call may come first.
struct YieldOnce(bool);

impl Future for YieldOnce {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.0 {
            return Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

impl Records for MemoryStore {
    async fn session(&self, id: &SessionId) -> Result<Option<SessionRecord>, Error> {
        self.apply(|s| s.session(id)).await
    }

    async fn put_session(&self, id: &SessionId, record: &SessionRecord, idle: u64, now: u64) -> Result<(), Error> {
        self.apply(|s| s.put_session(id, record, idle, now)).await?
    }

    async fn delete_session(&self, user_id: &UserId, id: &SessionId) -> Result<(), Error> {
        self.apply(|s| s.delete_session(user_id, id)).await
    }

    async fn list_sessions(&self, user_id: &UserId) -> Result<Vec<ListedSession>, Error> {
        self.apply(|s| s.list_sessions(user_id)).await
    }

    async fn put_pending(&self, id: &SessionId, pending: &PendingSignIn, ttl: u64) -> Result<(), Error> {
        self.apply(|s| s.put_pending(id, pending, ttl)).await?
    }

    async fn pending(&self, id: &SessionId) -> Result<Option<PendingSignIn>, Error> {
        self.apply(|s| s.pending(id)).await
    }

    async fn delete_pending(&self, id: &SessionId) -> Result<(), Error> {
        self.apply(|s| s.delete_pending(id)).await
    }

    async fn put_challenge(&self, challenge: &str, issued: &IssuedChallenge, ttl: u64) -> Result<(), Error> {
        self.apply(|s| s.put_challenge(challenge, issued, ttl)).await?
    }

    async fn challenge(&self, challenge: &str) -> Result<Option<IssuedChallenge>, Error> {
        self.apply(|s| s.challenge(challenge)).await
    }

    async fn forget_challenge(&self, challenge: &str) -> Result<(), Error> {
        self.apply(|s| s.forget_challenge(challenge)).await
    }
}

impl Accounts for MemoryStore {
    async fn check_session(&self, user_id: &UserId, session_id: &SessionId, also: CheckAlso) -> Result<Checked, Error> {
        self.apply(|s| s.check_session(user_id, session_id, also)).await
    }

    async fn revoked_session_ids(&self, user_id: &UserId) -> Result<Vec<SessionId>, Error> {
        self.apply(|s| s.revoked_ids(user_id)).await
    }

    async fn create_user(&self, user: &NewUser<'_>, origin: &Origin, trust: &Trust) -> Result<Outcome, Error> {
        self.apply(|s| s.create_user(user, origin, trust)).await
    }

    async fn upgrade_outdated_hash(&self, user_id: &UserId, old_hash: &str, new_hash: &str) -> Result<(), Error> {
        self.apply(|s| s.upgrade_hash(user_id, old_hash, new_hash)).await
    }

    async fn complete_sign_in(&self, completion: &Completion<'_>) -> Result<Outcome, Error> {
        self.apply(|s| s.complete_sign_in(completion)).await
    }

    async fn change_password(
        &self,
        change: &NewPassword<'_>,
        session: &ChangingSession<'_>,
        event: &NewEvent<'_>,
        budget: &Budget,
    ) -> Result<PasswordChange, Error> {
        self.apply(|s| s.change_password(change, session, event, budget)).await
    }

    async fn end_session(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: Option<&NewEvent<'_>>,
    ) -> Result<(), Error> {
        self.apply(|s| s.end_session(session_id, user_id, expires_at, event)).await
    }

    async fn end_successors(
        &self,
        session_id: &SessionId,
        user_id: &UserId,
        expires_at: u64,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.end_successors(session_id, user_id, expires_at, event)).await
    }

    async fn hand_over(&self, handover: &Handover<'_>, run_ended: Option<&Budget>) -> Result<Outcome, Error> {
        self.apply(|s| s.hand_over(handover, run_ended)).await
    }

    async fn end_all_sessions(
        &self,
        from: u64,
        handover: &Handover<'_>,
        event: &NewEvent<'_>,
        keep_device: Option<&str>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.end_all_sessions(from, handover, event, keep_device)).await
    }

    async fn reserve(
        &self,
        budget: &Budget,
        condition: Condition<'_>,
        policy: ThrottlePolicy,
        now: u64,
    ) -> Result<Reservation, Error> {
        let Condition::UserId(user_id) = condition;
        self.apply(|s| s.reserve_if(s.user_exists(user_id), budget, user_id, policy, now)).await
    }

    async fn hand_back(&self, user_id: &str, budget: &Budget, now: u64) -> Result<(), Error> {
        self.apply(|s| s.refund(user_id, budget, now)).await
    }

    async fn record_failure(&self, failed: &NewEvent<'_>, locked: Option<&NewEvent<'_>>) -> Result<(), Error> {
        self.apply(|s| s.record_failure(failed, locked)).await
    }

    async fn reserve_first_step(&self, step: &FirstStep<'_>) -> Result<FirstStepReserved, Error> {
        self.apply(|s| s.reserve_first_step(step)).await
    }

    async fn reserve_second_step(
        &self,
        step: &SecondStep<'_>,
        read: SecondStepRead<'_>,
    ) -> Result<SecondStepReserved, Error> {
        self.apply(|s| s.reserve_second_step(step, read)).await
    }

    async fn hold_address(&self, address: &str, until: u64) -> Result<(), Error> {
        self.apply(|s| s.hold_address(address, until)).await
    }

    async fn count_sign_in_failure(&self, address: &str) -> Result<bool, Error> {
        self.apply(|s| !s.rate_limit("SIGN_IN_FAILURES", address)).await
    }

    async fn admits(&self, limit: PerAddress, address: &str) -> Result<bool, Error> {
        self.apply(|s| s.rate_limit(limit.binding(), address)).await
    }

    async fn record_event(&self, event: &NewEvent<'_>) -> Result<(), Error> {
        self.apply(|s| s.record_event(event)).await
    }

    async fn recent_events(&self, user_id: &UserId, limit: u32) -> Result<Vec<EventRow>, Error> {
        self.apply(|s| s.recent_events(user_id, limit)).await
    }

    async fn trusted_devices(&self, user_id: &UserId, own: Option<&str>) -> Result<Vec<Value>, Error> {
        self.apply(|s| s.trusted_devices(user_id, own)).await
    }

    async fn unused_devices(&self, user_id: &UserId, before: u64) -> Result<u32, Error> {
        self.apply(|s| s.unused_devices(user_id, before)).await
    }

    async fn sign_ins(&self, user_id: &UserId, since: u64) -> Result<Vec<SignInRow>, Error> {
        self.apply(|s| s.sign_ins(user_id, since)).await
    }

    async fn review_sign_in(&self, user_id: &UserId, sign_in: &str) -> Result<Outcome, Error> {
        let marker = format!("\"sign_in\":\"{sign_in}\"");
        self.apply(|s| {
            let mut outcome = Outcome::LostRace;
            let of = |e: &&mut tables::Event| {
                e.user_id == user_id.as_ref() && e.kind == "sign_in" && e.detail.contains(&marker)
            };
            for event in s.events.iter_mut().filter(of) {
                let mut detail: Value = serde_json::from_str(&event.detail).unwrap_or_default();
                detail["reviewed"] = Value::Bool(true);
                event.detail = detail.to_string();
                outcome = Outcome::Applied;
            }
            outcome
        })
        .await
    }

    async fn forget_device(&self, user_id: &UserId, device_id: &str, event: &NewEvent<'_>) -> Result<Outcome, Error> {
        self.apply(|s| s.forget_device(user_id, device_id, event)).await
    }
}

impl Factors for MemoryStore {
    async fn codes_under_other_keys(&self, user_id: &UserId, key_id: &str) -> Result<u32, Error> {
        self.apply(|s| s.codes_under_other_keys(user_id, key_id)).await
    }

    async fn start_totp_setup(&self, user_id: &UserId, pending_secret: &str) -> Result<Outcome, Error> {
        self.apply(|s| s.start_totp_setup(user_id, pending_secret)).await
    }

    async fn use_proof(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        using: &Use<'_>,
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.use_proof(user_id, proof, using, origin, now)).await
    }

    async fn enable_totp(&self, enabling: &EnableTotp<'_>) -> Result<Outcome, Error> {
        self.apply(|s| s.enable_totp(enabling)).await
    }

    async fn regenerate_codes(
        &self,
        user_id: &UserId,
        hashes: &[String],
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.regenerate_codes(user_id, hashes, origin, now)).await
    }

    async fn disable_totp(
        &self,
        user_id: &UserId,
        proof: &Proof<'_>,
        budget: &Budget,
        origin: &Origin,
        now: u64,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.disable_totp(user_id, proof, budget, origin, now)).await
    }

    async fn passkeys(&self, user_id: &UserId, _near: bool) -> Result<Vec<PasskeyRow>, Error> {
        self.apply(|s| s.passkeys_of(user_id)).await
    }

    async fn passkey(&self, user_id: &UserId, credential_id: &str) -> Result<Option<PasskeyRow>, Error> {
        self.apply(|s| s.passkey_row(credential_id, Some(user_id))).await
    }

    async fn add_passkey(
        &self,
        new: &NewPasskey<'_>,
        spend: &Spend<'_>,
        event: &NewEvent<'_>,
    ) -> Result<Adding, Error> {
        self.apply(|s| s.add_passkey(new, spend, event)).await
    }

    async fn rename_passkey(
        &self,
        user_id: &UserId,
        credential_id: &str,
        name: &str,
    ) -> Result<Option<PasskeyRow>, Error> {
        self.apply(|s| s.rename_passkey(user_id, credential_id, name)).await
    }

    async fn remove_passkey(
        &self,
        user_id: &UserId,
        credential_id: &str,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.remove_passkey(user_id, credential_id, event)).await
    }

    async fn reserve_for_session(&self, asking: &SessionAssertion<'_>) -> Result<SessionAssertionReserved, Error> {
        self.apply(|s| s.reserve_for_session(asking)).await
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
        self.apply(|s| s.record_passkey_use(used, spend, (budget, generations), events, trust)).await
    }
}

impl Upkeep for MemoryStore {
    async fn data_keys(&self) -> Result<Vec<DataKeyRow>, Error> {
        self.apply(|s| s.all_data_keys()).await
    }

    async fn create_data_keys(&self, rows: &[DataKeyRow], now: u64) -> Result<(), Error> {
        self.apply(|s| s.create_data_keys(rows, now)).await
    }

    async fn rewrap_data_key(&self, rewrapped: &Rewrapped) -> Result<Outcome, Error> {
        self.apply(|s| s.rewrap_data_key(rewrapped)).await
    }

    async fn reencrypt(&self, secrets: &[Reencrypted]) -> Result<usize, Error> {
        self.apply(|s| s.reencrypt(secrets)).await
    }

    async fn outdated_secrets(&self, from: &[String], limit: u64) -> Result<Vec<OutdatedSecrets>, Error> {
        self.apply(|s| s.outdated_secrets(from, limit)).await
    }

    async fn key_dependents(&self, kids: &[String]) -> Result<Dependents, Error> {
        self.apply(|s| s.key_dependents(kids)).await
    }

    async fn delete_unused_retired_keys(&self, retired_before: u64) -> Result<(), Error> {
        self.apply(|s| s.delete_unused_retired_keys(retired_before)).await
    }

    async fn non_ascii_emails(&self, after_id: &str, limit: u64) -> Result<Vec<StoredEmail>, Error> {
        self.apply(|s| s.non_ascii_emails(after_id, limit)).await
    }

    async fn rewrite_emails(&self, rewrites: &[Rewrite<'_>]) -> Result<Vec<String>, Error> {
        self.apply(|s| s.rewrite_emails(rewrites)).await
    }

    async fn prune(&self, now: u64) -> Result<(), Error> {
        self.apply(|s| s.prune(now)).await
    }
}

/// The text of the worker's static asset, as the `ASSETS` binding serves it.
const COMMON_PASSWORDS: &str = include_str!("../../public/data/common-passwords.txt");

impl Assets for MemoryStore {
    async fn common_passwords(&self) -> Result<String, Error> {
        self.apply(|_| COMMON_PASSWORDS.to_string()).await
    }
}

impl DeviceBound for MemoryStore {
    async fn bind_session(
        &self,
        new: &NewBinding<'_>,
        spend: &Spend<'_>,
        event: &NewEvent<'_>,
    ) -> Result<Binding, Error> {
        self.apply(|s| s.bind_session(new, spend, event)).await
    }

    async fn session_binding(&self, session_id: &SessionId) -> Result<Option<BindingRow>, Error> {
        self.apply(|s| s.bindings.get(&session_id.to_string()).cloned()).await
    }

    async fn refresh_binding(&self, session_id: &SessionId, spend: &Spend<'_>, now: u64) -> Result<bool, Error> {
        self.apply(|s| s.refresh_binding(session_id, spend, now)).await
    }
}

impl Breaches for MemoryStore {
    async fn breach_range(&self, _base: &str, prefix: &str) -> Result<Option<String>, Error> {
        self.apply(|s| match s.breach_service_down {
            true => None,
            false => Some(s.breach_ranges.get(prefix).cloned().unwrap_or_default()),
        })
        .await
    }

    async fn flag_breached_password(
        &self,
        user_id: &UserId,
        password_generation: u64,
        times: u64,
        event: &NewEvent<'_>,
    ) -> Result<(), Error> {
        self.apply(|s| {
            let Some(user) = s.user_mut(user_id) else { return };
            if user.password_generation != password_generation || user.password_breached_count.is_some() {
                return;
            }
            user.password_breached_count = Some(times);
            s.record_if(true, event);
        })
        .await
    }
}

impl Mail for MemoryStore {
    async fn queue_alerts(&self, alert_ids: &[String]) -> Result<(), Error> {
        self.apply(|s| s.queued_alerts.extend(alert_ids.iter().cloned())).await
    }

    /// The memory store notes no alerts: tests deliver every pending one (`tests::email`).
    async fn queue_noted_alerts(&self) -> Result<(), Error> {
        Ok(())
    }

    async fn claim_alert(&self, alert_id: &str, now: u64) -> Result<Option<ClaimedAlert>, Error> {
        self.apply(|s| s.claim_alert(alert_id, now)).await
    }

    async fn settle_alert(&self, alert_id: &str, state: AlertState, event: Option<&NewEvent<'_>>) -> Result<(), Error> {
        self.apply(|s| s.settle_alert(alert_id, state, event)).await
    }

    async fn release_alert(&self, alert_id: &str) -> Result<(), Error> {
        self.apply(|s| s.release_alert(alert_id)).await
    }

    async fn unsent_alerts(&self, before: u64, limit: u64) -> Result<Vec<String>, Error> {
        self.apply(|s| s.unsent_alerts(before, limit)).await
    }

    async fn send_mail(&self, mail: &OutgoingMail<'_>) -> Result<(), Error> {
        self.apply(|s| s.send_mail(mail)).await?.map_err(Error::Send)
    }

    async fn create_token(&self, token: &NewToken<'_>) -> Result<(), Error> {
        self.apply(|s| s.create_token(token)).await
    }

    async fn token(&self, hash: &str, purpose: Purpose, now: u64) -> Result<Option<TokenRow>, Error> {
        self.apply(|s| s.token(hash, purpose, now)).await
    }

    async fn verify_email(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.verify_email(spend, user_id, event)).await
    }

    async fn change_email(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        to: &str,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.change_email(spend, user_id, to, event)).await
    }

    async fn report_not_me(
        &self,
        spend: &TokenSpend<'_>,
        user_id: &UserId,
        event: &NewEvent<'_>,
        reset: &NewToken<'_>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.report_not_me(spend, user_id, event, reset)).await
    }

    async fn reset_password(
        &self,
        spend: &TokenSpend<'_>,
        reset: &Reset<'_>,
        event: &NewEvent<'_>,
    ) -> Result<Outcome, Error> {
        self.apply(|s| s.reset_password(spend, reset, event)).await
    }

    async fn request_reset(
        &self,
        lookup: (&str, &str),
        origin: &Origin,
        now: u64,
        _alert_id: &str,
    ) -> Result<(), Error> {
        self.apply(|s| s.request_reset(lookup, origin, now)).await
    }

    async fn request_verification(&self, event: &NewEvent<'_>, unverified: bool) -> Result<Outcome, Error> {
        self.apply(|s| s.request_verification(event, unverified)).await
    }

    async fn email_taken(&self, lookup: (&str, &str)) -> Result<bool, Error> {
        self.apply(|s| s.by_email(lookup.0, lookup.1).is_some()).await
    }

    async fn set_alerts(&self, user_id: &UserId, on: bool, event: &NewEvent<'_>) -> Result<(), Error> {
        self.apply(|s| s.set_alerts(user_id, on, event)).await
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::future::join;

    use super::*;
    use crate::storage::passkeys::Purpose;

    fn issued() -> IssuedChallenge {
        IssuedChallenge { purpose: Purpose::SignIn, bound_to: String::new(), user_id: String::new() }
    }

    #[test]
    fn calls_of_joined_futures_interleave_at_every_storage_call() {
        let store = MemoryStore::new(1_000);
        let writes_then_reads = |mine: &'static str, theirs: &'static str| {
            let store = store.clone();
            async move {
                store.put_challenge(mine, &issued(), 300).await.unwrap();
                store.challenge(theirs).await.unwrap().is_some()
            }
        };
        let (a, b) = block_on(join(writes_then_reads("a", "b"), writes_then_reads("b", "a")));
        assert!(a && b, "each read comes after both writes");
    }

    #[test]
    fn kv_records_expire_by_the_stores_clock_and_live_at_least_a_minute() {
        let store = MemoryStore::new(1_000);
        block_on(store.put_challenge("c", &issued(), 10)).unwrap();
        store.set_now(1_059);
        assert!(block_on(store.challenge("c")).unwrap().is_some());
        store.set_now(1_060);
        assert!(block_on(store.challenge("c")).unwrap().is_none());
    }

    #[test]
    fn rate_limits_count_per_address_in_windows_of_their_period() {
        let store = MemoryStore::new(6_000);
        let admits = |address| block_on(store.admits(PerAddress::SignUps, address)).unwrap();
        assert!((0..10).all(|_| admits("a")));
        assert!(!admits("a"));
        assert!(admits("b"), "another address has its own count");
        store.set_now(6_060);
        assert!(admits("a"), "a new window");
        store.set_rate_count("SIGN_IN_FAILURES", "a", 20);
        assert!(block_on(store.count_sign_in_failure("a")).unwrap(), "the 21st failure is over the limit");
        store.reset_rate_limits();
        assert!(!block_on(store.count_sign_in_failure("a")).unwrap());
    }
}

//! One sign-in ceremony for every factor (SPEC §5.7, §5.8). A password, a TOTP code, a recovery
//! code and a passkey assertion all go the same way: *reserve* (storage finds the account and
//! counts the attempt in the run the rules choose, before the secret is checked), *check* (the
//! factor's own code), then either *fail* or go on: wait for a second factor, or *complete*.
//! The rules live here once:
//!
//! - the run: a trusted device of the named account counts in its own run, and only for that
//!   account; everyone else counts in the account's strangers' run (passkey assertions in a run
//!   of their own), or in an unknown identifier's run — so answers never tell who has an account;
//! - the client address: failures count across accounts (Rate Limiting binding); once over the
//!   limit the address is held in D1, and a held request counts nothing and is answered 429 with
//!   the hold's time, whatever e-mail it names; only a trusted device of the named account is
//!   exempt;
//! - a pending sign-in ([`Pending`]) owns its expiry, its generations and its failures;
//! - only a completed sign-in ends a run (in the storage write that completes it).

use serde_json::Value;

use super::attempts::{Attempt, Refused};
use super::devices::{self, KnownDevice};
use super::error::Unexpected;
use crate::app::Cx;
use crate::domain::ids::{SessionId, UserId};
use crate::domain::secrets::Keyring;
use crate::domain::tokens;
use crate::storage::attempts::{Budget, Generations};
use crate::storage::passkeys::{PasskeyRow, Spend};
use crate::storage::sessions::{PendingReset, PendingSignIn};
use crate::storage::sign_in::{self as store, FirstStep, FirstStepReserved, Identifier, SecondStep};
use crate::storage::sign_in::{SecondStepRead, SecondStepReserved};
use crate::storage::{ip_limits, users::UserRow, Store};

/// Who is signing in, as far as the rules care: the address it is counted under and the device
/// its `__Host-device` cookie names (if the signature holds).
pub struct Client {
    address: String,
    device: Option<KnownDevice>,
}

impl Client {
    /// `device_cookie`: the request's `__Host-device` value, checked with `keys`.
    pub fn new<S>(cx: &Cx<S>, device_cookie: Option<&str>, keys: &Keyring) -> Self {
        let device = device_cookie.and_then(|c| devices::parse(c, keys));
        Self { address: cx.facts.address_key.clone(), device }
    }

    pub fn device(&self) -> Option<&KnownDevice> {
        self.device.as_ref()
    }

    fn storage(&self) -> store::Client<'_> {
        store::Client {
            address: &self.address,
            device: self.device.as_ref().map(|d| (d.user_id.as_str(), d.device_id.as_str())),
        }
    }
}

/// A first step, reserved: the attempt to end, and what the transaction found.
pub struct Reserved {
    pub attempt: Attempt,
    /// `None` when no account has the identifier (the step then fails like a wrong secret).
    pub user: Option<UserRow>,
    pub passkey: Option<PasskeyRow>,
    pub spent: bool,
}

/// Reserves a first step for `identifier`; a held address, a locked run or a stale state is
/// the refusal (429 or 401), with nothing counted.
pub async fn reserve_first<S, E>(
    cx: &Cx<S>,
    client: &Client,
    identifier: Identifier<'_>,
    spend: Option<&Spend<'_>>,
) -> Result<Reserved, E>
where
    S: Store,
    E: From<Refused> + From<Unexpected>,
{
    let hash = tokens::id_of(identifier.value());
    let step = FirstStep {
        identifier,
        identifier_hash: &hash,
        client: client.storage(),
        spend,
        policy: cx.config().throttle,
        now: cx.now(),
    };
    let reserved = cx.store.reserve_first_step(&step).await.map_err(Unexpected::from)?;
    let FirstStepReserved { user, passkey, budget, reservation, spent } = reserved;
    let user_id = user.as_ref().map_or("", |u| &*u.id);
    let attempt = Attempt::from_reservation(cx.now(), user_id, budget, reservation)?;
    Ok(Reserved { attempt, user, passkey, spent })
}

/// Wrong second factors after which a pending sign-in ends and the password is asked again.
const MAX_PENDING_FAILURES: u32 = 5;

/// A sign-in whose first factor was right, waiting for its second (`__Host-pending`, KV). It
/// lives [`crate::config::Config::pending_sign_in_seconds`], counts in the run its first step
/// chose, completes only under the generations its first step verified, and ends after
/// [`MAX_PENDING_FAILURES`] wrong second factors.
pub struct Pending {
    id: SessionId,
    record: PendingSignIn,
}

/// The `__Host-pending` token of a new pending sign-in, and how long it lives.
pub struct PendingToken {
    pub token: String,
    pub ttl: u64,
}

impl Pending {
    /// Starts one for `user`, whose first factor counted in `budget`.
    pub async fn start<S: Store>(cx: &Cx<S>, user: &UserRow, budget: Budget) -> Result<PendingToken, Unexpected> {
        let token = super::error::new_token("a pending sign-in")?;
        let record = PendingSignIn {
            user_id: user.id.clone(),
            created_at: cx.now(),
            failures: 0,
            budget,
            generations: user.generations(),
            reset: None,
        };
        let ttl = cx.config().pending_sign_in_seconds;
        cx.store.put_pending(&tokens::id_of(&token), &record, ttl).await?;
        Ok(PendingToken { token, ttl })
    }

    /// Starts one that completes a password reset (`reset`) once a second factor of the account
    /// is given, counted in the account's strangers' run like a sign-in's.
    pub async fn start_reset<S: Store>(
        cx: &Cx<S>,
        user_id: &UserId,
        generations: Generations,
        reset: PendingReset,
    ) -> Result<PendingToken, Unexpected> {
        let token = super::error::new_token("a pending reset")?;
        let record = PendingSignIn {
            user_id: user_id.clone(),
            created_at: cx.now(),
            failures: 0,
            budget: Budget::Strangers,
            generations,
            reset: Some(reset),
        };
        let ttl = cx.config().pending_sign_in_seconds;
        cx.store.put_pending(&tokens::id_of(&token), &record, ttl).await?;
        Ok(PendingToken { token, ttl })
    }

    /// The password reset this second step completes, if it is one.
    pub fn reset(&self) -> Option<&PendingReset> {
        self.record.reset.as_ref()
    }

    /// The pending sign-in `token` names, while it lasts (signed out otherwise).
    pub async fn open<S, E>(cx: &Cx<S>, token: &str) -> Result<Self, E>
    where
        S: Store,
        E: From<Refused> + From<Unexpected>,
    {
        let id = tokens::id_of(token);
        let record = cx.store.pending(&id).await.map_err(Unexpected::from)?.ok_or(Refused::SignedOut)?;
        let pending = Self { id, record };
        if cx.now() >= pending.ends_at(cx) {
            pending.end(cx).await?;
            return Err(Refused::SignedOut.into());
        }
        Ok(pending)
    }

    fn ends_at<S>(&self, cx: &Cx<S>) -> u64 {
        self.record.created_at + cx.config().pending_sign_in_seconds
    }

    pub fn id(&self) -> &SessionId {
        &self.id
    }

    pub fn user_id(&self) -> &UserId {
        &self.record.user_id
    }

    pub fn generations(&self) -> Generations {
        self.record.generations
    }

    pub async fn end<S: Store>(&self, cx: &Cx<S>) -> Result<(), Unexpected> {
        Ok(cx.store.delete_pending(&self.id).await?)
    }

    /// One more wrong second factor: kept for another try, or ended at the last.
    async fn failed<S: Store>(&mut self, cx: &Cx<S>) -> Result<(), Unexpected> {
        self.record.failures += 1;
        if self.record.failures >= MAX_PENDING_FAILURES {
            return self.end(cx).await;
        }
        let ttl = self.ends_at(cx).saturating_sub(cx.now());
        Ok(cx.store.put_pending(&self.id, &self.record, ttl).await?)
    }
}

/// Reserves a second step of `pending`, with what `read` asks for; a stale sign-in (the
/// password changed, every session was ended, the account is gone) ends it (401).
pub async fn reserve_second<S, E>(
    cx: &Cx<S>,
    client: &Client,
    pending: &Pending,
    read: SecondStepRead<'_>,
) -> Result<(Attempt, SecondStepReserved), E>
where
    S: Store,
    E: From<Refused> + From<Unexpected>,
{
    let step = SecondStep {
        user_id: &pending.record.user_id,
        budget: &pending.record.budget,
        generations: pending.record.generations,
        address: &client.address,
        policy: cx.config().throttle,
        now: cx.now(),
    };
    let reserved = cx.store.reserve_second_step(&step, read).await.map_err(Unexpected::from)?;
    let budget = pending.record.budget.clone();
    match Attempt::from_reservation(cx.now(), &pending.record.user_id, budget, reserved.reservation) {
        Err(Refused::SignedOut) => {
            pending.end(cx).await?;
            Err(Refused::SignedOut.into())
        }
        attempt => Ok((attempt?, reserved)),
    }
}

/// The step's secret was wrong (or named no account): counts the failure against the client's
/// address (unless a trusted device of the account asked), against the pending sign-in, and
/// records it after the answer. Answers `wrong`, or the refusal of a run this failure locked or
/// of an address it put over its limit.
pub async fn failed<S, E>(
    cx: &Cx<S>,
    client: &Client,
    attempt: Attempt,
    pending: Option<&mut Pending>,
    detail: Value,
    wrong: E,
) -> Result<E, Unexpected>
where
    S: Store,
    E: From<Refused>,
{
    let address_over = !attempt.budget().is_device() && address_failed(cx, client).await?;
    if let Some(pending) = pending {
        pending.failed(cx).await?;
    }
    let answer = attempt.failed_after_answer(cx, detail, wrong);
    Ok(match address_over {
        true => Refused::RateLimited { retry_after: ip_limits::PERIOD_SECONDS }.into(),
        false => answer,
    })
}

/// Counts a failed sign-in of the client's address; `true` when that put it over its limit
/// (it is then held for the limit's period).
async fn address_failed<S: Store>(cx: &Cx<S>, client: &Client) -> Result<bool, Unexpected> {
    if !cx.store.count_sign_in_failure(&client.address).await? {
        return Ok(false);
    }
    cx.store.hold_address(&client.address, cx.now() + ip_limits::PERIOD_SECONDS).await?;
    Ok(true)
}

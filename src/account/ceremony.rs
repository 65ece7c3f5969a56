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
//!   the hold's time, whatever e-mail it names; only a device of the named account is exempt;
//! - a pending sign-in ([`Pending`]) owns its expiry, its generations and its failures;
//! - only a completed sign-in ends a run (in the storage write that completes it).

use serde_json::Value;

use super::attempts::Attempt;
use super::devices::{self, KnownDevice};
use crate::app::App;
use crate::domain::ids::SessionId;
use crate::domain::secrets::Keyring;
use crate::domain::tokens;
use crate::http::{cookies, ApiError};
use crate::storage::attempts::{Budget, Generations};
use crate::storage::passkeys::Spend;
use crate::storage::sessions::{self, PendingSignIn};
use crate::storage::sign_in::{self as store, FirstStep, FirstStepReserved, Identifier, SecondStep};
use crate::storage::sign_in::{SecondStepRead, SecondStepReserved};
use crate::storage::{ip_limits, users::UserRow};

/// Who is signing in, as far as the rules care: the address it is counted under and the device
/// its `__Host-device` cookie names (if the signature holds).
pub struct Client {
    address: String,
    device: Option<KnownDevice>,
}

impl Client {
    /// `device_cookie`: the request's `__Host-device` value, checked with `keys`.
    pub fn new(app: &App, device_cookie: Option<&str>, keys: &Keyring) -> Self {
        Self { address: app.address_key.clone(), device: device_cookie.and_then(|c| devices::parse(c, keys)) }
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
    pub passkey: Option<crate::storage::passkeys::PasskeyRow>,
    pub spent: bool,
}

/// Reserves a first step for `identifier`; a held address, a locked run or a stale state is
/// the answer (429 or 401), with nothing counted.
pub async fn reserve_first(
    app: &App,
    client: &Client,
    identifier: Identifier<'_>,
    spend: Option<&Spend<'_>>,
) -> Result<Reserved, ApiError> {
    let hash = tokens::id_of(identifier.value());
    let step = FirstStep {
        identifier,
        identifier_hash: &hash,
        client: client.storage(),
        spend,
        policy: app.config.throttle,
        now: app.now,
    };
    let FirstStepReserved { user, passkey, budget, reservation, spent } =
        store::reserve_first_step(&app.db()?, &step).await?;
    let user_id = user.as_ref().map_or("", |u| &*u.id);
    let attempt = Attempt::from_reservation(app, user_id, budget, reservation)?;
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

impl Pending {
    /// Starts one for `user`, whose first factor counted in `budget`; answers the cookie.
    pub async fn start(app: &App, user: &UserRow, budget: Budget) -> Result<String, ApiError> {
        let token = tokens::new_token().map_err(|error| ApiError::internal("a pending token", error))?;
        let record = PendingSignIn {
            user_id: user.id.clone(),
            created_at: app.now,
            failures: 0,
            budget,
            generations: user.generations(),
        };
        let ttl = app.config.pending_sign_in_seconds;
        sessions::put_pending(&app.kv()?, &tokens::id_of(&token), &record, ttl).await?;
        Ok(cookies::set(cookies::PENDING, &token, ttl))
    }

    /// The pending sign-in `token` names, while it lasts (401 otherwise).
    pub async fn open(app: &App, token: &str) -> Result<Self, ApiError> {
        let id = tokens::id_of(token);
        let record = sessions::get_pending(&app.kv()?, &id).await?.ok_or(ApiError::Unauthenticated)?;
        let pending = Self { id, record };
        if app.now >= pending.ends_at(app) {
            pending.end(app).await?;
            return Err(ApiError::Unauthenticated);
        }
        Ok(pending)
    }

    fn ends_at(&self, app: &App) -> u64 {
        self.record.created_at + app.config.pending_sign_in_seconds
    }

    pub fn id(&self) -> &SessionId {
        &self.id
    }

    pub fn user_id(&self) -> &crate::domain::ids::UserId {
        &self.record.user_id
    }

    pub fn generations(&self) -> Generations {
        self.record.generations
    }

    pub async fn end(&self, app: &App) -> Result<(), ApiError> {
        Ok(sessions::delete_pending(&app.kv()?, &self.id).await?)
    }

    /// One more wrong second factor: kept for another try, or ended at the last.
    async fn failed(&mut self, app: &App) -> Result<(), ApiError> {
        self.record.failures += 1;
        if self.record.failures >= MAX_PENDING_FAILURES {
            return self.end(app).await;
        }
        let ttl = self.ends_at(app).saturating_sub(app.now);
        Ok(sessions::put_pending(&app.kv()?, &self.id, &self.record, ttl).await?)
    }
}

/// Reserves a second step of `pending`, with what `read` asks for; a stale sign-in (the
/// password changed, every session was ended, the account is gone) ends it (401).
pub async fn reserve_second(
    app: &App,
    client: &Client,
    pending: &Pending,
    read: SecondStepRead<'_>,
) -> Result<(Attempt, SecondStepReserved), ApiError> {
    let step = SecondStep {
        user_id: &pending.record.user_id,
        budget: &pending.record.budget,
        generations: pending.record.generations,
        address: &client.address,
        policy: app.config.throttle,
        now: app.now,
    };
    let reserved = store::reserve_second_step(&app.db()?, &step, read).await?;
    let budget = pending.record.budget.clone();
    match Attempt::from_reservation(app, &pending.record.user_id, budget, reserved.reservation) {
        Err(ApiError::Unauthenticated) => {
            pending.end(app).await?;
            Err(ApiError::Unauthenticated)
        }
        attempt => Ok((attempt?, reserved)),
    }
}

/// The step's secret was wrong (or named no account): counts the failure against the client's
/// address (unless a device of the account asked), against the pending sign-in, and records it
/// after the response. Answers `wrong`, or 429 when this failure locked the run or put the
/// address over its limit.
pub async fn failed(
    app: &App,
    client: &Client,
    attempt: Attempt,
    pending: Option<&mut Pending>,
    detail: Value,
    wrong: ApiError,
) -> Result<ApiError, ApiError> {
    let address_over = !attempt.budget().is_device() && address_failed(app, client).await?;
    if let Some(pending) = pending {
        pending.failed(app).await?;
    }
    let answer = attempt.failed_after_response(app, detail, wrong);
    Ok(match address_over {
        true => ApiError::RateLimited { retry_after: ip_limits::PERIOD_SECONDS },
        false => answer,
    })
}

/// Counts a failed sign-in of the client's address; `true` when that put it over its limit
/// (it is then held for the limit's period).
async fn address_failed(app: &App, client: &Client) -> Result<bool, ApiError> {
    if !ip_limits::count_failure(&app.env, &client.address).await? {
        return Ok(false);
    }
    store::hold_address(&app.db()?, &client.address, app.now + ip_limits::PERIOD_SECONDS).await?;
    Ok(true)
}

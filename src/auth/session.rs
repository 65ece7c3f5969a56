//! Who is asking: a session token resolved to a live session and its user. A session is live
//! only if KV has it, it is within its idle and absolute lifetime, D1 has not revoked its id, and
//! the user's `session_generation` is still the one it was authenticated under (SPEC §5.8): a
//! stale KV copy at some edge is therefore never enough, and a sign-in that raced "sign out
//! other sessions" or a password change holds a session of a past generation. A session bound to
//! a device key (DBSC, `account::device_bound`) also needs its short-lived cookie.

use std::cell::RefCell;

use futures_util::future::{join, join3};

use crate::account::{devices, unfamiliar};
use crate::app::{Cx, SessionCookie};
use crate::domain::dbsc::{self, Sealed};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::tokens;
use crate::storage::attempts::{Budget, Reservation};
use crate::storage::events::SignInRow;
use crate::storage::sessions::{ListedSession, SessionRecord};
use crate::storage::users::{AuthRow, CheckAlso, Checked, SessionAttempt};
use crate::storage::Store;

/// Why there is no current session.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No token, an unknown or ended session: the person is signed out.
    #[error("signed out")]
    SignedOut,
    /// A device-bound session's request without its short-lived cookie: refused, but the
    /// session goes on (the browser renews the cookie and asks again).
    #[error("a device-bound session without its device proof")]
    WithoutDeviceProof,
    #[error("the keys")]
    Keys(#[from] crate::account::keys::Error),
    #[error("checking the session")]
    Storage(#[from] crate::storage::Error),
}

/// An attempt the session check reserved for a route that checks a secret (see
/// [`WithCheck::reserve_attempt`]), until the use case claims it.
#[derive(Debug, Clone)]
pub struct ReservedAttempt {
    pub user_id: String,
    pub budget: Budget,
    pub reservation: Reservation,
}

pub struct CurrentSession {
    pub id: SessionId,
    pub record: SessionRecord,
    pub user: AuthRow,
    /// The user's sessions as KV listed them and the ids D1 has revoked, read at the same time as
    /// the session check, for routes that list sessions.
    pub others_read: Option<OthersRead>,
    /// What the page reads besides, in the same D1 round trip as the check.
    pub also_read: AlsoRead,
    /// The attempt at a secret reserved with the check, if the route asked for one.
    reserved_attempt: RefCell<Option<ReservedAttempt>>,
}

impl CurrentSession {
    /// The attempt reserved with the check for `budget`, once.
    pub fn claim_reserved_attempt(&self, budget: &Budget) -> Option<ReservedAttempt> {
        let mut slot = self.reserved_attempt.borrow_mut();
        slot.as_ref().is_some_and(|held| held.budget == *budget).then(|| slot.take()).flatten()
    }

    /// The reserved attempt nobody claimed (the request ended before its secret was checked).
    pub fn unclaimed_attempt(&self) -> Option<ReservedAttempt> {
        self.reserved_attempt.borrow_mut().take()
    }

    /// Within the sudo window (a sign-in or confirmation in the last minutes).
    pub fn in_sudo_window(&self, now: u64) -> bool {
        self.record.sudo_until > now
    }
}

pub struct OthersRead {
    pub listed: Vec<ListedSession>,
    pub revoked: Vec<SessionId>,
    /// The user's sessions bound to a device key (DBSC).
    pub bound: Vec<SessionId>,
}

/// Read with the check for the pages that show them (see [`WithCheck`]); `None` when not asked.
#[derive(Default)]
pub struct AlsoRead {
    /// The user's sign-ins a live session may have started with (their flags).
    pub sign_ins: Option<Vec<SignInRow>>,
    /// How many trusted devices were not used for `account::devices::UNUSED_SECONDS`.
    pub unused_devices: Option<u32>,
}

/// What a route reads or reserves in the same round trips as its session check.
#[derive(Debug, Clone, Copy, Default)]
pub struct WithCheck {
    /// The user's sessions (KV list) and the ids D1 has revoked.
    pub list_others: bool,
    /// An attempt of this session at a secret (password, code): the KV record is read first,
    /// then one D1 batch checks the session and reserves the attempt, only while the session is
    /// live.
    pub reserve_attempt: bool,
    /// The user's recent sign-ins, whose flags the session list and the checkup show.
    pub sign_in_flags: bool,
    /// The number of trusted devices not used for a while (the checkup).
    pub unused_devices: bool,
}

/// What a request shows of the device a bound session is bound to (DBSC).
#[derive(Debug, Clone, Copy)]
pub enum DeviceProof<'a> {
    /// The `__Host-bound` cookie, if the request has one.
    Cookie(Option<&'a str>),
    /// Not asked for: the request renews the short cookie (the DBSC refresh) or ends the session.
    NotNeeded,
}

/// What the three reads of a check found.
struct Read {
    record: Option<SessionRecord>,
    checked: Option<Checked>,
    listed: Option<Vec<ListedSession>>,
}

/// The session the `token` (the `__Host-session` cookie) names, checked, with what `with` asks
/// for. When the token names its user, the KV record and D1's verdict are read at the same time;
/// what was read for a session that turns out not to be live is dropped unanswered.
pub async fn current<S: Store>(
    cx: &Cx<S>,
    token: Option<&str>,
    proof: DeviceProof<'_>,
    with: WithCheck,
) -> Result<CurrentSession, Error> {
    let token = token.filter(|t| tokens::looks_like_session_cookie(t)).ok_or(Error::SignedOut)?;
    let id = tokens::id_of(token);
    let read = match tokens::user_named_by(token) {
        Some(user_id) if !with.reserve_attempt => read_at_once(cx, &id, UserId::new(user_id), with).await?,
        named => read_record_first(cx, &id, named, with).await?,
    };
    let Checked { user, revoked, bound, reservation, sign_ins, unused_devices } = read.checked.unwrap_or_default();
    let record = read.record.ok_or(Error::SignedOut)?;
    let user = user.filter(|user| live(cx, &record, user)).ok_or_else(|| {
        let (store, user_id, id) = (cx.store.clone(), record.user_id.clone(), id.clone());
        cx.effects.later("forgetting an ended session", async move { store.delete_session(&user_id, &id).await });
        Error::SignedOut
    })?;
    if !device_proof_holds(cx, &id, &user, proof)? {
        return Err(Error::WithoutDeviceProof);
    }
    let record = slide(cx, token, &id, record).await?;
    let reserved = reservation.map(|reservation| ReservedAttempt {
        user_id: record.user_id.to_string(),
        budget: Budget::Session(id.to_string()),
        reservation,
    });
    let others_read = read.listed.map(|listed| OthersRead { listed, revoked, bound });
    let also_read = AlsoRead { sign_ins, unused_devices };
    Ok(CurrentSession { id, record, user, others_read, also_read, reserved_attempt: RefCell::new(reserved) })
}

/// The KV record, D1's verdict and (if asked) the session list, all at once: the token names
/// its user.
async fn read_at_once<S: Store>(cx: &Cx<S>, id: &SessionId, user_id: UserId, with: WithCheck) -> Result<Read, Error> {
    let also = check_also(cx, with, None);
    let (record, checked, listed) =
        join3(cx.store.session(id), cx.store.check_session(&user_id, id, also), list_if(cx, with, &user_id)).await;
    let record = record?.filter(|r| r.user_id == user_id);
    Ok(Read { record, checked: Some(checked?), listed: listed? })
}

/// The KV record first (its generation and issue time guard the attempt D1 reserves), then D1's
/// verdict with the attempt, and the list.
async fn read_record_first<S: Store>(
    cx: &Cx<S>,
    id: &SessionId,
    named: Option<&str>,
    with: WithCheck,
) -> Result<Read, Error> {
    let record = cx.store.session(id).await?.filter(|r| named.is_none_or(|user_id| *r.user_id == *user_id));
    let Some(record) = record else { return Ok(Read { record: None, checked: None, listed: None }) };
    // An expired record is refused anyway: nothing to count for it.
    let live = cx.now() < record.ends_at(cx.config().session_idle_seconds);
    let attempt = (with.reserve_attempt && live).then_some(SessionAttempt {
        session_generation: record.generations.session,
        issued_at: record.issued_at,
        policy: cx.config().throttle,
        now: cx.now(),
    });
    let also = check_also(cx, with, attempt);
    let user_id = record.user_id.clone();
    let (checked, listed) = join(cx.store.check_session(&user_id, id, also), list_if(cx, with, &user_id)).await;
    Ok(Read { record: Some(record), checked: Some(checked?), listed: listed? })
}

fn check_also<S>(cx: &Cx<S>, with: WithCheck, attempt: Option<SessionAttempt>) -> CheckAlso {
    CheckAlso {
        revocations: with.list_others,
        attempt,
        sign_ins_since: with.sign_in_flags.then(|| unfamiliar::sign_ins_since(cx)),
        devices_unused_before: with.unused_devices.then(|| devices::unused_before(cx)),
    }
}

async fn list_if<S: Store>(cx: &Cx<S>, with: WithCheck, user_id: &UserId) -> Result<Option<Vec<ListedSession>>, Error> {
    match with.list_others {
        true => Ok(Some(cx.store.list_sessions(user_id).await?)),
        false => Ok(None),
    }
}

/// Whether D1 and the clock still let the session work.
fn live<S>(cx: &Cx<S>, record: &SessionRecord, user: &AuthRow) -> bool {
    cx.now() < record.ends_at(cx.config().session_idle_seconds)
        && user.session_revoked == 0
        && record.issued_at >= user.sessions_valid_after
        && record.generations.session == user.session_generation
}

/// Whether a bound session's request shows its short cookie, or comes within the grace after
/// the registration (requests that left the browser before the registration's answer set it).
/// An unbound session needs nothing.
fn device_proof_holds<S>(cx: &Cx<S>, id: &SessionId, user: &AuthRow, proof: DeviceProof<'_>) -> Result<bool, Error> {
    let (Some(bound_at), DeviceProof::Cookie(cookie)) = (user.bound_at, proof) else { return Ok(true) };
    // The grace never outlasts a short cookie.
    let grace = dbsc::REGISTRATION_GRACE_SECONDS.min(cx.config().bound_cookie_seconds);
    if cx.now() < bound_at + grace {
        return Ok(true);
    }
    let Some(cookie) = cookie else { return Ok(false) };
    let keys = crate::account::keys::root_keys(&cx.facts.secrets)?;
    Ok(dbsc::is_open(&keys, Sealed::Cookie, id, cookie, cx.now()))
}

/// Writes last activity back (at most once per `LAST_ACTIVE_WRITE_SECONDS`) and slides the
/// cookie's `Max-Age` with it (SPEC §3). Awaited, not after the answer: a handler that writes the
/// record next (confirm's sudo window) must not be overwritten by this older copy.
async fn slide<S: Store>(
    cx: &Cx<S>,
    token: &str,
    id: &SessionId,
    mut record: SessionRecord,
) -> Result<SessionRecord, Error> {
    if cx.now().saturating_sub(record.summary.last_active_at) < cx.config().last_active_write_seconds {
        return Ok(record);
    }
    record.summary.last_active_at = cx.now();
    let idle = cx.config().session_idle_seconds;
    cx.store.put_session(id, &record, idle, cx.now()).await?;
    let max_age = record.ends_at(idle).saturating_sub(cx.now());
    cx.effects.set_session_cookie(SessionCookie::Refresh { token: token.to_string(), max_age });
    Ok(record)
}

//! Accounts, the session check, revocations and their hand-overs, trusted devices and events
//! (`storage::users`, `revocations`, `devices`, `events`).

use serde_json::{json, Value};

use super::tables::{Account, Revoked, State};
use crate::domain::ids::{SessionId, UserId};
use crate::domain::unfamiliar::Flags;
use crate::storage::attempts::{Budget, Generations};
use crate::storage::devices::Trust;
use crate::storage::events::{EventRow, EventType, NewEvent, Origin, SignInRow};
use crate::storage::revocations::Handover;
use crate::storage::users::PasswordChange;
use crate::storage::users::{AuthRow, ChangingSession, CheckAlso, Checked, Completion, NewPassword, NewUser};
use crate::storage::Outcome;

impl State {
    /// `users::check_session`.
    pub(super) fn check_session(&mut self, user_id: &str, session_id: &str, also: CheckAlso) -> Checked {
        let user = self.auth_row(user_id, session_id);
        let (revoked, bound) = match also.revocations {
            true => (self.revoked_ids(user_id), self.bound_ids(user_id)),
            false => (Vec::new(), Vec::new()),
        };
        let reservation = also.attempt.map(|a| {
            let live = self.session_live(user_id, session_id, a.session_generation, a.issued_at);
            self.reserve_if(live, &Budget::Session(session_id.to_string()), user_id, a.policy, a.now)
        });
        let sign_ins = also.sign_ins_since.map(|since| self.sign_ins(user_id, since));
        let unused_devices = also.devices_unused_before.map(|before| self.unused_devices(user_id, before));
        Checked { user, revoked, bound, reservation, sign_ins, unused_devices }
    }

    /// `devices::unused`.
    pub(super) fn unused_devices(&self, user_id: &str, before: u64) -> u32 {
        self.devices.iter().filter(|((user, _), d)| user == user_id && d.last_used_at < before).count() as u32
    }

    /// `events::sign_ins`: those still to review.
    pub(super) fn sign_ins(&self, user_id: &str, since: u64) -> Vec<SignInRow> {
        let to_review = |detail: &str| serde_json::from_str(detail).is_ok_and(|d: Value| Flags::of(&d).to_review());
        let of = |e: &&super::tables::Event| {
            e.user_id == user_id && e.kind == "sign_in" && e.at >= since && to_review(&e.detail)
        };
        self.events.iter().filter(of).map(|e| SignInRow { detail: e.detail.clone() }).collect()
    }

    fn auth_row(&self, user_id: &str, session_id: &str) -> Option<AuthRow> {
        let u = self.user(user_id)?;
        let unused = self.codes.iter().filter(|c| c.user_id == user_id && c.used_at.is_none()).count();
        Some(AuthRow {
            id: UserId::new(u.id.clone()),
            email: u.email.clone(),
            name: u.name.clone(),
            password_hash: u.password_hash.clone(),
            password_changed_at: u.password_changed_at,
            totp_enabled_at: u.totp_enabled_at,
            sessions_valid_after: u.sessions_valid_after,
            session_revoked: u32::from(self.is_revoked(session_id)),
            recovery_codes_remaining: unused as u32,
            passkeys: self.passkeys.iter().filter(|p| p.user_id == user_id).count() as u32,
            totp_secret: u.totp_secret.clone(),
            totp_pending_secret: u.totp_pending_secret.clone(),
            totp_last_step: u.totp_last_step,
            session_generation: u.session_generation,
            password_generation: u.password_generation,
            email_verified: u32::from(u.email_verified_at.is_some()),
            new_sign_in_alerts: u32::from(u.new_sign_in_alerts),
            password_breached_count: u.password_breached_count,
            bound_at: self.bindings.get(session_id).map(|b| b.bound_at),
        })
    }

    /// `users::revoked_session_ids`.
    fn bound_ids(&self, user_id: &str) -> Vec<SessionId> {
        self.bindings.values().filter(|b| b.user_id == user_id).map(|b| SessionId::new(b.session_id.as_str())).collect()
    }

    pub(super) fn revoked_ids(&self, user_id: &str) -> Vec<SessionId> {
        self.revoked.iter().filter(|(_, r)| r.user_id == user_id).map(|(id, _)| SessionId::new(id.as_str())).collect()
    }

    /// `users::create`: unless the e-mail is taken in either form; the event and the trust only
    /// with the account.
    pub(super) fn create_user(&mut self, user: &NewUser<'_>, origin: &Origin, trust: &Trust) -> Outcome {
        if self.users.iter().any(|u| u.email == user.email || u.email == user.legacy_email) {
            return Outcome::LostRace;
        }
        self.users.push(Account {
            id: user.id.into(),
            email: user.email.into(),
            name: user.name.into(),
            password_hash: user.password_hash.into(),
            password_changed_at: user.now,
            new_sign_in_alerts: true,
            ..Account::default()
        });
        let created =
            NewEvent { user_id: user.id, kind: EventType::AccountCreated, at: user.now, origin, detail: json!({}) };
        self.record_if(true, &created);
        self.trust_if(true, trust);
        Outcome::Applied
    }

    /// `users::upgrade_outdated_hash`: only over the hash that was verified.
    pub(super) fn upgrade_hash(&mut self, user_id: &str, old_hash: &str, new_hash: &str) {
        if let Some(user) = self.user_mut(user_id).filter(|u| u.password_hash == old_hash) {
            user.password_hash = new_hash.into();
        }
    }

    /// `users::complete_sign_in`: everything under the generations verified, but the hash upgrade
    /// (guarded by the old hash alone, as its statement is).
    pub(super) fn complete_sign_in(&mut self, c: &Completion<'_>) -> Outcome {
        let current = self.is_current(c.user_id, c.generations);
        self.reset_run_if(current, c.user_id, c.budget);
        self.trust_if(current, c.trust);
        if let Some((old, new)) = c.upgrade {
            self.upgrade_hash(c.user_id, old, new);
        }
        self.record_if(current, c.event);
        if current {
            Outcome::Applied
        } else {
            Outcome::LostRace
        }
    }

    /// `users::change_password`.
    pub(super) fn change_password(
        &mut self,
        change: &NewPassword<'_>,
        session: &ChangingSession<'_>,
        event: &NewEvent<'_>,
        budget: &Budget,
    ) -> PasswordChange {
        let live = self.session_live(change.user_id, session.id, session.session_generation, session.issued_at);
        let generations = self.store_password(live, change);
        let changed = self.user(change.user_id).is_some_and(|u| u.password_hash == change.new_hash);
        self.record_if(changed, event);
        self.reset_run_if(changed, change.user_id, budget);
        self.end_trust_of_others_if(changed, change.user_id, change.keep_device);
        if let Some(handover) = &session.handover {
            self.hand_over_if(changed, handover);
        }
        let same_hash = self.user(change.user_id).map(|u| u.password_hash == change.old_hash);
        match (generations, same_hash) {
            (Some(generations), _) => PasswordChange::Applied(generations),
            (None, Some(true)) => PasswordChange::SessionEnded,
            (None, _) => PasswordChange::LostRace,
        }
    }

    /// The `UPDATE users` of a password change: over the old hash, while the session is live.
    fn store_password(&mut self, live: bool, change: &NewPassword<'_>) -> Option<Generations> {
        let user = self.user_mut(change.user_id).filter(|u| live && u.password_hash == change.old_hash)?;
        user.password_hash = change.new_hash.into();
        user.password_changed_at = change.now;
        (user.failed_attempts, user.locked_until) = (0, 0);
        user.password_generation += 1;
        user.password_breached_count = None;
        user.session_generation += u64::from(change.end_sessions);
        Some(Generations { password: user.password_generation, session: user.session_generation })
    }

    /// `revocations::revoke` (`ON CONFLICT DO NOTHING`); whether the row was inserted.
    fn revoke(&mut self, session_id: &str, user_id: &str, expires_at: u64, successor: Option<&str>) -> bool {
        if self.is_revoked(session_id) {
            return false;
        }
        let row = Revoked { user_id: user_id.into(), expires_at, successor: successor.map(str::to_string) };
        self.revoked.insert(session_id.to_string(), row);
        true
    }

    /// The chain `revocations::revoke_successors` walks: the session's successor (if the session
    /// is the user's), its successor, and so on.
    fn successors(&self, session_id: &str, user_id: &str) -> Vec<String> {
        let first = self.revoked.get(session_id).filter(|r| r.user_id == user_id);
        let mut next = first.and_then(|r| r.successor.clone());
        let mut chain: Vec<String> = Vec::new();
        while let Some(id) = next.filter(|id| !chain.contains(id)) {
            next = self.revoked.get(&id).and_then(|r| r.successor.clone());
            chain.push(id);
        }
        chain
    }

    /// `revocations::revoke_successors`.
    fn revoke_successors(&mut self, session_id: &str, user_id: &str, expires_at: u64) {
        for id in self.successors(session_id, user_id) {
            self.revoke(&id, user_id, expires_at, None);
        }
    }

    /// `users::end_session`: the session and its successors; the event always.
    pub(super) fn end_session(
        &mut self,
        session_id: &str,
        user_id: &str,
        expires_at: u64,
        event: Option<&NewEvent<'_>>,
    ) {
        self.revoke(session_id, user_id, expires_at, None);
        self.revoke_successors(session_id, user_id, expires_at);
        if let Some(event) = event {
            self.record_if(true, event);
        }
    }

    /// Whether `users::end_successors`' precondition holds: D1 knows the session as the user's,
    /// handed over.
    fn was_handed_over(&self, session_id: &str, user_id: &str) -> bool {
        self.revoked.get(session_id).is_some_and(|r| r.user_id == user_id && r.successor.is_some())
    }

    /// `users::end_successors`.
    pub(super) fn end_successors(
        &mut self,
        session_id: &str,
        user_id: &str,
        expires_at: u64,
        event: &NewEvent<'_>,
    ) -> Outcome {
        let handed = self.was_handed_over(session_id, user_id);
        self.record_if(handed, event);
        self.revoke_successors(session_id, user_id, expires_at);
        if handed {
            Outcome::Applied
        } else {
            Outcome::LostRace
        }
    }

    /// `Handover::statement` under `when`: the old id revoked with its successor, unless it was
    /// revoked already; whether it took place.
    fn hand_over_if(&mut self, when: bool, h: &Handover<'_>) -> bool {
        when && self.revoke(h.old, h.user_id, h.expires_at, Some(h.new))
    }

    /// `Handover::done`: the hand-over's row, with this successor, exists.
    fn handed_over(&self, h: &Handover<'_>) -> bool {
        self.revoked.get(h.old).is_some_and(|r| r.successor.as_deref() == Some(h.new))
    }

    /// `users::hand_over`.
    pub(super) fn hand_over(&mut self, handover: &Handover<'_>, run_ended: Option<&Budget>) -> Outcome {
        let applied = self.hand_over_if(true, handover);
        if let Some(budget) = run_ended {
            let done = self.handed_over(handover);
            self.reset_run_if(done, handover.user_id, budget);
        }
        if applied {
            Outcome::Applied
        } else {
            Outcome::LostRace
        }
    }

    /// `users::end_all_sessions`.
    pub(super) fn end_all_sessions(
        &mut self,
        from: u64,
        h: &Handover<'_>,
        event: &NewEvent<'_>,
        keep: Option<&str>,
    ) -> Outcome {
        let at_from = self.user(h.user_id).is_some_and(|u| u.session_generation == from);
        self.hand_over_if(at_from, h);
        let done = self.handed_over(h);
        self.record_if(done, event);
        self.end_trust_of_others_if(done, h.user_id, keep);
        match self.user_mut(h.user_id).filter(|_| done) {
            Some(user) => {
                user.session_generation += 1;
                Outcome::Applied
            }
            None => Outcome::LostRace,
        }
    }

    /// `attempts::record_failure`: both events only while the user exists.
    pub(super) fn record_failure(&mut self, failed: &NewEvent<'_>, locked: Option<&NewEvent<'_>>) {
        let exists = self.user_exists(failed.user_id);
        self.record_if(exists, failed);
        if let Some(locked) = locked {
            self.record_if(exists, locked);
        }
    }

    /// `events::record`: while the user exists.
    pub(super) fn record_event(&mut self, event: &NewEvent<'_>) {
        let exists = self.user_exists(event.user_id);
        self.record_if(exists, event);
    }

    /// `events::recent`: newest first (`at`, then `id`).
    pub(super) fn recent_events(&self, user_id: &str, limit: u32) -> Vec<EventRow> {
        let mut rows: Vec<_> = self.events.iter().filter(|e| e.user_id == user_id).collect();
        rows.sort_by_key(|e| std::cmp::Reverse((e.at, e.id)));
        rows.into_iter()
            .take(limit as usize)
            .map(|e| EventRow {
                kind: e.kind.clone(),
                at: e.at,
                ip: e.ip.clone(),
                country: e.country.clone(),
                city: e.city.clone(),
                user_agent: Some(e.user_agent.clone()),
                detail: e.detail.clone(),
            })
            .collect()
    }

    /// `devices::list`: `own` first, then the most recently used, then by id.
    pub(super) fn trusted_devices(&self, user_id: &str, own: Option<&str>) -> Vec<Value> {
        let own = own.unwrap_or("");
        let mut rows: Vec<_> = self.devices.iter().filter(|((user, _), _)| user == user_id).collect();
        rows.sort_by(|((_, a), da), ((_, b), db)| {
            (b == own, db.last_used_at).cmp(&(a == own, da.last_used_at)).then_with(|| a.cmp(b))
        });
        rows.into_iter()
            .map(|((_, id), d)| {
                json!({
                    "id": id, "device": d.device, "browser": d.browser, "os": d.os, "city": d.city,
                    "country": d.country, "created_at": d.created_at, "last_used_at": d.last_used_at,
                })
            })
            .collect()
    }

    /// `devices::forget`: the event (with the device's names) and the row, if the user has it.
    pub(super) fn forget_device(&mut self, user_id: &str, device_id: &str, event: &NewEvent<'_>) -> Outcome {
        let key = (user_id.to_string(), device_id.to_string());
        let Some(device) = self.devices.remove(&key) else { return Outcome::LostRace };
        let mut detail = event.detail.clone();
        detail["device"] = json!(device.device);
        detail["browser"] = json!(device.browser);
        detail["os"] = json!(device.os);
        self.insert_event(event, detail.to_string());
        Outcome::Applied
    }

    /// `sign_in::hold_address`: a hold is only ever lengthened.
    pub(super) fn hold_address(&mut self, address: &str, until: u64) {
        let held = self.held.entry(address.to_string()).or_insert(until);
        *held = (*held).max(until);
    }
}

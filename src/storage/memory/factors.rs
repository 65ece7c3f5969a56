//! Second factors (`storage::two_factor`) and passkeys (`storage::passkeys`): every change under
//! the precondition of the proof it uses up, its events and side writes only with it.

use serde_json::json;

use super::tables::{Code, State};
use crate::domain::ids::UserId;
use crate::storage::attempts::{Budget, Generations};
use crate::storage::devices::Trust;
use crate::storage::events::{EventType, NewEvent, Origin};
use crate::storage::passkeys::{
    Adding, NewPasskey, PasskeyRow, PasskeyUse, Recorded, SessionAssertion, SessionAssertionReserved, Spend,
    MAX_PER_USER,
};
use crate::storage::two_factor::{EnableTotp, Event, FactorsRow, Proof, Use};
use crate::storage::Outcome;

fn outcome(applied: bool) -> Outcome {
    if applied {
        Outcome::Applied
    } else {
        Outcome::LostRace
    }
}

/// `substr(code_hash, 1, instr(code_hash, '.') - 1)`: the key id a code hash names ('' without a dot).
fn key_of_code(hash: &str) -> &str {
    hash.split_once('.').map_or("", |(kid, _)| kid)
}

impl State {
    /// `two_factor::factors_statement`.
    pub(super) fn factors_row(&self, user_id: &str) -> Option<FactorsRow> {
        let u = self.user(user_id)?;
        Some(FactorsRow {
            id: UserId::new(u.id.clone()),
            email: u.email.clone(),
            name: u.name.clone(),
            password_hash: u.password_hash.clone(),
            totp_secret: u.totp_secret.clone(),
            totp_pending_secret: u.totp_pending_secret.clone(),
            totp_enabled_at: u.totp_enabled_at,
            totp_last_step: u.totp_last_step,
        })
    }

    fn unused_codes<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a Code> {
        self.codes.iter().filter(move |c| c.user_id == user_id && c.used_at.is_none())
    }

    /// `two_factor::codes_under_other_keys`.
    pub(super) fn codes_under_other_keys(&self, user_id: &str, key_id: &str) -> u32 {
        self.unused_codes(user_id).filter(|c| key_of_code(&c.code_hash) != key_id).count() as u32
    }

    /// `two_factor::start_setup`: not while two-factor authentication is on.
    pub(super) fn start_totp_setup(&mut self, user_id: &str, pending_secret: &str) -> Outcome {
        let user = self.user_mut(user_id).filter(|u| u.totp_enabled_at.is_none());
        outcome(user.map(|u| u.totp_pending_secret = Some(pending_secret.into())).is_some())
    }

    /// `Proof::precondition`: the proof is still unused.
    fn proof_holds(&self, user_id: &str, proof: &Proof<'_>) -> bool {
        match proof {
            Proof::Totp { secret, step } => self.user(user_id).is_some_and(|u| {
                u.totp_enabled_at.is_some() && u.totp_secret.as_deref() == Some(*secret) && u.totp_last_step < *step
            }),
            Proof::RecoveryCode { candidates } => {
                self.two_factor_on(user_id) && self.unused_codes(user_id).any(|c| candidates.contains(&c.code_hash))
            }
        }
    }

    /// `two_factor::guarded_events`: `recovery_code_used` (with the codes left after this use) and
    /// `events`, while `pre` holds.
    fn proof_events(
        &mut self,
        pre: bool,
        user_id: &str,
        proof: &Proof<'_>,
        (now, origin): (u64, &Origin),
        events: &[Event],
    ) {
        if !pre {
            return;
        }
        if let Proof::RecoveryCode { .. } = proof {
            let remaining = self.unused_codes(user_id).count() as i64 - 1;
            let used = NewEvent { user_id, kind: EventType::RecoveryCodeUsed, at: now, origin, detail: json!({}) };
            self.insert_event(&used, json!({ "remaining": remaining }).to_string());
        }
        for e in events {
            let new = NewEvent { user_id, kind: e.kind, at: now, origin, detail: e.detail.clone() };
            self.record_if(true, &new);
        }
    }

    /// Marks the user's unused codes among `candidates` used, while `when` holds; how many.
    fn use_codes_if(&mut self, when: bool, user_id: &str, candidates: &[String], now: u64) -> usize {
        let mut used = 0;
        for code in self.codes.iter_mut().filter(|c| when && c.user_id == user_id && c.used_at.is_none()) {
            if candidates.contains(&code.code_hash) {
                code.used_at = Some(now);
                used += 1;
            }
        }
        used
    }

    /// `two_factor::use_proof`.
    pub(super) fn use_proof(
        &mut self,
        user_id: &str,
        proof: &Proof<'_>,
        using: &Use<'_>,
        origin: &Origin,
        now: u64,
    ) -> Outcome {
        let current = |s: &Self| using.generations.is_none_or(|g| s.is_current(user_id, g));
        let pre = self.proof_holds(user_id, proof) && current(self);
        self.proof_events(pre, user_id, proof, (now, origin), using.events);
        self.reset_run_if(pre, user_id, using.budget);
        if let Some(trust) = using.trust {
            self.trust_if(pre, trust);
        }
        match proof {
            Proof::Totp { step, .. } => {
                let user = self.user_mut(user_id).filter(|_| pre);
                outcome(user.map(|u| u.totp_last_step = *step).is_some())
            }
            Proof::RecoveryCode { candidates } => {
                let when = self.two_factor_on(user_id) && current(self);
                outcome(self.use_codes_if(when, user_id, candidates, now) > 0)
            }
        }
    }

    /// `two_factor::replace_codes`, while `when` holds.
    fn replace_codes_if(&mut self, when: bool, user_id: &str, hashes: &[String]) {
        if !when {
            return;
        }
        self.codes.retain(|c| c.user_id != user_id);
        let new = hashes.iter().map(|h| Code { user_id: user_id.into(), code_hash: h.clone(), used_at: None });
        self.codes.extend(new);
    }

    /// `two_factor::enable`: with the pending secret the code of `step` proved.
    pub(super) fn enable_totp(&mut self, e: &EnableTotp<'_>) -> Outcome {
        let pre = self.user(e.user_id).is_some_and(|u| {
            u.totp_enabled_at.is_none()
                && u.totp_pending_secret.as_deref() == Some(e.pending)
                && u.totp_last_step < e.step
        });
        self.replace_codes_if(pre, e.user_id, e.code_hashes);
        let enabled = NewEvent {
            user_id: e.user_id,
            kind: EventType::TwoFactorEnabled,
            at: e.now,
            origin: e.origin,
            detail: json!({}),
        };
        self.record_if(pre, &enabled);
        self.reset_run_if(pre, e.user_id, e.budget);
        let Some(user) = self.user_mut(e.user_id).filter(|_| pre) else { return Outcome::LostRace };
        user.totp_secret = user.totp_pending_secret.take();
        user.totp_enabled_at = Some(e.now);
        user.totp_last_step = e.step;
        Outcome::Applied
    }

    /// `two_factor::regenerate`: while two-factor authentication is on.
    pub(super) fn regenerate_codes(&mut self, user_id: &str, hashes: &[String], origin: &Origin, now: u64) -> Outcome {
        let pre = self.two_factor_on(user_id);
        let event = NewEvent { user_id, kind: EventType::RecoveryCodesRegenerated, at: now, origin, detail: json!({}) };
        self.record_if(pre, &event);
        self.replace_codes_if(pre, user_id, hashes);
        // The deciding statement is the insert: it changes no row for an empty set.
        outcome(pre && !hashes.is_empty())
    }

    /// `two_factor::disable`: with an unused proof; an account without two-factor authentication
    /// keeps no codes, whoever turned it off.
    pub(super) fn disable_totp(
        &mut self,
        user_id: &str,
        proof: &Proof<'_>,
        budget: &Budget,
        origin: &Origin,
        now: u64,
    ) -> Outcome {
        let pre = self.proof_holds(user_id, proof);
        let disabled = [Event { kind: EventType::TwoFactorDisabled, detail: json!({}) }];
        self.proof_events(pre, user_id, proof, (now, origin), &disabled);
        self.reset_run_if(pre, user_id, budget);
        let applied = self.user_mut(user_id).filter(|_| pre).map(|u| {
            (u.totp_secret, u.totp_pending_secret, u.totp_enabled_at, u.totp_last_step) = (None, None, None, 0);
        });
        if !self.two_factor_on(user_id) {
            self.codes.retain(|c| c.user_id != user_id);
        }
        outcome(applied.is_some())
    }

    /// `passkeys::list`: by creation, then id.
    pub(super) fn passkeys_of(&self, user_id: &str) -> Vec<PasskeyRow> {
        let mut rows: Vec<PasskeyRow> = self.passkeys.iter().filter(|p| p.user_id == user_id).cloned().collect();
        rows.sort_by(|a, b| (a.created_at, &a.credential_id).cmp(&(b.created_at, &b.credential_id)));
        rows
    }

    /// `passkeys::add`: if this request spent the challenge, the credential is new and the user
    /// has room for it.
    pub(super) fn add_passkey(&mut self, new: &NewPasskey<'_>, spend: &Spend<'_>, event: &NewEvent<'_>) -> Adding {
        let registered = self.passkeys.iter().any(|p| p.credential_id == new.credential_id);
        let count = self.passkeys.iter().filter(|p| p.user_id == new.user_id).count() as u64;
        let spent = self.spend(spend, new.now);
        let pre = self.spent_by(spend) && self.user_exists(new.user_id) && count < MAX_PER_USER;
        let inserted = pre && !registered;
        if inserted {
            self.passkeys.push(passkey_row(new));
        }
        let stored = self.passkeys.iter().any(|p| {
            p.credential_id == new.credential_id
                && p.user_id == new.user_id
                && p.public_key == new.public_key
                && p.created_at == new.now
        });
        let by_this_request = self.spent_by(spend);
        self.record_if(stored && by_this_request, event);
        match () {
            _ if inserted => Adding::Done,
            _ if !spent => Adding::ChallengeSpent,
            _ if registered => Adding::AlreadyRegistered,
            _ if count >= MAX_PER_USER => Adding::TooMany,
            _ => Adding::AlreadyRegistered,
        }
    }

    /// `passkeys::rename`.
    pub(super) fn rename_passkey(&mut self, user_id: &str, credential_id: &str, name: &str) -> Option<PasskeyRow> {
        let row = self.passkeys.iter_mut().find(|p| p.credential_id == credential_id && p.user_id == user_id)?;
        row.name = name.into();
        Some(row.clone())
    }

    /// `passkeys::remove`: the event only with the row.
    pub(super) fn remove_passkey(&mut self, user_id: &str, credential_id: &str, event: &NewEvent<'_>) -> Outcome {
        let before = self.passkeys.len();
        self.passkeys.retain(|p| !(p.credential_id == credential_id && p.user_id == user_id));
        let removed = self.passkeys.len() < before;
        self.record_if(removed, event);
        outcome(removed)
    }

    /// `passkeys::reserve_for_session`: spends the challenge, counts in the session's run, reads the
    /// passkey.
    pub(super) fn reserve_for_session(&mut self, asking: &SessionAssertion<'_>) -> SessionAssertionReserved {
        let spent = self.spend(asking.spend, asking.now);
        let exists = self.user_exists(asking.user_id);
        let reservation = self.reserve_if(exists, asking.budget, asking.user_id, asking.policy, asking.now);
        let passkey = self.passkey_row(asking.credential_id, Some(asking.user_id));
        SessionAssertionReserved { reservation, passkey, spent }
    }

    /// `passkeys::record_use`: only over the counter that was verified, by the request that spent
    /// the challenge, (for a sign-in) under current generations.
    pub(super) fn record_passkey_use(
        &mut self,
        used: &PasskeyUse<'_>,
        spend: &Spend<'_>,
        (budget, generations): (&Budget, Option<Generations>),
        events: &[NewEvent<'_>],
        trust: Option<&Trust>,
    ) -> Recorded {
        let counter = |s: &Self| {
            s.passkeys.iter().any(|p| {
                p.credential_id == used.credential_id && p.user_id == used.user_id && p.sign_count == used.stored_count
            })
        };
        let pre = self.spent_by(spend) && counter(self) && generations.is_none_or(|g| self.is_current(used.user_id, g));
        events.iter().for_each(|event| self.record_if(pre, event));
        self.reset_run_if(pre, used.user_id, budget);
        if let Some(trust) = trust {
            self.trust_if(pre, trust);
        }
        let row = self.passkeys.iter_mut().find(|p| p.credential_id == used.credential_id && p.user_id == used.user_id);
        if let Some(row) = row.filter(|_| pre) {
            (row.sign_count, row.backed_up, row.last_used_at) =
                (used.sign_count, used.backed_up.into(), Some(used.now));
            return Recorded::Applied;
        }
        match counter(self) {
            true => Recorded::Stale,
            false => Recorded::CounterMoved,
        }
    }
}

fn passkey_row(new: &NewPasskey<'_>) -> PasskeyRow {
    PasskeyRow {
        credential_id: new.credential_id.into(),
        user_id: new.user_id.into(),
        public_key: new.public_key.into(),
        algorithm: new.algorithm,
        sign_count: new.sign_count,
        backup_eligible: new.backup_eligible.into(),
        backed_up: new.backed_up.into(),
        aaguid: new.aaguid.into(),
        transports: new.transports.into(),
        name: new.name.into(),
        created_at: new.now,
        last_used_at: None,
    }
}

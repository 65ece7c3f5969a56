//! The sign-in ceremony's reservations (`storage::sign_in`): the account an identifier names, the
//! run the rules choose, the address's hold, and a passkey ceremony's spent challenge.

use super::tables::{Account, State};
use crate::domain::ids::UserId;
use crate::storage::attempts::{Budget, Reservation};
use crate::storage::passkeys::{PasskeyRow, Spend, SPENT_KEEP_SECONDS};
use crate::storage::sign_in::{
    FirstStep, FirstStepReserved, Identifier, SecondStep, SecondStepRead, SecondStepReserved,
};
use crate::storage::users::UserRow;

fn user_row(user: &Account) -> UserRow {
    UserRow {
        id: UserId::new(user.id.clone()),
        email: user.email.clone(),
        name: user.name.clone(),
        password_hash: user.password_hash.clone(),
        totp_enabled_at: user.totp_enabled_at,
        password_generation: user.password_generation,
        session_generation: user.session_generation,
    }
}

impl State {
    /// `Spend::statement` (`ON CONFLICT DO NOTHING`): whether this request spent the challenge.
    pub(super) fn spend(&mut self, spend: &Spend<'_>, now: u64) -> bool {
        if self.spent.contains_key(spend.challenge) {
            return false;
        }
        self.spent.insert(spend.challenge.to_string(), (spend.by.to_string(), now + SPENT_KEEP_SECONDS));
        true
    }

    /// `Spend::precondition`: this request is the one that spent the challenge.
    pub(super) fn spent_by(&self, spend: &Spend<'_>) -> bool {
        self.spent.get(spend.challenge).is_some_and(|(by, _)| by == spend.by)
    }

    /// Until when the address is held (0: it is not).
    pub(super) fn held_until(&self, address: &str, now: u64) -> u64 {
        self.held.get(address).copied().filter(|until| *until > now).unwrap_or(0)
    }

    pub(super) fn passkey_row(&self, credential_id: &str, user_id: Option<&str>) -> Option<PasskeyRow> {
        let owned = |p: &&PasskeyRow| user_id.is_none_or(|u| p.user_id == u);
        self.passkeys.iter().filter(owned).find(|p| p.credential_id == credential_id).cloned()
    }

    /// The account an identifier names (`Identifier::names_user`).
    fn named_user(&self, identifier: &Identifier<'_>) -> Option<&Account> {
        match identifier {
            Identifier::Email(lookup) => self.by_email(&lookup.normal, &lookup.legacy),
            Identifier::Credential(id) => self.user(&self.passkey_row(id, None)?.user_id),
        }
    }

    /// The run a first step counts in: a trusted device of the named account, the account's
    /// strangers (passkeys: a run of their own), or the unknown identifier's.
    fn first_step_budget(&self, step: &FirstStep<'_>, user: Option<&UserRow>) -> Budget {
        let (identifier, hash) = (&step.identifier, step.identifier_hash.to_string());
        let Some(user) = user else {
            return match identifier {
                Identifier::Email(_) => Budget::UnknownEmail(hash),
                Identifier::Credential(_) => Budget::UnknownCredential(hash),
            };
        };
        match step.client.device {
            Some((owner, device)) if !owner.is_empty() && owner == &*user.id && self.is_trusted(owner, device) => {
                Budget::Device(device.to_string())
            }
            _ if matches!(identifier, Identifier::Email(_)) => Budget::Strangers,
            _ => Budget::PasskeyStrangers,
        }
    }

    /// `sign_in::reserve_first_step`.
    pub(super) fn reserve_first_step(&mut self, step: &FirstStep<'_>) -> FirstStepReserved {
        let spent = step.spend.is_some_and(|spend| self.spend(spend, step.now));
        let user = self.named_user(&step.identifier).map(user_row);
        let budget = self.first_step_budget(step, user.as_ref());
        let held_until = match budget.is_device() {
            true => 0,
            false => self.held_until(step.client.address, step.now),
        };
        let scope_user = user.as_ref().map_or(String::new(), |u| u.id.to_string());
        let counted = self.count(held_until == 0, &budget, &scope_user, step.policy, step.now);
        let locked_until = self.lock_of(&scope_user, &budget);
        let passkey = match step.identifier {
            Identifier::Credential(id) => self.passkey_row(id, None),
            Identifier::Email(_) => None,
        };
        let reservation = Reservation::settle(counted, held_until, locked_until, step.now);
        FirstStepReserved { user, passkey, budget, reservation, spent }
    }

    /// `sign_in::reserve_second_step`: in the first step's run, under its generations, not while
    /// the address is held (but for a trusted device's run).
    pub(super) fn reserve_second_step(
        &mut self,
        step: &SecondStep<'_>,
        read: SecondStepRead<'_>,
    ) -> SecondStepReserved {
        let spent = match &read {
            SecondStepRead::Passkey { spend, .. } => self.spend(spend, step.now),
            SecondStepRead::Factors => false,
        };
        let held_until = match step.budget.is_device() {
            true => 0,
            false => self.held_until(step.address, step.now),
        };
        let still_trusted = match step.budget {
            Budget::Device(device_id) => self.is_trusted(step.user_id, device_id),
            _ => true,
        };
        let holds = self.is_current(step.user_id, step.generations) && held_until == 0 && still_trusted;
        let counted = self.count(holds, step.budget, step.user_id, step.policy, step.now);
        let locked_until = self.lock_of(step.user_id, step.budget);
        let passkey = match read {
            SecondStepRead::Passkey { credential_id, .. } => self.passkey_row(credential_id, Some(step.user_id)),
            SecondStepRead::Factors => None,
        };
        SecondStepReserved {
            reservation: Reservation::settle(counted, held_until, locked_until, step.now),
            factors: self.factors_row(step.user_id),
            passkey,
            spent,
        }
    }
}

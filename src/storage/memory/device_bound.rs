//! `storage::device_bound` in memory: the same batches, as one step each.

use super::tables::State;
use crate::storage::device_bound::{Binding, BindingRow, NewBinding};
use crate::storage::events::NewEvent;
use crate::storage::passkeys::Spend;

impl State {
    pub(super) fn bind_session(&mut self, new: &NewBinding<'_>, spend: &Spend<'_>, event: &NewEvent<'_>) -> Binding {
        if !self.spend(spend, new.now) {
            return Binding::ChallengeSpent;
        }
        let live = self.session_live(new.user_id, new.session_id, new.session_generation, new.issued_at);
        if !live || self.bindings.contains_key(new.session_id) {
            return Binding::Refused;
        }
        let row = BindingRow {
            session_id: new.session_id.to_string(),
            user_id: new.user_id.to_string(),
            dbsc_id: new.dbsc_id.to_string(),
            public_key: new.public_key.to_string(),
            thumbprint: new.thumbprint.to_string(),
            bound_at: new.now,
            refreshed_at: None,
        };
        self.bindings.insert(new.session_id.to_string(), row);
        self.record_if(true, event);
        Binding::Bound
    }

    pub(super) fn refresh_binding(&mut self, session_id: &str, spend: &Spend<'_>, now: u64) -> bool {
        if !self.spend(spend, now) {
            return false;
        }
        if let Some(binding) = self.bindings.get_mut(session_id) {
            binding.refreshed_at = Some(now);
        }
        true
    }
}

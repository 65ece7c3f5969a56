//! The data keys and what names them (`storage::data_keys`), stored e-mail addresses
//! (`storage::emails`) and the daily clean-up (`storage::prune` and the modules' own).

use super::tables::State;
use crate::storage::data_keys::{DataKeyRow, Dependents, OutdatedSecrets, Reencrypted, Rewrapped, SecretColumn};
use crate::storage::devices::KEEP_UNUSED_SECONDS;
use crate::storage::emails::{Rewrite, StoredEmail};
use crate::storage::{Outcome, EVENT_RETENTION_SECONDS, SIGN_IN_FLAGS_RETENTION_SECONDS};

/// `substr(value, 4, 8)`: the key id a stored TOTP secret (`v1.<kid>.…`) names.
fn key_of_secret(stored: &str) -> String {
    stored.chars().skip(3).take(8).collect()
}

/// `substr(code_hash, 1, 8)`.
fn prefix_of_code(hash: &str) -> String {
    hash.chars().take(8).collect()
}

/// `email GLOB '*[^ -~]*'`: a character outside printable ASCII.
fn is_non_ascii(email: &str) -> bool {
    email.chars().any(|c| !(' '..='~').contains(&c))
}

impl State {
    /// `data_keys::all_keys`: by creation.
    pub(super) fn all_data_keys(&self) -> Vec<DataKeyRow> {
        let mut rows = self.data_keys.clone();
        rows.sort_by_key(|(_, created_at)| *created_at);
        rows.into_iter().map(|(row, _)| row).collect()
    }

    /// `data_keys::create` (`INSERT OR IGNORE`): a kid taken, or a purpose with an active key, is
    /// skipped (the unique index allows one active key per purpose).
    pub(super) fn create_data_keys(&mut self, rows: &[DataKeyRow], now: u64) {
        for row in rows {
            let taken = self
                .data_keys
                .iter()
                .any(|(k, _)| k.kid == row.kid || (k.purpose == row.purpose && k.retired_at.is_none()));
            if !taken {
                self.data_keys.push((DataKeyRow { retired_at: None, ..row.clone() }, now));
            }
        }
    }

    /// `data_keys::rewrap`: only while it is still wrapped under the old root key.
    pub(super) fn rewrap_data_key(&mut self, r: &Rewrapped) -> Outcome {
        let row = self.data_keys.iter_mut().find(|(k, _)| k.kid == r.kid && k.wrapped_by == r.old_wrapped_by);
        match row {
            Some((key, _)) => {
                (key.wrapped, key.wrapped_by) = (r.wrapped.clone(), r.wrapped_by.clone());
                Outcome::Applied
            }
            None => Outcome::LostRace,
        }
    }

    /// `data_keys::reencrypt`: each only where the stored value is still the old one.
    pub(super) fn reencrypt(&mut self, secrets: &[Reencrypted]) -> usize {
        let mut stored = 0;
        for s in secrets {
            let Some(user) = self.user_mut(&s.user_id) else { continue };
            let column = match s.column {
                SecretColumn::Enabled => &mut user.totp_secret,
                SecretColumn::Pending => &mut user.totp_pending_secret,
            };
            if column.as_deref() == Some(s.old.as_str()) {
                *column = Some(s.new.clone());
                stored += 1;
            }
        }
        stored
    }

    /// `data_keys::outdated_secrets`.
    pub(super) fn outdated_secrets(&self, from: &[String], limit: u64) -> Vec<OutdatedSecrets> {
        let under = |secret: &Option<String>| secret.as_deref().is_some_and(|s| from.contains(&key_of_secret(s)));
        self.users
            .iter()
            .filter(|u| under(&u.totp_secret) || under(&u.totp_pending_secret))
            .take(limit as usize)
            .map(|u| OutdatedSecrets {
                id: u.id.clone(),
                totp_secret: u.totp_secret.clone(),
                totp_pending_secret: u.totp_pending_secret.clone(),
            })
            .collect()
    }

    /// `data_keys::dependents`.
    pub(super) fn key_dependents(&self, kids: &[String]) -> Dependents {
        let under = |secret: &Option<String>| secret.as_deref().is_some_and(|s| kids.contains(&key_of_secret(s)));
        Dependents {
            data_keys: self.data_keys.iter().filter(|(k, _)| kids.contains(&k.wrapped_by)).count() as u64,
            totp_secrets: self.users.iter().filter(|u| under(&u.totp_secret) || under(&u.totp_pending_secret)).count()
                as u64,
            recovery_codes: self
                .codes
                .iter()
                .filter(|c| c.used_at.is_none() && kids.contains(&prefix_of_code(&c.code_hash)))
                .count() as u64,
        }
    }

    /// Whether the retired data key `key` still has a dependent (`data_keys::delete_unused_retired`).
    fn still_used(&self, key: &DataKeyRow) -> bool {
        let names = |secret: &Option<String>| secret.as_deref().is_some_and(|s| key_of_secret(s) == key.kid);
        match key.purpose.as_str() {
            "device" => false,
            "totp" => self.users.iter().any(|u| names(&u.totp_secret) || names(&u.totp_pending_secret)),
            "recovery" => self.codes.iter().any(|c| c.used_at.is_none() && prefix_of_code(&c.code_hash) == key.kid),
            _ => true,
        }
    }

    /// `data_keys::delete_unused_retired`.
    pub(super) fn delete_unused_retired_keys(&mut self, retired_before: u64) {
        let unused: Vec<String> = (self.data_keys.iter())
            .filter(|(k, _)| k.retired_at.is_some_and(|at| at < retired_before) && !self.still_used(k))
            .map(|(k, _)| k.kid.clone())
            .collect();
        self.data_keys.retain(|(k, _)| !unused.contains(&k.kid));
    }

    /// `emails::non_ascii`: in id order after `after_id`.
    pub(super) fn non_ascii_emails(&self, after_id: &str, limit: u64) -> Vec<StoredEmail> {
        let mut rows: Vec<_> =
            self.users.iter().filter(|u| u.id.as_str() > after_id && is_non_ascii(&u.email)).collect();
        rows.sort_by(|a, b| a.id.cmp(&b.id));
        rows.into_iter()
            .take(limit as usize)
            .map(|u| StoredEmail { id: u.id.clone(), email: u.email.clone() })
            .collect()
    }

    /// `emails::rewrite` (`UPDATE OR IGNORE`, in table order): a row whose normal form another
    /// account holds (or took earlier in the same run) is skipped. Answers the ids rewritten.
    pub(super) fn rewrite_emails(&mut self, rewrites: &[Rewrite<'_>]) -> Vec<String> {
        let mut moved = Vec::new();
        for i in 0..self.users.len() {
            let (id, email) = (self.users[i].id.clone(), self.users[i].email.clone());
            if !rewrites.iter().any(|r| r.user_id == id && r.stored == email) {
                continue;
            }
            let Some(rewrite) = rewrites.iter().find(|r| r.user_id == id) else { continue };
            let taken = self.users.iter().any(|u| u.id != id && u.email == rewrite.normal);
            if !taken {
                self.users[i].email = rewrite.normal.clone();
                moved.push(id);
            }
        }
        moved
    }

    /// `storage::prune`: what no longer matters.
    pub(super) fn prune(&mut self, now: u64) {
        self.revoked.retain(|_, r| r.expires_at >= now);
        let oldest_event = now.saturating_sub(EVENT_RETENTION_SECONDS);
        let oldest_flag = now.saturating_sub(SIGN_IN_FLAGS_RETENTION_SECONDS);
        self.events.retain(|e| e.at >= oldest_event || (e.kind == "sign_in" && e.at >= oldest_flag));
        for e in self.events.iter_mut().filter(|e| e.at < oldest_event) {
            (e.ip, e.country, e.city, e.network, e.latitude, e.longitude) = (None, None, None, None, None, None);
            e.user_agent = String::new();
        }
        self.budgets.retain(|_, b| b.expires_at >= now);
        self.spent.retain(|_, (_, expires_at)| *expires_at >= now);
        self.held.retain(|_, until| *until > now);
        let oldest_use = now.saturating_sub(KEEP_UNUSED_SECONDS);
        self.devices.retain(|_, d| d.last_used_at >= oldest_use);
    }
}

//! The state a write was decided on. Statements guarded by a [`Precondition`] take effect only
//! while it holds, so every statement of a batch lands together with the change it belongs to,
//! or not at all, and of two racing requests only one can win.

use super::Db;
use worker::wasm_bindgen::JsValue;
use worker::D1PreparedStatement;

use super::attempts::Generations;
use super::{int, text, Error};

/// SQL over `?` markers, and their values in order.
#[derive(Clone)]
pub struct Precondition {
    sql: String,
    values: Vec<JsValue>,
}

impl Precondition {
    pub(super) fn new(sql: &str, values: Vec<JsValue>) -> Self {
        Self { sql: sql.to_string(), values }
    }

    /// Holds always (for statements that need no guard).
    pub fn always() -> Self {
        Self::new("1", vec![])
    }

    /// The user exists (e.g. it was just inserted, or an e-mail named a real account).
    pub fn user_exists(user_id: &str) -> Self {
        Self::new("EXISTS (SELECT 1 FROM users WHERE id = ?)", vec![text(user_id)])
    }

    /// The user's password hash is this one (it was just written).
    pub fn password_hash_is(user_id: &str, hash: &str) -> Self {
        Self::new("EXISTS (SELECT 1 FROM users WHERE id = ? AND password_hash = ?)", vec![text(user_id), text(hash)])
    }

    /// The user is still under the generations a sign-in was verified under.
    pub fn current(user_id: &str, generations: Generations) -> Self {
        Self::new(
            "EXISTS (SELECT 1 FROM users WHERE id = ? AND password_generation = ? AND session_generation = ?)",
            vec![text(user_id), int(generations.password), int(generations.session)],
        )
    }

    /// The user's session generation is still `generation`.
    pub fn session_generation_is(user_id: &str, generation: u64) -> Self {
        Self::new(
            "EXISTS (SELECT 1 FROM users WHERE id = ? AND session_generation = ?)",
            vec![text(user_id), int(generation)],
        )
    }

    /// Over `users`' columns: the user's session `session_id`, issued at `issued_at` under
    /// `session_generation`, is live in D1 (SPEC §5.8).
    pub fn session_live(user_id: &str, session_id: &str, session_generation: u64, issued_at: u64) -> Self {
        Self::new(
            "id = ? AND session_generation = ? AND sessions_valid_after <= ? \
             AND NOT EXISTS (SELECT 1 FROM revoked_sessions WHERE session_id = ?)",
            vec![text(user_id), int(session_generation), int(issued_at), text(session_id)],
        )
    }

    /// Two-factor authentication is on.
    pub fn two_factor_on(user_id: &str) -> Self {
        Self::new("EXISTS (SELECT 1 FROM users WHERE id = ? AND totp_enabled_at IS NOT NULL)", vec![text(user_id)])
    }

    pub fn and(mut self, other: Self) -> Self {
        self.sql = format!("{} AND {}", self.sql, other.sql);
        self.values.extend(other.values);
        self
    }

    /// A statement: `sql` with `{pre}` standing for the condition, after `binds` (?1..?n).
    pub fn statement(&self, db: &Db, sql: &str, mut binds: Vec<JsValue>) -> Result<D1PreparedStatement, Error> {
        let mut condition = String::with_capacity(self.sql.len() + 16);
        let mut next = binds.len() + 1;
        for c in self.sql.chars() {
            if c == '?' {
                condition.push_str(&format!("?{next}"));
                next += 1;
            } else {
                condition.push(c);
            }
        }
        binds.extend(self.values.iter().cloned());
        Ok(db.prepare(sql.replace("{pre}", &condition)).bind(&binds)?)
    }
}

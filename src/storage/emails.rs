//! Stored e-mail addresses brought to their normal form (issue 21 point 9). Accounts created
//! before addresses were normalised hold them trimmed and lower-cased only; sign-ins find them by
//! that form too (`users::account_by_email`), and these rewrites move them to the normal form,
//! never onto an address another account holds.

use serde_json::{json, Value};

use super::{int, text, Db, Error};

/// An account's stored address.
pub struct StoredEmail {
    pub id: String,
    pub email: String,
}

impl StoredEmail {
    /// Read from a row as JSON: a deserializer of its own would cost the bundle more than this.
    fn of(row: &Value) -> Option<Self> {
        let field = |name: &str| row.get(name).and_then(Value::as_str).map(str::to_string);
        Some(Self { id: field("id")?, email: field("email")? })
    }
}

/// A stored address and the normal form it is to be rewritten to.
pub struct Rewrite<'a> {
    pub user_id: &'a str,
    pub stored: &'a str,
    pub normal: String,
}

/// Rewrites the addresses in one statement, each only while it is still the one read; `OR IGNORE`
/// skips a row whose normal form another account holds (or that an earlier row of the same run
/// took). Answers the ids rewritten.
pub async fn rewrite(db: &Db, rewrites: &[Rewrite<'_>]) -> Result<Vec<String>, Error> {
    if rewrites.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<Value> = rewrites.iter().map(|r| json!([r.user_id, r.stored, r.normal])).collect();
    let statement = db
        .prepare(
            "UPDATE OR IGNORE users SET email = (SELECT json_extract(value, '$[2]') FROM json_each(?1) \
             WHERE json_extract(value, '$[0]') = users.id) \
             WHERE (id, email) IN (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)) \
             RETURNING id",
        )
        .bind(&[text(&Value::Array(list).to_string())])?;
    Ok(ids(&super::batch(db, vec![statement]).await?))
}

fn ids(results: &[worker::D1Result]) -> Vec<String> {
    let rows = results.first().and_then(|r| r.results::<Value>().ok()).unwrap_or_default();
    rows.iter().filter_map(|row| row.get("id").and_then(Value::as_str).map(str::to_string)).collect()
}

/// Up to `limit` accounts whose address has a character outside printable ASCII (the only ones
/// whose normal form can differ from the legacy one), in id order after `after_id`.
pub async fn non_ascii(db: &Db, after_id: &str, limit: u64) -> Result<Vec<StoredEmail>, Error> {
    let read = db
        .prepare("SELECT id, email FROM users WHERE id > ?1 AND email GLOB '*[^ -~]*' ORDER BY id LIMIT ?2")
        .bind(&[text(after_id), int(limit)])?;
    let results = super::batch(db, vec![read]).await?;
    let rows = results.first().map(|r| r.results::<Value>()).transpose()?.unwrap_or_default();
    Ok(rows.iter().filter_map(StoredEmail::of).collect())
}

//! Breached passwords: Pwned Passwords' range API (reached by `fetch`, bounded in time) and the
//! flag on an account whose current password a sign-in found there.

use std::time::Duration;

use futures_util::future::{select, Either};
use worker::{Fetch, Headers, Method, Request, RequestInit};

use super::events::{self, NewEvent};
use super::precondition::Precondition;
use super::store::BREACH_CHECK_MS;
use super::{batch, int, text, Db, Error};

/// The range of `prefix`, padded (`Add-Padding: true`), or None when the service is slow, down or
/// answers anything but 200.
pub async fn range(base: &str, prefix: &str) -> Result<Option<String>, Error> {
    let headers = Headers::new();
    headers.set("Add-Padding", "true")?;
    headers.set("User-Agent", "WEMASY account security")?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let request = Request::new_with_init(&format!("{base}{prefix}"), &init)?;
    let answer = async move {
        let mut response = Fetch::Request(request).send().await?;
        match response.status_code() {
            200 => Ok::<_, worker::Error>(Some(response.text().await?)),
            _ => Ok(None),
        }
    };
    let timeout = worker::Delay::from(Duration::from_millis(BREACH_CHECK_MS));
    match select(Box::pin(answer), timeout).await {
        Either::Left((Ok(range), _)) => Ok(range),
        Either::Left((Err(_), _)) | Either::Right(_) => Ok(None),
    }
}

/// Flags the password of `user_id` (while still of `generation` and not flagged) with `event`.
pub async fn flag(db: &Db, user_id: &str, generation: u64, times: u64, event: &NewEvent<'_>) -> Result<(), Error> {
    let flagged = Precondition::new(
        "changes() > 0 AND EXISTS (SELECT 1 FROM users WHERE id = ? AND password_breached_count = ?)",
        vec![text(user_id), int(times)],
    );
    let statements = vec![
        db.prepare(
            "UPDATE users SET password_breached_count = ?3 WHERE id = ?1 AND password_generation = ?2 \
             AND password_breached_count IS NULL",
        )
        .bind(&[text(user_id), int(generation), int(times)])?,
        events::insert(db, event, &flagged)?,
    ];
    batch(db, statements).await?;
    Ok(())
}

//! `GET /api/security/events?limit=`: the caller's recent security activity, newest first.

use serde::Serialize;
use serde_json::Value;
use worker::{Request, Response};

use super::{json, Cx};
use crate::account::activity;
use crate::auth::session::CurrentSession;
use crate::domain::user_agent;
use crate::http::url::RequestUrl;
use crate::http::ApiError;

const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 100;

#[derive(Serialize)]
struct EventView {
    #[serde(rename = "type")]
    kind: String,
    at: u64,
    ip: Option<String>,
    city: Option<String>,
    country: Option<String>,
    device: String,
    detail: Value,
}

#[derive(Serialize)]
struct EventList {
    events: Vec<EventView>,
}

pub async fn recent(req: Request, cx: &Cx, current: &CurrentSession) -> Result<Response, ApiError> {
    let limit = parse_limit(RequestUrl::of(&req)?.query("limit"))?;
    let rows = activity::recent(cx, current, limit).await?;
    let events = rows
        .into_iter()
        .map(|row| {
            let device = user_agent::parse(row.user_agent.as_deref().unwrap_or(""));
            EventView {
                kind: row.kind,
                at: row.at,
                ip: row.ip,
                city: row.city,
                country: row.country,
                device: format!("{} on {}", device.browser, device.os),
                detail: serde_json::from_str(&row.detail).unwrap_or(Value::Null),
            }
        })
        .collect();
    json(200, &EventList { events })
}

pub fn parse_limit(raw: Option<String>) -> Result<u32, ApiError> {
    let Some(raw) = raw else { return Ok(DEFAULT_LIMIT) };
    match raw.parse::<u32>() {
        Ok(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        _ => Err(ApiError::invalid_input("limit must be a whole number from 1 to 100.")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_bounds() {
        assert_eq!(parse_limit(None), Ok(20));
        assert_eq!(parse_limit(Some("100".into())), Ok(100));
        for bad in ["0", "101", "-1", "ten", "", "1e2", "99999999999999"] {
            assert!(parse_limit(Some(bad.into())).is_err(), "{bad}");
        }
    }
}

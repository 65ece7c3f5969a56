//! `GET /api/openapi.json`: the API contract (top-level `openapi.json`), compiled into the worker
//! so the served document is always the one this build was tested against.

use worker::{Request, Response};

use crate::app::App;
use crate::http::ApiError;

const DOCUMENT: &str = include_str!("../../openapi.json");

pub async fn document(_req: Request, _app: &App) -> Result<Response, ApiError> {
    let response = Response::ok(DOCUMENT)?;
    response.headers().set("Content-Type", "application/json")?;
    Ok(response)
}

/// The document as JSON, for comparing it with the route table.
#[cfg(test)]
pub fn parsed() -> serde_json::Value {
    serde_json::from_str(DOCUMENT).expect("openapi.json is JSON")
}

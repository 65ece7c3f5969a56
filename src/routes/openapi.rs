//! `GET /api/openapi.json`: the API contract (top-level `openapi.json`), compiled into the worker
//! so the served document is always the one this build was tested against.

use worker::Response;

use crate::http::ApiError;

const DOCUMENT: &str = include_str!("../../openapi.json");

pub fn document() -> Result<Response, ApiError> {
    let response = Response::ok(DOCUMENT)?;
    response.headers().set("Content-Type", "application/json")?;
    Ok(response)
}

//! WEMASY "My account → Security" as a Cloudflare Worker: the fetch handler wires a request
//! through the API router, adds the security headers and writes one log line; the scheduled
//! handler prunes what D1 no longer needs, rotates keys and normalises stored e-mail addresses.

mod account;
mod app;
mod auth;
mod config;
pub mod domain;
pub mod http;
mod routes;
mod storage;

use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

use crate::app::App;
use crate::http::headers::apply_security_headers;

/// The KV key names, for tests that inspect or plant local state.
pub use storage::kv::names as kv_keys;

/// Every route of the API as (method, path pattern), from the one route table: what
/// `openapi.json` must document exactly.
pub fn api_routes() -> Vec<(String, String)> {
    routes::table().into_iter().map(|r| (r.method.to_string(), r.path.to_string())).collect()
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    console_error_panic_hook::set_once();
    let started = worker::Date::now().as_millis();
    let method: String = req.inner().method().chars().filter(char::is_ascii_graphic).take(16).collect();
    let path = req.path();
    let app = App::new(&req, env, ctx);
    let response = match routes::handle(req, &app).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    app.finish(&response)?;
    apply_security_headers(response.headers())?;
    let log = serde_json::json!({
        "msg": "request",
        "method": method,
        "route": routes::route_name(&path),
        "status": response.status_code(),
        "duration_ms": worker::Date::now().as_millis().saturating_sub(started),
    });
    worker::console_log!("{log}");
    Ok(response)
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    console_error_panic_hook::set_once();
    let now = worker::Date::now().as_millis() / 1000;
    if let Err(error) = storage::prune(&env, now).await {
        worker::console_error!("scheduled clean-up failed: {error:?}");
    }
    if let Err(error) = account::keys::scheduled(&env, now).await {
        worker::console_error!("scheduled key rotation failed: {error:?}");
    }
    if let Err(error) = account::emails::scheduled(&env).await {
        worker::console_error!("scheduled e-mail normalisation failed: {error:?}");
    }
}

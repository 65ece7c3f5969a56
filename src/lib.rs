//! WEMASY "My account → Security" as a Cloudflare Worker: the fetch handler wires a request
//! through the API router, adds the security headers and writes one log line; the scheduled
//! handler prunes what D1 no longer needs, rotates keys and normalises stored e-mail addresses.

mod account;
mod app;
mod auth;
mod config;
pub mod domain;
pub mod http;
mod log;
mod routes;
mod runtime;
mod storage;

use worker::{event, Context, Env, MessageBatch, MessageExt, Request, Response, ScheduleContext, ScheduledEvent};

use crate::http::headers::apply_security_headers;
use crate::http::ApiError;

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
    let verb = req.method();
    let cx = match runtime::context(&req, env, ctx) {
        Ok(cx) => cx,
        Err(error) => return Ok(ApiError::from(error).into_response()),
    };
    let response = match routes::handle(req, &cx).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    runtime::finish(&cx, &verb, &response)?;
    apply_security_headers(response.headers())?;
    let log = serde_json::json!({
        "msg": "request",
        "method": method,
        "route": routes::route_name(&path),
        "status": response.status_code(),
        "duration_ms": worker::Date::now().as_millis().saturating_sub(started),
    });
    crate::log::info(&log.to_string());
    Ok(response)
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    console_error_panic_hook::set_once();
    let now = worker::Date::now().as_millis() / 1000;
    let store = match storage::Bindings::new(env.clone(), None) {
        Ok(store) => store,
        Err(error) => return log::error(&format!("the scheduled run has no storage: {error}")),
    };
    let secrets = app::Secrets {
        current: env.secret("SECRET_KEY").ok().map(|s| s.to_string()),
        previous: env.secret("SECRET_KEY_PREVIOUS").ok().map(|s| s.to_string()),
    };
    if let Err(error) = storage::store::Upkeep::prune(&store, now).await {
        log::error(&format!("scheduled clean-up failed: {}", account::error::cause_chain(&error)));
    }
    if let Err(error) = account::key_rotation::run(&store, &secrets, now).await {
        log::error(&format!("scheduled key rotation failed: {}", account::error::cause_chain(&error)));
    }
    if let Err(error) = account::emails::scheduled(&store).await {
        log::error(&format!("scheduled e-mail normalisation failed: {}", account::error::cause_chain(&error)));
    }
    if let Err(error) = account::alerts::requeue_stale(&store, now).await {
        log::error(&format!("re-queueing unsent alerts failed: {}", account::error::cause_chain(&error)));
    }
}

/// The mail queue's consumer (docs/email.md): each message names an alert, delivered (or, from
/// the dead-letter queue, recorded as failed) on its own; a failed one is retried, never the batch.
#[event(queue)]
async fn queue(batch: MessageBatch<storage::bindings::AlertMessage>, env: Env, _ctx: Context) -> worker::Result<()> {
    console_error_panic_hook::set_once();
    let dead_letters = batch.queue().ends_with("-dlq");
    let store = match storage::Bindings::new(env.clone(), None) {
        Ok(store) => store,
        Err(error) => return Err(worker::Error::RustError(format!("the mail queue has no storage: {error}"))),
    };
    let config = config::Config::of_isolate(&env);
    for message in batch.messages()? {
        let (alert, now) = (&message.body().alert, worker::Date::now().as_millis() / 1000);
        let done = match dead_letters {
            true => account::alerts::give_up(&store, alert, now).await,
            false => account::alerts::deliver(&store, &config, alert, now).await.map(drop),
        };
        match done {
            Ok(()) => message.ack(),
            Err(error) => {
                log::error(&format!("delivering an alert failed: {}", account::error::cause_chain(&error)));
                message.retry();
            }
        }
    }
    Ok(())
}

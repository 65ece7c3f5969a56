//! The runtime's side of a request: the use cases' world ([`Cx`]) made from the request and the
//! environment, and the answer's effects turned into headers. The only module besides the
//! routes that sees `worker::Request`.

use worker::{Context, Env, Method, Request, Response};

use crate::app::{Cx, Effects, Facts, Secrets, SessionCookie};
use crate::config::Config;
use crate::domain::client_address;
use crate::domain::user_agent::{self, ClientHints};
use crate::http::cookies;
use crate::storage::events::Origin;
use crate::storage::Bindings;

const MAX_USER_AGENT_CHARS: usize = 512;
const MAX_PLACE_CHARS: usize = 64;
/// How long a D1 bookmark is kept: read replicas are far closer behind the primary than this.
const BOOKMARK_SECONDS: u64 = 3600;

/// The use cases' world for this request; work after the answer goes to `ctx.wait_until`.
pub fn context(req: &Request, env: Env, ctx: Context) -> Result<Cx<Bindings>, crate::storage::Error> {
    let secrets = Secrets {
        current: env.secret("SECRET_KEY").ok().map(|s| s.to_string()),
        previous: env.secret("SECRET_KEY_PREVIOUS").ok().map(|s| s.to_string()),
    };
    let header = |name: &str| req.headers().get(name).ok().flatten();
    let config = Config::of_isolate(&env);
    let origin = origin_of(req, config.test_places);
    let facts = Facts {
        now: worker::Date::now().as_millis() / 1000,
        config,
        device: user_agent::parse_with_hints(&origin.user_agent, &client_hints(req)),
        origin,
        address_key: client_address::counted_as(header("CF-Connecting-IP").as_deref()),
        secrets,
        request_id: crate::domain::tokens::new_id()
            .map_err(|cause| crate::storage::Error::Randomness(cause.to_string()))?,
    };
    let bookmark = header("Cookie")
        .and_then(|h| cookies::find(&h, cookies::D1_BOOKMARK).map(str::to_string))
        .filter(|b| crate::storage::is_bookmark_shaped(b));
    let store = Bindings::new(env, bookmark)?;
    Ok(Cx { facts, store, effects: Effects::new(move |work| ctx.wait_until(work)) })
}

fn clip(value: String, max: usize) -> String {
    value.chars().filter(|c| !c.is_control()).take(max).collect()
}

fn origin_of(req: &Request, test_places: bool) -> Origin {
    let header = |name: &str| req.headers().get(name).ok().flatten();
    if let Some(place) = header("X-Test-Place").filter(|_| test_places) {
        return test_origin(&place, header("CF-Connecting-IP"), header("User-Agent"));
    }
    let cf = req.cf();
    Origin {
        ip: header("CF-Connecting-IP").map(|ip| clip(ip, 45)),
        country: cf.and_then(|cf| cf.country()).map(|c| clip(c, MAX_PLACE_CHARS)),
        city: cf.and_then(|cf| cf.city()).map(|c| clip(c, MAX_PLACE_CHARS)),
        network: cf.and_then(|cf| cf.asn()).map(|asn| format!("AS{asn}")),
        latitude: cf.and_then(|cf| cf.coordinates()).map(|(lat, _)| f64::from(lat)),
        longitude: cf.and_then(|cf| cf.coordinates()).map(|(_, lon)| f64::from(lon)),
        user_agent: clip(header("User-Agent").unwrap_or_default(), MAX_USER_AGENT_CHARS),
    }
}

/// Tests only (`TEST_PLACES = "1"`, never in production): `X-Test-Place: PT; Lisbon; AS3243;
/// 38.72,-9.14` stands in for `request.cf`'s country, city, network and coordinates, which are
/// not real under `wrangler dev`.
fn test_origin(place: &str, ip: Option<String>, user_agent: Option<String>) -> Origin {
    let mut parts =
        place.split(';').map(|p| Some(clip(p.trim().to_string(), MAX_PLACE_CHARS)).filter(|p| !p.is_empty()));
    let (country, city, network) = (parts.next().flatten(), parts.next().flatten(), parts.next().flatten());
    let coordinates = parts.next().flatten().and_then(|c| {
        let (lat, lon) = c.split_once(',')?;
        Some((lat.trim().parse::<f64>().ok()?, lon.trim().parse::<f64>().ok()?))
    });
    Origin {
        ip: ip.map(|ip| clip(ip, 45)),
        country,
        city,
        network,
        latitude: coordinates.map(|(lat, _)| lat),
        longitude: coordinates.map(|(_, lon)| lon),
        user_agent: clip(user_agent.unwrap_or_default(), MAX_USER_AGENT_CHARS),
    }
}

/// What Chromium browsers say of themselves besides the User-Agent (names the device).
fn client_hints(req: &Request) -> ClientHints {
    let hint = |name: &str| req.headers().get(name).ok().flatten().map(|v| clip(v, MAX_USER_AGENT_CHARS));
    ClientHints { brands: hint("Sec-CH-UA"), platform: hint("Sec-CH-UA-Platform"), mobile: hint("Sec-CH-UA-Mobile") }
}

/// Adds the answer's cookies: the session cookie as the use case left it (a slid `Max-Age` is
/// not sent with a 401), and D1's bookmark after a successful write, so the browser's own
/// writes are visible in its reads near it.
pub fn finish(cx: &Cx<Bindings>, method: &Method, response: &Response) -> worker::Result<()> {
    let status = response.status_code();
    let session = match cx.effects.take_session_cookie() {
        Some(SessionCookie::Refresh { token, max_age }) if status != 401 => {
            Some(cookies::set(cookies::SESSION, &token, max_age))
        }
        Some(SessionCookie::Issue { token, max_age }) => {
            // A browser with DBSC binds the new session to a key it keeps on the device.
            if let Some(offer) = crate::account::device_bound::registration_offer(&cx.facts.secrets, &token, cx.now()) {
                response.headers().set("Secure-Session-Registration", &offer)?;
            }
            Some(cookies::set(cookies::SESSION, &token, max_age))
        }
        Some(SessionCookie::Clear) => {
            // A device-bound session's short cookie goes with it.
            response.headers().append("Set-Cookie", &cookies::clear(crate::domain::dbsc::BOUND_COOKIE))?;
            Some(cookies::clear(cookies::SESSION))
        }
        _ => None,
    };
    if let Some(cookie) = session {
        response.headers().append("Set-Cookie", &cookie)?;
    }
    queue_alerts(cx);
    let writes = !matches!(method, Method::Get | Method::Head);
    if let Some(bookmark) = cx.store.newer_bookmark().filter(|_| writes && status < 400) {
        response.headers().append("Set-Cookie", &cookies::set(cookies::D1_BOOKMARK, &bookmark, BOOKMARK_SECONDS))?;
    }
    Ok(())
}

/// Queues the alerts of the events this request wrote, after the answer (docs/email.md): the
/// request never waits for mail. A lost send leaves the event pending for the daily run.
fn queue_alerts(cx: &Cx<Bindings>) {
    let store = cx.store.clone();
    cx.effects.later("queueing alerts", async move { crate::storage::store::Mail::queue_noted_alerts(&store).await });
}

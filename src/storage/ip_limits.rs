//! Failed sign-ins per client address across accounts (password spraying, SPEC §5.7): each
//! failure is counted by the Workers Rate Limiting binding `SIGN_IN_FAILURES`; once it says an
//! address is over its limit, a KV flag with the limit's period as TTL makes every sign-in from
//! that address wait, before any password is checked (the binding only counts; it cannot be
//! asked without counting). `ip` is the address's key (`App::address_key`: IPv6 per /64).

use worker::{Env, KvError, KvStore};

use super::kv::{KvKey, ThrottledAddressKey};

use super::Error;

/// The period of `SIGN_IN_FAILURES` in wrangler.toml, and so how long an address waits.
pub const PERIOD_SECONDS: u64 = 60;

fn key(ip: &str) -> String {
    ThrottledAddressKey(ip).name()
}

pub async fn is_throttled(kv: &KvStore, ip: &str) -> Result<bool, Error> {
    let key = key(ip);
    Ok(super::retry(|_: &KvError| true, || kv.get(&key).text()).await?.is_some())
}

/// Counts a failed sign-in from `ip`; `true` when the address is now over its limit (it is then
/// flagged for [`PERIOD_SECONDS`]).
pub async fn count_failure(env: &Env, kv: &KvStore, ip: &str) -> Result<bool, Error> {
    let limiter = env.rate_limiter("SIGN_IN_FAILURES")?;
    if limiter.limit(ip.to_string()).await?.success {
        return Ok(false);
    }
    let key = key(ip);
    super::retry(|_: &KvError| true, || async { kv.put(&key, "1")?.expiration_ttl(PERIOD_SECONDS).execute().await })
        .await?;
    Ok(true)
}

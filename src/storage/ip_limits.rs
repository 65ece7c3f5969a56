//! Failed sign-ins per client address across accounts (password spraying, SPEC §5.7): each
//! failure is counted by the Workers Rate Limiting binding `SIGN_IN_FAILURES`. The binding can
//! only count (it cannot be asked without counting), so once it says an address is over its
//! limit, the address is held in D1 (`held_addresses`, see `storage::sign_in`) for the limit's
//! period, where every sign-in's own reservation sees it.

use worker::Env;

use super::Error;

/// The period of `SIGN_IN_FAILURES` in wrangler.toml, and so how long an address is held.
pub const PERIOD_SECONDS: u64 = 60;

/// Counts a failed sign-in from `address`; `true` when the address is now over its limit.
pub async fn count_failure(env: &Env, address: &str) -> Result<bool, Error> {
    let limiter = env.rate_limiter("SIGN_IN_FAILURES")?;
    Ok(!limiter.limit(address.to_string()).await?.success)
}

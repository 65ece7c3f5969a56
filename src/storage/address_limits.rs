//! Requests that cost the worker real work before it knows who is asking, limited per client
//! address (SPEC §5.7: "Sign-up and passkey options are limited per IP too"): a sign-up runs
//! argon2id and writes D1 and KV; a passkey options request writes a challenge to KV. Without a
//! limit, one client could make the worker do that work (and pay for the writes) as fast as it
//! can send. Each such request is counted by a Workers Rate Limiting binding under the address's
//! key (`domain::client_address`: IPv6 per /64) *before* any of that work, and refused while the
//! address is over the limit. Unlike failed sign-ins (`ip_limits`), every request counts, so the
//! binding's own answer is the verdict: no KV flag, no storage touched.
//!
//! The binding counts per Cloudflare location and in fixed windows of its period: a client can
//! get up to twice the limit through across a window's end, and waits at most one period.

use worker::Env;

use super::Error;

/// A per-address limit: one `[[ratelimits]]` binding of wrangler.toml each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerAddress {
    /// `POST /api/auth/signup`.
    SignUps,
    /// Every passkey ceremony's options (each writes a single-use challenge to KV).
    PasskeyOptions,
    /// `POST /api/auth/password-reset` (each may write an event and queue a mail).
    PasswordResets,
}

impl PerAddress {
    /// The name of its binding in wrangler.toml.
    pub const fn binding(self) -> &'static str {
        match self {
            Self::SignUps => "SIGN_UPS",
            Self::PasskeyOptions => "PASSKEY_OPTIONS",
            Self::PasswordResets => "PASSWORD_RESETS",
        }
    }

    /// Its binding's `period` in wrangler.toml: how long an address over the limit waits at
    /// most, and so its `Retry-After`.
    pub const fn period_seconds(self) -> u64 {
        match self {
            Self::SignUps | Self::PasskeyOptions | Self::PasswordResets => 60,
        }
    }
}

/// Counts one request of `limit` from the client whose address key is `address`; `false` when
/// that address is over the limit (nothing else may be done for the request then).
pub async fn admits(env: &Env, limit: PerAddress, address: &str) -> Result<bool, Error> {
    let limiter = env.rate_limiter(limit.binding())?;
    Ok(limiter.limit(address.to_string()).await?.success)
}

#[cfg(test)]
mod tests {
    use super::*;

    const WRANGLER_TOML: &str = include_str!("../../wrangler.toml");

    /// `(table, binding name, period)` of every `[[…ratelimits]]` entry in wrangler.toml.
    fn rate_limits() -> Vec<(String, String, u64)> {
        let mut found = Vec::new();
        let (mut table, mut name) = (String::new(), String::new());
        for line in WRANGLER_TOML.lines().map(str::trim) {
            if line.starts_with('[') {
                table = line.to_string();
            } else if let Some(value) = line.strip_prefix("name = ") {
                name = value.trim_matches('"').to_string();
            } else if let Some(simple) = line.strip_prefix("simple = ").filter(|_| table.ends_with("ratelimits]]")) {
                let period = simple.split("period = ").nth(1).and_then(|p| p.trim_end_matches([' ', '}']).parse().ok());
                found.push((table.clone(), name.clone(), period.expect("a period")));
            }
        }
        found
    }

    #[test]
    fn every_limit_has_its_binding_with_its_period_in_both_environments() {
        let found = rate_limits();
        for limit in [PerAddress::SignUps, PerAddress::PasskeyOptions] {
            for table in ["[[ratelimits]]", "[[env.production.ratelimits]]"] {
                let entry = found.iter().find(|(t, n, _)| t == table && n == limit.binding());
                let period = entry.unwrap_or_else(|| panic!("{table} {} missing", limit.binding())).2;
                assert_eq!(period, limit.period_seconds(), "{table} {}", limit.binding());
            }
        }
    }

    #[test]
    fn the_failed_sign_in_binding_waits_as_long_as_its_period() {
        let failures: Vec<_> = rate_limits().into_iter().filter(|(_, n, _)| n == "SIGN_IN_FAILURES").collect();
        assert_eq!(failures.len(), 2, "both environments: {failures:?}");
        for (table, _, period) in failures {
            assert_eq!(period, super::super::ip_limits::PERIOD_SECONDS, "{table}");
        }
    }
}

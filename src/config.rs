//! Tunables from `wrangler.toml` `[vars]`, with the SPEC's defaults when a var is absent.

use worker::Env;

use crate::domain::password::HashParams;
use crate::domain::throttle::ThrottlePolicy;

#[derive(Debug, Clone)]
pub struct Config {
    pub session_idle_seconds: u64,
    pub session_absolute_seconds: u64,
    pub sudo_seconds: u64,
    pub last_active_write_seconds: u64,
    pub pending_sign_in_seconds: u64,
    pub hash_params: HashParams,
    pub throttle: ThrottlePolicy,
    pub totp_issuer: String,
    /// The public origin links in mails point to (`SITE_URL`, no trailing slash).
    pub site_url: String,
    /// The sender of mails (`MAIL_FROM`): an address of a domain onboarded to Email Service.
    pub mail_from: String,
    /// Pwned Passwords' range API (`PWNED_RANGE_URL`, ending in `/range/`); empty: no breach
    /// check (the built-in common-password list alone).
    pub pwned_range_url: String,
    /// `TEST_PLACES = "1"`: the `X-Test-Place` header stands in for `request.cf`'s place (tests
    /// only; `scripts/deploy-check.sh` refuses a production config that sets it).
    pub test_places: bool,
    /// How long a device-bound session's short cookie lasts (`BOUND_COOKIE_SECONDS`, DBSC; 600).
    pub bound_cookie_seconds: u64,
}

thread_local! {
    static CONFIG: std::cell::OnceCell<Config> = const { std::cell::OnceCell::new() };
}

impl Config {
    /// The config, read from `env` once per isolate: vars cannot change while an isolate lives.
    pub fn of_isolate(env: &Env) -> Self {
        CONFIG.with(|cell| cell.get_or_init(|| Self::from_env(env)).clone())
    }

    pub fn from_env(env: &Env) -> Self {
        let number = |name: &str, default: u64| -> u64 {
            env.var(name).ok().and_then(|v| v.to_string().trim().parse().ok()).unwrap_or(default)
        };
        let text = |name: &str, default: &str| -> String {
            env.var(name).map(|v| v.to_string()).unwrap_or_else(|_| default.to_string())
        };
        let small =
            |name: &str, default: u32| -> u32 { u32::try_from(number(name, default.into())).unwrap_or(default) };
        Self {
            session_idle_seconds: number("SESSION_IDLE_SECONDS", 7 * 24 * 3600),
            session_absolute_seconds: number("SESSION_ABSOLUTE_SECONDS", 30 * 24 * 3600),
            sudo_seconds: number("SUDO_SECONDS", 600),
            last_active_write_seconds: number("LAST_ACTIVE_WRITE_SECONDS", 300),
            pending_sign_in_seconds: number("PENDING_SIGN_IN_SECONDS", 300),
            bound_cookie_seconds: number("BOUND_COOKIE_SECONDS", 600).max(1),
            hash_params: HashParams {
                memory_kib: small("ARGON2_MEMORY_KIB", HashParams::OWASP.memory_kib),
                iterations: small("ARGON2_ITERATIONS", HashParams::OWASP.iterations),
                parallelism: small("ARGON2_PARALLELISM", HashParams::OWASP.parallelism),
            },
            throttle: ThrottlePolicy {
                threshold: small("LOCKOUT_THRESHOLD", ThrottlePolicy::DEFAULT.threshold),
                base_seconds: number("LOCKOUT_BASE_SECONDS", ThrottlePolicy::DEFAULT.base_seconds),
                max_seconds: number("LOCKOUT_MAX_SECONDS", ThrottlePolicy::DEFAULT.max_seconds),
            },
            totp_issuer: text("TOTP_ISSUER", "WEMASY"),
            site_url: text("SITE_URL", "http://localhost:8787").trim_end_matches('/').to_string(),
            mail_from: text("MAIL_FROM", "security@wemasy.example"),
            test_places: text("TEST_PLACES", "") == "1",
            pwned_range_url: text("PWNED_RANGE_URL", "https://api.pwnedpasswords.com/range/"),
        }
    }
}

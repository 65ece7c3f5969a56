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
        let small =
            |name: &str, default: u32| -> u32 { u32::try_from(number(name, default.into())).unwrap_or(default) };
        Self {
            session_idle_seconds: number("SESSION_IDLE_SECONDS", 7 * 24 * 3600),
            session_absolute_seconds: number("SESSION_ABSOLUTE_SECONDS", 30 * 24 * 3600),
            sudo_seconds: number("SUDO_SECONDS", 600),
            last_active_write_seconds: number("LAST_ACTIVE_WRITE_SECONDS", 300),
            pending_sign_in_seconds: number("PENDING_SIGN_IN_SECONDS", 300),
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
            totp_issuer: env.var("TOTP_ISSUER").map(|v| v.to_string()).unwrap_or_else(|_| "WEMASY".into()),
        }
    }
}

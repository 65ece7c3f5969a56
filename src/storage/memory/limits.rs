//! The Workers Rate Limiting bindings (`storage::ip_limits`, `storage::address_limits`): a count
//! per binding and address in fixed windows of the binding's period, with the limits of
//! `wrangler.toml` (one source).

use super::tables::State;

const WRANGLER_TOML: &str = include_str!("../../../wrangler.toml");

/// The `(limit, period)` of the `[[ratelimits]]` binding `name` in wrangler.toml.
fn limit_of(binding: &str) -> (u32, u64) {
    let named = format!("name = \"{binding}\"");
    let mut lines = WRANGLER_TOML.lines().map(str::trim).skip_while(|line| *line != named);
    let simple = lines.find_map(|line| line.strip_prefix("simple = ")).expect("the binding's simple limit");
    let number = |key: &str| -> u64 {
        let after = simple.split(key).nth(1).expect("a key of the simple limit");
        let value = after.trim_start_matches([' ', '=']).split([',', ' ', '}']).next();
        value.and_then(|v| v.parse().ok()).expect("a number")
    };
    (number("limit") as u32, number("period"))
}

impl State {
    /// The count's key: binding, address and the current window of the binding's period.
    pub(super) fn rate_key(&self, binding: &str, address: &str) -> (String, String, u64) {
        let (_, period) = limit_of(binding);
        (binding.to_string(), address.to_string(), self.now / period)
    }

    /// Counts one request of `address` under `binding`; whether it is within the limit (the
    /// binding's `success`).
    pub(super) fn rate_limit(&mut self, binding: &str, address: &str) -> bool {
        let (limit, _) = limit_of(binding);
        let key = self.rate_key(binding, address);
        let count = self.rate.entry(key).or_insert(0);
        *count += 1;
        *count <= limit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_those_of_wrangler_toml() {
        assert_eq!(limit_of("SIGN_IN_FAILURES"), (20, crate::storage::ip_limits::PERIOD_SECONDS));
        assert_eq!(limit_of("SIGN_UPS"), (10, 60));
        assert_eq!(limit_of("PASSKEY_OPTIONS"), (30, 60));
    }
}

//! The cookies (SPEC §3): `__Host-session`, `__Host-pending` and `__Host-device`, and D1's bookmark. The `__Host-` prefix makes
//! the browser refuse them unless they are `Secure`, host-only and `Path=/`.

pub const SESSION: &str = "__Host-session";
pub const PENDING: &str = "__Host-pending";
pub const DEVICE: &str = "__Host-device";
/// Where this browser's last D1 write is (a D1 Sessions API bookmark, no secret): its reads near
/// it see that write.
pub const D1_BOOKMARK: &str = "__Host-d1-bookmark";

/// The value of cookie `name` in a `Cookie` header, if present and non-empty.
pub fn find<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
        .filter(|value| !value.is_empty())
}

pub fn set(name: &str, value: &str, max_age: u64) -> String {
    format!("{name}={value}; Max-Age={max_age}; Path=/; Secure; HttpOnly; SameSite=Lax")
}

pub fn clear(name: &str) -> String {
    format!("{name}=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_cookie_among_others() {
        let header = "theme=dark; __Host-session=abc_-123; other=1";
        assert_eq!(find(header, SESSION), Some("abc_-123"));
        assert_eq!(find(header, PENDING), None);
        assert_eq!(find("__Host-session=", SESSION), None);
        assert_eq!(find("x__Host-session=nope", SESSION), None);
        assert_eq!(find(";;; =;", SESSION), None);
    }

    #[test]
    fn set_cookie_has_the_required_attributes_and_no_domain() {
        let c = set(SESSION, "tok", 60);
        for part in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(c.contains(part), "{c}");
        }
        assert!(!c.to_lowercase().contains("domain"));
    }
}

//! State-changing requests must come from the worker's own pages (SPEC §4): an `Origin` equal to
//! the request's own origin, or, without `Origin`, `Sec-Fetch-Site: same-origin`.

pub fn is_same_origin(request_origin: &str, origin: Option<&str>, sec_fetch_site: Option<&str>) -> bool {
    match origin {
        Some(origin) => origin.eq_ignore_ascii_case(request_origin),
        None => sec_fetch_site == Some("same-origin"),
    }
}

pub fn is_state_changing(method: &worker::Method) -> bool {
    !matches!(method, worker::Method::Get | worker::Method::Head | worker::Method::Options)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_origin_requests_pass() {
        assert!(is_same_origin("https://app.example", Some("https://app.example"), None));
        assert!(is_same_origin("https://app.example", None, Some("same-origin")));
    }

    #[test]
    fn foreign_or_unmarked_requests_fail() {
        assert!(!is_same_origin("https://app.example", Some("https://evil.example"), Some("same-origin")));
        assert!(!is_same_origin("https://app.example", Some("null"), None));
        assert!(!is_same_origin("https://app.example", None, None));
        assert!(!is_same_origin("https://app.example", None, Some("cross-site")));
        assert!(!is_same_origin("https://app.example", Some("https://app.example.evil.example"), None));
    }
}

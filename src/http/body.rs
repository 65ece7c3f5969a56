//! Reading JSON bodies: at most 16 KiB, `application/json` only, and serde's verdict turned into
//! `invalid_json` (not JSON at all) or `invalid_input` (JSON of the wrong shape). A body is read
//! as a stream and refused as soon as more than 16 KiB of it arrived: a chunked body (no
//! `Content-Length`) would otherwise be buffered whole before it could be measured, and a client
//! could hold the request (and the worker's memory) open for as long as it keeps sending.

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use worker::Request;

use super::ApiError;

pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    if let Some(length) = req.headers().get("Content-Length").ok().flatten() {
        if length.trim().parse::<u64>().map_or(true, |n| n > MAX_BODY_BYTES as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
    }
    let content_type = req.headers().get("Content-Type").ok().flatten();
    check_content_type(content_type.as_deref())?;
    let bytes = read_capped(req).await?;
    parse_json(&bytes)
}

/// For endpoints whose body may be left out: none (or an empty one) is `T::default()`; one sent
/// is read as [`read_json`] reads it.
pub async fn read_optional_json<T: DeserializeOwned + Default>(req: &mut Request) -> Result<T, ApiError> {
    refuse_oversized(req)?;
    let bytes = read_capped(req).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    let content_type = req.headers().get("Content-Type").ok().flatten();
    check_content_type(content_type.as_deref())?;
    parse_json(&bytes)
}

/// The body, chunk by chunk, up to [`MAX_BODY_BYTES`]: one byte more is `payload_too_large` at
/// once, whatever is still to come (the rest is never read).
async fn read_capped(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    if req.inner().body().is_none() {
        return Ok(Vec::new());
    }
    let mut stream = req.stream().map_err(unreadable)?;
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if bytes.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(ApiError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A body that cannot be read to its end (the client broke off) is no JSON; the cause is logged.
fn unreadable(error: worker::Error) -> ApiError {
    crate::log::warn(&format!("reading the request body failed: {error}"));
    ApiError::InvalidJson
}

/// For endpoints that take no body: anything sent is ignored, but a huge one is still refused.
pub fn refuse_oversized(req: &Request) -> Result<(), ApiError> {
    match req.headers().get("Content-Length").ok().flatten() {
        Some(length) if length.trim().parse::<u64>().map_or(true, |n| n > MAX_BODY_BYTES as u64) => {
            Err(ApiError::PayloadTooLarge)
        }
        _ => Ok(()),
    }
}

pub fn check_content_type(content_type: Option<&str>) -> Result<(), ApiError> {
    let essence = content_type.unwrap_or("").split(';').next().unwrap_or("").trim();
    if essence.eq_ignore_ascii_case("application/json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType)
    }
}

pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::PayloadTooLarge);
    }
    let value = serde_json::from_slice(bytes).map_err(|error| match error.classify() {
        serde_json::error::Category::Data => ApiError::InvalidInput(describe(&error)),
        // serde reads a struct from an array positionally and calls a too-long one a syntax
        // error, though it is JSON: the wrong shape, not broken JSON.
        _ if serde_json::from_slice::<serde_json::Value>(bytes).is_ok() => {
            ApiError::invalid_input("The request body must be a JSON object.")
        }
        _ => ApiError::InvalidJson,
    })?;
    // serde also fills a struct from an array, positionally; the API takes objects only.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::invalid_input("The request body must be a JSON object."));
    }
    Ok(value)
}

/// serde's own words without its " at line 1 column 9" suffix, as a sentence.
fn describe(error: &serde_json::Error) -> String {
    let text = error.to_string();
    let text = text.split(" at line ").next().unwrap_or(&text);
    let mut chars = text.chars();
    let first = chars.next().map(|c| c.to_uppercase().collect::<String>()).unwrap_or_default();
    format!("{first}{}.", chars.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        email: String,
        password: String,
    }

    #[test]
    fn only_json_content_types_are_accepted() {
        assert!(check_content_type(Some("application/json")).is_ok());
        assert!(check_content_type(Some("Application/JSON; charset=utf-8")).is_ok());
        for bad in
            [None, Some(""), Some("text/plain"), Some("application/x-www-form-urlencoded"), Some("application/jsonx")]
        {
            assert_eq!(check_content_type(bad), Err(ApiError::UnsupportedMediaType));
        }
    }

    #[test]
    fn broken_json_is_invalid_json() {
        for bad in ["", "{", "{\"email\":}", "nul", "{\"email\":\"\\ud800\"}"] {
            assert_eq!(parse_json::<Login>(bad.as_bytes()).unwrap_err(), ApiError::InvalidJson, "{bad}");
        }
    }

    #[test]
    fn nesting_past_the_recursion_limit_is_invalid_json() {
        let deep = "[".repeat(1000);
        assert_eq!(parse_json::<serde_json::Value>(deep.as_bytes()).unwrap_err(), ApiError::InvalidJson);
    }

    #[test]
    fn wrong_shapes_are_invalid_input_with_a_readable_message() {
        let err = parse_json::<Login>(br#"{"email":"a@b.c"}"#).unwrap_err();
        assert_eq!(err, ApiError::InvalidInput("Missing field `password`.".into()));
        for bad in [
            r#"{"email":1,"password":"x"}"#,
            r#"[]"#,
            r#"["a@b.c", "pw"]"#,
            r#"["a@b.c", "pw", null]"#,
            r#"{"email":"a","password":"b","email":"c"}"#,
            r#"{"email":"a","password":"b","admin":true}"#,
        ] {
            assert!(matches!(parse_json::<Login>(bad.as_bytes()), Err(ApiError::InvalidInput(_))), "{bad}");
        }
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = vec![b' '; MAX_BODY_BYTES + 1];
        assert_eq!(parse_json::<Login>(&big).unwrap_err(), ApiError::PayloadTooLarge);
    }
}

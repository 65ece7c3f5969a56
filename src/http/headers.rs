//! Headers on every answer the worker makes (SPEC §5.10). Static assets get the same set from
//! `public/_headers`, so pages and API agree.

use worker::Headers;

pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

pub fn apply_security_headers(headers: &Headers) -> worker::Result<()> {
    headers.set("Content-Security-Policy", CONTENT_SECURITY_POLICY)?;
    headers.set("X-Content-Type-Options", "nosniff")?;
    headers.set("Referrer-Policy", "no-referrer")?;
    headers.set("X-Frame-Options", "DENY")?;
    headers.set("Strict-Transport-Security", "max-age=63072000; includeSubDomains")?;
    headers.set("Cache-Control", "no-store")?;
    Ok(())
}

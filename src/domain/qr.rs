//! The QR code of an `otpauth://` URI, as an SVG the Security page shows during set-up.

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};

/// `None` only if the text is too long for a QR code.
pub fn svg(text: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
    Some(
        code.render::<svg::Color<'_>>()
            .min_dimensions(232, 232)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_otpauth_uri_becomes_an_svg() {
        let svg = super::svg("otpauth://totp/WEMASY:a@b.c?secret=GEZDGNBVGY3TQOJQ&issuer=WEMASY").unwrap();
        assert!(svg.starts_with("<?xml") || svg.starts_with("<svg"), "{}", &svg[..40]);
    }
}

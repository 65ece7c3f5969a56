//! Unicode normalisation of what people type (issue 21 point 9). The same text can arrive as
//! different code points: `é` is one (NFC) or `e` + U+0301 (NFD), depending on the keyboard, the
//! operating system or a password manager. Without normalising, `josé@…` typed both ways names two
//! accounts, and a password set on one device fails on another. So e-mail addresses and
//! passwords are brought to Unicode Normalization Form C (NFC) before anything else looks at them
//! (NIST SP 800-63B-4 §3.1.1.2 for passwords); e-mail addresses are also case-folded.
//!
//! NFC needs the Unicode composition tables (tens of KiB), which the worker's 512 KiB budget has no
//! room for. The JavaScript engine the worker runs in has them already: on wasm32 [`nfc`] calls
//! `String.prototype.normalize("NFC")`; on the host (unit and property tests) it uses the
//! `unicode-normalization` crate. ASCII text, which is always NFC, never leaves Rust.

use std::borrow::Cow;

/// `text` in Normalization Form C.
pub fn nfc(text: &str) -> Cow<'_, str> {
    if text.is_ascii() {
        return Cow::Borrowed(text);
    }
    let normal = nfc_of_non_ascii(text);
    if normal == text {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(normal)
    }
}

#[cfg(target_arch = "wasm32")]
fn nfc_of_non_ascii(text: &str) -> String {
    // Valid UTF-8 in, well-formed UTF-16 through `normalize`, so the way back cannot fail.
    String::from(worker::js_sys::JsString::from(text).normalize("NFC"))
}

#[cfg(not(target_arch = "wasm32"))]
fn nfc_of_non_ascii(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    text.nfc().collect()
}

/// Case folding for comparing e-mail addresses, without a folding table: full lower-casing
/// (`str::to_lowercase`, Unicode's default mapping, locale-free, `Σ` at a word's end to `ς`), then
/// the two places where Unicode's full case folding (CaseFolding.txt, status C + F) differs from
/// it in ways people meet in addresses: `ß` → `ss` (so `ẞ`, which lower-cases to `ß`, folds to
/// `ss` too) and `ς` → `σ`. Other differences between lower-casing and case folding (`ſ`,
/// ligatures such as `ﬁ`, Cherokee, the Greek symbol variants `ϐ ϑ ϕ ϖ ϰ ϱ ϵ`, the iota
/// subscript) are left as lower-casing has them.
pub fn fold_case(text: &str) -> String {
    let lower = text.to_lowercase();
    if !lower.contains(['ß', 'ς']) {
        return lower;
    }
    let mut folded = String::with_capacity(lower.len() + 2);
    for c in lower.chars() {
        match c {
            'ß' => folded.push_str("ss"),
            'ς' => folded.push('σ'),
            c => folded.push(c),
        }
    }
    folded
}

/// The form an e-mail address is stored and looked up in: trimmed, NFC, case-folded
/// ([`fold_case`]), and NFC again (lower-casing can leave a sequence that composes further).
pub fn normal_email(raw: &str) -> String {
    nfc(&fold_case(&nfc(raw.trim()))).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NFC_JOSE: &str = "jos\u{e9}";
    const NFD_JOSE: &str = "jose\u{301}";

    #[test]
    fn nfc_composes_and_leaves_composed_text_alone() {
        assert_eq!(nfc(NFD_JOSE), NFC_JOSE);
        assert!(matches!(nfc(NFC_JOSE), Cow::Borrowed(_)));
        assert!(matches!(nfc("plain ascii"), Cow::Borrowed(_)));
        // Hangul jamo compose to a syllable; a singleton (Ångström sign) becomes Å.
        assert_eq!(nfc("\u{1100}\u{1161}"), "\u{AC00}");
        assert_eq!(nfc("\u{212B}"), "\u{C5}");
        // Canonical reordering of combining marks.
        assert_eq!(nfc("a\u{323}\u{307}"), nfc("a\u{307}\u{323}"));
    }

    #[test]
    fn case_folding_lowers_and_folds_sharp_s_and_final_sigma() {
        assert_eq!(fold_case("Ada@Example.COM"), "ada@example.com");
        assert_eq!(fold_case("Straße"), "strasse");
        assert_eq!(fold_case("STRA\u{1E9E}E"), "strasse");
        assert_eq!(fold_case("ΟΔΥΣΣΕΥΣ"), "οδυσσευσ");
        assert_eq!(fold_case("οδυσσευς"), "οδυσσευσ");
        assert_eq!(fold_case("İ"), "i\u{307}");
    }

    #[test]
    fn nfc_and_nfd_addresses_and_their_cases_are_one_address() {
        let forms = ["José@Example.com", "JOSE\u{301}@example.COM", " jose\u{301}@example.com\t", "JOSÉ@EXAMPLE.COM"];
        for form in forms {
            assert_eq!(normal_email(form), "jos\u{e9}@example.com", "{form:?}");
        }
        assert_eq!(normal_email("Grüße@Bücher.de"), "grüsse@bücher.de");
    }

    #[test]
    fn the_normal_form_is_a_fixed_point() {
        for raw in ["İstanbul@x.tr", "ΣΊΣΥΦΟΣ@x.gr", "A\u{345}\u{301}@x", "ǅ@x", "\u{1E9E}\u{301}@x", NFD_JOSE]
        {
            let once = normal_email(raw);
            assert_eq!(normal_email(&once), once, "{raw:?}");
            assert_eq!(nfc(&once), once.as_str());
        }
    }
}

//! Base32 (RFC 4648 §6, upper-case alphabet, no padding): how TOTP secrets are shown to people
//! and to authenticator apps. The codec is `data-encoding`'s `BASE32_NOPAD`; this module only adds
//! the leniency people need when they type a secret back: any case, spaces, trailing `=`.

use data_encoding::BASE32_NOPAD;

/// Encodes without `=` padding.
pub fn encode(bytes: &[u8]) -> String {
    BASE32_NOPAD.encode(bytes)
}

/// Decodes case-insensitively, ignoring spaces and trailing `=` padding; `None` for any other
/// character, an impossible length or non-zero leftover bits.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.bytes().filter(|b| *b != b' ').map(|b| b.to_ascii_uppercase()).collect();
    let end = symbols.iter().rposition(|b| *b != b'=').map_or(0, |at| at + 1);
    BASE32_NOPAD.decode(&symbols[..end]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC4648: [(&str, &str); 7] = [
        ("", ""),
        ("f", "MY"),
        ("fo", "MZXQ"),
        ("foo", "MZXW6"),
        ("foob", "MZXW6YQ"),
        ("fooba", "MZXW6YTB"),
        ("foobar", "MZXW6YTBOI"),
    ];

    #[test]
    fn encodes_the_rfc_4648_vectors_without_padding() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(encode(plain.as_bytes()), encoded, "{plain}");
        }
    }

    #[test]
    fn decodes_the_rfc_4648_vectors_with_or_without_padding_in_any_case() {
        for (plain, encoded) in RFC4648 {
            assert_eq!(decode(encoded).unwrap(), plain.as_bytes(), "{encoded}");
            assert_eq!(decode(&encoded.to_lowercase()).unwrap(), plain.as_bytes());
            let padded = format!("{encoded}{}", "=".repeat((8 - encoded.len() % 8) % 8));
            assert_eq!(decode(&padded).unwrap(), plain.as_bytes(), "{padded}");
        }
    }

    #[test]
    fn every_length_round_trips() {
        let bytes: Vec<u8> = (0..=255u8).rev().collect();
        for len in 0..64 {
            let slice = &bytes[..len];
            let text = encode(slice);
            assert!(!text.contains('='));
            assert_eq!(decode(&text).unwrap(), slice, "{len}");
        }
    }

    #[test]
    fn a_160_bit_secret_is_32_characters() {
        assert_eq!(encode(&[0xA5; 20]).len(), 32);
        assert_eq!(encode(b"12345678901234567890"), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
    }

    #[test]
    fn garbage_is_refused() {
        for bad in
            ["M", "MZX", "MZXW6Y", "MZ1Q", "MZ=Q", "MZXW6YT!", "MZ", "MZXW6YQ\n", "MZXW6YQ\t", "MZ\u{130}Q", "=MZXQ"]
        {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn reads_a_secret_as_an_authenticator_app_shows_it() {
        // Apps show the secret in lower case, in groups of four.
        assert_eq!(decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq").unwrap(), b"12345678901234567890");
        assert_eq!(decode(" MZXW 6YTB OI== ").unwrap(), b"foobar");
        assert_eq!(decode("=").unwrap(), b"");
    }
}

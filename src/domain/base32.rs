//! Base32 (RFC 4648 §6, upper-case alphabet, no padding): how TOTP secrets are shown to people
//! and to authenticator apps.

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Encodes without `=` padding.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// Decodes case-insensitively, ignoring spaces and trailing `=` padding; `None` for any other
/// character, an impossible length or non-zero leftover bits.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let symbols: Vec<u8> = text.bytes().filter(|b| *b != b' ').collect();
    let symbols = match symbols.iter().position(|b| *b == b'=') {
        Some(at) if symbols[at..].iter().all(|b| *b == b'=') => &symbols[..at],
        Some(_) => return None,
        None => &symbols[..],
    };
    if matches!(symbols.len() % 8, 1 | 3 | 6) {
        return None;
    }
    let mut out = Vec::with_capacity(symbols.len() * 5 / 8);
    let mut buffer: u32 = 0;
    let mut bits = 0u32;
    for &symbol in symbols {
        let value = match symbol.to_ascii_uppercase() {
            c @ b'A'..=b'Z' => c - b'A',
            c @ b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    (buffer == 0).then_some(out)
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
        for bad in ["M", "MZX", "MZXW6Y", "MZ1Q", "MZ=Q", "MZXW6YT!", "MZ"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}

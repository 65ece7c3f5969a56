//! The key a client address is counted under, in every per-address limit (SPEC §5.7): failed
//! sign-ins, sign-ups, passkey options. One IPv4 address is one client, but one IPv6 subscriber
//! gets a whole /64 (usually more) and picks a new address in it at will, so counting IPv6 per
//! address would give each attacker 2^64 budgets: an IPv6 address is counted as its /64. The key
//! is canonical, so that spellings of one /64 (case, zero compression, leading zeros) are one
//! count, and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address it maps.
//! Anything else (no header, garbage) is one shared key: an unreadable address gains no budget
//! of its own. Shown IPs (events, the session list) stay the full address; this is only a key.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The one key of every address that cannot be read.
pub const UNKNOWN: &str = "unknown";

/// The key of the `CF-Connecting-IP` value `connecting_ip`: `203.0.113.7`, `2001:db8:0:2::/64`
/// or [`UNKNOWN`].
pub fn counted_as(connecting_ip: Option<&str>) -> String {
    match connecting_ip.map(str::trim).and_then(|ip| ip.parse::<IpAddr>().ok()) {
        Some(IpAddr::V4(v4)) => dotted(v4),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => dotted(v4),
            None => network_of(v6),
        },
        None => UNKNOWN.to_string(),
    }
}

fn dotted(address: Ipv4Addr) -> String {
    let [a, b, c, d] = address.octets();
    format!("{a}.{b}.{c}.{d}")
}

/// The /64 as its first four groups in lower-case hex without leading zeros: one spelling per
/// network, written here rather than by `Ipv6Addr`'s `Display` (whose zero compression the key
/// does not need, and which would cost the worker's size budget).
fn network_of(address: Ipv6Addr) -> String {
    let [a, b, c, d, ..] = address.segments();
    format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> String {
        counted_as(Some(ip))
    }

    #[test]
    fn an_ipv4_address_is_its_own_key() {
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key(" 198.51.100.1 "), "198.51.100.1");
        assert_ne!(key("203.0.113.7"), key("203.0.113.8"));
    }

    #[test]
    fn an_ipv6_address_is_counted_as_its_slash_64() {
        assert_eq!(key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:ffff:ffff:ffff"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"), "another /64 is another client");
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db9:1:2::1"));
    }

    #[test]
    fn spellings_of_one_slash_64_are_one_key() {
        let spellings = [
            "2001:db8:0:2::abcd",
            "2001:DB8:0:2:0:0:0:ABCD",
            "2001:0db8:0000:0002:0000:0000:0000:0001",
            "2001:db8::2:1:2:3:4",
            "2001:db8:0:2:ffff::",
        ];
        for spelling in spellings {
            assert_eq!(key(spelling), "2001:db8:0:2::/64", "{spelling}");
        }
    }

    #[test]
    fn an_ipv4_mapped_ipv6_address_is_the_ipv4_address() {
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::FFFF:cb00:7107"), "203.0.113.7");
        assert_eq!(key("0:0:0:0:0:ffff:203.0.113.7"), key("203.0.113.7"));
    }

    #[test]
    fn networks_whose_first_64_bits_are_zero_still_get_a_key_of_their_own() {
        assert_eq!(key("::1"), "0:0:0:0::/64");
        assert_ne!(key("::1"), UNKNOWN);
    }

    #[test]
    fn anything_unreadable_shares_one_key() {
        for bad in ["", "   ", "unknown", "localhost", "203.0.113", "203.0.113.256", "01.2.3.4", "fe80::1%eth0", "::g"]
        {
            assert_eq!(key(bad), UNKNOWN, "{bad:?}");
        }
        assert_eq!(counted_as(None), UNKNOWN);
        assert_eq!(key("2001:db8::1/64"), UNKNOWN, "a network is no address");
    }
}

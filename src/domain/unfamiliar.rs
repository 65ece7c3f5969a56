//! What makes a sign-in unfamiliar (issue 24): a country, a network (AS number) or a device this
//! account has not signed in from in the last 90 days, or a place too far from the last sign-in
//! for the time between ("impossible travel", over 1,000 km/h). The flags are computed with the
//! sign-in's event (`storage::events`) and read from its detail here; the owner clears them by
//! saying "This was me".

use serde_json::Value;

/// Faster than any airliner: two sign-ins this far apart for the time between are not one person
/// travelling.
pub const IMPOSSIBLE_KMH: u64 = 1000;

/// A sign-in's flags, as its event's detail holds them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub new_country: bool,
    pub new_network: bool,
    pub new_device: bool,
    /// The speed from the account's last sign-in, when both places are known.
    pub travel_kmh: Option<u64>,
    /// The owner said "This was me".
    pub reviewed: bool,
}

impl Flags {
    pub fn of(detail: &Value) -> Self {
        let flag = |key: &str| detail.get(key).and_then(Value::as_bool).unwrap_or(false);
        Self {
            new_country: flag("new_country"),
            new_network: flag("new_network"),
            new_device: flag("new_device"),
            travel_kmh: detail.get("travel_kmh").and_then(Value::as_u64),
            reviewed: flag("reviewed"),
        }
    }

    pub fn impossible_travel(&self) -> bool {
        self.travel_kmh.is_some_and(|kmh| kmh > IMPOSSIBLE_KMH)
    }

    /// Why the sign-in is unfamiliar, in a stable order; empty: it is not.
    pub fn reasons(&self) -> Vec<&'static str> {
        let all = [
            (self.new_country, "new_country"),
            (self.new_network, "new_network"),
            (self.new_device, "new_device"),
            (self.impossible_travel(), "impossible_travel"),
        ];
        all.into_iter().filter(|(on, _)| *on).map(|(_, reason)| reason).collect()
    }

    /// Unfamiliar and not yet reviewed by the owner.
    pub fn to_review(&self) -> bool {
        !self.reviewed && !self.reasons().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sign_in_from_a_known_place_and_device_is_familiar() {
        let flags =
            Flags::of(&json!({ "method": "password", "new_device": false, "new_country": false, "travel_kmh": 3 }));
        assert!(flags.reasons().is_empty());
        assert!(!flags.to_review());
    }

    #[test]
    fn each_new_thing_is_a_reason_in_a_stable_order() {
        let flags =
            Flags::of(&json!({ "new_device": true, "new_network": true, "new_country": true, "travel_kmh": 9000 }));
        assert_eq!(flags.reasons(), ["new_country", "new_network", "new_device", "impossible_travel"]);
    }

    #[test]
    fn travel_is_impossible_only_over_a_thousand_km_an_hour() {
        assert!(!Flags::of(&json!({ "travel_kmh": 1000 })).impossible_travel());
        assert!(Flags::of(&json!({ "travel_kmh": 1001 })).impossible_travel());
        assert!(!Flags::of(&json!({})).impossible_travel());
    }

    #[test]
    fn a_reviewed_sign_in_needs_no_review_and_keeps_its_reasons() {
        let flags = Flags::of(&json!({ "new_country": true, "reviewed": true }));
        assert_eq!(flags.reasons(), ["new_country"]);
        assert!(!flags.to_review());
    }

    #[test]
    fn a_detail_of_another_shape_has_no_flags() {
        assert_eq!(Flags::of(&json!("text")), Flags::default());
        assert_eq!(Flags::of(&json!({ "new_country": "yes", "travel_kmh": -5 })), Flags::default());
    }
}

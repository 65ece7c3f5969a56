//! Which events mail whom (docs/email.md): decided when the queued alert is delivered, from the
//! event and the account as they are then, so a request never waits on the rule and a retried
//! delivery decides the same way. Until an address is verified, only the mail that verifies it
//! is ever sent to it; new-sign-in alerts can be switched off, the others cannot.

use serde_json::Value;

/// How long each link in a mail works.
pub const VERIFY_SECONDS: u64 = 24 * 3600;
pub const RESET_SECONDS: u64 = 30 * 60;
pub const NOT_ME_SECONDS: u64 = 7 * 24 * 3600;
/// Recovery codes left at which their use is mailed (the seed's "running low").
pub const FEW_RECOVERY_CODES: u64 = 3;

/// The account and the event as the delivery finds them.
pub struct Situation<'a> {
    pub kind: &'a str,
    pub detail: &'a Value,
    /// The account's address now, and whether it is verified.
    pub email: &'a str,
    pub verified: bool,
    pub new_sign_in_alerts: bool,
    /// A sign-in or sign-up from the same country and network in the 90 days before.
    pub familiar_place: bool,
}

/// What the delivery does.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Send the event's mail to this address.
    Send(String),
    Skip,
}

pub fn decide(s: &Situation) -> Decision {
    let to_account = |send: bool| if send { Decision::Send(s.email.to_string()) } else { Decision::Skip };
    let text = |key: &str| s.detail.get(key).and_then(Value::as_str).map(str::to_string);
    let flag = |key: &str| s.detail.get(key).and_then(Value::as_bool).unwrap_or(false);
    match s.kind {
        "account_created" | "email_verification_requested" => to_account(!s.verified),
        "email_change_requested" => text("to").map_or(Decision::Skip, Decision::Send),
        "email_changed" => match text("from") {
            Some(from) if flag("from_verified") => Decision::Send(from),
            _ => Decision::Skip,
        },
        "sign_in" => {
            let unfamiliar = !crate::domain::unfamiliar::Flags::of(s.detail).reasons().is_empty();
            to_account(s.verified && s.new_sign_in_alerts && (unfamiliar || !s.familiar_place))
        }
        "recovery_code_used" => {
            let remaining = s.detail.get("remaining").and_then(Value::as_u64).unwrap_or(u64::MAX);
            to_account(s.verified && remaining <= FEW_RECOVERY_CODES)
        }
        "password_reset_requested"
        | "password_changed"
        | "password_reset"
        | "two_factor_disabled"
        | "recovery_codes_regenerated"
        | "passkey_added"
        | "passkey_removed"
        | "password_breached" => to_account(s.verified),
        _ => Decision::Skip,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn situation<'a>(kind: &'a str, detail: &'a Value) -> Situation<'a> {
        Situation {
            kind,
            detail,
            email: "ana@example.com",
            verified: true,
            new_sign_in_alerts: true,
            familiar_place: true,
        }
    }

    fn send() -> Decision {
        Decision::Send("ana@example.com".into())
    }

    #[test]
    fn an_unverified_address_gets_only_its_verification_mail() {
        let none = json!({});
        for kind in ["password_changed", "two_factor_disabled", "passkey_added", "password_reset_requested"] {
            assert_eq!(decide(&Situation { verified: false, ..situation(kind, &none) }), Decision::Skip, "{kind}");
        }
        assert_eq!(decide(&Situation { verified: false, ..situation("account_created", &none) }), send());
        assert_eq!(decide(&situation("account_created", &none)), Decision::Skip);
        assert_eq!(decide(&situation("email_verification_requested", &none)), Decision::Skip);
    }

    #[test]
    fn a_sign_in_mails_only_from_a_new_device_or_place_and_only_while_alerts_are_on() {
        let known = json!({ "method": "password", "new_device": false });
        let new = json!({ "method": "password", "new_device": true });
        assert_eq!(decide(&situation("sign_in", &known)), Decision::Skip);
        assert_eq!(decide(&situation("sign_in", &new)), send());
        assert_eq!(decide(&Situation { familiar_place: false, ..situation("sign_in", &known) }), send());
        assert_eq!(decide(&Situation { new_sign_in_alerts: false, ..situation("sign_in", &new) }), Decision::Skip);
    }

    #[test]
    fn recovery_codes_mail_when_three_or_fewer_are_left() {
        assert_eq!(decide(&situation("recovery_code_used", &json!({ "remaining": 4 }))), Decision::Skip);
        assert_eq!(decide(&situation("recovery_code_used", &json!({ "remaining": 3 }))), send());
        assert_eq!(decide(&situation("recovery_code_used", &json!({ "remaining": 0 }))), send());
    }

    #[test]
    fn an_address_change_confirms_the_new_address_and_tells_the_old_one_if_it_was_verified() {
        let requested = json!({ "to": "new@example.com" });
        assert_eq!(decide(&situation("email_change_requested", &requested)), Decision::Send("new@example.com".into()));
        let changed = json!({ "from": "old@example.com", "to": "ana@example.com", "from_verified": true });
        assert_eq!(decide(&situation("email_changed", &changed)), Decision::Send("old@example.com".into()));
        let unverified = json!({ "from": "old@example.com", "from_verified": false });
        assert_eq!(decide(&situation("email_changed", &unverified)), Decision::Skip);
    }

    #[test]
    fn events_that_never_mail_are_skipped() {
        let none = json!({});
        for kind in ["sign_in_failed", "session_revoked", "alert_sent", "reported_not_me", "email_verified"] {
            assert_eq!(decide(&situation(kind, &none)), Decision::Skip, "{kind}");
        }
    }
}

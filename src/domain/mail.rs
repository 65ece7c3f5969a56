//! The security mails: what each one says, in plain text and HTML (docs/email.md).
//!
//! A security mail tells the owner what just happened to their account (a new sign-in, a changed
//! password, a passkey added, …), when (UTC), from which device and where, and carries the one
//! link that helps: "This wasn't me", or the link they asked for (verify, confirm a change,
//! reset). It is rendered from the event alone (its kind, detail, time and origin, and the link
//! the caller made), never from the account's state now, so a retried delivery renders the same
//! mail. Whether an event of a mailing kind is mailed at all is decided before (`account::alerts`).
//!
//! Every value that comes from outside (device, place, addresses, IP, links) is HTML-escaped in
//! the HTML body; the plain-text body carries the same words and the bare URL on its own line.

use super::countries;
use serde_json::Value;

/// What the one link of a mail does: the purpose of the token the caller makes for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Verify,
    ConfirmChange,
    Reset,
    NotMe,
}

impl Link {
    /// The token's purpose in `email_tokens`.
    pub fn purpose(self) -> &'static str {
        match self {
            Self::Verify => "verify",
            Self::ConfirmChange => "change",
            Self::Reset => "reset",
            Self::NotMe => "not_me",
        }
    }

    /// How long the link works, in seconds (the mail says it in words: `lasts`).
    pub fn valid_for(self) -> u64 {
        match self {
            Self::Verify | Self::ConfirmChange => 24 * 3600,
            Self::Reset => 30 * 60,
            Self::NotMe => 7 * 24 * 3600,
        }
    }

    fn lasts(self) -> &'static str {
        match self {
            Self::Verify | Self::ConfirmChange => "24 hours",
            Self::Reset => "30 minutes",
            Self::NotMe => "7 days",
        }
    }
}

/// Everything a mail says, taken from the event and the caller's link.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// The event type, e.g. "sign_in", "password_changed".
    pub kind: &'a str,
    /// The event's detail, e.g. `{"remaining": 2}` for `recovery_code_used`.
    pub detail: &'a Value,
    /// When it happened, in unix seconds.
    pub at: u64,
    /// The session list's words for the device, e.g. "Chrome on Windows".
    pub device: &'a str,
    pub city: Option<&'a str>,
    /// The 2-letter country code Cloudflare gave.
    pub country: Option<&'a str>,
    pub ip: Option<&'a str>,
    /// The full URL of the mail's link, already made by the caller.
    pub link: Option<&'a str>,
    /// The site's base URL, e.g. "https://wemasy.example".
    pub site: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub subject: String,
    pub text: String,
    pub html: String,
    pub link: Option<Link>,
}

/// A paragraph of plain words, ending with a URL on its own line when it has one.
struct Para {
    words: String,
    url: Option<String>,
}

/// A mail before it is written out as text and HTML: every string here is unescaped.
struct Body {
    subject: String,
    lead: String,
    facts: Vec<(&'static str, String)>,
    /// Paragraphs before the link; the last one introduces it. Left out when there is no link.
    intro: Vec<String>,
    button: &'static str,
    after: Vec<Para>,
}

const SIGN_OFF: &str = "— WEMASY account security";
const IF_NOT_ME: &str = "If this wasn't you, someone may have your password. Use this link to end every session \
                         and choose a new password (the link works once, for 7 days):";

/// The mail an event sends, or None when its kind sends none.
pub fn render(facts: &Facts) -> Option<Mail> {
    let link = link_of(facts.kind)?;
    let body = match link {
        Link::Verify => verify(facts),
        Link::ConfirmChange => confirm_change(facts),
        Link::Reset => reset(facts),
        Link::NotMe => alert(facts, what_happened(facts)?),
    };
    Some(Mail { text: text(&body, facts.link), html: html(&body, facts.link), subject: body.subject, link: Some(link) })
}

/// The kinds whose mail is an alert, with the "This wasn't me" link.
const ALERTS: [&str; 10] = [
    "email_changed",
    "password_breached",
    "sign_in",
    "password_changed",
    "password_reset",
    "two_factor_disabled",
    "recovery_codes_regenerated",
    "recovery_code_used",
    "passkey_added",
    "passkey_removed",
];

/// Which link (token purpose) a kind's mail carries (the caller creates the token before
/// rendering); None when the kind sends no mail.
pub fn link_of(kind: &str) -> Option<Link> {
    match kind {
        "account_created" | "email_verification_requested" => Some(Link::Verify),
        "email_change_requested" => Some(Link::ConfirmChange),
        "password_reset_requested" => Some(Link::Reset),
        kind if ALERTS.contains(&kind) => Some(Link::NotMe),
        _ => None,
    }
}

/// "Lisbon, Portugal", "Portugal", "Lisbon" or "an unknown place".
pub fn place(city: Option<&str>, country: Option<&str>) -> String {
    let city = city.map(str::trim).filter(|c| !c.is_empty());
    match (city, country.and_then(countries::name)) {
        (Some(city), Some(country)) => format!("{city}, {country}"),
        (Some(city), None) => city.to_string(),
        (None, Some(country)) => country.to_string(),
        (None, None) => "an unknown place".to_string(),
    }
}

/// Day 0, 1970-01-01, was a Thursday.
const WEEKDAYS: [&str; 7] = ["Thursday", "Friday", "Saturday", "Sunday", "Monday", "Tuesday", "Wednesday"];
#[rustfmt::skip]
const MONTHS: [&str; 12] = [
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
];

/// "Friday, 4 December 2026 at 20:19 UTC".
pub fn when(at: u64) -> String {
    let (days, seconds) = (at / 86_400, at % 86_400);
    let (year, month, day) = civil_from_days(days);
    let weekday = WEEKDAYS[(days % 7) as usize];
    let (hour, minute) = (seconds / 3600, seconds % 3600 / 60);
    format!("{weekday}, {day} {} {year} at {hour:02}:{minute:02} UTC", MONTHS[month as usize - 1])
}

/// (year, month 1–12, day 1–31) of a day counted from 1970-01-01 (Howard Hinnant's
/// `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// HTML-escapes a value for text content and attribute values alike.
pub fn escape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A string value of the event's detail, when present and not empty.
fn detail_text<'a>(facts: &Facts<'a>, key: &str) -> Option<&'a str> {
    facts.detail.get(key)?.as_str().map(str::trim).filter(|s| !s.is_empty())
}

/// When, which device, where and from which address.
fn origin(facts: &Facts) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("When", when(facts.at)),
        ("Device", if facts.device.trim().is_empty() { "an unknown device".into() } else { facts.device.into() }),
        ("Where", place(facts.city, facts.country)),
    ];
    if let Some(ip) = facts.ip.map(str::trim).filter(|ip| !ip.is_empty()) {
        rows.push(("IP address", ip.to_string()));
    }
    rows
}

fn verify(facts: &Facts) -> Body {
    Body {
        subject: "Verify your e-mail address".into(),
        lead: "Please confirm that this is the e-mail address of your WEMASY account, so that we can tell you \
               about its security and help you if you forget your password."
            .into(),
        facts: origin(facts),
        intro: vec![format!("Use this link to verify it (the link works once, for {}):", Link::Verify.lasts())],
        button: "Verify my e-mail address",
        after: vec![plain("If you didn't ask for this, you can ignore this e-mail.")],
    }
}

fn confirm_change(facts: &Facts) -> Body {
    let lead = match detail_text(facts, "to") {
        Some(to) => format!("You asked to change the e-mail address of your WEMASY account to {to}."),
        None => "You asked to change the e-mail address of your WEMASY account to this one.".into(),
    };
    Body {
        subject: "Confirm your new e-mail address".into(),
        lead,
        facts: origin(facts),
        intro: vec![format!(
            "The address changes only when you confirm it. Use this link to confirm it (the link works once, for {}):",
            Link::ConfirmChange.lasts()
        )],
        button: "Confirm my new address",
        after: vec![plain("If you didn't ask for this, you can ignore this e-mail; the address stays the same.")],
    }
}

fn reset(facts: &Facts) -> Body {
    Body {
        subject: "Reset your password".into(),
        lead: "Someone asked to reset the password of the WEMASY account that uses this e-mail address.".into(),
        facts: origin(facts),
        intro: vec![format!(
            "Use this link to choose a new password (the link works once, for {}):",
            Link::Reset.lasts()
        )],
        button: "Choose a new password",
        after: vec![plain("If you didn't ask for this, you can ignore this e-mail; your password stays the same.")],
    }
}

/// The alerts whose words depend on nothing but their kind: (kind, subject, first paragraph).
const FIXED_ALERTS: [(&str, &str, &str); 5] = [
    ("password_changed", "Your password was changed", "The password of your WEMASY account was changed."),
    (
        "password_reset",
        "Your password was changed",
        "The password of your WEMASY account was reset with a link sent to this address, and every device was \
         signed out.",
    ),
    (
        "two_factor_disabled",
        "Two-factor authentication was turned off",
        "Two-factor authentication was turned off for your WEMASY account: signing in no longer asks for a code \
         from an authenticator app.",
    ),
    (
        "password_breached",
        "Your password appeared in a data breach",
        "The password you signed in with has appeared in data breaches of other services, so attackers try it \
         first. Change it now on your Security page to one you have never used anywhere else.",
    ),
    (
        "recovery_codes_regenerated",
        "New recovery codes were made",
        "New recovery codes were made for your WEMASY account. The old ones no longer work.",
    ),
];

/// An alert's subject and its first paragraph, per kind; None for a kind that is not an alert.
fn what_happened(facts: &Facts) -> Option<(String, String)> {
    match facts.kind {
        "email_changed" => Some(("Your e-mail address was changed".into(), email_changed(facts))),
        "sign_in" => Some(("New sign-in to your WEMASY account".into(), sign_in(facts))),
        "recovery_code_used" => Some(recovery_code_used(facts)),
        "passkey_added" => Some(passkey(facts, "A passkey was added to your account", "was added to")),
        "passkey_removed" => Some(passkey(facts, "A passkey was removed from your account", "was removed from")),
        kind => FIXED_ALERTS
            .iter()
            .find(|(fixed, _, _)| *fixed == kind)
            .map(|(_, subject, lead)| (subject.to_string(), lead.to_string())),
    }
}

fn email_changed(facts: &Facts) -> String {
    let account = "The e-mail address of your WEMASY account was changed";
    match (detail_text(facts, "from"), detail_text(facts, "to")) {
        (Some(from), Some(to)) => format!("{account} from {from} to {to}."),
        (None, Some(to)) => format!("{account} to {to}."),
        (Some(from), None) => format!("{account} from {from}."),
        (None, None) => format!("{account}."),
    }
}

fn sign_in(facts: &Facts) -> String {
    let flag = |key: &str| facts.detail.get(key).and_then(Value::as_bool).unwrap_or(false);
    match (flag("new_device"), flag("new_place")) {
        (true, _) => "Someone signed in to your WEMASY account from a new device.".into(),
        (false, true) => "Someone signed in to your WEMASY account from a new place.".into(),
        (false, false) => "Someone signed in to your WEMASY account.".into(),
    }
}

fn recovery_code_used(facts: &Facts) -> (String, String) {
    let used = "One of your WEMASY recovery codes was used in place of a code from your authenticator app.";
    let make_more = "You can make new ones on your Security page.";
    let (subject, extra) = match facts.detail.get("remaining").and_then(Value::as_u64) {
        None => return ("A recovery code was used".into(), used.into()),
        Some(0) => (
            "You have no recovery codes left".to_string(),
            " Without them, losing your authenticator app could lock you out of your account.",
        ),
        Some(1) => ("You have 1 recovery code left".to_string(), ""),
        Some(n) => (format!("You have {n} recovery codes left"), ""),
    };
    let lead = format!("{used} {subject}.{extra} {make_more}");
    (subject, lead)
}

fn passkey(facts: &Facts, subject: &str, verb: &str) -> (String, String) {
    let lead = match detail_text(facts, "name") {
        Some(name) => format!("A passkey named \"{name}\" {verb} your WEMASY account."),
        None => format!("A passkey {verb} your WEMASY account."),
    };
    (subject.to_string(), lead)
}

/// An alert: what happened, the origin, "This wasn't me", and the help page's advice.
fn alert(facts: &Facts, (subject, lead): (String, String)) -> Body {
    Body {
        subject,
        lead,
        facts: origin(facts),
        intro: match facts.kind {
            // A finding, not something someone did: there is something to do either way.
            "password_breached" => vec![IF_NOT_ME.into()],
            _ => vec!["If this was you, you don't need to do anything.".into(), IF_NOT_ME.into()],
        },
        button: "This wasn't me",
        after: vec![
            plain(
                "Review your active sessions regularly to make sure you recognize all sessions. If you suspect \
                 unauthorized access to your account, change your password immediately and end all unfamiliar \
                 sessions from the Active sessions overview.",
            ),
            Para {
                words: "You can manage your password, two-factor authentication and active sessions from one place, \
                        your Security page:"
                    .into(),
                url: Some(format!("{}/security", facts.site.trim_end_matches('/'))),
            },
        ],
    }
}

fn plain(words: &str) -> Para {
    Para { words: words.into(), url: None }
}

/// The plain-text body: paragraphs, the origin as "Label: value" lines, each URL on its own line.
fn text(body: &Body, link: Option<&str>) -> String {
    let mut paras = vec![body.lead.clone()];
    paras.push(body.facts.iter().map(|(label, value)| format!("{label}: {value}")).collect::<Vec<_>>().join("\n"));
    if let Some(url) = link {
        paras.extend(body.intro.iter().cloned());
        if let Some(last) = paras.last_mut() {
            *last = format!("{last}\n{url}");
        }
    }
    for para in &body.after {
        paras.push(match &para.url {
            Some(url) => format!("{}\n{url}", para.words),
            None => para.words.clone(),
        });
    }
    paras.push(SIGN_OFF.into());
    paras.join("\n\n") + "\n"
}

const P: &str = "margin:0 0 16px";
const SMALL: &str = "margin:0 0 16px;font-size:14px;color:#555555";
const BUTTON: &str = "display:inline-block;padding:10px 18px;background:#1a56db;color:#ffffff;\
                      text-decoration:none;border-radius:6px;font-weight:600";

/// The HTML body: a small, self-contained, accessible document; every value escaped.
fn html(body: &Body, link: Option<&str>) -> String {
    let mut out = format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{subject}</title>\n</head>\n\
         <body style=\"margin:0;padding:24px;background:#ffffff;color:#1a1a1a;\
         font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5\">\n\
         <main style=\"max-width:560px;margin:0 auto\">\n\
         <h1 style=\"font-size:20px;line-height:1.3;margin:0 0 16px\">{subject}</h1>\n<p style=\"{P}\">{lead}</p>\n",
        subject = escape(&body.subject),
        lead = escape(&body.lead),
    );
    out += &html_facts(&body.facts);
    if let Some(url) = link {
        out += &html_link(body, url);
    }
    for para in &body.after {
        let url = para.url.as_deref().map(|u| format!(" <a href=\"{0}\" style=\"color:#1a56db\">{0}</a>", escape(u)));
        out += &format!("<p style=\"{P}\">{}{}</p>\n", escape(&para.words), url.unwrap_or_default());
    }
    out += &format!("<p style=\"{SMALL}\">{}</p>\n</main>\n</body>\n</html>\n", escape(SIGN_OFF));
    out
}

/// The origin as a two-column table, each row headed by its label.
fn html_facts(facts: &[(&'static str, String)]) -> String {
    let mut out = String::from("<table style=\"border-collapse:collapse;margin:0 0 16px\">\n");
    for (label, value) in facts {
        out += &format!(
            "<tr><th scope=\"row\" style=\"text-align:left;font-weight:600;padding:2px 16px 2px 0;\
             vertical-align:top\">{}</th><td style=\"padding:2px 0\">{}</td></tr>\n",
            escape(label),
            escape(value)
        );
    }
    out + "</table>\n"
}

/// The link's introduction, the link as a button, and its URL as text.
fn html_link(body: &Body, url: &str) -> String {
    let url = escape(url);
    let mut out: String = body.intro.iter().map(|p| format!("<p style=\"{P}\">{}</p>\n", escape(p))).collect();
    out += &format!("<p style=\"{P}\"><a href=\"{url}\" style=\"{BUTTON}\">{}</a></p>\n", escape(body.button));
    out += &format!(
        "<p style=\"{SMALL}\">If the button doesn't work, copy this address into your browser:<br>\
         <span style=\"word-break:break-all\">{url}</span></p>\n"
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SITE: &str = "https://wemasy.example";
    const LINK: &str = "https://wemasy.example/not-me#token=abc";

    fn facts<'a>(kind: &'a str, detail: &'a Value) -> Facts<'a> {
        Facts {
            kind,
            detail,
            at: 1_796_415_540,
            device: "Chrome on Windows",
            city: Some("Lisbon"),
            country: Some("PT"),
            ip: Some("203.0.113.7"),
            link: Some(LINK),
            site: SITE,
        }
    }

    fn mail(kind: &str, detail: Value) -> Mail {
        render(&facts(kind, &detail)).unwrap_or_else(|| panic!("{kind} sends a mail"))
    }

    #[test]
    fn every_mailing_kind_has_its_subject_and_link() {
        let cases = [
            ("account_created", "Verify your e-mail address", Link::Verify),
            ("email_verification_requested", "Verify your e-mail address", Link::Verify),
            ("email_change_requested", "Confirm your new e-mail address", Link::ConfirmChange),
            ("email_changed", "Your e-mail address was changed", Link::NotMe),
            ("password_reset_requested", "Reset your password", Link::Reset),
            ("sign_in", "New sign-in to your WEMASY account", Link::NotMe),
            ("password_changed", "Your password was changed", Link::NotMe),
            ("password_reset", "Your password was changed", Link::NotMe),
            ("two_factor_disabled", "Two-factor authentication was turned off", Link::NotMe),
            ("recovery_codes_regenerated", "New recovery codes were made", Link::NotMe),
            ("recovery_code_used", "You have 2 recovery codes left", Link::NotMe),
            ("passkey_added", "A passkey was added to your account", Link::NotMe),
            ("passkey_removed", "A passkey was removed from your account", Link::NotMe),
        ];
        for (kind, subject, link) in cases {
            let mail = mail(kind, json!({ "remaining": 2 }));
            assert_eq!(mail.subject, subject, "{kind}");
            assert_eq!(mail.link, Some(link), "{kind}");
            assert_eq!(link_of(kind), Some(link), "{kind}");
            assert!(mail.text.contains(&format!("\n{LINK}\n")), "{kind}: the bare URL on its own line");
            assert!(mail.html.contains(&format!("<title>{}</title>", escape(subject))), "{kind}");
        }
    }

    #[test]
    fn kinds_that_do_not_mail_render_nothing() {
        for kind in ["sign_in_failed", "sign_out", "two_factor_enabled", "alert_sent", "email_verified", ""] {
            assert_eq!(render(&facts(kind, &json!({}))), None, "{kind}");
            assert_eq!(link_of(kind), None, "{kind}");
        }
    }

    #[test]
    fn links_name_their_token_purpose_and_lifetime() {
        assert_eq!(Link::Verify.purpose(), "verify");
        assert_eq!(Link::ConfirmChange.purpose(), "change");
        assert_eq!(Link::Reset.purpose(), "reset");
        assert_eq!(Link::NotMe.purpose(), "not_me");
        assert_eq!(Link::Reset.valid_for(), 1800);
        assert_eq!(Link::NotMe.valid_for(), 7 * 86_400);
        assert_eq!(Link::Verify.valid_for(), 86_400);
    }

    #[test]
    fn when_reads_the_epoch_as_a_thursday() {
        assert_eq!(when(0), "Thursday, 1 January 1970 at 00:00 UTC");
    }

    #[test]
    fn when_reads_a_time_in_2026_like_python_does() {
        // python3: datetime.fromtimestamp(1796415540, timezone.utc) == 2026-12-04 20:19:00, a Friday
        assert_eq!(when(1_796_415_540), "Friday, 4 December 2026 at 20:19 UTC");
    }

    #[test]
    fn when_knows_leap_days_and_the_days_around_them() {
        assert_eq!(when(1_709_237_940), "Thursday, 29 February 2024 at 20:19 UTC");
        assert_eq!(when(1_709_164_800 + 86_400), "Friday, 1 March 2024 at 00:00 UTC");
        assert_eq!(when(951_868_799), "Tuesday, 29 February 2000 at 23:59 UTC");
        assert_eq!(when(4_107_542_400), "Monday, 1 March 2100 at 00:00 UTC");
    }

    #[test]
    fn place_names_the_city_and_country_it_knows() {
        assert_eq!(place(Some("Lisbon"), Some("PT")), "Lisbon, Portugal");
        assert_eq!(place(None, Some("pt")), "Portugal");
        assert_eq!(place(Some("Lisbon"), None), "Lisbon");
        assert_eq!(place(Some(" "), Some("GB")), "United Kingdom");
        assert_eq!(place(None, None), "an unknown place");
    }

    #[test]
    fn place_leaves_out_unknown_and_tor_country_codes() {
        assert_eq!(place(Some("Lisbon"), Some("XX")), "Lisbon");
        assert_eq!(place(None, Some("T1")), "an unknown place");
        assert_eq!(place(None, Some("ZZ")), "an unknown place");
    }

    #[test]
    fn escape_replaces_the_five_html_specials() {
        assert_eq!(escape(r#"<a href="x">&'</a>"#), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
    }

    #[test]
    fn a_hostile_device_and_link_are_escaped_in_html_and_verbatim_in_text() {
        let detail = json!({});
        let link = "https://wemasy.example/not-me#token=a\"onmouseover=\"x";
        let f = Facts { device: "<script>alert(1)</script>", link: Some(link), ..facts("sign_in", &detail) };
        let mail = render(&f).unwrap();
        assert!(!mail.html.contains("<script>"));
        assert!(mail.html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!mail.html.contains("a\"onmouseover"));
        assert!(mail.html.contains("href=\"https://wemasy.example/not-me#token=a&quot;onmouseover=&quot;x\""));
        assert!(mail.text.contains("Device: <script>alert(1)</script>"));
        assert!(mail.text.contains(&format!("\n{link}\n")));
    }

    #[test]
    fn addresses_and_passkey_names_are_escaped_in_html() {
        let detail = json!({ "from": "a&b@example.com", "to": "<x>@example.com", "name": "Eve's \"key\"" });
        let changed = mail("email_changed", detail.clone());
        assert!(changed.html.contains("from a&amp;b@example.com to &lt;x&gt;@example.com."));
        assert!(changed.text.contains("from a&b@example.com to <x>@example.com."));
        let added = mail("passkey_added", detail);
        assert!(added.html.contains("&quot;Eve&#39;s &quot;key&quot;&quot;"));
    }

    #[test]
    fn an_alert_says_what_when_which_device_where_and_this_was_not_me() {
        let mail = mail("sign_in", json!({ "new_device": true }));
        for body in [&mail.text, &mail.html] {
            assert!(body.contains("Someone signed in to your WEMASY account from a new device."));
            assert!(body.contains("Friday, 4 December 2026 at 20:19 UTC"));
            assert!(body.contains("Chrome on Windows"));
            assert!(body.contains("Lisbon, Portugal"));
            assert!(body.contains("203.0.113.7"));
            assert!(body.contains("https://wemasy.example/security"));
            assert!(body.contains("— WEMASY account security"));
        }
        assert!(mail.text.contains(&format!("{IF_NOT_ME}\n{LINK}\n")));
        assert!(mail.text.contains("change your password immediately and end all unfamiliar sessions"));
        assert!(mail.html.contains(&format!("<a href=\"{LINK}\" style=\"{BUTTON}\">This wasn&#39;t me</a>")));
    }

    #[test]
    fn an_email_change_alert_says_from_which_address_to_which() {
        let mail = mail("email_changed", json!({ "from": "old@example.com", "to": "new@example.com" }));
        assert!(mail.text.contains("was changed from old@example.com to new@example.com."));
    }

    #[test]
    fn the_reset_mail_says_how_long_its_link_works_and_that_ignoring_it_is_safe() {
        let mail = mail("password_reset_requested", json!({}));
        assert!(mail.text.contains("(the link works once, for 30 minutes):\nhttps://"));
        assert!(mail
            .text
            .contains("If you didn't ask for this, you can ignore this e-mail; your password stays the same."));
        assert!(!mail.text.contains("This wasn't me"));
    }

    #[test]
    fn recovery_code_wording_counts_none_one_and_many() {
        assert_eq!(mail("recovery_code_used", json!({ "remaining": 0 })).subject, "You have no recovery codes left");
        assert_eq!(mail("recovery_code_used", json!({ "remaining": 1 })).subject, "You have 1 recovery code left");
        assert_eq!(mail("recovery_code_used", json!({ "remaining": 2 })).subject, "You have 2 recovery codes left");
        assert!(mail("recovery_code_used", json!({ "remaining": 1 })).text.contains("You have 1 recovery code left."));
    }

    #[test]
    fn the_html_is_a_complete_document_with_nothing_remote() {
        let html = mail("password_changed", json!({})).html;
        assert!(html.starts_with("<!doctype html>\n<html lang=\"en\">"));
        assert!(html.contains("<meta charset=\"utf-8\">"));
        assert!(html.trim_end().ends_with("</html>"));
        for banned in ["<img", "<script", "src=", "<link", "url("] {
            assert!(!html.contains(banned), "{banned}");
        }
    }

    #[test]
    fn the_same_event_renders_the_same_mail() {
        let detail = json!({ "remaining": 3 });
        assert_eq!(render(&facts("recovery_code_used", &detail)), render(&facts("recovery_code_used", &detail)));
    }
}

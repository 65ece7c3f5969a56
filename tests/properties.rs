//! Property tests of the pure parsers and rules: none panics on any input, and each agrees with a
//! small reference definition written here from the SPEC, independently of the implementation.
//! Case counts are modest (see `CASES`) so the whole file runs in seconds under `make test`.

use proptest::prelude::*;

use unicode_normalization::UnicodeNormalization;
use wemasy_security::domain::email::Email;
use wemasy_security::domain::name::PersonName;
use wemasy_security::domain::password::{self, HashParams, Verdict};
use wemasy_security::domain::password_rules::{self, PasswordContext, PasswordProblem};
use wemasy_security::domain::throttle::ThrottlePolicy;
use wemasy_security::domain::{base32, recovery_codes, tokens, totp, unicode, user_agent};
use wemasy_security::http::body::{check_content_type, parse_json, MAX_BODY_BYTES};
use wemasy_security::http::{cookies, csrf, ApiError};

const CASES: u32 = 384;

fn config() -> ProptestConfig {
    ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() }
}

/// Any string, biased towards the characters parsers trip over.
fn nasty_string() -> impl Strategy<Value = String> {
    let nasty = prop::sample::select(vec![
        '\0',
        '@',
        '.',
        ' ',
        '\t',
        '\n',
        '\r',
        '=',
        ';',
        '"',
        '\\',
        '-',
        '_',
        '/',
        '+',
        'İ',
        'ß',
        'K',
        '\u{200B}',
        '\u{202E}',
        '\u{FEFF}',
        '\u{10FFFF}',
        'é',
        '李',
        '🙂',
        'a',
        'Z',
        '0',
        '9',
    ]);
    prop_oneof![any::<String>(), prop::collection::vec(nasty, 0..80).prop_map(|c| c.into_iter().collect())]
}

// ---------------------------------------------------------------------------------------------
// E-mail addresses

/// Addresses of the plain shape everyone agrees is valid.
fn plain_email() -> impl Strategy<Value = String> {
    ("[a-zA-Z0-9._+-]{1,30}", "[a-zA-Z0-9-]{1,20}", prop::collection::vec("[a-zA-Z0-9-]{1,10}", 1..3))
        .prop_map(|(local, host, labels)| format!("{local}@{host}.{}", labels.join(".")))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_email_of_the_plain_shape_is_accepted_trimmed_and_lower_cased(email in plain_email(), pad in "[ \t]{0,3}") {
        let parsed = Email::parse(&format!("{pad}{email}{pad}")).unwrap();
        prop_assert_eq!(parsed.as_str(), email.to_lowercase());
        prop_assert_eq!(parsed.local_part(), email.rsplit_once('@').unwrap().0.to_lowercase());
    }

    #[test]
    fn an_accepted_email_meets_the_reference_rules_and_parses_to_itself(raw in nasty_string()) {
        if let Ok(email) = Email::parse(&raw) {
            let s = email.as_str();
            prop_assert_eq!(s, reference_normal_email(&raw));
            prop_assert!(!s.is_empty() && s.len() <= 254);
            prop_assert!(!s.chars().any(|c| c.is_whitespace() || c.is_control()));
            let (local, domain) = s.rsplit_once('@').unwrap();
            prop_assert!(!local.is_empty() && local.len() <= 64);
            prop_assert!(domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.'));
            prop_assert_eq!(Email::parse(s).unwrap(), email.clone());
        }
    }

    #[test]
    fn an_email_without_an_at_sign_or_too_long_is_refused(raw in nasty_string(), extra in 0usize..10_000) {
        if !raw.contains('@') {
            prop_assert!(Email::parse(&raw).is_err());
        }
        let long = format!("{}@example.com", "a".repeat(243 + extra));
        prop_assert!(Email::parse(&long).is_err());
    }
}

// ---------------------------------------------------------------------------------------------
// Unicode normalisation (issue 21 point 9)

/// The normal form of an e-mail address, written from its definition: trimmed, NFC, lower-cased
/// with ß → ss and ς → σ (Unicode's full case folding of those two), NFC again.
fn reference_normal_email(raw: &str) -> String {
    let composed: String = raw.trim().nfc().collect();
    let folded = composed.to_lowercase().replace('ß', "ss").replace('ς', "σ");
    folded.nfc().collect()
}

/// Strings rich in what normalisation and case folding act on: combining marks in either order,
/// precomposed letters, Hangul jamo, singletons, the letters whose folding is special.
fn unicode_text() -> impl Strategy<Value = String> {
    let tricky = prop::sample::select(vec![
        'e', 'E', 'é', 'É', '\u{301}', '\u{323}', '\u{307}', '\u{345}', 'a', 'A', 'Α', 'ᾼ', 'ß', 'ẞ', 'Σ', 'σ', 'ς',
        'İ', 'ı', 'I', 'ǅ', 'Ǆ', 'ﬁ', '\u{212A}', '\u{212B}', '\u{1100}', '\u{1161}', '\u{11A8}', '가', '\u{F900}',
        '\u{958}', '\u{93C}', '@', '.', ' ', '-', '1',
    ]);
    prop_oneof![any::<String>(), prop::collection::vec(tricky, 0..40).prop_map(|c| c.into_iter().collect())]
}

/// Argon2id at its cheapest: the property is about what is hashed, not how hard.
const FAST: HashParams = HashParams { memory_kib: 8, iterations: 1, parallelism: 1 };

proptest! {
    #![proptest_config(config())]

    #[test]
    fn nfc_is_idempotent_and_agrees_with_the_reference(text in unicode_text()) {
        let once = unicode::nfc(&text).into_owned();
        prop_assert_eq!(&once, &text.nfc().collect::<String>());
        prop_assert_eq!(unicode::nfc(&once), once.as_str());
    }

    #[test]
    fn the_normal_email_is_a_fixed_point_and_stable_under_nfc_and_folding(text in unicode_text()) {
        let normal = unicode::normal_email(&text);
        prop_assert_eq!(&normal, &reference_normal_email(&text));
        prop_assert_eq!(&unicode::normal_email(&normal), &normal, "idempotent");
        let folded = unicode::fold_case(&normal);
        prop_assert_eq!(unicode::nfc(&folded), normal.as_str(), "NFC ∘ fold is stable");
    }

    #[test]
    fn composed_and_decomposed_forms_of_an_address_are_one_address(text in unicode_text()) {
        let nfd: String = text.nfd().collect();
        let nfc: String = text.nfc().collect();
        prop_assert_eq!(unicode::normal_email(&nfd), unicode::normal_email(&nfc));
        prop_assert_eq!(Email::parse(&nfd), Email::parse(&nfc));
    }

    #[test]
    fn a_password_is_judged_and_hashed_alike_in_either_form(text in unicode_text()) {
        let nfd: String = text.nfd().collect();
        let nfc: String = text.nfc().collect();
        let ctx = PasswordContext { email_local_part: "zz", name: "Zz" };
        prop_assert_eq!(password_rules::check(&nfd, &ctx, common()), password_rules::check(&nfc, &ctx, common()));
        let stored = password::hash(&nfd, FAST).unwrap();
        prop_assert_eq!(password::verify(&nfc, &stored, FAST), Verdict::Right);
        prop_assert_eq!(password::verify(&nfd, &stored, FAST), Verdict::Right);
    }
}

// ---------------------------------------------------------------------------------------------
// Names

proptest! {
    #![proptest_config(config())]

    #[test]
    fn an_accepted_name_is_trimmed_short_and_free_of_control_characters(raw in nasty_string()) {
        if let Ok(name) = PersonName::parse(&raw) {
            let s = name.as_str();
            prop_assert_eq!(s, raw.trim());
            prop_assert!((1..=100).contains(&s.chars().count()));
            prop_assert!(!s.chars().any(char::is_control));
            let invisible = s.contains(['\u{200B}', '\u{202E}', '\u{FEFF}']);
            prop_assert!(!invisible, "invisible formatting kept");
        } else {
            let t = raw.trim();
            let invisible = |c: char| {
                matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
            };
            let refusable = t.is_empty() || t.chars().count() > 100 || t.chars().any(|c| c.is_control() || invisible(c));
            prop_assert!(refusable, "refused without a reason");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Password rules (SPEC §5.2)

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_character_rules_agree_with_their_reference_definitions(
        password in prop_oneof![nasty_string(), "[a-zA-Z0-9!#? ]{0,300}"],
        local in "[a-z.]{0,12}",
        name in "[A-Za-z ]{0,20}",
    ) {
        let problems = password_rules::check(&password, &PasswordContext { email_local_part: &local, name: &name }, common());
        // The rules judge the NFC form (what is hashed).
        let password: String = password.nfc().collect();
        let count = password.chars().count();
        let has = |p: PasswordProblem| problems.contains(&p);
        prop_assert_eq!(has(PasswordProblem::TooShort), count < 12);
        prop_assert_eq!(has(PasswordProblem::TooLong), count > 256);
        prop_assert_eq!(has(PasswordProblem::MissingLetter), !password.chars().any(char::is_alphabetic));
        prop_assert_eq!(has(PasswordProblem::MissingNumber), !password.chars().any(char::is_numeric));
        prop_assert_eq!(has(PasswordProblem::MissingSymbol), password.chars().all(char::is_alphanumeric));
        let lowered = password.to_lowercase();
        let contains = |part: &str| part.chars().count() >= 3 && lowered.contains(&part.to_lowercase());
        prop_assert_eq!(has(PasswordProblem::ContainsEmail), contains(&local));
        prop_assert_eq!(has(PasswordProblem::ContainsName), name.split_whitespace().any(contains));
        // Each problem once, in a stable order.
        let mut sorted = problems.clone();
        sorted.sort();
        sorted.dedup();
        prop_assert_eq!(sorted, problems);
    }

    #[test]
    fn a_long_mixed_random_password_passes_and_case_is_not_folded(core in "[a-z]{8,40}", n in 0u32..1000) {
        let password = format!("Q{core}-{n}!");
        let ctx = PasswordContext { email_local_part: "zz", name: "Zz" };
        let problems = password_rules::check(&password, &ctx, common());
        prop_assert!(problems.iter().all(|p| *p == PasswordProblem::Common), "{:?}", problems);
    }
}

// ---------------------------------------------------------------------------------------------
// Common passwords and their trivial variants (SPEC §5.2)

/// The shipped list, read here from the data file rather than through the implementation.
const COMMON: &str = include_str!("../public/data/common-passwords.txt");

/// The common-password list, loaded as the worker loads it from its assets.
fn common() -> wemasy_security::domain::common_passwords::Loaded {
    wemasy_security::domain::common_passwords::load(COMMON.to_string())
}

/// What people type instead of a letter (the SPEC's "common character substitutions").
fn substitutes(letter: char) -> &'static [char] {
    match letter {
        'a' => &['@', '4'],
        'o' => &['0'],
        'e' => &['3'],
        's' => &['$', '5'],
        't' => &['7'],
        'i' | 'l' => &['1', '!'],
        _ => &[],
    }
}

/// A listed entry with at least four letters, typed with random case and substitutions (its
/// first letter stays a letter), and random digits, symbols and spaces before and after it.
fn trivial_variant() -> impl Strategy<Value = (String, &'static str)> {
    let entries: Vec<&'static str> =
        COMMON.lines().filter(|e| e.chars().filter(char::is_ascii_lowercase).count() >= 4).collect();
    let affix = "[0-9!#?*. _-]{0,6}";
    (prop::sample::select(entries), prop::collection::vec((any::<bool>(), 0u8..6), 20), affix, affix).prop_map(
        |(entry, choices, before, after)| {
            let first_letter = entry.find(|c: char| c.is_ascii_lowercase()).unwrap();
            let typed: String = entry
                .char_indices()
                .zip(choices)
                .map(|((i, c), (upper, pick))| match substitutes(c) {
                    subs if i != first_letter && !subs.is_empty() && pick >= 2 => subs[usize::from(pick) % subs.len()],
                    _ if upper => c.to_ascii_uppercase(),
                    _ => c,
                })
                .collect();
            (format!("{before}{typed}{after}"), entry)
        },
    )
}

/// Passphrase words: listed ones (`dragon`, `monkey`, …) as well as random letters.
fn passphrase_word() -> impl Strategy<Value = String> {
    let listed = prop::sample::select(vec![
        "dragon", "monkey", "harbor", "copper", "violet", "lantern", "sunshine", "password", "blue", "love",
    ]);
    prop_oneof![listed.prop_map(str::to_string), "[a-z]{4,9}"]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_listed_password_typed_with_case_substitutions_and_affixes_is_refused((password, entry) in trivial_variant()) {
        let ctx = PasswordContext { email_local_part: "zz", name: "Zz" };
        let problems = password_rules::check(&password, &ctx, common());
        prop_assert!(problems.contains(&PasswordProblem::Common), "{} (from {}): {:?}", password, entry, problems);
    }

    #[test]
    fn a_passphrase_of_three_or_more_words_is_accepted_even_with_listed_words(
        words in prop::collection::vec((passphrase_word(), any::<bool>()), 3..6),
        separator in prop::sample::select(vec![" ", "-", ".", "_", "#", "+", "/", "~"]),
        n in 0u32..10_000,
        symbol in prop::sample::select(vec!["!", "?", "#", "%", "&"]),
        number_first in any::<bool>(),
    ) {
        let words: Vec<String> = words
            .into_iter()
            .map(|(w, capital)| if capital { w[..1].to_uppercase() + &w[1..] } else { w })
            .collect();
        let phrase = words.join(separator);
        let password = if number_first { format!("{n}{symbol}{phrase}") } else { format!("{phrase}{separator}{n}{symbol}") };
        let ctx = PasswordContext { email_local_part: "zz", name: "Zz" };
        prop_assert_eq!(password_rules::check(&password, &ctx, common()), vec![], "{}", password);
    }

    #[test]
    fn whether_a_password_is_common_does_not_depend_on_letter_case(
        password in prop_oneof!["[a-zA-Z0-9@$!|. -]{0,24}", trivial_variant().prop_map(|(p, _)| p)],
    ) {
        let ctx = PasswordContext { email_local_part: "zz", name: "Zz" };
        let common = |p: &str| password_rules::check(p, &ctx, common()).contains(&PasswordProblem::Common);
        prop_assert_eq!(common(&password), common(&password.to_ascii_uppercase()));
        prop_assert_eq!(common(&password), common(&password.to_ascii_lowercase()));
    }
}

// ---------------------------------------------------------------------------------------------
// Base32 (RFC 4648, no padding)

/// The reference: bytes as a bit string, cut into 5-bit symbols, zero-padded at the end.
fn reference_base32(bytes: &[u8]) -> String {
    let bits: String = bytes.iter().map(|b| format!("{b:08b}")).collect();
    bits.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let mut s = String::from_utf8(chunk.to_vec()).unwrap();
            while s.len() < 5 {
                s.push('0');
            }
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[usize::from_str_radix(&s, 2).unwrap()] as char
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn base32_encodes_like_the_reference_and_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let text = base32::encode(&bytes);
        prop_assert_eq!(&text, &reference_base32(&bytes));
        prop_assert_eq!(text.len(), (bytes.len() * 8).div_ceil(5));
        prop_assert_eq!(base32::decode(&text), Some(bytes.clone()));
        prop_assert_eq!(base32::decode(&text.to_lowercase()), Some(bytes.clone()));
        let padded = format!("{text}{}", "=".repeat((8 - text.len() % 8) % 8));
        prop_assert_eq!(base32::decode(&padded), Some(bytes));
    }

    #[test]
    fn base32_decoding_never_panics_and_what_it_accepts_re_encodes(text in prop_oneof![nasty_string(), "[A-Z2-7a-z= ]{0,50}"]) {
        if let Some(bytes) = base32::decode(&text) {
            let canonical: String = text.chars().filter(|c| *c != ' ' && *c != '=').collect::<String>().to_uppercase();
            prop_assert_eq!(base32::encode(&bytes), canonical);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// TOTP window and replay guard (SPEC §5.4)

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_code_is_accepted_exactly_within_one_step_and_after_the_last_used_one(
        secret in prop::collection::vec(any::<u8>(), 20),
        now in 60u64..4_000_000_000,
        offset in -3i64..=3,
        last_back in 0u64..5,
    ) {
        let current = totp::step_at(now);
        let step = current.checked_add_signed(offset).unwrap();
        let last_step = current.saturating_sub(last_back);
        let code = totp::code_for_step(&secret, step);
        prop_assert_eq!(code.len(), 6);
        let answer = totp::verify(&secret, &code, now, last_step);
        let in_window = offset.abs() <= 1 && step > last_step;
        if in_window {
            // The earliest matching step in the window is answered (another step's code may
            // collide with one chance in a million; it would then be an earlier valid step).
            prop_assert!(answer.is_some_and(|s| s <= step));
        }
        if let Some(accepted) = answer {
            prop_assert!(accepted > last_step && accepted.abs_diff(current) <= 1);
            prop_assert_eq!(totp::code_for_step(&secret, accepted), code);
        }
    }

    #[test]
    fn totp_never_panics_and_only_six_digits_can_match(
        secret in prop::collection::vec(any::<u8>(), 0..40),
        input in nasty_string(),
        now in any::<u64>(),
        last_step in any::<u64>(),
    ) {
        let answer = totp::verify(&secret, &input, now, last_step);
        let digits: String = input.chars().filter(|c| !c.is_whitespace()).collect();
        if answer.is_some() {
            prop_assert!(digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
        }
        prop_assert_eq!(totp::normalize_code(&input).is_some(), digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit()));
    }
}

// ---------------------------------------------------------------------------------------------
// Recovery codes (SPEC §5.5)

/// The reference: drop dashes and white space, fold case and the look-alikes o→0, i/l→1, and
/// what is left must be 16 symbols of Crockford's alphabet (no i, l, o, u).
fn reference_normalize(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let out: Option<String> = input
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| match c.to_ascii_lowercase() {
            'o' => Some('0'),
            'i' | 'l' => Some('1'),
            c if "0123456789abcdefghjkmnpqrstvwxyz".contains(c) => Some(c),
            _ => None,
        })
        .collect();
    out.filter(|s| s.chars().count() == 16)
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn recovery_code_normalizing_agrees_with_the_reference(input in prop_oneof![
        nasty_string(),
        "[0-9a-zA-Z -]{10,30}",
        "[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}-[0-9a-hjkmnp-tv-z]{4}",
    ]) {
        let normalized = recovery_codes::normalize(&input);
        prop_assert_eq!(&normalized, &reference_normalize(&input));
        if let Some(code) = normalized {
            prop_assert_eq!(recovery_codes::normalize(&code), Some(code));
        }
    }

    #[test]
    fn a_generated_code_survives_the_ways_people_type_it(upper in any::<bool>(), dashes in any::<bool>(), _n in 0..4u8) {
        for code in recovery_codes::generate().unwrap() {
            prop_assert!(code.len() == 19 && code.split('-').all(|g| g.len() == 4));
            let canonical = recovery_codes::normalize(&code).unwrap();
            let mut typed = if dashes { code.clone() } else { code.replace('-', " ") };
            if upper {
                typed = typed.to_uppercase();
            }
            prop_assert_eq!(recovery_codes::normalize(&typed), Some(canonical));
        }
    }
}

// ---------------------------------------------------------------------------------------------
// User-Agent parser

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_user_agent_parses_to_a_known_browser_os_and_kind(ua in prop_oneof![
        nasty_string(),
        prop::collection::vec(prop::sample::select(vec![
            "Mozilla/5.0 ", "(Windows NT 10.0) ", "iPhone ", "iPad ", "Android ", "Mobile ", "Chrome/1 ",
            "Safari/2 ", "Edg/3 ", "Firefox/4 ", "CrOS ", "X11 ", "Linux ", "Macintosh ", "OPR/5 ",
        ]), 0..8).prop_map(|parts| parts.concat()),
    ]) {
        let device = user_agent::parse(&ua);
        // Names may come from the client (apps, crawlers), cleaned: short, plain characters.
        let plain = |name: &str| !name.is_empty() && name.chars().count() <= 40
            && name.chars().all(|c| c.is_alphanumeric() || " .-_+&'".contains(c));
        prop_assert!(plain(&device.browser), "{}", device.browser);
        let systems = ["iPadOS", "iOS", "Android", "ChromeOS", "Windows", "Windows Phone", "macOS", "Linux", "Unknown OS"];
        prop_assert!(systems.contains(&device.os.as_str()), "{}", device.os);
        use user_agent::DeviceKind::*;
        let expected = match device.os.as_str() {
            "iPadOS" => Tablet,
            "iOS" => Mobile,
            "Android" if ua.contains("Mobile") => Mobile,
            "Android" => Tablet,
            "Windows Phone" => Mobile,
            "Unknown OS" => Unknown,
            _ => Desktop,
        };
        prop_assert_eq!(device.kind, expected);
        if ua.contains("iPad") {
            prop_assert_eq!(device.os.as_str(), "iPadOS");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Account lock (SPEC §5.7)

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_lock_is_zero_below_five_then_doubles_up_to_fifteen_minutes(failures in any::<u32>()) {
        let policy = ThrottlePolicy::DEFAULT;
        let reference: u128 = if failures < 5 { 0 } else { (30u128 << (failures - 5).min(100)).min(900) };
        prop_assert_eq!(u128::from(policy.lock_seconds(failures)), reference);
        prop_assert!(policy.lock_seconds(failures.saturating_add(1)) >= policy.lock_seconds(failures));
    }
}

// ---------------------------------------------------------------------------------------------
// Tokens, cookies, CSRF

proptest! {
    #![proptest_config(config())]

    #[test]
    fn a_token_shape_is_exactly_43_base64url_characters(value in prop_oneof![nasty_string(), "[A-Za-z0-9_+/=-]{40,46}"]) {
        let reference = value.len() == 43 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        prop_assert_eq!(tokens::looks_like_token(&value), reference);
        prop_assert!(tokens::looks_like_id(&tokens::id_of(&value)));
    }

    #[test]
    fn the_session_cookie_is_found_among_any_others(
        token in "[A-Za-z0-9_-]{43}",
        before in prop::collection::vec(("[a-z]{1,8}", "[a-zA-Z0-9=]{0,10}"), 0..4),
        after in prop::collection::vec(("[a-z]{1,8}", "[a-zA-Z0-9]{0,10}"), 0..4),
    ) {
        let mut pairs: Vec<String> = before.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.push(format!("{}={token}", cookies::SESSION));
        pairs.extend(after.iter().map(|(k, v)| format!("{k}={v}")));
        let header = pairs.join("; ");
        prop_assert_eq!(cookies::find(&header, cookies::SESSION), Some(token.as_str()));
        prop_assert_eq!(cookies::find(&header, cookies::PENDING), None);
        let set = cookies::set(cookies::SESSION, &token, 60);
        prop_assert_eq!(cookies::find(set.split(';').next().unwrap(), cookies::SESSION), Some(token.as_str()));
    }

    #[test]
    fn cookie_parsing_never_panics_and_never_answers_empty(header in nasty_string()) {
        if let Some(value) = cookies::find(&header, cookies::SESSION) {
            prop_assert!(!value.is_empty());
            prop_assert!(header.contains(value));
        }
    }

    #[test]
    fn only_the_own_origin_or_same_origin_fetch_passes_the_csrf_check(
        other in prop_oneof![nasty_string(), "https?://[a-z.]{1,20}(:[0-9]{1,5})?"],
        site in prop::option::of(prop::sample::select(vec!["same-origin", "same-site", "cross-site", "none", "Same-Origin"])),
    ) {
        let own = "http://127.0.0.1:8787";
        prop_assert!(csrf::is_same_origin(own, Some(own), site));
        prop_assert!(csrf::is_same_origin(own, Some(&own.to_uppercase()), site));
        prop_assert_eq!(csrf::is_same_origin(own, Some(&other), site), other.eq_ignore_ascii_case(own));
        prop_assert_eq!(csrf::is_same_origin(own, None, site), site == Some("same-origin"));
    }
}

// ---------------------------------------------------------------------------------------------
// JSON bodies

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct Login {
    email: String,
    password: String,
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        nasty_string().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![Just("email".to_string()), Just("password".to_string()), nasty_string()],
                inner,
                0..6
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_bytes_are_parsed_or_refused_without_a_panic(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        nasty_string().prop_map(String::into_bytes),
    ]) {
        match parse_json::<Login>(&bytes) {
            Ok(_) => prop_assert_eq!(bytes.iter().find(|b| !b.is_ascii_whitespace()), Some(&b'{')),
            Err(error) => prop_assert!(matches!(error, ApiError::InvalidJson | ApiError::InvalidInput(_))),
        }
    }

    #[test]
    fn any_json_value_is_accepted_only_as_an_object_of_exactly_the_fields(value in json_value()) {
        let text = value.to_string();
        let answer = parse_json::<Login>(text.as_bytes());
        let reference = value.as_object().is_some_and(|o| {
            o.len() == 2 && o.get("email").is_some_and(|v| v.is_string()) && o.get("password").is_some_and(|v| v.is_string())
        });
        prop_assert_eq!(answer.is_ok(), reference, "{}", text);
        if let Err(error) = answer {
            prop_assert!(matches!(error, ApiError::InvalidInput(_)), "{:?} for {}", error, text);
            prop_assert!(!error.message().is_empty());
        }
    }

    #[test]
    fn a_body_over_16_kib_is_always_too_large(extra in 1usize..4096, fill in any::<u8>()) {
        let body = vec![fill; MAX_BODY_BYTES + extra];
        prop_assert_eq!(parse_json::<serde_json::Value>(&body).unwrap_err(), ApiError::PayloadTooLarge);
    }

    #[test]
    fn only_application_json_is_a_json_content_type(content_type in prop_oneof![
        nasty_string(),
        "(application|text)/(json|plain|jsonx)(; ?charset=[a-z0-9-]{1,8})?",
    ]) {
        let essence = content_type.split(';').next().unwrap().trim().to_ascii_lowercase();
        prop_assert_eq!(check_content_type(Some(&content_type)).is_ok(), essence == "application/json");
    }

    #[test]
    fn every_error_body_is_the_contract_shape(message in nasty_string(), retry in any::<u64>()) {
        for error in [ApiError::InvalidInput(message.clone()), ApiError::RateLimited { retry_after: retry }, ApiError::NotFound] {
            let body = error.body();
            prop_assert_eq!(body["error"]["code"].as_str(), Some(error.code()));
            prop_assert!(body["error"]["message"].is_string());
            prop_assert!((400..600).contains(&error.status()));
        }
    }
}

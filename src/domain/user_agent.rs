//! Device names for the session list and the activity log: which browser (or app), which OS,
//! which kind of device. A session its owner cannot recognise reads as a break-in, so the name
//! should be the one the owner knows: "Instagram on iOS", not "Unknown browser".
//!
//! Two sources, both sent by the client and so only a description, never evidence:
//! - Client Hints, which Chromium browsers send on every HTTPS request: `Sec-CH-UA` names the
//!   brand (Brave, Opera, Edge, Yandex, … all say "Chrome" in their User-Agent), `Sec-CH-UA-Platform`
//!   the OS and `Sec-CH-UA-Mobile` whether it is a phone. They win where they are present.
//! - The User-Agent, read with tables of tokens in the order that matters (in-app browsers first,
//!   then browsers that also say "Chrome", then the engines' own names).
//!
//! Measured against `tests/data/user_agents.tsv` (real user agents from public test corpora) by
//! `tests/user_agents.rs`; README "Device names" has the figures.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Desktop,
    Mobile,
    Tablet,
    Unknown,
}

impl DeviceKind {
    /// How the session list names it (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Desktop => "desktop",
            Self::Mobile => "mobile",
            Self::Tablet => "tablet",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub kind: DeviceKind,
    pub browser: String,
    pub os: String,
}

/// The low-entropy User-Agent Client Hints, as the request headers carry them (raw header values;
/// `None` when the header is absent). Chromium sends all three by default over HTTPS.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientHints {
    /// `Sec-CH-UA`, e.g. `"Brave";v="132", "Chromium";v="132", "Not A(Brand";v="8"`.
    pub brands: Option<String>,
    /// `Sec-CH-UA-Platform`, e.g. `"Windows"`.
    pub platform: Option<String>,
    /// `Sec-CH-UA-Mobile`: `?1` on phones, `?0` elsewhere.
    pub mobile: Option<String>,
}

/// Names no browser or OS we know: the page shows these as "Unknown device".
pub const UNKNOWN_BROWSER: &str = "Unknown browser";
pub const UNKNOWN_OS: &str = "Unknown OS";

/// Longest name taken from the client's own words (an app's or an unknown brand's name).
const MAX_NAME_CHARS: usize = 40;

/// The User-Agent alone (the activity log stores nothing else).
pub fn parse(user_agent: &str) -> Device {
    parse_with_hints(user_agent, &ClientHints::default())
}

/// The User-Agent and the request's Client Hints, which win where they name a brand or platform.
pub fn parse_with_hints(user_agent: &str, hints: &ClientHints) -> Device {
    let ua = user_agent.trim();
    let os = hinted_os(hints.platform.as_deref()).unwrap_or_else(|| os_of(ua));
    let browser = browser_of(ua, os, hints.brands.as_deref());
    let kind = kind_of(ua, os, hints.mobile.as_deref());
    Device { kind, browser: browser.into_owned(), os: os.to_string() }
}

// ---------------------------------------------------------------------------------------------
// Operating system

fn os_of(ua: &str) -> &'static str {
    let has = |token: &str| ua.contains(token);
    if has("Windows Phone") {
        "Windows Phone"
    } else if has("iPad") {
        "iPadOS"
    } else if has("iPhone") || has("iPod") {
        "iOS"
    } else if has("Macintosh") && ["FxiOS/", "CriOS/", "EdgiOS/"].iter().any(|t| has(t)) {
        // iPadOS asks for desktop pages with a Mac User-Agent; only the iOS browsers' own tokens
        // tell it apart (Safari on an iPad is indistinguishable from Safari on a Mac).
        "iPadOS"
    } else if has("Android") {
        "Android"
    } else if has("CrOS") {
        "ChromeOS"
    } else if has("CFNetwork/") || has("Darwin/") {
        // Apps using Apple's HTTP stack: macOS adds the CPU architecture, iOS does not.
        if has("(x86_64)") || has("(arm64)") || has("Macintosh") {
            "macOS"
        } else {
            "iOS"
        }
    } else if has("Windows") || has("Win98") || has("Win95") || has("WinNT") {
        "Windows"
    } else if has("Mac OS X") || has("Macintosh") || has("Mac_PowerPC") {
        "macOS"
    } else if has("Linux") || has("X11") {
        "Linux"
    } else {
        UNKNOWN_OS
    }
}

/// `Sec-CH-UA-Platform`, when it names a platform we name.
fn hinted_os(platform: Option<&str>) -> Option<&'static str> {
    match unquote(platform?) {
        "Windows" => Some("Windows"),
        "macOS" => Some("macOS"),
        "Linux" => Some("Linux"),
        "Android" => Some("Android"),
        "Chrome OS" | "Chromium OS" => Some("ChromeOS"),
        "iOS" => Some("iOS"),
        _ => None,
    }
}

fn kind_of(ua: &str, os: &str, mobile_hint: Option<&str>) -> DeviceKind {
    let mobile = match mobile_hint.map(str::trim) {
        Some("?1") => Some(true),
        Some("?0") => Some(false),
        _ => None,
    };
    match os {
        "iPadOS" => DeviceKind::Tablet,
        "iOS" | "Windows Phone" => DeviceKind::Mobile,
        "Android" if mobile.unwrap_or_else(|| ua.contains("Mobile")) => DeviceKind::Mobile,
        "Android" => DeviceKind::Tablet,
        "Windows" | "macOS" | "Linux" | "ChromeOS" => DeviceKind::Desktop,
        _ => DeviceKind::Unknown,
    }
}

// ---------------------------------------------------------------------------------------------
// Browser or app

/// Apps that show web pages in their own view and say so; checked before everything else, as
/// their User-Agents also carry the engine's browser tokens (and, on Android, `Sec-CH-UA` says
/// "Android WebView").
const IN_APP: &[(&str, &str)] = &[
    ("FBAN/Messenger", "Messenger"),
    ("FB_IAB/MESSENGER", "Messenger"),
    ("FBAN/", "Facebook"),
    ("FBAV/", "Facebook"),
    ("FB_IAB/", "Facebook"),
    ("Instagram ", "Instagram"),
    ("MicroMessenger/", "WeChat"),
    (" Line/", "LINE"),
    ("Snapchat/", "Snapchat"),
    ("BytedanceWebview/", "TikTok"),
    ("musical_ly", "TikTok"),
    ("TwitterAndroid", "Twitter"),
    ("Twitter for iP", "Twitter"),
    ("LinkedInApp", "LinkedIn"),
    ("GSA/", "Google app"),
];

/// Browser tokens, first match wins: browsers built on Chromium or WebKit also carry "Chrome/" or
/// "Safari/", so their own token must be looked for first.
const BROWSERS: &[(&str, &str)] = &[
    ("Edg/", "Edge"),
    ("EdgA/", "Edge"),
    ("EdgiOS/", "Edge"),
    ("Edge/", "Edge"),
    ("EdgW/", "In-app browser"),
    ("OPR/", "Opera"),
    ("OPiOS/", "Opera"),
    ("OPT/", "Opera"),
    ("OPX/", "Opera"),
    ("Opera", "Opera"),
    ("SamsungBrowser/", "Samsung Internet"),
    ("YaBrowser/", "Yandex Browser"),
    ("YaSearchBrowser/", "Yandex Browser"),
    ("Vivaldi/", "Vivaldi"),
    ("Brave", "Brave"),
    ("UCBrowser", "UC Browser"),
    ("UBrowser/", "UC Browser"),
    ("UCWEB", "UC Browser"),
    ("Ddg/", "DuckDuckGo"),
    ("DuckDuckGo/", "DuckDuckGo"),
    ("MiuiBrowser/", "MIUI Browser"),
    ("HuaweiBrowser/", "Huawei Browser"),
    ("Whale/", "Whale"),
    ("Silk/", "Silk"),
    ("QQBrowser/", "QQ Browser"),
    ("PowerShell/", "PowerShell"),
    ("Trident/", "Internet Explorer"),
    ("MSIE ", "Internet Explorer"),
    ("FxiOS/", "Firefox"),
    ("Firefox/", "Firefox"),
    ("CriOS/", "Chrome"),
    ("CrMo/", "Chrome"),
    // An Android app's web view ("; wv)"), unless the app named itself above.
    ("; wv)", "In-app browser"),
    ("Chromium/", "Chromium"),
    ("HeadlessChrome", "Chrome"),
    ("Chrome/", "Chrome"),
];

/// Programs that are not browsers, by the name they start their User-Agent with.
const TOOLS: &[(&str, &str)] = &[
    ("curl/", "curl"),
    ("Wget/", "Wget"),
    ("HTTPie/", "HTTPie"),
    ("python-requests/", "python-requests"),
    ("Go-http-client/", "Go-http-client"),
    ("facebookexternalhit/", "facebookexternalhit"),
];

/// `Sec-CH-UA` brands we name, in order of preference (a WebView2 also lists "Microsoft Edge",
/// Opera GX also "Opera", Yandex also "Yowser").
const BRANDS: &[(&str, &str)] = &[
    ("Android WebView", "In-app browser"),
    ("Microsoft Edge WebView2", "In-app browser"),
    ("Opera GX", "Opera"),
    ("OperaMobile", "Opera"),
    ("Opera", "Opera"),
    ("Samsung Internet", "Samsung Internet"),
    ("YaBrowser", "Yandex Browser"),
    ("Yandex", "Yandex Browser"),
    ("Brave", "Brave"),
    ("Vivaldi", "Vivaldi"),
    ("DuckDuckGo", "DuckDuckGo"),
    ("Microsoft Edge", "Edge"),
    ("Google Chrome", "Chrome"),
    ("HeadlessChrome", "Chrome"),
    ("Miui Browser", "MIUI Browser"),
    ("HuaweiBrowser", "Huawei Browser"),
];

fn browser_of(ua: &str, os: &str, brands: Option<&str>) -> Cow<'static, str> {
    if let Some(app) = find(IN_APP, ua) {
        return Cow::Borrowed(app);
    }
    if let Some(bot) = bot_name(ua) {
        return Cow::Owned(bot);
    }
    let brands = brands.map(brand_names).unwrap_or_default();
    if let Some(brand) = hinted_browser(&brands) {
        return brand;
    }
    let named = find(BROWSERS, ua).or_else(|| TOOLS.iter().find(|(start, _)| ua.starts_with(start)).map(|(_, n)| *n));
    match named {
        // Chrome always lists "Google Chrome"; a Chromium browser that lists only "Chromium"
        // is some other browser keeping its name to itself (Vivaldi, Arc, …).
        Some("Chrome") if brands.iter().any(|b| b == "Chromium") => Cow::Borrowed("Chromium"),
        Some(name) => Cow::Borrowed(name),
        // Android's own browser before Chrome replaced it (Safari's tokens after "Version/4.0").
        None if ua.contains("Safari/") && ua.contains("Version/") && os == "Android" => {
            Cow::Borrowed("Android Browser")
        }
        None if ua.contains("Safari/") => Cow::Borrowed("Safari"),
        // iOS apps' web views (WKWebView) send Safari's User-Agent without its "Safari/" token.
        None if ua.contains("AppleWebKit/") && matches!(os, "iOS" | "iPadOS") => Cow::Borrowed("In-app browser"),
        None => app_name(ua).map_or(Cow::Borrowed(UNKNOWN_BROWSER), Cow::Owned),
    }
}

fn find(table: &[(&str, &'static str)], ua: &str) -> Option<&'static str> {
    table.iter().find(|(token, _)| ua.contains(token)).map(|(_, name)| *name)
}

/// A crawler's own name: the product token whose name says bot, spider or crawler.
fn bot_name(ua: &str) -> Option<String> {
    ua.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ';' | ','))
        .filter_map(|token| token.split_once('/').map(|(name, _)| name))
        .find(|name| {
            let lower = name.to_ascii_lowercase();
            ["bot", "spider", "crawler"].iter().any(|word| lower.contains(word))
        })
        .and_then(clean_name)
}

/// An app using Apple's HTTP stack names itself first: `Pizza%20Hut/90 CFNetwork/1125.2 Darwin/19.4.0`.
fn app_name(ua: &str) -> Option<String> {
    if !ua.contains("CFNetwork/") {
        return None;
    }
    let (name, _) = ua.split_once('/')?;
    if name.contains(' ') {
        return None;
    }
    clean_name(&percent_decode(name))
}

/// The names in a `Sec-CH-UA` header (a structured-field list of quoted strings with parameters),
/// without the GREASE brands ("Not A(Brand", "Not;A=Brand", …) that exist to be ignored.
fn brand_names(header: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut chars = header.chars();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut name = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => name.extend(chars.next()),
                '"' => break,
                c => name.push(c),
            }
        }
        // Skip this member's parameters (`;v="132"`, whose quotes must not open a name).
        let mut in_quotes = false;
        for c in chars.by_ref() {
            match c {
                '"' => in_quotes = !in_quotes,
                ',' if !in_quotes => break,
                _ => {}
            }
        }
        let letters: String = name.chars().filter(char::is_ascii_alphabetic).collect();
        if !letters.eq_ignore_ascii_case("NotABrand") {
            names.push(name.trim().to_string());
        }
    }
    names
}

fn hinted_browser(brands: &[String]) -> Option<Cow<'static, str>> {
    if let Some((_, name)) = BRANDS.iter().find(|(brand, _)| brands.iter().any(|b| b == brand)) {
        return Some(Cow::Borrowed(name));
    }
    // A brand we have no name for is still the browser's own name (Avast Secure Browser, …).
    brands.iter().filter(|b| *b != "Chromium" && *b != "Yowser").find_map(|b| clean_name(b)).map(Cow::Owned)
}

fn unquote(value: &str) -> &str {
    value.trim().trim_matches('"').trim()
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (byte, _, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A name the client chose, made safe to show: letters, digits, spaces and `.-_+&'` only,
/// spaces collapsed, at most [`MAX_NAME_CHARS`]; `None` when nothing is left.
fn clean_name(raw: &str) -> Option<String> {
    let kept: String = raw
        .chars()
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, ' ' | '.' | '-' | '_' | '+' | '&' | '\''))
        .collect();
    let name: String = kept.split_whitespace().collect::<Vec<_>>().join(" ").chars().take(MAX_NAME_CHARS).collect();
    let name = name.trim_end().to_string();
    name.chars().any(|c| c.is_ascii_alphabetic()).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ua: &str, kind: DeviceKind, browser: &str, os: &str) {
        let d = parse(ua);
        assert_eq!((d.kind, d.browser.as_str(), d.os.as_str()), (kind, browser, os), "{ua}");
    }

    fn hinted(ua: &str, brands: &str, platform: &str, mobile: &str) -> Device {
        let hints = ClientHints {
            brands: Some(brands.to_string()),
            platform: Some(platform.to_string()),
            mobile: Some(mobile.to_string()),
        };
        parse_with_hints(ua, &hints)
    }

    const CHROME_WINDOWS: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
    const CHROME_ANDROID: &str =
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36";

    #[test]
    fn reads_the_common_browsers() {
        use DeviceKind::*;
        check(CHROME_WINDOWS, Desktop, "Chrome", "Windows");
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", Mobile, "Safari", "iOS");
        check("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", Desktop, "Firefox", "Linux");
        check("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", Desktop, "Safari", "macOS");
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", Desktop, "Edge", "Windows");
        check("Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", Mobile, "Samsung Internet", "Android");
        check("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Tablet, "Chrome", "Android");
        check("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1", Tablet, "Chrome", "iPadOS");
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0", Desktop, "Opera", "Windows");
        check("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Desktop, "Chrome", "ChromeOS");
        check("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36", Desktop, "Chrome", "Linux");
    }

    #[test]
    fn names_what_used_to_be_misnamed() {
        use DeviceKind::*;
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/110.0.0.0 YaBrowser/23.3.0.2246 Yowser/2.5 Safari/537.36", Desktop, "Yandex Browser", "Windows");
        check("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/144.0.0.0 Safari/537.36 Vivaldi/7.8.3925.66", Desktop, "Vivaldi", "macOS");
        check(
            "Mozilla/5.0 (Windows NT 6.3; Win64; x64; Trident/7.0; MAARJS; rv:11.0) like Gecko",
            Desktop,
            "Internet Explorer",
            "Windows",
        );
        check("Mozilla/5.0 (Linux; U; Android 6.0.1; en-US; Lenovo P2a42 Build/MMB29M) AppleWebKit/534.30 (KHTML, like Gecko) Version/4.0 UCBrowser/11.2.0.915 U3/0.8.0 Mobile Safari/534.30", Mobile, "UC Browser", "Android");
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 14_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 142.0.0.22.109 (iPhone12,5; iOS 14_1; en_US; en-US; scale=3.00; 1242x2688; 214888322) NW/1", Mobile, "Instagram", "iOS");
        check("Mozilla/5.0 (Linux; Android 5.0; SM-G900P Build/LRX21T; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/43.0.2357.121 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/35.0.0.48.273;]", Mobile, "Facebook", "Android");
        check("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", Mobile, "In-app browser", "iOS");
        check("Mozilla/5.0 (Linux; Android 5.1.1; Nexus 5 Build/LMY48B; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/43.0.2357.65 Mobile Safari/537.36", Mobile, "In-app browser", "Android");
        check(
            "Pizza%20Hut%20Indonesia%20PROD/90 CFNetwork/1125.2 Darwin/19.4.0",
            Mobile,
            "Pizza Hut Indonesia PROD",
            "iOS",
        );
        check("Brave/4.5.16 CFNetwork/893.13.1 Darwin/17.3.0 (x86_64)", Desktop, "Brave", "macOS");
        check("Mozilla/5.0 (compatible; MSIE 10.0; Windows Phone 8.0; Trident/6.0; IEMobile/10.0; ARM; Touch; NOKIA; Lumia 920)", Mobile, "Internet Explorer", "Windows Phone");
    }

    #[test]
    fn tools_and_crawlers_go_by_their_own_names() {
        check("curl/8.5.0", DeviceKind::Unknown, "curl", UNKNOWN_OS);
        check(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            DeviceKind::Unknown,
            "Googlebot",
            UNKNOWN_OS,
        );
    }

    #[test]
    fn anything_else_is_unknown() {
        check("", DeviceKind::Unknown, UNKNOWN_BROWSER, UNKNOWN_OS);
        check("Mozilla/5.0", DeviceKind::Unknown, UNKNOWN_BROWSER, UNKNOWN_OS);
        check("a/1 b/2", DeviceKind::Unknown, UNKNOWN_BROWSER, UNKNOWN_OS);
    }

    #[test]
    fn client_hints_name_the_chromium_brand() {
        // Header values as Chromium browsers send them (ua-parser-js test/data/ua-ch/headers.js).
        let cases = [
            (r#""Not A(Brand";v="8", "Chromium";v="132", "Brave";v="132""#, "Brave"),
            (r#""Google Chrome";v="111", "Not(A:Brand";v="8", "Chromium";v="111""#, "Chrome"),
            (r#""Not_A Brand";v="8", "Chromium";v="120", "Microsoft Edge";v="120""#, "Edge"),
            (r#""Opera";v="116", "Chromium";v="131", "Not_A Brand";v="24""#, "Opera"),
            (r#""Chromium";v="128", "Not;A=Brand";v="24", "Opera GX";v="114""#, "Opera"),
            (r#""OperaMobile";v="86", ";Not A Brand";v="99", "Opera";v="115", "Chromium";v="130""#, "Opera"),
            (r#""Chromium";v="125", "Not.A/Brand";v="24", "Samsung Internet";v="27.0""#, "Samsung Internet"),
            (r#""Chromium";v="130", "YaBrowser";v="24.12", "Not?A_Brand";v="99", "Yowser";v="2.5""#, "Yandex Browser"),
            (r#""DuckDuckGo";v="131", "Chromium";v="131", "Not_A Brand";v="24""#, "DuckDuckGo"),
            (
                r#"" Not;A Brand";v="99", "Microsoft Edge";v="103", "Chromium";v="103", "Microsoft Edge WebView2";v="104""#,
                "In-app browser",
            ),
            (r#""Android WebView";v="123", "Not:A-Brand";v="8", "Chromium";v="123""#, "In-app browser"),
            (r#""Avast Secure Browser";v="131", "Chromium";v="131", "Not_A Brand";v="24""#, "Avast Secure Browser"),
            (r#""Chromium";v="124", "HeadlessChrome";v="124", "Not-A.Brand";v="99""#, "Chrome"),
            // Only Chromium: not Google Chrome, whatever the User-Agent says (Vivaldi, Arc, …).
            (r#""Chromium";v="131", "Not_A Brand";v="24""#, "Chromium"),
        ];
        for (brands, browser) in cases {
            assert_eq!(hinted(CHROME_WINDOWS, brands, r#""Windows""#, "?0").browser, browser, "{brands}");
        }
    }

    #[test]
    fn client_hints_name_the_platform_and_the_phone() {
        let brands = r#""Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24""#;
        let phone = hinted(CHROME_ANDROID, brands, r#""Android""#, "?1");
        assert_eq!((phone.kind, phone.os.as_str()), (DeviceKind::Mobile, "Android"));
        let tablet = hinted(
            "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            brands,
            r#""Android""#,
            "?0",
        );
        assert_eq!((tablet.kind, tablet.os.as_str()), (DeviceKind::Tablet, "Android"));
        // A phone asking for the desktop site sends a Linux User-Agent; the hints still say Android.
        let desktop_site = hinted(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
            brands,
            r#""Android""#,
            "?1",
        );
        assert_eq!((desktop_site.kind, desktop_site.os.as_str()), (DeviceKind::Mobile, "Android"));
        let chromebook = hinted(CHROME_WINDOWS, brands, r#""Chrome OS""#, "?0");
        assert_eq!((chromebook.kind, chromebook.os.as_str()), (DeviceKind::Desktop, "ChromeOS"));
        // A platform we have no name for leaves the User-Agent's answer.
        assert_eq!(hinted(CHROME_WINDOWS, brands, r#""Unknown""#, "?0").os, "Windows");
    }

    #[test]
    fn an_app_named_in_the_user_agent_beats_the_web_view_brand() {
        let facebook = "Mozilla/5.0 (Linux; Android 13; SM-A536B Build/TP1A.220624.014; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.230 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/446.0.0.26.108;]";
        let device = hinted(
            facebook,
            r#""Android WebView";v="120", "Chromium";v="120", "Not_A Brand";v="24""#,
            r#""Android""#,
            "?1",
        );
        assert_eq!(
            (device.browser.as_str(), device.os.as_str(), device.kind),
            ("Facebook", "Android", DeviceKind::Mobile)
        );
    }

    #[test]
    fn names_from_the_client_are_cleaned_and_bounded() {
        assert_eq!(clean_name("<script>alert(1)</script>").as_deref(), Some("scriptalert1script"));
        assert_eq!(clean_name("  Norton \n Private\tBrowser ").as_deref(), Some("Norton Private Browser"));
        assert_eq!(clean_name(&"x".repeat(100)).map(|n| n.len()), Some(MAX_NAME_CHARS));
        assert_eq!(clean_name("12.0 ;/"), None);
        assert_eq!(percent_decode("Caf%C3%A9%20Bar%2"), "Café Bar%2");
        let hints = ClientHints {
            brands: Some("\"\u{202e}<b>Evil\\\" Browser\";v=\"1\"".to_string()),
            ..ClientHints::default()
        };
        assert_eq!(parse_with_hints(CHROME_WINDOWS, &hints).browser, "bEvil Browser");
    }

    #[test]
    fn malformed_hints_fall_back_to_the_user_agent() {
        for brands in ["", "\"", ",,,;;;", "Google Chrome", "\"Not A(Brand\";v=\"8\""] {
            let hints = ClientHints {
                brands: Some(brands.to_string()),
                platform: Some("\"".into()),
                mobile: Some("maybe".into()),
            };
            let device = parse_with_hints(CHROME_WINDOWS, &hints);
            assert_eq!(
                (device.browser.as_str(), device.os.as_str(), device.kind),
                ("Chrome", "Windows", DeviceKind::Desktop),
                "{brands}"
            );
        }
    }
}

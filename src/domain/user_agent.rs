//! A small User-Agent reader for the session list: which browser, which OS, which kind of
//! device. It knows the browsers people sign in with; anything else is "Unknown browser" rather
//! than a guess.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceKind {
    Desktop,
    Mobile,
    Tablet,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub kind: DeviceKind,
    pub browser: String,
    pub os: String,
}

pub fn parse(ua: &str) -> Device {
    let os = os_of(ua);
    let browser = browser_of(ua);
    let kind = kind_of(ua, os);
    Device { kind, browser: browser.to_string(), os: os.to_string() }
}

fn os_of(ua: &str) -> &'static str {
    if ua.contains("iPad") {
        "iPadOS"
    } else if ua.contains("iPhone") || ua.contains("iPod") {
        "iOS"
    } else if ua.contains("Android") {
        "Android"
    } else if ua.contains("CrOS") {
        "ChromeOS"
    } else if ua.contains("Windows") {
        "Windows"
    } else if ua.contains("Mac OS X") || ua.contains("Macintosh") {
        "macOS"
    } else if ua.contains("Linux") || ua.contains("X11") {
        "Linux"
    } else {
        "Unknown OS"
    }
}

fn browser_of(ua: &str) -> &'static str {
    // Order matters: Edge, Opera and Samsung Internet also say "Chrome"; Chrome also says "Safari".
    const BROWSERS: [(&str, &str); 11] = [
        ("Edg/", "Edge"),
        ("EdgA/", "Edge"),
        ("EdgiOS/", "Edge"),
        ("OPR/", "Opera"),
        ("SamsungBrowser/", "Samsung Internet"),
        ("Firefox/", "Firefox"),
        ("FxiOS/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chromium/", "Chromium"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ];
    if ua.contains("HeadlessChrome/") {
        return "Chrome";
    }
    BROWSERS.iter().find(|(marker, _)| ua.contains(marker)).map(|(_, name)| *name).unwrap_or("Unknown browser")
}

fn kind_of(ua: &str, os: &str) -> DeviceKind {
    match os {
        "iPadOS" => DeviceKind::Tablet,
        "iOS" => DeviceKind::Mobile,
        "Android" if ua.contains("Mobile") => DeviceKind::Mobile,
        "Android" => DeviceKind::Tablet,
        "Windows" | "macOS" | "Linux" | "ChromeOS" => DeviceKind::Desktop,
        _ => DeviceKind::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(ua: &str, kind: DeviceKind, browser: &str, os: &str) {
        let d = parse(ua);
        assert_eq!((d.kind, d.browser.as_str(), d.os.as_str()), (kind, browser, os), "{ua}");
    }

    #[test]
    fn reads_the_common_browsers() {
        use DeviceKind::*;
        check("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", Desktop, "Chrome", "Windows");
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
    fn anything_else_is_unknown() {
        check("curl/8.5.0", DeviceKind::Unknown, "Unknown browser", "Unknown OS");
        check("", DeviceKind::Unknown, "Unknown browser", "Unknown OS");
    }
}

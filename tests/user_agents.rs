//! Device names against real User-Agents: `tests/data/user_agents.tsv` pairs each one (collected
//! from public test corpora and public code, source in its last column) with the browser and OS
//! the session list should show. Prints the accuracy per family and fails below the thresholds.

use std::collections::BTreeMap;
use wemasy_security::domain::user_agent;

/// Share of rows whose browser, and whose OS, must be named as the table says.
const MIN_BROWSER: f64 = 0.95;
const MIN_OS: f64 = 0.95;
/// No family of browsers or systems may fall below this on its own.
const MIN_PER_FAMILY: f64 = 0.90;

/// Browser names the parser gives out of its own tables; any other expected name is an app, tool
/// or crawler going by the name it sends, and is counted in one family.
const NAMED: &[&str] = &[
    "Chrome",
    "Chromium",
    "Edge",
    "Firefox",
    "Safari",
    "Opera",
    "Samsung Internet",
    "Yandex Browser",
    "Vivaldi",
    "Brave",
    "UC Browser",
    "Internet Explorer",
    "DuckDuckGo",
    "Android Browser",
    "In-app browser",
    "Facebook",
    "Instagram",
    "WeChat",
    "LINE",
    "Snapchat",
    "TikTok",
    "Twitter",
    "LinkedIn",
    "Google app",
];
const OWN_NAMES: &str = "apps, tools, crawlers (own name)";

struct Row<'a> {
    ua: &'a str,
    browser: &'a str,
    os: &'a str,
}

fn rows() -> Vec<Row<'static>> {
    include_str!("data/user_agents.tsv")
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .skip(1) // header
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "ua, browser, os, source: {line}");
            Row { ua: fields[0], browser: fields[1], os: fields[2] }
        })
        .collect()
}

#[derive(Default)]
struct Tally {
    right: usize,
    total: usize,
}

impl Tally {
    fn add(&mut self, right: bool) {
        self.right += usize::from(right);
        self.total += 1;
    }
    fn share(&self) -> f64 {
        self.right as f64 / self.total as f64
    }
}

fn report(title: &str, families: &BTreeMap<&str, Tally>, all: &Tally) -> String {
    let mut out = format!("{title}: {}/{} = {:.1} %\n", all.right, all.total, 100.0 * all.share());
    for (family, tally) in families {
        out += &format!("  {family:<34} {:>3}/{:<3} {:>5.1} %\n", tally.right, tally.total, 100.0 * tally.share());
    }
    out
}

#[test]
fn real_user_agents_get_the_names_their_owners_know() {
    let rows = rows();
    assert!(rows.len() >= 100, "the table needs at least 100 user agents, has {}", rows.len());
    let (mut browsers, mut systems) = (BTreeMap::<&str, Tally>::new(), BTreeMap::<&str, Tally>::new());
    let (mut all_browsers, mut all_systems) = (Tally::default(), Tally::default());
    let mut misses = String::new();
    for row in &rows {
        let device = user_agent::parse(row.ua);
        let family = if NAMED.contains(&row.browser) { row.browser } else { OWN_NAMES };
        let (browser_right, os_right) = (device.browser == row.browser, device.os == row.os);
        browsers.entry(family).or_default().add(browser_right);
        systems.entry(row.os).or_default().add(os_right);
        all_browsers.add(browser_right);
        all_systems.add(os_right);
        if !browser_right || !os_right {
            misses +=
                &format!("  {} on {} (want {} on {}): {}\n", device.browser, device.os, row.browser, row.os, row.ua);
        }
    }
    let text = report("browser", &browsers, &all_browsers) + &report("os", &systems, &all_systems);
    println!("{text}misnamed:\n{misses}");
    let weak: Vec<&str> = browsers
        .iter()
        .chain(&systems)
        .filter(|(_, tally)| tally.share() < MIN_PER_FAMILY)
        .map(|(family, _)| *family)
        .collect();
    assert!(
        all_browsers.share() >= MIN_BROWSER && all_systems.share() >= MIN_OS && weak.is_empty(),
        "below {MIN_BROWSER} (browser) / {MIN_OS} (os) overall or {MIN_PER_FAMILY} in {weak:?}\n{text}misnamed:\n{misses}"
    );
}

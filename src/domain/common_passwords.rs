//! The shipped list of common passwords (see README: from `@zxcvbn-ts/language-common`): the
//! 10,000 most common plus every listed one of 12+ characters, lower-cased and sorted bytewise.
//!
//! SPEC §5.2 refuses a listed password **and its trivial variants**. Ignoring letter case, a
//! password is common when
//!
//! 1. the whole password reads as a listed entry, or
//! 2. a *core* of it does: what is left after cutting digits, symbols and spaces added before
//!    and/or after the letters — any part of the leading run of non-letters and any part of the
//!    trailing run, so `P@ssw0rd!2345` is tried as `p@ssw0rd`, `p@ssw0rd!`, `p@ssw0rd!2`, … and
//!    `L0v3!!2024` as `l0v3`, `l0v3!`, …. A core must stand for at least
//!    [`MIN_CORE_LETTERS`] letters, a substitute counted as the letter it stands for: a date or
//!    number with a short word inside (`2024-08-15-Sun!`) is not refused for `sun`. A password
//!    without any letter has no core; it is only compared whole (and is refused anyway for
//!    having no letter).
//!
//! "Reads as" allows the common substitutions, character by character and in either string:
//! `@`/`4` for a, `0` for o, `3` for e, `$`/`5` for s, `7` for t, and `1`/`!`/`|` for i **or** l;
//! a real `i` never reads as a real `l`. Only the whole password or a whole core is compared with
//! an entry, never a part of it: a listed word inside a passphrase (`Violet-…-Kettle!9`,
//! `Dragon-Harbor-Sunset-42!`) is no match.
//!
//! Cost: a check allocates once (the lower-cased password) and binary-searches the entries in
//! the order of a *folded* key (substitutes replaced by their letter, i and l merged) that every
//! reading of a candidate shares; the one or few entries with that key are then compared under
//! the substitution rules. No core longer than the longest entry (20 bytes) is looked up, so the
//! work is bounded (at most a few hundred lookups) whatever the password's length. The folded
//! index is built once per isolate, on the first check (about a millisecond).

use std::cmp::Ordering;
use std::sync::OnceLock;

static LIST: OnceLock<String> = OnceLock::new();

/// Proof that the list is loaded in this isolate: what a check needs in hand. The list is a
/// static asset (`public/data/common-passwords.txt`), read once per isolate by the use cases
/// that check passwords, rather than compiled into the worker, whose gzip'd size it would take
/// 24 KiB of.
#[derive(Debug, Clone, Copy)]
pub struct Loaded(());

/// Loads the list (the file's text), once per isolate: a second load keeps the first.
pub fn load(text: String) -> Loaded {
    let _ = LIST.set(text);
    Loaded(())
}

/// The list, if this isolate loaded it.
pub fn loaded() -> Option<Loaded> {
    LIST.get().map(|_| Loaded(()))
}

fn list() -> &'static str {
    LIST.get().map_or("", String::as_str)
}

/// A core shorter than this (in letters, substitutes counted as their letter) is not compared.
pub const MIN_CORE_LETTERS: usize = 4;

fn entries() -> &'static [&'static str] {
    static ENTRIES: OnceLock<Vec<&'static str>> = OnceLock::new();
    ENTRIES.get_or_init(|| list().lines().filter(|l| !l.is_empty()).collect())
}

/// The list's text with every byte folded (so a key sits at its entry's offsets), the entries'
/// byte ranges in key order, and the longest entry's length in bytes.
struct FoldedIndex {
    keys: Vec<u8>,
    ranges: Vec<(usize, usize)>,
    longest: usize,
}

impl FoldedIndex {
    fn key(&self, (start, end): (usize, usize)) -> &[u8] {
        &self.keys[start..end]
    }
}

fn folded_index() -> &'static FoldedIndex {
    static INDEX: OnceLock<FoldedIndex> = OnceLock::new();
    INDEX.get_or_init(|| {
        let keys: Vec<u8> = list().bytes().map(fold).collect();
        let mut ranges = Vec::with_capacity(entries().len());
        let mut start = 0;
        for line in list().split_inclusive('\n') {
            let entry = line.trim_end_matches(['\n', '\r']);
            if !entry.is_empty() {
                ranges.push((start, start + entry.len()));
            }
            start += line.len();
        }
        ranges.sort_unstable_by(|&a, &b| keys[a.0..a.1].cmp(&keys[b.0..b.1]));
        let longest = ranges.iter().map(|(s, e)| e - s).max().unwrap_or(0);
        FoldedIndex { keys, ranges, longest }
    })
}

/// The letters a lower-cased byte can stand for: itself, or the one or two it substitutes.
fn meanings(b: u8) -> [u8; 2] {
    match b {
        b'@' | b'4' => [b'a'; 2],
        b'0' => [b'o'; 2],
        b'3' => [b'e'; 2],
        b'$' | b'5' => [b's'; 2],
        b'7' => [b't'; 2],
        b'1' | b'!' | b'|' => [b'i', b'l'],
        _ => [b; 2],
    }
}

/// The key shared by every reading of a byte: its letter, with i and l merged. Non-ASCII bytes
/// (parts of UTF-8 sequences) are kept, so a folded string is still in UTF-8 order.
fn fold(b: u8) -> u8 {
    match meanings(b)[0] {
        b'l' => b'i',
        letter => letter,
    }
}

/// Whether two lower-cased strings of equal folded key read alike: each pair of bytes is equal
/// or can stand for a common letter (so `1` matches `i`, `l` and `!`, but `i` never matches `l`).
fn reads_as(candidate: &[u8], entry: &[u8]) -> bool {
    candidate.len() == entry.len()
        && candidate.iter().zip(entry).all(|(&c, &e)| {
            let (mc, me) = (meanings(c), meanings(e));
            c == e || me.contains(&mc[0]) || me.contains(&mc[1])
        })
}

/// Whether the lower-cased candidate reads as some listed entry.
fn reads_as_listed(candidate: &[u8]) -> bool {
    let index = folded_index();
    if candidate.len() > index.longest {
        return false;
    }
    let cmp = |range| index.key(range).iter().copied().cmp(candidate.iter().map(|&b| fold(b)));
    let first = index.ranges.partition_point(|&r| cmp(r) == Ordering::Less);
    index.ranges[first..]
        .iter()
        .take_while(|&&r| cmp(r) == Ordering::Equal)
        .any(|&(start, end)| reads_as(candidate, &list().as_bytes()[start..end]))
}

/// How many letters a lower-cased core stands for (substitutes counted as their letter). Only
/// ASCII counts: every entry is ASCII, so a core with other letters cannot match anyway.
fn letters_in(core: &[u8]) -> usize {
    core.iter().filter(|&&b| fold(b).is_ascii_lowercase()).count()
}

/// True when the password is on the list or a trivial variant of an entry (see the module doc).
pub fn is_common(password: &str, _: Loaded) -> bool {
    let lowered = password.to_lowercase();
    let bytes = lowered.as_bytes();
    if reads_as_listed(bytes) {
        return true;
    }
    // The letters span [first, last_end); the runs of non-letters around it may be cut anywhere.
    let Some(first) = lowered.find(char::is_alphabetic) else {
        return false;
    };
    let last = lowered.char_indices().rev().find(|(_, c)| c.is_alphabetic());
    let last_end = last.map_or(first, |(i, c)| i + c.len_utf8());
    let longest = folded_index().longest;
    for start in (0..=first).rev().filter(|&i| lowered.is_char_boundary(i)) {
        if last_end - start > longest {
            break;
        }
        for end in (last_end..=bytes.len()).filter(|&i| lowered.is_char_boundary(i)) {
            if end - start > longest {
                break;
            }
            if (start, end) == (0, bytes.len()) {
                continue; // the whole password, already looked up
            }
            let core = &bytes[start..end];
            if letters_in(core) >= MIN_CORE_LETTERS && reads_as_listed(core) {
                return true;
            }
        }
    }
    false
}

pub fn len(_: Loaded) -> usize {
    entries().len()
}

/// The list, loaded from the repository as the worker loads it from its assets (host tests).
#[cfg(test)]
pub(crate) fn bundled() -> Loaded {
    load(include_str!("../../public/data/common-passwords.txt").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_common(password: &str) -> bool {
        super::is_common(password, bundled())
    }

    #[test]
    fn list_has_at_least_ten_thousand_sorted_unique_entries() {
        bundled();
        let e = entries();
        assert!(e.len() >= 10_000, "{}", e.len());
        assert!(e.windows(2).all(|w| w[0] < w[1]), "list must be sorted bytewise and unique");
        assert!(e.iter().all(|entry| entry.is_ascii() && *entry == entry.to_lowercase()));
    }

    #[test]
    fn the_folded_index_holds_every_entry_in_key_order() {
        bundled();
        let index = folded_index();
        assert_eq!(index.ranges.len(), entries().len());
        assert!(index.ranges.windows(2).all(|w| index.key(w[0]) <= index.key(w[1])));
        assert_eq!(index.longest, 20);
        let mut listed: Vec<&str> = index.ranges.iter().map(|&(s, e)| &list()[s..e]).collect();
        listed.sort_unstable();
        assert_eq!(listed, entries());
        assert!(entries().iter().all(|e| reads_as_listed(e.as_bytes())), "every entry finds itself");
    }

    #[test]
    fn finds_common_passwords_in_any_case() {
        assert!(is_common("password"));
        assert!(is_common("PassWord"));
        assert!(is_common("123456"));
        assert!(is_common("p030710p$e4o"));
        assert!(!is_common("correct-Horse-7-battery"));
    }

    #[test]
    fn substitutions_read_both_ways_and_one_stands_for_i_or_l() {
        assert!(reads_as(b"p@ssw0rd", b"password"));
        assert!(reads_as(b"password", b"p@ssw0rd"));
        assert!(reads_as(b"1ovey0u", b"loveyou"));
        assert!(reads_as(b"!1ovey0u", b"iloveyou"));
        assert!(reads_as(b"|i|", b"lil"));
        assert!(!reads_as(b"iloveyou", b"lloveyou"), "a real i is not an l");
        assert!(!reads_as(b"passwords", b"password"));
        assert!(is_common("1LOVEYOU"));
        assert!(is_common("!l0v3y0u"));
        assert!(is_common("Tr@ct0r"));
    }

    #[test]
    fn digits_and_symbols_around_a_listed_password_are_cut_off() {
        for p in ["Password123!", "!!Password2024", "P@ssw0rd!2345", "Dr@g0n-1234567", "qwerty123456!", "iloveyou!!123"]
        {
            assert!(is_common(p), "{p}");
        }
        // Part of a run may belong to the entry: `1qaz2wsx` with more added on both sides.
        assert!(is_common("#1qaz2wsx!!"));
        // A substitute at the edge of the letters is tried both as the letter and as an affix.
        assert!(is_common("L0v3!!123456"));
    }

    #[test]
    fn a_core_of_fewer_than_four_letters_is_not_compared() {
        assert!(is_common("love"));
        assert!(!is_common("2024-08-15-Sun!"));
        assert!(!is_common("#123#cat#456#"));
        // A letter inside the affixes makes it part of the core.
        assert!(!is_common("Password-x-2024!"));
    }

    #[test]
    fn a_listed_word_inside_a_passphrase_is_no_match() {
        for p in ["Violet-0a1b2c-Kettle!9", "Copper 9f8e7d Lantern#7", "my-dragon-is-blue-42", "password and more!"] {
            assert!(!is_common(p), "{p}");
        }
    }

    #[test]
    fn any_length_and_any_characters_are_handled() {
        assert!(!is_common(""));
        assert!(!is_common(&"!".repeat(10_000)));
        assert!(is_common(&format!("{}password{}", "!".repeat(5_000), "9".repeat(5_000))));
        assert!(!is_common(&format!("{}x{}", "1".repeat(300), "é".repeat(300))));
        assert!(!is_common("İİİİpassword"));
        assert!(!is_common("ﬀ!!dragon!!"), "a letter before the symbols belongs to the core");
    }
}

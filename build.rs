//! Front-codes the common-password list (`data/common-passwords.txt`, sorted) for the worker:
//! each entry is stored as the length of the prefix it shares with the entry before it (one
//! byte, `'0'` + n) and the rest of it. The list is the largest piece of the gzip'd worker; front
//! coding takes a quarter off it there (src/domain/common_passwords.rs decodes it once).

use std::{env, fs, path::Path};

fn main() {
    let source = "data/common-passwords.txt";
    println!("cargo:rerun-if-changed={source}");
    let list = fs::read_to_string(source).expect("the common-password list");
    let mut coded = Vec::with_capacity(list.len());
    let mut previous: &[u8] = b"";
    for entry in list.lines().filter(|l| !l.is_empty()).map(str::as_bytes) {
        let shared = previous.iter().zip(entry).take_while(|(a, b)| a == b).count().min(200);
        coded.push(b'0' + shared as u8);
        coded.extend_from_slice(&entry[shared..]);
        coded.push(b'\n');
        previous = entry;
    }
    let out = Path::new(&env::var("OUT_DIR").expect("OUT_DIR")).join("common-passwords.fc");
    fs::write(out, coded).expect("writing the front-coded list");
}

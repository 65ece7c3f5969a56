//! Native baseline for `make bench`: times `domain::password::hash` with the OWASP parameters the
//! worker uses, on this machine. Run with `cargo run --release --example argon2_native`.

use std::time::Instant;

use wemasy_security::domain::password::{hash, HashParams};

fn main() {
    let params = HashParams::OWASP;
    hash("warm-up password 1!", params).expect("argon2 hashes");
    let mut millis: Vec<f64> = (0..15)
        .map(|i| {
            let started = Instant::now();
            hash(&format!("Blue-Harbor-{i}-7!"), params).expect("argon2 hashes");
            started.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    millis.sort_by(f64::total_cmp);
    println!(
        "ARGON2_NATIVE m={} t={} p={} median_ms={:.1} min_ms={:.1}",
        params.memory_kib,
        params.iterations,
        params.parallelism,
        millis[millis.len() / 2],
        millis[0]
    );
}

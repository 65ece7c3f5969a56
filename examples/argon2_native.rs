//! Native baseline for `make bench`: times argon2id as the `argon2` crate runs it natively (with
//! AVX2 where the CPU has it), with the OWASP parameters the worker uses, on this machine. The
//! worker's own `domain::argon2id` is written for wasm; natively it runs a portable fallback.
//! Run with `cargo run --release --example argon2_native`.

use std::time::Instant;

use argon2::{Algorithm, Argon2, Params, Version};
use wemasy_security::domain::password::HashParams;

fn hash(password: &str, params: HashParams) -> Result<[u8; 32], argon2::Error> {
    let params = Params::new(params.memory_kib, params.iterations, params.parallelism, Some(32))?;
    let mut out = [0u8; 32];
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into(
        password.as_bytes(),
        b"0123456789abcdef",
        &mut out,
    )?;
    Ok(out)
}

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

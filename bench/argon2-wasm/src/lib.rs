//! argon2id alone, compiled to plain wasm32 (no wasm-bindgen), in two implementations: the
//! `argon2` crate (what the worker runs) and `argon2id.rs`, an implementation with a `simd128`
//! BlaMka compression that was tried for the worker and measured slower in V8 than the crate (see
//! BENCHMARKS.md, "Build options tried"). Exports, each answering 0 on success:
//! - `hash_crate(m_kib, t, p)` / `hash_ours(m_kib, t, p)`: one hash with a fixed salt, the same
//!   work as the worker's `domain::password::hash` (timed by `time.mjs`, from `run.sh`);
//! - `check(cases)`: RFC 9106's argon2id vector, then `cases` random inputs and parameters on
//!   which both implementations must agree; answers the number of disagreements (`check.mjs`).

mod argon2id;

use argon2::{Algorithm, Argon2, Params, Version};

const PASSWORD: &[u8] = b"Blue-Harbor-1234-7!";
const SALT: &[u8] = b"0123456789abcdef";

fn crate_hash(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32, out: &mut [u8]) -> bool {
    let Ok(params) = Params::new(m, t, p, Some(out.len())) else { return false };
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into(password, salt, out).is_ok()
}

fn our_hash(password: &[u8], salt: &[u8], m: u32, t: u32, p: u32, out: &mut [u8]) -> bool {
    let cost = argon2id::Cost { memory_kib: m, passes: t, lanes: p };
    argon2id::hash(password, salt, &[], &[], cost, out).is_ok()
}

#[no_mangle]
pub extern "C" fn hash_crate(memory_kib: u32, iterations: u32, parallelism: u32) -> u32 {
    let mut out = [0u8; 32];
    let ok = crate_hash(PASSWORD, SALT, memory_kib, iterations, parallelism, &mut out);
    std::hint::black_box(&out);
    u32::from(!ok)
}

#[no_mangle]
pub extern "C" fn hash_ours(memory_kib: u32, iterations: u32, parallelism: u32) -> u32 {
    let mut out = [0u8; 32];
    let ok = our_hash(PASSWORD, SALT, memory_kib, iterations, parallelism, &mut out);
    std::hint::black_box(&out);
    u32::from(!ok)
}

/// xorshift64*: reproducible inputs without a dependency.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u32 {
        (self.next() % n) as u32
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

#[no_mangle]
pub extern "C" fn check(cases: u32) -> u32 {
    let mut tag = [0u8; 32];
    let cost = argon2id::Cost { memory_kib: 32, passes: 3, lanes: 4 };
    let vector = [
        0x0d, 0x64, 0x0d, 0xf5, 0x8d, 0x78, 0x76, 0x6c, 0x08, 0xc0, 0x37, 0xa3, 0x4a, 0x8b, 0x53, 0xc9, 0xd0, 0x1e,
        0xf0, 0x45, 0x2d, 0x75, 0xb6, 0x5e, 0xb5, 0x25, 0x20, 0xe9, 0x6b, 0x01, 0xe6, 0x59,
    ];
    let mut disagreements = 0;
    if argon2id::hash(&[1; 32], &[2; 16], &[3; 8], &[4; 12], cost, &mut tag).is_err() || tag != vector {
        disagreements += 1;
    }
    let mut random = Random(0x9E37_79B9_7F4A_7C15);
    for _ in 0..cases {
        let p = 1 + random.below(4);
        let m = 8 * p + random.below(200);
        let t = 1 + random.below(3);
        let (password_len, salt_len) = (random.below(64) as usize, 8 + random.below(25) as usize);
        let password = random.bytes(password_len);
        let salt = random.bytes(salt_len);
        let out_len = 4 + random.below(96) as usize;
        let (mut ours, mut theirs) = (vec![0u8; out_len], vec![0u8; out_len]);
        let both = our_hash(&password, &salt, m, t, p, &mut ours) && crate_hash(&password, &salt, m, t, p, &mut theirs);
        if !both || ours != theirs {
            disagreements += 1;
        }
    }
    disagreements
}

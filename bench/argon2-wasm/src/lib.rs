//! `hash(m_kib, t, p) -> 0 on success`: one argon2id hash with a fixed salt, the same work as the
//! worker's `domain::password::hash`.

use argon2::{Algorithm, Argon2, Params, Version};

#[no_mangle]
pub extern "C" fn hash(memory_kib: u32, iterations: u32, parallelism: u32) -> u32 {
    let Ok(params) = Params::new(memory_kib, iterations, parallelism, Some(32)) else { return 1 };
    let mut out = [0u8; 32];
    match Argon2::new(Algorithm::Argon2id, Version::V0x13, params).hash_password_into(
        b"Blue-Harbor-1234-7!",
        b"0123456789abcdef",
        &mut out,
    ) {
        Ok(()) => {
            std::hint::black_box(&out);
            0
        }
        Err(_) => 2,
    }
}

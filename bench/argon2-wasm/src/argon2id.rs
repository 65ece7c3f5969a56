//! argon2id (RFC 9106, version 0x13) with its block compression written for wasm's `simd128` —
//! an experiment for issue 15, kept here (not in the worker) because in V8 it ran slower than the
//! `argon2` crate, whose scalar 64-bit code V8 already compiles to native-speed x86-64.
//! Here the 16-word BLAKE2b-like rounds of the compression work on two words
//! per vector: BlaMka's 32×32→64-bit product is `u64x2_extmul_low_u32x4` after a shuffle, and the
//! rotations by 32, 24 and 16 are byte shuffles (the layout and diagonal shuffles are those of the
//! reference SSE2 code). Off wasm, or without `simd128`, the same code runs on a portable
//! two-word type: host tests hold it to RFC 9106's vector and to the `argon2` crate.

use blake2::digest::block_api::{UpdateCore, VariableOutputCore};
use blake2::digest::block_buffer::LazyBuffer;
use blake2::{Blake2b512, Blake2bVarCore, Digest};

use lanes::W;

const SYNC_POINTS: usize = 4;
const VERSION: u32 = 0x13;
const ARGON2ID: u32 = 2;
/// Vectors of two words in a 1 KiB block.
const VECTORS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Argon2Error {
    BadParams,
    OutputLength,
}

/// Cost parameters as RFC 9106 names them: memory in KiB (`m`), passes (`t`), lanes (`p`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cost {
    pub memory_kib: u32,
    pub passes: u32,
    pub lanes: u32,
}

#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct Block([W; VECTORS]);

impl Block {
    const ZERO: Self = Self([W::ZERO; VECTORS]);

    fn from_bytes(bytes: &[u8; 1024]) -> Self {
        let mut block = Self::ZERO;
        for (i, pair) in bytes.chunks_exact(16).enumerate() {
            let word = |at: usize| u64::from_le_bytes(pair[at..at + 8].try_into().unwrap_or_default());
            block.0[i] = W::new(word(0), word(8));
        }
        block
    }

    fn to_bytes(&self) -> [u8; 1024] {
        let mut bytes = [0u8; 1024];
        for (i, pair) in bytes.chunks_exact_mut(16).enumerate() {
            let (a, b) = self.0[i].words();
            pair[..8].copy_from_slice(&a.to_le_bytes());
            pair[8..].copy_from_slice(&b.to_le_bytes());
        }
        bytes
    }

    fn first_word(&self) -> u64 {
        self.0[0].words().0
    }

    fn xor_with(&mut self, other: &Self) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.xor(*b);
        }
    }

    /// G(x, y) = P(x ⊕ y) ⊕ x ⊕ y, rows then columns; with `into_old`, also ⊕ the old block
    /// (passes after the first).
    fn compress(x: &Self, y: &Self, into: &mut Self, into_old: bool) {
        let mut r = *x;
        r.xor_with(y);
        let mut q = r;
        for row in 0..8 {
            let at = |i: usize| 8 * row + i;
            permute(&mut q.0, [at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)]);
        }
        for column in 0..8 {
            let at = |i: usize| column + 8 * i;
            permute(&mut q.0, [at(0), at(1), at(2), at(3), at(4), at(5), at(6), at(7)]);
        }
        q.xor_with(&r);
        if into_old {
            into.xor_with(&q);
        } else {
            *into = q;
        }
    }
}

/// One BLAKE2b round with BlaMka's multiply on the 16 words held by the vectors at `at`
/// (a0 a1 b0 b1 c0 c1 d0 d1): the columns, then the diagonals.
#[inline(always)]
fn permute(v: &mut [W; VECTORS], at: [usize; 8]) {
    let (mut a0, mut a1, mut b0, mut b1) = (v[at[0]], v[at[1]], v[at[2]], v[at[3]]);
    let (mut c0, mut c1, mut d0, mut d1) = (v[at[4]], v[at[5]], v[at[6]], v[at[7]]);
    mix(&mut a0, &mut b0, &mut c0, &mut d0);
    mix(&mut a1, &mut b1, &mut c1, &mut d1);
    // Diagonals: b → (b1 b2)(b3 b0), c swapped, d → (d3 d0)(d1 d2).
    let (b0d, b1d) = (W::high_low(b0, b1), W::high_low(b1, b0));
    let (c0d, c1d) = (c1, c0);
    let (d0d, d1d) = (W::high_low(d1, d0), W::high_low(d0, d1));
    let (mut b0, mut b1, mut c0, mut c1, mut d0, mut d1) = (b0d, b1d, c0d, c1d, d0d, d1d);
    mix(&mut a0, &mut b0, &mut c0, &mut d0);
    mix(&mut a1, &mut b1, &mut c1, &mut d1);
    v[at[0]] = a0;
    v[at[1]] = a1;
    v[at[2]] = W::high_low(b1, b0);
    v[at[3]] = W::high_low(b0, b1);
    v[at[4]] = c1;
    v[at[5]] = c0;
    v[at[6]] = W::high_low(d0, d1);
    v[at[7]] = W::high_low(d1, d0);
}

#[inline(always)]
fn mix(a: &mut W, b: &mut W, c: &mut W, d: &mut W) {
    *a = a.blamka(*b);
    *d = d.xor(*a).rotate_right_32();
    *c = c.blamka(*d);
    *b = b.xor(*c).rotate_right_24();
    *a = a.blamka(*b);
    *d = d.xor(*a).rotate_right_16();
    *c = c.blamka(*d);
    *b = b.xor(*c).rotate_right_63();
}

/// H' of RFC 9106 §3.3: BLAKE2b stretched to `out.len()` bytes.
fn long_hash(inputs: &[&[u8]], out: &mut [u8]) -> Result<(), Argon2Error> {
    let length = u32::try_from(out.len()).map_err(|_| Argon2Error::OutputLength)?.to_le_bytes();
    if out.len() <= 64 {
        let mut hasher = Blake2bVarCore::new(out.len()).map_err(|_| Argon2Error::OutputLength)?;
        let mut buffer = LazyBuffer::new(&length);
        for input in inputs {
            buffer.digest_blocks(input, |blocks| hasher.update_blocks(blocks));
        }
        let mut full = Default::default();
        hasher.finalize_variable_core(&mut buffer, &mut full);
        out.copy_from_slice(&full[..out.len()]);
        return Ok(());
    }
    let mut hasher = Blake2b512::new();
    hasher.update(length);
    for input in inputs {
        hasher.update(input);
    }
    let mut last = hasher.finalize();
    let (first, mut rest) = out.split_at_mut(32);
    first.copy_from_slice(&last[..32]);
    while rest.len() > 64 {
        last = Blake2b512::digest(last);
        let (head, tail) = rest.split_at_mut(32);
        head.copy_from_slice(&last[..32]);
        rest = tail;
    }
    let tail_len = rest.len();
    long_hash_tail(&last, rest, tail_len)
}

fn long_hash_tail(last: &[u8], out: &mut [u8], length: usize) -> Result<(), Argon2Error> {
    let mut hasher = Blake2bVarCore::new(length).map_err(|_| Argon2Error::OutputLength)?;
    let mut buffer = LazyBuffer::new(&[]);
    buffer.digest_blocks(last, |blocks| hasher.update_blocks(blocks));
    let mut full = Default::default();
    hasher.finalize_variable_core(&mut buffer, &mut full);
    out.copy_from_slice(&full[..length]);
    Ok(())
}

/// argon2id of `password` with `salt`, optional `secret` (K) and `associated` data (X), into `out`.
pub fn hash(
    password: &[u8],
    salt: &[u8],
    secret: &[u8],
    associated: &[u8],
    cost: Cost,
    out: &mut [u8],
) -> Result<(), Argon2Error> {
    let lanes = cost.lanes as usize;
    if lanes == 0 || cost.passes == 0 || out.len() < 4 || salt.len() < 8 || cost.memory_kib < 8 * cost.lanes {
        return Err(Argon2Error::BadParams);
    }
    let segment_length = cost.memory_kib as usize / (SYNC_POINTS * lanes);
    let lane_length = segment_length * SYNC_POINTS;
    let memory_blocks = lane_length * lanes;
    let le = |n: usize| u32::try_from(n).map(u32::to_le_bytes).map_err(|_| Argon2Error::BadParams);

    let mut h0 = Blake2b512::new();
    for n in [cost.lanes, out.len() as u32, cost.memory_kib, cost.passes, VERSION, ARGON2ID] {
        h0.update(n.to_le_bytes());
    }
    for part in [password, salt, secret, associated] {
        h0.update(le(part.len())?);
        h0.update(part);
    }
    let h0 = h0.finalize();

    let mut memory = vec![Block::ZERO; memory_blocks];
    let mut bytes = [0u8; 1024];
    for lane in 0..lanes {
        for column in 0..2 {
            long_hash(&[&h0, &le(column)?, &le(lane)?], &mut bytes)?;
            memory[lane * lane_length + column] = Block::from_bytes(&bytes);
        }
    }

    for pass in 0..cost.passes as usize {
        for slice in 0..SYNC_POINTS {
            for lane in 0..lanes {
                let position = Position { pass, lane, slice };
                fill_segment(&mut memory, position, Shape { lanes, lane_length, segment_length, memory_blocks, passes: cost.passes as usize });
            }
        }
    }

    let mut last = memory[lane_length - 1];
    for lane in 1..lanes {
        last.xor_with(&memory[lane * lane_length + lane_length - 1]);
    }
    long_hash(&[&last.to_bytes()], out)
}

#[derive(Clone, Copy)]
struct Position {
    pass: usize,
    lane: usize,
    slice: usize,
}

#[derive(Clone, Copy)]
struct Shape {
    lanes: usize,
    lane_length: usize,
    segment_length: usize,
    memory_blocks: usize,
    passes: usize,
}

fn fill_segment(memory: &mut [Block], at: Position, shape: Shape) {
    // argon2id: data-independent addresses in the first half of the first pass.
    let independent = at.pass == 0 && at.slice < SYNC_POINTS / 2;
    let mut input = Block::ZERO;
    let mut addresses = Block::ZERO;
    if independent {
        input.0[0] = W::new(at.pass as u64, at.lane as u64);
        input.0[1] = W::new(at.slice as u64, shape.memory_blocks as u64);
        input.0[2] = W::new(shape.passes as u64, u64::from(ARGON2ID));
    }
    let mut counter = 0u64;
    let mut next_addresses = |input: &mut Block, addresses: &mut Block| {
        counter += 1;
        input.0[3] = W::new(counter, 0);
        Block::compress(&Block::ZERO, input, addresses, false);
        let once = *addresses;
        Block::compress(&Block::ZERO, &once, addresses, false);
    };
    let mut start = 0;
    if at.pass == 0 && at.slice == 0 {
        start = 2;
        if independent {
            next_addresses(&mut input, &mut addresses);
        }
    }
    let lane_start = at.lane * shape.lane_length;
    let mut current = lane_start + at.slice * shape.segment_length + start;
    let mut previous = if current % shape.lane_length == 0 { current + shape.lane_length - 1 } else { current - 1 };
    for index in start..shape.segment_length {
        if current % shape.lane_length == 1 {
            previous = current - 1;
        }
        let random = if independent {
            if index % 128 == 0 {
                next_addresses(&mut input, &mut addresses);
            }
            let (a, b) = addresses.0[(index % 128) / 2].words();
            if index % 2 == 0 {
                a
            } else {
                b
            }
        } else {
            memory[previous].first_word()
        };
        let ref_lane = if at.pass == 0 && at.slice == 0 { at.lane } else { ((random >> 32) as usize) % shape.lanes };
        let ref_index = reference_index(at, index, shape, random & 0xFFFF_FFFF, ref_lane == at.lane);
        let reference = ref_lane * shape.lane_length + ref_index;
        debug_assert!(reference != current && previous != current && current < memory.len());
        let base = memory.as_mut_ptr();
        // SAFETY: all three are in bounds (indices into this lane's or another lane's blocks), and
        // the block being written is neither the previous one nor the reference (RFC 9106 §3.4.1.2
        // never references the block being computed), so the shared borrows do not alias it.
        let (prev_block, ref_block, into) =
            unsafe { (&*base.add(previous), &*base.add(reference), &mut *base.add(current)) };
        Block::compress(prev_block, ref_block, into, at.pass > 0);
        previous = current;
        current += 1;
    }
}

/// RFC 9106 §3.4.1.2: which block of the reference lane the block at `index` mixes in.
fn reference_index(at: Position, index: usize, shape: Shape, random: u64, same_lane: bool) -> usize {
    let finished = if at.pass == 0 { at.slice * shape.segment_length } else { shape.lane_length - shape.segment_length };
    let area = if same_lane {
        finished + index - 1
    } else if index == 0 {
        finished - 1
    } else {
        finished
    };
    let x = (random * random) >> 32;
    let relative = area - 1 - ((area as u64 * x) >> 32) as usize;
    let start = if at.pass != 0 && at.slice != SYNC_POINTS - 1 { (at.slice + 1) * shape.segment_length } else { 0 };
    (start + relative) % shape.lane_length
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod lanes {
    use core::arch::wasm32::*;

    /// Two 64-bit words in one wasm `v128`.
    #[derive(Clone, Copy)]
    pub struct W(v128);

    impl W {
        pub const ZERO: Self = Self(u64x2(0, 0));

        #[inline(always)]
        pub fn new(a: u64, b: u64) -> Self {
            Self(u64x2(a, b))
        }

        #[inline(always)]
        pub fn words(self) -> (u64, u64) {
            (u64x2_extract_lane::<0>(self.0), u64x2_extract_lane::<1>(self.0))
        }

        #[inline(always)]
        pub fn xor(self, other: Self) -> Self {
            Self(v128_xor(self.0, other.0))
        }

        /// a + b + 2·lo32(a)·lo32(b), per word.
        #[inline(always)]
        pub fn blamka(self, other: Self) -> Self {
            let low_a = i32x4_shuffle::<0, 2, 0, 2>(self.0, self.0);
            let low_b = i32x4_shuffle::<0, 2, 0, 2>(other.0, other.0);
            let product = u64x2_extmul_low_u32x4(low_a, low_b);
            Self(i64x2_add(i64x2_add(self.0, other.0), i64x2_add(product, product)))
        }

        #[inline(always)]
        pub fn rotate_right_32(self) -> Self {
            Self(i32x4_shuffle::<1, 0, 3, 2>(self.0, self.0))
        }

        #[inline(always)]
        pub fn rotate_right_24(self) -> Self {
            Self(i8x16_shuffle::<3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10>(self.0, self.0))
        }

        #[inline(always)]
        pub fn rotate_right_16(self) -> Self {
            Self(i8x16_shuffle::<2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9>(self.0, self.0))
        }

        #[inline(always)]
        pub fn rotate_right_63(self) -> Self {
            Self(v128_or(u64x2_shr(self.0, 63), i64x2_add(self.0, self.0)))
        }

        /// (a's high word, b's low word).
        #[inline(always)]
        pub fn high_low(a: Self, b: Self) -> Self {
            Self(i64x2_shuffle::<1, 2>(a.0, b.0))
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
mod lanes {
    /// Two 64-bit words, as the wasm `v128` holds them.
    #[derive(Clone, Copy)]
    pub struct W([u64; 2]);

    impl W {
        pub const ZERO: Self = Self([0, 0]);

        pub fn new(a: u64, b: u64) -> Self {
            Self([a, b])
        }

        pub fn words(self) -> (u64, u64) {
            (self.0[0], self.0[1])
        }

        pub fn xor(self, other: Self) -> Self {
            Self([self.0[0] ^ other.0[0], self.0[1] ^ other.0[1]])
        }

        pub fn blamka(self, other: Self) -> Self {
            let one = |a: u64, b: u64| {
                let product = (a & 0xFFFF_FFFF) * (b & 0xFFFF_FFFF);
                a.wrapping_add(b).wrapping_add(product.wrapping_mul(2))
            };
            Self([one(self.0[0], other.0[0]), one(self.0[1], other.0[1])])
        }

        fn rotate(self, by: u32) -> Self {
            Self([self.0[0].rotate_right(by), self.0[1].rotate_right(by)])
        }

        pub fn rotate_right_32(self) -> Self {
            self.rotate(32)
        }

        pub fn rotate_right_24(self) -> Self {
            self.rotate(24)
        }

        pub fn rotate_right_16(self) -> Self {
            self.rotate(16)
        }

        pub fn rotate_right_63(self) -> Self {
            self.rotate(63)
        }

        pub fn high_low(a: Self, b: Self) -> Self {
            Self([a.0[1], b.0[0]])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn rfc_9106_argon2id_test_vector() {
        let mut tag = [0u8; 32];
        let cost = Cost { memory_kib: 32, passes: 3, lanes: 4 };
        hash(&[1; 32], &[2; 16], &[3; 8], &[4; 12], cost, &mut tag).unwrap();
        assert_eq!(hex(&tag), "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659");
    }

    #[test]
    fn agrees_with_the_argon2_crate() {
        use argon2::{Algorithm, Argon2, Params, Version};
        for (i, (m, t, p, out_len)) in [(8, 1, 1, 32), (64, 2, 1, 32), (256, 1, 2, 16), (40, 3, 3, 100), (1024, 2, 1, 32)]
            .into_iter()
            .enumerate()
        {
            let password = format!("pässword-{i}");
            let salt = [i as u8 + 7; 16];
            let mut ours = vec![0u8; out_len];
            hash(password.as_bytes(), &salt, &[], &[], Cost { memory_kib: m, passes: t, lanes: p }, &mut ours).unwrap();
            let mut theirs = vec![0u8; out_len];
            let params = Params::new(m, t, p, Some(out_len)).unwrap();
            Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
                .hash_password_into(password.as_bytes(), &salt, &mut theirs)
                .unwrap();
            assert_eq!(hex(&ours), hex(&theirs), "m={m} t={t} p={p} out={out_len}");
        }
    }
}

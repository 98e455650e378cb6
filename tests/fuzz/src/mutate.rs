//! Input generation: a seeded pseudo-random generator and byte-level mutations of corpus
//! entries (kept cases and valid seeds), in the style of libFuzzer's mutators.

/// SplitMix64: small, fast, and the same sequence on every machine for a seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// A length biased to small values, below `max`.
    fn len(&mut self, max: usize) -> usize {
        let bits = self.below(usize::BITS as usize - max.leading_zeros() as usize + 1);
        self.below(1usize.checked_shl(bits as u32).unwrap_or(max).min(max))
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// Values that often sit on boundaries: lengths, counts, sign bits.
const INTERESTING: &[u64] = &[
    0,
    1,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x7fff,
    0xffff,
    0x1_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0xffff_ffff_ffff_ffff,
];

/// The next input: mostly a corpus entry with a few mutations, sometimes fresh random bytes.
pub fn next_input(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || rng.one_in(8) {
        let n = rng.len(4096);
        return rng.bytes(n);
    }
    let mut input = corpus[rng.below(corpus.len())].clone();
    for _ in 0..1 + rng.len(8) {
        mutate(rng, &mut input, corpus);
    }
    input
}

/// Applies one random mutation to `input`.
fn mutate(rng: &mut Rng, input: &mut Vec<u8>, corpus: &[Vec<u8>]) {
    let len = input.len();
    match rng.below(10) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        // Set one byte.
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = rng.next_u64() as u8;
        }
        // Insert random bytes.
        2 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.len(64);
            let bytes = rng.bytes(n);
            input.splice(at..at, bytes);
        }
        // Delete a range.
        3 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.len(len - at);
            input.drain(at..(at + n).min(len));
        }
        // Duplicate a range somewhere else.
        4 if len > 0 => {
            let at = rng.below(len);
            let n = 1 + rng.len(len - at);
            let chunk: Vec<u8> = input[at..(at + n).min(len)].to_vec();
            let to = rng.below(len + 1);
            input.splice(to..to, chunk);
        }
        // Overwrite with a boundary value (1, 2, 4 or 8 bytes, little- or big-endian).
        5 if len > 0 => {
            let value = INTERESTING[rng.below(INTERESTING.len())];
            let width = [1, 2, 4, 8][rng.below(4)];
            let bytes = if rng.one_in(2) { value.to_le_bytes() } else { value.to_be_bytes() };
            let bytes = if rng.one_in(2) { &bytes[..width] } else { &bytes[8 - width..] };
            let at = rng.below(len);
            for (k, b) in bytes.iter().enumerate() {
                if let Some(slot) = input.get_mut(at + k) {
                    *slot = *b;
                }
            }
        }
        // Add or subtract a little from one byte.
        6 if len > 0 => {
            let i = rng.below(len);
            let delta = 1 + rng.below(16) as u8;
            input[i] =
                if rng.one_in(2) { input[i].wrapping_add(delta) } else { input[i].wrapping_sub(delta) };
        }
        // Truncate.
        7 if len > 0 => input.truncate(rng.below(len)),
        // Splice: the head of this input, the tail of another.
        8 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let at = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            input.truncate(at);
            input.extend_from_slice(&other[from..]);
        }
        // Copy a range over another place in the same input.
        _ if len > 1 => {
            let from = rng.below(len);
            let to = rng.below(len);
            let n = 1 + rng.len((len - from).min(len - to));
            input.copy_within(from..from + n.min(len - from).min(len - to), to);
        }
        _ => input.push(rng.next_u64() as u8),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_inputs() {
        let corpus = vec![b"hello world".to_vec(), vec![0; 100]];
        let run = |seed| {
            let mut rng = Rng::new(seed);
            (0..200).map(|_| next_input(&mut rng, &corpus)).collect::<Vec<_>>()
        };
        assert_eq!(run(7), run(7));
        assert_ne!(run(7), run(8));
    }
}

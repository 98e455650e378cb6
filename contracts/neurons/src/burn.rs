//! The registration price: it decays by half every `burn_half_life` blocks and is multiplied by
//! `burn_increase_mult` at each registration, always clamped to [min_burn, max_burn].
//!
//! The per-block factor is the largest Q32 fraction f with f^H ≤ ½ (found by binary search, with
//! every power floored in Q32), exactly as subtensor computes it, so prices match to the rao.

const ONE_Q32: u64 = 1 << 32;
const HALF_Q32: u64 = 1 << 31;

/// `x^n` in Q32, flooring after every multiplication (square-and-multiply).
fn pow_q32(x: u64, mut n: u64) -> u64 {
    let mut base = u128::from(x);
    let mut acc = u128::from(ONE_Q32);
    while n > 0 {
        if n & 1 == 1 {
            acc = (acc * base) >> 32;
        }
        base = (base * base) >> 32;
        n >>= 1;
    }
    acc as u64
}

/// The largest Q32 value f < 1 with f^half_life ≤ ½.
pub fn decay_factor_q32(half_life: u64) -> u64 {
    let (mut lo, mut hi) = (0u64, ONE_Q32 - 1);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if pow_q32(mid, half_life.max(1)) <= HALF_Q32 {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// One block of decay: ⌊burn · f⌋, clamped.
pub fn decay(burn: u64, factor_q32: u64, min: u64, max: u64) -> u64 {
    let decayed = ((u128::from(burn) * u128::from(factor_q32)) >> 32) as u64;
    decayed.clamp(min, max)
}

/// The price after one registration: ⌊burn · mult_ppm / 10⁶⌋, clamped.
pub fn bump(burn: u64, mult_ppm: u64, min: u64, max: u64) -> u64 {
    let bumped = u128::from(burn) * u128::from(mult_ppm) / 1_000_000;
    u64::try_from(bumped).unwrap_or(u64::MAX).clamp(min, max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// subtensor `tests/registration.rs`: half-life 1000 with a ×2 bump, 1000 → 2000 → 1998.
    #[test]
    fn half_life_1000_with_doubling() {
        let f = decay_factor_q32(1000);
        let after_registration = bump(1000, 2_000_000, 0, u64::MAX);
        assert_eq!(after_registration, 2000);
        assert_eq!(decay(after_registration, f, 0, u64::MAX), 1998);
    }

    /// subtensor `tests/registration.rs`: half-life 2, 1024 → 511 → 255 (every two blocks).
    #[test]
    fn half_life_2_halves_every_two_blocks() {
        let f = decay_factor_q32(2);
        let two_blocks = |b: u64| decay(decay(b, f, 0, u64::MAX), f, 0, u64::MAX);
        assert_eq!(two_blocks(1024), 511);
        assert_eq!(two_blocks(511), 255);
    }

    #[test]
    fn clamps_and_factor_bounds() {
        assert_eq!(decay(10, decay_factor_q32(1), 7, 100), 7);
        assert_eq!(bump(90, 1_260_000, 0, 100), 100);
        for h in [1u64, 2, 360, 36_100] {
            let f = decay_factor_q32(h);
            assert!(pow_q32(f, h) <= HALF_Q32);
            assert!(pow_q32(f + 1, h) > HALF_Q32, "largest such f for h = {h}");
        }
    }
}

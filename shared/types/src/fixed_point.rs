//! Fixed-point numbers for consensus math, and the u16 ↔ fraction conversions the chain stores.
//!
//! Consensus code never uses floats: results must be bit-identical on every node and in the
//! browser. Types follow subtensor: stake is normalised in [`I64F64`], the epoch works in
//! [`I32F32`], swaps in [`U64F64`], and per-UID fractions are stored as `u16` where `u16::MAX`
//! means 1.

pub use fixed::types::{I32F32, I64F64, I96F32, U64F64, U96F32};

/// A stored `u16` proportion as a fraction in [0, 1]: `x / 65535`.
pub fn u16_to_fraction(x: u16) -> I32F32 {
    I32F32::from_num(x) / I32F32::from_num(u16::MAX)
}

/// A fraction stored as `u16`: `⌊x · 65535⌋`, saturating below 0 and above 1.
pub fn fraction_to_u16(x: I32F32) -> u16 {
    let scaled = x.saturating_mul(I32F32::from_num(u16::MAX));
    if scaled <= I32F32::ZERO { 0 } else { scaled.saturating_to_num::<u16>() }
}

/// A stored `u16` proportion as a wide fraction, for stake normalisation.
pub fn u16_to_fraction64(x: u16) -> I64F64 {
    I64F64::from_num(x) / I64F64::from_num(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn endpoints() {
        assert_eq!(u16_to_fraction(0), I32F32::ZERO);
        assert_eq!(u16_to_fraction(u16::MAX), I32F32::ONE);
        assert_eq!(fraction_to_u16(I32F32::ONE), u16::MAX);
        assert_eq!(fraction_to_u16(I32F32::from_num(2)), u16::MAX);
        assert_eq!(fraction_to_u16(I32F32::from_num(-1)), 0);
        assert_eq!(fraction_to_u16(I32F32::from_num(1) / I32F32::from_num(2)), 32767);
    }

    proptest! {
        /// Fraction → u16 floors, so a round trip may lose at most one step (I32F32 rounding).
        #[test]
        fn round_trip_within_one_step(x in any::<u16>()) {
            let back = fraction_to_u16(u16_to_fraction(x));
            prop_assert!(back == x || back + 1 == x, "{x} -> {back}");
            let narrow = I64F64::from_num(u16_to_fraction(x));
            prop_assert!((u16_to_fraction64(x) - narrow).abs() < I64F64::from_bits(1 << 32));
        }
    }
}

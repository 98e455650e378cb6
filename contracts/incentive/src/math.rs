//! Fixed-point vector and sparse-matrix primitives of the Yuma epoch.
//!
//! Everything saturates instead of panicking: inputs come from the chain and from users of the
//! simulator, and a pathological input must give a deterministic result, never a trap. A sparse
//! matrix is a list of rows of `(column, value)` pairs with ascending, distinct columns.

use alloc::vec;
use alloc::vec::Vec;
use tao_types::fixed_point::{I32F32, I64F64, I96F32};

/// The epoch's number type.
pub type F = I32F32;
/// A sparse row: `(column, value)` pairs, columns ascending and distinct.
pub type Row = Vec<(u16, F)>;

/// `a / b` truncated, or 0 when `b` is 0 or the quotient overflows (subtensor's `safe_div`).
/// Bit-identical to `fixed`'s `checked_div`; the common cases (a fraction below 1, or two whole
/// numbers, over a positive divisor) avoid the 128-bit division Wasm would make a library call.
pub fn safe_div(a: F, b: F) -> F {
    let (x, y) = (a.to_bits(), b.to_bits());
    if x >= 0 && y > 0 {
        let (x, y) = (x as u64, y as u64);
        let quotient = if x < 1 << 32 {
            Some((x << 32) / y)
        } else if x & 0xFFFF_FFFF == 0 && y & 0xFFFF_FFFF == 0 {
            Some(x / (y >> 32))
        } else {
            None
        };
        if let Some(q) = quotient {
            return i64::try_from(q).map_or(F::ZERO, F::from_bits);
        }
    }
    a.checked_div(b).unwrap_or(F::ZERO)
}

/// `a · b` floored, saturating: bit-identical to `fixed`'s `saturating_mul`, with a fast path
/// for two fractions in `[0, 1)` that needs no 128-bit multiply.
pub fn mul(a: F, b: F) -> F {
    let (x, y) = (a.to_bits(), b.to_bits());
    if (x | y) >= 0 && ((x | y) as u64) < 1 << 32 {
        return F::from_bits((((x as u64) * (y as u64)) >> 32) as i64);
    }
    a.saturating_mul(b)
}

/// Σ of `values`, saturating.
pub fn sum(values: &[F]) -> F {
    values.iter().fold(F::ZERO, |acc, x| acc.saturating_add(*x))
}

/// Scales `values` to sum to 1; an all-zero vector stays as it is.
pub fn normalize(values: &mut [F]) {
    let total = sum(values);
    if total != F::ZERO {
        for x in values.iter_mut() {
            *x = safe_div(*x, total);
        }
    }
}

/// `u64` amounts as proportions of their sum, computed in [`I64F64`] (so large stakes keep their
/// precision) and narrowed to [`F`] by dropping the low bits.
pub fn proportions(amounts: &[u64]) -> Vec<F> {
    let total = amounts.iter().fold(0u128, |acc, a| acc + u128::from(*a));
    amounts.iter().map(|a| proportion(*a, total)).collect()
}

/// `a / total` as [`proportions`] computes it. Below 2⁵⁶ (every real stake total) the division
/// runs in four 8-bit steps of 64-bit integer division, free of the 128-bit division Wasm would
/// make a library call; the result is the same bits.
fn proportion(a: u64, total: u128) -> F {
    if total == 0 {
        return F::saturating_from_num(a);
    }
    match u64::try_from(total) {
        Ok(t) if t < 1 << 56 && a <= t => {
            if a == t {
                return F::ONE;
            }
            let (mut quotient, mut rest) = (0u64, a);
            for _ in 0..4 {
                rest <<= 8;
                quotient = (quotient << 8) | (rest / t);
                rest %= t;
            }
            F::from_bits(quotient as i64)
        }
        _ => {
            let share = I64F64::saturating_from_num(a)
                .checked_div(I64F64::saturating_from_num(total))
                .unwrap_or(I64F64::ZERO);
            F::saturating_from_num(share)
        }
    }
}

/// `⌊x · total⌋` in rao for a fraction `x`, as `I96F32` multiplication gives it; for `x` in
/// `[0, 1)` without a 128-bit multiply.
pub fn rao_of(x: F, total: u64) -> u64 {
    let bits = x.to_bits();
    if (0..1 << 32).contains(&bits) {
        let (x, high, low) = (bits as u64, total >> 32, total & 0xFFFF_FFFF);
        return x * high + ((x * low) >> 32);
    }
    I96F32::from_num(x).saturating_mul(I96F32::from_num(total)).saturating_to_num::<u64>()
}

/// `true` for the `k` largest non-zero values; among equal values the higher index wins. With
/// fewer than `k` values every non-zero one is chosen.
pub fn top_k_nonzero(values: &[F], k: usize) -> Vec<bool> {
    let mut chosen: Vec<bool> = values.iter().map(|v| *v != F::ZERO).collect();
    if values.len() < k {
        return chosen;
    }
    let mut ascending: Vec<usize> = (0..values.len()).collect();
    // Ascending by value, then by index: the lowest indices of a tie are dropped first.
    ascending.sort_unstable_by_key(|i| (values[*i], *i));
    for i in ascending.into_iter().take(values.len() - k) {
        chosen[i] = false;
    }
    chosen
}

/// Scales each row to sum to 1 (rows summing to 0 stay as they are; zero entries stay).
pub fn row_normalize(rows: &mut [Row]) {
    for row in rows {
        let total = row.iter().fold(F::ZERO, |acc, (_, v)| acc.saturating_add(*v));
        if total > F::ZERO {
            for (_, v) in row.iter_mut() {
                *v = safe_div(*v, total);
            }
        }
    }
}

/// Per column, the sum (`max == false`) or the largest entry (`max == true`).
fn column_totals(rows: &[Row], columns: usize, max: bool) -> Vec<F> {
    let mut totals = vec![F::ZERO; columns];
    for row in rows {
        for (j, v) in row {
            if let Some(t) = totals.get_mut(usize::from(*j)) {
                *t = if max { (*t).max(*v) } else { t.saturating_add(*v) };
            }
        }
    }
    totals
}

/// Divides each entry by its column's total (sum, or largest entry with `max`); columns whose
/// total is 0 stay as they are.
fn column_scale(rows: &mut [Row], columns: usize, max: bool) {
    let totals = column_totals(rows, columns, max);
    for row in rows {
        for (j, v) in row.iter_mut() {
            let t = totals[usize::from(*j)];
            if t != F::ZERO {
                *v = safe_div(*v, t);
            }
        }
    }
}

/// Scales each column to sum to 1.
pub fn column_normalize(rows: &mut [Row], columns: usize) {
    column_scale(rows, columns, false);
}

/// Scales each column so its largest entry is 1.
pub fn column_max_upscale(rows: &mut [Row], columns: usize) {
    column_scale(rows, columns, true);
}

/// The κ-weighted median of every column over the rows with stake (renormalised among
/// themselves): the largest value `x` such that the rows scoring ≥ `x` hold at least κ of the
/// stake, a missing entry scoring 0. If κ exceeds the stake total, the column's minimum.
/// Equal to subtensor's middle-pivot quickselect, computed by sorting.
pub fn weighted_median_columns(rows: &[Row], stake: &[F], kappa: F, columns: usize) -> Vec<F> {
    let mut voting: Vec<F> = stake.iter().copied().filter(|s| *s > F::ZERO).collect();
    normalize(&mut voting);
    let voters = voting.len();
    let total = sum(&voting);
    let mut counts = vec![0usize; columns];
    for (row, s) in rows.iter().zip(stake) {
        if *s > F::ZERO {
            row.iter().for_each(|(j, _)| counts[usize::from(*j)] += 1);
        }
    }
    let mut votes: Vec<Vec<(F, F)>> = counts.into_iter().map(Vec::with_capacity).collect();
    let mut k = 0;
    for (row, s) in rows.iter().zip(stake) {
        if *s > F::ZERO {
            for (j, v) in row {
                votes[usize::from(*j)].push((*v, voting[k]));
            }
            k += 1;
        }
    }
    votes.into_iter().map(|column| column_median(column, voters, total, kappa)).collect()
}

/// One column of [`weighted_median_columns`]: `column` holds the voters' explicit entries.
fn column_median(mut column: Vec<(F, F)>, voters: usize, total: F, kappa: F) -> F {
    if voters == 0 {
        return F::ZERO;
    }
    // Only the value order matters: ties contribute together, whatever their order.
    column.sort_unstable_by_key(|(value, _)| core::cmp::Reverse(*value));
    let mut behind = F::ZERO;
    for (value, s) in &column {
        behind = behind.saturating_add(*s);
        if behind >= kappa && *value > F::ZERO {
            return *value;
        }
    }
    // Zero (an entry or a missing one) is the answer unless κ exceeds all the stake, where
    // the quickselect ends on the column's minimum.
    let everyone_scored = column.len() == voters && column.iter().all(|(v, _)| *v > F::ZERO);
    if kappa > total && everyone_scored { column.last().map_or(F::ZERO, |(v, _)| *v) } else { F::ZERO }
}

/// Each entry capped at its column's consensus; an entry above a zero consensus is dropped.
pub fn clip_to_consensus(rows: &[Row], consensus: &[F]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            row.iter()
                .filter_map(|(j, v)| {
                    let c = consensus[usize::from(*j)];
                    if c < *v { (c > F::ZERO).then_some((*j, c)) } else { Some((*j, *v)) }
                })
                .collect()
        })
        .collect()
}

/// Σ of each row.
pub fn row_sums(rows: &[Row]) -> Vec<F> {
    rows.iter().map(|row| row.iter().fold(F::ZERO, |acc, (_, v)| acc.saturating_add(*v))).collect()
}

/// `xᵀ · M`: each column's entries weighted by their row's `x` (each product floored).
pub fn weighted_column_sums(rows: &[Row], x: &[F], columns: usize) -> Vec<F> {
    let mut out = vec![F::ZERO; columns];
    for (row, w) in rows.iter().zip(x) {
        for (j, v) in row {
            let o = &mut out[usize::from(*j)];
            *o = o.saturating_add(mul(*v, *w));
        }
    }
    out
}

/// `M · x`: each row's entries weighted by the column's `x` (each product floored).
pub fn weighted_row_sums(rows: &[Row], x: &[F]) -> Vec<F> {
    rows.iter()
        .map(|row| row.iter().fold(F::ZERO, |acc, (j, v)| acc.saturating_add(mul(*v, x[usize::from(*j)]))))
        .collect()
}

/// Each row scaled by its `x`.
pub fn scale_rows(rows: &[Row], x: &[F]) -> Vec<Row> {
    rows.iter().zip(x).map(|(row, w)| row.iter().map(|(j, v)| (*j, mul(*v, *w))).collect()).collect()
}

/// `a + t·(b − a)` entry by entry. `t = 0` and `t = 1` return `a` and `b` unchanged (zero
/// entries included); otherwise only positive results are kept.
pub fn interpolate(a: &[Row], b: &[Row], t: F) -> Vec<Row> {
    if t == F::ZERO {
        return a.to_vec();
    }
    if t == F::ONE {
        return b.to_vec();
    }
    a.iter()
        .zip(b)
        .map(|(ra, rb)| {
            merge(ra, rb)
                .map(|(j, x, y)| (j, x.saturating_add(mul(t, y.saturating_sub(x)))))
                .filter(|(_, v)| *v > F::ZERO)
                .collect()
        })
        .collect()
}

/// Exponential moving average `α·new + (1 − α)·old`, each product floored; positive entries of
/// either side are kept (old entries without a new one decay).
pub fn ema(new: &[Row], old: &[Row], alpha: F) -> Vec<Row> {
    let keep = F::ONE.saturating_sub(alpha);
    new.iter()
        .zip(old)
        .map(|(rn, ro)| {
            merge(rn, ro)
                .map(|(j, x, y)| (j, mul(alpha, x).saturating_add(mul(keep, y))))
                .filter(|(_, v)| *v > F::ZERO)
                .collect()
        })
        .collect()
}

/// The union of two sorted rows' columns with both values (0 where missing), in column order.
pub fn merge<'a>(a: &'a [(u16, F)], b: &'a [(u16, F)]) -> impl Iterator<Item = (u16, F, F)> + 'a {
    let (mut a, mut b) = (a.iter().peekable(), b.iter().peekable());
    core::iter::from_fn(move || match (a.peek(), b.peek()) {
        (Some((ja, va)), Some((jb, vb))) if ja == jb => {
            let item = (*ja, *va, *vb);
            a.next();
            b.next();
            Some(item)
        }
        (Some((ja, va)), Some((jb, _))) if ja < jb => {
            let item = (*ja, *va, F::ZERO);
            a.next();
            Some(item)
        }
        (Some((ja, va)), None) => {
            let item = (*ja, *va, F::ZERO);
            a.next();
            Some(item)
        }
        (_, Some((jb, vb))) => {
            let item = (*jb, F::ZERO, *vb);
            b.next();
            Some(item)
        }
        (None, None) => None,
    })
}

/// A stored `u16` fraction: `v / 65535`, truncated.
pub fn from_u16(x: u16) -> F {
    safe_div(F::from_num(x), F::from_num(u16::MAX))
}

/// A fraction stored as `⌊x · 65535⌋`, clamped to `[0, 65535]` (as
/// `tao_types::fixed_point::fraction_to_u16`, without its 128-bit multiply).
pub fn to_u16(x: F) -> u16 {
    match x.to_bits() {
        bits if bits <= 0 => 0,
        bits if bits >= 1 << 32 => u16::MAX,
        bits => ((bits as u64 * 65_535) >> 32) as u16,
    }
}

/// `e^x` as subtensor computes it: `x` clamped to `[−20, 20]`, a 30-term Taylor series on `|x|`
/// (and its reciprocal for negative `x`), with `e^1` taken from a 23-bit constant.
pub fn exp(x: F) -> F {
    let limit = F::from_num(20);
    let x = x.clamp(-limit, limit);
    if x == F::ZERO {
        return F::ONE;
    }
    if x == F::ONE {
        // ⌊e · 2²³⌋ as 23 fractional bits, widened to 32.
        return F::from_bits(22_802_600 << 9);
    }
    let y = x.abs();
    let (mut total, mut term) = (y.saturating_add(F::ONE), y);
    for i in 2..32 {
        term = safe_div(mul(term, y), F::from_num(i));
        total = total.saturating_add(term);
    }
    if x < F::ZERO { safe_div(F::ONE, total) } else { total }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    fn f(x: i64, denominator: i64) -> F {
        F::from_num(x) / F::from_num(denominator)
    }

    #[test]
    fn weighted_median_matches_spec_example() {
        // Stake [.51, .49] scoring [.5, 1] with κ = ½ → .5.
        let rows = vec![vec![(0u16, f(1, 2))], vec![(0u16, F::ONE)]];
        let stake = [f(51, 100), f(49, 100)];
        assert_eq!(weighted_median_columns(&rows, &stake, f(1, 2), 1), vec![f(1, 2)]);
        // Without enough stake behind any value the column gets 0.
        let lone = vec![vec![], vec![(0u16, F::ONE)]];
        assert_eq!(weighted_median_columns(&lone, &stake, f(1, 2), 1), vec![F::ZERO]);
    }

    #[test]
    fn top_k_prefers_higher_index_on_ties_and_skips_zero() {
        let v = [F::ONE, F::ONE, F::ZERO, f(1, 2)];
        assert_eq!(top_k_nonzero(&v, 1), vec![false, true, false, false]);
        assert_eq!(top_k_nonzero(&v, 4), vec![true, true, false, true]);
    }

    proptest::proptest! {
        /// The fast paths agree with `fixed` bit for bit, across magnitudes and signs.
        #[test]
        fn fast_mul_and_div_match_fixed(
            a in proptest::prop_oneof![0i64..1 << 32, 0i64..1 << 40, (0i64..1 << 31).prop_map(|x| x << 32), proptest::num::i64::ANY],
            b in proptest::prop_oneof![0i64..1 << 32, 1i64..1 << 40, (0i64..1 << 31).prop_map(|x| x << 32), proptest::num::i64::ANY],
        ) {
            let (a, b) = (F::from_bits(a), F::from_bits(b));
            proptest::prop_assert_eq!(mul(a, b), a.saturating_mul(b));
            proptest::prop_assert_eq!(safe_div(a, b), a.checked_div(b).unwrap_or(F::ZERO));
            proptest::prop_assert_eq!(to_u16(a), tao_types::fixed_point::fraction_to_u16(a));
            let total = b.to_bits() as u64;
            let wide = I96F32::from_num(a).saturating_mul(I96F32::from_num(total)).saturating_to_num::<u64>();
            proptest::prop_assert_eq!(rao_of(a, total), wide);
        }

        /// Stake proportions agree with the plain I64F64 computation.
        #[test]
        fn proportions_match_wide_division(amounts in proptest::collection::vec(
            proptest::prop_oneof![0u64..1_000, 0u64..1 << 54, proptest::num::u64::ANY], 1..8)) {
            let total = amounts.iter().fold(0u128, |acc, a| acc + u128::from(*a));
            for (a, got) in amounts.iter().zip(proportions(&amounts)) {
                let wide = I64F64::saturating_from_num(*a).checked_div(I64F64::saturating_from_num(total)).unwrap_or(I64F64::ZERO);
                proptest::prop_assert_eq!(got, F::saturating_from_num(wide));
            }
        }
    }

    #[test]
    fn exp_matches_subtensor_series() {
        assert_eq!(exp(F::ZERO), F::ONE);
        assert_eq!(exp(F::ONE).to_bits(), 22_802_600 << 9);
        // Bits of subtensor's truncated series (e² = 7.389056097…), checked against an
        // integer emulation of substrate_fixed.
        assert_eq!(exp(F::from_num(2)).to_bits(), 31_735_754_285);
        assert_eq!(exp(F::from_num(3) / 2).to_bits(), 19_248_707_983);
        assert_eq!(exp(F::from_num(-20)).to_bits(), 8);
        assert_eq!(exp(F::from_num(-1000)), exp(F::from_num(-20)));
    }

    #[test]
    fn column_max_upscale_floors_to_u16() {
        let mut m =
            vec![vec![(0u16, f(1, 4))], vec![(0u16, f(1, 2))], vec![(0u16, f(3, 4))], vec![(0u16, F::ONE)]];
        column_max_upscale(&mut m, 1);
        let stored: Vec<u16> = m.iter().map(|r| to_u16(r[0].1)).collect();
        assert_eq!(stored, vec![16383, 32767, 49151, 65535]);
    }

    #[test]
    fn merge_and_interpolate() {
        let a = vec![vec![(0u16, F::ONE), (2, f(1, 2))]];
        let b = vec![vec![(1u16, F::ONE), (2, F::ZERO)]];
        let mid = interpolate(&a, &b, f(1, 2));
        assert_eq!(mid, vec![vec![(0u16, f(1, 2)), (1, f(1, 2)), (2, f(1, 4))]]);
    }
}

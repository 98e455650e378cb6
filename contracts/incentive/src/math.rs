//! Fixed-point vector and sparse-matrix primitives of the Yuma epoch.
//!
//! Everything saturates instead of panicking: inputs come from the chain and from users of the
//! simulator, and a pathological input must give a deterministic result, never a trap. A sparse
//! matrix is a list of rows of `(column, value)` pairs with ascending, distinct columns.

use alloc::vec;
use alloc::vec::Vec;
use tao_types::fixed_point::{I32F32, I64F64};

/// The epoch's number type.
pub type F = I32F32;
/// A sparse row: `(column, value)` pairs, columns ascending and distinct.
pub type Row = Vec<(u16, F)>;

/// Σ of `values`, saturating.
pub fn sum(values: &[F]) -> F {
    values.iter().fold(F::ZERO, |acc, x| acc.saturating_add(*x))
}

/// Scales non-negative `values` to sum to 1; an all-zero vector stays zero.
pub fn normalize(values: &mut [F]) {
    let total = sum(values);
    if total > F::ZERO {
        for x in values.iter_mut() {
            *x = x.saturating_div(total);
        }
    }
}

/// `u64` amounts as proportions of their sum, computed in [`I64F64`] (so large stakes keep their
/// precision) and narrowed to [`F`].
pub fn proportions(amounts: &[u64]) -> Vec<F> {
    let total =
        amounts.iter().fold(I64F64::ZERO, |acc, a| acc.saturating_add(I64F64::saturating_from_num(*a)));
    amounts
        .iter()
        .map(|a| {
            if total == I64F64::ZERO {
                F::ZERO
            } else {
                F::saturating_from_num(I64F64::saturating_from_num(*a).saturating_div(total))
            }
        })
        .collect()
}

/// `true` for the `k` largest non-zero values; among equal values the higher index wins.
pub fn top_k_nonzero(values: &[F], k: usize) -> Vec<bool> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    // Descending by value, then by index: the first k win.
    order.sort_by(|a, b| values[*b].cmp(&values[*a]).then(b.cmp(a)));
    let mut chosen = vec![false; values.len()];
    for i in order.into_iter().take(k) {
        chosen[i] = values[i] > F::ZERO;
    }
    chosen
}

/// Scales each row to sum to 1 (empty or all-zero rows stay as they are).
pub fn row_normalize(rows: &mut [Row]) {
    for row in rows {
        let total = row.iter().fold(F::ZERO, |acc, (_, v)| acc.saturating_add(*v));
        if total > F::ZERO {
            for (_, v) in row.iter_mut() {
                *v = v.saturating_div(total);
            }
        }
    }
}

/// Σ of each column over the rows, with `columns` columns.
fn column_sums(rows: &[Row], columns: usize) -> Vec<F> {
    let mut sums = vec![F::ZERO; columns];
    for row in rows {
        for (j, v) in row {
            if let Some(s) = sums.get_mut(usize::from(*j)) {
                *s = s.saturating_add(*v);
            }
        }
    }
    sums
}

/// Scales each column to sum to 1 (all-zero columns stay zero).
pub fn column_normalize(rows: &mut [Row], columns: usize) {
    let sums = column_sums(rows, columns);
    for row in rows {
        for (j, v) in row.iter_mut() {
            let s = sums[usize::from(*j)];
            if s > F::ZERO {
                *v = v.saturating_div(s);
            }
        }
    }
}

/// The κ-weighted median of every column: the largest value `x` such that the rows holding
/// an entry ≥ `x` carry at least `kappa` of the stake. Rows with zero stake do not vote and a
/// missing entry counts as 0, so a column that not enough stake scores gets 0.
pub fn weighted_median_columns(rows: &[Row], stake: &[F], kappa: F, columns: usize) -> Vec<F> {
    let mut votes: Vec<Vec<(F, F)>> = vec![Vec::new(); columns];
    for (row, s) in rows.iter().zip(stake) {
        if *s > F::ZERO {
            for (j, v) in row {
                if *v > F::ZERO {
                    votes[usize::from(*j)].push((*v, *s));
                }
            }
        }
    }
    votes
        .into_iter()
        .map(|mut column| {
            column.sort_by_key(|(value, _)| core::cmp::Reverse(*value));
            let mut behind = F::ZERO;
            for (value, s) in column {
                behind = behind.saturating_add(s);
                if behind >= kappa {
                    return value;
                }
            }
            F::ZERO
        })
        .collect()
}

/// Each entry capped at its column's consensus; entries of zero-consensus columns are dropped.
pub fn clip_to_consensus(rows: &[Row], consensus: &[F]) -> Vec<Row> {
    rows.iter()
        .map(|row| {
            row.iter()
                .filter_map(|(j, v)| {
                    let c = consensus[usize::from(*j)];
                    (c > F::ZERO).then(|| (*j, (*v).min(c)))
                })
                .collect()
        })
        .collect()
}

/// Σ of each row.
pub fn row_sums(rows: &[Row]) -> Vec<F> {
    rows.iter().map(|row| row.iter().fold(F::ZERO, |acc, (_, v)| acc.saturating_add(*v))).collect()
}

/// `xᵀ · M`: each column's entries weighted by their row's `x`.
pub fn weighted_column_sums(rows: &[Row], x: &[F], columns: usize) -> Vec<F> {
    let mut out = vec![F::ZERO; columns];
    for (row, w) in rows.iter().zip(x) {
        for (j, v) in row {
            let o = &mut out[usize::from(*j)];
            *o = o.saturating_add(v.saturating_mul(*w));
        }
    }
    out
}

/// `M · x`: each row's entries weighted by the column's `x`.
pub fn weighted_row_sums(rows: &[Row], x: &[F]) -> Vec<F> {
    rows.iter()
        .map(|row| {
            row.iter().fold(F::ZERO, |acc, (j, v)| acc.saturating_add(v.saturating_mul(x[usize::from(*j)])))
        })
        .collect()
}

/// Each row scaled by its `x`.
pub fn scale_rows(rows: &[Row], x: &[F]) -> Vec<Row> {
    rows.iter().zip(x).map(|(row, w)| row.iter().map(|(j, v)| (*j, v.saturating_mul(*w))).collect()).collect()
}

/// Element-wise `a + t·(b − a)` of two sparse rows sets (missing entries are 0).
pub fn interpolate(a: &[Row], b: &[Row], t: F) -> Vec<Row> {
    a.iter()
        .zip(b)
        .map(|(ra, rb)| {
            merge(ra, rb)
                .into_iter()
                .map(|(j, x, y)| (j, x.saturating_add(t.saturating_mul(y.saturating_sub(x)))))
                .filter(|(_, v)| *v > F::ZERO)
                .collect()
        })
        .collect()
}

/// The union of two sorted rows' columns with both values (0 where missing).
pub fn merge(a: &Row, b: &Row) -> Vec<(u16, F, F)> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut k) = (0, 0);
    while i < a.len() || k < b.len() {
        match (a.get(i), b.get(k)) {
            (Some((ja, va)), Some((jb, vb))) if ja == jb => {
                out.push((*ja, *va, *vb));
                i += 1;
                k += 1;
            }
            (Some((ja, va)), Some((jb, _))) if ja < jb => {
                out.push((*ja, *va, F::ZERO));
                i += 1;
            }
            (Some((ja, va)), None) => {
                out.push((*ja, *va, F::ZERO));
                i += 1;
            }
            (_, Some((jb, vb))) => {
                out.push((*jb, F::ZERO, *vb));
                k += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// A stored `u16` fraction.
pub fn from_u16(x: u16) -> F {
    F::from_num(x).saturating_div(F::from_num(u16::MAX))
}

/// A fraction stored as `⌊x · 65535⌋`, clamped to `[0, 65535]`.
pub fn to_u16(x: F) -> u16 {
    tao_types::fixed_point::fraction_to_u16(x)
}

/// Values scaled so the largest becomes 65535 (rounded to nearest); all zero if all are zero.
pub fn max_upscale_to_u16(values: &[F]) -> Vec<u16> {
    let max = values.iter().copied().max().unwrap_or(F::ZERO);
    if max <= F::ZERO {
        return vec![0; values.len()];
    }
    let scale = I64F64::from_num(u16::MAX);
    values
        .iter()
        .map(|v| {
            let x = I64F64::from_num(*v).saturating_mul(scale).saturating_div(I64F64::from_num(max));
            x.round().saturating_to_num::<u16>()
        })
        .collect()
}

/// `1 / (1 + e^(−x))`, deterministic: saturates to 0 or 1 beyond |x| > 32.
pub fn sigmoid(x: F) -> F {
    if x < F::ZERO {
        return F::ONE.saturating_sub(sigmoid(x.saturating_neg()));
    }
    if x > F::from_num(32) {
        return F::ONE;
    }
    let e = exp_neg(I64F64::from_num(x));
    F::saturating_from_num(I64F64::ONE.saturating_div(I64F64::ONE.saturating_add(e)))
}

/// `e^(−y)` for `0 ≤ y ≤ 32`: `y = k·ln 2 + r` with `0 ≤ r < ln 2`, then a Taylor series for
/// `e^(−r)` (15 terms: error far below `I32F32`'s resolution) and `k` halvings.
fn exp_neg(y: I64F64) -> I64F64 {
    let ln2 = I64F64::LN_2;
    let k = y.saturating_div(ln2).floor();
    let r = y.saturating_sub(k.saturating_mul(ln2));
    let (mut term, mut total) = (I64F64::ONE, I64F64::ONE);
    for n in 1..=15u32 {
        term = term.saturating_mul(r).saturating_div(I64F64::from_num(n)).saturating_neg();
        total = total.saturating_add(term);
    }
    let halvings = k.saturating_to_num::<u32>().min(127);
    total >> halvings
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn sigmoid_is_symmetric_and_accurate() {
        assert_eq!(sigmoid(F::ZERO), f(1, 2));
        // σ(1) = 0.7310585786…
        let s1 = sigmoid(F::ONE);
        assert!((s1 - F::from_bits(3_139_872_687)).abs() < F::from_bits(8), "{s1}");
        assert_eq!(sigmoid(-F::ONE), F::ONE - s1);
        assert_eq!(sigmoid(F::from_num(1000)), F::ONE);
        assert_eq!(sigmoid(F::from_num(-1000)), F::ZERO);
    }

    #[test]
    fn max_upscale_rounds_to_nearest() {
        assert_eq!(max_upscale_to_u16(&[f(1, 2), F::ONE, F::ZERO]), vec![32768, 65535, 0]);
        assert_eq!(max_upscale_to_u16(&[F::ZERO]), vec![0]);
    }

    #[test]
    fn merge_and_interpolate() {
        let a = vec![vec![(0u16, F::ONE), (2, f(1, 2))]];
        let b = vec![vec![(1u16, F::ONE), (2, F::ZERO)]];
        let mid = interpolate(&a, &b, f(1, 2));
        assert_eq!(mid, vec![vec![(0u16, f(1, 2)), (1, f(1, 2)), (2, f(1, 4))]]);
    }
}

//! Series for the wallet's charts, sampled only from proven values: each point is a value the
//! wallet verified against a certified state root, keyed by the height it was proven at (or an
//! epoch's block, never above it). Bounded, so a page left open for days stays small.

use std::collections::VecDeque;

use crate::Proven;

/// Points kept per series by default: enough for a readable line, small enough to redraw.
pub const DEFAULT_POINTS: usize = 120;

/// `(key, value)` points in increasing key order, at most `cap` of them (the oldest go first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    cap: usize,
    points: VecDeque<(u64, u64)>,
}

impl Default for Series {
    fn default() -> Self {
        Series::new(DEFAULT_POINTS)
    }
}

impl Series {
    /// An empty series of at most `cap` points (two at least, to draw a line).
    pub fn new(cap: usize) -> Self {
        Series { cap: cap.max(2), points: VecDeque::new() }
    }

    /// Records what `sample` derives from a proven value, keyed by the height it was proven at;
    /// whether a point was added. A key not newer than the last point is ignored (re-reads of
    /// the same head, or late answers from older heads).
    pub fn record<T>(&mut self, proven: &Proven<T>, sample: impl FnOnce(&T) -> Option<u64>) -> bool {
        let Some(value) = sample(&proven.value) else { return false };
        self.push(proven.height, value)
    }

    /// Records a value keyed by an event at or before the proven height (an epoch's block, say):
    /// a key above the height it was proven at is refused, as it would claim a future.
    pub fn record_keyed<T>(
        &mut self,
        proven: &Proven<T>,
        sample: impl FnOnce(&T) -> Option<(u64, u64)>,
    ) -> bool {
        match sample(&proven.value) {
            Some((key, value)) if key <= proven.height => self.push(key, value),
            _ => false,
        }
    }

    fn push(&mut self, key: u64, value: u64) -> bool {
        if self.points.back().is_some_and(|(last, _)| key <= *last) {
            return false;
        }
        self.points.push_back((key, value));
        while self.points.len() > self.cap {
            self.points.pop_front();
        }
        true
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl ExactSizeIterator<Item = &(u64, u64)> {
        self.points.iter()
    }

    /// How many points there are.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// Whether nothing was proven yet.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The newest point.
    pub fn last(&self) -> Option<(u64, u64)> {
        self.points.back().copied()
    }

    /// The smallest and largest value.
    pub fn range(&self) -> Option<(u64, u64)> {
        let min = self.points.iter().map(|p| p.1).min()?;
        let max = self.points.iter().map(|p| p.1).max()?;
        Some((min, max))
    }

    /// The points placed in a `width`×`height` box (y grows downwards, as in SVG), keys spread
    /// by their distance and values by the range; a flat series is drawn across the middle.
    /// Integers only: the chart's viewBox is scaled by the browser.
    pub fn scaled(&self, width: u32, height: u32) -> Vec<(u32, u32)> {
        let (Some(&(first, _)), Some((last, _)), Some((min, max))) =
            (self.points.front(), self.last(), self.range())
        else {
            return Vec::new();
        };
        let fit = |offset: u64, span: u64, size: u32| {
            u32::try_from(u128::from(offset) * u128::from(size) / u128::from(span.max(1))).unwrap_or(size)
        };
        self.points
            .iter()
            .map(|&(key, value)| {
                let x = if last == first { width } else { fit(key - first, last - first, width) };
                let y = if max == min { height / 2 } else { height - fit(value - min, max - min, height) };
                (x, y)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proven(height: u64, value: u64) -> Proven<u64> {
        Proven { value, height }
    }

    #[test]
    fn keeps_only_newer_heights_and_at_most_cap_points() {
        let mut s = Series::new(3);
        assert!(s.record(&proven(5, 50), |v| Some(*v)));
        assert!(!s.record(&proven(5, 51), |v| Some(*v)), "the same height twice");
        assert!(!s.record(&proven(4, 40), |v| Some(*v)), "an older head answering late");
        for h in 6..=9 {
            assert!(s.record(&proven(h, h * 10), |v| Some(*v)));
        }
        assert_eq!(s.points().copied().collect::<Vec<_>>(), vec![(7, 70), (8, 80), (9, 90)]);
        assert_eq!(s.range(), Some((70, 90)));
    }

    #[test]
    fn a_key_above_the_proven_height_is_refused() {
        let mut s = Series::default();
        assert!(!s.record_keyed(&proven(10, 1), |_| Some((11, 7))), "an epoch in the future");
        assert!(s.record_keyed(&proven(10, 1), |_| Some((10, 7))));
        assert!(!s.record_keyed(&proven(12, 1), |_| Some((10, 8))), "the same epoch again");
        assert!(!s.record(&proven(13, 1), |_| None), "nothing to sample");
        assert_eq!(s.len(), 1);
    }

    #[test]
    fn scaling_fills_the_box_and_centres_a_flat_series() {
        let mut s = Series::default();
        assert!(s.scaled(100, 50).is_empty());
        s.record(&proven(10, 5), |v| Some(*v));
        assert_eq!(s.scaled(100, 50), vec![(100, 25)]);
        s.record(&proven(20, 15), |v| Some(*v));
        s.record(&proven(30, 10), |v| Some(*v));
        assert_eq!(s.scaled(100, 50), vec![(0, 50), (50, 0), (100, 25)]);
        let mut flat = Series::default();
        flat.record(&proven(1, 3), |v| Some(*v));
        flat.record(&proven(3, 3), |v| Some(*v));
        assert_eq!(flat.scaled(10, 8), vec![(0, 4), (10, 4)]);
    }
}

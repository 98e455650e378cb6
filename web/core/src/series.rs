//! Series for the wallet's charts, sampled only from proven values: each point is a value the
//! wallet verified against a certified state root, keyed by the height it was proven at (or an
//! epoch's block, never above it). Bounded, so a page left open for days stays small.

use tao_types::NetUid;

use crate::Proven;
use crate::views::{NeuronRow, SubnetView};

/// Points kept per series by default: enough for a readable line, small enough to redraw.
pub const DEFAULT_POINTS: usize = 120;

/// `(key, value)` points in increasing key order, at most `cap` of them (the oldest go first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    cap: usize,
    /// Sorted by key (a vector: smaller in the wallet's bundle than a map).
    points: Vec<(u64, u64)>,
}

impl Default for Series {
    fn default() -> Self {
        Series::new(DEFAULT_POINTS)
    }
}

impl Series {
    /// An empty series of at most `cap` points (two at least, to draw a line).
    pub fn new(cap: usize) -> Self {
        Series { cap: cap.max(2), points: Vec::new() }
    }

    /// Records what `sample` derives from a proven value, keyed by the height it was proven at;
    /// whether a point was kept. A key already present is not replaced (a re-read of the same
    /// head proves the same value); older heights, read to fill the past, go in their place.
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
        let Err(at) = self.points.binary_search_by_key(&key, |p| p.0) else { return false };
        if at == 0 && self.points.len() >= self.cap {
            return false;
        }
        self.points.insert(at, (key, value));
        if self.points.len() > self.cap {
            self.points.remove(0);
        }
        true
    }

    /// The points, oldest first.
    pub fn points(&self) -> impl ExactSizeIterator<Item = (u64, u64)> + '_ {
        self.points.iter().copied()
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
        self.points.last().copied()
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
            (self.points.first(), self.last(), self.range())
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

/// A subnet's charts: its pool price at each proven height, and what each epoch emitted to its
/// neurons (keyed by the epoch's block).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetSeries {
    /// The subnet sampled.
    pub netuid: NetUid,
    /// τ per α, in rao.
    pub price: Series,
    /// α emitted by the epoch, summed over the metagraph, in rao.
    pub emission: Series,
}

impl SubnetSeries {
    /// No samples yet of subnet `netuid`.
    pub fn new(netuid: NetUid) -> Self {
        SubnetSeries { netuid, price: Series::default(), emission: Series::default() }
    }

    /// Samples a proven page of the subnet (its view and metagraph); another subnet's page, or
    /// a proven absence, adds nothing. Whether anything was added.
    pub fn record(&mut self, page: &Proven<(Option<SubnetView>, Vec<NeuronRow>)>) -> bool {
        let netuid = self.netuid;
        let subnet = |v: &(Option<SubnetView>, Vec<NeuronRow>)| v.0.clone().filter(|s| s.netuid == netuid);
        let price = self.price.record(page, |v| subnet(v).map(|s| s.price));
        let emission = self.emission.record_keyed(page, |v| {
            let epoch = subnet(v)?.last_epoch?.block;
            Some((epoch, v.1.iter().map(|r| r.emission).sum()))
        });
        price || emission
    }
}

/// `count` heights spread evenly over the `span` blocks below `head` (never below genesis),
/// oldest first, to read the past with when a chart opens; the head itself is read anyway.
pub fn past_heights(head: u64, span: u64, count: u64) -> Vec<u64> {
    let span = span.min(head);
    let step = (span / count.max(1)).max(1);
    (1..=count).rev().map(|k| k * step).filter(|back| *back <= span).map(|back| head - back).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proven(height: u64, value: u64) -> Proven<u64> {
        Proven { value, height }
    }

    #[test]
    fn keeps_heights_in_order_once_each_and_at_most_cap_points() {
        let mut s = Series::new(3);
        assert!(s.record(&proven(5, 50), |v| Some(*v)));
        assert!(!s.record(&proven(5, 51), |v| Some(*v)), "the same height twice");
        assert!(s.record(&proven(3, 30), |v| Some(*v)), "an older height fills the past");
        assert_eq!(s.points().collect::<Vec<_>>(), vec![(3, 30), (5, 50)]);
        for h in 6..=8 {
            assert!(s.record(&proven(h, h * 10), |v| Some(*v)));
        }
        assert_eq!(s.points().collect::<Vec<_>>(), vec![(6, 60), (7, 70), (8, 80)]);
        assert!(!s.record(&proven(4, 40), |v| Some(*v)), "older than all kept: dropped at once");
        assert_eq!(s.len(), 3);
        assert_eq!(s.range(), Some((60, 80)));
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

    fn page(
        netuid: NetUid,
        height: u64,
        price: u64,
        epoch: Option<u64>,
        emissions: &[u64],
    ) -> Proven<(Option<SubnetView>, Vec<NeuronRow>)> {
        let view = SubnetView {
            netuid,
            price,
            last_epoch: epoch.map(|block| tao_contract_incentive::EpochRecord {
                block,
                module: None,
                fallback: None,
            }),
            ..SubnetView::default()
        };
        let rows = emissions.iter().map(|&emission| NeuronRow { emission, ..NeuronRow::default() }).collect();
        Proven { value: (Some(view), rows), height }
    }

    #[test]
    fn a_subnet_records_its_price_per_height_and_emission_per_epoch() {
        let mut s = SubnetSeries::new(1);
        assert!(s.record(&page(1, 10, 100, Some(8), &[3, 4])));
        assert!(s.record(&page(1, 11, 90, Some(8), &[3, 4])), "a new price, the same epoch");
        assert!(s.record(&page(1, 12, 95, Some(12), &[5])));
        assert!(!s.record(&page(2, 13, 1, Some(13), &[1])), "another subnet's page");
        assert!(!s.record(&Proven { value: (None, Vec::new()), height: 14 }), "a proven absence");
        assert_eq!(s.price.points().collect::<Vec<_>>(), vec![(10, 100), (11, 90), (12, 95)]);
        assert_eq!(s.emission.points().collect::<Vec<_>>(), vec![(8, 7), (12, 5)]);
    }

    #[test]
    fn the_past_is_read_at_evenly_spread_heights_above_genesis() {
        assert_eq!(past_heights(100, 40, 4), vec![60, 70, 80, 90]);
        assert_eq!(past_heights(5, 360, 10), vec![0, 1, 2, 3, 4], "no further back than genesis");
        assert_eq!(past_heights(0, 360, 10), Vec::<u64>::new());
        assert_eq!(past_heights(1_000, 10, 24).len(), 10, "at most one read per block");
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

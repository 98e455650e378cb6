//! subtensor's published epoch test vectors (pallets/subtensor/src/tests/epoch.rs), reproduced
//! through [`crate::epoch::run`] with the same inputs: exact integers where subtensor asserts
//! integers, within its 1e-3 tolerance where it asserts fractions.

use alloc::vec;
use alloc::vec::Vec;

use crate::epoch::{self, EpochInput, EpochOutput, EpochParams, NeuronInput};

const M: u16 = u16::MAX;

fn params(max_validators: u16, yuma3: bool) -> EpochParams {
    EpochParams {
        kappa: 32_767,
        bonds_penalty: M,
        bonds_moving_average: 900_000,
        max_allowed_validators: max_validators,
        activity_cutoff: 5_000,
        stake_threshold: 0,
        yuma3,
        liquid_alpha: false,
        alpha_low: 45_875,
        alpha_high: 58_982,
        alpha_sigmoid_steepness: 1_000,
        // These vectors run an epoch every block from block 0 (`last_epoch_block` = block − 1),
        // so a previous epoch at block 0 is a real one: tempo 0 keeps its mask at block 0 + 1.
        tempo: 0,
    }
}

/// A subnet fed forward epoch by epoch, as the chain does: new bonds and permits become the
/// next epoch's inputs.
struct Subnet(EpochInput);

impl Subnet {
    fn new(stakes: &[u64], registered_at: u64, last_update: u64, params: EpochParams) -> Self {
        let neurons = stakes
            .iter()
            .map(|s| NeuronInput { stake: *s, registered_at, last_update, ..NeuronInput::default() })
            .collect();
        Subnet(EpochInput {
            block: 0,
            last_epoch_block: 0,
            emission: 1_000_000_000,
            owner: None,
            params,
            neurons,
        })
    }

    fn set_weights(&mut self, uid: usize, weights: &[(u16, u16)], block: u64) {
        self.0.neurons[uid].weights = weights.to_vec();
        self.0.neurons[uid].last_update = block;
    }

    /// One epoch at `block` (the previous one ran at `block − 1`).
    fn epoch(&mut self, block: u64) -> EpochOutput {
        self.0.block = block;
        self.0.last_epoch_block = block.saturating_sub(1);
        let out = epoch::run(&self.0).unwrap();
        for (n, o) in self.0.neurons.iter_mut().zip(&out.neurons) {
            n.bonds = o.bonds.clone();
            n.permit = o.permit;
        }
        out
    }

    fn bond(&self, uid: usize, column: u16) -> u16 {
        self.0.neurons[uid].bonds.iter().find(|(j, _)| *j == column).map_or(0, |(_, v)| *v)
    }
}

fn validator_rao(out: &EpochOutput, uids: core::ops::Range<usize>) -> Vec<u64> {
    out.neurons[uids].iter().map(|n| n.validator_emission).collect()
}

fn server_rao(out: &EpochOutput, uids: core::ops::Range<usize>) -> Vec<u64> {
    out.neurons[uids].iter().map(|n| n.server_emission).collect()
}

/// `test_bonds`: four validators (stake 1..4) weight four servers ¼, ½, ¾, 1, then switch to
/// self-weights one by one; classic bonds.
#[test]
fn bonds_sequence() {
    let mut net = Subnet::new(&[1, 2, 3, 4, 0, 0, 0, 0], 0, 0, params(8, false));
    net.epoch(0);
    let spread = [(4, 16_383), (5, 32_767), (6, 49_149), (7, 65_535)];
    for uid in 0..4 {
        net.set_weights(uid, &spread, 1);
    }
    let out = net.epoch(1);
    assert_eq!((0..4).map(|v| net.bond(v, 4)).collect::<Vec<_>>(), [16_383, 32_767, 49_151, 65_535]);
    assert_eq!(validator_rao(&out, 0..4), [49_999_998, 99_999_999, 150_000_000, 200_000_001]);
    assert_eq!(server_rao(&out, 4..8), [49_998_779, 100_000_610, 149_996_337, 200_004_272]);

    net.set_weights(0, &[(0, M)], 2);
    let out = net.epoch(2);
    assert_eq!((0..4).map(|v| net.bond(v, 4)).collect::<Vec<_>>(), [14_582, 32_767, 49_151, 65_535]);
    assert_eq!(validator_rao(&out, 0..4), [44_998_351, 101_110_561, 151_667_215, 202_223_870]);
    assert_eq!(server_rao(&out, 4..8), [49_998_779, 100_000_610, 149_996_337, 200_004_272]);

    net.set_weights(1, &[(1, M)], 3);
    let out = net.epoch(3);
    assert_eq!((0..4).map(|v| net.bond(v, 4)).collect::<Vec<_>>(), [12_603, 28_321, 49_151, 65_535]);
    assert_eq!(validator_rao(&out, 0..4), [40_496_805, 90_999_783, 157_929_636, 210_573_773]);

    net.set_weights(2, &[(2, M)], 4);
    let out = net.epoch(4);
    assert_eq!((0..4).map(|v| net.bond(v, 7)).collect::<Vec<_>>(), [12_602, 28_320, 49_150, 65_535]);
    assert_eq!(validator_rao(&out, 0..4), [99_999_999, 199_999_999, 299_999_999, 399_999_999]);
    assert_eq!(server_rao(&out, 4..8), [0, 0, 0, 0]);
}

/// `test_512_graph`: 64 equal validators weight all 448 servers fully; after three epochs each
/// validator has dividend 1023 and 7,812,500 rao, each server consensus = incentive = 146 and
/// 1,116,071 rao. Both bond models.
#[test]
fn graph_512() {
    for yuma3 in [false, true] {
        let stakes: Vec<u64> = (0..512).map(|i| if i < 64 { 328_125_000_000_000 } else { 0 }).collect();
        let mut net = Subnet::new(&stakes, 0, 0, params(64, yuma3));
        net.epoch(0);
        let servers: Vec<(u16, u16)> = (64..512).map(|j| (j, M)).collect();
        for v in 0..64 {
            net.set_weights(v, &servers, 1);
        }
        let mut out = EpochOutput::default();
        for _ in 0..3 {
            out = net.epoch(1);
        }
        for v in &out.neurons[..64] {
            assert_eq!(
                (v.dividends, v.validator_emission, v.server_emission),
                (1023, 7_812_500, 0),
                "yuma3 {yuma3}"
            );
        }
        for s in &out.neurons[64..] {
            assert_eq!((s.consensus, s.incentive, s.server_emission), (146, 146, 1_116_071), "yuma3 {yuma3}");
        }
    }
}

#[test]
fn no_weights_pays_validators_by_stake_and_conserves() {
    let mut net = Subnet::new(&[3, 1, 0], 0, 0, params(8, true));
    let out = net.epoch(1);
    assert_eq!(validator_rao(&out, 0..3), [750_000_000, 250_000_000, 0]);
    assert_eq!(out.undistributed, 0);
    assert_eq!(vec![true, true, false], out.neurons.iter().map(|n| n.permit).collect::<Vec<_>>());
}

/// `test_10_graph`: ten UIDs with equal stake and only self-weights, no permits yet: nothing
/// survives masking, so emission falls back to stake: ⌊0.1 (truncated) · 1e9⌋ each.
#[test]
fn graph_10_self_weights() {
    let mut net = Subnet::new(&[1; 10], 0, 0, params(64, false));
    for uid in 0..10u16 {
        net.set_weights(usize::from(uid), &[(uid, M)], 1);
    }
    let out = net.epoch(1);
    for n in &out.neurons {
        assert_eq!((n.consensus, n.incentive, n.dividends, n.validator_emission), (0, 0, 0, 99_999_999));
    }
}

/// `epoch_logs.rs`: three validators (1e9 each, permits held) and two servers, classic bonds,
/// activity cutoff 10, at block 1.
fn logs_subnet() -> Subnet {
    let mut p = params(64, false);
    p.activity_cutoff = 10;
    let mut net = Subnet::new(&[1_000_000_000, 1_000_000_000, 1_000_000_000, 0, 0], 0, 1, p);
    for v in 0..3 {
        net.0.neurons[v].permit = true;
    }
    net
}

fn rao(out: &EpochOutput) -> Vec<u64> {
    out.neurons.iter().map(|n| n.server_emission + n.validator_emission).collect()
}

#[test]
fn logs_two_distinct_servers() {
    let mut net = logs_subnet();
    for (v, row) in [[(3, M), (4, 0)], [(3, 0), (4, M)], [(3, M), (4, 0)]].iter().enumerate() {
        net.set_weights(v, row, 1);
    }
    let out = net.epoch(1);
    let get = |f: fn(&crate::epoch::NeuronOutput) -> u16| out.neurons.iter().map(f).collect::<Vec<_>>();
    assert_eq!(get(|n| n.consensus), [0, 0, 0, M, 0]);
    assert_eq!(get(|n| n.validator_trust), [M, 0, M, 0, 0]);
    assert_eq!(get(|n| n.dividends), [32_767, 0, 32_767, 0, 0]);
    assert_eq!(rao(&out), [250_000_000, 0, 250_000_000, 500_000_000, 0]);
    assert_eq!(out.neurons[1].bonds, []);
}

#[test]
fn logs_validator_splits_weight() {
    let mut net = logs_subnet();
    for (v, row) in [[(3, M), (4, 0)], [(3, 0), (4, M)], [(3, M), (4, M)]].iter().enumerate() {
        net.set_weights(v, row, 1);
    }
    let out = net.epoch(1);
    assert_eq!(out.neurons.iter().map(|n| n.dividends).collect::<Vec<_>>(), [16_383, 16_383, 32_767, 0, 0]);
    assert_eq!(rao(&out), [125_000_000, 125_000_000, 250_000_000, 250_000_000, 250_000_000]);
}

#[test]
fn logs_simple_no_weights() {
    let mut p = params(64, false);
    p.activity_cutoff = 10;
    let mut net = Subnet::new(&[1_000_000_000, 1_000_000_000], 0, 1, p);
    net.0.neurons.iter_mut().for_each(|n| n.permit = true);
    let out = net.epoch(1);
    assert_eq!(rao(&out), [500_000_000, 500_000_000]);
    assert_eq!(out.neurons.iter().map(|n| n.stake_weight).collect::<Vec<_>>(), [32_767, 32_767]);
}

/// `test_active_stake`: two validators and two servers, stake 1 each. When validator 1 goes
/// inactive its bonds only decay; when it returns they recover (54712 needs I32F32 exactly).
#[test]
fn active_stake() {
    let mut net = Subnet::new(&[1, 1, 1, 1], 0, 0, params(4, false));
    net.epoch(0);
    let both = [(2, M), (3, M)];
    net.set_weights(0, &both, 1);
    net.set_weights(1, &both, 1);
    let out = net.epoch(1);
    assert_eq!((out.neurons[0].dividends, out.neurons[1].dividends), (32_767, 32_767));
    assert_eq!(rao(&out), [250_000_000; 4]);
    assert_eq!(out.neurons[0].bonds, [(2, M), (3, M)]);

    net.set_weights(0, &both, 5_002);
    let out = net.epoch(5_002);
    assert_eq!((out.neurons[0].dividends, rao(&out)[0]), (36_044, 274_999_999));
    assert_eq!((out.neurons[1].dividends, rao(&out)[1]), (29_490, 224_999_999));
    assert_eq!(out.neurons[0].bonds, [(2, M), (3, M)]);
    assert_eq!(out.neurons[1].bonds, [(2, 53_619), (3, 53_619)]);

    net.set_weights(1, &both, 5_003);
    let out = net.epoch(5_003);
    assert_eq!((out.neurons[0].dividends, rao(&out)[0]), (35_716, 272_501_132));
    assert_eq!((out.neurons[1].dividends, rao(&out)[1]), (29_818, 227_498_866));
    assert_eq!(out.neurons[1].bonds, [(2, 54_712), (3, 54_712)]);
}

/// `test_zero_weights`: a validator and a server. No weights, or only the server's
/// self-weight, or a weight older than the server's registration: all to the validator. A
/// fresh weight splits it.
#[test]
fn zero_and_outdated_weights() {
    let mut net = Subnet::new(&[1, 0], 0, 0, params(64, false));
    net.epoch(0);
    assert_eq!(rao(&net.epoch(1)), [1_000_000_000, 0]);
    net.set_weights(1, &[(1, M)], 2);
    assert_eq!(rao(&net.epoch(2)), [1_000_000_000, 0]);
    net.set_weights(0, &[(1, M)], 3);
    net.0.neurons[1].registered_at = 3;
    assert_eq!(rao(&net.epoch(3)), [1_000_000_000, 0]);
    net.set_weights(0, &[(1, M)], 4);
    assert_eq!(rao(&net.epoch(4)), [500_000_000, 500_000_000]);
}

/// One of subtensor's `test_yuma_3_*` scenarios: validators 0..3 with `stakes`, servers after
/// them, BMA 0.975, bonds penalty 0, liquid α in [0.1, 0.3] when `liquid`. Each epoch may set
/// new weights (validator rows of values over the servers; `None` keeps the last ones), then
/// bonds (validator × server) and dividends must be within 1e-3 of the targets, all in
/// ten-thousandths.
struct Yuma3Epoch {
    weights: Option<[&'static [u16]; 3]>,
    bonds: [&'static [u32]; 3],
    dividends: [u32; 3],
}

fn yuma3_scenario(stakes: &[u64], liquid: bool, epochs: &[Yuma3Epoch]) {
    let mut p = params(3, true);
    (p.bonds_penalty, p.bonds_moving_average, p.liquid_alpha, p.alpha_low, p.alpha_high) =
        (0, 975_000, liquid, 6_553, 19_660);
    let mut net = Subnet::new(stakes, 1, 1, p);
    let servers: Vec<u16> = (3..stakes.len() as u16).collect();
    net.epoch(2);
    let ten_thousandths = |x: u16| (u32::from(x) * 10_000 + 32_767) / 65_535;
    let close = |got: u32, want: u32| got.abs_diff(want) <= 10;
    let mut block = 2;
    for (e, epoch) in epochs.iter().enumerate() {
        if let Some(rows) = epoch.weights {
            for (uid, values) in rows.iter().enumerate() {
                let row: Vec<(u16, u16)> = servers.iter().copied().zip(values.iter().copied()).collect();
                net.set_weights(uid, &row, block);
            }
        }
        block += 1;
        let out = net.epoch(block);
        for v in 0..3 {
            let got: Vec<u32> = servers.iter().map(|s| ten_thousandths(net.bond(v, *s))).collect();
            let ok = got.iter().zip(epoch.bonds[v]).all(|(g, w)| close(*g, *w));
            assert!(ok, "epoch {e} validator {v}: bonds {got:?}, want {:?}", epoch.bonds[v]);
            let d = ten_thousandths(out.neurons[v].dividends);
            assert!(
                close(d, epoch.dividends[v]),
                "epoch {e} validator {v}: dividend {d}, want {}",
                epoch.dividends[v]
            );
        }
    }
}

const A: &[u16] = &[M, 0];
const B: &[u16] = &[0, M];

fn y3(weights: Option<[&'static [u16]; 3]>, bonds: [&'static [u32]; 3], dividends: [u32; 3]) -> Yuma3Epoch {
    Yuma3Epoch { weights, bonds, dividends }
}

/// `test_yuma_3_kappa_moves_first`: the big validator moves from server 3 to 4 first.
#[test]
fn yuma3_kappa_moves_first() {
    yuma3_scenario(
        &[8, 1, 1, 0, 0],
        true,
        &[
            y3(Some([A, A, A]), [&[1013, 0], &[1013, 0], &[1013, 0]], [8000, 1000, 1000]),
            y3(Some([B, A, A]), [&[908, 1013], &[3697, 0], &[3697, 0]], [10000, 0, 0]),
            y3(Some([B, B, A]), [&[815, 1924], &[3170, 1013], &[5580, 0]], [9382, 618, 0]),
            y3(Some([B, B, B]), [&[731, 2742], &[2765, 1924], &[4306, 1013]], [8819, 773, 407]),
            y3(None, [&[656, 3478], &[2435, 2742], &[3589, 1924]], [8564, 844, 592]),
            y3(None, [&[588, 4139], &[2157, 3478], &[3089, 2742]], [8418, 884, 697]),
        ],
    );
}

/// `test_yuma_3_kappa_moves_second`: a small validator moves first, then the big one.
#[test]
fn yuma3_kappa_moves_second() {
    yuma3_scenario(
        &[8, 1, 1, 0, 0],
        true,
        &[
            y3(Some([A, A, A]), [&[1013, 0], &[1013, 0], &[1013, 0]], [8000, 1000, 1000]),
            y3(Some([A, B, A]), [&[1924, 0], &[908, 2987], &[1924, 0]], [8446, 498, 1056]),
            y3(Some([B, B, A]), [&[1715, 1013], &[815, 3697], &[4336, 0]], [6868, 3132, 0]),
            y3(Some([B, B, B]), [&[1531, 1924], &[731, 4336], &[3608, 1013]], [7421, 2090, 489]),
            y3(None, [&[1369, 2742], &[656, 4910], &[3103, 1924]], [7625, 1706, 669]),
            y3(None, [&[1225, 3478], &[588, 5426], &[2712, 2742]], [7730, 1508, 762]),
        ],
    );
}

/// `test_yuma_3_kappa_moves_last`: both small validators move before the big one.
#[test]
fn yuma3_kappa_moves_last() {
    yuma3_scenario(
        &[8, 1, 1, 0, 0],
        true,
        &[
            y3(Some([A, A, A]), [&[1013, 0], &[1013, 0], &[1013, 0]], [8000, 1000, 1000]),
            y3(Some([A, B, A]), [&[1924, 0], &[908, 2987], &[1924, 0]], [8446, 498, 1056]),
            y3(Some([A, B, B]), [&[2742, 0], &[815, 5081], &[1715, 2987]], [8966, 333, 701]),
            y3(Some([B, B, B]), [&[2416, 1013], &[731, 5580], &[1531, 3697]], [4663, 3210, 2127]),
            y3(None, [&[2141, 1924], &[656, 6028], &[1369, 4336]], [5976, 2340, 1683]),
            y3(None, [&[1903, 2742], &[588, 6430], &[1225, 4910]], [6592, 1932, 1475]),
        ],
    );
}

/// `test_yuma_3_one_epoch_switch`: equal-ish validators; C dissents for one epoch.
#[test]
fn yuma3_one_epoch_switch() {
    yuma3_scenario(
        &[33, 33, 34, 0, 0],
        true,
        &[
            y3(Some([A, A, A]), [&[1013, 0], &[1013, 0], &[1013, 0]], [3300, 3300, 3400]),
            y3(Some([A, A, A]), [&[1924, 0], &[1924, 0], &[1924, 0]], [3300, 3300, 3400]),
            y3(Some([A, A, B]), [&[2742, 0], &[2742, 0], &[1715, 2987]], [3782, 3782, 2436]),
            y3(Some([A, A, A]), [&[3478, 0], &[3478, 0], &[2554, 2618]], [3628, 3628, 2745]),
            y3(Some([A, A, A]), [&[4139, 0], &[4139, 0], &[3309, 2312]], [3541, 3541, 2917]),
            y3(Some([A, A, A]), [&[4733, 0], &[4733, 0], &[3987, 2051]], [3487, 3487, 3026]),
        ],
    );
}

/// `test_yuma_3_liquid_alpha_disabled`: the same switch with a fixed α of 0.025.
#[test]
fn yuma3_liquid_alpha_disabled() {
    yuma3_scenario(
        &[33, 33, 34, 0, 0],
        false,
        &[
            y3(Some([A, A, A]), [&[250, 0], &[250, 0], &[250, 0]], [3300, 3300, 3400]),
            y3(Some([A, A, A]), [&[494, 0], &[494, 0], &[494, 0]], [3300, 3300, 3400]),
            y3(Some([A, A, B]), [&[731, 0], &[731, 0], &[481, 250]], [3734, 3734, 2532]),
            y3(Some([A, A, A]), [&[963, 0], &[963, 0], &[719, 244]], [3611, 3611, 2779]),
            y3(Some([A, A, A]), [&[1189, 0], &[1189, 0], &[951, 238]], [3541, 3541, 2919]),
            y3(Some([A, A, A]), [&[1409, 0], &[1409, 0], &[1178, 232]], [3495, 3495, 3009]),
        ],
    );
}

/// `test_yuma_3_stable_miner`: three servers; server 5 is weighted by everyone throughout.
#[test]
fn yuma3_stable_miner() {
    const X: &[u16] = &[M, 0, M];
    const Y: &[u16] = &[0, M, M];
    yuma3_scenario(
        &[8, 1, 1, 0, 0, 0],
        true,
        &[
            y3(Some([X, X, X]), [&[507, 0, 507], &[507, 0, 507], &[507, 0, 507]], [8000, 1000, 1000]),
            y3(Some([X, Y, X]), [&[962, 0, 962], &[455, 1000, 962], &[962, 0, 962]], [8226, 745, 1028]),
            y3(Some([Y, Y, X]), [&[863, 507, 1371], &[408, 1405, 1371], &[1770, 0, 1371]], [7750, 1685, 565]),
            y3(
                Some([Y, Y, Y]),
                [&[774, 962, 1739], &[367, 1770, 1739], &[1579, 507, 1739]],
                [7864, 1372, 764],
            ),
            y3(None, [&[694, 1371, 2069], &[329, 2097, 2069], &[1411, 962, 2069]], [7912, 1241, 847]),
            y3(None, [&[623, 1739, 2366], &[296, 2391, 2366], &[1263, 1371, 2366]], [7937, 1173, 890]),
        ],
    );
}

/// `test_yuma_3_bonds_reset`: validators move to server 4, then server 3's bonds are reset
/// (subtensor's `do_reset_bonds`, here done on the epoch input) and everyone moves back. Checked
/// at subtensor's epochs, in ten-thousandths within 1e-3.
#[test]
fn yuma3_bonds_reset() {
    let mut p = params(3, true);
    (p.bonds_penalty, p.bonds_moving_average, p.liquid_alpha, p.alpha_low, p.alpha_high) =
        (0, 975_000, true, 6_553, 19_660);
    let mut net = Subnet::new(&[8, 1, 1, 0, 0], 1, 1, p);
    net.epoch(2);
    let (to3, to4) = ([(3, M), (4, 0)], [(3, 0), (4, M)]);
    #[rustfmt::skip]
    let checks: [(usize, [[u32; 2]; 3], [u32; 3]); 7] = [
        (0, [[1013, 0], [1013, 0], [1013, 0]], [8000, 1000, 1000]),
        (1, [[1924, 0], [908, 2987], [908, 2987]], [8944, 528, 528]),
        (2, [[1715, 1013], [815, 3697], [815, 3697]], [5230, 2385, 2385]),
        (19, [[269, 8539], [131, 8975], [131, 8975]], [7919, 1040, 1040]),
        (20, [[0, 8687], [0, 9079], [0, 9079]], [7928, 1036, 1036]),
        (21, [[0, 8820], [2987, 6386], [2987, 6386]], [8467, 766, 766]),
        (40, [[8687, 578], [9079, 523], [9079, 523]], [7928, 1036, 1036]),
    ];
    let ten_thousandths = |x: u16| (u32::from(x) * 10_000 + 32_767) / 65_535;
    let close = |got: u32, want: u32| got.abs_diff(want) <= 10;
    let mut block = 2;
    for e in 0..=40 {
        let rows = match e {
            0 => [to3; 3],
            1 => [to3, to4, to4],
            21 => [to4, to3, to3],
            2..=20 => [to4; 3],
            _ => [to3; 3],
        };
        for (uid, row) in rows.iter().enumerate() {
            net.set_weights(uid, row, block);
        }
        if e == 20 {
            for n in &mut net.0.neurons {
                n.bonds.retain(|(j, _)| *j != 3);
            }
        }
        block += 1;
        let out = net.epoch(block);
        if let Some((_, bonds, dividends)) = checks.iter().find(|c| c.0 == e) {
            for v in 0..3 {
                let got = [ten_thousandths(net.bond(v, 3)), ten_thousandths(net.bond(v, 4))];
                assert!(
                    close(got[0], bonds[v][0]) && close(got[1], bonds[v][1]),
                    "epoch {e} validator {v}: {got:?}"
                );
                let d = ten_thousandths(out.neurons[v].dividends);
                assert!(
                    close(d, dividends[v]),
                    "epoch {e} validator {v}: dividend {d}, want {}",
                    dividends[v]
                );
            }
        }
    }
}

/// One validator holding full Yuma3 bonds on two miners registered at blocks 639 and 640.
fn first_epoch_input(last_epoch_block: u64) -> EpochInput {
    let mut p = params(1, true);
    p.tempo = 360;
    let miner = |registered_at| NeuronInput { registered_at, ..NeuronInput::default() };
    let validator = NeuronInput {
        stake: 1_000_000_000,
        last_update: 990,
        permit: true,
        weights: vec![(1, M), (2, M)],
        bonds: vec![(1, M), (2, M)],
        ..NeuronInput::default()
    };
    EpochInput {
        block: 1_000,
        last_epoch_block,
        emission: 1_000_000_000,
        owner: None,
        params: p,
        neurons: vec![validator, miner(639), miner(640)],
    }
}

/// Before a subnet's first epoch (`last_epoch_block` 0) subtensor masks old bonds on UIDs
/// registered at or after `block − tempo`, not after block 0: the bond on the miner registered at
/// 640 = 1000 − 360 restarts, the one at 639 is kept, exactly as after an epoch at block 639.
#[test]
fn first_epoch_masks_bonds_registered_within_a_tempo() {
    let first = epoch::run(&first_epoch_input(0)).unwrap();
    let bonds = &first.neurons[0].bonds;
    let (kept, restarted) = (bonds[0].1, bonds[1].1);
    assert_eq!((bonds[0].0, bonds[1].0), (1, 2));
    assert!(kept > 60_000 && restarted < 7_000, "kept {kept}, restarted {restarted}");
    assert_eq!(first, epoch::run(&first_epoch_input(639)).unwrap());
    // Read as "the last epoch ran at block 0" (mask from block 1), both bonds would restart.
    let after_block_1 = epoch::run(&first_epoch_input(1)).unwrap();
    assert_eq!(after_block_1.neurons[0].bonds, [(1, restarted), (2, restarted)]);
}

/// A deliberate difference (docs/protocol.md): a weight row is a set, so the order a validator
/// listed its UIDs in changes nothing, liquid α included. Subtensor keeps the stored order and
/// its liquid-α merge assumes sorted rows.
#[test]
fn weight_row_order_does_not_change_the_epoch() {
    let mut p = params(2, true);
    (p.liquid_alpha, p.alpha_low, p.alpha_high) = (true, 6_553, 19_660);
    let mut net = Subnet::new(&[8, 1, 0, 0, 0], 1, 1, p);
    net.epoch(2);
    let sorted = [(2, M), (3, 20_000), (4, 7)];
    let reversed = [(4, 7), (3, 20_000), (2, M)];
    net.set_weights(0, &sorted, 3);
    net.set_weights(1, &[(3, M), (4, 9)], 3);
    let mut other = Subnet(net.0.clone());
    other.set_weights(0, &reversed, 3);
    for block in 4..8 {
        assert_eq!(net.epoch(block), other.epoch(block), "epoch at block {block}");
    }
}

/// α = 1 − value/10⁶ must not go negative: a larger `bonds_moving_average` is refused, not
/// clamped (the chain's range stops at 975,000).
#[test]
fn bonds_moving_average_above_a_million_is_refused() {
    let mut input = first_epoch_input(639);
    input.params.bonds_moving_average = 1_000_000;
    assert!(epoch::run(&input).is_ok());
    input.params.bonds_moving_average = 1_000_001;
    assert_eq!(epoch::run(&input), Err(epoch::EpochError::BondsMovingAverageTooHigh(1_000_001)));
}

//! One Yuma epoch as a pure function: [`run`] maps an [`EpochInput`] to an [`EpochOutput`].
//!
//! No storage, no host: the chain gathers the inputs from state, the simulator reads them from
//! JSON, and both run this same code (natively or compiled to Wasm). Steps follow subtensor's
//! sparse `epoch_mechanism`; see docs/epoch-simulator.md for the schema and docs/protocol.md
//! for where we differ.

use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use tao_sdk::{BorshDeserialize, BorshSerialize};
use tao_types::Uid;
use tao_types::fixed_point::I64F64;

use crate::math::{self, F, Row};

/// Most neurons an epoch accepts (subtensor's subnets hold at most 256; the simulator goes
/// further to measure scaling).
pub const MAX_NEURONS: usize = 4096;

/// The subnet's hyperparameters the epoch reads.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
#[borsh(crate = "tao_sdk::borsh")]
pub struct EpochParams {
    /// κ as `u16` (65535 = 1): the stake share that must back a consensus value.
    pub kappa: u16,
    /// β as `u16`: how far bonds follow clipped rather than raw weights.
    pub bonds_penalty: u16,
    /// Bonds EMA memory in parts per million: α = 1 − this / 1e6.
    pub bonds_moving_average: u64,
    /// Validator permits handed out (top-k by stake).
    pub max_allowed_validators: u16,
    /// Blocks after its last weights a neuron still counts as active.
    pub activity_cutoff: u64,
    /// Stake below this counts as zero (the owner is exempt).
    pub stake_threshold: u64,
    /// Yuma3 bonds (otherwise classic bonds).
    pub yuma3: bool,
    /// Per-entry bond α from the consensus sigmoid (Yuma3 only).
    pub liquid_alpha: bool,
    /// Lowest liquid α as `u16`.
    pub alpha_low: u16,
    /// Highest liquid α as `u16`.
    pub alpha_high: u16,
    /// Sigmoid steepness ×100.
    pub alpha_sigmoid_steepness: u16,
    /// Blocks between epochs: before a subnet's first epoch (`last_epoch_block` 0) bonds on UIDs
    /// registered in the last `tempo` blocks start over, as in subtensor.
    #[cfg_attr(feature = "serde", serde(default = "default_tempo"))]
    pub tempo: u64,
}

/// Subtensor's default tempo.
pub const DEFAULT_TEMPO: u64 = 360;

#[cfg(feature = "serde")]
fn default_tempo() -> u64 {
    DEFAULT_TEMPO
}

/// Largest `bonds_moving_average`: α = 1 − value/10⁶ must stay in [0, 1].
pub const MAX_BONDS_MOVING_AVERAGE: u64 = 1_000_000;

impl Default for EpochParams {
    /// Subtensor's defaults (for tests and module authors; the chain reads its parameters).
    fn default() -> Self {
        Self {
            kappa: 32_767,
            bonds_penalty: u16::MAX,
            bonds_moving_average: 900_000,
            max_allowed_validators: 64,
            activity_cutoff: 5_000,
            stake_threshold: 0,
            yuma3: false,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            tempo: DEFAULT_TEMPO,
        }
    }
}

/// One UID's state going into the epoch.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(deny_unknown_fields, default)
)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct NeuronInput {
    /// Stake behind the hotkey, in rao.
    pub stake: u64,
    /// Block the UID was (last) registered at.
    pub registered_at: u64,
    /// Block of the UID's last weights.
    pub last_update: u64,
    /// Validator permit from the previous epoch.
    pub permit: bool,
    /// Weights `(uid, value)`, values as set (normalised by the epoch).
    pub weights: Vec<(Uid, u16)>,
    /// Bonds `(uid, value)` from the previous epoch.
    pub bonds: Vec<(Uid, u16)>,
    /// Block of the UID's earliest unrevealed commit, when commit-reveal is on.
    pub commit_block: Option<u64>,
}

/// Everything an epoch reads.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(deny_unknown_fields))]
#[borsh(crate = "tao_sdk::borsh")]
pub struct EpochInput {
    /// Current block.
    pub block: u64,
    /// Block of the previous epoch (bonds on UIDs registered since then are reset).
    pub last_epoch_block: u64,
    /// Emission to distribute, in rao.
    pub emission: u64,
    /// The subnet owner's UID, if registered.
    pub owner: Option<Uid>,
    /// Hyperparameters.
    pub params: EpochParams,
    /// One entry per UID, indexed by UID.
    pub neurons: Vec<NeuronInput>,
}

/// One UID's results.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[borsh(crate = "tao_sdk::borsh")]
pub struct NeuronOutput {
    /// Set weights recently enough.
    pub active: bool,
    /// Holds a validator permit for the next epoch.
    pub permit: bool,
    /// Stake share used (`u16`).
    pub stake_weight: u16,
    /// Consensus weight on this UID (`u16`).
    pub consensus: u16,
    /// Incentive: share of miner emission (`u16`).
    pub incentive: u16,
    /// Dividends: share of validator emission (`u16`).
    pub dividends: u16,
    /// Validator trust: weight kept after clipping (`u16`).
    pub validator_trust: u16,
    /// New bonds `(uid, value)`.
    pub bonds: Vec<(Uid, u16)>,
    /// Miner emission in rao.
    pub server_emission: u64,
    /// Validator emission in rao.
    pub validator_emission: u64,
}

/// Everything an epoch produces.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[borsh(crate = "tao_sdk::borsh")]
pub struct EpochOutput {
    /// One entry per UID.
    pub neurons: Vec<NeuronOutput>,
    /// Rao of the emission not assigned to any UID (rounding, or no stake at all): the chain
    /// keeps it pending for the next epoch.
    pub undistributed: u64,
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EpochError {
    /// More than [`MAX_NEURONS`] UIDs.
    TooManyNeurons(usize),
    /// A weight or bond names a UID that does not exist.
    UidOutOfRange {
        /// The row.
        row: Uid,
        /// The missing UID.
        target: Uid,
    },
    /// A weight or bond row names a UID twice.
    DuplicateUid {
        /// The row.
        row: Uid,
        /// The repeated UID.
        target: Uid,
    },
    /// The owner UID does not exist.
    OwnerOutOfRange(Uid),
    /// `bonds_moving_average` above [`MAX_BONDS_MOVING_AVERAGE`] would make the EMA's α negative.
    BondsMovingAverageTooHigh(u64),
}

impl fmt::Display for EpochError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooManyNeurons(n) => write!(f, "{n} neurons; at most {MAX_NEURONS}"),
            Self::UidOutOfRange { row, target } => {
                write!(f, "row {row} names UID {target}, which does not exist")
            }
            Self::DuplicateUid { row, target } => write!(f, "row {row} names UID {target} twice"),
            Self::OwnerOutOfRange(uid) => write!(f, "owner UID {uid} does not exist"),
            Self::BondsMovingAverageTooHigh(value) => {
                write!(
                    f,
                    "bonds_moving_average {value} is above {MAX_BONDS_MOVING_AVERAGE} (α = 1 − value/10⁶ < 0)"
                )
            }
        }
    }
}

impl core::error::Error for EpochError {}

/// `(uid, u16)` pairs sorted by UID, after checking each UID exists and appears once.
fn checked_row(pairs: &[(Uid, u16)], row: usize, n: usize) -> Result<Vec<(Uid, u16)>, EpochError> {
    let row_uid = row as Uid;
    if let Some((target, _)) = pairs.iter().find(|(t, _)| usize::from(*t) >= n) {
        return Err(EpochError::UidOutOfRange { row: row_uid, target: *target });
    }
    let mut out = pairs.to_vec();
    out.sort_by_key(|(j, _)| *j);
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(EpochError::DuplicateUid { row: row_uid, target: w[0].0 });
    }
    Ok(out)
}

/// A sparse row with each stored value converted by `value`.
fn to_row(pairs: &[(Uid, u16)], value: fn(u16) -> F) -> Row {
    pairs.iter().map(|(j, v)| (*j, value(*v))).collect()
}

/// A stored value taken as a plain integer (weights and classic bonds are normalised later).
fn integer(v: u16) -> F {
    F::from_num(v)
}

type Pairs = Vec<(Uid, u16)>;

impl EpochInput {
    /// The weight and bond rows, sorted, once every UID in them is checked.
    fn check(&self) -> Result<(Vec<Pairs>, Vec<Pairs>), EpochError> {
        let n = self.neurons.len();
        if n > MAX_NEURONS {
            return Err(EpochError::TooManyNeurons(n));
        }
        if let Some(owner) = self.owner.filter(|o| usize::from(*o) >= n) {
            return Err(EpochError::OwnerOutOfRange(owner));
        }
        if self.params.bonds_moving_average > MAX_BONDS_MOVING_AVERAGE {
            return Err(EpochError::BondsMovingAverageTooHigh(self.params.bonds_moving_average));
        }
        let mut weights = Vec::with_capacity(n);
        let mut bonds = Vec::with_capacity(n);
        for (i, neuron) in self.neurons.iter().enumerate() {
            weights.push(checked_row(&neuron.weights, i, n)?);
            bonds.push(checked_row(&neuron.bonds, i, n)?);
        }
        Ok((weights, bonds))
    }

    /// UIDs registered before this block keep their bonds: subtensor's `LastMechansimStepBlock + 1`,
    /// or `block − tempo` before a subnet's first epoch (`last_epoch_block` 0).
    fn bonds_kept_before(&self) -> u64 {
        match self.last_epoch_block {
            0 => self.block.saturating_sub(self.params.tempo),
            last => last.saturating_add(1),
        }
    }
}

/// Runs one epoch.
pub fn run(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    let (raw_weights, raw_bonds) = input.check()?;
    let n = input.neurons.len();
    let p = &input.params;
    let neurons = &input.neurons;
    let is_owner = |i: usize| input.owner.is_some_and(|o| usize::from(o) == i);

    // 1. Activity.
    let active: Vec<bool> =
        neurons.iter().map(|u| u.last_update.saturating_add(p.activity_cutoff) >= input.block).collect();

    // 2. Stake, with the threshold (owner exempt), as proportions.
    let stake_rao: Vec<u64> = neurons
        .iter()
        .enumerate()
        .map(|(i, u)| if u.stake < p.stake_threshold && !is_owner(i) { 0 } else { u.stake })
        .collect();
    let stake = math::proportions(&stake_rao);

    // 3. Permits: the previous epoch's mask this epoch; new ones (top-k) go forward.
    let old_permit: Vec<bool> = neurons.iter().enumerate().map(|(i, u)| u.permit || is_owner(i)).collect();
    let mut permit = math::top_k_nonzero(&stake, usize::from(p.max_allowed_validators));
    if let Some(o) = input.owner {
        permit[usize::from(o)] = true;
    }

    // 4. Active stake: inactive and unpermitted validators hold none.
    let mut active_stake: Vec<F> =
        (0..n).map(|i| if active[i] && old_permit[i] { stake[i] } else { F::ZERO }).collect();
    math::normalize(&mut active_stake);

    // 5. Weights: masked, then row-normalised.
    let mut weights: Vec<Row> = raw_weights
        .iter()
        .enumerate()
        .map(|(i, row)| {
            if !old_permit[i] {
                return Vec::new();
            }
            let u = &neurons[i];
            let kept: Pairs = row
                .iter()
                .copied()
                .filter(|(j, _)| {
                    let target = &neurons[usize::from(*j)];
                    (usize::from(*j) != i || is_owner(i))
                        && u.last_update > target.registered_at
                        && u.commit_block.is_none_or(|c| c >= target.registered_at)
                })
                .collect();
            to_row(&kept, integer)
        })
        .collect();
    math::row_normalize(&mut weights);

    // 6–8. Consensus, clipping, validator trust, incentive.
    let kappa = math::from_u16(p.kappa);
    let consensus = math::weighted_median_columns(&weights, &active_stake, kappa, n);
    let clipped = math::clip_to_consensus(&weights, &consensus);
    let validator_trust = math::row_sums(&clipped);
    let mut incentive = math::weighted_column_sums(&clipped, &active_stake, n);
    math::normalize(&mut incentive);

    // 9. Bond weights: β of the way from raw to clipped weights.
    let bond_weights = math::interpolate(&weights, &clipped, math::from_u16(p.bonds_penalty));

    // 10. Bonds on UIDs registered after the last epoch start over.
    let last_tempo = input.bonds_kept_before();
    let old_bonds: Vec<Pairs> = raw_bonds
        .into_iter()
        .map(|row| {
            row.into_iter().filter(|(j, _)| last_tempo > neurons[usize::from(*j)].registered_at).collect()
        })
        .collect();

    // 11–12. Bonds and dividends.
    let (bonds, dividends) = if p.yuma3 {
        yuma3_bonds(p, &old_bonds, &bond_weights, &consensus, &incentive, &active_stake)
    } else {
        classic_bonds(p, &old_bonds, &bond_weights, &incentive, &active_stake)
    };

    // 14. Emission.
    let (server, validator) = emission(input.emission, &incentive, &dividends, &active_stake, &stake);
    let paid = server.iter().chain(&validator).fold(0u64, |acc, x| acc.saturating_add(*x));

    let outputs = bonds
        .into_iter()
        .enumerate()
        .map(|(i, bonds)| NeuronOutput {
            active: active[i],
            permit: permit[i],
            stake_weight: math::to_u16(stake[i]),
            consensus: math::to_u16(consensus[i]),
            incentive: math::to_u16(incentive[i]),
            dividends: math::to_u16(dividends[i]),
            validator_trust: math::to_u16(validator_trust[i]),
            // 13. Only validators holding a new permit keep bonds.
            bonds: if permit[i] { bonds } else { Vec::new() },
            server_emission: server[i],
            validator_emission: validator[i],
        })
        .collect();
    Ok(EpochOutput { neurons: outputs, undistributed: input.emission.saturating_sub(paid) })
}

/// α of the bonds EMA: `1 − BMA / 10⁶`, the quotient taken in I64F64 and truncated (BMA is
/// checked to be at most 10⁶ first).
fn ema_alpha(bonds_moving_average: u64) -> F {
    let million = I64F64::from_num(MAX_BONDS_MOVING_AVERAGE);
    let memory = I64F64::from_num(bonds_moving_average).checked_div(million).unwrap_or(I64F64::ZERO);
    F::ONE.saturating_sub(F::saturating_from_num(memory))
}

/// Classic Yuma bonds: stored bonds and stake-weighted bond weights, each column-normalised,
/// blended by the EMA and normalised again; dividends are bonds times incentive. Stored bonds
/// are scaled so each column's largest is 65535.
fn classic_bonds(
    p: &EpochParams,
    old: &[Pairs],
    bond_weights: &[Row],
    incentive: &[F],
    active_stake: &[F],
) -> (Vec<Pairs>, Vec<F>) {
    let n = old.len();
    let mut old: Vec<Row> = old.iter().map(|r| to_row(r, integer)).collect();
    math::column_normalize(&mut old, n);
    let mut delta = math::scale_rows(bond_weights, active_stake);
    math::column_normalize(&mut delta, n);
    let mut bonds = math::ema(&delta, &old, ema_alpha(p.bonds_moving_average));
    math::column_normalize(&mut bonds, n);
    let mut dividends = math::weighted_row_sums(&bonds, incentive);
    math::normalize(&mut dividends);
    math::column_max_upscale(&mut bonds, n);
    (store(&bonds), dividends)
}

/// Rows stored as `⌊x · 65535⌋`, zeros dropped.
fn store(rows: &[Row]) -> Vec<Pairs> {
    rows.iter()
        .map(|row| row.iter().map(|(j, v)| (*j, math::to_u16(*v))).filter(|(_, v)| *v > 0).collect())
        .collect()
}

/// Yuma3 bonds: an EMA of bond weights kept as absolute fractions, with a per-entry liquid α
/// when enabled; dividends are column-normalised bonds times incentive, times active stake.
fn yuma3_bonds(
    p: &EpochParams,
    old: &[Pairs],
    bond_weights: &[Row],
    consensus: &[F],
    incentive: &[F],
    active_stake: &[F],
) -> (Vec<Pairs>, Vec<F>) {
    let n = old.len();
    let old: Vec<Row> = old.iter().map(|r| to_row(r, math::from_u16)).collect();
    let bonds = if p.liquid_alpha && consensus.iter().any(|c| *c != F::ZERO) {
        liquid_ema(p, bond_weights, &old, consensus)
    } else {
        math::ema(bond_weights, &old, ema_alpha(p.bonds_moving_average))
    };
    let mut normalized = bonds.clone();
    math::column_normalize(&mut normalized, n);
    let mut dividends: Vec<F> = math::weighted_row_sums(&normalized, incentive)
        .into_iter()
        .zip(active_stake)
        .map(|(d, s)| d.checked_mul(*s).unwrap_or(F::ZERO))
        .collect();
    math::normalize(&mut dividends);
    (store(&bonds), dividends)
}

/// The Yuma3 EMA with a liquid α per entry. Only the columns the validator weights (zeros
/// included) keep a bond: one it stopped weighting is dropped, not decayed (subtensor's sparse
/// behaviour). Bonds are capped at 1.
fn liquid_ema(p: &EpochParams, bond_weights: &[Row], old: &[Row], consensus: &[F]) -> Vec<Row> {
    let (low, high) = (math::from_u16(p.alpha_low), math::from_u16(p.alpha_high));
    // Steepness is a signed value in subtensor; large settings wrap to negative as there.
    let steepness = F::from_num(i16::from_ne_bytes(p.alpha_sigmoid_steepness.to_ne_bytes()));
    let slope = steepness.saturating_div(F::from_num(-100));
    bond_weights
        .iter()
        .zip(old)
        .map(|(w_row, b_row)| {
            let mut olds = b_row.iter().peekable();
            w_row
                .iter()
                .filter_map(|(j, w)| {
                    while olds.next_if(|(k, _)| k < j).is_some() {}
                    let b = olds.next_if(|(k, _)| k == j).map_or(F::ZERO, |(_, v)| *v);
                    let alpha = liquid_alpha(*w, b, consensus[usize::from(*j)], slope, low, high);
                    let decayed = math::mul(F::ONE.saturating_sub(alpha), b);
                    let gained = math::mul(alpha, *w).max(F::ZERO);
                    let v = decayed.saturating_add(gained).min(F::ONE);
                    (v > F::ZERO).then_some((*j, v))
                })
                .collect()
        })
        .collect()
}

/// Liquid α of one bond: high when the weight runs ahead of consensus (or the bond ahead of
/// the weight), low near it, along `σ(steepness/100 · (d − ½))` computed as subtensor does.
fn liquid_alpha(weight: F, bond: F, consensus: F, slope: F, low: F, high: F) -> F {
    let unit = |x: F| x.clamp(F::ZERO, F::ONE);
    let d = if weight >= bond {
        unit(weight.saturating_sub(consensus))
    } else {
        unit(bond.saturating_sub(weight))
    };
    let x = slope.saturating_mul(d.saturating_sub(F::ONE >> 1));
    let sigmoid = F::ONE.saturating_div(F::ONE.saturating_add(math::exp(x)));
    let alpha = low.saturating_add(sigmoid.saturating_mul(high.saturating_sub(low)));
    alpha.min(high).max(low)
}

/// Per-UID miner and validator rao: incentive and dividends over their combined sum (half each
/// when both are non-zero), each amount floored. With neither, validators share by active
/// stake, or by stake if no stake is active.
fn emission(
    total: u64,
    incentive: &[F],
    dividends: &[F],
    active_stake: &[F],
    stake: &[F],
) -> (Vec<u64>, Vec<u64>) {
    let combined: Vec<F> = incentive.iter().zip(dividends).map(|(i, d)| i.saturating_add(*d)).collect();
    let denominator = math::sum(&combined);
    let rao = |x: &F| math::rao_of(*x, total);
    if denominator == F::ZERO {
        let by = if math::sum(active_stake) == F::ZERO { stake } else { active_stake };
        return (vec![0; incentive.len()], by.iter().map(rao).collect());
    }
    let share = |x: &F| rao(&math::safe_div(*x, denominator));
    (incentive.iter().map(share).collect(), dividends.iter().map(share).collect())
}

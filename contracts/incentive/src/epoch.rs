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
use tao_types::fixed_point::I96F32;

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
        }
    }
}

impl core::error::Error for EpochError {}

/// A sparse row from `(uid, u16)` pairs, sorted, after checking each UID.
fn row_from(pairs: &[(Uid, u16)], row: usize, n: usize) -> Result<Row, EpochError> {
    let row_uid = row as Uid;
    let mut out: Row = Vec::with_capacity(pairs.len());
    for (target, value) in pairs {
        if usize::from(*target) >= n {
            return Err(EpochError::UidOutOfRange { row: row_uid, target: *target });
        }
        out.push((*target, math::from_u16(*value)));
    }
    out.sort_by_key(|(j, _)| *j);
    if let Some(w) = out.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(EpochError::DuplicateUid { row: row_uid, target: w[0].0 });
    }
    Ok(out)
}

impl EpochInput {
    fn check(&self) -> Result<(Vec<Row>, Vec<Row>), EpochError> {
        let n = self.neurons.len();
        if n > MAX_NEURONS {
            return Err(EpochError::TooManyNeurons(n));
        }
        if let Some(owner) = self.owner.filter(|o| usize::from(*o) >= n) {
            return Err(EpochError::OwnerOutOfRange(owner));
        }
        let mut weights = Vec::with_capacity(n);
        let mut bonds = Vec::with_capacity(n);
        for (i, neuron) in self.neurons.iter().enumerate() {
            weights.push(row_from(&neuron.weights, i, n)?);
            bonds.push(row_from(&neuron.bonds, i, n)?);
        }
        Ok((weights, bonds))
    }
}

/// Runs one epoch.
pub fn run(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    let (raw_weights, old_bonds) = input.check()?;
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

    // 3. Permits: the previous epoch's mask the weights, new ones (top-k) go forward.
    let old_permit: Vec<bool> = neurons.iter().enumerate().map(|(i, u)| u.permit || is_owner(i)).collect();
    let mut permit = math::top_k_nonzero(&stake, usize::from(p.max_allowed_validators));
    if let Some(o) = input.owner {
        permit[usize::from(o)] = true;
    }

    // 4. Active stake: inactive and unpermitted validators hold none.
    let mut active_stake: Vec<F> =
        (0..n).map(|i| if active[i] && permit[i] { stake[i] } else { F::ZERO }).collect();
    math::normalize(&mut active_stake);

    // 5. Weights: masked, then row-normalised.
    let mut weights: Vec<Row> = raw_weights
        .into_iter()
        .enumerate()
        .map(|(i, row)| {
            if !old_permit[i] {
                return Vec::new();
            }
            let u = &neurons[i];
            row.into_iter()
                .filter(|(j, _)| {
                    let j = usize::from(*j);
                    let target = &neurons[j];
                    (j != i || is_owner(i))
                        && u.last_update > target.registered_at
                        && u.commit_block.is_none_or(|c| c >= target.registered_at)
                })
                .collect()
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

    // 10. Bonds on UIDs registered since the last epoch start over.
    let last_tempo = input.last_epoch_block;
    let old_bonds: Vec<Row> = old_bonds
        .into_iter()
        .map(|row| {
            row.into_iter().filter(|(j, _)| last_tempo > neurons[usize::from(*j)].registered_at).collect()
        })
        .collect();

    // 11–12. Bonds and dividends.
    let (bonds, dividends) = if p.yuma3 {
        yuma3_bonds(input, &old_bonds, &bond_weights, &consensus, &incentive, &active_stake)
    } else {
        classic_bonds(input, old_bonds, &bond_weights, &incentive, &active_stake)
    };

    // 14. Emission.
    let (server, validator, undistributed) =
        emission(input.emission, &incentive, &dividends, &active_stake, &stake);

    let outputs = (0..n)
        .map(|i| NeuronOutput {
            active: active[i],
            permit: permit[i],
            stake_weight: math::to_u16(stake[i]),
            consensus: math::to_u16(consensus[i]),
            incentive: math::to_u16(incentive[i]),
            dividends: math::to_u16(dividends[i]),
            validator_trust: math::to_u16(validator_trust[i]),
            // 13. Only permitted validators keep bonds.
            bonds: if permit[i] { bonds[i].clone() } else { Vec::new() },
            server_emission: server[i],
            validator_emission: validator[i],
        })
        .collect();
    Ok(EpochOutput { neurons: outputs, undistributed })
}

/// α of the bonds EMA from the moving-average parameter.
fn ema_alpha(bonds_moving_average: u64) -> F {
    let memory =
        F::saturating_from_num(bonds_moving_average.min(1_000_000)).saturating_div(F::from_num(1_000_000));
    F::ONE.saturating_sub(memory)
}

/// Classic Yuma bonds: column-normalised EMA of stake-weighted bond weights; dividends are
/// bonds times incentive. Stored bonds are max-upscaled per column.
fn classic_bonds(
    input: &EpochInput,
    mut old: Vec<Row>,
    bond_weights: &[Row],
    incentive: &[F],
    active_stake: &[F],
) -> (Vec<Vec<(Uid, u16)>>, Vec<F>) {
    let n = input.neurons.len();
    math::column_normalize(&mut old, n);
    let mut delta = math::scale_rows(bond_weights, active_stake);
    math::column_normalize(&mut delta, n);
    let alpha = ema_alpha(input.params.bonds_moving_average);
    let mut ema = math::interpolate(&old, &delta, alpha);
    math::column_normalize(&mut ema, n);
    let mut dividends = math::weighted_row_sums(&ema, incentive);
    math::normalize(&mut dividends);
    (upscale_columns(&ema, n), dividends)
}

/// Each column of `rows` scaled so its largest entry is 65535.
fn upscale_columns(rows: &[Row], columns: usize) -> Vec<Vec<(Uid, u16)>> {
    let mut max = vec![F::ZERO; columns];
    for row in rows {
        for (j, v) in row {
            let m = &mut max[usize::from(*j)];
            *m = (*m).max(*v);
        }
    }
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|(j, v)| (*j, math::max_upscale_to_u16(&[*v, max[usize::from(*j)]])[0]))
                .filter(|(_, v)| *v > 0)
                .collect()
        })
        .collect()
}

/// Yuma3 bonds: an EMA of bond weights kept as absolute fractions (per-entry liquid α when
/// enabled); dividends are column-normalised bonds times incentive, times active stake.
fn yuma3_bonds(
    input: &EpochInput,
    old: &[Row],
    bond_weights: &[Row],
    consensus: &[F],
    incentive: &[F],
    active_stake: &[F],
) -> (Vec<Vec<(Uid, u16)>>, Vec<F>) {
    let n = input.neurons.len();
    let p = &input.params;
    let liquid = p.liquid_alpha && consensus.iter().any(|c| *c > F::ZERO);
    let fixed_alpha = ema_alpha(p.bonds_moving_average);
    let ema: Vec<Row> = bond_weights
        .iter()
        .zip(old)
        .map(|(w_row, b_row)| {
            math::merge(w_row, b_row)
                .into_iter()
                // Sparse quirk kept from subtensor: a bond whose column the validator no
                // longer weights is dropped, not decayed.
                .filter(|(_, w, _)| *w > F::ZERO)
                .map(|(j, w, b)| {
                    let alpha =
                        if liquid { liquid_alpha(p, w, b, consensus[usize::from(j)]) } else { fixed_alpha };
                    let next = b.saturating_add(alpha.saturating_mul(w.saturating_sub(b)));
                    (j, next.min(F::ONE))
                })
                .filter(|(_, v)| *v > F::ZERO)
                .collect()
        })
        .collect();
    let mut normalized = ema.clone();
    math::column_normalize(&mut normalized, n);
    let mut dividends: Vec<F> = math::weighted_row_sums(&normalized, incentive)
        .into_iter()
        .zip(active_stake)
        .map(|(d, s)| d.saturating_mul(*s))
        .collect();
    math::normalize(&mut dividends);
    let stored = ema
        .iter()
        .map(|row| row.iter().map(|(j, v)| (*j, math::to_u16(*v))).filter(|(_, v)| *v > 0).collect())
        .collect();
    (stored, dividends)
}

/// Liquid α of one bond: fast (α_high) when the weight runs far from consensus or from the
/// bond, slow (α_low) near it, along a sigmoid.
fn liquid_alpha(p: &EpochParams, weight: F, bond: F, consensus: F) -> F {
    let (low, high) = (math::from_u16(p.alpha_low), math::from_u16(p.alpha_high));
    let diff = if weight >= bond { weight.saturating_sub(consensus) } else { bond.saturating_sub(weight) };
    let diff = diff.clamp(F::ZERO, F::ONE);
    let steepness = F::from_num(p.alpha_sigmoid_steepness).saturating_div(F::from_num(100));
    let s = math::sigmoid(steepness.saturating_mul(diff.saturating_sub(F::ONE >> 1)));
    let alpha = low.saturating_add(high.saturating_sub(low).saturating_mul(s));
    alpha.clamp(low.min(high), high.max(low)).min(F::ONE)
}

/// Splits `total` rao: miners by incentive, validators by dividends (half each when both are
/// non-zero). With neither, validators share by active stake, else by stake. Returns per-UID
/// miner and validator amounts (floored) and the undistributed remainder.
fn emission(
    total: u64,
    incentive: &[F],
    dividends: &[F],
    active_stake: &[F],
    stake: &[F],
) -> (Vec<u64>, Vec<u64>, u64) {
    let n = incentive.len();
    let denominator = math::sum(incentive).saturating_add(math::sum(dividends));
    let share = |x: F, of: F| -> u64 {
        if of <= F::ZERO {
            return 0;
        }
        let amount =
            I96F32::from_num(x).saturating_mul(I96F32::from_num(total)).saturating_div(I96F32::from_num(of));
        amount.saturating_to_num::<u64>()
    };
    let (server, validator): (Vec<u64>, Vec<u64>) = if denominator > F::ZERO {
        (
            incentive.iter().map(|x| share(*x, denominator)).collect(),
            dividends.iter().map(|x| share(*x, denominator)).collect(),
        )
    } else {
        let by = if math::sum(active_stake) > F::ZERO { active_stake } else { stake };
        let of = math::sum(by);
        (vec![0; n], by.iter().map(|x| share(*x, of)).collect())
    };
    let paid = server.iter().chain(&validator).fold(0u64, |acc, x| acc.saturating_add(*x));
    (server, validator, total.saturating_sub(paid))
}

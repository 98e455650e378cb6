//! Example incentive module: top-k, winner takes most.
//!
//! Every staked neuron that sets weights is a validator; its weights, normalised, count with its
//! stake. The three miners with the highest score take 60%, 25% and 15% of the miners' half of
//! the emission (ties to the lower UID); validators share the other half by stake. Whatever is
//! not assigned (no scores yet, rounding) is left undistributed and stays pending on the chain.
//!
//! The module ABI: `entry_epoch` takes a borsh `EpochInput` (schema v1, docs/incentive-modules.md)
//! and outputs a borsh `EpochOutput`.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

use alloc::vec;
use alloc::vec::Vec;

use tao_contract_incentive::IncentiveError;
use tao_contract_incentive::epoch::{EpochInput, EpochOutput, NeuronOutput};
use tao_sdk::Host;

/// Each winner's share of the miners' half, in 65535ths: 60%, 25%, 15%.
pub const SHARES: [u16; 3] = [39_321, 16_384, 9_830];

/// `part / whole` as a `u16` fraction (0 when `whole` is 0).
fn fraction(part: u128, whole: u128) -> u16 {
    (part * u128::from(u16::MAX)).checked_div(whole).map_or(0, |f| f as u16)
}

/// Stake-weighted score of every UID from the validators' normalised weights.
fn scores(input: &EpochInput) -> Vec<u128> {
    let mut score = vec![0u128; input.neurons.len()];
    for (uid, neuron) in input.neurons.iter().enumerate() {
        let row: u128 = neuron.weights.iter().map(|(_, w)| u128::from(*w)).sum();
        if neuron.stake == 0 || row == 0 {
            continue;
        }
        for (target, w) in &neuron.weights {
            if usize::from(*target) != uid
                && let Some(s) = score.get_mut(usize::from(*target))
            {
                *s += u128::from(neuron.stake) * u128::from(*w) * u128::from(u16::MAX) / row;
            }
        }
    }
    score
}

/// The epoch: pure and integer-only, so every node and the simulator agree.
pub fn run(input: &EpochInput) -> EpochOutput {
    let n = input.neurons.len();
    let score = scores(input);
    let mut ranked: Vec<usize> = (0..n).filter(|uid| score[*uid] > 0).collect();
    ranked.sort_by(|a, b| score[*b].cmp(&score[*a]).then(a.cmp(b)));
    let miners_half = u128::from(input.emission / 2);
    let validators_half = u128::from(input.emission) - miners_half;
    let voters = |uid: usize| input.neurons[uid].stake > 0 && !input.neurons[uid].weights.is_empty();
    let voting_stake: u128 = (0..n).filter(|u| voters(*u)).map(|u| u128::from(input.neurons[u].stake)).sum();
    let total_stake: u128 = input.neurons.iter().map(|x| u128::from(x.stake)).sum();
    let mut neurons: Vec<NeuronOutput> = input
        .neurons
        .iter()
        .map(|x| NeuronOutput {
            active: !x.weights.is_empty(),
            permit: x.stake > 0,
            stake_weight: fraction(u128::from(x.stake), total_stake),
            ..NeuronOutput::default()
        })
        .collect();
    for (uid, share) in ranked.iter().zip(SHARES) {
        let out = &mut neurons[*uid];
        out.incentive = share;
        out.server_emission = (miners_half * u128::from(share) / u128::from(u16::MAX)) as u64;
    }
    if voting_stake > 0 {
        for uid in (0..n).filter(|u| voters(*u)) {
            let stake = u128::from(input.neurons[uid].stake);
            neurons[uid].dividends = fraction(stake, voting_stake);
            neurons[uid].validator_emission = (validators_half * stake / voting_stake) as u64;
        }
    }
    let paid: u64 = neurons.iter().map(|x| x.server_emission + x.validator_emission).sum();
    EpochOutput { neurons, undistributed: input.emission - paid }
}

/// Entry point: a borsh `EpochInput` in, a borsh `EpochOutput` out.
pub fn entry_epoch(host: &mut impl Host) -> Result<(), IncentiveError> {
    let input: EpochInput = host.input_as()?;
    host.output_as(&run(&input));
    Ok(())
}

tao_sdk::entry_points!(entry_epoch);

#[cfg(test)]
mod tests;

//! Example incentive module: Yuma consensus with a per-validator stake cap.
//!
//! Before running the built-in Yuma epoch (the same `epoch::run` the chain uses), every neuron's
//! stake is capped at 10% of the subnet's total, so no single validator's weights can dominate
//! consensus or dividends however much stake it gathers.
//!
//! The module ABI: `entry_epoch` takes a borsh `EpochInput` (schema v1, docs/incentive-modules.md)
//! and outputs a borsh `EpochOutput`.
#![cfg_attr(target_arch = "wasm32", no_std)]

use tao_contract_incentive::IncentiveError;
use tao_contract_incentive::epoch::{self, EpochError, EpochInput, EpochOutput};
use tao_sdk::Host;

/// Largest share of the total stake one neuron counts with, in 65535ths (10%).
pub const STAKE_CAP: u16 = 6_554;

/// `input` with every stake capped at [`STAKE_CAP`] of the total.
pub fn capped(input: &EpochInput) -> EpochInput {
    let total: u128 = input.neurons.iter().map(|n| u128::from(n.stake)).sum();
    let cap = (total * u128::from(STAKE_CAP) / u128::from(u16::MAX)) as u64;
    let mut out = input.clone();
    for neuron in &mut out.neurons {
        neuron.stake = neuron.stake.min(cap);
    }
    out
}

/// The epoch: Yuma on capped stakes.
pub fn run(input: &EpochInput) -> Result<EpochOutput, EpochError> {
    epoch::run(&capped(input))
}

/// Entry point: a borsh `EpochInput` in, a borsh `EpochOutput` out.
pub fn entry_epoch(host: &mut impl Host) -> Result<(), IncentiveError> {
    let input: EpochInput = host.input_as()?;
    let output = run(&input).map_err(IncentiveError::Epoch)?;
    host.output_as(&output);
    Ok(())
}

tao_sdk::entry_points!(entry_epoch);

#[cfg(test)]
mod tests;

#![allow(clippy::unwrap_used, reason = "tests")]

use tao_contract_incentive::epoch::{EpochParams, NeuronInput};

use super::*;

fn input(neurons: Vec<NeuronInput>) -> EpochInput {
    EpochInput {
        block: 100,
        last_epoch_block: 0,
        emission: 1_000_000_000,
        owner: None,
        params: EpochParams::default(),
        neurons,
    }
}

fn validator(stake: u64, weights: Vec<(u16, u16)>) -> NeuronInput {
    NeuronInput { stake, weights, ..NeuronInput::default() }
}

#[test]
fn the_top_three_take_most_and_validators_split_by_stake() {
    let miners = (0..4).map(|_| NeuronInput::default());
    let neurons = [validator(300, vec![(2, 4), (3, 3), (4, 2), (5, 1)]), validator(100, vec![(5, 1)])]
        .into_iter()
        .chain(miners)
        .collect();
    let out = run(&input(neurons));
    let half = 500_000_000u128;
    let share = |s: u16| (half * u128::from(s) / 65_535) as u64;
    // Scores: uid 5 gets 300/10 + 100 (the second validator's whole row) and wins.
    let paid: Vec<u64> = out.neurons.iter().map(|n| n.server_emission).collect();
    assert_eq!(paid, vec![0, 0, share(16_384), share(9_830), 0, share(39_321)]);
    assert_eq!(out.neurons[0].validator_emission, 375_000_000);
    assert_eq!(out.neurons[1].validator_emission, 125_000_000);
    let total: u64 = out.neurons.iter().map(|n| n.server_emission + n.validator_emission).sum();
    assert_eq!(total + out.undistributed, 1_000_000_000);
    assert!(out.neurons[0].permit && !out.neurons[2].permit);
}

#[test]
fn without_weights_nothing_is_assigned() {
    let out = run(&input(vec![NeuronInput { stake: 5, ..NeuronInput::default() }, NeuronInput::default()]));
    assert_eq!(out.undistributed, 1_000_000_000);
    assert_eq!(out.neurons.len(), 2);
}

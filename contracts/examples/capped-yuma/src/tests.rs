#![allow(clippy::unwrap_used, reason = "tests")]

use tao_contract_incentive::epoch::{EpochParams, NeuronInput};

use super::*;

fn input(stakes: &[u64]) -> EpochInput {
    let n = stakes.len() as u16;
    let neurons = stakes
        .iter()
        .enumerate()
        .map(|(uid, stake)| NeuronInput {
            stake: *stake,
            last_update: 99,
            permit: *stake > 0,
            // Validator 0 weights the last miner, the others the one before it.
            weights: if *stake == 0 {
                vec![]
            } else if uid == 0 {
                vec![(n - 1, 1)]
            } else {
                vec![(n - 2, 1)]
            },
            ..NeuronInput::default()
        })
        .collect();
    EpochInput {
        block: 100,
        last_epoch_block: 0,
        emission: 1_000_000_000,
        owner: None,
        params: EpochParams::default(),
        neurons,
    }
}

#[test]
fn a_whale_counts_with_at_most_a_tenth_of_the_stake() {
    let whale = input(&[900, 60, 60, 0, 0]);
    let out = run(&whale).unwrap();
    assert_eq!(out, epoch::run(&input(&[102, 60, 60, 0, 0])).unwrap(), "stakes capped at 10% of 1020");
    let uncapped = epoch::run(&whale).unwrap();
    // Uncapped, the whale's miner (uid 4) wins consensus; capped, the other validators' (uid 3).
    assert!(uncapped.neurons[4].incentive > uncapped.neurons[3].incentive);
    assert!(out.neurons[3].incentive > out.neurons[4].incentive);
}

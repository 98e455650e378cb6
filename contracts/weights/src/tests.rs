use super::*;
use tao_contract_subnets::{SubnetIdentity, params::id};
use tao_contract_token as token;
use tao_sdk::{MemoryHost, NativeOutcome};

const TAO: u64 = tao_types::RAO_PER_TAO;

fn addr(n: u16) -> Address {
    let mut a = [0u8; 20];
    a[..2].copy_from_slice(&n.to_be_bytes());
    a[19] = 1;
    Address(a)
}

fn call<T>(
    h: &mut MemoryHost,
    caller: Address,
    block: u64,
    f: impl FnOnce(&mut MemoryHost) -> Result<T, WeightError>,
) -> Result<(), String> {
    h.caller = caller;
    h.block_height = block;
    match h.run(&[], |h| f(h).map(|_| ())).outcome {
        NativeOutcome::Ok => Ok(()),
        NativeOutcome::Abort(m) | NativeOutcome::HostError(m) => Err(m),
    }
}

/// Subnet 1 (owner coldkey 1, owner hotkey 1000 at UID 0), validator hotkey 2000 (UID 1, with a
/// permit and 100 τ of stake), miners 3000..3003 (UIDs 2..5); commit-reveal off.
fn setup() -> MemoryHost {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, 0, |h| {
        token::mint(h, &addr(1), 100_000 * TAO).map_err(staking::StakeError::from)?;
        token::mint(h, &addr(2), 100_000 * TAO).map_err(staking::StakeError::from)?;
        Ok(())
    })
    .unwrap();
    call(&mut h, addr(1), 1, |h| {
        neurons::register_network(h, &addr(1), &addr(1000), SubnetIdentity::default())?;
        neurons::burned_register(h, &addr(2), 1, &addr(2000))?;
        for m in 0..4 {
            neurons::burned_register(h, &addr(2), 1, &addr(3000 + m))?;
        }
        Ok(staking::add_stake(h, &addr(2), &addr(2000), 1, 100 * TAO, None)?)
    })
    .unwrap();
    call(&mut h, SYSTEM, 1, |h| {
        subnets::set_hyperparameter(
            h,
            &SYSTEM,
            1,
            PARAMS.iter().position(|p| p.name == "commit_reveal").unwrap() as u8,
            0,
        )?;
        set_permit(h, 1, 1, true)
    })
    .unwrap();
    h
}

fn args(uids: &[Uid], values: &[u16]) -> WeightsArgs {
    WeightsArgs { netuid: 1, uids: uids.to_vec(), values: values.to_vec(), version_key: 0 }
}

fn set(h: &mut MemoryHost, hotkey: u16, block: u64, a: WeightsArgs) -> Result<(), String> {
    call(h, addr(hotkey), block, |h| set_weights(h, &addr(hotkey), &a))
}

fn param_id(name: &str) -> u8 {
    PARAMS.iter().position(|p| p.name == name).unwrap() as u8
}

fn set_param(h: &mut MemoryHost, name: &str, value: u64) {
    call(h, SYSTEM, 1, |h| Ok(subnets::set_hyperparameter(h, &SYSTEM, 1, param_id(name), value)?)).unwrap();
}

#[test]
fn valid_weights_are_normalized_and_stored() {
    let mut h = setup();
    set(&mut h, 2000, 500, args(&[2, 3, 4], &[1, 2, 4])).unwrap();
    assert_eq!(weights(&mut h, 1, 1), Ok(vec![(2, 16_384), (3, 32_768), (4, 65_535)]));
    assert_eq!(last_update(&mut h, 1, 1), Ok(500));
    // Zeros are kept.
    set(&mut h, 2000, 600, args(&[2, 3], &[0, 9])).unwrap();
    assert_eq!(weights(&mut h, 1, 1), Ok(vec![(2, 0), (3, 65_535)]));
}

/// Each check, in subtensor's order, with its own error.
#[test]
fn every_check_has_its_error() {
    let mut h = setup();
    let e = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        e(set(&mut h, 2000, 500, WeightsArgs { netuid: 0, ..args(&[2], &[1]) })),
        WeightError::RootSubnet.to_string()
    );
    assert_eq!(e(set(&mut h, 2000, 500, args(&[2, 3], &[1]))), WeightError::LengthMismatch.to_string());
    assert_eq!(
        e(set(&mut h, 2000, 500, WeightsArgs { netuid: 7, ..args(&[2], &[1]) })),
        WeightError::NoSuchSubnet(7).to_string()
    );
    assert_eq!(
        e(set(&mut h, 2000, 500, args(&[0, 1, 2, 3, 4, 5, 2], &[1; 7]))),
        WeightError::TooManyWeights.to_string()
    );
    set_param(&mut h, "commit_reveal", 1);
    assert_eq!(e(set(&mut h, 2000, 500, args(&[2], &[1]))), WeightError::CommitRevealEnabled.to_string());
    set_param(&mut h, "commit_reveal", 0);
    assert_eq!(e(set(&mut h, 9999, 500, args(&[2], &[1]))), WeightError::NotRegistered.to_string());
    call(&mut h, SYSTEM, 1, |h| set_stake_threshold(h, 1_000 * TAO)).unwrap();
    assert_eq!(e(set(&mut h, 2000, 500, args(&[2], &[1]))), WeightError::StakeTooLow.to_string());
    set(&mut h, 1000, 500, args(&[2], &[1])).expect("the owner is exempt from the threshold and the permit");
    call(&mut h, SYSTEM, 1, |h| set_stake_threshold(h, 0)).unwrap();
    set_param(&mut h, "weights_version_key", 5);
    assert_eq!(
        e(set(&mut h, 2000, 500, args(&[2], &[1]))),
        WeightError::IncorrectVersionKey { required: 5 }.to_string()
    );
    set_param(&mut h, "weights_version_key", 0);
    set(&mut h, 2000, 500, args(&[2], &[1])).unwrap();
    assert_eq!(
        e(set(&mut h, 2000, 550, args(&[2], &[1]))),
        WeightError::RateLimited { until: 600 }.to_string()
    );
    assert_eq!(e(set(&mut h, 3000, 700, args(&[3], &[1]))), WeightError::NoValidatorPermit.to_string());
    set(&mut h, 3000, 700, args(&[2], &[1])).expect("a lone self-weight needs no permit");
    assert_eq!(e(set(&mut h, 2000, 700, args(&[2, 2], &[1, 1]))), WeightError::DuplicateUids.to_string());
    assert_eq!(e(set(&mut h, 2000, 700, args(&[2, 9], &[1, 1]))), WeightError::InvalidUid.to_string());
    set_param(&mut h, "min_allowed_weights", 3);
    assert_eq!(
        e(set(&mut h, 2000, 700, args(&[2, 3], &[1, 1]))),
        WeightError::TooFewWeights { min: 3 }.to_string()
    );
    set_param(&mut h, "max_weights_limit", 30_000);
    assert_eq!(
        e(set(&mut h, 2000, 700, args(&[2, 3, 4], &[1, 1, 10]))),
        WeightError::MaxWeightExceeded.to_string()
    );
    set(&mut h, 2000, 700, args(&[2, 3, 4], &[1, 1, 1])).expect("a flat row is within the limit");
    assert_eq!(id::TEMPO, param_id("tempo"));
}

#[test]
fn commit_then_reveal_in_the_window() {
    let mut h = setup();
    set_param(&mut h, "commit_reveal", 1);
    let a = args(&[2, 3], &[5, 10]);
    let salt = b"pepper".to_vec();
    let hash = commit_hash(&addr(2000), &a, &salt);
    let e = |r: Result<(), String>| r.unwrap_err();
    let reveal = |h: &mut MemoryHost, block: u64, a: &WeightsArgs, salt: &[u8]| {
        call(h, addr(2000), block, |h| reveal_weights(h, &addr(2000), a, salt))
    };
    assert_eq!(e(reveal(&mut h, 400, &a, &salt)), WeightError::NoCommit.to_string());
    // Tempo 360: block 400 is epoch 1; the reveal window is epoch 2 (blocks 720..1079).
    call(&mut h, addr(2000), 400, |h| commit_weights(h, &addr(2000), 1, hash)).unwrap();
    assert_eq!(e(reveal(&mut h, 700, &a, &salt)), WeightError::RevealTooEarly { epoch: 2 }.to_string());
    assert_eq!(e(reveal(&mut h, 800, &a, b"salt")), WeightError::NoMatchingCommit.to_string());
    assert_eq!(e(reveal(&mut h, 1_100, &a, &salt)), WeightError::RevealExpired.to_string());
    reveal(&mut h, 800, &a, &salt).unwrap();
    assert_eq!(weights(&mut h, 1, 1), Ok(vec![(2, 32_768), (3, 65_535)]));
    assert_eq!(e(reveal(&mut h, 801, &a, &salt)), WeightError::NoCommit.to_string(), "a commit reveals once");
    set_param(&mut h, "commit_reveal", 0);
    assert_eq!(
        e(call(&mut h, addr(2000), 900, |h| commit_weights(h, &addr(2000), 1, hash))),
        WeightError::CommitRevealDisabled.to_string()
    );
}

#[test]
fn at_most_ten_open_commits() {
    let mut h = setup();
    set_param(&mut h, "commit_reveal", 1);
    for i in 0..MAX_COMMITS as u8 {
        call(&mut h, addr(2000), 400, |h| commit_weights(h, &addr(2000), 1, [i; 32])).unwrap();
    }
    assert_eq!(
        call(&mut h, addr(2000), 400, |h| commit_weights(h, &addr(2000), 1, [99; 32])),
        Err(WeightError::TooManyCommits.to_string())
    );
    // Once they expire, there is room again.
    call(&mut h, addr(2000), 360 * 5, |h| commit_weights(h, &addr(2000), 1, [99; 32])).unwrap();
}

#[test]
fn a_replaced_uid_loses_its_row_and_column() {
    let mut h = setup();
    set(&mut h, 2000, 500, args(&[2, 3], &[1, 1])).unwrap();
    set(&mut h, 3000, 500, args(&[2], &[1])).unwrap();
    assert_eq!(weights(&mut h, 1, 2).unwrap().len(), 1);
    // Fill the subnet to its limit, then register once more: UID 2 (hotkey 3000) is pruned.
    call(&mut h, SYSTEM, 1, |h| Ok(subnets::set_hyperparameter(h, &SYSTEM, 1, id::MAX_ALLOWED_UIDS, 64)?))
        .unwrap();
    call(&mut h, addr(2), 600, |h| {
        for m in 0..58 {
            neurons::burned_register(h, &addr(2), 1, &addr(5000 + m))?;
            neurons::set_emission(h, 1, 6 + m, 10);
        }
        // UID 2 earns least, so it is the one pruned.
        for uid in [1, 3, 4, 5] {
            neurons::set_emission(h, 1, uid, 100);
        }
        Ok(())
    })
    .unwrap();
    call(&mut h, addr(2), 100_000, |h| Ok(neurons::burned_register(h, &addr(2), 1, &addr(7777))?)).unwrap();
    assert_eq!(neurons::uid_of(&mut h, 1, &addr(7777)), Ok(Some(2)));
    assert_eq!(weights(&mut h, 1, 2), Ok(Vec::new()), "the pruned neuron's row is gone");
    assert_eq!(weights(&mut h, 1, 1), Ok(vec![(3, 65_535)]), "weights on the pruned UID are gone");
}

#![allow(clippy::unwrap_used, reason = "tests")]

use tao_contract_neurons as neurons;
use tao_contract_subnets::{SubnetIdentity, params};
use tao_sdk::{MemoryHost, test_address as addr};
use tao_types::MAX_EVIDENCE_AGE;

use super::*;

const TAO: u64 = RAO_PER_TAO;
const CODE: Hash = Hash([9; 32]);
const PARTIAL: Hash = Hash([8; 32]);

fn entries_key(code: &Hash) -> Vec<u8> {
    [tao_abi::ENTRIES_KEY_PREFIX, &code.0].concat()
}

/// Coldkeys 1..=3 funded; subnet 1 owned by coldkey 1 (hotkey 1001 registered); root stake:
/// coldkey 1 1,000 τ, coldkey 2 300 τ; a `token` module and deployed code [`CODE`]; voting lasts
/// 10 blocks, upgrades activate 5 blocks after passing.
fn setup() -> MemoryHost {
    let mut h = MemoryHost::new();
    h.storage.insert([tao_abi::MODULE_KEY_PREFIX, b"token"].concat(), vec![1; 32]);
    h.storage.insert([tao_abi::CODE_KEY_PREFIX, &CODE.0].concat(), vec![0, 97, 115, 109]);
    let interface = tao_abi::interfaces::of("token").unwrap_or_default();
    h.storage.insert(entries_key(&CODE), tao_sdk::borsh::to_vec(&interface.to_vec()).unwrap_or_default());
    // Deployed code that lacks most of the token's interface.
    h.storage.insert([tao_abi::CODE_KEY_PREFIX, &PARTIAL.0].concat(), vec![0, 97, 115, 109]);
    h.storage
        .insert(entries_key(&PARTIAL), tao_sdk::borsh::to_vec(&vec!["entry_transfer"]).unwrap_or_default());
    h.call_as(SYSTEM, 0, |h| {
        for who in [1u16, 2, 3] {
            token::mint(h, &addr(who), 100_000 * TAO)?;
        }
        set_params(h, GovParams { voting_period: 10, activation_delay: 5, ..GovParams::default() })
    })
    .unwrap();
    h.call_as(addr(1), 1, |h| {
        neurons::register_network(h, &addr(1), &addr(1001), SubnetIdentity::default())
            .map_err(|e| alloc::format!("{e}"))?;
        for (who, tao) in [(1u16, 1_000 * TAO), (2, 300 * TAO)] {
            staking::add_stake(h, &addr(who), &addr(1001), 0, tao, None)
                .map_err(|e| alloc::format!("{e}"))?;
        }
        Ok::<_, String>(())
    })
    .unwrap();
    h
}

fn propose_as(h: &mut MemoryHost, who: u16, block: u64, action: Action) -> Result<(), String> {
    h.call_as(addr(who), block, |h| propose(h, &addr(who), action))
}

fn vote_as(h: &mut MemoryHost, who: u16, block: u64, id: u32, approve: bool) {
    h.call_as(addr(who), block, |h| vote(h, &addr(who), id, approve)).unwrap();
}

fn end_block(h: &mut MemoryHost, block: u64) {
    h.call_as(SYSTEM, block, on_block).unwrap();
}

/// Σ balances + pool TAO + held deposits + burned = issuance.
fn balanced(h: &mut MemoryHost) -> bool {
    let balances: u64 = (1..=3).map(|c| token::balance(h, &addr(c)).unwrap()).sum();
    let held = held(h).unwrap() + pools::total_tao(h).unwrap() + token::burned(h).unwrap();
    balances + held == token::issuance(h).unwrap()
}

#[test]
fn proposals_must_be_possible_and_lock_the_deposit() {
    let mut h = setup();
    let kappa = params::id_of("kappa").unwrap();
    let bad = [
        (Action::SetHyperparameter { netuid: 9, id: kappa, value: 1 }, "no such subnet"),
        (Action::SetHyperparameter { netuid: 1, id: 200, value: 1 }, "no such parameter"),
        (
            Action::SetHyperparameter { netuid: 1, id: params::id_of("max_allowed_uids").unwrap(), value: 5 },
            "range",
        ),
        (Action::UpgradeModule { name: "nope".into(), code: CODE }, "no system module"),
        (Action::UpgradeModule { name: "token".into(), code: Hash([1; 32]) }, "not deployed"),
        (Action::UpgradeModule { name: "token".into(), code: PARTIAL }, "lacks the module's interface"),
    ];
    for (action, why) in bad {
        let err = propose_as(&mut h, 3, 2, action).unwrap_err();
        assert!(err.contains(why), "{err}");
    }
    let before = token::balance(&mut h, &addr(3)).unwrap();
    propose_as(&mut h, 3, 2, Action::SetStakeThreshold(5)).unwrap();
    assert_eq!(token::balance(&mut h, &addr(3)), Ok(before - 100 * TAO));
    assert_eq!(held(&mut h), Ok(100 * TAO));
    assert!(balanced(&mut h));
    for i in 1..MAX_OPEN {
        propose_as(&mut h, 3, 2 + i as u64, Action::SetStakeThreshold(i as u64)).unwrap();
    }
    assert_eq!(
        propose_as(&mut h, 3, 30, Action::SetStakeThreshold(0)),
        Err(GovError::TooManyOpen.to_string())
    );
}

#[test]
fn a_passed_proposal_applies_and_returns_the_deposit() {
    let mut h = setup();
    let kappa = params::id_of("kappa").unwrap();
    propose_as(&mut h, 3, 2, Action::SetHyperparameter { netuid: 1, id: kappa, value: 40_000 }).unwrap();
    vote_as(&mut h, 2, 3, 0, false);
    vote_as(&mut h, 1, 4, 0, false);
    vote_as(&mut h, 1, 5, 0, true); // changed before the end: the last vote counts
    assert_eq!(tally(&mut h, 0), Ok((1_000 * u128::from(TAO), 300 * u128::from(TAO))));
    end_block(&mut h, 12);
    assert_eq!(proposal(&mut h, 0).unwrap().status, Status::Voting, "decided after its last block");
    let deposit_back = token::balance(&mut h, &addr(3)).unwrap() + 100 * TAO;
    end_block(&mut h, 13);
    let decided = proposal(&mut h, 0).unwrap();
    assert_eq!(
        (decided.status, decided.tally),
        (Status::Applied, (1_000 * u128::from(TAO), 300 * u128::from(TAO)))
    );
    assert_eq!(subnets::hyperparameter(&mut h, 1, kappa), Ok(40_000));
    assert_eq!(token::balance(&mut h, &addr(3)), Ok(deposit_back));
    assert_eq!(
        h.call_as(addr(1), 14, |h| vote(h, &addr(1), 0, true)),
        Err(GovError::VotingClosed(0).to_string())
    );
    assert!(balanced(&mut h));
}

#[test]
fn a_failed_vote_changes_nothing_and_no_quorum_burns_the_deposit() {
    let mut h = setup();
    propose_as(&mut h, 3, 2, Action::SetNetworkRateLimit(99)).unwrap();
    propose_as(&mut h, 3, 2, Action::SetNetworkRateLimit(98)).unwrap();
    vote_as(&mut h, 2, 3, 0, true);
    vote_as(&mut h, 1, 3, 0, false);
    let limit = subnets::network_rate_limit(&mut h).unwrap();
    let burned = token::burned(&mut h).unwrap();
    end_block(&mut h, 13);
    assert_eq!(proposal(&mut h, 0).unwrap().status, Status::Rejected { quorum_met: true });
    assert_eq!(proposal(&mut h, 1).unwrap().status, Status::Rejected { quorum_met: false });
    assert_eq!(subnets::network_rate_limit(&mut h), Ok(limit));
    assert_eq!(token::burned(&mut h), Ok(burned + 100 * TAO), "the unvoted proposal's deposit");
    assert_eq!(held(&mut h), Ok(0));
    assert!(balanced(&mut h));
}

#[test]
fn a_passed_upgrade_is_scheduled_for_its_activation_block() {
    let mut h = setup();
    propose_as(&mut h, 1, 2, Action::UpgradeModule { name: "token".into(), code: CODE }).unwrap();
    vote_as(&mut h, 1, 3, 0, true);
    end_block(&mut h, 13);
    assert_eq!(proposal(&mut h, 0).unwrap().status, Status::Scheduled(18));
    let due: Vec<(String, Hash)> =
        tao_sdk::borsh::from_slice(h.storage.get(&upgrades_key(18)).unwrap()).unwrap();
    assert_eq!(due, vec![("token".into(), CODE)]);
    assert_eq!(h.call_as(addr(1), 14, on_block), Err(GovError::NotSystem.to_string()));
}

/// `SetSlashParams`: out-of-range parameters (a window shorter than the evidence age among them)
/// are refused when proposed, with the staking contract's reason; passed ones apply.
#[test]
fn a_passed_slash_params_proposal_sets_them_and_invalid_ones_are_refused() {
    let mut h = setup();
    let good =
        staking::SlashParams { fraction_ppb: 100_000_000, evidence_window: staking::MIN_EVIDENCE_WINDOW };
    for bad in [
        staking::SlashParams { fraction_ppb: staking::PPB + 1, ..good },
        staking::SlashParams { evidence_window: 0, ..good },
        staking::SlashParams { evidence_window: MAX_EVIDENCE_AGE, ..good },
        staking::SlashParams { evidence_window: staking::MAX_EVIDENCE_WINDOW + 1, ..good },
    ] {
        let refused = propose_as(&mut h, 3, 2, Action::SetSlashParams(bad)).unwrap_err();
        assert_eq!(refused, staking::StakeError::BadSlashParams.to_string());
    }
    propose_as(&mut h, 3, 2, Action::SetSlashParams(good)).unwrap();
    vote_as(&mut h, 1, 3, 0, true);
    end_block(&mut h, 13);
    assert_eq!(proposal(&mut h, 0).unwrap().status, Status::Applied);
    assert_eq!(staking::slash_params(&mut h), Ok(good));
}

#[test]
fn a_passed_tao_weight_proposal_sets_the_root_weight() {
    let mut h = setup();
    assert_eq!(staking::tao_weight(&mut h), Ok(staking::TAO_WEIGHT));
    propose_as(&mut h, 3, 2, Action::SetTaoWeight(u64::MAX / 2)).unwrap();
    vote_as(&mut h, 1, 3, 0, true);
    end_block(&mut h, 13);
    assert_eq!(proposal(&mut h, 0).unwrap().status, Status::Applied);
    assert_eq!(staking::tao_weight(&mut h), Ok(u64::MAX / 2));
}

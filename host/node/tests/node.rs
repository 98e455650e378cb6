//! The node with the real compiled contracts: every kind of bad transaction is refused with its
//! own error and changes nothing; good ones are included and reported.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;

use tao_contract_token::TransferArgs;
use tao_crypto::{ChainDomain, SecretKey};
use tao_node::mempool::MempoolError;
use tao_node::spec::{dev_genesis, dev_key, load_modules};
use tao_node::{Node, SubmitError, TxStatus};
use tao_tx::{Call, SignedTransaction, Transaction, TxError};
use tao_types::{Address, Balance, Hash};

fn node(dir: &std::path::Path) -> Node {
    let modules = load_modules(&contract_dir()).expect("run `cargo xtask contracts`");
    Node::open(dir, &dev_genesis(modules, 1_000), dev_key("validator"), tao_node::service::RETAIN_BLOCKS)
        .unwrap()
}

/// The code hash of system module `name`.
fn system_module(node: &Node, name: &str) -> Hash {
    Hash(node.store().get(&tao_chain::keys::module(name)).unwrap().unwrap().try_into().unwrap())
}

/// A signed call of `method` on `contract` with `args`.
fn signed(
    node: &Node,
    from: &SecretKey,
    nonce: u64,
    contract: Hash,
    (method, args): (&str, Vec<u8>),
    (chain_id, fee_limit): (u64, u64),
) -> SignedTransaction {
    let call = Call {
        contract,
        method: method.as_bytes().to_vec().try_into().unwrap(),
        args: args.try_into().unwrap(),
    };
    let domain = ChainDomain { chain_id, ..*node.executor().domain() };
    Transaction { chain_id, sender: from.address(), nonce, fee_limit: Balance(fee_limit), call }
        .sign(&domain, from)
}

fn transfer(
    node: &Node,
    from: &SecretKey,
    nonce: u64,
    to: Address,
    amount: u64,
    chain_id: u64,
) -> SignedTransaction {
    let args = borsh::to_vec(&TransferArgs { to, amount }).unwrap();
    signed(node, from, nonce, system_module(node, "token"), ("entry_transfer", args), (chain_id, 10_000_000))
}

/// Drives a dev node block by block: each `send` is one transaction in its own block.
struct Driver {
    node: Node,
    time_ms: std::cell::Cell<u64>,
}

impl Driver {
    fn block(&self) -> tao_chain::Header {
        self.time_ms.set(self.time_ms.get() + 1_000);
        self.node.produce(self.time_ms.get()).unwrap()
    }

    fn send(&self, from: &SecretKey, contract: Hash, method: &str, args: Vec<u8>) -> tao_chain::Receipt {
        let chain = self.node.executor().domain().chain_id;
        let nonce = self.node.nonce(&from.address());
        let tx = signed(&self.node, from, nonce, contract, (method, args), (chain, tao_types::RAO_PER_TAO));
        self.node.submit(&tx.encode()).unwrap();
        let height = self.block().height;
        self.node.stored(height).unwrap().receipts.into_iter().find(|r| r.tx == tx.hash()).unwrap()
    }

    fn call(
        &self,
        from: &SecretKey,
        module: &str,
        method: &str,
        args: impl borsh::BorshSerialize,
    ) -> tao_chain::Receipt {
        let receipt =
            self.send(from, system_module(&self.node, module), method, borsh::to_vec(&args).unwrap());
        assert_eq!(receipt.outcome, tao_chain::TxOutcome::Ok, "{module}::{method}");
        receipt
    }

    /// Deploys `code`; returns its hash.
    fn deploy(&self, from: &SecretKey, code: &[u8]) -> Hash {
        let receipt = self.send(from, tao_chain::DEPLOY, "deploy", code.to_vec());
        assert_eq!(receipt.outcome, tao_chain::TxOutcome::Ok);
        let hash = Hash(tao_types::keccak256(code));
        assert_eq!(receipt.events, vec![(b"code_deployed".to_vec(), hash.0.to_vec())]);
        hash
    }

    fn record(&self, netuid: u16) -> Option<tao_contract_incentive::EpochRecord> {
        let bytes = self.node.store().get(&tao_contract_incentive::epoch_record_key(netuid)).unwrap()?;
        Some(borsh::from_slice(&bytes).unwrap())
    }

    fn scores(&self, netuid: u16, uid: u16) -> tao_contract_incentive::Scores {
        let bytes = self.node.store().get(&tao_contract_incentive::scores_key(netuid, uid)).unwrap().unwrap();
        borsh::from_slice(&bytes).unwrap()
    }
}

fn contract_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("wasm32-unknown-unknown/contract")
}

#[test]
fn bad_transactions_are_refused_with_their_own_error_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let chain = node.executor().domain().chain_id;
    let (alice, bob) = (dev_key("alice"), dev_key("bob").address());
    let before = (node.balance(&alice.address()), node.balance(&bob));
    let refuse = |tx: &[u8]| node.submit(tx).unwrap_err();

    let mut forged = transfer(&node, &alice, 0, bob, 5, chain);
    forged.tx.call = transfer(&node, &alice, 0, bob, 5_000, chain).tx.call;
    assert_eq!(refuse(&forged.encode()), SubmitError::Invalid(TxError::BadSignature));
    let other_chain = transfer(&node, &alice, 0, bob, 5, chain + 1);
    assert_eq!(
        refuse(&other_chain.encode()),
        SubmitError::Invalid(TxError::WrongChainId { expected: chain, got: chain + 1 })
    );
    let mut huge = transfer(&node, &alice, 0, bob, 5, chain).encode();
    huge.resize(tao_tx::MAX_TX_BYTES + 1, 0);
    assert!(matches!(refuse(&huge), SubmitError::Invalid(TxError::Oversized { .. })));
    assert!(matches!(refuse(&[1, 2, 3]), SubmitError::Invalid(TxError::Malformed(_))));
    let stranger = transfer(&node, &dev_key("nobody"), 0, bob, 5, chain);
    assert!(matches!(refuse(&stranger.encode()), SubmitError::CannotPayFee { balance: 0, .. }));
    assert_eq!(node.status(&stranger.hash()).unwrap(), TxStatus::Unknown);

    // An amount beyond anything held is included, fails, and costs only the fee.
    let overflow = transfer(&node, &alice, 0, bob, u64::MAX, chain);
    node.submit(&overflow.encode()).unwrap();
    assert_eq!(refuse(&overflow.encode()), SubmitError::Mempool(MempoolError::Duplicate));
    let header = node.produce(2_000).unwrap();
    let TxStatus::Finalized { height, index } = node.status(&overflow.hash()).unwrap() else { panic!() };
    assert_eq!((height, index), (header.height, 0));
    let receipt = &node.stored(height).unwrap().receipts[0];
    assert!(
        matches!(&receipt.outcome, tao_chain::TxOutcome::Failed(m) if m.contains("insufficient")),
        "{receipt:?}"
    );
    assert_eq!(node.balance(&alice.address()), before.0 - receipt.fee);
    assert_eq!(node.balance(&bob), before.1);
    // Its nonce is spent: the same transaction again is stale.
    assert_eq!(
        refuse(&overflow.encode()),
        SubmitError::Mempool(MempoolError::StaleNonce { next: 1, got: 0 })
    );

    // A good one goes through.
    let good = transfer(&node, &alice, 1, bob, 5, chain);
    node.submit(&good.encode()).unwrap();
    assert_eq!(node.status(&good.hash()).unwrap(), TxStatus::Pending);
    node.produce(3_000).unwrap();
    assert_eq!(node.balance(&bob), before.1 + 5);
}

#[test]
fn a_reopened_node_is_the_same_chain() {
    let dir = tempfile::tempdir().unwrap();
    let (genesis, head) = {
        let node = node(dir.path());
        node.produce(2_000).unwrap();
        let head = node.produce(3_000).unwrap();
        (node.executor().domain().genesis_hash, head)
    };
    let node = node(dir.path());
    assert_eq!(node.executor().domain().genesis_hash, genesis);
    assert_eq!(node.head().unwrap().0, head);
    assert_eq!(node.produce(4_000).unwrap().parent, head.hash());
}

#[test]
fn the_dev_chain_has_an_example_subnet_that_earns_emission() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let alice = dev_key("alice").address();
    assert_eq!(
        node.balance(&alice),
        tao_node::spec::DEV_BALANCE - tao_contract_subnets::MIN_LOCK - tao_node::spec::DEV_ROOT_STAKE,
        "alice paid the example subnet's lock (alice-hot seated at UID 0 with no burn) and staked on root"
    );
    let seat = node.store().get(&tao_contract_neurons::neuron_key(1, 0)).unwrap().unwrap();
    let seat: tao_contract_neurons::Neuron = borsh::from_slice(&seat).unwrap();
    assert_eq!(seat.hotkey, dev_key("alice-hot").address(), "the owner's hotkey holds UID 0");
    let issuance = |n: &Node| {
        n.store().get(b"token/issuance").unwrap().map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    let at_genesis = issuance(&node);
    let first = node.produce(2_000).unwrap();
    let second = node.produce(3_000).unwrap();
    assert_eq!(
        issuance(&node),
        at_genesis + 2 * tao_types::RAO_PER_TAO,
        "1 τ per block while subnet 1 is eligible"
    );
    assert_ne!(first.state_root, second.state_root, "pending emission changes the state every block");
}

/// Issue 9: a subnet owner deploys an example incentive module and the epoch pays by its rule;
/// hostile modules on other subnets fall back to Yuma with the reason recorded, and the chain
/// goes on.
#[test]
fn subnets_run_their_own_incentive_modules_and_fall_back_safely() {
    use tao_contract_staking::StakeArgs;
    use tao_contract_subnets::{RegisterNetworkArgs, SubnetIdentity};
    let dir = tempfile::tempdir().unwrap();
    let chain = Driver { node: node(dir.path()), time_ms: std::cell::Cell::new(1_000) };
    let (alice, alice_hot) = (dev_key("alice"), dev_key("alice-hot"));
    let top_k = std::fs::read(contract_dir().join("tao_contract_example_top_k.wasm")).unwrap();
    let top_k = chain.deploy(&alice, &top_k);
    let refused = chain.send(&alice, tao_chain::DEPLOY, "deploy", b"not wasm".to_vec());
    assert!(matches!(&refused.outcome, tao_chain::TxOutcome::Failed(m) if m.starts_with("module refused")));

    // Subnet 1 (alice's): three miners of bob, alice's hotkey validates with stake and weights.
    let bob = dev_key("bob");
    for m in ["m1", "m2", "m3"] {
        chain.call(&bob, "neurons", "entry_burned_register", (1u16, dev_key(m).address()));
    }
    chain.call(
        &alice,
        "token",
        "entry_transfer",
        TransferArgs { to: alice_hot.address(), amount: 10 * tao_types::RAO_PER_TAO },
    );
    let stake = StakeArgs {
        hotkey: alice_hot.address(),
        netuid: 1,
        amount: 100 * tao_types::RAO_PER_TAO,
        limit: None,
    };
    chain.call(&alice, "staking", "entry_add_stake", stake);
    let weights = tao_contract_weights::WeightsArgs {
        netuid: 1,
        uids: vec![1, 2, 3],
        values: vec![3, 2, 1],
        version_key: 0,
    };
    chain.call(&alice_hot, "weights", "entry_set_weights", weights);
    chain.call(&alice, "subnets", "entry_set_incentive_module", (1u16, Some(top_k)));

    // Subnets 2..=4, each with a hostile module.
    let mut hostile = Vec::new();
    for (owner, fixture, why) in [
        ("charlie", "epoch_loop.wat", "out of gas"),
        ("dave", "epoch_memory_bomb.wat", "trap"),
        ("eve", "epoch_bad_output.wat", "output does not decode"),
    ] {
        let key = dev_key(owner);
        let args = RegisterNetworkArgs {
            hotkey: dev_key(&format!("{owner}-hot")).address(),
            identity: SubnetIdentity::default(),
        };
        let netuid: u16 = borsh::from_slice(&{
            let receipt = chain.call(&key, "neurons", "entry_register_network", args);
            receipt.events.iter().find(|e| e.0 == b"network_registered").unwrap().1[..2].to_vec()
        })
        .unwrap();
        let code = wat::parse_file(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../contracts/hostile").join(fixture),
        )
        .unwrap();
        let hash = chain.deploy(&key, &code);
        chain.call(&key, "subnets", "entry_set_incentive_module", (netuid, Some(hash)));
        hostile.push((netuid, hash, why));
        for _ in 0..10 {
            chain.block(); // the network registration rate limit
        }
    }

    let mut blocks = 0;
    while chain.record(1).is_none() || hostile.iter().any(|(n, _, _)| chain.record(*n).is_none()) {
        chain.block();
        blocks += 1;
        assert!(blocks < 800, "epochs never ran");
    }
    let record = chain.record(1).unwrap();
    assert_eq!((record.module, record.fallback), (Some(top_k), None));
    let paid: Vec<u64> = (1..=3).map(|uid| chain.scores(1, uid).server_emission).collect();
    // 60%, 25% and 15% of the miners' half (65535ths, rounded down, so each estimate of the
    // half is off by less than 65535 / share).
    let half = u128::from(paid[0]) * 65_535 / 39_321;
    assert!(
        half.abs_diff(u128::from(paid[1]) * 65_535 / 16_384) <= 4
            && half.abs_diff(u128::from(paid[2]) * 65_535 / 9_830) <= 8,
        "{paid:?}"
    );
    assert_eq!(chain.scores(1, 0).server_emission, 0);
    assert!(u128::from(chain.scores(1, 0).validator_emission).abs_diff(half) <= 2, "the validators' half");
    // The fallbacks are also events of the blocks they happened in.
    let head = chain.node.head().unwrap().0.height;
    let fallbacks: Vec<u16> = (1..=head)
        .flat_map(|h| chain.node.stored(h).unwrap().events)
        .filter(|(topic, _)| topic == b"epoch_fallback")
        .map(|(_, data)| u16::from_le_bytes([data[0], data[1]]))
        .collect();
    assert_eq!(fallbacks, hostile.iter().map(|(n, _, _)| *n).collect::<Vec<_>>());
    for (netuid, hash, why) in hostile {
        let record = chain.record(netuid).unwrap();
        assert_eq!(record.module, Some(hash));
        let fallback = record.fallback.unwrap();
        assert!(fallback.to_lowercase().contains(why), "subnet {netuid}: {fallback}");
    }
    let before = chain.block().height;
    assert_eq!(chain.block().height, before + 1, "the chain goes on");
}

/// Issue 9: a stake-weighted vote upgrades the token module (fees burned instead of recycled);
/// the new rule starts exactly at the activation block. A vote that fails changes nothing.
#[test]
fn governance_upgrades_a_system_module_at_its_activation_block() {
    use tao_contract_governance::{Action, Proposal, Status};
    use tao_contract_staking::StakeArgs;
    let dir = tempfile::tempdir().unwrap();
    let chain = Driver { node: node(dir.path()), time_ms: std::cell::Cell::new(1_000) };
    let (alice, bob, alice_hot) = (dev_key("alice"), dev_key("bob"), dev_key("alice-hot").address());
    let code = std::fs::read(contract_dir().join("tao_contract_example_token_burn_fees.wasm")).unwrap();
    let code = chain.deploy(&bob, &code);
    for (who, tao) in [(&alice, 1_000), (&bob, 100)] {
        let stake =
            StakeArgs { hotkey: alice_hot, netuid: 0, amount: tao * tao_types::RAO_PER_TAO, limit: None };
        chain.call(who, "staking", "entry_add_stake", stake);
    }
    let propose = |who: &SecretKey, action: Action| -> u32 {
        let receipt = chain.call(who, "governance", "entry_propose", action);
        let data = &receipt.events.iter().find(|e| e.0 == b"proposed").unwrap().1;
        u32::from_le_bytes(data[..4].try_into().unwrap())
    };
    let upgrade = propose(&bob, Action::UpgradeModule { name: "token".into(), code });
    let rate_limit = propose(&bob, Action::SetNetworkRateLimit(99));
    for (id, alice_approves) in [(upgrade, true), (rate_limit, false)] {
        chain.call(&alice, "governance", "entry_vote", (id, alice_approves));
        chain.call(&bob, "governance", "entry_vote", (id, !alice_approves));
    }
    let proposal = |id: u32| -> Proposal {
        borsh::from_slice(
            &chain.node.store().get(&tao_contract_governance::proposal_key(id)).unwrap().unwrap(),
        )
        .unwrap()
    };
    while [upgrade, rate_limit].iter().any(|id| proposal(*id).status == Status::Voting) {
        chain.block();
    }
    assert_eq!(proposal(rate_limit).status, Status::Rejected { quorum_met: true });
    assert_eq!(
        chain.node.store().get(b"subnet/network-rate-limit").unwrap(),
        Some(tao_node::spec::DEV_NETWORK_RATE_LIMIT.to_le_bytes().to_vec()),
        "a failed vote changes nothing"
    );
    let Status::Scheduled(at) = proposal(upgrade).status else { panic!("{:?}", proposal(upgrade)) };
    let burned = || {
        chain
            .node
            .store()
            .get(b"token/burned")
            .unwrap()
            .map_or(0, |b| u64::from_le_bytes(b.try_into().unwrap()))
    };
    let token = system_module(&chain.node, "token");
    while chain.node.head().unwrap().0.height + 1 < at - 1 {
        chain.block();
    }
    let send = || {
        let args = TransferArgs { to: dev_key("ferdie").address(), amount: tao_types::RAO_PER_TAO };
        chain.call(&alice, "token", "entry_transfer", args)
    };
    let before = burned();
    let last_old = send();
    assert_eq!(chain.node.head().unwrap().0.height, at - 1);
    assert_eq!(burned(), before, "fees are still recycled the block before");
    assert_eq!(system_module(&chain.node, "token"), token);
    // Signed for the old token, included in the activation block: refused with the news.
    let args = borsh::to_vec(&TransferArgs { to: dev_key("ferdie").address(), amount: 1 }).unwrap();
    let stale = chain.send(&alice, token, "entry_transfer", args);
    assert_eq!(chain.node.head().unwrap().0.height, at);
    let tao_chain::TxOutcome::Failed(why) = &stale.outcome else { panic!("{stale:?}") };
    assert!(why.contains("retired version of system module `token`"), "{why}");
    assert_eq!(burned(), before + stale.fee, "fees are burned from the activation block on");
    assert_eq!(system_module(&chain.node, "token"), code);
    let first_new = send();
    assert_eq!(burned(), before + stale.fee + first_new.fee);
    // Both charge the gas used and the same bytes (the two modules' transfers use different gas).
    let bytes_part = |r: &tao_chain::Receipt| r.fee - tao_contract_token::fee(0, r.gas_used);
    assert_eq!(bytes_part(&last_old), bytes_part(&first_new));
    assert!(bytes_part(&first_new) > 0);
}

#[test]
fn tx_status_of_a_finalized_transaction_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (alice, bob) = (dev_key("alice"), dev_key("bob").address());
    let (hash, status) = {
        let node = node(dir.path());
        let tx = transfer(&node, &alice, 0, bob, 5, node.executor().domain().chain_id);
        node.submit(&tx.encode()).unwrap();
        node.produce(2_000).unwrap();
        node.produce(3_000).unwrap();
        let status = node.status(&tx.hash()).unwrap();
        assert_eq!(status, TxStatus::Finalized { height: 1, index: 0 });
        (tx.hash(), status)
    };
    let node = node(dir.path());
    assert_eq!(node.status(&hash).unwrap(), status, "the index is in the store, not in memory");
    assert_eq!(node.status(&Hash([9; 32])).unwrap(), TxStatus::Unknown);
}

/// The gauge `name` from the node's metrics.
fn gauge(node: &Node, name: &str) -> u64 {
    let metrics = node.metrics().unwrap();
    let line = metrics.lines().find(|l| l.starts_with(&format!("{name} "))).unwrap();
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

/// A signature is checked once: the same bytes again, pending or included, are answered from
/// what the node knows (as before: `already pending`, then a used nonce) without a second check.
#[test]
fn a_duplicate_is_answered_without_checking_its_signature_again() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let tx =
        transfer(&node, &dev_key("alice"), 0, dev_key("bob").address(), 5, node.executor().domain().chain_id);
    let verified = || gauge(&node, "tao_signatures_verified_total");
    node.submit(&tx.encode()).unwrap();
    assert_eq!(verified(), 1);
    assert_eq!(node.submit(&tx.encode()), Err(SubmitError::Mempool(MempoolError::Duplicate)));
    assert_eq!(verified(), 1, "pending: not checked again");
    node.produce(2_000).unwrap();
    assert_eq!(
        node.submit(&tx.encode()),
        Err(SubmitError::Mempool(MempoolError::StaleNonce { next: 1, got: 0 }))
    );
    assert_eq!(verified(), 1, "included: not checked again");
    let mut forged =
        transfer(&node, &dev_key("alice"), 1, dev_key("bob").address(), 5, node.executor().domain().chain_id);
    forged.tx.nonce = 2;
    assert_eq!(node.submit(&forged.encode()), Err(SubmitError::Invalid(TxError::BadSignature)));
    assert_eq!(verified(), 2, "a new transaction is checked");
}

/// A peer's relay is adversarial: an unpayable transaction is refused before its signature is
/// checked (a flood of them costs no signature check), while a payable forgery is checked and
/// refused as such, exactly as a client's submission is.
#[test]
fn a_relayed_transaction_nobody_can_pay_for_costs_no_signature_check() {
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let chain = node.executor().domain().chain_id;
    let bob = dev_key("bob").address();
    let verified = || gauge(&node, "tao_signatures_verified_total");
    let mut unpayable = transfer(&node, &dev_key("nobody"), 0, bob, 5, chain);
    unpayable.tx.nonce = 1;
    assert!(matches!(
        node.submit_relayed(&unpayable.encode()),
        Err(SubmitError::CannotPayFee { balance: 0, .. })
    ));
    assert_eq!(verified(), 0, "an unpayable relay had its signature checked");
    assert_eq!(node.submit(&unpayable.encode()), Err(SubmitError::Invalid(TxError::BadSignature)));
    assert_eq!(verified(), 1, "a client's submission is checked first");
    let mut forged = transfer(&node, &dev_key("alice"), 0, bob, 5, chain);
    forged.tx.nonce = 1;
    assert_eq!(node.submit_relayed(&forged.encode()), Err(SubmitError::Invalid(TxError::BadSignature)));
    assert_eq!(verified(), 2);
}

/// Through the worker pool: a full queue answers busy at once, checking nothing, and counts it;
/// once it drains, the same bytes are checked and queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_verification_queue_answers_busy_at_once() {
    use tao_node::pool::{PoolError, WorkerPool};
    let dir = tempfile::tempdir().unwrap();
    let node = std::sync::Arc::new(node(dir.path()));
    let tx =
        transfer(&node, &dev_key("alice"), 0, dev_key("bob").address(), 5, node.executor().domain().chain_id);
    let pool = WorkerPool::new(1, 1).unwrap();
    let (release, blocked) = std::sync::mpsc::channel::<()>();
    let (started, running) = std::sync::mpsc::channel::<()>();
    let occupied = pool.run(
        move || {
            started.send(()).unwrap();
            blocked.recv().unwrap();
        },
        |()| (),
    );
    tokio::task::spawn_blocking(move || running.recv().unwrap()).await.unwrap();
    let waiting = pool.run(|| (), |()| ());
    assert_eq!(node.submit_on(&pool, &tx.encode()).await, Err(SubmitError::Busy(PoolError::Busy(1))));
    assert_eq!(
        (gauge(&node, "tao_submissions_busy_total"), gauge(&node, "tao_signatures_verified_total")),
        (1, 0)
    );
    release.send(()).unwrap();
    occupied.await.unwrap();
    waiting.await.unwrap();
    assert_eq!(node.submit_on(&pool, &tx.encode()).await, Ok(tx.hash()));
    assert_eq!(node.status(&tx.hash()).unwrap(), TxStatus::Pending);
    assert_eq!(gauge(&node, "tao_signatures_verified_total"), 1);
}

#[test]
fn a_nonce_gap_flood_is_bounded_free_to_refuse_and_never_crowds_out_an_honest_transfer() {
    use tao_node::mempool::{GAPPED_TTL_BLOCKS, MAX_GAPPED, MAX_GAPPED_BYTES};
    let dir = tempfile::tempdir().unwrap();
    let node = node(dir.path());
    let chain = node.executor().domain().chain_id;
    let token = system_module(&node, "token");
    let mut time = 1_000;
    let mut block = || {
        time += 1_000;
        node.produce(time).unwrap()
    };
    // 60 attacker accounts, funded by five dev accounts in one block.
    let attackers: Vec<SecretKey> = (0..60).map(|i| dev_key(&format!("attacker-{i}"))).collect();
    let funders = ["alice", "bob", "charlie", "dave", "ferdie"].map(dev_key);
    for (i, attacker) in attackers.iter().enumerate() {
        let funder = &funders[i % funders.len()];
        let nonce = (i / funders.len()) as u64;
        let tx = transfer(&node, funder, nonce, attacker.address(), 1_000 * tao_types::RAO_PER_TAO, chain);
        node.submit(&tx.encode()).unwrap();
    }
    block();
    assert!(attackers.iter().all(|a| node.balance(&a.address()) > 0));

    // Each sends nonces 1..=15 (never 0) of 60 KB, offering 5 τ each: they can never run.
    let mut accepted = Vec::new();
    let (mut too_many, mut full) = (0, 0);
    for attacker in &attackers {
        for nonce in 1..=15 {
            let call = ("entry_transfer", vec![0xab; 60_000]);
            let tx = signed(&node, attacker, nonce, token, call, (chain, 5 * tao_types::RAO_PER_TAO));
            match node.submit(&tx.encode()) {
                Ok(hash) => accepted.push(hash),
                Err(SubmitError::Mempool(MempoolError::TooManyGapped { .. })) => too_many += 1,
                Err(SubmitError::Mempool(MempoolError::GappedFull { .. })) => full += 1,
                Err(e) => panic!("unexpected refusal: {e}"),
            }
        }
    }
    assert!(too_many > 0 && full > 0, "{too_many} {full}");
    let gapped = gauge(&node, "tao_mempool_gapped_transactions");
    assert!(gapped <= MAX_GAPPED as u64 && gauge(&node, "tao_mempool_bytes") <= MAX_GAPPED_BYTES, "{gapped}");
    assert!(gapped > 0);

    // An honest transfer at the normal fee is accepted at once and included in the next block.
    let eve = dev_key("eve");
    let honest = transfer(&node, &eve, 0, dev_key("bob").address(), 5, chain);
    node.submit(&honest.encode()).unwrap();
    let header = block();
    assert_eq!(node.status(&honest.hash()).unwrap(), TxStatus::Finalized { height: header.height, index: 0 });
    // The attackers paid nothing: their balances did not move.
    assert!(attackers.iter().all(|a| node.balance(&a.address()) == 1_000 * tao_types::RAO_PER_TAO));

    // Gapped transactions expire.
    for _ in 0..GAPPED_TTL_BLOCKS {
        block();
    }
    assert_eq!(gauge(&node, "tao_mempool_transactions"), 0);
    let TxStatus::Dropped { reason } = node.status(&accepted[0]).unwrap() else { panic!() };
    assert!(reason.contains("expired"), "{reason}");
}

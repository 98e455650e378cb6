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
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let modules =
        load_modules(&target.join("wasm32-unknown-unknown/contract")).expect("run `cargo xtask contracts`");
    Node::open(dir, &dev_genesis(modules, 1_000), dev_key("validator"), tao_node::service::RETAIN_BLOCKS)
        .unwrap()
}

fn transfer(
    node: &Node,
    from: &SecretKey,
    nonce: u64,
    to: Address,
    amount: u64,
    chain_id: u64,
) -> SignedTransaction {
    let code = node.store().get(&tao_chain::keys::module("token")).unwrap().unwrap();
    let call = Call {
        contract: Hash(code.try_into().unwrap()),
        method: b"entry_transfer".to_vec().try_into().unwrap(),
        args: borsh::to_vec(&TransferArgs { to, amount }).unwrap().try_into().unwrap(),
    };
    let domain = ChainDomain { chain_id, ..*node.executor().domain() };
    Transaction { chain_id, sender: from.address(), nonce, fee_limit: Balance(10_000_000), call }
        .sign(&domain, from)
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
        tao_node::spec::DEV_BALANCE - tao_contract_subnets::MIN_LOCK,
        "alice locked the example subnet's cost"
    );
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

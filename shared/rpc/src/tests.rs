//! Round trips of every reply type, and the wire shapes docs/rpc.md promises.

use proptest::prelude::*;
use serde_json::json;
use tao_types::Address;

use super::*;

fn proven(seed: u8) -> Proven {
    Proven {
        height: u64::from(seed),
        root: Some(Hash([seed; 32])),
        key: Bytes(vec![seed, 1]),
        value: seed.is_multiple_of(2).then(|| Bytes(vec![seed; 3])),
        proof: Some(Bytes(vec![9; 4])),
    }
}

fn header() -> HeaderView {
    HeaderView {
        hash: Hash([1; 32]),
        chain_id: 7,
        parent: Hash([2; 32]),
        height: 3,
        time_ms: 4,
        state_root: Hash([5; 32]),
        txs_root: Hash([6; 32]),
        receipts_root: Hash([7; 32]),
        evidence_root: Hash([11; 32]),
        validators_hash: Hash([8; 32]),
        next_validators_hash: Hash([9; 32]),
        proposer: Address([10; 20]),
        encoded: Bytes(vec![1, 2, 3]),
    }
}

fn certificate() -> CertificateView {
    CertificateView {
        header: Hash([1; 32]),
        height: 3,
        round: 0,
        signatures: vec![(0, Bytes(vec![7; 65]))],
        encoded: Bytes(vec![4]),
    }
}

fn pool() -> Pool {
    Pool {
        netuid: 1,
        height: 2,
        tao: 3,
        alpha_in: 4,
        alpha_out: 5,
        pending: 6,
        pending_owner: 7,
        created_at: 8,
        spot_price: 9,
        moving_price: 10,
        proof: proven(2),
    }
}

/// Encodes `value`, checks its JSON against `expected` (when given) and decodes it back equal.
fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(value: T) -> serde_json::Value {
    let json = encode(&value);
    let text = serde_json::to_string(&json).unwrap();
    let back: T = decode(&serde_json::from_str(&text).unwrap(), "test").unwrap();
    assert_eq!(back, value);
    json
}

#[test]
fn every_reply_round_trips() {
    round_trip(ChainInfo {
        chain_id: 1,
        genesis_hash: Hash([1; 32]),
        height: 2,
        head: Hash([2; 32]),
        validators: vec![ValidatorKey { key: Bytes(vec![2; 33]), power: 1 }],
        checkpoint: Some("2:0x02".into()),
    });
    round_trip(ChainValidators {
        height: 3,
        validators: vec![ValidatorKey { key: Bytes(vec![2; 33]), power: 1 }],
    });
    round_trip(ChainHeader { header: header(), certificate: certificate() });
    let receipt = ReceiptView {
        tx: Hash([3; 32]),
        outcome: Outcome::Failed("no".into()),
        fee: 1,
        gas_used: 2,
        events: vec![(Bytes(vec![1]), Bytes(vec![]))],
        encoded: Bytes(vec![5]),
    };
    round_trip(ChainBlock {
        header: header(),
        certificate: certificate(),
        transactions: vec![Hash([3; 32])],
        receipts: vec![receipt],
        evidence: vec![Bytes(vec![6])],
        events: vec![],
    });
    round_trip(proven(1));
    round_trip(Account {
        address: Address([1; 20]),
        height: 2,
        root: Some(Hash([4; 32])),
        balance: 3,
        nonce: 4,
        pending_nonce: 5,
        proofs: AccountProofs { balance: proven(2), nonce: proven(3) },
    });
    let parameter = Hyperparameter {
        stored: ProvenAs { proven: proven(1), decoded: Some(5) },
        name: "tempo".into(),
        effective: 5,
    };
    round_trip(Subnet { netuid: 1, height: 2, info: proven(4), hyperparameters: vec![parameter] });
    round_trip(Stake {
        coldkey: Address([1; 20]),
        hotkey: Address([2; 20]),
        netuid: 1,
        height: 2,
        stake: 3,
        pool_stake: 4,
        pool_shares: Decimal(u128::MAX),
        shares: Decimal(6),
        proofs: StakeProofs { pool: proven(1), shares: proven(2) },
    });
    round_trip(pool());
    round_trip(PoolQuote {
        netuid: 1,
        height: 2,
        input: 3,
        fee: 4,
        output: 5,
        price_before: 6,
        price_after: 7,
        pool: pool(),
    });
    round_trip(GovProposal {
        id: 1,
        height: 2,
        proposer: Address([3; 20]),
        action: "Upgrade".into(),
        status: "Active".into(),
        deposit: 4,
        created_at: 5,
        ends_at: 6,
        tally: [Decimal(7), Decimal(8)],
        proof: proven(4),
    });
    round_trip(Metagraph {
        netuid: 1,
        height: 2,
        count: ProvenAs { proven: proven(1), decoded: None },
        neurons: vec![NeuronProofs { uid: 0, neuron: proven(2), scores: proven(3) }],
    });
    round_trip(NeuronReply { netuid: 1, uid: 2, height: 3, neuron: proven(4), scores: proven(6) });
    round_trip(vec![ModuleEntry { name: "token".into(), code_hash: Hash([1; 32]) }]);
    round_trip(QueryOutput { height: 1, output: Bytes(vec![1, 2]) });
    round_trip(TxStatus::Pending);
    round_trip(TxStatus::Unknown);
    round_trip(TxStatus::Dropped { reason: "displaced".into() });
    round_trip(TxStatus::Finalized { height: 1, index: Some(2), receipt: None });
}

#[test]
fn the_wire_shapes_are_those_of_docs_rpc_md() {
    assert_eq!(round_trip(Bytes(vec![0xab, 1])), json!("0xab01"));
    assert_eq!(round_trip(Decimal(u128::MAX)), json!(u128::MAX.to_string()));
    assert_eq!(round_trip(Outcome::Ok), json!("Ok"));
    assert_eq!(round_trip(Outcome::Failed("why".into())), json!({"Failed": "why"}));
    assert_eq!(round_trip(TxStatus::Pending), json!({"status": "pending"}));
    let summary = ReceiptSummary { outcome: Outcome::Ok, fee: 1, gas_used: 2, events: vec![] };
    assert_eq!(
        round_trip(TxStatus::Finalized { height: 1, index: Some(0), receipt: Some(summary) }),
        json!({"status": "finalized", "height": 1, "index": 0,
               "receipt": {"outcome": "Ok", "fee": 1, "gas_used": 2, "events": []}})
    );
    // A hyperparameter is a flat object: the proven value's fields beside its name.
    let p = Hyperparameter {
        stored: ProvenAs { proven: Proven { proof: None, ..proven(2) }, decoded: None },
        name: "tempo".into(),
        effective: 360,
    };
    assert_eq!(
        round_trip(p),
        json!({"height": 2, "root": Hash([2; 32]), "key": "0x0201", "value": "0x020202",
               "decoded": null, "name": "tempo", "effective": 360})
    );
    // Bytes are accepted without the prefix, as the node always did.
    assert_eq!(decode::<Bytes>(&json!("0a"), "b"), Ok(Bytes(vec![10])));
}

#[test]
fn a_bad_reply_is_refused_naming_the_field() {
    let mut info = encode(&ChainInfo {
        chain_id: 1,
        genesis_hash: Hash([1; 32]),
        height: 2,
        head: Hash([2; 32]),
        validators: vec![ValidatorKey { key: Bytes(vec![2; 33]), power: 1 }],
        checkpoint: None,
    });
    assert!(info.get("checkpoint").is_none(), "a node's chain_info names no checkpoint");
    info["validators"][0]["power"] = json!("lots");
    let err = decode::<ChainInfo>(&info, "chain_info").unwrap_err();
    assert_eq!((err.what.as_str(), err.path.as_str()), ("chain_info", "validators[0].power"));
    info["validators"][0]["power"] = json!(1);
    info["validators"][0]["key"] = json!("0xzz");
    let err = decode::<ChainInfo>(&info, "chain_info").unwrap_err();
    assert_eq!(err.path, "validators[0].key");
    assert!(err.why.contains("bad hex"), "{err}");
    info["validators"][0]["key"] = json!("0x02");
    info.as_object_mut().unwrap().remove("genesis_hash");
    let err = decode::<ChainInfo>(&info, "chain_info").unwrap_err();
    assert!(err.why.contains("genesis_hash"), "{err}");
    assert!(decode::<Decimal>(&json!("-1"), "d").is_err());
    assert!(decode::<Decimal>(&json!(5), "d").is_err());
}

proptest! {
    #[test]
    fn bytes_and_decimals_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..64), n in any::<u128>()) {
        prop_assert_eq!(decode::<Bytes>(&encode(&Bytes(bytes.clone())), "b"), Ok(Bytes(bytes)));
        prop_assert_eq!(decode::<Decimal>(&encode(&Decimal(n)), "d"), Ok(Decimal(n)));
    }

    #[test]
    fn a_proven_value_round_trips(height in any::<u64>(), key in proptest::collection::vec(any::<u8>(), 0..40),
                                  value in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))) {
        let p = Proven { height, root: Some(Hash([3; 32])), key: Bytes(key), value: value.map(Bytes), proof: None };
        prop_assert_eq!(decode::<Proven>(&encode(&p), "p"), Ok(p));
    }
}

#[test]
fn a_verifying_client_reads_only_the_encoded_bytes_of_a_full_reply() {
    let full = encode(&ChainHeader { header: header(), certificate: certificate() });
    let bytes: HeaderBytes = decode(&full, "chain_header").unwrap();
    assert_eq!((bytes.header.encoded, bytes.certificate.encoded), (Bytes(vec![1, 2, 3]), Bytes(vec![4])));
    let block = encode(&ChainBlock {
        header: header(),
        certificate: certificate(),
        transactions: vec![],
        receipts: vec![],
        evidence: vec![],
        events: vec![],
    });
    assert_eq!(decode::<BlockReceipts>(&block, "chain_block").unwrap().header.height, 3);
}

use super::*;
use proptest::prelude::*;

const DOMAIN: ChainDomain = ChainDomain { chain_id: 945, genesis_hash: Hash([7; 32]) };

fn key(byte: u8) -> SecretKey {
    SecretKey::from_bytes(&[byte; 32]).unwrap()
}

fn transfer(sender: &SecretKey, nonce: u64) -> Transaction {
    Transaction {
        chain_id: DOMAIN.chain_id,
        sender: sender.address(),
        nonce,
        fee_limit: Balance(1_000),
        call: Call {
            contract: Hash::of(b"token"),
            method: BoundedBytes::new(b"transfer".to_vec()).unwrap(),
            args: BoundedBytes::new(alloc::vec![1, 2, 3]).unwrap(),
        },
    }
}

#[test]
fn valid_transaction_verifies_and_hashes_its_bytes() {
    let signed = transfer(&key(1), 0).sign(&DOMAIN, &key(1));
    let bytes = signed.encode();
    let verified = decode_and_verify(&bytes, &DOMAIN).unwrap();
    assert_eq!(verified.hash, signed.hash());
    assert_eq!(verified.signed, signed);
}

/// Decoding checks only the bytes: a forged transaction decodes, with the hash of its bytes,
/// and is refused when verified.
#[test]
fn decoding_does_not_verify_and_verifying_does() {
    let signed = transfer(&key(1), 0).sign(&DOMAIN, &key(1));
    let mut forged = signed.clone();
    forged.tx.nonce = 9;
    let decoded = decode(&forged.encode()).unwrap();
    assert_eq!((&decoded.signed, decoded.hash), (&forged, forged.hash()));
    assert_eq!(decoded.verify(&DOMAIN), Err(TxError::BadSignature));
    let good = decode(&signed.encode()).unwrap().verify(&DOMAIN).unwrap();
    assert_eq!((good.signed, good.hash), (signed.clone(), signed.hash()));
    assert!(matches!(decode(&[1, 2, 3]), Err(TxError::Malformed(_))));
}

#[test]
fn wrong_chain_id() {
    let mut tx = transfer(&key(1), 0);
    tx.chain_id = 1;
    let bytes = tx.sign(&ChainDomain { chain_id: 1, ..DOMAIN }, &key(1)).encode();
    assert_eq!(decode_and_verify(&bytes, &DOMAIN), Err(TxError::WrongChainId { expected: 945, got: 1 }));
}

#[test]
fn other_genesis_is_a_bad_signature() {
    let other = ChainDomain { genesis_hash: Hash([8; 32]), ..DOMAIN };
    let bytes = transfer(&key(1), 0).sign(&other, &key(1)).encode();
    assert_eq!(decode_and_verify(&bytes, &DOMAIN), Err(TxError::BadSignature));
}

#[test]
fn wrong_key() {
    let bytes = transfer(&key(1), 0).sign(&DOMAIN, &key(2)).encode();
    assert_eq!(
        decode_and_verify(&bytes, &DOMAIN),
        Err(TxError::WrongKey { sender: key(1).address(), signer: key(2).address() })
    );
}

#[test]
fn tampered_payload() {
    let mut signed = transfer(&key(1), 0).sign(&DOMAIN, &key(1));
    signed.tx.nonce = 1;
    assert_eq!(decode_and_verify(&signed.encode(), &DOMAIN), Err(TxError::BadSignature));
}

#[test]
fn high_s_signature() {
    let mut signed = transfer(&key(1), 0).sign(&DOMAIN, &key(1));
    signed.signature = signed.signature.malleated();
    assert_eq!(decode_and_verify(&signed.encode(), &DOMAIN), Err(TxError::MalleableSignature));
}

#[test]
fn oversized_and_trailing_bytes() {
    let mut bytes = transfer(&key(1), 0).sign(&DOMAIN, &key(1)).encode();
    bytes.push(0);
    assert!(matches!(
        decode_and_verify(&bytes, &DOMAIN),
        Err(TxError::Malformed(DecodeError::TrailingBytes(1)))
    ));
    let huge = alloc::vec![0u8; MAX_TX_BYTES + 1];
    assert!(matches!(decode_and_verify(&huge, &DOMAIN), Err(TxError::Oversized { .. })));
}

fn arb_tx() -> impl Strategy<Value = Transaction> {
    (
        any::<u64>(),
        any::<[u8; 20]>(),
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 32]>(),
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..256),
    )
        .prop_map(|(chain_id, sender, nonce, fee, contract, method, args)| Transaction {
            chain_id,
            sender: Address(sender),
            nonce,
            fee_limit: Balance(fee),
            call: Call {
                contract: Hash(contract),
                method: BoundedBytes::new(method).unwrap(),
                args: BoundedBytes::new(args).unwrap(),
            },
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    // [255; 32] is above the curve order, so not a key.
    fn wire_types_round_trip(tx in arb_tx(), secret in 1u8..=254) {
        prop_assert_eq!(tao_codec::decode::<Transaction>(&tao_codec::encode(&tx), MAX_TX_BYTES).unwrap(), tx.clone());
        let domain = ChainDomain { chain_id: tx.chain_id, ..DOMAIN };
        let signed = tx.sign(&domain, &key(secret));
        prop_assert_eq!(tao_codec::decode::<SignedTransaction>(&signed.encode(), MAX_TX_BYTES).unwrap(), signed);
    }

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        prop_assert!(decode_and_verify(&bytes, &DOMAIN).is_err());
    }

    #[test]
    fn any_flipped_bit_is_rejected(bit in 0usize..(8 * 300)) {
        let signed = transfer(&key(3), 9).sign(&DOMAIN, &key(3));
        let mut bytes = signed.encode();
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
        prop_assert!(decode_and_verify(&bytes, &DOMAIN).is_err());
    }
}

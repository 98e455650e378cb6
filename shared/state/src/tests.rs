use super::*;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use proptest::prelude::*;

fn build(map: &BTreeMap<Vec<u8>, Vec<u8>>) -> (MemoryTree, Hash) {
    let mut tree = MemoryTree::new();
    let root = tree.apply(0, map.iter().map(|(k, v)| (k.clone(), Some(v.clone())))).unwrap();
    (tree, root)
}

#[test]
fn empty_tree_root_and_exclusion() {
    let (tree, root) = build(&BTreeMap::new());
    assert_eq!(root, empty_root());
    let (value, proof) = tree.get_with_proof(b"missing", 0).unwrap();
    assert_eq!(value, None);
    assert_eq!(verify(&root, b"missing", None, &proof), Ok(()));
    assert_eq!(verify(&root, b"missing", Some(b"x"), &proof), Err(ProofError::Mismatch));
}

#[test]
fn versions_keep_old_roots_and_deletes_work() {
    let mut tree = MemoryTree::new();
    let r0 = tree.apply(0, [(b"a".to_vec(), Some(b"1".to_vec()))]).unwrap();
    let r1 = tree.apply(1, [(b"a".to_vec(), None::<Vec<u8>>)]).unwrap();
    assert_ne!(r0, r1);
    assert_eq!(r1, empty_root());
    assert_eq!(tree.root(0), Ok(r0));
    let (old, proof) = tree.get_with_proof(b"a", 0).unwrap();
    assert_eq!(old.as_deref(), Some(&b"1"[..]));
    assert_eq!(verify(&r0, b"a", Some(b"1"), &proof), Ok(()));
    assert_eq!(
        tree.apply(5, [(b"a".to_vec(), None)]),
        Err(StateError::NonSequentialVersion { expected: 2, got: 5 })
    );
    assert_eq!(tree.root(9), Err(StateError::UnknownVersion(9)));
}

#[test]
fn oversized_proof_bytes_are_refused() {
    let bytes = alloc::vec![0u8; MAX_PROOF_BYTES + 1];
    assert!(matches!(StateProof::decode(&bytes), Err(ProofError::Malformed(_))));
}

fn arb_map() -> impl Strategy<Value = BTreeMap<Vec<u8>, Vec<u8>>> {
    proptest::collection::btree_map(
        proptest::collection::vec(any::<u8>(), 1..8),
        proptest::collection::vec(any::<u8>(), 0..16),
        0..40,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn present_keys_prove_inclusion_and_absent_keys_exclusion(
        map in arb_map(),
        absent in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..8), 0..8),
    ) {
        let (tree, root) = build(&map);
        for (k, v) in &map {
            let (got, proof) = tree.get_with_proof(k, 0).unwrap();
            prop_assert_eq!(got.as_ref(), Some(v));
            let decoded = StateProof::decode(&proof.encode()).unwrap();
            prop_assert_eq!(verify(&root, k, Some(v), &decoded), Ok(()));
            prop_assert!(verify(&root, k, None, &decoded).is_err());
        }
        for k in absent.iter().filter(|k| !map.contains_key(*k)) {
            let (got, proof) = tree.get_with_proof(k, 0).unwrap();
            prop_assert_eq!(got, None);
            prop_assert_eq!(verify(&root, k, None, &proof), Ok(()));
        }
    }

    #[test]
    fn any_flipped_bit_breaks_verification(
        map in arb_map(),
        probe in proptest::collection::vec(any::<u8>(), 1..8),
        which in 0u8..3,
        bit in any::<usize>(),
    ) {
        let (tree, root) = build(&map);
        let (value, proof) = tree.get_with_proof(&probe, 0).unwrap();
        let flip = |bytes: &mut Vec<u8>| {
            let i = bit % (bytes.len() * 8);
            bytes[i / 8] ^= 1 << (i % 8);
        };
        match which {
            0 => {
                let mut bytes = proof.encode();
                flip(&mut bytes);
                if let Ok(bad) = StateProof::decode(&bytes) {
                    prop_assert!(verify(&root, &probe, value.as_deref(), &bad).is_err());
                }
            }
            1 => {
                // A flipped value, or a value claimed for an absent key.
                let mut v = value.clone().unwrap_or_else(|| alloc::vec![0]);
                if value.is_some() && !v.is_empty() { flip(&mut v) } else if value.is_some() { v.push(0) }
                prop_assert!(verify(&root, &probe, Some(&v), &proof).is_err());
            }
            _ => {
                let mut r = root.0.to_vec();
                flip(&mut r);
                let bad_root = Hash(r.try_into().unwrap());
                prop_assert!(verify(&bad_root, &probe, value.as_deref(), &proof).is_err());
            }
        }
    }

    #[test]
    fn random_proof_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600), key in any::<[u8; 4]>()) {
        if let Ok(p) = StateProof::decode(&bytes) {
            let _ = verify(&empty_root(), &key, None, &p);
        }
    }
}

//! The redb store against the in-memory reference tree: same roots, proofs that verify, the
//! same plain view; pruning keeps the file bounded; reopening and `kill -9` lose no committed
//! block.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use proptest::prelude::*;
use tao_state::MemoryTree;
use tao_store::{Store, StoreError};

type Block = Vec<(Vec<u8>, Option<Vec<u8>>)>;

fn arb_blocks() -> impl Strategy<Value = Vec<Block>> {
    let key = prop_oneof![(0u8..6).prop_map(|k| vec![b'a', k]), (0u8..6).prop_map(|k| vec![b'b', k, k])];
    let write = (key, proptest::option::of(proptest::collection::vec(any::<u8>(), 0..6)));
    proptest::collection::vec(proptest::collection::vec(write, 0..5), 1..12)
}

/// The block bytes the tests store: the version and the root it produced.
fn block_bytes(version: u64, root: &tao_types::Hash) -> Vec<u8> {
    [&version.to_be_bytes()[..], &root.0[..]].concat()
}

/// Stages and commits `writes` as version `v` with transactions `txs`; the block bytes are
/// [`block_bytes`] of the staged root.
fn commit(
    store: &Store,
    v: u64,
    writes: &[(Vec<u8>, Option<Vec<u8>>)],
    txs: &[tao_types::Hash],
) -> Result<tao_types::Hash, StoreError> {
    let staged = store.stage(v, writes.to_vec())?;
    let root = staged.root();
    store.commit(staged, &block_bytes(v, &root), txs)?;
    Ok(root)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn matches_the_reference_tree(blocks in arb_blocks(), retain in 1u64..5) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("state.redb"), retain).unwrap();
        let mut model = MemoryTree::new();
        let mut live: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
        let mut history = Vec::new();
        for (v, block) in blocks.iter().enumerate() {
            let v = v as u64;
            let root = commit(&store, v, block, &[]).unwrap();
            prop_assert_eq!(root, model.apply(v, block.clone()).unwrap());
            for (k, val) in block {
                match val {
                    Some(x) => live.insert(k.clone(), x.clone()),
                    None => live.remove(k),
                };
            }
            history.push(live.clone());
            // Every retained version proves every key as the model holds it then.
            for version in v.saturating_sub(retain - 1)..=v {
                let root = store.root(version).unwrap();
                for k in (0u8..6).map(|k| vec![b'a', k]) {
                    let (value, proof) = store.get_with_proof(&k, version).unwrap();
                    prop_assert_eq!(value.as_ref(), history[version as usize].get(&k));
                    prop_assert!(tao_state::verify(&root, &k, value.as_deref(), &proof).is_ok());
                }
                prop_assert_eq!(store.block(version).unwrap(), block_bytes(version, &root));
            }
            if v >= retain {
                let pruned = v - retain;
                let refused = matches!(store.root(pruned), Err(StoreError::Pruned { .. }));
                prop_assert!(refused, "version {} should be pruned", pruned);
            }
            // The plain view: point reads and prefix iteration.
            for (k, val) in &live {
                prop_assert_eq!(store.get(k).unwrap(), Some(val.clone()));
            }
            let mut seen = Vec::new();
            let mut after: Option<Vec<u8>> = None;
            while let Some((k, val)) = store.next_after(b"b", after.as_deref()).unwrap() {
                seen.push((k.clone(), val));
                after = Some(k);
            }
            let expected: Vec<_> = live.iter().filter(|(k, _)| k.starts_with(b"b")).map(|(k, v)| (k.clone(), v.clone())).collect();
            prop_assert_eq!(seen, expected);
            prop_assert_eq!(store.stats().unwrap().live_keys, live.len() as u64);
        }
    }
}

#[test]
fn versions_commit_in_order_and_future_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb"), 10).unwrap();
    assert!(matches!(
        commit(&store, 1, &[], &[]),
        Err(StoreError::NonSequentialVersion { expected: 0, got: 1 })
    ));
    assert!(matches!(store.root(0), Err(StoreError::Future(0))));
    commit(&store, 0, &[], &[]).unwrap();
    assert_eq!(store.root(0).unwrap(), tao_state::empty_root());
    assert!(matches!(store.get_with_proof(b"k", 1), Err(StoreError::Future(1))));
}

/// Staging writes nothing (the root is known before the block is signed); a staged block that
/// is no longer the next version is refused, and the refused one leaves no trace.
#[test]
fn a_staged_block_commits_only_as_the_next_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb"), 10).unwrap();
    commit(&store, 0, &[(b"k".to_vec(), Some(b"0".to_vec()))], &[]).unwrap();
    let first = store.stage(1, vec![(b"k".to_vec(), Some(b"a".to_vec()))]).unwrap();
    let second = store.stage(1, vec![(b"k".to_vec(), Some(b"b".to_vec()))]).unwrap();
    assert_ne!(first.root(), second.root());
    assert_eq!(store.latest().unwrap(), Some(0), "staging writes nothing");
    assert_eq!(store.get(b"k").unwrap(), Some(b"0".to_vec()));
    let root = first.root();
    store.commit(first, b"one", &[]).unwrap();
    assert!(matches!(
        store.commit(second, b"two", &[]),
        Err(StoreError::NonSequentialVersion { expected: 2, got: 1 })
    ));
    assert_eq!(store.root(1).unwrap(), root);
    assert_eq!(store.block(1).unwrap(), b"one".to_vec());
    assert_eq!(store.get(b"k").unwrap(), Some(b"a".to_vec()));
    assert!(matches!(
        store.stage(3, Vec::new()),
        Err(StoreError::NonSequentialVersion { expected: 2, got: 3 })
    ));
}

#[test]
fn pruning_keeps_the_file_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("s.redb"), 2).unwrap();
    let mut sizes = Vec::new();
    for v in 0..200u64 {
        let writes: Block = (0..8u8).map(|k| (vec![k], Some(v.to_be_bytes().to_vec()))).collect();
        commit(&store, v, &writes, &[]).unwrap();
        sizes.push(store.stats().unwrap());
    }
    // Two versions of eight keys: the tree stays a few dozen nodes, not 200 versions' worth.
    let last = sizes.last().unwrap();
    assert_eq!(last.values, 16);
    assert!(last.nodes < 40, "{last:?}");
    assert_eq!(sizes[50], sizes[199]);
    assert_eq!(store.oldest().unwrap(), 198);
}

#[test]
fn reopening_keeps_every_committed_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let root = {
        let store = Store::open(&path, 100).unwrap();
        commit(&store, 0, &[(b"k".to_vec(), Some(b"v".to_vec()))], &[]).unwrap();
        commit(&store, 1, &[(b"j".to_vec(), Some(b"w".to_vec()))], &[]).unwrap()
    };
    let store = Store::open(&path, 100).unwrap();
    assert_eq!(store.latest().unwrap(), Some(1));
    assert_eq!(store.root(1).unwrap(), root);
    assert_eq!(store.get(b"k").unwrap(), Some(b"v".to_vec()));
    let (value, proof) = store.get_with_proof(b"j", 1).unwrap();
    assert!(tao_state::verify(&root, b"j", value.as_deref(), &proof).is_ok());
}

#[test]
fn the_transaction_index_survives_reopening_and_is_pruned_with_its_block() {
    use tao_types::Hash;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.redb");
    let tx = |v: u64, i: u8| {
        Hash([
            v as u8 ^ 0x5a,
            i,
            1,
            2,
            3,
            4,
            5,
            6,
            7,
            8,
            9,
            10,
            11,
            12,
            13,
            14,
            15,
            16,
            17,
            18,
            19,
            20,
            21,
            22,
            23,
            24,
            25,
            26,
            27,
            28,
            29,
            30,
        ])
    };
    {
        let store = Store::open(&path, 3).unwrap();
        commit(&store, 0, &[], &[]).unwrap();
        for v in 1..=2u64 {
            let txs: Vec<Hash> = (0..3).map(|i| tx(v, i)).collect();
            commit(&store, v, &[(vec![v as u8], Some(vec![1]))], &txs).unwrap();
        }
        assert_eq!(store.tx_location(&tx(2, 1)).unwrap(), Some((2, 1)));
    }
    let store = Store::open(&path, 3).unwrap();
    assert_eq!(store.tx_location(&tx(1, 0)).unwrap(), Some((1, 0)));
    assert_eq!(store.tx_location(&tx(2, 2)).unwrap(), Some((2, 2)));
    assert_eq!(store.tx_location(&tx(2, 3)).unwrap(), None);
    // Retaining three versions: committing 3 and 4 prunes blocks 0 and 1 and their index.
    commit(&store, 3, &[], &[tx(3, 0)]).unwrap();
    commit(&store, 4, &[], &[]).unwrap();
    assert_eq!(store.oldest().unwrap(), 2);
    assert_eq!(store.tx_location(&tx(1, 0)).unwrap(), None, "pruned with block 1");
    assert_eq!(store.tx_location(&tx(2, 0)).unwrap(), Some((2, 0)));
    assert_eq!(store.tx_location(&tx(3, 0)).unwrap(), Some((3, 0)));
}

/// The deterministic writes of block `v` in the crash test: a few keys rewritten, one deleted.
fn crash_block(v: u64) -> Block {
    let mut writes: Block = (0..4u64)
        .map(|i| ((v * 3 + i) % 50).to_be_bytes().to_vec())
        .map(|k| (k, Some(v.to_be_bytes().to_vec())))
        .collect();
    writes.push((((v * 7) % 50).to_be_bytes().to_vec(), None));
    writes
}

/// Child side of the crash test: commits blocks forever, announcing each commit.
#[test]
#[ignore = "run by crash_loses_no_committed_block as a child process"]
fn crash_writer() {
    let Some(path) = std::env::var_os("TAO_STORE_CRASH_PATH") else { return };
    let store = Store::open(std::path::Path::new(&path), 16).unwrap();
    let mut v = store.latest().unwrap().map_or(0, |l| l + 1);
    loop {
        commit(&store, v, &crash_block(v), &[]).unwrap();
        println!("committed {v}");
        v += 1;
    }
}

#[test]
fn crash_loses_no_committed_block() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.redb");
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "crash_writer", "--ignored", "--nocapture", "--test-threads=1"])
            .env("TAO_STORE_CRASH_PATH", &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut last = None;
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        while let Some(Ok(line)) = lines.next() {
            if let Some(v) = line.strip_prefix("committed ") {
                last = Some(v.parse::<u64>().unwrap());
                if last.unwrap() >= 30 * (round + 1) {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL: no destructors, no flush.
        child.wait().unwrap();
        let last = last.expect("the writer committed nothing");
        let store = Store::open(&path, 16).unwrap();
        let latest = store.latest().unwrap().unwrap();
        assert!(latest >= last, "announced {last}, recovered {latest}");
        // The recovered state is exactly blocks 0..=latest: same root as replaying them.
        let mut model = MemoryTree::new();
        let mut root = tao_state::empty_root();
        for v in 0..=latest {
            root = model.apply(v, crash_block(v)).unwrap();
        }
        assert_eq!(store.root(latest).unwrap(), root, "round {round}");
        assert_eq!(
            store.block(latest).unwrap(),
            block_bytes(latest, &root),
            "the block names the root it was stored with"
        );
    }
}

//! Every kept case (`tests/fuzz/cases/<harness>/`) still passes: the bugs fuzzing found stay
//! fixed, in plain `cargo test` too. (`cargo xtask test` also replays them, with the seeds,
//! before fuzzing each harness briefly.)
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use tao_fuzz::{NAMES, cases, harness, run_one};

#[test]
fn every_kept_case_passes() {
    let mut replayed = 0;
    for name in NAMES {
        let kept = cases(name).unwrap();
        if kept.is_empty() {
            continue; // no set-up (a dev node, a VM) for nothing
        }
        let mut h = harness(name).unwrap();
        for (path, input) in kept {
            if let Err(why) = run_one(h.as_mut(), &input) {
                panic!("{}: {why}", path.display());
            }
            replayed += 1;
        }
    }
    assert!(replayed >= 4, "the cases of the public-key encoding bug are kept");
}

#[test]
fn every_harness_has_a_name_and_unknown_ones_are_refused() {
    assert!(harness("nope").is_err());
    for name in ["codec", "tx", "wallet_rpc"] {
        let h = harness(name).unwrap();
        assert_eq!(h.name(), name);
        assert!(!h.seeds().is_empty());
    }
}

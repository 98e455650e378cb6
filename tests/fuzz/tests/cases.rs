//! Every kept case (`tests/fuzz/cases/<harness>/`) and every seed of the fast harnesses passes:
//! the bugs fuzzing found stay fixed. (`cargo xtask test` also fuzzes each harness briefly.)
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use tao_fuzz::{cases, harness, run_one};

fn replay(name: &str) {
    let mut h = harness(name).unwrap();
    for (path, input) in cases(name).unwrap() {
        if let Err(why) = run_one(h.as_mut(), &input) {
            panic!("{}: {why}", path.display());
        }
    }
    for (i, input) in h.seeds().iter().enumerate() {
        if let Err(why) = run_one(h.as_mut(), input) {
            panic!("{name} seed {i}: {why}");
        }
    }
}

#[test]
fn codec_cases_pass() {
    replay("codec");
}

#[test]
fn tx_cases_pass() {
    replay("tx");
}

#[test]
fn admit_cases_pass() {
    replay("admit");
}

#[test]
fn vm_cases_pass() {
    replay("vm");
}

#[test]
fn wallet_rpc_cases_pass() {
    replay("wallet_rpc");
}

#[test]
fn node_rpc_cases_pass() {
    replay("node_rpc");
}

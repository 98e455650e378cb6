//! `tao module check` and `tao module run` through the real binary.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tao")).args(args).current_dir(root()).output().unwrap()
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn testkit() -> String {
    let target =
        std::env::var("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|_| root().join("target"));
    target.join("wasm32-unknown-unknown/contract/tao_contract_testkit.wasm").display().to_string()
}

#[test]
fn check_accepts_a_contract_with_its_hash_and_limits() {
    let out = tao(&["module", "check", &testkit(), "--json"]);
    assert!(out.status.success());
    let v = json(&out);
    assert_eq!(v["accepted"], true);
    assert!(v["code_hash"].as_str().unwrap().starts_with("0x"));
    assert!(v["report"]["entry_points"].as_array().unwrap().iter().any(|e| e == "transfer"));
}

#[test]
fn check_rejects_with_the_reason_and_fails() {
    let out = tao(&["module", "check", "contracts/hostile/unknown_import.wat"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "rejected  unknown import env.read_file");
}

#[test]
fn run_reports_outcome_gas_and_effects() {
    // borsh((b"k", b"v")): two length-prefixed byte strings.
    let put = ["module", "run", &testkit(), "--call", "put", "--input", "010000006b0100000076", "--json"];
    // Uploaded code runs boxed, as on chain: `raw/k` is outside its namespace.
    let boxed = tao(&put);
    assert_eq!(boxed.status.code(), Some(1));
    let v = json(&boxed);
    assert_eq!(v["outcome"]["detail"]["error"], "access_denied", "{v}");
    assert_eq!(v["outcome"]["detail"]["key"], "raw/k", "{v}");
    let out = tao(&[&put[..], &["--system"]].concat());
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v = json(&out);
    assert_eq!(v["outcome"]["kind"], "ok");
    assert_eq!(v["writes"][0]["key"], hex_of(b"raw/k"));
    assert_eq!(v["writes"][0]["value"], hex_of(b"v"));
    assert_eq!(v["events"][0]["topic"], hex_of(b"put"));
    assert!(v["gas_used"].as_u64().unwrap() > 0);
}

#[test]
fn run_of_a_hostile_module_fails_cleanly() {
    let out =
        tao(&["module", "run", "contracts/hostile/infinite_loop.wat", "--call", "run", "--fuel", "100000"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("outcome   out of gas"), "{text}");
    assert!(text.contains("gas used  100000 of 100000"), "{text}");
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

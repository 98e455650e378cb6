//! `tao epoch simulate` through the real binary: the documented example runs, Wasm and native
//! agree, bonds feed forward, and bad input is refused with a clear error.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn tao(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tao")).args(args).current_dir(root()).output().unwrap()
}

fn simulate(extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["epoch", "simulate", "--input", "docs/examples/epoch.json", "--json"];
    args.extend_from_slice(extra);
    let out = tao(&args);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn example_runs_identically_in_wasm_and_native() {
    let wasm = simulate(&["--epochs", "3"]);
    let native = simulate(&["--epochs", "3", "--native"]);
    assert_eq!(wasm["engine"], "wasm");
    assert_eq!(native["engine"], "native");
    let (w, n) = (wasm["epochs"].as_array().unwrap(), native["epochs"].as_array().unwrap());
    assert_eq!(w.len(), 3);
    for (a, b) in w.iter().zip(n) {
        assert_eq!(a["output"], b["output"]);
        assert_eq!(a["block"], b["block"]);
        assert!(a["gas_used"].as_u64().unwrap() > 0);
        let out = &a["output"];
        let paid: u64 = out["neurons"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["server_emission"].as_u64().unwrap() + u["validator_emission"].as_u64().unwrap())
            .sum();
        assert_eq!(paid + out["undistributed"].as_u64().unwrap(), 1_000_000_000);
    }
    // Blocks advance by the input's interval (1000 − 640) and bonds grow as they feed forward.
    assert_eq!(w[1]["block"], 1360);
    let bond = |e: &serde_json::Value| e["output"]["neurons"][0]["bonds"][0][1].as_u64().unwrap();
    assert!(
        bond(&w[0]) < bond(&w[1]) && bond(&w[1]) < bond(&w[2]),
        "{} {} {}",
        bond(&w[0]),
        bond(&w[1]),
        bond(&w[2])
    );
}

#[test]
fn table_output_names_every_column() {
    let out = tao(&["epoch", "simulate", "--input", "docs/examples/epoch.json"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for column in ["consensus", "incentive", "dividends", "vtrust", "miner rao", "validator rao", "bonds"] {
        assert!(text.contains(column), "{column} missing in:\n{text}");
    }
    assert!(text.contains("epoch at block 1000 (wasm"));
}

#[test]
fn bad_input_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, r#"{"block": 1}"#).unwrap();
    let out = tao(&["epoch", "simulate", "--input", bad.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a valid epoch input") && err.contains("missing field"), "{err}");

    let example = std::fs::read_to_string(root().join("docs/examples/epoch.json")).unwrap();
    let out_of_range = example.replace("[[4, 65535]]", "[[9, 65535]]");
    std::fs::write(&bad, out_of_range).unwrap();
    for engine in [&[][..], &["--native"][..]] {
        let mut args = vec!["epoch", "simulate", "--input", bad.to_str().unwrap()];
        args.extend_from_slice(engine);
        let out = tao(&args);
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("row 2 names UID 9, which does not exist"), "{err}");
    }
}

/// Issue 9: a subnet's own module simulated through the VM gives what its rule gives (the chain
/// runs the same module with the same gas and checks), and a module the chain would refuse is
/// reported as the fallback the chain would make.
#[test]
fn subnet_modules_simulate_as_the_chain_runs_them() {
    let contracts = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
        .join("wasm32-unknown-unknown/contract");
    let top_k = contracts.join("tao_contract_example_top_k.wasm");
    let simulated = simulate(&["--module", top_k.to_str().unwrap()]);
    let text = std::fs::read_to_string(root().join("docs/examples/epoch.json")).unwrap();
    let input: tao_contract_incentive::epoch::EpochInput = serde_json::from_str(&text).unwrap();
    let expected = tao_contract_example_top_k::run(&input);
    assert_eq!(simulated["epochs"][0]["output"], serde_json::to_value(&expected).unwrap());

    let bad = root().join("contracts/hostile/epoch_bad_output.wat");
    let dir = tempfile::tempdir().unwrap();
    let wasm = dir.path().join("bad.wasm");
    std::fs::write(&wasm, wat::parse_file(&bad).unwrap()).unwrap();
    let out = tao(&[
        "epoch",
        "simulate",
        "--input",
        "docs/examples/epoch.json",
        "--module",
        wasm.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("would pay this epoch with Yuma instead: output does not decode"), "{stderr}");
}

/// `tao … | head -1`: the reader goes away before the command prints; the command ends with
/// status 0 and no panic. With `--json`, failures and usage errors are one parseable object.
#[test]
fn a_closed_stdout_ends_quietly_and_errors_are_json() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["epoch", "simulate", "--input", "docs/examples/epoch.json", "--epochs", "200"])
        .current_dir(root())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));

    let failed = tao(&["epoch", "simulate", "--input", "missing.json", "--json"]);
    assert_eq!(failed.status.code(), Some(2));
    let error: serde_json::Value = serde_json::from_slice(&failed.stdout).unwrap();
    assert_eq!(error["error"]["code"], "failed");
    assert!(error["error"]["message"].as_str().unwrap().contains("missing.json"), "{error}");

    let usage = tao(&["epoch", "simulate", "--json", "--no-such-flag"]);
    assert_eq!(usage.status.code(), Some(2));
    let error: serde_json::Value = serde_json::from_slice(&usage.stdout).unwrap();
    assert_eq!(error["error"]["code"], "usage");
    assert!(error["error"]["message"].as_str().unwrap().contains("--no-such-flag"), "{error}");
}

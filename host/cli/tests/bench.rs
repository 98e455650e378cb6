//! `tao bench e2e` through the real binary: it starts its own node, every transfer it submits is
//! finalized, it reports a throughput against the verify ceiling, and it leaves no node behind.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::process::Command;

#[test]
fn a_short_end_to_end_run_finalizes_everything_it_submits() {
    let out = Command::new(env!("CARGO_BIN_EXE_tao"))
        .args(["bench", "e2e", "--seconds", "3", "--accounts", "64", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "exactly one JSON object: {stdout}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let number = |name: &str| report[name].as_f64().unwrap_or_else(|| panic!("{name} in {report}"));
    let count = |name: &str| report[name].as_u64().unwrap_or_else(|| panic!("{name} in {report}"));
    assert!(number("finalized_tps") > 0.0, "{report}");
    assert!(number("verify_ceiling_tps") > 0.0, "{report}");
    assert!(number("ratio") > 0.0, "{report}");
    assert!(number("p99_ms") >= number("p50_ms") && number("p50_ms") > 0.0, "{report}");
    assert!(number("rss_mb") > 0.0, "{report}");
    assert!(count("submitted") > 0, "{report}");
    assert_eq!(count("finalized"), count("submitted"), "every submitted transfer finalized: {report}");
    assert_eq!((count("dropped"), count("refused"), count("failed")), (0, 0, 0), "{report}");
    assert!(count("blocks") > 0, "{report}");
    // The node was killed and reaped: its process is gone.
    let pid = count("node_pid");
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "node {pid} still running");
}

//! `tao-fuzz [NAME|all] [--time 10s] [--iterations N] [--seed N] [--progress 5s]`: replays the
//! kept cases and seeds of each named harness, then fuzzes it for the given time from the given
//! seed. Exits non-zero when any input broke a property (written under
//! `target/fuzz/findings/<harness>/`). `cargo xtask fuzz` and `cargo xtask test` call it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tao_fuzz::{NAMES, Options, fuzz, harness};

/// Parses `500ms`, `30s`, `10m` or `2h`.
fn duration(text: &str) -> Result<Duration> {
    let digits = text.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().with_context(|| format!("bad duration `{text}`"))?;
    Ok(match &text[digits.len()..] {
        "ms" => Duration::from_millis(n),
        "s" | "" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        unit => bail!("bad duration unit `{unit}` (ms, s, m, h)"),
    })
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

fn main() -> Result<()> {
    let mut names = Vec::new();
    let mut options = Options {
        time: Duration::from_secs(10),
        iterations: None,
        seed: 0,
        findings: target_dir().join("fuzz/findings"),
        hang: Duration::from_secs(60),
        progress: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--time" => options.time = duration(&value()?)?,
            "--iterations" => options.iterations = Some(value()?.parse().context("--iterations")?),
            "--seed" => options.seed = value()?.parse().context("--seed")?,
            "--progress" => options.progress = Some(duration(&value()?)?),
            "--hang" => options.hang = duration(&value()?)?,
            "all" => names.extend(NAMES.iter().map(|s| s.to_string())),
            "-h" | "--help" => {
                println!(
                    "usage: tao-fuzz [NAME|all]... [--time 10s] [--iterations N] [--seed N] [--progress 5s]"
                );
                println!("harnesses: {}", NAMES.join(", "));
                return Ok(());
            }
            name => names.push(name.to_string()),
        }
    }
    if names.is_empty() {
        bail!("name a harness or `all` ({})", NAMES.join(", "));
    }
    let mut findings = 0;
    for name in &names {
        let mut h = harness(name)?;
        let report = fuzz(h.as_mut(), &options)?;
        println!(
            "[{name}] {} cases and {} seeds replayed, {} inputs in {}.{:03}s (seed {}), {} findings",
            report.cases,
            report.seeds,
            report.iterations,
            report.elapsed_ms / 1000,
            report.elapsed_ms % 1000,
            options.seed,
            report.findings.len()
        );
        let stats = h.stats();
        if !stats.is_empty() {
            println!("[{name}] {stats}");
        }
        findings += report.findings.len();
    }
    if findings > 0 {
        bail!(
            "{findings} inputs broke a property (in {}); fix the bug, then keep each input as a case in tests/fuzz/cases/<harness>/",
            options.findings.display()
        );
    }
    Ok(())
}

//! `cargo xtask`: the one entry point for setting up, building, running and testing wasmtensor.
//!
//! - `cargo xtask dev`  installs what is missing, builds everything, and runs the dev chain.
//! - `cargo xtask test` runs every test in the project; CI calls exactly this.
//! - `cargo xtask demo` runs the example ML subnet end to end on a dev node (docs/neurons.md).
//! - `cargo xtask testnet [--check|--e2e]` runs 4 local validators and serves the wallet, or
//!   checks them (docs/network.md).
//! - `cargo xtask fuzz NAME --time 10m` fuzzes one harness of `tests/fuzz` (or `all`) for longer.

mod layers;
mod testnet;
mod tools;

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Crates that must also build for `wasm32-unknown-unknown` (the contracts' and wallet's view).
const WASM_CRATES: &[&str] = &[
    "tao-types",
    "tao-codec",
    "tao-crypto",
    "tao-tx",
    "tao-state",
    "tao-light",
    "tao-rpc",
    "tao-client",
    "tao-wallet",
];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("dev") => dev(),
        Some("test") => test(),
        Some("wasm") => build_wasm(),
        Some("contracts") => build_contracts(),
        Some("web") => build_web(),
        Some("light-js") => build_light_js(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("demo") => demo(&args[1..]),
        Some("testnet") => testnet::run(&args[1..]),
        Some("e2e") => e2e_on_dev_node(),
        _ => {
            eprintln!("usage: cargo xtask <dev|test|wasm|contracts|web|fuzz|demo|testnet|e2e>");
            eprintln!("  dev   install missing tools, build everything, run the dev chain");
            eprintln!("  test  run every test (what CI runs)");
            eprintln!("  wasm  build the shared crates for wasm32-unknown-unknown");
            eprintln!(
                "  contracts  build every contract module into target/wasm32-unknown-unknown/contract/"
            );
            eprintln!("  web   build the browser wallet into web/dist/ (the dev node serves it)");
            eprintln!("  light-js  build the JS/TS light client package into web/light-js/pkg/");
            eprintln!(
                "  demo [--json] [--offline]  the example ML subnet end to end on a dev node (docs/neurons.md)"
            );
            eprintln!(
                "  fuzz NAME|all [--time 10m] [--seed N] [--iterations N]  fuzz a harness (docs/fuzzing.md)"
            );
            eprintln!("  testnet  run 4 local validators serving the wallet, until Ctrl-C (docs/network.md)");
            eprintln!("  testnet --check  4 validators: same certified headers, a transfer proven, stopped");
            eprintln!("  testnet --e2e    the check, then the wallet's E2E against the 4 validators (CI)");
            eprintln!("  e2e   the wallet's E2E against a dev node (tests/e2e/wallet.mjs)");
            std::process::exit(2)
        }
    }
}

/// Runs `cargo` with `args` in the workspace root, failing on a non-zero exit.
pub(crate) fn cargo(args: &[&str]) -> Result<()> {
    step(&format!("cargo {}", args.join(" ")));
    let status = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(tools::workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("`cargo {}` failed ({status})", args.join(" "));
    }
    Ok(())
}

/// Prints a step header so long runs are easy to follow.
pub(crate) fn step(what: &str) {
    println!("\n==> {what}");
}

fn dev() -> Result<()> {
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen_cli()?;
    cargo(&["build", "--workspace"])?;
    build_wasm()?;
    build_contracts()?;
    build_web()?;
    println!("\nwasmtensor is built. Starting the dev chain (Ctrl-C stops it; state in .tao-dev/).");
    println!("Dev accounts alice, bob, charlie, dave, eve and ferdie hold 1,000,000 τ each (docs/rpc.md).");
    println!("The wallet is at http://127.0.0.1:9944/ once the node prints it.");
    cargo(&["run", "-p", "tao-cli", "--", "node", "--dev", "--base-path", ".tao-dev", "--block-time", "2s"])
}

fn build_wasm() -> Result<()> {
    tools::ensure_wasm_target()?;
    let mut args = vec!["build", "--target", "wasm32-unknown-unknown"];
    for krate in WASM_CRATES {
        args.extend(["-p", krate]);
    }
    cargo(&args)?;
    // The wallet ships the verify side only: check it builds without the proving code.
    cargo(&["build", "--target", "wasm32-unknown-unknown", "-p", "tao-state", "--no-default-features"])
}

/// Builds the browser wallet into `web/dist/`: the contracts first (the wallet records their
/// code hashes as the modules it carries, `contracts/client/build.rs`), then the crate in the
/// size-optimized `web` profile, its JavaScript bindings with wasm-bindgen-cli (no Trunk
/// needed), and the page from `www/` with Trunk's asset links replaced by plain ones.
pub(crate) fn build_web() -> Result<()> {
    let root = tools::workspace_root();
    let out = root.join("web/dist");
    bindgen("tao-web", &out, &["--no-typescript"])?;
    copy_www(&root.join("www"), &out)?;
    write_checkpoints(&out)?;
    let size = std::fs::metadata(out.join("tao_web_bg.wasm")).map(|m| m.len()).unwrap_or(0);
    println!("    web/dist/tao_web_bg.wasm ({size} bytes; budget {WEB_BUDGET_BYTES})");
    if size > WEB_BUDGET_BYTES {
        bail!("the wallet bundle is {size} bytes, over its {WEB_BUDGET_BYTES}-byte budget");
    }
    Ok(())
}

/// Builds `package` for the browser: the contracts first (the wallet's logic records their
/// code hashes, `contracts/client/build.rs`), then the crate in the size-optimized `web` profile, its
/// JavaScript bindings (`--target web`, plus `extra` options) with wasm-bindgen-cli into `out`,
/// shrunk by wasm-opt.
fn bindgen(package: &str, out: &std::path::Path, extra: &[&str]) -> Result<()> {
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen_cli()?;
    build_contracts()?;
    cargo(&["build", "--profile", "web", "--target", "wasm32-unknown-unknown", "-p", package])?;
    let wasm =
        tools::target_dir().join(format!("wasm32-unknown-unknown/web/{}.wasm", package.replace('-', "_")));
    step(&format!("wasm-bindgen --target web --out-dir {}", out.display()));
    let status = Command::new("wasm-bindgen")
        .args(["--target", "web"])
        .args(extra)
        .args(["--remove-name-section", "--remove-producers-section", "--out-dir"])
        .arg(out)
        .arg(&wasm)
        .status()
        .context("running wasm-bindgen (installed by `cargo xtask dev`)")?;
    if !status.success() {
        bail!("wasm-bindgen failed ({status})");
    }
    shrink(&out.join(format!("{}_bg.wasm", package.replace('-', "_"))))
}

/// Runs binaryen's `wasm-opt -Oz` over the bundle in place: the interpreter that runs on-chain
/// code (wasmi) would not fit the budget otherwise (BENCHMARKS.md).
fn shrink(wasm: &std::path::Path) -> Result<()> {
    let wasm_opt = tools::ensure_wasm_opt()?;
    step(&format!("wasm-opt -Oz {}", wasm.display()));
    let features = ["bulk-memory", "mutable-globals", "sign-ext", "nontrapping-float-to-int"];
    let status = Command::new(wasm_opt)
        .args(["-Oz", "--converge"])
        .args(features.iter().map(|f| format!("--enable-{f}")))
        .arg(wasm)
        .arg("-o")
        .arg(wasm)
        .status()
        .context("running wasm-opt")?;
    if !status.success() {
        bail!("wasm-opt failed ({status})");
    }
    Ok(())
}

/// Builds the JS/TS light client package into `web/light-js/pkg/`: the crate in the `web`
/// profile, its bindings and TypeScript types with wasm-bindgen-cli (`--target web`: an ES
/// module for browsers, loaded in Node by `load.mjs`), shrunk by wasm-opt, with the package
/// files of `web/light-js/npm/`.
fn build_light_js() -> Result<()> {
    let root = tools::workspace_root();
    let out = root.join("web/light-js/pkg");
    bindgen("tao-light-js", &out, &[])?;
    for entry in std::fs::read_dir(root.join("web/light-js/npm"))? {
        let path = entry?.path();
        let name = path.file_name().context("a package file")?;
        std::fs::copy(&path, out.join(name)).with_context(|| format!("copying {}", path.display()))?;
    }
    let size = std::fs::metadata(out.join("tao_light_js_bg.wasm")).map(|m| m.len()).unwrap_or(0);
    println!("    web/light-js/pkg/tao_light_js_bg.wasm ({size} bytes)");
    Ok(())
}

/// The JS package's example against a dev node, and through a tampering proxy where every
/// read must reject (tests/light-js/light.mjs).
fn light_js_end_to_end() -> Result<()> {
    build_light_js()?;
    step("node tests/light-js/light.mjs (the JS light client against a dev node and a lying one)");
    let status = Command::new("node")
        .arg("tests/light-js/light.mjs")
        .current_dir(tools::workspace_root())
        .status()
        .context("running node (install Node.js)")?;
    if !status.success() {
        bail!("the JS light client test failed ({status})");
    }
    Ok(())
}

/// Writes `checkpoints.json`, the genesis hash and chain id of each known network, which the
/// wallet pins without asking: the dev chain's, as `tao node --dev --print-spec` computes it
/// from this workspace's contracts.
fn write_checkpoints(out: &std::path::Path) -> Result<()> {
    let args = ["run", "-q", "-p", "tao-cli", "--", "node", "--dev", "--print-spec"];
    step(&format!("cargo {}", args.join(" ")));
    let printed = Command::new(env!("CARGO"))
        .args(args)
        .current_dir(tools::workspace_root())
        .output()
        .context("running cargo")?;
    if !printed.status.success() {
        bail!(
            "`tao node --dev --print-spec` failed (build the contracts first: cargo xtask contracts): {}",
            String::from_utf8_lossy(&printed.stderr)
        );
    }
    let spec: serde_json::Value = serde_json::from_slice(&printed.stdout).context("the printed dev spec")?;
    let mut dev = spec["checkpoint"].clone();
    dev["name"] = "dev".into();
    let checkpoints = serde_json::Value::Array(vec![dev]);
    std::fs::write(out.join("checkpoints.json"), checkpoints.to_string()).context("writing checkpoints.json")
}

/// Copies the page's assets from `www/` into `out`, `index.html` without Trunk's links.
fn copy_www(www: &std::path::Path, out: &std::path::Path) -> Result<()> {
    for entry in std::fs::read_dir(www).context("reading www/")? {
        let path = entry?.path();
        let name = path.file_name().context("a file in www/")?;
        if name == "index.html" {
            let page = std::fs::read_to_string(&path).context("reading www/index.html")?;
            std::fs::write(out.join(name), plain_page(&page)).context("writing web/dist/index.html")?;
        } else {
            std::fs::copy(&path, out.join(name)).with_context(|| format!("copying {}", path.display()))?;
        }
    }
    Ok(())
}

/// Largest wallet bundle allowed (raw wasm bytes).
const WEB_BUDGET_BYTES: u64 = 1_500_000;

/// `www/index.html` without Trunk: its Rust link becomes the module script that starts the
/// wallet, its CSS link a stylesheet link, and its copy-file links go (`copy_www` copies).
fn plain_page(page: &str) -> String {
    page.lines()
        .filter(|line| !(line.contains("data-trunk") && line.contains("rel=\"copy-file\"")))
        .map(|line| {
            if line.contains("data-trunk") && line.contains("rel=\"rust\"") {
                r#"  <script type="module">import init from "./tao_web.js"; init();</script>"#.to_string()
            } else {
                line.replace("data-trunk rel=\"css\"", "rel=\"stylesheet\"")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Builds every `tao-contract-*` crate under `contracts/` as a size-optimized, overflow-checked
/// module with a 64 KiB stack (so modules fit the VM's initial-memory limit). One cargo run per
/// contract: building them together would unify features and put one contract's exports into
/// another's module, so a module's bytes (and code hash) would depend on what it was built with.
pub(crate) fn build_contracts() -> Result<()> {
    tools::ensure_wasm_target()?;
    let out = tools::target_dir().join("wasm32-unknown-unknown/contract");
    for krate in tools::contract_crates()? {
        let args =
            ["build", "--profile", "contract", "--target", "wasm32-unknown-unknown", "-p", krate.as_str()];
        step(&format!("cargo {}", args.join(" ")));
        let status = Command::new(env!("CARGO"))
            .args(args)
            .env("RUSTFLAGS", "-C link-arg=-zstack-size=65536")
            .current_dir(tools::workspace_root())
            .status()
            .context("running cargo")?;
        if !status.success() {
            bail!("building {krate} failed ({status})");
        }
        let file = out.join(format!("{}.wasm", krate.replace('-', "_")));
        let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
        println!("    {} ({size} bytes)", file.display());
    }
    Ok(())
}

/// `cargo xtask demo`: builds the contracts, then runs `tao subnet demo` with `args`.
fn demo(args: &[String]) -> Result<()> {
    tools::ensure_wasm_target()?;
    build_contracts()?;
    let mut run = vec!["run", "-q", "-p", "tao-cli", "--", "subnet", "demo"];
    run.extend(args.iter().map(String::as_str));
    cargo(&run)
}

fn test() -> Result<()> {
    step("crate layers (ARCHITECTURE.md)");
    layers::check(&tools::workspace_root())?;
    tools::ensure_wasm_target()?;
    tools::ensure_wasm_bindgen_cli()?;
    cargo(&["fmt", "--all", "--check"])?;
    cargo(&["clippy", "--workspace", "--all-targets", "--", "-D", "warnings"])?;
    build_wasm()?;
    build_contracts()?;
    build_web()?;
    cargo(&["test", "--workspace"])?;
    fuzz_briefly()?;
    browser_tests()?;
    // The wallet's E2E against 4 validator processes, after `tao testnet check` on them (the
    // dev-node variant runs by hand: `cargo xtask e2e`).
    testnet::bounded(true)?;
    light_js_end_to_end()?;
    println!("\nall checks passed");
    Ok(())
}

/// Seconds each fuzz harness runs in `cargo xtask test` (fixed seed; all six, with the dev
/// node's set-up, take 35–40 s in a debug build).
const CI_FUZZ_SECONDS: &str = "3s";
/// The seed `cargo xtask test` fuzzes from: a fixed one, so a CI failure reproduces.
const CI_FUZZ_SEED: &str = "1";

/// Every fuzz harness for a few seconds from a fixed seed, after replaying its kept cases and
/// seeds (the node harness needs the contracts `build_contracts` made).
fn fuzz_briefly() -> Result<()> {
    cargo(&["run", "-p", "tao-fuzz", "--", "all", "--time", CI_FUZZ_SECONDS, "--seed", CI_FUZZ_SEED])
}

/// `cargo xtask fuzz NAME|all [--time 10m] [--seed N] [--iterations N]`: one harness (or all)
/// for longer, with a progress line every 10 seconds. Without `--seed` the seed is the time,
/// so each run explores new inputs (the seed is printed, to reproduce).
fn fuzz(args: &[String]) -> Result<()> {
    if args.is_empty() {
        bail!("usage: cargo xtask fuzz NAME|all [--time 10m] [--seed N] [--iterations N] (docs/fuzzing.md)");
    }
    let mut run: Vec<String> = ["run", "-p", "tao-fuzz", "--"].map(String::from).to_vec();
    run.extend(args.iter().cloned());
    if !args.iter().any(|a| a == "--time" || a == "--iterations") {
        run.extend(["--time".into(), "1m".into()]);
    }
    if !args.iter().any(|a| a == "--progress") {
        run.extend(["--progress".into(), "10s".into()]);
    }
    if !args.iter().any(|a| a == "--seed") {
        #[allow(clippy::disallowed_methods, reason = "a fresh fuzzing seed; not consensus code")]
        let seed =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
        println!("fuzzing from seed {seed} (pass --seed {seed} to repeat this run)");
        run.extend(["--seed".into(), seed.to_string()]);
    }
    let run: Vec<&str> = run.iter().map(String::as_str).collect();
    cargo(&run)
}

/// The wallet logic's test suite again, compiled to wasm32 and run in headless Chromium.
fn browser_tests() -> Result<()> {
    let chromedriver =
        tools::require("chromedriver", "/usr/bin/chromedriver", "apt-get install chromium-driver")?;
    step("cargo test -p tao-client -p tao-wallet --target wasm32-unknown-unknown (headless Chromium)");
    let status = Command::new(env!("CARGO"))
        .args(["test", "-p", "tao-client", "-p", "tao-wallet", "--target", "wasm32-unknown-unknown"])
        .env("CHROMEDRIVER", chromedriver)
        .current_dir(tools::workspace_root())
        .status()
        .context("running cargo")?;
    if !status.success() {
        bail!("the browser test suite failed ({status})");
    }
    Ok(())
}

/// `cargo xtask e2e`: the wallet's E2E against a dev node, by hand (CI runs it against 4
/// validators: `cargo xtask testnet --e2e`).
fn e2e_on_dev_node() -> Result<()> {
    build_web()?;
    cargo(&["build", "-p", "tao-cli"])?;
    wallet_end_to_end(None)
}

/// The Playwright run of the served wallet against a real dev node (tests/e2e/wallet.mjs), or
/// with `testnet` = (its nodes' URLs, its directory) against a running validator network;
/// screenshots land in `target/e2e/`.
pub(crate) fn wallet_end_to_end(testnet: Option<(&str, &std::path::Path)>) -> Result<()> {
    tools::require("chromium", "/usr/bin/chromium", "apt-get install chromium")?;
    let dir = tools::workspace_root().join("tests/e2e");
    tools::ensure_npm_packages(&dir)?;
    let against = if testnet.is_some() { "4 validators" } else { "a dev node" };
    step(&format!("node tests/e2e/wallet.mjs (the wallet in headless Chromium against {against})"));
    let mut node = Command::new("node");
    node.arg("wallet.mjs").env("E2E_ARTIFACTS", tools::target_dir().join("e2e")).current_dir(&dir);
    if let Some((urls, network)) = testnet {
        node.env("E2E_NODES", urls).env("E2E_NETWORK", network);
    }
    let status = node.status().context("running node (install Node.js)")?;
    if !status.success() {
        bail!("the wallet end-to-end test failed ({status}); screenshots in target/e2e/");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_plain_page_starts_the_wallet_without_trunk() {
        let page = std::fs::read_to_string(super::tools::workspace_root().join("www/index.html"))
            .unwrap_or_default();
        let plain = super::plain_page(&page);
        assert!(!plain.contains("data-trunk"), "{plain}");
        assert!(plain.contains(r#"import init from "./tao_web.js""#));
        assert!(plain.contains(r#"<link rel="stylesheet" href="styles.css" />"#));
        assert!(plain.contains(r#"href="favicon.svg""#));
    }
}

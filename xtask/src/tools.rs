//! Installing the tools the build needs, each only when missing.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::step;

/// The workspace root (the parent of `xtask/`).
pub(crate) fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// The cargo target directory (`CARGO_TARGET_DIR` or `target/`).
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| workspace_root().join("target"))
}

/// Adds the wasm32 target through rustup (`RUSTUP_AUTO_INSTALL=0` stops cargo doing it).
pub(crate) fn ensure_wasm_target() -> Result<()> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("running rustup: is Rust installed through rustup?")?;
    if String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        return Ok(());
    }
    step("rustup target add wasm32-unknown-unknown");
    let status = Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]).status()?;
    if !status.success() {
        bail!("could not add the wasm32-unknown-unknown target");
    }
    Ok(())
}

/// The version of `package` recorded in Cargo.lock, if it is there.
pub(crate) fn locked_version(package: &str) -> Result<Option<String>> {
    let lock = std::fs::read_to_string(workspace_root().join("Cargo.lock")).context("reading Cargo.lock")?;
    let needle = format!("name = \"{package}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == needle
            && let Some(v) = lines.next().and_then(|l| l.trim().strip_prefix("version = "))
        {
            return Ok(Some(v.trim_matches('"').to_string()));
        }
    }
    Ok(None)
}

/// Installs `wasm-bindgen-cli` at exactly the wasm-bindgen version in Cargo.lock (the CLI and the
/// library must match byte for byte). Without `--locked`: its own lock pins a crate that the
/// registry no longer serves.
pub(crate) fn ensure_wasm_bindgen_cli() -> Result<()> {
    let Some(version) = locked_version("wasm-bindgen")? else {
        println!("no wasm-bindgen in Cargo.lock: skipping wasm-bindgen-cli");
        return Ok(());
    };
    let current = Command::new("wasm-bindgen").arg("--version").output().ok();
    if current.is_some_and(|o| String::from_utf8_lossy(&o.stdout).contains(&version)) {
        return Ok(());
    }
    step(&format!("cargo install wasm-bindgen-cli --version {version} (about 2 minutes, once)"));
    let status =
        Command::new(env!("CARGO")).args(["install", "wasm-bindgen-cli", "--version", &version]).status()?;
    if !status.success() {
        bail!("could not install wasm-bindgen-cli {version}");
    }
    Ok(())
}

/// The binaryen release whose `wasm-opt` shrinks the wallet bundle (npm package `binaryen`).
const BINARYEN: &str = "132.0.0";

/// `wasm-opt` from binaryen [`BINARYEN`], installed with npm under the target directory once.
pub(crate) fn ensure_wasm_opt() -> Result<PathBuf> {
    let dir = target_dir().join(format!("tools/binaryen-{BINARYEN}"));
    let bin = dir.join("node_modules/.bin/wasm-opt");
    if bin.exists() {
        return Ok(bin);
    }
    step(&format!("npm install binaryen@{BINARYEN} (wasm-opt, once)"));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund", "--prefix"])
        .arg(&dir)
        .arg(format!("binaryen@{BINARYEN}"))
        .status()
        .context("running npm (install Node.js and npm)")?;
    if !status.success() || !bin.exists() {
        bail!("could not install binaryen {BINARYEN} with npm");
    }
    Ok(bin)
}

/// Package names of the contract modules: every `contracts/*/Cargo.toml` and
/// `contracts/examples/*/Cargo.toml` named `tao-contract-*`
/// that builds a `cdylib`.
pub(crate) fn contract_crates() -> Result<Vec<String>> {
    let mut names = Vec::new();
    let contracts = workspace_root().join("contracts");
    for dir in [contracts.clone(), contracts.join("examples"), contracts.join("hostile")] {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("reading {}", dir.display()))? {
            let manifest = entry?.path().join("Cargo.toml");
            let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
            let name = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("name = "))
                .map(|n| n.trim_matches('"').to_string());
            // Library-only crates (no `cdylib`, e.g. the pools) are compiled into the modules that use them.
            if let Some(name) = name.filter(|n| n.starts_with("tao-contract-") && text.contains("cdylib")) {
                names.push(name);
            }
        }
    }
    names.sort();
    Ok(names)
}

/// The path of a tool the browser tests need, or a clear error saying how to install it.
pub(crate) fn require(name: &str, path: &str, install: &str) -> Result<PathBuf> {
    let path = PathBuf::from(path);
    if path.exists() {
        return Ok(path);
    }
    bail!("{name} is missing at {} (install it: {install}; `.ci/run` does)", path.display())
}

/// Installs the npm packages of `dir` (pinned in its package.json) unless present.
pub(crate) fn ensure_npm_packages(dir: &std::path::Path) -> Result<()> {
    if dir.join("node_modules/playwright-core/package.json").exists() {
        return Ok(());
    }
    step(&format!("npm install in {}", dir.display()));
    let status = Command::new("npm")
        .args(["install", "--no-audit", "--no-fund"])
        .current_dir(dir)
        .status()
        .context("running npm (install Node.js and npm)")?;
    if !status.success() {
        bail!("npm install failed ({status})");
    }
    Ok(())
}

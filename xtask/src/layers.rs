//! The crate layers of ARCHITECTURE.md, checked from the manifests: each top-level folder may
//! depend only on the internal crates of the folders below it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Each layer and the layers its crates may use (itself included).
const ALLOWED: &[(&str, &[&str])] = &[
    ("shared", &["shared"]),
    ("contracts", &["shared", "contracts"]),
    ("host", &["shared", "contracts", "host"]),
    ("web", &["shared", "contracts", "web"]),
    ("tests", &["shared", "contracts", "host", "web", "tests"]),
    ("xtask", &[]),
];

/// Fails naming every internal dependency that points up or across the layers.
pub fn check(root: &Path) -> Result<()> {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?;
    check_manifests(&manifest, |member| {
        std::fs::read_to_string(root.join(member).join("Cargo.toml"))
            .with_context(|| format!("reading {member}/Cargo.toml"))
    })
}

/// [`check`] over the workspace manifest and a reader of each member's manifest.
fn check_manifests(manifest: &str, read: impl Fn(&str) -> Result<String>) -> Result<()> {
    let crates = internal_crates(manifest);
    let mut wrong = Vec::new();
    for member in members(manifest) {
        let layer = top(&member);
        let allowed = ALLOWED
            .iter()
            .find(|(name, _)| *name == layer)
            .with_context(|| format!("{member}: folder {layer}/ is not a known layer"))?
            .1;
        for dep in dependencies(&read(&member)?) {
            if let Some(path) = crates.get(dep.as_str())
                && !allowed.contains(&top(path))
            {
                wrong.push(format!("{member} depends on {dep} ({path})"));
            }
        }
    }
    if !wrong.is_empty() {
        bail!("crate layers broken (ARCHITECTURE.md):\n  {}", wrong.join("\n  "));
    }
    Ok(())
}

fn top(path: &str) -> &str {
    path.split('/').next().unwrap_or(path)
}

/// The `members = [...]` paths of the workspace manifest.
fn members(manifest: &str) -> Vec<String> {
    let list = manifest.split("members = [").nth(1).and_then(|s| s.split(']').next()).unwrap_or("");
    list.split(',').map(|s| s.trim().trim_matches('"').to_string()).filter(|s| !s.is_empty()).collect()
}

/// Internal crates by name, with their paths, from `[workspace.dependencies]`.
fn internal_crates(manifest: &str) -> BTreeMap<String, String> {
    manifest
        .lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(" = {")?;
            let path = rest.split("path = \"").nth(1)?.split('"').next()?;
            Some((name.trim().to_string(), path.to_string()))
        })
        .collect()
}

/// Names of every dependency a member's manifest lists (normal, dev and build).
fn dependencies(text: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut names = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_deps = line.contains("dependencies");
            continue;
        }
        let name = line.split(['=', '.', ' ']).next().filter(|n| !n.is_empty() && !n.starts_with('#'));
        if let Some(name) = name.filter(|_| in_deps) {
            names.push(name.to_string());
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    const WORKSPACE: &str = "[workspace]\nmembers = [\n    \"shared/light\",\n    \"host/vm\",\n    \"web/core\",\n]\n\n[workspace.dependencies]\ntao-light = { path = \"shared/light\" }\ntao-vm = { path = \"host/vm\" }\ntao-wallet = { path = \"web/core\" }\n";

    fn run(light: &'static str, web: &'static str) -> Result<()> {
        check_manifests(WORKSPACE, |member| {
            Ok(match member {
                "shared/light" => light,
                "web/core" => web,
                _ => "[dependencies]\ntao-light.workspace = true\n",
            }
            .to_string())
        })
    }

    #[test]
    fn the_workspace_keeps_its_layers() {
        check(&crate::tools::workspace_root()).unwrap();
    }

    #[test]
    fn downward_dependencies_pass() {
        run("[dependencies]\nborsh = \"1\"\n", "[dependencies]\ntao-light.workspace = true\n").unwrap();
    }

    #[test]
    fn upward_and_sideways_dependencies_are_named() {
        let error = run(
            "[dev-dependencies]\ntao-wallet = { workspace = true }\n",
            "[dependencies]\ntao-vm.workspace = true\n",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("shared/light depends on tao-wallet (web/core)"), "{error}");
        assert!(error.contains("web/core depends on tao-vm (host/vm)"), "{error}");
    }
}

//! `tao_vm::Vm::admit` on arbitrary and mutated module bytes (seeds: the hostile fixtures and
//! the smaller compiled contracts): never panics, answers the same twice, admits as `System`
//! everything it admits as `Uploaded` (uploaded rules are stricter), and an admitted module
//! compiles (its instrumented bytes are valid). The input is the module.

use std::path::{Path, PathBuf};

use tao_vm::{CodeClass, Vm, VmConfig};

use super::Harness;
use crate::FuzzError;

/// Admitted modules up to this size are also compiled (compiling is the slow part).
const COMPILE_BELOW: usize = 16 * 1024;
/// Compiled contracts up to this size are seeds.
const CONTRACT_SEED_BELOW: u64 = 32 * 1024;

/// The harness.
pub struct Admit {
    vm: Vm,
}

/// A VM for fuzzing: default limits and gas, a small instance pool, no disk cache.
pub(crate) fn vm(harness: &'static str) -> Result<Vm, FuzzError> {
    Vm::new(VmConfig { max_instances: 2, ..VmConfig::default() })
        .map_err(|e| FuzzError::Setup { harness, why: e.to_string() })
}

/// The workspace's target directory.
pub(crate) fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"))
}

/// The hostile fixtures as module bytes (`.wat` compiled, `.wasm` as is).
pub(crate) fn hostile_modules() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/hostile");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    paths.sort();
    paths
        .iter()
        .filter_map(|p| match p.extension().and_then(|e| e.to_str()) {
            Some("wat") => wat::parse_file(p).ok(),
            Some("wasm") => std::fs::read(p).ok(),
            _ => None,
        })
        .collect()
}

impl Admit {
    pub fn new() -> Result<Admit, FuzzError> {
        Ok(Admit { vm: vm("admit")? })
    }
}

impl Harness for Admit {
    fn name(&self) -> &'static str {
        "admit"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        let mut seeds = hostile_modules();
        let contracts = target_dir().join("wasm32-unknown-unknown/contract");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(contracts)
            .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        paths.sort();
        for path in paths {
            let small = std::fs::metadata(&path).is_ok_and(|m| m.len() < CONTRACT_SEED_BELOW);
            if small && path.extension().is_some_and(|e| e == "wasm") {
                seeds.extend(std::fs::read(&path).ok());
            }
        }
        seeds
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        let uploaded = self.vm.admit(input, CodeClass::Uploaded);
        let again = self.vm.admit(input, CodeClass::Uploaded);
        let system = self.vm.admit(input, CodeClass::System);
        let same = match (&uploaded, &again) {
            (Ok(a), Ok(b)) => a.code_hash == b.code_hash && a.report == b.report,
            (Err(a), Err(b)) => a == b,
            _ => false,
        };
        if !same {
            return Err(format!("admission is not deterministic: {uploaded:?} then {again:?}"));
        }
        match (&uploaded, &system) {
            (Ok(_), Err(e)) => {
                return Err(format!("admitted as uploaded code but refused as system code: {e}"));
            }
            (Ok(u), Ok(s)) if u.report != s.report => {
                return Err(format!("the classes report differently: {:?} vs {:?}", u.report, s.report));
            }
            _ => {}
        }
        if let Ok(admitted) = &system
            && input.len() < COMPILE_BELOW
        {
            let prepared = self.vm.prepare(admitted);
            self.vm.clear_memory_cache();
            if let Err(fault) = prepared {
                return Err(format!("an admitted module does not compile: {fault}"));
            }
        }
        Ok(())
    }
}

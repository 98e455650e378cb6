//! The VM on generated modules: `wasm-smith` builds a module from the input (through
//! `arbitrary`), configured near what admission allows (the ABI's imports, the required
//! exports, no start function, no SIMD/threads/GC; floats only for system code), so most are
//! admitted. When admitted, it must compile, and each entry point runs twice with a small gas
//! limit against a `MemoryStorage` under an arbitrary capability. A call must never panic, never
//! end in a `VmFault` (only running out of instance slots would be acceptable, and one call at a
//! time never does), never charge more than its limit, and give the same `Execution` both times.
//! Termination is the driver's hang watchdog.

use std::collections::BTreeMap;
use std::sync::Arc;

use arbitrary::Unstructured;
use tao_abi::{ValType, imports};
use tao_types::Address;
use tao_vm::{Access, CallContext, CodeClass, MemoryStorage, Vm, VmFault};
use wasm_smith::{Config, InstructionKind, InstructionKinds, Module};

use super::Harness;
use super::admit::vm;
use crate::FuzzError;

/// Most gas one generated call gets.
const MAX_GAS: u64 = 1_000_000;
/// Input bytes that choose the configuration and the calls.
const PARAM_BYTES: usize = 256;
/// Most entry points run per module.
const MAX_ENTRIES: usize = 3;

/// The harness.
pub struct VmHarness {
    vm: Vm,
    /// A module importing every ABI function: what generated modules may import.
    imports: Vec<u8>,
    /// A module with the exports admission requires, and two entry points.
    exports: Vec<u8>,
    /// Modules generated, admitted, and calls by outcome.
    counts: BTreeMap<String, u64>,
}

fn wat_type(t: &ValType) -> &'static str {
    match t {
        ValType::I32 => "i32",
        ValType::I64 => "i64",
    }
}

/// The ABI as a module of imports.
fn imports_module() -> Result<Vec<u8>, wat::Error> {
    let mut text = String::from("(module\n");
    for f in imports::ALL {
        let params: Vec<&str> = f.params.iter().map(wat_type).collect();
        let results: Vec<&str> = f.results.iter().map(wat_type).collect();
        text.push_str(&format!(
            "  (import \"{}\" \"{}\" (func (param {}) (result {})))\n",
            tao_abi::IMPORT_MODULE,
            f.name,
            params.join(" "),
            results.join(" ")
        ));
    }
    text.push(')');
    wat::parse_str(text)
}

fn exports_module() -> Result<Vec<u8>, wat::Error> {
    wat::parse_str(format!(
        r#"(module
            (memory (export "{memory}") 1)
            (func (export "{abi}"))
            (func (export "run"))
            (func (export "call")))"#,
        memory = tao_abi::MEMORY_EXPORT,
        abi = tao_abi::ABI_VERSION_EXPORT,
    ))
}

impl VmHarness {
    pub fn new() -> Result<VmHarness, FuzzError> {
        let setup = |e: wat::Error| FuzzError::Setup { harness: "vm", why: e.to_string() };
        Ok(VmHarness {
            vm: vm("vm")?,
            imports: imports_module().map_err(setup)?,
            exports: exports_module().map_err(setup)?,
            counts: BTreeMap::new(),
        })
    }

    /// wasm-smith's configuration for one module, mostly inside what admission accepts.
    fn config(&self, u: &mut Unstructured<'_>, class: CodeClass) -> arbitrary::Result<Config> {
        let exports = u.ratio(7, 8)?;
        let mut c = Config {
            available_imports: Some(self.imports.clone()),
            exports: exports.then(|| self.exports.clone()),
            allow_start_export: false,
            allow_floats: class == CodeClass::System,
            simd_enabled: false,
            relaxed_simd_enabled: false,
            threads_enabled: false,
            shared_everything_threads_enabled: false,
            tail_call_enabled: false,
            exceptions_enabled: false,
            gc_enabled: false,
            memory64_enabled: false,
            custom_page_sizes_enabled: false,
            wide_arithmetic_enabled: false,
            extended_const_enabled: false,
            // Reference instructions are refused, and wasm-smith's typed references need GC.
            reference_types_enabled: false,
            // Admission allows one result per function type.
            multi_value_enabled: false,
            bulk_memory_enabled: true,
            saturating_float_to_int_enabled: true,
            sign_extension_ops_enabled: true,
            disallow_traps: u.arbitrary()?,
            // The required exports bring the one memory.
            min_memories: u32::from(!exports),
            max_memories: usize::from(!exports),
            max_memory32_bytes: if u.arbitrary()? { 16 << 16 } else { 512 << 16 },
            max_tables: 1,
            max_table_elements: 64,
            max_funcs: 16,
            max_types: 16,
            max_globals: 8,
            max_exports: 8,
            max_data_segments: 8,
            max_element_segments: 8,
            max_elements: 16,
            max_instructions: 200,
            ..Config::default()
        };
        if u.ratio(7, 8)? {
            c.allowed_instructions = InstructionKinds::new(&[
                InstructionKind::Numeric,
                InstructionKind::Parametric,
                InstructionKind::Variable,
                InstructionKind::Memory,
                InstructionKind::Control,
            ]);
        }
        Ok(c)
    }

    /// Runs one input: its first [`PARAM_BYTES`] choose the configuration and the calls (so
    /// a module that eats every other byte still gets real calls), the rest builds the module.
    fn generated(&mut self, input: &[u8]) -> arbitrary::Result<Result<(), String>> {
        let (params, rest) = input.split_at(input.len().min(PARAM_BYTES));
        let u = &mut Unstructured::new(params);
        let class = if u.ratio(1, 4)? { CodeClass::System } else { CodeClass::Uploaded };
        let bytes = if u.ratio(1, 4)? {
            self.count("host calls");
            host_calls(&mut Unstructured::new(rest))?
        } else {
            let config = self.config(u, class)?;
            Module::new(config, &mut Unstructured::new(rest))?.to_bytes()
        };
        self.count("generated");
        let admitted = match self.vm.admit(&bytes, class) {
            Ok(admitted) => admitted,
            Err(e) => {
                self.count(&format!("refused: {}", refusal(&e)));
                return Ok(Ok(()));
            }
        };
        self.count("admitted");
        let prepared = self.vm.prepare(&admitted);
        self.vm.clear_memory_cache();
        let module = match prepared {
            Ok(module) => module,
            Err(fault) => return Ok(Err(format!("an admitted module does not compile: {fault}"))),
        };
        let self_address = tao_abi::access::contract_address(&admitted.code_hash);
        let access = match u.int_in_range(0..=2)? {
            0 if class == CodeClass::Uploaded => Access::Contract(self_address),
            1 => Access::ReadOnly,
            _ => Access::System,
        };
        let mut state = BTreeMap::new();
        for _ in 0..u.int_in_range(0..=4)? {
            let key = match u.int_in_range(0..=2)? {
                0 => [tao_abi::access::CONTRACT_PREFIX, self_address.0.as_slice(), b"/k"].concat(),
                1 => b"sys/x".to_vec(),
                _ => u.arbitrary::<Vec<u8>>()?,
            };
            state.insert(key, u.arbitrary::<Vec<u8>>()?);
        }
        let storage = Arc::new(MemoryStorage(state));
        let mut entries: Vec<String> =
            admitted.report.entry_points.iter().take(MAX_ENTRIES).cloned().collect();
        entries.push("missing".into());
        for entry in entries {
            let input_len = u.int_in_range(0..=64)?;
            let input = u.bytes(input_len)?.to_vec();
            // Counted down, so that running out of bytes gives the most gas, not none.
            let gas = MAX_GAS - u.int_in_range(0..=MAX_GAS)?;
            let context = CallContext {
                caller: Address(u.arbitrary()?),
                block_height: u.arbitrary()?,
                block_time_ms: u.arbitrary()?,
                access,
            };
            let call = || match access {
                Access::Contract(_) => self.vm.call_contract(
                    &module,
                    &entry,
                    &input,
                    context,
                    storage.clone(),
                    gas,
                    Arc::new(BTreeMap::new()),
                ),
                _ => self.vm.call(&module, &entry, &input, context, storage.clone(), gas),
            };
            let first = call();
            let second = call();
            let first = match first {
                Ok(execution) => {
                    let kind = format!("{:?}", execution.outcome);
                    self.count(&format!("call: {}", kind.split(['(', ' ']).next().unwrap_or_default()));
                    execution
                }
                Err(fault) if exhausted(&fault) => continue,
                Err(fault) => return Ok(Err(format!("`{entry}` ended in a node fault: {fault}"))),
            };
            if first.gas_used > gas {
                return Ok(Err(format!("`{entry}` charged {} gas over its limit of {gas}", first.gas_used)));
            }
            match second {
                Ok(again) if again == first => {}
                other => {
                    return Ok(Err(format!(
                        "`{entry}` is not deterministic: {:?} then {:?}",
                        first.outcome,
                        other.map(|e| e.outcome)
                    )));
                }
            }
        }
        Ok(Ok(()))
    }
}

/// Whether a fault is running out of instance slots or memory: the one kind a node may meet
/// under load (and then retries), never a property of the code.
fn exhausted(fault: &VmFault) -> bool {
    matches!(fault, VmFault::Instantiate(m) if m.contains("concurrent") || m.contains("resource"))
}

/// A module whose `run` calls host functions in a loop-free sequence with arbitrary arguments
/// (pointers and lengths near the memory's edges, huge, negative), dropping their results:
/// the host must refuse bad ones with a `HostError`, never fail itself.
fn host_calls(u: &mut Unstructured<'_>) -> arbitrary::Result<Vec<u8>> {
    const I32S: &[i64] =
        &[0, 1, 8, 20, 32, 64, 255, 256, 4096, 65_504, 65_535, 65_536, 131_072, -1, i32::MAX as i64];
    let mut text = String::from("(module\n");
    for (i, f) in imports::ALL.iter().enumerate() {
        let params: Vec<&str> = f.params.iter().map(wat_type).collect();
        let results: Vec<&str> = f.results.iter().map(wat_type).collect();
        text.push_str(&format!(
            "  (import \"{}\" \"{}\" (func $f{i} (param {}) (result {})))\n",
            tao_abi::IMPORT_MODULE,
            f.name,
            params.join(" "),
            results.join(" ")
        ));
    }
    let pages = u.int_in_range(1..=2)?;
    text.push_str(&format!("  (memory (export \"{}\") {pages})\n", tao_abi::MEMORY_EXPORT));
    text.push_str(&format!(
        "  (data (i32.const 0) \"sys/x\")\n  (func (export \"{}\"))\n",
        tao_abi::ABI_VERSION_EXPORT
    ));
    text.push_str("  (func (export \"run\")\n");
    for _ in 0..u.int_in_range(1..=12)? {
        let mut i = u.choose_index(imports::ALL.len())?;
        if imports::ALL[i].name == imports::ABORT.name && u.ratio(7, 8)? {
            i = u.choose_index(imports::ALL.len())?; // ends the call: rarer, so more calls run
        }
        let f = &imports::ALL[i];
        text.push_str(&format!("    (call $f{i}"));
        for p in f.params {
            let value = if u.ratio(3, 4)? { *u.choose(I32S)? } else { i64::from(u.arbitrary::<i32>()?) };
            match p {
                ValType::I32 => text.push_str(&format!(" (i32.const {})", value as i32)),
                ValType::I64 => text.push_str(&format!(" (i64.const {value})")),
            }
        }
        text.push(')');
        if !f.results.is_empty() {
            text.push_str(" drop");
        }
        text.push('\n');
    }
    text.push_str("  ))");
    wat::parse_str(&text).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// A refusal's kind, without the names and numbers that make each one different.
fn refusal(e: &tao_vm::AdmissionError) -> String {
    let text = e.to_string();
    let kind: String =
        text.split([':', '(', '`']).take(if text.starts_with("invalid") { 2 } else { 1 }).collect();
    kind.split(" (at offset").next().unwrap_or_default().chars().filter(|c| !c.is_ascii_digit()).collect()
}

impl VmHarness {
    fn count(&mut self, what: &str) {
        *self.counts.entry(what.to_string()).or_default() += 1;
    }
}

impl Harness for VmHarness {
    fn name(&self) -> &'static str {
        "vm"
    }

    fn seeds(&self) -> Vec<Vec<u8>> {
        // Generated modules need no valid encodings: a few spreads of bytes to start from.
        (0u8..8)
            .map(|s| (0..4096u32).map(|i| (i.wrapping_mul(31) as u8) ^ s.wrapping_mul(97)).collect())
            .collect()
    }

    fn stats(&self) -> String {
        self.counts.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    }

    fn run(&mut self, input: &[u8]) -> Result<(), String> {
        self.generated(input).unwrap_or(Ok(()))
    }
}

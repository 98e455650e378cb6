//! The interpreter's boundary on hand-assembled modules (real contracts run in `crate::tests`).
#![allow(clippy::unwrap_used, reason = "tests")]

use tao_abi::ValType;
use tao_types::{Hash, keccak256};

use super::{Access, Call, Code, WasmError, imports};
use crate::proven::ProvenHost;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn leb(mut n: usize, out: &mut Vec<u8>) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        out.push(if n == 0 { byte } else { byte | 0x80 });
        if n == 0 {
            return;
        }
    }
}

fn name(text: &str, out: &mut Vec<u8>) {
    leb(text.len(), out);
    out.extend(text.as_bytes());
}

fn section(id: u8, count: usize, items: &[u8], out: &mut Vec<u8>) {
    let mut body = Vec::new();
    leb(count, &mut body);
    body.extend(items);
    out.push(id);
    leb(body.len(), out);
    out.extend(body);
}

fn val(t: &ValType) -> u8 {
    match t {
        ValType::I32 => 0x7f,
        ValType::I64 => 0x7e,
    }
}

/// A module importing `imports` (module `env`), exporting its memory and one entry point
/// `entry` whose body is `code` (instructions, without the final `end`).
fn module(imports: &[(&str, &[ValType], &[ValType])], entry: &str, code: &[u8]) -> Vec<u8> {
    let mut out = b"\0asm\x01\0\0\0".to_vec();
    let mut types = Vec::new();
    let mut imported = Vec::new();
    for (i, (field, params, results)) in imports.iter().enumerate() {
        types.push(0x60);
        leb(params.len(), &mut types);
        types.extend(params.iter().map(val));
        leb(results.len(), &mut types);
        types.extend(results.iter().map(val));
        name("env", &mut imported);
        name(field, &mut imported);
        imported.push(0x00);
        leb(i, &mut imported);
    }
    types.extend([0x60, 0, 0]);
    section(1, imports.len() + 1, &types, &mut out);
    section(2, imports.len(), &imported, &mut out);
    let mut functions = Vec::new();
    leb(imports.len(), &mut functions);
    section(3, 1, &functions, &mut out);
    section(5, 1, &[0x00, 1], &mut out);
    let mut exports = Vec::new();
    name(tao_abi::MEMORY_EXPORT, &mut exports);
    exports.extend([0x02, 0]);
    name(entry, &mut exports);
    exports.push(0x00);
    leb(imports.len(), &mut exports);
    section(7, 2, &exports, &mut out);
    let mut body = vec![0];
    body.extend(code);
    body.push(0x0b);
    let mut bodies = Vec::new();
    leb(body.len(), &mut bodies);
    bodies.extend(body);
    section(10, 1, &bodies, &mut out);
    out
}

fn compiled(bytes: &[u8]) -> Result<Code, WasmError> {
    Code::verified(Hash(keccak256(bytes)), bytes)
}

/// Fuel for these tests: plenty for what they run, little enough that a loop ends at once.
const FUEL: u64 = 1_000_000;

fn run(code: &Code, entry: &str) -> Result<Vec<u8>, WasmError> {
    let call =
        Call { entry, caller: Default::default(), input: Vec::new(), access: Access::ReadOnly, fuel: FUEL };
    code.call(&mut ProvenHost::default(), call)
}

#[test]
fn every_abi_import_is_linked_with_its_signature() {
    let all: Vec<_> = imports::ALL.iter().map(|f| (f.name, f.params, f.results)).collect();
    let code = compiled(&module(&all, "entry_noop", &[])).unwrap();
    assert_eq!(run(&code, "entry_noop"), Ok(Vec::new()), "instantiation links all {} imports", all.len());
}

#[test]
fn an_import_outside_the_abi_is_refused() {
    let wrong: &[ValType] = &[ValType::I64];
    for import in [("input", wrong, &[][..]), ("open_socket", &[][..], &[][..])] {
        let err = compiled(&module(&[import], "entry_noop", &[])).unwrap_err();
        assert!(matches!(&err, WasmError::Invalid(why) if why.contains(import.0)), "{err}");
    }
}

#[test]
fn bytes_that_do_not_hash_to_the_proven_hash_are_refused() {
    let bytes = module(&[], "entry_noop", &[]);
    let proven = Hash(keccak256(&bytes));
    let mut tampered = bytes.clone();
    *tampered.last_mut().unwrap() = 0x01; // `end` becomes `nop`
    let err = Code::verified(proven, &tampered).unwrap_err();
    assert_eq!(err, WasmError::Tampered { expected: proven, actual: Hash(keccak256(&tampered)) });
    assert!(err.to_string().contains("refused"));
}

#[test]
fn a_module_that_loops_runs_out_of_fuel() {
    // loop (br 0) end
    let code = compiled(&module(&[], "entry_spin", &[0x03, 0x40, 0x0c, 0x00, 0x0b])).unwrap();
    let err = run(&code, "entry_spin").unwrap_err();
    assert_eq!(err, WasmError::OutOfFuel(FUEL));
    assert!(err.to_string().contains("out of fuel"), "{err}");
    assert_eq!(run(&code, "entry_missing"), Err(WasmError::NoSuchEntry("entry_missing".into())));
}

//! Every fixture in `contracts/hostile` with its exact golden result. A change to the engine, the
//! gas schedule or the instrumentation that moves any of these numbers fails here, on purpose: it
//! is a protocol change. Set `TAO_PRINT_GOLDEN=1` to print the current values.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use tao_vm::{CallContext, CodeClass, MemoryStorage};

/// Gas limit for every fixture call.
const GAS: u64 = 10_000_000;

/// What a fixture must do.
enum Expect {
    /// Refused at admission with this message.
    Rejected(&'static str),
    /// Admitted; each `(entry, input length, outcome and gas)` call gives exactly that.
    Runs(&'static [(&'static str, usize, &'static str)]),
}

use Expect::*;

const CASES: &[(&str, CodeClass, Expect)] = &[
    ("infinite_loop.wat", CodeClass::Uploaded, Runs(&[("run", 0, "OutOfGas gas=10000000")])),
    ("start_loop.wat", CodeClass::Uploaded, Rejected("start functions are not allowed")),
    (
        "memory_grow_bomb.wat",
        CodeClass::Uploaded,
        Runs(&[("grow_huge", 0, "OutOfGas gas=10000000"), ("grow_loop", 0, "Ok gas=291749")]),
    ),
    ("oversized_memory.wat", CodeClass::Uploaded, Rejected("initial memory is 1000 pages, limit is 16")),
    ("deep_recursion.wat", CodeClass::Uploaded, Runs(&[("run", 0, "StackLimit gas=52658")])),
    (
        "huge_table.wat",
        CodeClass::Uploaded,
        Rejected("at most one table of at most 4096 elements (found 1000000)"),
    ),
    (
        "float_op.wat",
        CodeClass::Uploaded,
        Rejected("float instruction in function 2 (offset 86); uploaded code may not use floats"),
    ),
    ("float_global.wat", CodeClass::Uploaded, Rejected("f64 in global 0; uploaded code may not use floats")),
    (
        "float_local.wat",
        CodeClass::Uploaded,
        Rejected("f32 in the locals of function 1; uploaded code may not use floats"),
    ),
    ("float_param.wat", CodeClass::Uploaded, Rejected("f64 in type 1; uploaded code may not use floats")),
    (
        "float_block.wat",
        CodeClass::Uploaded,
        Rejected("f64 in a block type in function 1 (offset 63); uploaded code may not use floats"),
    ),
    ("unknown_import.wat", CodeClass::Uploaded, Rejected("unknown import env.read_file")),
    (
        "wrong_import_signature.wat",
        CodeClass::Uploaded,
        Rejected("import storage_get has the wrong signature"),
    ),
    ("missing_abi_export.wat", CodeClass::Uploaded, Rejected("missing export `tao_abi_v1`")),
    (
        "malformed.wasm",
        CodeClass::Uploaded,
        Rejected("invalid module: unexpected end-of-file (at offset 0xe)"),
    ),
    ("trap_mid_writes.wat", CodeClass::Uploaded, Runs(&[("run", 0, "Trap(Unreachable) gas=9769")])),
    (
        "oversized_io.wat",
        CodeClass::Uploaded,
        Runs(&[
            ("big_key", 0, r#"HostError(TooLong { what: "key", len: 1000000, limit: 256 }) gas=5527"#),
            ("big_value", 0, r#"HostError(TooLong { what: "value", len: 100000, limit: 65536 }) gas=7029"#),
            ("big_output", 0, r#"HostError(TooLong { what: "output", len: 100000, limit: 65536 }) gas=5027"#),
            ("out_of_bounds", 0, "HostError(OutOfBounds) gas=7259"),
            (
                "read_input",
                300_000,
                r#"HostError(TooLong { what: "input", len: 300000, limit: 262144 }) gas=5000"#,
            ),
        ]),
    ),
    ("many_iterators.wat", CodeClass::Uploaded, Runs(&[("run", 0, "HostError(TooManyIterators) gas=13959")])),
    (
        "simd.wat",
        CodeClass::Uploaded,
        Rejected("invalid module: SIMD support is not enabled (at offset 0x41)"),
    ),
    ("table_grow.wat", CodeClass::Uploaded, Rejected("instruction RefNull in function 1 is not allowed")),
    ("bulk_fill.wat", CodeClass::Uploaded, Runs(&[("run", 0, "Ok gas=65005")])),
    (
        "bad_entry_signature.wat",
        CodeClass::Uploaded,
        Rejected("exported function `run` must take no parameters and return nothing"),
    ),
    (
        "data_out_of_bounds.wat",
        CodeClass::Uploaded,
        Rejected("active data segment 0 lies outside the initial memory or table"),
    ),
    ("duplicate_import.wat", CodeClass::Uploaded, Rejected("import emit appears more than once")),
    ("burn_then_fault.wat", CodeClass::Uploaded, Runs(&[("run", 0, "Trap(MemoryOutOfBounds) gas=10000000")])),
    ("abort.wat", CodeClass::Uploaded, Runs(&[("run", 0, r#"Abort("no such subnet") gas=7153"#)])),
    ("epoch_loop.wat", CodeClass::Uploaded, Runs(&[("entry_epoch", 0, "OutOfGas gas=10000000")])),
    (
        "epoch_memory_bomb.wat",
        CodeClass::Uploaded,
        Runs(&[("entry_epoch", 0, "Trap(Unreachable) gas=287624")]),
    ),
    ("epoch_bad_output.wat", CodeClass::Uploaded, Runs(&[("entry_epoch", 0, "Ok gas=5032")])),
];

fn fixture_bytes(name: &str) -> Vec<u8> {
    let path = common::hostile_dir().join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if name.ends_with(".wat") {
        wat::parse_bytes(&bytes).expect("fixture is valid text").into_owned()
    } else {
        bytes
    }
}

#[test]
fn every_fixture_has_a_golden_case() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(common::hostile_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".wat") || n.ends_with(".wasm"))
        .collect();
    let covered: BTreeSet<String> = CASES.iter().map(|(n, _, _)| n.to_string()).collect();
    assert_eq!(on_disk, covered, "every hostile fixture needs exactly one golden case");
}

#[test]
fn float_types_are_refused_only_in_uploaded_code() {
    let vm = common::vm();
    for name in ["float_global.wat", "float_local.wat", "float_param.wat", "float_block.wat"] {
        assert!(vm.admit(&fixture_bytes(name), CodeClass::System).is_ok(), "{name}");
    }
}

#[test]
fn hostile_fixtures_fail_safely_with_golden_gas() {
    let print = std::env::var_os("TAO_PRINT_GOLDEN").is_some();
    let vm = common::vm();
    let mut mismatches = Vec::new();
    for (name, class, expect) in CASES {
        let bytes = fixture_bytes(name);
        let admitted = vm.admit(&bytes, *class);
        match (expect, admitted) {
            (Rejected(golden), Err(e)) => {
                if print || e.to_string() != *golden {
                    mismatches.push(format!("{name}: rejected with {:?}", e.to_string()));
                }
            }
            (Runs(calls), Ok(admitted)) => {
                let module = vm.prepare(&admitted).unwrap();
                let storage = Arc::new(MemoryStorage::default());
                for (entry, input_len, golden) in *calls {
                    let input = vec![0u8; *input_len];
                    let exec = vm
                        .call(&module, entry, &input, CallContext::default(), storage.clone(), GAS)
                        .unwrap();
                    let got = format!("{:?} gas={}", exec.outcome, exec.gas_used);
                    if !exec.outcome.is_ok() {
                        assert!(
                            exec.writes.is_empty() && exec.events.is_empty(),
                            "{name}/{entry} kept effects"
                        );
                    }
                    if print || got != *golden {
                        mismatches.push(format!("{name}/{entry}: {got:?}"));
                    }
                }
            }
            (Rejected(golden), Ok(_)) => mismatches.push(format!("{name}: admitted, expected {golden:?}")),
            (Runs(_), Err(e)) => mismatches.push(format!("{name}: rejected with {:?}", e.to_string())),
        }
    }
    assert!(mismatches.is_empty(), "golden mismatches:\n{}", mismatches.join("\n"));
}

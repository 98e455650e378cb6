//! Records the code hash of each system module the clients carry compiled in: the Keccak-256
//! of the very `.wasm` files `cargo xtask contracts` built from the same sources (and that the
//! dev node loads at genesis), read from the same directory the `tao` CLI uses. `cargo xtask
//! web` builds the contracts first, so a bundle cannot carry hashes older than its code. A module
//! whose file is missing is left out: the wallet then runs that module from the chain's bytes.

use std::fmt::Write as _;
use std::path::PathBuf;

fn contracts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("wasm32-unknown-unknown/contract")
}

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_TARGET_DIR");
    let dir = contracts_dir();
    let mut carried = String::from("/// `(system module, code hash)` of the modules compiled in.\n");
    carried.push_str("pub const CARRIED: &[(&str, [u8; 32])] = &[\n");
    let mut code = String::from("/// `(system module, bytes)` the carried hashes were taken of.\n");
    code.push_str("pub const CARRIED_CODE: &[(&str, &[u8])] = &[\n");
    for (name, _) in tao_abi::interfaces::SYSTEM {
        let path = dir.join(format!("tao_contract_{name}.wasm"));
        println!("cargo:rerun-if-changed={}", path.display());
        let Ok(bytes) = std::fs::read(&path) else {
            println!("cargo:warning=no {}: the wallet will run `{name}` from on-chain bytes", path.display());
            continue;
        };
        let _ = writeln!(carried, "    ({name:?}, {:?}),", tao_types::keccak256(&bytes));
        let _ = writeln!(code, "    ({name:?}, include_bytes!({:?})),", path.display().to_string());
    }
    carried.push_str("];\n");
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap_or_default());
    let write = |file: &str, text: &str| {
        if let Err(e) = std::fs::write(out.join(file), text) {
            println!("cargo:warning=writing {file}: {e}");
        }
    };
    write("carried.rs", &carried);
    write("carried_code.rs", &code);
}

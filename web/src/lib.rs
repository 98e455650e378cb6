//! The wallet's verification core, exported to JavaScript.
//!
//! Today this exposes the checks the wallet is built on (address checksums and state proofs) so the
//! browser runs the very code the node runs. The Yew wallet itself arrives with the wallet issue.

use wasm_bindgen::prelude::*;

/// Parses an address and returns its EIP-55 checksummed form, or the reason it is invalid.
#[wasm_bindgen(js_name = checksumAddress)]
pub fn checksum_address(input: &str) -> Result<String, String> {
    input.parse::<tao_types::Address>().map(|a| a.to_string()).map_err(|e| e.to_string())
}

/// Verifies a state proof: `value_hex` is the claimed value, or `None` to prove absence.
#[wasm_bindgen(js_name = verifyStateProof)]
pub fn verify_state_proof(
    root: &str,
    key_hex: &str,
    value_hex: Option<String>,
    proof_hex: &str,
) -> Result<(), String> {
    let root: tao_types::Hash = root.parse().map_err(|e| format!("root: {e}"))?;
    let key = hex::decode(key_hex).map_err(|e| format!("key: {e}"))?;
    let value = value_hex.map(hex::decode).transpose().map_err(|e| format!("value: {e}"))?;
    let proof_bytes = hex::decode(proof_hex).map_err(|e| format!("proof: {e}"))?;
    let proof = tao_state::StateProof::decode(&proof_bytes).map_err(|e| e.to_string())?;
    tao_state::verify(&root, &key, value.as_deref(), &proof).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_errors_are_readable() {
        assert_eq!(
            checksum_address("0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"),
            Ok("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".to_string())
        );
        assert!(checksum_address("0x5a").unwrap_err().contains("40 hex digits"));
    }

    #[test]
    fn proof_of_absence_in_empty_tree() {
        let mut tree = tao_state::MemoryTree::new();
        let root = tree.apply(0, [(b"k".to_vec(), Some(b"v".to_vec()))]).unwrap();
        let (_, proof) = tree.get_with_proof(b"k", 0).unwrap();
        let proof_hex = hex::encode(proof.encode());
        assert_eq!(verify_state_proof(&root.to_string(), "6b", Some("76".into()), &proof_hex), Ok(()));
        assert!(verify_state_proof(&root.to_string(), "6b", Some("77".into()), &proof_hex).is_err());
    }
}

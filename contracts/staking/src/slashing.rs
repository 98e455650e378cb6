//! PLACEHOLDER (lead's tree only, replaced by the slashing branch at merge).
use crate::validators::ConsensusKey;
use alloc::vec::Vec;
use tao_sdk::Map;
const TOMBSTONES: Map<ConsensusKey, u64> = Map::new(b"stake/tombstone/");
/// Storage key of a key's tombstone.
pub fn tombstone_key(key: &ConsensusKey) -> Vec<u8> {
    TOMBSTONES.key(key)
}
/// Placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlashParams {
    /// ppb
    pub fraction_ppb: u32,
    /// blocks
    pub evidence_window: u64,
}
impl Default for SlashParams {
    fn default() -> Self {
        SlashParams { fraction_ppb: 50_000_000, evidence_window: 7_200 }
    }
}

//! Trust over time: the newest head a client believed for a chain (kept across reloads and
//! never given up for an older one), whether the believed head is still fresh, and the
//! checkpoints (known networks' genesis) shipped with the wallet build.

use crate::Header;
use serde::{Deserialize, Serialize};
use tao_types::Hash;

use crate::VerifyError;

/// Blocks without a newer certified head (or of header time behind the local clock) before the
/// head is shown as stale.
pub const STALE_BLOCKS: u64 = 3;
/// The shortest wait before a head is stale, whatever the block time (timers in a background
/// tab are slow; a fast dev chain is not stale after 150 ms).
pub const MIN_STALE_MS: u64 = 5_000;
/// Allowed difference between the local clock and the proposer's.
pub const CLOCK_SKEW_MS: u64 = 30_000;
/// Block time assumed until two believed heads show the chain's own.
pub const DEFAULT_BLOCK_MS: u64 = 12_000;

/// The newest head believed for a chain, as kept in browser storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedHead {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: Hash,
    /// Its header time (Unix ms).
    pub time_ms: u64,
}

impl TrustedHead {
    /// What is kept of `header`.
    pub fn of(header: &Header) -> TrustedHead {
        TrustedHead { height: header.height, hash: header.hash(), time_ms: header.time_ms }
    }

    /// The newer of `self` and `other` (by height): what to keep.
    pub fn newest(self, other: TrustedHead) -> TrustedHead {
        if other.height > self.height { other } else { self }
    }
}

/// Refuses a node's certified `head` older than the one this browser `kept` for the chain (a
/// replayed or stale node), or another header at the kept height (a fork).
pub fn check_not_older(kept: Option<&TrustedHead>, head: &Header) -> Result<(), VerifyError> {
    let Some(kept) = kept else { return Ok(()) };
    if head.height < kept.height {
        return Err(VerifyError::Rollback { kept: kept.height, got: head.height });
    }
    if head.height == kept.height && head.hash() != kept.hash {
        return Err(VerifyError::Forked(head.height));
    }
    Ok(())
}

/// The chain's block time as two believed headers show it (`DEFAULT_BLOCK_MS` if they cannot).
pub fn block_interval_ms(older: &Header, newer: &Header) -> u64 {
    let blocks = newer.height.saturating_sub(older.height);
    let elapsed = newer.time_ms.saturating_sub(older.time_ms);
    if blocks == 0 || older.height == 0 { DEFAULT_BLOCK_MS } else { (elapsed / blocks).max(1) }
}

/// How current the believed head is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Freshness {
    /// Recent: its age by the local clock (ms).
    Fresh {
        /// Milliseconds since its header time.
        age_ms: u64,
    },
    /// Not to be taken as the chain's present state.
    Stale {
        /// Milliseconds since its header time.
        age_ms: u64,
        /// Why, for the warning.
        why: String,
    },
}

/// Whether a head timed `head_ms` and believed at local time `seen_ms` is still fresh at local
/// time `now_ms` on a chain making a block every `interval_ms`: stale when no newer certified
/// head came within [`STALE_BLOCKS`] blocks, or when its header time is that far behind the
/// local clock (beyond [`CLOCK_SKEW_MS`]).
pub fn freshness(head_ms: u64, seen_ms: u64, now_ms: u64, interval_ms: u64) -> Freshness {
    let limit = interval_ms.saturating_mul(STALE_BLOCKS).max(MIN_STALE_MS);
    let age_ms = now_ms.saturating_sub(head_ms);
    let waited = now_ms.saturating_sub(seen_ms);
    if waited > limit {
        let why = format!(
            "no newer certified head for {} s (blocks every {} s)",
            waited / 1000,
            seconds(interval_ms)
        );
        return Freshness::Stale { age_ms, why };
    }
    if age_ms > limit.saturating_add(CLOCK_SKEW_MS) {
        let why = format!("the head is {} s behind this computer's clock", age_ms / 1000);
        return Freshness::Stale { age_ms, why };
    }
    Freshness::Fresh { age_ms }
}

fn seconds(ms: u64) -> String {
    if ms >= 1000 { format!("{}", ms / 1000) } else { format!("0.{:03}", ms) }
}

/// What a client trusts to start from: a genesis hash, or a recent certified header (its height
/// and hash), which skips the walk from genesis and the validator sets before it. Written
/// `0xGENESIS` or `HEIGHT:0xHASH`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The genesis header's hash.
    Genesis(Hash),
    /// A certified header.
    Header {
        /// Its height (at least 1: height 0 is the genesis).
        height: u64,
        /// Its hash.
        hash: Hash,
    },
}

impl std::str::FromStr for Anchor {
    type Err = String;

    fn from_str(text: &str) -> Result<Anchor, String> {
        let hash = |h: &str| h.parse::<Hash>().map_err(|_| format!("{h:?} is not a 0x-hex 32-byte hash"));
        match text.trim().split_once(':') {
            None => Ok(Anchor::Genesis(hash(text.trim())?)),
            Some((height, h)) => match height.parse::<u64>() {
                Ok(0) => Ok(Anchor::Genesis(hash(h)?)),
                Ok(height) => Ok(Anchor::Header { height, hash: hash(h)? }),
                Err(_) => Err(format!(
                    "{height:?} is not a block height (a checkpoint is 0xGENESIS or HEIGHT:0xHASH)"
                )),
            },
        }
    }
}

impl std::fmt::Display for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Anchor::Genesis(hash) => write!(f, "{hash}"),
            Anchor::Header { height, hash } => write!(f, "{height}:{hash}"),
        }
    }
}

impl Anchor {
    /// The anchor naming `header`: a later client may start from it.
    pub fn of(header: &Header) -> Anchor {
        match header.height {
            0 => Anchor::Genesis(header.hash()),
            height => Anchor::Header { height, hash: header.hash() },
        }
    }
}

/// A known network, shipped with the wallet (`checkpoints.json`, from `tao node --print-spec`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Its name (`dev`, …).
    pub name: String,
    /// The chain id its genesis header commits.
    pub chain_id: u64,
    /// Its genesis hash.
    pub genesis_hash: Hash,
}

/// The checkpoint `genesis` matches (hash and chain id), if any: such a chain is pinned without
/// asking; any other genesis only after the user accepted its hash and chain id.
pub fn checkpoint_for<'a>(checkpoints: &'a [Checkpoint], genesis: &Header) -> Option<&'a Checkpoint> {
    let hash = genesis.hash();
    checkpoints.iter().find(|c| c.genesis_hash == hash && c.chain_id == genesis.chain_id)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]

    use super::*;

    fn header(height: u64, time_ms: u64) -> Header {
        Header {
            chain_id: 7,
            parent: Hash([0; 32]),
            height,
            time_ms,
            state_root: Hash([height as u8; 32]),
            txs_root: Hash([0; 32]),
            receipts_root: Hash([0; 32]),
            evidence_root: Hash([0; 32]),
            validators_hash: Hash([0; 32]),
            next_validators_hash: Hash([0; 32]),
            proposer: tao_types::Address([0; 20]),
        }
    }

    #[test]
    fn an_older_or_forked_head_is_refused_after_a_reload() {
        let kept = TrustedHead::of(&header(311, 1_000));
        assert_eq!(check_not_older(None, &header(5, 0)), Ok(()));
        assert_eq!(
            check_not_older(Some(&kept), &header(5, 0)),
            Err(VerifyError::Rollback { kept: 311, got: 5 })
        );
        assert_eq!(check_not_older(Some(&kept), &header(311, 999)), Err(VerifyError::Forked(311)));
        assert_eq!(check_not_older(Some(&kept), &header(311, 1_000)), Ok(()));
        assert_eq!(check_not_older(Some(&kept), &header(312, 1_001)), Ok(()));
        assert_eq!(
            kept.newest(TrustedHead::of(&header(5, 0))),
            kept,
            "an older head never replaces the kept one"
        );
        assert_eq!(kept.newest(TrustedHead::of(&header(400, 0))).height, 400);
    }

    fn stale_reason(freshness: Freshness) -> String {
        match freshness {
            Freshness::Stale { why, .. } => why,
            Freshness::Fresh { .. } => String::new(),
        }
    }

    #[test]
    fn a_head_goes_stale_without_newer_ones_or_behind_the_clock() {
        let interval = block_interval_ms(&header(10, 10_000), &header(20, 130_000));
        assert_eq!(interval, 12_000);
        assert_eq!(
            block_interval_ms(&header(0, 0), &header(20, 130_000)),
            DEFAULT_BLOCK_MS,
            "genesis time is fixed"
        );
        // Seen 10 s ago, made 11 s ago: fresh; no newer head for 37 s: stale.
        assert_eq!(freshness(1_000, 2_000, 12_000, interval), Freshness::Fresh { age_ms: 11_000 });
        let why = stale_reason(freshness(1_000, 2_000, 39_000, interval));
        assert!(why.contains("no newer certified head for 37 s"), "{why}");
        // Just believed, but made long ago (a replayed old head): stale at once.
        let why = stale_reason(freshness(0, 100_000, 100_000, interval));
        assert!(why.contains("behind"), "{why}");
        // A fast chain waits at least MIN_STALE_MS.
        assert!(matches!(freshness(0, 0, 4_000, 50), Freshness::Fresh { .. }));
        assert!(matches!(freshness(0, 0, 5_001, 50), Freshness::Stale { .. }));
    }

    #[test]
    fn an_anchor_is_a_genesis_hash_or_a_height_and_hash() {
        let hash = header(9, 0).hash();
        assert_eq!(hash.to_string().parse(), Ok(Anchor::Genesis(hash)));
        assert_eq!(format!("0:{hash}").parse(), Ok(Anchor::Genesis(hash)));
        let at = Anchor::Header { height: 9, hash };
        assert_eq!(format!("9:{hash}").parse(), Ok(at));
        assert_eq!(at.to_string().parse(), Ok(at), "written as read");
        assert_eq!(Anchor::of(&header(9, 0)), at);
        assert_eq!(Anchor::of(&header(0, 0)), Anchor::Genesis(header(0, 0).hash()));
        for bad in ["", "0x12", "x:0x12", &format!("-1:{hash}"), &format!("9:{hash}00")] {
            assert!(bad.parse::<Anchor>().is_err(), "{bad}");
        }
    }

    #[test]
    fn only_a_shipped_checkpoint_pins_without_asking() {
        let genesis = header(0, 0);
        let known = Checkpoint { name: "dev".into(), chain_id: 7, genesis_hash: genesis.hash() };
        let list = vec![known.clone()];
        assert_eq!(checkpoint_for(&list, &genesis), Some(&known));
        assert_eq!(checkpoint_for(&list, &header(0, 1)), None);
        let mut renumbered = genesis.clone();
        renumbered.chain_id = 8;
        assert_eq!(
            checkpoint_for(&[Checkpoint { genesis_hash: renumbered.hash(), ..known }], &renumbered),
            None
        );
        let parsed: Vec<Checkpoint> = serde_json::from_str(&format!(
            r#"[{{"name":"dev","chain_id":7,"genesis_hash":"{}"}}]"#,
            genesis.hash()
        ))
        .unwrap();
        assert_eq!(parsed, list);
    }
}

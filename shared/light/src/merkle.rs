//! The binary Merkle root a header commits to for its transactions and its receipts.
//!
//! RFC 6962 style over Keccak-256: a leaf is hashed as `keccak256(0x00 ‖ leaf)`, an inner node as
//! `keccak256(0x01 ‖ left ‖ right)`, and the odd node at the end of a level is promoted to the
//! next level unchanged. The tags keep a leaf from passing as an inner node (or the reverse), and
//! promoting instead of duplicating keeps `[a, b, c]` and `[a, b, c, c]` apart (the shape of
//! Bitcoin's CVE-2012-2459). The empty list's root is the zero hash, which no leaf or node hashes
//! to. Everything that builds or checks a root calls [`merkle_root`]; there is no second copy.

use tao_types::{Hash, keccak256};

/// Prefix of a leaf's hash input.
const LEAF_TAG: u8 = 0x00;
/// Prefix of an inner node's hash input.
const NODE_TAG: u8 = 0x01;

/// Root of the empty list.
const EMPTY_ROOT: Hash = Hash([0; 32]);

fn leaf(bytes: &[u8]) -> Hash {
    Hash(keccak256(&[&[LEAF_TAG], bytes].concat()))
}

fn node(left: &Hash, right: &Hash) -> Hash {
    Hash(keccak256(&[&[NODE_TAG][..], &left.0, &right.0].concat()))
}

/// The Merkle root of `leaves` (transaction or receipt hashes, in block order).
pub fn merkle_root(leaves: &[Hash]) -> Hash {
    let mut level: Vec<Hash> = leaves.iter().map(|l| leaf(&l.0)).collect();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [left, right] => node(left, right),
                // The odd node out, promoted.
                _ => pair[0],
            })
            .collect();
    }
    level.first().copied().unwrap_or(EMPTY_ROOT)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u8) -> Hash {
        Hash([n; 32])
    }

    #[test]
    fn duplicating_the_last_leaf_changes_the_root() {
        assert_ne!(merkle_root(&[h(1), h(2), h(3)]), merkle_root(&[h(1), h(2), h(3), h(3)]));
        assert_ne!(merkle_root(&[h(1)]), merkle_root(&[h(1), h(1)]));
    }

    #[test]
    fn a_single_leaf_is_hashed_not_passed_through() {
        assert_ne!(merkle_root(&[h(1)]), h(1));
        assert_eq!(merkle_root(&[h(1)]), leaf(&h(1).0));
    }

    #[test]
    fn a_leaf_cannot_pass_as_an_inner_node() {
        let (a, b) = (leaf(&h(1).0), leaf(&h(2).0));
        // A 64-byte leaf whose bytes are the two children of the root of [1, 2].
        assert_ne!(leaf(&[a.0, b.0].concat()), merkle_root(&[h(1), h(2)]));
        // Nor can inner nodes be offered as the leaves of a shorter list.
        let four = [h(1), h(2), h(3), h(4)];
        let halves = [node(&a, &b), node(&leaf(&h(3).0), &leaf(&h(4).0))];
        assert_ne!(merkle_root(&halves), merkle_root(&four));
    }

    #[test]
    fn odd_nodes_are_promoted_unchanged() {
        let l: Vec<Hash> = (1..=5).map(|n| leaf(&h(n).0)).collect();
        let left = node(&node(&l[0], &l[1]), &node(&l[2], &l[3]));
        assert_eq!(merkle_root(&[h(1), h(2), h(3), h(4), h(5)]), node(&left, &l[4]));
        assert_eq!(merkle_root(&[h(1), h(2), h(3)]), node(&node(&l[0], &l[1]), &l[2]));
    }

    #[test]
    fn known_answers() {
        assert_eq!(merkle_root(&[]), EMPTY_ROOT);
        // Computed independently (a separate Keccak-256 implementation).
        let vectors: [(&[Hash], &str); 2] = [
            (&[h(1)], "0xb11a95f7ddcfbdc542f175f12554edd00d11d2bdc67124e3e3f39f1a1e54bc4a"),
            (&[h(1), h(2), h(3)], "0xdc3d8ff7b6a3c804a00ed2dd29d07a2fd0558ae8afef24d4263541f88f5a600a"),
        ];
        for (leaves, root) in vectors {
            assert_eq!(merkle_root(leaves).to_string(), root);
        }
    }
}

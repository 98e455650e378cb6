//! Building trees and proofs over any node store ([`update`], [`root_at`], [`prove`]), and an
//! in-memory versioned tree: the reference store, used by tests and as the model the node's
//! database store must match.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use jmt::storage::TreeUpdateBatch;
use jmt::storage::{LeafNode, Node, NodeKey, TreeReader};
use jmt::{JellyfishMerkleTree, KeyHash, OwnedValue, Version};
use tao_types::Hash;

use crate::{Hasher, StateProof, key_hash};

/// Why the tree could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The version was never written (or is older than the first one).
    #[error("no state at version {0}")]
    UnknownVersion(Version),
    /// Versions must grow by one.
    #[error("next version must be {expected}, got {got}")]
    NonSequentialVersion {
        /// The version that may be written next.
        expected: Version,
        /// The version offered.
        got: Version,
    },
    /// The tree library reported an inconsistency (a bug, never bad input).
    #[error("tree error: {0}")]
    Tree(alloc::string::String),
}

/// A versioned authenticated map held in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    nodes: BTreeMap<NodeKey, Node>,
    values: BTreeMap<(KeyHash, Version), Option<OwnedValue>>,
    next_version: Version,
}

impl TreeReader for MemoryTree {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        Ok(self.nodes.get(node_key).cloned())
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self
            .values
            .range((key_hash, 0)..=(key_hash, max_version))
            .next_back()
            .and_then(|(_, v)| v.clone()))
    }

    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        Ok(self
            .nodes
            .iter()
            .filter_map(|(k, n)| match n {
                Node::Leaf(leaf) => Some((k.clone(), leaf.clone())),
                _ => None,
            })
            .max_by_key(|(_, leaf)| leaf.key_hash()))
    }
}

fn tree_err(e: anyhow::Error) -> StateError {
    StateError::Tree(alloc::format!("{e}"))
}

/// The tree update of writing `writes` (`None` deletes) as `version` over the tree `reader`
/// holds: the new root and the nodes, values and stale-node records to store. Any store (this
/// memory map, the node's database) applies the batch its own way.
pub fn update<R: TreeReader, K: AsRef<[u8]>>(
    reader: &R,
    version: Version,
    writes: impl IntoIterator<Item = (K, Option<Vec<u8>>)>,
) -> Result<(Hash, TreeUpdateBatch), StateError> {
    // Sorted and de-duplicated by key hash (last write wins), as jmt requires.
    let batch: BTreeMap<KeyHash, Option<Vec<u8>>> =
        writes.into_iter().map(|(k, v)| (key_hash(k.as_ref()), v)).collect();
    let (root, update) =
        JellyfishMerkleTree::<_, Hasher>::new(reader).put_value_set(batch, version).map_err(tree_err)?;
    Ok((Hash(root.0), update))
}

/// The root of the tree `reader` holds at `version`.
pub fn root_at<R: TreeReader>(reader: &R, version: Version) -> Result<Hash, StateError> {
    JellyfishMerkleTree::<_, Hasher>::new(reader).get_root_hash(version).map(|r| Hash(r.0)).map_err(tree_err)
}

/// The value of `key` at `version` in the tree `reader` holds, with its proof.
pub fn prove<R: TreeReader>(
    reader: &R,
    key: &[u8],
    version: Version,
) -> Result<(Option<Vec<u8>>, StateProof), StateError> {
    JellyfishMerkleTree::<_, Hasher>::new(reader)
        .get_with_proof(key_hash(key), version)
        .map(|(v, p)| (v, StateProof(p)))
        .map_err(tree_err)
}

impl MemoryTree {
    /// An empty tree with no versions yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The version the next [`apply`](Self::apply) must use.
    pub fn next_version(&self) -> Version {
        self.next_version
    }

    /// Writes a batch (`None` deletes) as `version` and returns the new root.
    pub fn apply<K: AsRef<[u8]>>(
        &mut self,
        version: Version,
        writes: impl IntoIterator<Item = (K, Option<Vec<u8>>)>,
    ) -> Result<Hash, StateError> {
        if version != self.next_version {
            return Err(StateError::NonSequentialVersion { expected: self.next_version, got: version });
        }
        let (root, update) = update(&*self, version, writes)?;
        for (key, node) in update.node_batch.nodes() {
            self.nodes.insert(key.clone(), node.clone());
        }
        for ((v, k), value) in update.node_batch.values() {
            self.values.insert((*k, *v), value.clone());
        }
        self.next_version = version + 1;
        Ok(root)
    }

    /// The root at `version`.
    pub fn root(&self, version: Version) -> Result<Hash, StateError> {
        self.check_version(version)?;
        root_at(self, version)
    }

    /// The value of `key` at `version` with its proof.
    pub fn get_with_proof(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, StateProof), StateError> {
        self.check_version(version)?;
        prove(self, key, version)
    }

    fn check_version(&self, version: Version) -> Result<(), StateError> {
        if version >= self.next_version {
            return Err(StateError::UnknownVersion(version));
        }
        Ok(())
    }
}

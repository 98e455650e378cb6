//! The node's authenticated state in one redb file.
//!
//! Each block is [`Store::stage`]d (its root and tree batch computed with reads only, so its
//! header can be signed outside any write) and then one [`Store::commit`]: one redb write
//! transaction holding the block's bytes,
//! the Jellyfish Merkle tree nodes and values of its writes, the plain key-value view contracts
//! read, the new root and the pruning records. redb commits are durable and atomic, so a
//! `kill -9` at any instant leaves either the whole block or none of it: the stored root always
//! matches the stored block. Proofs are served at any version still retained; versions older
//! than `retain` blocks are pruned as new ones commit.
//!
//! Tree logic (roots, proofs, update batches) is `tao_state`'s, shared with its in-memory
//! reference tree; this crate only stores what it computes.

use std::collections::BTreeMap;
use std::path::Path;

use jmt::storage::{LeafNode, Node, NodeKey, TreeReader, TreeUpdateBatch};
use jmt::{KeyHash, OwnedValue, Version};
use redb::{
    Database, ReadOnlyTable, ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata,
    TableDefinition,
};
use tao_state::StateProof;
use tao_types::Hash;

/// Tree nodes: borsh(NodeKey) → borsh(Node).
const NODES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("nodes");
/// Tree values: key hash ‖ version (big-endian) → tag (0 deleted, 1 present) ‖ value.
const VALUES: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("values");
/// The latest value of every live key, by raw key: what contracts read and iterate.
const LATEST: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("latest");
/// Nodes replaced at a version: version ‖ borsh(NodeKey) → ().
const STALE_NODES: TableDefinition<'_, &[u8], ()> = TableDefinition::new("stale_nodes");
/// Values replaced at a version: version ‖ key hash ‖ replaced version → ().
const STALE_VALUES: TableDefinition<'_, &[u8], ()> = TableDefinition::new("stale_values");
/// State root per retained version.
const ROOTS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("roots");
/// The block (as the chain encodes it) committed at each retained version.
const BLOCKS: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("blocks");
/// Where each transaction of a retained block is: tx hash → height (big-endian) ‖ index
/// (big-endian u32). Written in the block's own commit, pruned with it.
const TX_INDEX: TableDefinition<'_, &[u8], &[u8]> = TableDefinition::new("tx_index");
/// The transaction hashes of each retained block, concatenated (for pruning `tx_index`).
const TX_BY_HEIGHT: TableDefinition<'_, u64, &[u8]> = TableDefinition::new("tx_by_height");
/// `latest` and `oldest` retained versions.
const META: TableDefinition<'_, &str, u64> = TableDefinition::new("meta");

/// Why the store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened, read or written.
    #[error("database: {0}")]
    Db(String),
    /// Versions commit in order, from 0.
    #[error("next version must be {expected}, got {got}")]
    NonSequentialVersion {
        /// The version that may be committed next.
        expected: Version,
        /// The version offered.
        got: Version,
    },
    /// The version was never committed.
    #[error("no state at version {0} yet")]
    Future(Version),
    /// The version was pruned.
    #[error("version {version} was pruned; the oldest retained is {oldest}")]
    Pruned {
        /// The version asked for.
        version: Version,
        /// The oldest version still held.
        oldest: Version,
    },
    /// Stored bytes did not decode, or the tree found an inconsistency: a corrupt file.
    #[error("corrupt state: {0}")]
    Corrupt(String),
}

fn db_err<E: std::fmt::Display>(e: E) -> StoreError {
    StoreError::Db(e.to_string())
}

/// A versioned authenticated key-value store over redb. Shared by reference: reads see the
/// latest commit; commits are serialized by redb (one writer, the block producer).
pub struct Store {
    db: Database,
    retain: u64,
}

/// The plain key-value view of one committed version ([`Store::snapshot`]).
pub struct Snapshot(ReadOnlyTable<&'static [u8], &'static [u8]>);

impl Snapshot {
    /// The value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.0.get(key).map_err(db_err)?.map(|v| v.value().to_vec()))
    }

    /// The first live entry whose key starts with `prefix` and is greater than `after`.
    pub fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Result<Option<Entry>, StoreError> {
        let start = after.unwrap_or(prefix);
        for entry in self.0.range(start..).map_err(db_err)? {
            let (k, v) = entry.map_err(db_err)?;
            let key = k.value();
            if !key.starts_with(prefix) {
                return Ok(None);
            }
            if after.is_none_or(|a| key > a) {
                return Ok(Some((key.to_vec(), v.value().to_vec())));
            }
        }
        Ok(None)
    }
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Snapshot")
    }
}

/// A block's state change, computed by [`Store::stage`] (reads only) and written by
/// [`Store::commit`]: the new root, the tree's update batch, the values it replaces (for
/// pruning) and each key's last write.
pub struct Staged {
    version: Version,
    root: Hash,
    batch: TreeUpdateBatch,
    replaced: Vec<(KeyHash, Version)>,
    writes: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Staged {
    /// The version it commits as.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The state root after it.
    pub fn root(&self) -> Hash {
        self.root
    }
}

impl std::fmt::Debug for Staged {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Staged").field("version", &self.version).field("root", &self.root).finish()
    }
}

/// A raw key and its value.
pub type Entry = (Vec<u8>, Vec<u8>);

/// What the store holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    /// Tree nodes (all retained versions).
    pub nodes: u64,
    /// Versioned tree values (all retained versions).
    pub values: u64,
    /// Keys live at the latest version.
    pub live_keys: u64,
}

fn version_key(key_hash: &KeyHash, version: Version) -> [u8; 40] {
    let mut k = [0u8; 40];
    k[..32].copy_from_slice(&key_hash.0);
    k[32..].copy_from_slice(&version.to_be_bytes());
    k
}

fn encode_value(value: &Option<OwnedValue>) -> Vec<u8> {
    match value {
        None => vec![0],
        Some(v) => [&[1u8][..], v].concat(),
    }
}

fn decode_value(bytes: &[u8]) -> Result<Option<OwnedValue>, StoreError> {
    match bytes.split_first() {
        Some((0, [])) => Ok(None),
        Some((1, v)) => Ok(Some(v.to_vec())),
        _ => Err(StoreError::Corrupt("value tag".into())),
    }
}

/// The tree as of the last commit, read through one redb read transaction.
struct TreeView {
    nodes: ReadOnlyTable<&'static [u8], &'static [u8]>,
    values: ReadOnlyTable<&'static [u8], &'static [u8]>,
}

impl TreeView {
    fn new(txn: &ReadTransaction) -> Result<Self, StoreError> {
        Ok(TreeView {
            nodes: txn.open_table(NODES).map_err(db_err)?,
            values: txn.open_table(VALUES).map_err(db_err)?,
        })
    }

    /// The version of `key_hash`'s newest value at or before `max_version`, and the value.
    fn value_at(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<(Version, Option<OwnedValue>)>> {
        let (low, high) = (version_key(&key_hash, 0), version_key(&key_hash, max_version));
        let Some(entry) = self.values.range(&low[..]..=&high[..])?.next_back() else { return Ok(None) };
        let (k, v) = entry?;
        let version = u64::from_be_bytes(k.value()[32..].try_into()?);
        Ok(Some((version, decode_value(v.value())?)))
    }
}

impl TreeReader for TreeView {
    fn get_node_option(&self, node_key: &NodeKey) -> anyhow::Result<Option<Node>> {
        let key = borsh::to_vec(node_key)?;
        match self.nodes.get(&key[..])? {
            Some(bytes) => Ok(Some(borsh::from_slice(bytes.value())?)),
            None => Ok(None),
        }
    }

    fn get_value_option(
        &self,
        max_version: Version,
        key_hash: KeyHash,
    ) -> anyhow::Result<Option<OwnedValue>> {
        Ok(self.value_at(max_version, key_hash)?.and_then(|(_, v)| v))
    }

    /// Only state-sync restore asks for this; a full scan is acceptable there.
    fn get_rightmost_leaf(&self) -> anyhow::Result<Option<(NodeKey, LeafNode)>> {
        let mut best: Option<(NodeKey, LeafNode)> = None;
        for entry in self.nodes.iter()? {
            let (k, v) = entry?;
            if let Node::Leaf(leaf) = borsh::from_slice::<Node>(v.value())?
                && best.as_ref().is_none_or(|(_, b)| leaf.key_hash() > b.key_hash())
            {
                best = Some((borsh::from_slice(k.value())?, leaf));
            }
        }
        Ok(best)
    }
}

impl std::fmt::Debug for TreeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TreeView")
    }
}

/// redb's page cache: the node's memory stays bounded as the file grows (redb's default, 1 GiB,
/// let a node's resident memory climb for as long as the file did).
const CACHE_BYTES: usize = 64 << 20;

impl Store {
    /// Opens (or creates) the store at `path`, keeping proofs for the last `retain` versions
    /// (at least 1).
    pub fn open(path: &Path, retain: u64) -> Result<Store, StoreError> {
        let db = Database::builder().set_cache_size(CACHE_BYTES).create(path).map_err(db_err)?;
        let txn = db.begin_write().map_err(db_err)?;
        for table in [NODES, VALUES, LATEST] {
            txn.open_table(table).map_err(db_err)?;
        }
        txn.open_table(STALE_NODES).map_err(db_err)?;
        txn.open_table(STALE_VALUES).map_err(db_err)?;
        txn.open_table(ROOTS).map_err(db_err)?;
        txn.open_table(BLOCKS).map_err(db_err)?;
        txn.open_table(TX_INDEX).map_err(db_err)?;
        txn.open_table(TX_BY_HEIGHT).map_err(db_err)?;
        txn.open_table(META).map_err(db_err)?;
        txn.commit().map_err(db_err)?;
        Ok(Store { db, retain: retain.max(1) })
    }

    fn meta(&self, name: &str) -> Result<Option<u64>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(META).map_err(db_err)?;
        Ok(table.get(name).map_err(db_err)?.map(|v| v.value()))
    }

    /// The newest committed version, if any.
    pub fn latest(&self) -> Result<Option<Version>, StoreError> {
        self.meta("latest")
    }

    /// The oldest version whose proofs are still served.
    pub fn oldest(&self) -> Result<Version, StoreError> {
        Ok(self.meta("oldest")?.unwrap_or(0))
    }

    fn check(&self, version: Version) -> Result<(), StoreError> {
        if self.latest()?.is_none_or(|latest| version > latest) {
            return Err(StoreError::Future(version));
        }
        let oldest = self.oldest()?;
        if version < oldest {
            return Err(StoreError::Pruned { version, oldest });
        }
        Ok(())
    }

    /// Computes what committing `writes` as `version` (the next one) would do, with reads only:
    /// the new root (for the block's header) and the tree batch. Nothing is written until
    /// [`Store::commit`], so the block can be signed outside any write transaction. The last
    /// write to a key wins.
    pub fn stage(
        &self,
        version: Version,
        writes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<Staged, StoreError> {
        Self::expect_next(self.latest()?, version)?;
        let writes: BTreeMap<Vec<u8>, Option<Vec<u8>>> = writes.into_iter().collect();
        let read = self.db.begin_read().map_err(db_err)?;
        let view = TreeView::new(&read)?;
        let tree_writes = writes.iter().map(|(k, v)| (k.as_slice(), v.clone()));
        let (root, batch) =
            tao_state::update(&view, version, tree_writes).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        // Values each new one replaces, for pruning.
        let mut replaced = Vec::new();
        if let Some(previous) = version.checked_sub(1) {
            for (_, key_hash) in batch.node_batch.values().keys() {
                let found =
                    view.value_at(previous, *key_hash).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                if let Some((old, _)) = found {
                    replaced.push((*key_hash, old));
                }
            }
        }
        Ok(Staged { version, root, batch, replaced, writes })
    }

    /// Writes `staged` in one durable transaction with the block's bytes (`block`, whose header
    /// names [`Staged::root`]) and its transaction index (`txs[i]` is the hash of its `i`-th
    /// transaction: [`Store::tx_location`] answers for them as long as the block is retained,
    /// across restarts and crashes). Refused unless `staged` is still the next version. Versions
    /// older than `retain` are pruned with it.
    pub fn commit(&self, staged: Staged, block: &[u8], txs: &[Hash]) -> Result<(), StoreError> {
        let version = staged.version;
        let txn = self.db.begin_write().map_err(db_err)?;
        let prune_range = {
            let mut meta = txn.open_table(META).map_err(db_err)?;
            Self::expect_next(meta.get("latest").map_err(db_err)?.map(|v| v.value()), version)?;
            write_tree(&txn, &staged)?;
            txn.open_table(ROOTS).map_err(db_err)?.insert(version, &staged.root.0[..]).map_err(db_err)?;
            txn.open_table(BLOCKS).map_err(db_err)?.insert(version, block).map_err(db_err)?;
            index_txs(&txn, version, txs)?;
            meta.insert("latest", version).map_err(db_err)?;
            let from = meta.get("oldest").map_err(db_err)?.map_or(0, |v| v.value());
            match (version + 1).checked_sub(self.retain) {
                Some(oldest) if oldest > from => {
                    meta.insert("oldest", oldest).map_err(db_err)?;
                    Some((from, oldest))
                }
                _ => None,
            }
        };
        if let Some((from, oldest)) = prune_range {
            prune(&txn, from, oldest)?;
        }
        txn.commit().map_err(db_err)
    }

    /// Refuses `version` unless it follows `latest` (0 on an empty store).
    fn expect_next(latest: Option<Version>, version: Version) -> Result<(), StoreError> {
        let expected = latest.map_or(0, |v| v + 1);
        if version != expected {
            return Err(StoreError::NonSequentialVersion { expected, got: version });
        }
        Ok(())
    }

    /// Entry counts, for operators and for checking that pruning keeps the file bounded.
    pub fn stats(&self) -> Result<Stats, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let count = |t: TableDefinition<'_, &[u8], &[u8]>| -> Result<u64, StoreError> {
            txn.open_table(t).map_err(db_err)?.len().map_err(db_err)
        };
        Ok(Stats { nodes: count(NODES)?, values: count(VALUES)?, live_keys: count(LATEST)? })
    }

    /// The bytes `table` holds for a retained `version` (roots and blocks).
    fn at_version(
        &self,
        table: TableDefinition<'_, u64, &[u8]>,
        what: &str,
        version: Version,
    ) -> Result<Vec<u8>, StoreError> {
        self.check(version)?;
        let txn = self.db.begin_read().map_err(db_err)?;
        let bytes = txn.open_table(table).map_err(db_err)?.get(version).map_err(db_err)?;
        bytes
            .map(|b| b.value().to_vec())
            .ok_or_else(|| StoreError::Corrupt(format!("no {what} at {version}")))
    }

    /// The state root at `version`.
    pub fn root(&self, version: Version) -> Result<Hash, StoreError> {
        let bytes = self.at_version(ROOTS, "root", version)?;
        Ok(Hash(bytes.try_into().map_err(|_| StoreError::Corrupt("root length".into()))?))
    }

    /// The block committed at `version`.
    pub fn block(&self, version: Version) -> Result<Vec<u8>, StoreError> {
        self.at_version(BLOCKS, "block", version)
    }

    /// The height and position of transaction `hash`, if a retained block holds it.
    pub fn tx_location(&self, hash: &Hash) -> Result<Option<(Version, u32)>, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        let table = txn.open_table(TX_INDEX).map_err(db_err)?;
        let Some(bytes) = table.get(&hash.0[..]).map_err(db_err)? else { return Ok(None) };
        let bytes = bytes.value();
        match (bytes.get(..8), bytes.get(8..12), bytes.len()) {
            (Some(h), Some(i), 12) => Ok(Some((
                u64::from_be_bytes(h.try_into().map_err(|_| StoreError::Corrupt("tx index".into()))?),
                u32::from_be_bytes(i.try_into().map_err(|_| StoreError::Corrupt("tx index".into()))?),
            ))),
            _ => Err(StoreError::Corrupt("tx index entry".into())),
        }
    }

    /// The latest value of `key`.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.snapshot()?.get(key)
    }

    /// The first live entry whose key starts with `prefix` and is greater than `after`.
    pub fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Result<Option<Entry>, StoreError> {
        self.snapshot()?.next_after(prefix, after)
    }

    /// The latest state as of now, through one read transaction: later commits do not change
    /// what it reads, and each read costs no transaction of its own (a block's execution reads
    /// thousands of keys).
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let txn = self.db.begin_read().map_err(db_err)?;
        Ok(Snapshot(txn.open_table(LATEST).map_err(db_err)?))
    }

    /// The value of `key` at `version` with its proof against that version's root.
    pub fn get_with_proof(
        &self,
        key: &[u8],
        version: Version,
    ) -> Result<(Option<Vec<u8>>, StateProof), StoreError> {
        self.check(version)?;
        let txn = self.db.begin_read().map_err(db_err)?;
        let view = TreeView::new(&txn)?;
        tao_state::prove(&view, key, version).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// Writes a staged block's tree nodes, values, stale records and the plain key-value view.
fn write_tree(txn: &redb::WriteTransaction, staged: &Staged) -> Result<(), StoreError> {
    let (version, batch) = (staged.version, &staged.batch);
    let mut nodes = txn.open_table(NODES).map_err(db_err)?;
    for (key, node) in batch.node_batch.nodes() {
        let (k, v) = (borsh::to_vec(key).map_err(db_err)?, borsh::to_vec(node).map_err(db_err)?);
        nodes.insert(&k[..], &v[..]).map_err(db_err)?;
    }
    let mut values = txn.open_table(VALUES).map_err(db_err)?;
    for ((v, key_hash), value) in batch.node_batch.values() {
        values.insert(&version_key(key_hash, *v)[..], &encode_value(value)[..]).map_err(db_err)?;
    }
    let mut stale_nodes = txn.open_table(STALE_NODES).map_err(db_err)?;
    for stale in &batch.stale_node_index_batch {
        let k =
            [&stale.stale_since_version.to_be_bytes()[..], &borsh::to_vec(&stale.node_key).map_err(db_err)?]
                .concat();
        stale_nodes.insert(&k[..], ()).map_err(db_err)?;
    }
    let mut stale_values = txn.open_table(STALE_VALUES).map_err(db_err)?;
    for (key_hash, old) in &staged.replaced {
        let k = [&version.to_be_bytes()[..], &key_hash.0[..], &old.to_be_bytes()[..]].concat();
        stale_values.insert(&k[..], ()).map_err(db_err)?;
    }
    let mut latest = txn.open_table(LATEST).map_err(db_err)?;
    for (key, value) in &staged.writes {
        match value {
            Some(v) => latest.insert(key.as_slice(), v.as_slice()).map_err(db_err)?,
            None => latest.remove(key.as_slice()).map_err(db_err)?,
        };
    }
    Ok(())
}

/// Indexes the transactions of the block at `version` (`txs[i]` at position `i`).
fn index_txs(txn: &redb::WriteTransaction, version: Version, txs: &[Hash]) -> Result<(), StoreError> {
    if txs.is_empty() {
        return Ok(());
    }
    let mut index = txn.open_table(TX_INDEX).map_err(db_err)?;
    let mut listed = Vec::with_capacity(txs.len().saturating_mul(32));
    for (i, hash) in txs.iter().enumerate() {
        let i = u32::try_from(i).map_err(|_| StoreError::Corrupt("block too long".into()))?;
        index.insert(&hash.0[..], &tx_location_bytes(version, i)[..]).map_err(db_err)?;
        listed.extend_from_slice(&hash.0);
    }
    txn.open_table(TX_BY_HEIGHT).map_err(db_err)?.insert(version, listed.as_slice()).map_err(db_err)?;
    Ok(())
}

fn tx_location_bytes(version: Version, index: u32) -> [u8; 12] {
    let mut out = [0u8; 12];
    out[..8].copy_from_slice(&version.to_be_bytes());
    out[8..].copy_from_slice(&index.to_be_bytes());
    out
}

/// Deletes the nodes and values that went stale at or before `oldest` (only versions before it
/// read them), and the roots, blocks and transaction index entries of versions `from..oldest`.
fn prune(txn: &redb::WriteTransaction, from: Version, oldest: Version) -> Result<(), StoreError> {
    let limit = (oldest + 1).to_be_bytes();
    let mut stale_nodes = txn.open_table(STALE_NODES).map_err(db_err)?;
    let mut nodes = txn.open_table(NODES).map_err(db_err)?;
    for entry in stale_nodes.extract_from_if(..&limit[..], |_, _| true).map_err(db_err)? {
        let (k, _) = entry.map_err(db_err)?;
        nodes.remove(&k.value()[8..]).map_err(db_err)?;
    }
    let mut stale_values = txn.open_table(STALE_VALUES).map_err(db_err)?;
    let mut values = txn.open_table(VALUES).map_err(db_err)?;
    for entry in stale_values.extract_from_if(..&limit[..], |_, _| true).map_err(db_err)? {
        let (k, _) = entry.map_err(db_err)?;
        let k = k.value();
        values.remove(&k[8..48]).map_err(db_err)?;
    }
    let mut roots = txn.open_table(ROOTS).map_err(db_err)?;
    let mut blocks = txn.open_table(BLOCKS).map_err(db_err)?;
    let mut by_height = txn.open_table(TX_BY_HEIGHT).map_err(db_err)?;
    let mut index = txn.open_table(TX_INDEX).map_err(db_err)?;
    for v in from..oldest {
        roots.remove(v).map_err(db_err)?;
        blocks.remove(v).map_err(db_err)?;
        let Some(listed) = by_height.remove(v).map_err(db_err)? else { continue };
        for hash in listed.value().chunks_exact(32) {
            // Only the entry this block wrote (a hash is never included twice, but be exact).
            let here = index
                .get(hash)
                .map_err(db_err)?
                .is_some_and(|l| l.value().get(..8) == Some(&v.to_be_bytes()[..]));
            if here {
                index.remove(hash).map_err(db_err)?;
            }
        }
    }
    Ok(())
}

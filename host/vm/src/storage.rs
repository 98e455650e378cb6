//! The state a call sees: committed storage underneath, the call's own writes on top.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::Arc;

/// Writes of one call: `Some` sets a value, `None` removes the key. Ordered, so merging and hashing
/// are deterministic.
pub type WriteSet = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// Committed key-value storage, read-only to the VM.
pub trait Storage {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Option<Vec<u8>>;
    /// The first entry whose key starts with `prefix` and is greater than `after` (or the first
    /// with the prefix when `after` is `None`), in byte order.
    fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)>;
}

/// A plain ordered map as storage: the in-memory state of tests and `tao module run`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStorage(pub BTreeMap<Vec<u8>, Vec<u8>>);

impl MemoryStorage {
    /// Applies a successful call's writes.
    pub fn apply(&mut self, writes: &WriteSet) {
        for (k, v) in writes {
            match v {
                Some(v) => self.0.insert(k.clone(), v.clone()),
                None => self.0.remove(k),
            };
        }
    }
}

/// First key in `map` with `prefix` after `after`.
fn first_after<'a, V>(
    map: &'a BTreeMap<Vec<u8>, V>,
    prefix: &[u8],
    after: Option<&[u8]>,
) -> Option<(&'a Vec<u8>, &'a V)> {
    let lower = match after {
        Some(a) if a >= prefix => Bound::Excluded(a.to_vec()),
        _ => Bound::Included(prefix.to_vec()),
    };
    map.range((lower, Bound::Unbounded)).next().filter(|(k, _)| k.starts_with(prefix))
}

impl Storage for MemoryStorage {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.0.get(key).cloned()
    }

    fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        first_after(&self.0, prefix, after).map(|(k, v)| (k.clone(), v.clone()))
    }
}

/// Writes layered over a base storage: a call's view of its own writes, and the block
/// executor's view of a block's writes over the committed state.
///
/// The writes sit behind an `Arc` so that a call's view of the block ([`Layered::snapshot`]) is a
/// pointer copy, not a copy of every write the block made so far; the next write after the call
/// finds them unshared again and copies nothing (`Arc::make_mut`). A clone shares them too and
/// copies only when one side writes.
#[derive(Clone)]
pub struct Layered {
    base: Arc<dyn Storage + Send + Sync>,
    /// The writes so far (`None` removes).
    writes: Arc<WriteSet>,
    /// While a checkpoint is open: each key's entry in `writes` before its first change since.
    journal: Option<Journal>,
}

/// Each key's entry in a write set (absent, or the write) before a checkpoint first changed it.
type Journal = BTreeMap<Vec<u8>, Option<Option<Vec<u8>>>>;

impl Layered {
    /// No writes yet over `base`.
    pub fn new(base: Arc<dyn Storage + Send + Sync>) -> Self {
        Self { base, writes: Arc::new(WriteSet::new()), journal: None }
    }

    /// The writes so far (`None` removes).
    pub fn writes(&self) -> &WriteSet {
        &self.writes
    }

    /// The writes so far, copied only if a snapshot still shares them.
    pub fn into_writes(self) -> WriteSet {
        Arc::unwrap_or_clone(self.writes)
    }

    /// A frozen view of the state as it is now, for a call to read: it shares the writes (a
    /// pointer copy) and must be dropped before the next [`Layered::set`] to keep that free.
    pub fn snapshot(&self) -> Arc<dyn Storage + Send + Sync> {
        Arc::new(Layered { base: self.base.clone(), writes: self.writes.clone(), journal: None })
    }

    /// Sets (`Some`) or removes (`None`) `key`, remembered by an open checkpoint.
    pub fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        if let Some(journal) = &mut self.journal
            && !journal.contains_key(&key)
        {
            journal.insert(key.clone(), self.writes.get(&key).cloned());
        }
        Arc::make_mut(&mut self.writes).insert(key, value);
    }

    /// Applies `writes` on top (a successful call's write set).
    pub fn apply(&mut self, writes: &WriteSet) {
        for (k, v) in writes {
            self.set(k.clone(), v.clone());
        }
    }

    /// Opens a checkpoint: what is written from now on can be undone with [`Layered::rollback`]
    /// at the cost of the keys touched, never a copy of all writes.
    pub fn checkpoint(&mut self) {
        self.journal = Some(BTreeMap::new());
    }

    /// Keeps everything written since the checkpoint and closes it.
    pub fn commit(&mut self) {
        self.journal = None;
    }

    /// Undoes everything written since the checkpoint and closes it.
    pub fn rollback(&mut self) {
        let journal = self.journal.take().unwrap_or_default();
        if journal.is_empty() {
            return;
        }
        let writes = Arc::make_mut(&mut self.writes);
        for (key, before) in journal {
            match before {
                Some(value) => writes.insert(key, value),
                None => writes.remove(&key),
            };
        }
    }
}

impl Storage for Layered {
    fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        match self.writes.get(key) {
            Some(v) => v.clone(),
            None => self.base.get(key),
        }
    }

    /// Merges the base and the writes; removed keys are skipped. Each loop turn passes one removed
    /// key of the writes, so it is bounded by the write set.
    fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        let mut cursor = after.map(<[u8]>::to_vec);
        loop {
            let base = self.base.next_after(prefix, cursor.as_deref());
            let own = first_after(&self.writes, prefix, cursor.as_deref());
            let take_own = match (&base, &own) {
                (Some((bk, _)), Some((ok, _))) => ok.as_slice() <= bk.as_slice(),
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if !take_own {
                return base;
            }
            let (key, value) = own?;
            match value {
                Some(v) => return Some((key.clone(), v.clone())),
                None => cursor = Some(key.clone()),
            }
        }
    }
}

/// The call's view: its writes over the committed storage, and their size.
pub(crate) struct Overlay {
    pub(crate) layered: Layered,
    pub(crate) written_bytes: u64,
}

impl Overlay {
    pub(crate) fn new(base: Arc<dyn Storage + Send + Sync>) -> Self {
        Self { layered: Layered::new(base), written_bytes: 0 }
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.layered.get(key)
    }

    pub(crate) fn set(&mut self, key: Vec<u8>, value: Option<Vec<u8>>) {
        self.written_bytes = self
            .written_bytes
            .saturating_add(key.len() as u64)
            .saturating_add(value.as_ref().map_or(0, |v| v.len() as u64));
        self.layered.set(key, value);
    }

    pub(crate) fn next_after(&self, prefix: &[u8], after: Option<&[u8]>) -> Option<(Vec<u8>, Vec<u8>)> {
        self.layered.next_after(prefix, after)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rollback restores exactly the write set of the checkpoint: changed keys get their
    /// earlier write back, new keys go; a commit keeps everything.
    #[test]
    fn a_rollback_undoes_only_what_came_after_the_checkpoint() {
        let mut state = Layered::new(Arc::new(MemoryStorage::default()));
        state.set(b"a".to_vec(), Some(b"1".to_vec()));
        state.set(b"b".to_vec(), None);
        let before = state.writes().clone();
        state.checkpoint();
        state.set(b"a".to_vec(), Some(b"2".to_vec()));
        state.set(b"a".to_vec(), None);
        state.set(b"b".to_vec(), Some(b"3".to_vec()));
        state.set(b"c".to_vec(), Some(b"4".to_vec()));
        state.rollback();
        assert_eq!(state.writes(), &before);
        state.checkpoint();
        state.set(b"c".to_vec(), Some(b"5".to_vec()));
        state.commit();
        state.rollback();
        assert_eq!(state.get(b"c"), Some(b"5".to_vec()), "a rollback after a commit undoes nothing");
    }

    /// A call's snapshot shares the block's writes (no copy), and writing after the call has
    /// dropped it copies nothing; a snapshot still held keeps what it saw while the block moves
    /// on (copy on write), and a rolled-back transaction leaves no trace in either.
    #[test]
    fn a_snapshot_is_a_pointer_copy_and_stays_frozen() {
        let mut state = Layered::new(Arc::new(MemoryStorage::default()));
        state.set(b"a".to_vec(), Some(b"1".to_vec()));
        let shared = Arc::as_ptr(&state.writes);
        let snapshot = state.snapshot();
        assert_eq!(snapshot.get(b"a"), Some(b"1".to_vec()));
        assert_eq!(Arc::strong_count(&state.writes), 2, "the snapshot holds the same writes");
        drop(snapshot);
        state.checkpoint();
        state.set(b"b".to_vec(), Some(b"2".to_vec()));
        assert!(std::ptr::eq(shared, Arc::as_ptr(&state.writes)), "unshared again: written in place");

        let held = state.snapshot();
        state.set(b"a".to_vec(), None);
        assert_eq!(held.get(b"a"), Some(b"1".to_vec()), "a held snapshot does not see later writes");
        assert_eq!(held.get(b"b"), Some(b"2".to_vec()));
        state.rollback();
        assert_eq!(state.get(b"a"), Some(b"1".to_vec()));
        assert_eq!(state.get(b"b"), None, "the rolled-back transaction left no trace");
        assert_eq!(state.into_writes().len(), 1);
        assert_eq!(held.next_after(b"", None), Some((b"a".to_vec(), b"1".to_vec())));
    }
}

//! Pending transactions: checked on entry, ordered per account by nonce, bounded.

use std::collections::BTreeMap;

use tao_tx::{SignedTransaction, VerifiedTransaction};
use tao_types::{Address, Hash};

/// Most transactions held.
pub const MAX_TXS: usize = 4096;
/// Most transactions held per account.
pub const MAX_PER_ACCOUNT: usize = 16;
/// How far past its next nonce an account may queue.
pub const MAX_NONCE_AHEAD: u64 = 16;
/// A replacement must offer at least this much more fee, in percent.
pub const REPLACE_BUMP_PERCENT: u64 = 10;

/// Why a transaction was not accepted. Every variant is reported to the sender.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MempoolError {
    /// Its nonce was already used.
    #[error("nonce {got} already used; the account's next nonce is {next}")]
    StaleNonce {
        /// The account's next nonce.
        next: u64,
        /// The nonce given.
        got: u64,
    },
    /// Its nonce is too far ahead of the account's next one.
    #[error("nonce {got} is more than {MAX_NONCE_AHEAD} ahead of the account's next nonce {next}")]
    NonceTooFarAhead {
        /// The account's next nonce.
        next: u64,
        /// The nonce given.
        got: u64,
    },
    /// The same transaction is already pending.
    #[error("already pending")]
    Duplicate,
    /// It would replace a pending transaction without paying enough more.
    #[error("a pending transaction has this nonce; a replacement needs a fee limit of at least {needed} rao")]
    Underpriced {
        /// The smallest fee limit that replaces it.
        needed: u64,
    },
    /// The account has too many pending transactions.
    #[error("the account already has {MAX_PER_ACCOUNT} pending transactions")]
    AccountFull,
    /// The pool is full of transactions paying at least as much.
    #[error("the pool is full; offer a fee limit above {lowest} rao")]
    Full {
        /// The lowest fee limit held.
        lowest: u64,
    },
}

#[derive(Debug, Clone)]
struct Entry {
    tx: SignedTransaction,
    hash: Hash,
}

impl Entry {
    fn fee(&self) -> u64 {
        self.tx.tx.fee_limit.0
    }
}

/// The pool.
#[derive(Debug, Default)]
pub struct Mempool {
    accounts: BTreeMap<Address, BTreeMap<u64, Entry>>,
    hashes: BTreeMap<Hash, (Address, u64)>,
}

impl Mempool {
    /// An empty pool.
    pub fn new() -> Self {
        Self::default()
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `hash` is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains_key(hash)
    }

    /// Adds a verified transaction whose sender's next nonce is `next_nonce`. Returns the hash
    /// of a transaction it replaced or evicted, if any.
    pub fn insert(
        &mut self,
        verified: VerifiedTransaction,
        next_nonce: u64,
    ) -> Result<Option<Hash>, MempoolError> {
        let entry = Entry { hash: verified.hash, tx: verified.signed };
        let (sender, nonce) = (entry.tx.tx.sender, entry.tx.tx.nonce);
        if self.hashes.contains_key(&entry.hash) {
            return Err(MempoolError::Duplicate);
        }
        if nonce < next_nonce {
            return Err(MempoolError::StaleNonce { next: next_nonce, got: nonce });
        }
        if nonce > next_nonce.saturating_add(MAX_NONCE_AHEAD) {
            return Err(MempoolError::NonceTooFarAhead { next: next_nonce, got: nonce });
        }
        let queue = self.accounts.get(&sender);
        if let Some(old) = queue.and_then(|q| q.get(&nonce)) {
            let needed =
                old.fee().saturating_add(old.fee().saturating_mul(REPLACE_BUMP_PERCENT).div_ceil(100));
            if entry.fee() < needed {
                return Err(MempoolError::Underpriced { needed });
            }
            let replaced = old.hash;
            self.hashes.remove(&replaced);
            self.put(entry);
            return Ok(Some(replaced));
        }
        if queue.is_some_and(|q| q.len() >= MAX_PER_ACCOUNT) {
            return Err(MempoolError::AccountFull);
        }
        let mut evicted = None;
        if self.hashes.len() >= MAX_TXS {
            let (lowest_fee, victim) = self.lowest().unwrap_or((0, entry.hash));
            if entry.fee() <= lowest_fee {
                return Err(MempoolError::Full { lowest: lowest_fee });
            }
            self.remove(&victim);
            evicted = Some(victim);
        }
        self.put(entry);
        Ok(evicted)
    }

    fn put(&mut self, entry: Entry) {
        let (sender, nonce) = (entry.tx.tx.sender, entry.tx.tx.nonce);
        self.hashes.insert(entry.hash, (sender, nonce));
        self.accounts.entry(sender).or_default().insert(nonce, entry);
    }

    /// The lowest-fee transaction among each account's last one (evicting it leaves no gap).
    fn lowest(&self) -> Option<(u64, Hash)> {
        self.accounts.values().filter_map(|q| q.values().next_back()).map(|e| (e.fee(), e.hash)).min()
    }

    /// Drops the transaction `hash` (and every later one of its account, which now has a gap).
    pub fn remove(&mut self, hash: &Hash) {
        let Some((sender, nonce)) = self.hashes.remove(hash) else { return };
        if let Some(queue) = self.accounts.get_mut(&sender) {
            for (_, later) in queue.split_off(&nonce) {
                self.hashes.remove(&later.hash);
            }
            if queue.is_empty() {
                self.accounts.remove(&sender);
            }
        }
    }

    /// Up to `max` transactions ready to run now: each account's run of consecutive nonces from
    /// `next_nonce(account)`, accounts ordered by their first transaction's fee limit (highest
    /// first; ties by address). Transactions whose nonce was used are dropped.
    pub fn ready(&mut self, next_nonce: impl Fn(&Address) -> u64, max: usize) -> Vec<SignedTransaction> {
        let mut runs: Vec<(u64, Address, Vec<SignedTransaction>)> = Vec::new();
        let mut stale = Vec::new();
        for (sender, queue) in &self.accounts {
            let mut expected = next_nonce(sender);
            stale.extend(queue.range(..expected).map(|(_, e)| e.hash));
            let run: Vec<SignedTransaction> = queue
                .range(expected..)
                .take_while(|(n, _)| {
                    let ok = **n == expected;
                    expected += 1;
                    ok
                })
                .map(|(_, e)| e.tx.clone())
                .collect();
            if let Some(first) = run.first() {
                runs.push((first.tx.fee_limit.0, *sender, run));
            }
        }
        for hash in stale {
            self.forget(&hash);
        }
        runs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        runs.into_iter().flat_map(|(_, _, run)| run).take(max).collect()
    }

    /// Drops one transaction only (it was included).
    pub fn forget(&mut self, hash: &Hash) {
        let Some((sender, nonce)) = self.hashes.remove(hash) else { return };
        if let Some(queue) = self.accounts.get_mut(&sender) {
            queue.remove(&nonce);
            if queue.is_empty() {
                self.accounts.remove(&sender);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tao_crypto::{ChainDomain, SecretKey};
    use tao_tx::{Call, Transaction};
    use tao_types::Balance;

    fn domain() -> ChainDomain {
        ChainDomain { chain_id: 1, genesis_hash: Hash([7; 32]) }
    }

    fn tx(key: u8, nonce: u64, fee: u64) -> VerifiedTransaction {
        let k = SecretKey::from_bytes(&[key; 32]).unwrap();
        let call = Call {
            contract: Hash([1; 32]),
            method: b"m".to_vec().try_into().unwrap(),
            args: Vec::new().try_into().unwrap(),
        };
        let signed = Transaction { chain_id: 1, sender: k.address(), nonce, fee_limit: Balance(fee), call }
            .sign(&domain(), &k);
        tao_tx::decode_and_verify(&signed.encode(), &domain()).unwrap()
    }

    #[test]
    fn nonces_replacement_and_readiness() {
        let mut pool = Mempool::new();
        assert_eq!(pool.insert(tx(1, 0, 100), 1), Err(MempoolError::StaleNonce { next: 1, got: 0 }));
        assert_eq!(pool.insert(tx(1, 30, 100), 1), Err(MempoolError::NonceTooFarAhead { next: 1, got: 30 }));
        pool.insert(tx(1, 1, 100), 1).unwrap();
        assert_eq!(pool.insert(tx(1, 1, 100), 1), Err(MempoolError::Duplicate));
        assert_eq!(pool.insert(tx(1, 1, 105), 1), Err(MempoolError::Underpriced { needed: 110 }));
        let replaced = pool.insert(tx(1, 1, 110), 1).unwrap();
        assert_eq!(replaced, Some(tx(1, 1, 100).hash));
        pool.insert(tx(1, 3, 500), 1).unwrap();
        pool.insert(tx(2, 0, 300), 0).unwrap();
        // Account 1 has a gap at nonce 2: only nonce 1 is ready; account 2 pays more, goes first.
        let ready = pool.ready(|a| if *a == tx(1, 0, 0).signed.tx.sender { 1 } else { 0 }, 10);
        let order: Vec<(u64, u64)> = ready.iter().map(|t| (t.tx.fee_limit.0, t.tx.nonce)).collect();
        assert_eq!(order, vec![(300, 0), (110, 1)]);
        assert_eq!(pool.len(), 3);
        pool.remove(&tx(1, 1, 110).hash);
        assert_eq!(pool.len(), 1, "removing nonce 1 drops nonce 3 behind the gap");
    }

    #[test]
    fn limits_per_account_and_in_total() {
        let mut pool = Mempool::new();
        for n in 0..MAX_PER_ACCOUNT as u64 {
            pool.insert(tx(1, n, 10), 0).unwrap();
        }
        assert_eq!(pool.insert(tx(1, 16, 10), 0), Err(MempoolError::AccountFull));
        assert_eq!(pool.len(), MAX_PER_ACCOUNT);
    }
}

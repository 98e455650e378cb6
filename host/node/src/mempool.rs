//! Pending transactions: each a [`VerifiedTransaction`] (its signature checked once, at
//! admission, so block building need not check it again), ordered per account by nonce, bounded
//! in count and in bytes, per sender and in total.
//!
//! The economics: a transaction is *ready* when its account's nonces from the next one up to it
//! are all pending (it can run in the next block); otherwise it is *gapped* and cannot run, so it
//! may never pay a fee. Filling the pool must cost real fees, so:
//!
//! - gapped transactions live in a small budget of their own ([`Limits::gapped`],
//!   [`Limits::gapped_bytes`], [`Limits::gapped_per_account`]), may only displace other gapped
//!   transactions, and expire after [`Limits::gapped_ttl_blocks`];
//! - a ready transaction displaces every gapped transaction (of other accounts) before any ready
//!   one, so unexecutable transactions never make an executable one pay more; ready ones are
//!   displaced the account's last nonce first (no new gap), by a higher fee per byte, or, when
//!   they are queued behind their account's first transaction, by another account's first one:
//!   an earlier transaction of the same sender may spend what pays for them, so only a first
//!   transaction is sure to pay, and filling the pool takes one paid transaction per slot;
//! - each sender is bounded in count, bytes, nonce gap and in fees: its balance must cover the
//!   largest fee of every transaction it has pending;
//! - any transaction left unincluded for [`Limits::ttl_blocks`] is dropped.
//!
//! Priority is the *fee rate*: the most a transaction can be charged (its fee limit, at least
//! its byte fee) per encoded byte, compared exactly by cross-multiplication. Everything is
//! deterministic (heights, not clocks; ordered maps).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use tao_tx::VerifiedTransaction;
use tao_types::{Address, Hash};

/// Most transactions held: four of the largest blocks (`tao_light::MAX_BLOCK_TXS`), so a
/// proposer finds a full block ready while the next ones queue.
pub const MAX_TXS: usize = 16_384;
/// Most encoded bytes held in total (32 MiB: 256 of the largest transactions).
pub const MAX_BYTES: u64 = 32 * 1024 * 1024;
/// Most transactions held per account.
pub const MAX_PER_ACCOUNT: usize = 16;
/// Most encoded bytes held per account (1 MiB: 8 of the largest transactions).
pub const MAX_ACCOUNT_BYTES: u64 = 1024 * 1024;
/// How far past its next nonce an account may queue: with at most [`MAX_PER_ACCOUNT`] pending,
/// a farther nonce could never become ready.
pub const MAX_NONCE_AHEAD: u64 = MAX_PER_ACCOUNT as u64 - 1;
/// Most gapped transactions held in total.
pub const MAX_GAPPED: usize = 256;
/// Most encoded bytes of gapped transactions held in total (1 MiB).
pub const MAX_GAPPED_BYTES: u64 = 1024 * 1024;
/// Most gapped transactions held per account.
pub const MAX_GAPPED_PER_ACCOUNT: usize = 4;
/// Blocks after which a transaction still gapped is dropped.
pub const GAPPED_TTL_BLOCKS: u64 = 32;
/// Blocks after which any transaction not yet included is dropped.
pub const TTL_BLOCKS: u64 = 600;
/// A replacement must offer at least this much more fee, in percent.
pub const REPLACE_BUMP_PERCENT: u64 = 10;

/// The pool's bounds ([`Limits::DEFAULT`] on a node; tests use small ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most transactions held.
    pub txs: usize,
    /// Most encoded bytes held.
    pub bytes: u64,
    /// Most transactions per account.
    pub per_account: usize,
    /// Most encoded bytes per account.
    pub account_bytes: u64,
    /// How far past the account's next nonce a nonce may be.
    pub nonce_ahead: u64,
    /// Most gapped transactions.
    pub gapped: usize,
    /// Most encoded bytes of gapped transactions.
    pub gapped_bytes: u64,
    /// Most gapped transactions per account.
    pub gapped_per_account: usize,
    /// Blocks a gapped transaction is kept.
    pub gapped_ttl_blocks: u64,
    /// Blocks any transaction is kept.
    pub ttl_blocks: u64,
}

impl Limits {
    /// The node's bounds (the constants above).
    pub const DEFAULT: Limits = Limits {
        txs: MAX_TXS,
        bytes: MAX_BYTES,
        per_account: MAX_PER_ACCOUNT,
        account_bytes: MAX_ACCOUNT_BYTES,
        nonce_ahead: MAX_NONCE_AHEAD,
        gapped: MAX_GAPPED,
        gapped_bytes: MAX_GAPPED_BYTES,
        gapped_per_account: MAX_GAPPED_PER_ACCOUNT,
        gapped_ttl_blocks: GAPPED_TTL_BLOCKS,
        ttl_blocks: TTL_BLOCKS,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

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
    #[error("nonce {got} is more than {ahead} ahead of the account's next nonce {next}")]
    NonceTooFarAhead {
        /// The account's next nonce.
        next: u64,
        /// The nonce given.
        got: u64,
        /// How far ahead a nonce may be.
        ahead: u64,
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
    #[error("the account already has {limit} pending transactions")]
    AccountFull {
        /// Most transactions per account.
        limit: usize,
    },
    /// The account's pending transactions would take too many bytes.
    #[error("the account's pending transactions would exceed {limit} bytes")]
    AccountBytes {
        /// Most bytes per account.
        limit: u64,
    },
    /// The account cannot pay the fees of all its pending transactions.
    #[error("balance {balance} rao cannot pay the fees of the account's pending transactions ({needed} rao)")]
    CannotPayPending {
        /// The sender's balance.
        balance: u64,
        /// The largest fees of its pending transactions with this one.
        needed: u64,
    },
    /// The account has too many transactions waiting behind a nonce gap.
    #[error(
        "the account already has {limit} transactions waiting behind a nonce gap; submit nonce {next} first"
    )]
    TooManyGapped {
        /// The account's next nonce.
        next: u64,
        /// Most gapped transactions per account.
        limit: usize,
    },
    /// It waits behind a nonce gap and the room for such transactions is full.
    #[error(
        "nonce {got} leaves a gap after the account's next nonce {next} and the room for gapped transactions is full; submit nonce {next} first"
    )]
    GappedFull {
        /// The account's next nonce.
        next: u64,
        /// The nonce given.
        got: u64,
    },
    /// The pool is full of ready transactions paying at least as much per byte.
    #[error("the pool is full; offer a fee limit of at least {needed} rao")]
    Full {
        /// The smallest fee limit (for this transaction's size) that would enter.
        needed: u64,
    },
}

/// What the node knows about the sender when a transaction is submitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    /// The sender's next nonce in the committed state.
    pub next_nonce: u64,
    /// The sender's balance in the committed state, in rao.
    pub balance: u64,
    /// The height of the committed head.
    pub height: u64,
}

/// The most a transaction can be charged per byte, compared exactly.
#[derive(Debug, Clone, Copy)]
struct Rate {
    fee: u64,
    bytes: u64,
}

impl Ord for Rate {
    fn cmp(&self, other: &Self) -> Ordering {
        let mine = u128::from(self.fee) * u128::from(other.bytes.max(1));
        let theirs = u128::from(other.fee) * u128::from(self.bytes.max(1));
        mine.cmp(&theirs)
    }
}

impl PartialOrd for Rate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Rate {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Rate {}

impl Rate {
    /// The smallest fee for `bytes` bytes whose rate is above this one.
    fn fee_above(&self, bytes: u64) -> u64 {
        let scaled = u128::from(self.fee) * u128::from(bytes) / u128::from(self.bytes.max(1));
        u64::try_from(scaled.saturating_add(1)).unwrap_or(u64::MAX)
    }
}

#[derive(Debug, Clone)]
struct Entry {
    /// Checked once, at admission: blocks built from the pool never check it again.
    tx: VerifiedTransaction,
    bytes: u64,
    max_fee: u64,
    /// Height of the head when it was admitted.
    added: u64,
    /// Admission order: among senders offering the same fee rate, the one that came first goes
    /// first (by address, the highest addresses waited as long as the load lasted).
    seq: u64,
}

impl Entry {
    fn hash(&self) -> Hash {
        self.tx.hash()
    }

    fn rate(&self) -> Rate {
        Rate { fee: self.max_fee, bytes: self.bytes }
    }
}

/// What an account (or the whole pool) holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Usage {
    txs: usize,
    bytes: u64,
    gapped: usize,
    gapped_bytes: u64,
}

impl Usage {
    fn plus(self, o: Usage) -> Usage {
        Usage {
            txs: self.txs.saturating_add(o.txs),
            bytes: self.bytes.saturating_add(o.bytes),
            gapped: self.gapped.saturating_add(o.gapped),
            gapped_bytes: self.gapped_bytes.saturating_add(o.gapped_bytes),
        }
    }

    fn minus(self, o: Usage) -> Usage {
        Usage {
            txs: self.txs.saturating_sub(o.txs),
            bytes: self.bytes.saturating_sub(o.bytes),
            gapped: self.gapped.saturating_sub(o.gapped),
            gapped_bytes: self.gapped_bytes.saturating_sub(o.gapped_bytes),
        }
    }

    /// What `next` and the (nonce, bytes) pairs `txs` (in nonce order) use.
    fn of(next: u64, txs: impl Iterator<Item = (u64, u64)>) -> Usage {
        let mut usage = Usage::default();
        let mut expected = Some(next);
        for (nonce, bytes) in txs {
            usage.txs += 1;
            usage.bytes = usage.bytes.saturating_add(bytes);
            if expected == Some(nonce) {
                expected = nonce.checked_add(1);
            } else {
                expected = None;
                usage.gapped += 1;
                usage.gapped_bytes = usage.gapped_bytes.saturating_add(bytes);
            }
        }
        usage
    }
}

#[derive(Debug, Default)]
struct Account {
    /// The account's next nonce, as last learned from the committed state.
    next: u64,
    txs: BTreeMap<u64, Entry>,
}

impl Account {
    fn usage(&self) -> Usage {
        Usage::of(self.next, self.txs.iter().map(|(n, e)| (*n, e.bytes)))
    }

    /// The nonce after the last ready one.
    fn ready_end(&self) -> u64 {
        let mut end = self.next;
        while self.txs.contains_key(&end) {
            end = end.saturating_add(1);
            if end == u64::MAX {
                break;
            }
        }
        end
    }
}

/// The pool.
#[derive(Debug, Default)]
pub struct Mempool {
    limits: Limits,
    accounts: BTreeMap<Address, Account>,
    hashes: BTreeMap<Hash, (Address, u64)>,
    total: Usage,
    /// Transactions admitted so far: the next entry's `seq`.
    admitted: u64,
}

impl Mempool {
    /// An empty pool with the node's bounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pool with other bounds.
    pub fn with_limits(limits: Limits) -> Self {
        Mempool { limits, ..Self::default() }
    }

    /// Transactions held.
    pub fn len(&self) -> usize {
        self.hashes.len()
    }

    /// Encoded bytes held.
    pub fn bytes(&self) -> u64 {
        self.total.bytes
    }

    /// Transactions held that wait behind a nonce gap.
    pub fn gapped(&self) -> usize {
        self.total.gapped
    }

    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.hashes.is_empty()
    }

    /// Whether `hash` is pending.
    pub fn contains(&self, hash: &Hash) -> bool {
        self.hashes.contains_key(hash)
    }

    /// Runs `f` on `sender`'s account (created if absent, removed when left empty), keeping the
    /// totals and the hash index right.
    fn with_account<R>(&mut self, sender: Address, f: impl FnOnce(&mut Account) -> R) -> R {
        let account = self.accounts.entry(sender).or_default();
        let before = account.usage();
        let hashes_before: Vec<(u64, Hash)> = account.txs.iter().map(|(n, e)| (*n, e.hash())).collect();
        let out = f(account);
        let after = account.usage();
        for (nonce, hash) in hashes_before {
            if account.txs.get(&nonce).is_none_or(|e| e.hash() != hash) {
                self.hashes.remove(&hash);
            }
        }
        for (nonce, e) in &account.txs {
            self.hashes.insert(e.hash(), (sender, *nonce));
        }
        if account.txs.is_empty() {
            self.accounts.remove(&sender);
        }
        self.total = self.total.minus(before).plus(after);
        out
    }

    /// Learns `sender`'s next nonce from the committed state; drops its used nonces.
    fn set_next(&mut self, sender: Address, next: u64) {
        let Some(account) = self.accounts.get(&sender) else { return };
        if account.next == next && account.txs.first_key_value().is_none_or(|(n, _)| *n >= next) {
            return;
        }
        self.with_account(sender, |a| {
            a.next = next;
            let keep = a.txs.split_off(&next);
            a.txs = keep;
        });
    }

    /// Adds a verified transaction. Returns the hashes of the transactions it replaced or
    /// displaced (gapped ones, or ready ones paying less per byte).
    pub fn insert(
        &mut self,
        verified: VerifiedTransaction,
        at: Admission,
    ) -> Result<Vec<Hash>, MempoolError> {
        let bytes = verified.size() as u64;
        let seq = self.admitted;
        let max_fee = tao_contract_token::max_fee(bytes, verified.signed().tx.fee_limit.0);
        let entry = Entry { max_fee, bytes, tx: verified, added: at.height, seq };
        let (sender, nonce, next) = (entry.tx.signed().tx.sender, entry.tx.signed().tx.nonce, at.next_nonce);
        let limits = self.limits;
        if self.hashes.contains_key(&entry.hash()) {
            return Err(MempoolError::Duplicate);
        }
        if nonce < next {
            return Err(MempoolError::StaleNonce { next, got: nonce });
        }
        if nonce > next.saturating_add(limits.nonce_ahead) {
            return Err(MempoolError::NonceTooFarAhead { next, got: nonce, ahead: limits.nonce_ahead });
        }
        self.set_next(sender, next);

        // The account as it would be, by (nonce → bytes, largest fee).
        let empty = BTreeMap::new();
        let current = self.accounts.get(&sender).map_or(&empty, |a| &a.txs);
        let old = current.get(&nonce);
        if let Some(old) = old {
            let fee = old.tx.signed().tx.fee_limit.0;
            let needed = fee.saturating_add(fee.saturating_mul(REPLACE_BUMP_PERCENT).div_ceil(100));
            if entry.tx.signed().tx.fee_limit.0 < needed {
                return Err(MempoolError::Underpriced { needed });
            }
        }
        let mut shape: BTreeMap<u64, (u64, u64)> =
            current.iter().map(|(n, e)| (*n, (e.bytes, e.max_fee))).collect();
        shape.insert(nonce, (entry.bytes, entry.max_fee));
        let before = Usage::of(next, current.iter().map(|(n, e)| (*n, e.bytes)));
        let after = Usage::of(next, shape.iter().map(|(n, (b, _))| (*n, *b)));
        if after.txs > limits.per_account {
            return Err(MempoolError::AccountFull { limit: limits.per_account });
        }
        if after.bytes > limits.account_bytes {
            return Err(MempoolError::AccountBytes { limit: limits.account_bytes });
        }
        let needed = shape.values().fold(0u64, |sum, (_, fee)| sum.saturating_add(*fee));
        if needed > at.balance {
            return Err(MempoolError::CannotPayPending { balance: at.balance, needed });
        }
        let ready = (next..=nonce).all(|n| shape.contains_key(&n));
        if !ready && after.gapped > limits.gapped_per_account {
            return Err(MempoolError::TooManyGapped { next, limit: limits.gapped_per_account });
        }
        let total = self.total.minus(before).plus(after);
        let victims = self
            .plan_room(sender, total, entry.rate(), entry.bytes, ready, nonce == next)
            .map_err(|needed| {
                if ready {
                    MempoolError::Full { needed }
                } else {
                    MempoolError::GappedFull { next, got: nonce }
                }
            })?;

        let mut gone = Vec::with_capacity(victims.len().saturating_add(1));
        for (account, victim) in victims {
            gone.extend(self.with_account(account, |a| a.txs.remove(&victim)).map(|e| e.hash()));
        }
        let replaced = self.with_account(sender, |a| {
            a.next = next;
            a.txs.insert(nonce, entry)
        });
        gone.extend(replaced.map(|e| e.hash()));
        self.admitted = self.admitted.saturating_add(1);
        Ok(gone)
    }

    /// The transactions (account, nonce) of other accounts to displace so that a pool using
    /// `total` fits its bounds, for a newcomer with `rate` and `bytes` that is `ready` or not
    /// (and `newcomer_first`: its account's next nonce); or the smallest fee limit that would
    /// have made room (for a gapped newcomer, no number).
    fn plan_room(
        &self,
        sender: Address,
        mut total: Usage,
        rate: Rate,
        bytes: u64,
        ready: bool,
        newcomer_first: bool,
    ) -> Result<Vec<(Address, u64)>, u64> {
        let l = self.limits;
        let fits = |t: &Usage| {
            t.txs <= l.txs && t.bytes <= l.bytes && t.gapped <= l.gapped && t.gapped_bytes <= l.gapped_bytes
        };
        let mut victims = Vec::new();
        if fits(&total) {
            return Ok(victims);
        }
        // Gapped transactions of other accounts, lowest rate first (ties: newest first).
        let mut gapped: Vec<(Rate, std::cmp::Reverse<u64>, Address, u64, u64)> = Vec::new();
        for (address, account) in &self.accounts {
            if *address == sender {
                continue;
            }
            let end = account.ready_end();
            for (nonce, e) in account.txs.range(end..) {
                gapped.push((e.rate(), std::cmp::Reverse(e.added), *address, *nonce, e.bytes));
            }
        }
        gapped.sort();
        for (victim_rate, _, address, nonce, victim_bytes) in gapped {
            if fits(&total) {
                break;
            }
            // A gapped newcomer displaces only gapped transactions paying less per byte; a ready
            // one displaces any.
            if !ready && victim_rate >= rate {
                break;
            }
            total = total.minus(Usage { txs: 1, bytes: victim_bytes, gapped: 1, gapped_bytes: victim_bytes });
            victims.push((address, nonce));
        }
        if fits(&total) {
            return Ok(victims);
        }
        if !ready {
            return Err(0);
        }
        // Then ready transactions of other accounts, each account's last nonce first (leaving no
        // gap): those queued behind the account's first one (followers) before any first one,
        // lowest rate first. A victim must pay less per byte, or be a follower while the newcomer
        // is its account's first: a sender's next transaction outranks transactions queued behind
        // others' (which may not be payable by the time they run).
        let mut tails: BTreeMap<(bool, Rate, Address), std::ops::Range<u64>> = BTreeMap::new();
        for (address, account) in &self.accounts {
            let end = account.ready_end();
            if *address != sender && end > account.next {
                let last = end.saturating_sub(1);
                if let Some(e) = account.txs.get(&last) {
                    tails.insert((last == account.next, e.rate(), *address), account.next..last);
                }
            }
        }
        let mut needed = u64::MAX;
        while !fits(&total) {
            let Some(((is_first, victim_rate, address), rest)) = tails.pop_first() else {
                return Err(needed);
            };
            if victim_rate >= rate && (is_first || !newcomer_first) {
                needed = needed.min(victim_rate.fee_above(bytes));
                continue;
            }
            let account = self.accounts.get(&address).ok_or(u64::MAX)?;
            let nonce = rest.end;
            let victim_bytes = account.txs.get(&nonce).map_or(0, |e| e.bytes);
            total = total.minus(Usage { txs: 1, bytes: victim_bytes, gapped: 0, gapped_bytes: 0 });
            victims.push((address, nonce));
            if rest.end > rest.start {
                let below = rest.end.saturating_sub(1);
                if let Some(e) = account.txs.get(&below) {
                    tails.insert((below == rest.start, e.rate(), address), rest.start..below);
                }
            }
        }
        Ok(victims)
    }

    /// Drops the transaction `hash` and every later one of its account (which could no longer
    /// run); returns the hashes dropped.
    pub fn remove(&mut self, hash: &Hash) -> Vec<Hash> {
        let Some((sender, nonce)) = self.hashes.get(hash).copied() else { return Vec::new() };
        self.with_account(sender, |a| a.txs.split_off(&nonce)).into_values().map(|e| e.hash()).collect()
    }

    /// Up to `max` transactions ready to run now: each account's run of consecutive nonces from
    /// `next_nonce(account)`, accounts ordered by their first transaction's fee rate (highest
    /// first; ties by admission order, so no sender waits behind later ones at the same rate).
    /// Transactions whose nonce was used are dropped.
    pub fn ready(&mut self, next_nonce: impl Fn(&Address) -> u64, max: usize) -> Vec<VerifiedTransaction> {
        let senders: Vec<Address> = self.accounts.keys().copied().collect();
        for sender in senders {
            self.set_next(sender, next_nonce(&sender));
        }
        let mut runs: Vec<(Rate, u64, Address, u64, u64)> = Vec::new();
        for (sender, account) in &self.accounts {
            let end = account.ready_end();
            if let Some(first) = account.txs.get(&account.next).filter(|_| end > account.next) {
                runs.push((first.rate(), first.seq, *sender, account.next, end));
            }
        }
        runs.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut out = Vec::new();
        for (_, _, sender, from, end) in runs {
            let Some(account) = self.accounts.get(&sender) else { continue };
            for (_, e) in account.txs.range(from..end) {
                if out.len() >= max {
                    return out;
                }
                out.push(e.tx.clone());
            }
        }
        out
    }

    /// Drops one transaction only: it was included, so its account's next nonce is past it.
    pub fn forget(&mut self, hash: &Hash) {
        let Some((sender, nonce)) = self.hashes.get(hash).copied() else { return };
        self.with_account(sender, |a| {
            a.txs.remove(&nonce);
            a.next = a.next.max(nonce.saturating_add(1));
            let keep = a.txs.split_off(&a.next);
            a.txs = keep;
        });
    }

    /// Drops what has waited too long at `height`: transactions still gapped
    /// [`Limits::gapped_ttl_blocks`] after admission and any transaction (with the later ones of
    /// its account) [`Limits::ttl_blocks`] after. Returns the hashes dropped.
    pub fn expire(&mut self, height: u64) -> Vec<Hash> {
        let l = self.limits;
        let old = |e: &Entry, ttl: u64| e.added.saturating_add(ttl) <= height;
        let mut gapped = Vec::new();
        let mut aged = Vec::new();
        for account in self.accounts.values() {
            let end = account.ready_end();
            if let Some(e) = account.txs.values().find(|e| old(e, l.ttl_blocks)) {
                aged.push(e.hash());
            }
            gapped.extend(
                account.txs.range(end..).filter(|(_, e)| old(e, l.gapped_ttl_blocks)).map(|(_, e)| e.hash()),
            );
        }
        let mut gone = Vec::new();
        for hash in aged {
            gone.extend(self.remove(&hash));
        }
        for hash in gapped {
            if let Some((sender, nonce)) = self.hashes.get(&hash).copied() {
                gone.extend(self.with_account(sender, |a| a.txs.remove(&nonce)).map(|e| e.hash()));
            }
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use tao_crypto::{ChainDomain, SecretKey};
    use tao_tx::{Call, Transaction};
    use tao_types::Balance;

    fn domain() -> ChainDomain {
        ChainDomain { chain_id: 1, genesis_hash: Hash([7; 32]) }
    }

    fn key(k: u8) -> SecretKey {
        SecretKey::from_bytes(&[k; 32]).unwrap()
    }

    fn who(k: u8) -> Address {
        key(k).address()
    }

    /// A transaction of account `k` with `pad` bytes of arguments.
    fn sized(k: u8, nonce: u64, fee: u64, pad: usize) -> VerifiedTransaction {
        let call = Call {
            contract: Hash([1; 32]),
            method: b"m".to_vec().try_into().unwrap(),
            args: vec![0u8; pad].try_into().unwrap(),
        };
        let signed = Transaction { chain_id: 1, sender: who(k), nonce, fee_limit: Balance(fee), call }
            .sign(&domain(), &key(k));
        tao_tx::decode_and_verify(&signed.encode(), &domain()).unwrap()
    }

    fn tx(k: u8, nonce: u64, fee: u64) -> VerifiedTransaction {
        sized(k, nonce, fee, 0)
    }

    const RICH: u64 = u64::MAX / 4;

    fn at(next_nonce: u64) -> Admission {
        Admission { next_nonce, balance: RICH, height: 0 }
    }

    /// Fees in these tests are at least the byte fee of a small transaction (~170 bytes).
    const F: u64 = 1_000_000;

    #[test]
    fn senders_at_the_same_fee_rate_go_in_admission_order() {
        let mut pool = Mempool::new();
        let keys = [5u8, 1, 9, 3, 7];
        for k in keys {
            pool.insert(tx(k, 0, F), at(0)).unwrap();
        }
        let admitted: Vec<Address> = keys.iter().map(|k| who(*k)).collect();
        let mut by_address = admitted.clone();
        by_address.sort();
        assert_ne!(admitted, by_address, "the test needs an order that is not the addresses'");
        let ready = pool.ready(|_| 0, 10);
        let senders: Vec<Address> = ready.iter().map(|t| t.signed().tx.sender).collect();
        assert_eq!(senders, admitted);
        // A higher fee rate still goes first, whenever it came.
        pool.insert(tx(4, 0, 2 * F), at(0)).unwrap();
        assert_eq!(pool.ready(|_| 0, 1)[0].signed().tx.sender, who(4));
    }

    #[test]
    fn nonces_replacement_and_readiness() {
        let mut pool = Mempool::new();
        assert_eq!(pool.insert(tx(1, 0, F), at(1)), Err(MempoolError::StaleNonce { next: 1, got: 0 }));
        assert_eq!(
            pool.insert(tx(1, 30, F), at(1)),
            Err(MempoolError::NonceTooFarAhead { next: 1, got: 30, ahead: MAX_NONCE_AHEAD })
        );
        pool.insert(tx(1, 1, F), at(1)).unwrap();
        assert_eq!(pool.insert(tx(1, 1, F), at(1)), Err(MempoolError::Duplicate));
        assert_eq!(
            pool.insert(tx(1, 1, F + 5), at(1)),
            Err(MempoolError::Underpriced { needed: F + F / 10 })
        );
        let replaced = pool.insert(tx(1, 1, F + F / 10), at(1)).unwrap();
        assert_eq!(replaced, vec![tx(1, 1, F).hash()]);
        pool.insert(tx(1, 3, 5 * F), at(1)).unwrap();
        assert_eq!(pool.gapped(), 1, "nonce 3 waits behind the gap at 2");
        pool.insert(tx(2, 0, 3 * F), at(0)).unwrap();
        // Account 1 has a gap at nonce 2: only nonce 1 is ready; account 2 pays more, goes first.
        let ready = pool.ready(|a| if *a == who(1) { 1 } else { 0 }, 10);
        let order: Vec<(u64, u64)> =
            ready.iter().map(|t| (t.signed().tx.fee_limit.0, t.signed().tx.nonce)).collect();
        assert_eq!(order, vec![(3 * F, 0), (F + F / 10, 1)]);
        assert_eq!(pool.len(), 3);
        pool.remove(&tx(1, 1, F + F / 10).hash());
        assert_eq!(pool.len(), 1, "removing nonce 1 drops nonce 3 behind the gap");
        // Filling the gap makes the later nonces ready.
        pool.insert(tx(1, 1, F), at(1)).unwrap();
        pool.insert(tx(1, 3, F), at(1)).unwrap();
        assert_eq!(pool.gapped(), 1);
        pool.insert(tx(1, 2, F), at(1)).unwrap();
        assert_eq!(pool.gapped(), 0);
        // Inclusion moves the account's next nonce.
        pool.forget(&tx(1, 1, F).hash());
        assert_eq!(pool.ready(|a| if *a == who(1) { 2 } else { 0 }, 10).len(), 3);
    }

    #[test]
    fn each_sender_is_bounded_in_count_bytes_gaps_and_fees() {
        let mut pool = Mempool::new();
        for n in 0..MAX_PER_ACCOUNT as u64 {
            pool.insert(tx(1, n, F), at(0)).unwrap();
        }
        assert_eq!(pool.insert(tx(1, 15, 2 * F), at(0)).map(|v| v.len()), Ok(1), "replacing is fine");
        let limits = Limits { per_account: 3, ..Limits::DEFAULT };
        let mut small = Mempool::with_limits(limits);
        for n in 0..3 {
            small.insert(tx(1, n, F), at(0)).unwrap();
        }
        assert_eq!(small.insert(tx(1, 3, F), at(0)), Err(MempoolError::AccountFull { limit: 3 }));

        // Bytes: eight of the largest transactions fill an account.
        let mut pool = Mempool::new();
        let big = tao_tx::MAX_ARGS_BYTES as usize;
        let fee = 200 * F;
        for n in 0..8 {
            pool.insert(sized(2, n, fee, big), at(0)).unwrap();
        }
        assert_eq!(
            pool.insert(sized(2, 8, fee, big), at(0)),
            Err(MempoolError::AccountBytes { limit: MAX_ACCOUNT_BYTES })
        );
        assert!(pool.bytes() <= MAX_ACCOUNT_BYTES);

        // Gaps: at most four gapped per account.
        let mut pool = Mempool::new();
        for n in 2..6 {
            pool.insert(tx(3, n, F), at(0)).unwrap();
        }
        assert_eq!(pool.insert(tx(3, 7, F), at(0)), Err(MempoolError::TooManyGapped { next: 0, limit: 4 }));
        pool.insert(tx(3, 0, F), at(0)).unwrap();
        pool.insert(tx(3, 1, F), at(0)).unwrap();
        assert_eq!(pool.gapped(), 0, "the gap filled: all ready");

        // Fees: the balance must cover every pending transaction's largest fee.
        let mut pool = Mempool::new();
        let poor = Admission { next_nonce: 0, balance: 2 * F + F / 2, height: 0 };
        pool.insert(tx(4, 0, F), poor).unwrap();
        pool.insert(tx(4, 1, F), poor).unwrap();
        assert_eq!(
            pool.insert(tx(4, 2, F), poor),
            Err(MempoolError::CannotPayPending { balance: 2 * F + F / 2, needed: 3 * F })
        );
    }

    fn tiny() -> Limits {
        Limits {
            txs: 8,
            bytes: 1 << 20,
            per_account: 4,
            account_bytes: 1 << 20,
            nonce_ahead: 3,
            gapped: 3,
            gapped_bytes: 1 << 20,
            gapped_per_account: 2,
            gapped_ttl_blocks: 4,
            ttl_blocks: 10,
        }
    }

    #[test]
    fn gapped_transactions_never_displace_ready_ones_and_ready_ones_displace_them() {
        let mut pool = Mempool::with_limits(tiny());
        // Three gapped transactions offering a high fee (never paid: they cannot run). Fees count
        // only up to what `MAX_TX_GAS` costs, so these tests stay below it.
        for k in 1..=3 {
            pool.insert(tx(k, 1, 2 * F), at(0)).unwrap();
        }
        assert_eq!(
            pool.insert(tx(4, 1, 2 * F), at(0)),
            Err(MempoolError::GappedFull { next: 0, got: 1 }),
            "the room for gapped transactions is full of ones paying as much"
        );
        // Ready transactions at the normal fee fill the rest.
        for k in 10..15 {
            pool.insert(tx(k, 0, F), at(0)).unwrap();
        }
        assert_eq!(pool.len(), 8);
        let ready = ready_set(&pool);
        // A gapped transaction paying more displaces a gapped one, never a ready one.
        let gone = pool.insert(tx(20, 1, 3 * F), at(0)).unwrap();
        assert_eq!(gone.len(), 1);
        assert!((1..=3).any(|k| gone[0] == tx(k, 1, 2 * F).hash()));
        assert_eq!(ready_set(&pool), ready);
        // An honest ready transaction at the normal fee displaces gapped ones, whatever they offer.
        for k in 30..33 {
            let gone = pool.insert(tx(k, 0, F), at(0)).unwrap();
            assert_eq!(gone.len(), 1);
        }
        assert_eq!((pool.len(), pool.gapped()), (8, 0));
        // A gapped transaction cannot enter a pool full of ready ones, whatever it offers.
        assert_eq!(
            pool.insert(tx(40, 1, 100_000 * F), at(0)),
            Err(MempoolError::GappedFull { next: 0, got: 1 })
        );
        // Full of ready ones: entering takes a higher fee rate, named in the refusal.
        let Err(MempoolError::Full { needed }) = pool.insert(tx(41, 0, F), at(0)) else { panic!() };
        assert_eq!(needed, F + 1, "same size: one rao more");
        let gone = pool.insert(tx(41, 0, needed), at(0)).unwrap();
        assert_eq!(gone.len(), 1);
        assert_eq!(pool.len(), 8);
    }

    /// A fee limit above what `MAX_TX_GAS` costs is never charged, so it buys no priority: the
    /// capped and the huge limit rank as equals, in admission order.
    #[test]
    fn fee_limits_count_only_up_to_what_can_be_charged() {
        let mut pool = Mempool::new();
        pool.insert(tx(1, 0, 5 * F), at(0)).unwrap();
        pool.insert(tx(2, 0, 1_000_000 * F), at(0)).unwrap();
        let senders: Vec<Address> = pool.ready(|_| 0, 2).iter().map(|t| t.signed().tx.sender).collect();
        assert_eq!(senders, [who(1), who(2)]);
    }

    #[test]
    fn ready_transactions_are_displaced_from_the_last_nonce() {
        let mut pool = Mempool::with_limits(Limits { txs: 4, ..tiny() });
        for n in 0..4 {
            pool.insert(tx(1, n, F), at(0)).unwrap();
        }
        let gone = pool.insert(tx(2, 0, 2 * F), at(0)).unwrap();
        assert_eq!(gone, vec![tx(1, 3, F).hash()], "the last nonce, leaving no gap");
        assert_eq!(pool.gapped(), 0);
    }

    #[test]
    fn a_senders_next_transaction_displaces_transactions_queued_behind_others() {
        let mut pool = Mempool::with_limits(tiny());
        for k in 1..=2 {
            for n in 0..4 {
                pool.insert(tx(k, n, 3 * F), at(0)).unwrap();
            }
        }
        // An honest first transaction at the normal fee enters, displacing a follower.
        let gone = pool.insert(tx(3, 0, F), at(0)).unwrap();
        assert!(gone == vec![tx(1, 3, 3 * F).hash()] || gone == vec![tx(2, 3, 3 * F).hash()], "{gone:?}");
        // A follower at the normal fee does not outrank followers paying more.
        assert_eq!(pool.insert(tx(3, 1, F), at(0)), Err(MempoolError::Full { needed: 3 * F + 1 }));
        // First transactions of other senders keep entering while followers remain.
        for k in 4..=8 {
            pool.insert(tx(k, 0, F), at(0)).unwrap();
        }
        assert_eq!(pool.len(), 8);
        // Only first transactions left: entering now takes a higher rate.
        assert_eq!(pool.insert(tx(10, 0, F), at(0)), Err(MempoolError::Full { needed: F + 1 }));
    }

    #[test]
    fn waiting_transactions_expire() {
        let mut pool = Mempool::with_limits(tiny());
        pool.insert(tx(1, 2, F), Admission { height: 5, ..at(0) }).unwrap();
        pool.insert(tx(2, 0, F), Admission { height: 5, ..at(0) }).unwrap();
        pool.insert(tx(2, 1, F), Admission { height: 6, ..at(0) }).unwrap();
        assert!(pool.expire(8).is_empty());
        assert_eq!(pool.expire(9), vec![tx(1, 2, F).hash()], "gapped: after 4 blocks");
        assert_eq!(
            pool.expire(15),
            vec![tx(2, 0, F).hash(), tx(2, 1, F).hash()],
            "any: after 10, with later nonces"
        );
        assert!(pool.is_empty());
    }

    /// Recomputes the totals and checks every bound.
    fn check(pool: &Mempool) {
        let l = pool.limits;
        let mut total = Usage::default();
        let mut n = 0;
        for (address, account) in &pool.accounts {
            let usage = account.usage();
            assert!(!account.txs.is_empty());
            assert!(usage.txs <= l.per_account && usage.bytes <= l.account_bytes);
            assert!(usage.gapped <= l.gapped_per_account);
            for (nonce, e) in &account.txs {
                assert_eq!(pool.hashes.get(&e.hash()), Some(&(*address, *nonce)));
                n += 1;
            }
            total = total.plus(usage);
        }
        assert_eq!(n, pool.hashes.len());
        assert_eq!(total, pool.total);
        assert!(total.txs <= l.txs && total.bytes <= l.bytes);
        assert!(total.gapped <= l.gapped && total.gapped_bytes <= l.gapped_bytes);
    }

    fn ready_set(pool: &Mempool) -> Vec<Hash> {
        let mut out = Vec::new();
        for account in pool.accounts.values() {
            out.extend(account.txs.range(account.next..account.ready_end()).map(|(_, e)| e.hash()));
        }
        out
    }

    /// Ready transactions of accounts other than `sender` queued behind their account's first.
    fn others_ready_followers(pool: &Mempool, sender: Address) -> usize {
        let followers = pool
            .accounts
            .iter()
            .filter(|(a, _)| **a != sender)
            .map(|(_, a)| a.txs.range(a.next..a.ready_end()).count().saturating_sub(1));
        followers.sum()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Submit { account: u8, ahead: u64, fee: u64, pad: usize },
        Block,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (1u8..7, 0u64..5, 1u64..6, 0usize..3)
                .prop_map(|(account, ahead, fee, pad)| Op::Submit { account, ahead, fee: fee * F, pad: pad * 300 }),
            1 => Just(Op::Block),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Whatever arrives, the pool keeps its bounds and books; a gapped transaction never
        /// displaces a ready one; a ready one is refused only when ready transactions alone fill
        /// the pool.
        #[test]
        fn bounds_hold_and_gapped_transactions_never_crowd_out_ready_ones(ops in proptest::collection::vec(op(), 1..40)) {
            let limits = Limits { bytes: 4_000, gapped_bytes: 1_500, ..tiny() };
            let mut pool = Mempool::with_limits(limits);
            let mut nonces: BTreeMap<Address, u64> = BTreeMap::new();
            let mut height = 0;
            for op in ops {
                match op {
                    Op::Submit { account, ahead, fee, pad } => {
                        let next = *nonces.get(&who(account)).unwrap_or(&0);
                        let v = sized(account, next + ahead, fee, pad);
                        let bytes = v.size() as u64;
                        let ready_before = ready_set(&pool);
                        let (len, gapped, total) = (pool.len(), pool.gapped(), pool.total);
                        let others_gapped: usize = pool.accounts.iter().filter(|(a, _)| **a != who(account)).map(|(_, a)| a.usage().gapped).sum();
                        let others_gapped_bytes: u64 = pool.accounts.iter().filter(|(a, _)| **a != who(account)).map(|(_, a)| a.usage().gapped_bytes).sum();
                        let result = pool.insert(v, Admission { next_nonce: next, balance: RICH, height });
                        let is_gapped = ahead > 0 && (next..next + ahead).any(|n| !pool.accounts.get(&who(account)).is_some_and(|a| a.txs.contains_key(&n)));
                        if is_gapped {
                            let now: Vec<Hash> = ready_set(&pool);
                            for h in ready_before {
                                prop_assert!(now.contains(&h), "a gapped transaction displaced a ready one");
                            }
                        }
                        if let Err(MempoolError::Full { .. }) = result {
                            prop_assert!(
                                len - others_gapped + 1 > limits.txs || total.bytes - others_gapped_bytes + bytes > limits.bytes,
                                "refused while gapped transactions held the room ({len} {gapped})"
                            );
                        }
                        if let Err(MempoolError::Full { needed }) = result {
                            prop_assert!(needed > fee);
                            if ahead == 0 {
                                let followers = others_ready_followers(&pool, who(account));
                                prop_assert_eq!(followers, 0, "a first transaction refused while followers held the room");
                            }
                        }
                    }
                    Op::Block => {
                        height += 1;
                        let txs = pool.ready(|a| *nonces.get(a).unwrap_or(&0), 3);
                        for t in &txs {
                            nonces.insert(t.signed().tx.sender, t.signed().tx.nonce + 1);
                            pool.forget(&t.hash());
                        }
                        pool.expire(height);
                    }
                }
                check(&pool);
            }
        }
    }
}

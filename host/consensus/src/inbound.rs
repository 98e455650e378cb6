//! Relay messages from peers (transactions, evidence): adversarial input, checked off the app
//! loop so that no peer can slow the engine. Each peer's messages are checked in order by a
//! worker of its own, at most [`RELAY_BACKLOG`] waiting; more are dropped unchecked. Peers
//! outside the validator set (any libp2p node may connect) share [`MAX_STRANGERS`] queues and
//! one check at a time; validators, whom the engine knows by their signed peer proofs, are
//! never crowded out by them. A peer caught relaying what no honest validator relays (a forged
//! signature, an undecodable or oversized message) is ignored for [`IGNORE_FOR`]: a flood of
//! forgeries costs one check.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tao_chain::Equivocation;
use tokio::sync::{Semaphore, mpsc};
use tokio::time::Instant;

/// Messages of one peer waiting to be checked; more are dropped unchecked.
pub const RELAY_BACKLOG: usize = 4;
/// Peers outside the validator set with a queue at once: an idle one gives way to a newcomer.
pub const MAX_STRANGERS: usize = 64;
/// Peers remembered as ignored; the oldest is forgotten past this.
pub const MAX_IGNORED_PEERS: usize = 1_024;
/// How long a peer caught forging is ignored (a node restarted with other limits, or after an
/// upgrade, is heard again).
pub const IGNORE_FOR: Duration = Duration::from_secs(600);

/// One relay message.
#[derive(Debug)]
pub enum Relayed {
    /// Transactions submitted to the sender.
    Txs(Vec<Vec<u8>>),
    /// Evidence the sender kept.
    Evidence(Vec<Equivocation>),
}

/// What checking a relay message showed of its sender.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing an honest validator would not send (stale or duplicate parts included).
    Honest,
    /// Something no honest validator sends: the sender is ignored for a while.
    Forged,
}

/// Checks one message of a peer (on a blocking thread).
pub type Check = Arc<dyn Fn(&[u8], Relayed) -> Verdict + Send + Sync>;

/// The libp2p identities of the peers that are validators of the current set, kept current
/// from the engine's network state.
pub type ValidatorPeers = Arc<Mutex<BTreeSet<Vec<u8>>>>;

/// The keys added in the last `ttl`, at most `cap` of them: the oldest added is forgotten first.
pub struct Recent {
    added: BTreeMap<Vec<u8>, Instant>,
    order: VecDeque<Vec<u8>>,
    cap: usize,
    ttl: Duration,
}

impl Recent {
    /// Empty; keeps `cap` keys for `ttl` each.
    pub fn new(cap: usize, ttl: Duration) -> Recent {
        Recent { added: BTreeMap::new(), order: VecDeque::new(), cap, ttl }
    }

    /// Remembers `key` from now on.
    pub fn add(&mut self, key: &[u8]) {
        if self.added.insert(key.to_vec(), Instant::now()).is_none() {
            self.order.push_back(key.to_vec());
        }
        while self.order.len() > self.cap {
            if let Some(oldest) = self.order.pop_front() {
                self.added.remove(&oldest);
            }
        }
    }

    /// Whether `key` was added less than `ttl` ago.
    pub fn contains(&self, key: &[u8]) -> bool {
        self.added.get(key).is_some_and(|at| at.elapsed() < self.ttl)
    }
}

/// A lock that outlives a panic elsewhere: the data (sets of peers or hashes) stays consistent.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// One peer's queue.
struct Queue {
    sender: mpsc::Sender<Relayed>,
    /// Messages queued or being checked: 0 when the worker is idle.
    pending: Arc<AtomicUsize>,
}

impl Queue {
    fn idle(&self) -> bool {
        self.pending.load(Ordering::Acquire) == 0
    }

    /// Queues `relayed`; `false` if the backlog is full (or the worker ended).
    fn push(&self, relayed: Relayed) -> bool {
        self.pending.fetch_add(1, Ordering::AcqRel);
        let taken = self.sender.try_send(relayed).is_ok();
        if !taken {
            self.pending.fetch_sub(1, Ordering::AcqRel);
        }
        taken
    }
}

/// The per-peer check queues.
pub struct Inbound {
    queues: BTreeMap<Vec<u8>, Queue>,
    shared: Arc<Shared>,
}

/// What the workers share with the app loop.
struct Shared {
    ignored: Mutex<Recent>,
    validators: ValidatorPeers,
    /// One check at a time for all peers outside the validator set.
    strangers: Arc<Semaphore>,
    /// Messages dropped unchecked since start.
    dropped: AtomicU64,
    check: Check,
}

impl Shared {
    fn is_validator(&self, peer: &[u8]) -> bool {
        lock(&self.validators).contains(peer)
    }
}

impl Inbound {
    /// No peer queued yet; `check` judges each message, `validators` tells validators apart.
    pub fn new(check: Check, validators: ValidatorPeers) -> Inbound {
        let shared = Shared {
            ignored: Mutex::new(Recent::new(MAX_IGNORED_PEERS, IGNORE_FOR)),
            validators,
            strangers: Arc::new(Semaphore::new(1)),
            dropped: AtomicU64::new(0),
            check,
        };
        Inbound { queues: BTreeMap::new(), shared: Arc::new(shared) }
    }

    /// Queues `relayed` from `peer` to be checked; `false` when it was dropped unchecked (the
    /// peer is ignored, its backlog is full, or every stranger's place is taken by one with
    /// work waiting).
    pub fn offer(&mut self, peer: &[u8], relayed: Relayed) -> bool {
        let taken = !self.is_ignored(peer) && self.queue(peer).is_some_and(|queue| queue.push(relayed));
        if !taken {
            self.shared.dropped.fetch_add(1, Ordering::Relaxed);
        }
        taken
    }

    /// Whether `peer` was caught forging (and is still ignored).
    pub fn is_ignored(&self, peer: &[u8]) -> bool {
        lock(&self.shared.ignored).contains(peer)
    }

    /// Messages dropped unchecked since start.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }

    /// `peer`'s queue, made if it has none (or its worker ended) and there is a place for it.
    fn queue(&mut self, peer: &[u8]) -> Option<&Queue> {
        let live = self.queues.get(peer).is_some_and(|queue| !queue.sender.is_closed());
        if !live {
            if !self.shared.is_validator(peer) && !self.stranger_place() {
                return None;
            }
            self.queues.insert(peer.to_vec(), spawn_worker(peer.to_vec(), self.shared.clone()));
        }
        self.queues.get(peer)
    }

    /// Whether a new stranger can have a queue: when all places are taken, the queues of idle
    /// strangers (and of validators no longer in the set) and of ended workers give way.
    fn stranger_place(&mut self) -> bool {
        if self.strangers() < MAX_STRANGERS {
            return true;
        }
        let shared = &self.shared;
        self.queues
            .retain(|peer, queue| !queue.sender.is_closed() && (!queue.idle() || shared.is_validator(peer)));
        self.strangers() < MAX_STRANGERS
    }

    /// Peers with a queue that are not validators of the current set.
    fn strangers(&self) -> usize {
        let validators = lock(&self.shared.validators);
        self.queues.keys().filter(|peer| !validators.contains(*peer)).count()
    }
}

/// A worker checking `peer`'s messages in order until its queue is dropped; what waits once
/// the peer is caught forging is dropped unchecked.
fn spawn_worker(peer: Vec<u8>, shared: Arc<Shared>) -> Queue {
    let (sender, mut waiting) = mpsc::channel::<Relayed>(RELAY_BACKLOG);
    let pending = Arc::new(AtomicUsize::new(0));
    let done = pending.clone();
    tokio::spawn(async move {
        while let Some(relayed) = waiting.recv().await {
            if lock(&shared.ignored).contains(&peer) {
                shared.dropped.fetch_add(1, Ordering::Relaxed);
            } else if check(&peer, &shared, relayed).await == Verdict::Forged {
                lock(&shared.ignored).add(&peer);
            }
            done.fetch_sub(1, Ordering::AcqRel);
        }
    });
    Queue { sender, pending }
}

/// Checks one message of `peer` on a blocking thread: a stranger's once no other stranger's
/// is being checked (whether the peer is a validator is asked now, not when the message came).
/// A check that panics judges its message forged.
async fn check(peer: &[u8], shared: &Shared, relayed: Relayed) -> Verdict {
    let turn = if shared.is_validator(peer) {
        None
    } else {
        // The semaphore is never closed.
        let Ok(turn) = shared.strangers.clone().acquire_owned().await else { return Verdict::Honest };
        Some(turn)
    };
    let (check, peer) = (shared.check.clone(), peer.to_vec());
    let verdict = tokio::task::spawn_blocking(move || check(&peer, relayed)).await;
    drop(turn);
    verdict.unwrap_or(Verdict::Forged)
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc as std_mpsc;

    use super::*;

    /// A check that reports each message's first transaction to the test and waits for the
    /// test's verdict on it.
    fn gated() -> (Check, std_mpsc::Receiver<Vec<u8>>, std_mpsc::Sender<Verdict>) {
        let (seen, seen_rx) = std_mpsc::channel();
        let (verdicts, verdicts_rx) = std_mpsc::channel();
        let verdicts_rx = Mutex::new(verdicts_rx);
        let check: Check = Arc::new(move |_, relayed| {
            let Relayed::Txs(txs) = relayed else { return Verdict::Honest };
            let _ = seen.send(txs[0].clone());
            verdicts_rx.lock().unwrap().recv().unwrap_or(Verdict::Honest)
        });
        (check, seen_rx, verdicts)
    }

    /// Queues checked by `check`, the peers in `validators` being validators.
    fn inbound(check: Check, validators: &[&[u8]]) -> Inbound {
        let validators: BTreeSet<Vec<u8>> = validators.iter().map(|v| v.to_vec()).collect();
        Inbound::new(check, Arc::new(Mutex::new(validators)))
    }

    fn txs(tag: u8) -> Relayed {
        Relayed::Txs(vec![vec![tag]])
    }

    /// The next message a check saw (its tag).
    fn next(seen: &std_mpsc::Receiver<Vec<u8>>) -> u8 {
        tokio::task::block_in_place(|| seen.recv_timeout(Duration::from_secs(10)).unwrap()[0])
    }

    /// Nothing more is checked for a while.
    fn quiet(seen: &std_mpsc::Receiver<Vec<u8>>) {
        tokio::task::block_in_place(|| {
            assert!(seen.recv_timeout(Duration::from_millis(200)).is_err(), "a message was checked");
        });
    }

    /// Polls `done` for up to 10 s (the workers run on their own).
    async fn until(mut done: impl FnMut() -> bool) {
        for _ in 0..1_000 {
            if done() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("timed out");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_busy_peer_gets_a_bounded_backlog_and_a_validator_is_checked_meanwhile() {
        let (check, seen, verdicts) = gated();
        let mut inbound = inbound(check, &[b"validator"]);
        assert!(inbound.offer(b"flooder", txs(0)));
        assert_eq!(next(&seen), 0);
        // The first is being checked: the backlog takes RELAY_BACKLOG more, then drops.
        for tag in 1..=RELAY_BACKLOG as u8 {
            assert!(inbound.offer(b"flooder", txs(tag)), "message {tag} was dropped");
        }
        assert!(!inbound.offer(b"flooder", txs(99)), "a full backlog took more");
        assert_eq!(inbound.dropped(), 1);
        // Another stranger waits for the one stranger's check; a validator does not.
        assert!(inbound.offer(b"stranger", txs(60)));
        assert!(inbound.offer(b"validator", txs(50)));
        assert_eq!(next(&seen), 50);
        quiet(&seen);
        verdicts.send(Verdict::Honest).unwrap();
        verdicts.send(Verdict::Honest).unwrap();
        // Then the strangers' messages, one at a time, each peer's in order.
        let mut order = Vec::new();
        for _ in 0..=RELAY_BACKLOG {
            order.push(next(&seen));
            verdicts.send(Verdict::Honest).unwrap();
        }
        let flooder: Vec<u8> = order.iter().copied().filter(|tag| *tag != 60).collect();
        assert_eq!(flooder, (1..=RELAY_BACKLOG as u8).collect::<Vec<_>>());
        assert!(order.contains(&60));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_peer_caught_forging_is_ignored_and_what_it_queued_is_dropped() {
        let (check, seen, verdicts) = gated();
        let mut inbound = inbound(check, &[b"forger", b"other"]);
        assert!(inbound.offer(b"forger", txs(0)));
        assert_eq!(next(&seen), 0);
        assert!(inbound.offer(b"forger", txs(1)));
        verdicts.send(Verdict::Forged).unwrap();
        until(|| inbound.is_ignored(b"forger")).await;
        // Its queued message is never checked, and nothing it sends is taken.
        until(|| inbound.dropped() == 1).await;
        quiet(&seen);
        assert!(!inbound.offer(b"forger", txs(2)));
        assert_eq!(inbound.dropped(), 2);
        assert!(inbound.offer(b"other", txs(7)));
        assert_eq!(next(&seen), 7);
        verdicts.send(Verdict::Honest).unwrap();
        assert!(!inbound.is_ignored(b"other"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn strangers_with_work_keep_their_places_and_validators_always_get_one() {
        let (check, seen, verdicts) = gated();
        let mut inbound = inbound(check, &[b"validator"]);
        // Every stranger has work: the first being checked, the others waiting their turn.
        for peer in 0..MAX_STRANGERS {
            assert!(inbound.offer(&peer.to_be_bytes(), txs(1)));
        }
        assert_eq!(next(&seen), 1);
        assert!(!inbound.offer(b"newcomer", txs(3)), "a newcomer displaced a stranger with work");
        assert!(inbound.offer(b"validator", txs(2)), "a validator was crowded out");
        assert_eq!(next(&seen), 2);
        // Once their work is done they are idle, and a newcomer gets a place.
        for _ in 0..=MAX_STRANGERS {
            verdicts.send(Verdict::Honest).unwrap();
        }
        for _ in 1..MAX_STRANGERS {
            assert_eq!(next(&seen), 1);
        }
        until(|| inbound.offer(b"newcomer", txs(3))).await;
        assert_eq!(next(&seen), 3);
        verdicts.send(Verdict::Honest).unwrap();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_check_that_panics_condemns_its_sender_and_the_worker_goes_on() {
        let check: Check = Arc::new(|_, relayed| match relayed {
            Relayed::Txs(txs) if txs[0] == [0] => panic!("a bug in a check"),
            _ => Verdict::Honest,
        });
        let mut inbound = inbound(check, &[]);
        assert!(inbound.offer(b"trigger", txs(0)));
        until(|| inbound.is_ignored(b"trigger")).await;
        assert!(inbound.offer(b"other", txs(1)));
        until(|| inbound.queues.get(b"other".as_slice()).is_some_and(Queue::idle)).await;
        assert!(!inbound.is_ignored(b"other"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_validator_that_left_the_set_gives_its_place_when_strangers_need_one() {
        let (check, seen, verdicts) = gated();
        let mut inbound = inbound(check, &[b"validator"]);
        assert!(inbound.offer(b"validator", txs(0)));
        assert_eq!(next(&seen), 0);
        verdicts.send(Verdict::Honest).unwrap();
        until(|| inbound.queues.get(b"validator".as_slice()).is_some_and(Queue::idle)).await;
        // It leaves the set: now a stranger, idle, its queue goes when a place is needed.
        lock(&inbound.shared.validators).clear();
        for peer in 0..MAX_STRANGERS - 1 {
            assert!(inbound.offer(&peer.to_be_bytes(), txs(1)));
        }
        assert!(inbound.offer(b"newcomer", txs(2)));
        assert!(!inbound.queues.contains_key(b"validator".as_slice()));
        drop(verdicts);
    }

    #[test]
    fn recent_forgets_the_oldest_added_first_and_after_its_time() {
        let mut recent = Recent::new(2, Duration::from_secs(60));
        recent.add(b"b");
        recent.add(b"a");
        recent.add(b"c");
        assert!(!recent.contains(b"b") && recent.contains(b"a") && recent.contains(b"c"));
        let mut brief = Recent::new(2, Duration::ZERO);
        brief.add(b"a");
        assert!(!brief.contains(b"a"));
    }
}

#![allow(clippy::unwrap_used, reason = "tests")]

use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use serde_json::{Value, json};
use tao_crypto::{ChainDomain, SecretKey};
use tao_light::fresh::Anchor;
use tao_light::{Certificate, Header, LightError, Validator, VerifyError, validators_hash};
use tao_types::Hash;

use super::{MAX_SET_CHANGES, follow, start};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The output of a future whose every fetch answers at once.
fn now<T>(future: impl Future<Output = T>) -> T {
    match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => out,
        Poll::Pending => panic!("a fetch did not answer at once"),
    }
}

fn key(seed: u8) -> SecretKey {
    SecretKey::from_bytes(&[seed; 32]).unwrap()
}

/// The validator set of these key seeds, power 1 each.
fn set(seeds: &[u8]) -> Vec<Validator> {
    seeds.iter().map(|s| Validator { key: key(*s).public_key(), power: 1 }).collect()
}

/// A chain of certified headers as an honest node serves it.
struct Net {
    domain: ChainDomain,
    blocks: Vec<(Header, Certificate)>,
    /// Every set by its hash, with its keys' seeds.
    sets: Vec<Vec<u8>>,
}

impl Net {
    /// `len` blocks after genesis under the set `first`; at each `(height, seeds)` of `changes`
    /// that header names the set of `seeds` for the blocks after it.
    fn new(first: &[u8], changes: &[(u64, &[u8])], len: u64) -> Net {
        let named = validators_hash(&set(first));
        let genesis = Header {
            chain_id: 7,
            parent: Hash::default(),
            height: 0,
            time_ms: 0,
            state_root: Hash::default(),
            txs_root: Hash::default(),
            receipts_root: Hash::default(),
            evidence_root: Hash([0; 32]),
            validators_hash: named,
            next_validators_hash: named,
            proposer: key(first[0]).address(),
        };
        let domain = ChainDomain { chain_id: 7, genesis_hash: genesis.hash() };
        let empty = Certificate { header: genesis.hash(), height: 0, round: 0, signatures: Vec::new() };
        let mut net = Net { domain, blocks: vec![(genesis, empty)], sets: vec![first.to_vec()] };
        for height in 1..=len {
            let parent = &net.blocks.last().unwrap().0;
            let next = match changes.iter().find(|(h, _)| *h == height) {
                Some((_, seeds)) => {
                    net.sets.push(seeds.to_vec());
                    validators_hash(&set(seeds))
                }
                None => parent.next_validators_hash,
            };
            let header = Header {
                parent: parent.hash(),
                height,
                time_ms: height * 1_000,
                validators_hash: parent.next_validators_hash,
                next_validators_hash: next,
                ..parent.clone()
            };
            let certificate = net.certify(&header);
            net.blocks.push((header, certificate));
        }
        net
    }

    fn seeds_of(&self, hash: Hash) -> &[u8] {
        self.sets.iter().find(|s| validators_hash(&set(s)) == hash).unwrap()
    }

    /// Signed by every member of the set the header's `validators_hash` names.
    fn certify(&self, header: &Header) -> Certificate {
        let keys: Vec<(u32, SecretKey)> = self
            .seeds_of(header.validators_hash)
            .iter()
            .enumerate()
            .map(|(i, s)| (i as u32, key(*s)))
            .collect();
        let refs: Vec<(u32, &SecretKey)> = keys.iter().map(|(i, k)| (*i, k)).collect();
        Certificate::sign(&self.domain, header, 0, &refs)
    }

    /// `chain_info` as the node says it, announcing `genesis_hash`.
    fn chain_info(&self, genesis_hash: Hash) -> Value {
        let head = &self.blocks.last().unwrap().0;
        json!({"chain_id": 7, "genesis_hash": genesis_hash, "height": head.height, "head": head.hash(),
            "validators": []})
    }

    /// The node's answer to one request.
    fn answer(&self, method: &str, params: &Value) -> Value {
        let at = |i: usize| params[i].as_u64();
        match method {
            "chain_header" => {
                let (header, certificate) = &self.blocks[at(0).map_or(self.blocks.len() - 1, |h| h as usize)];
                json!({"header": {"encoded": hex0x(header)}, "certificate": {"encoded": hex0x(certificate)}})
            }
            "chain_validators" => {
                let height = at(0).unwrap();
                let named = self.blocks[height as usize - 1].0.next_validators_hash;
                validators_json(height, &set(self.seeds_of(named)))
            }
            "chain_info" => self.chain_info(self.domain.genesis_hash),
            other => panic!("unexpected {other}"),
        }
    }
}

fn hex0x(value: &impl borsh::BorshSerialize) -> String {
    format!("0x{}", hex::encode(borsh::to_vec(value).unwrap()))
}

fn validators_json(height: u64, validators: &[Validator]) -> Value {
    let list: Vec<Value> = validators
        .iter()
        .map(|v| json!({"key": format!("0x{}", hex::encode(v.key.to_compressed())), "power": v.power}))
        .collect();
    json!({ "height": height, "validators": list })
}

/// The fetch of a node serving `net` (a request or a batch), each answer passed through
/// `tamper(method, params, answer)`.
fn node<'a>(
    net: &'a Net,
    tamper: impl Fn(&str, &Value, Value) -> Value + 'a,
) -> impl Fn(Value) -> Ready<Result<Value, VerifyError>> + 'a {
    move |body: Value| {
        let answer = |request: &Value| {
            let (method, params) = (request["method"].as_str().unwrap(), &request["params"]);
            let result = tamper(method, params, net.answer(method, params));
            json!({"jsonrpc": "2.0", "id": request["id"], "result": result})
        };
        ready(Ok(match body.as_array() {
            Some(batch) => Value::Array(batch.iter().map(answer).collect()),
            None => answer(&body),
        }))
    }
}

fn honest(_: &str, _: &Value, answer: Value) -> Value {
    answer
}

const FIRST: &[u8] = &[1, 2, 3];
const SECOND: &[u8] = &[4, 5, 6, 7];
const THIRD: &[u8] = &[8];

fn two_changes() -> Net {
    Net::new(FIRST, &[(5, SECOND), (12, THIRD)], 20)
}

#[test]
fn follows_the_head_across_validator_set_changes_and_refuses_the_old_set_after() {
    let net = two_changes();
    let fetch = node(&net, honest);
    let mut chain = now(start(Anchor::Genesis(net.domain.genesis_hash), &fetch)).unwrap();
    let head = now(follow(&mut chain, None, &fetch)).unwrap();
    assert_eq!((head.height, chain.head().height), (20, 20));
    assert_eq!(chain.head(), &net.blocks[20].0);
    // The headers naming each change were believed on the way.
    assert_eq!(chain.header(5), Some(&net.blocks[5].0));
    assert_eq!(chain.header(12), Some(&net.blocks[12].0));

    // After the change, a header the old sets sign is refused, even with all their votes.
    for old in [FIRST, SECOND] {
        let mut forged = Header { parent: head.hash(), height: 21, time_ms: 21_000, ..head.clone() };
        forged.validators_hash = validators_hash(&set(old));
        let certificate = net.certify(&forged);
        assert!(matches!(
            chain.accept(forged, &certificate),
            Err(VerifyError::Header(LightError::ValidatorSetChanged { height: 21 }))
        ));
    }
    let next = Header { parent: head.hash(), height: 21, time_ms: 21_000, ..head.clone() };
    chain.accept(next.clone(), &net.certify(&next)).unwrap();
}

#[test]
fn a_recent_certified_header_is_a_checkpoint() {
    let net = two_changes();
    let fetch = node(&net, honest);
    let at = |h: usize| Anchor::Header { height: h as u64, hash: net.blocks[h].0.hash() };
    // The header naming the second change, and one inside the last set's span.
    for start_at in [12, 15] {
        let mut chain = now(start(at(start_at), &fetch)).unwrap();
        assert_eq!(chain.domain(), &net.domain, "the genesis hash its certificate binds");
        assert_eq!(now(follow(&mut chain, None, &fetch)).unwrap().height, 20);
        // Nothing older than the checkpoint is believed as a head.
        let (old, certificate) = net.blocks[10].clone();
        assert!(matches!(
            chain.accept(old, &certificate),
            Err(VerifyError::Header(LightError::NotNewer { .. }))
        ));
    }
    // Another header at that height is not the checkpoint.
    let wrong = Anchor::Header { height: 15, hash: net.blocks[14].0.hash() };
    assert!(matches!(
        now(start(wrong, &fetch)),
        Err(VerifyError::Header(LightError::HeaderMismatch { height: 15, .. }))
    ));
}

#[test]
fn a_lying_node_gets_errors_never_a_head() {
    let net = two_changes();
    let genesis = Anchor::Genesis(net.domain.genesis_hash);
    let follow_with = |tamper: &dyn Fn(&str, &Value, Value) -> Value| {
        let fetch = node(&net, tamper);
        let mut chain = now(start(genesis, &fetch))?;
        now(follow(&mut chain, None, &fetch))
    };
    // A set other than the one the header names (the attacker's own keys).
    let forged_set = |m: &str, p: &Value, a: Value| {
        if m == "chain_validators" && p[0] == 6 { validators_json(6, &set(&[66, 67])) } else { a }
    };
    assert!(matches!(
        follow_with(&forged_set),
        Err(VerifyError::Header(LightError::SetMismatch { height: 5 }))
    ));
    // The headers naming the change withheld (probes answered with the genesis's child).
    let hidden = |m: &str, p: &Value, a: Value| {
        let probe = m == "chain_header"
            && p.as_array().is_some_and(|p| p.first().is_some_and(|h| h.as_u64() != Some(0)));
        if probe { net.answer("chain_header", &json!([1])) } else { a }
    };
    assert!(follow_with(&hidden).is_err());
    // A node announcing another genesis with a header checkpoint: the certificate binds it.
    let other_genesis = |m: &str, _: &Value, a: Value| {
        if m == "chain_info" { net.chain_info(Hash([9; 32])) } else { a }
    };
    let fetch = node(&net, other_genesis);
    let anchor = Anchor::Header { height: 15, hash: net.blocks[15].0.hash() };
    assert!(matches!(now(start(anchor, &fetch)), Err(VerifyError::Header(LightError::Certificate { .. }))));
}

#[test]
fn more_set_changes_than_the_bound_are_refused_not_followed_forever() {
    let seeds: Vec<[u8; 1]> = (0..=MAX_SET_CHANGES as u8 + 1).map(|i| [10 + i]).collect();
    let changes: Vec<(u64, &[u8])> = seeds.iter().enumerate().map(|(i, s)| (i as u64 + 1, &s[..])).collect();
    let net = Net::new(FIRST, &changes, changes.len() as u64 + 2);
    let fetch = node(&net, honest);
    let mut chain = now(start(Anchor::Genesis(net.domain.genesis_hash), &fetch)).unwrap();
    assert!(matches!(now(follow(&mut chain, None, &fetch)), Err(VerifyError::Unprovable(_))));
    // Followed in steps, every change is crossed.
    for height in (10..=net.blocks.len() as u64 - 1).step_by(10).chain([net.blocks.len() as u64 - 1]) {
        now(follow(&mut chain, Some(height), &fetch)).unwrap();
    }
    assert_eq!(chain.head(), &net.blocks.last().unwrap().0);
}

//! The wallet's logic against real state trees, proofs, certificates and contract code. The
//! same tests run natively and, compiled to wasm32, in headless Chromium (`cargo xtask test`),
//! so the browser is shown to verify, seal and sign exactly as the node expects.
#![allow(clippy::unwrap_used, reason = "tests")]

use serde_json::{Value, json};
use tao_crypto::SecretKey;
use tao_light::{Certificate, Header, Validator, validators_hash};
use tao_state::MemoryTree;
use tao_types::{Address, Hash};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use crate::code::ModuleCode;
use crate::proven::{Attempt, Context, Effects, ProvenHost, attempt};
use crate::rpc::hex0x;
use crate::tx::{self, Draft};
use crate::vault::{self, Fresh, Kind, Vault, VaultError};
use crate::{Chain, ProvenState, VerifyError, views};

/// The development mnemonic and its first account (MetaMask's well-known one).
const DEV_MNEMONIC: &str = "test test test test test test test test test test test junk";
const DEV_ADDRESS: &str = "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266";
const FRESH: Fresh = Fresh { salt: [7; 32], iv: [9; 16] };

/// A chain of two certified blocks over a real state tree: the genesis header (empty state)
/// and block 1 holding `writes`.
struct Fixture {
    tree: MemoryTree,
    genesis: Header,
    block: Header,
    certificate: Certificate,
    validators: Vec<Validator>,
}

fn validator_key() -> SecretKey {
    SecretKey::from_bytes(&[42; 32]).unwrap()
}

fn header(parent: Hash, height: u64, state_root: Hash, validators: &[Validator]) -> Header {
    let set = validators_hash(validators);
    Header {
        chain_id: 7,
        parent,
        height,
        time_ms: 1_000 * height,
        state_root,
        txs_root: Hash([0; 32]),
        receipts_root: Hash([0; 32]),
        evidence_root: Hash([0; 32]),
        validators_hash: set,
        next_validators_hash: set,
        proposer: validator_key().address(),
    }
}

/// The domain of the chain starting at `genesis`.
fn domain_of(genesis: &Header) -> tao_crypto::ChainDomain {
    tao_crypto::ChainDomain { chain_id: genesis.chain_id, genesis_hash: genesis.hash() }
}

/// `header` certified by the validator for the chain starting at `genesis`.
fn certify(genesis: &Header, header: &Header) -> Certificate {
    Certificate::sign(&domain_of(genesis), header, 0, &[(0, &validator_key())])
}

fn fixture(writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) -> Fixture {
    let validators = vec![Validator { key: validator_key().public_key(), power: 10 }];
    let mut tree = MemoryTree::new();
    let root0 = tree.apply(0, Vec::<(Vec<u8>, Option<Vec<u8>>)>::new()).unwrap();
    let root1 = tree.apply(1, writes).unwrap();
    let genesis = header(Hash([0; 32]), 0, root0, &validators);
    let block = header(genesis.hash(), 1, root1, &validators);
    let certificate = certify(&genesis, &block);
    Fixture { tree, genesis, block, certificate, validators }
}

impl Fixture {
    fn chain(&self) -> Chain {
        let mut chain =
            Chain::new(self.genesis.hash(), self.genesis.clone(), self.validators.clone()).unwrap();
        chain.accept(self.block.clone(), &self.certificate).unwrap();
        chain
    }

    /// What the node's `state_get` answers for `key` at block 1.
    fn state_get(&self, key: &[u8]) -> Value {
        let (value, proof) = self.tree.get_with_proof(key, 1).unwrap();
        json!({"height": 1, "root": self.block.state_root, "key": hex0x(key),
            "value": value.as_deref().map(hex0x), "proof": hex0x(&proof.encode())})
    }

    /// Runs `f` on proven state, fetching what it reads from the tree; `tamper` may alter
    /// each reply first (the hostile node).
    fn run<T>(
        &self,
        chain: &Chain,
        context: &Context,
        tamper: impl Fn(&mut Value),
        f: impl Fn(&mut ProvenHost) -> T,
    ) -> Result<T, VerifyError> {
        self.run_with_effects(chain, context, tamper, f).map(|(out, _)| out)
    }

    /// [`Fixture::run`], with the run's writes, events and output.
    fn run_with_effects<T>(
        &self,
        chain: &Chain,
        context: &Context,
        tamper: impl Fn(&mut Value),
        f: impl Fn(&mut ProvenHost) -> T,
    ) -> Result<(T, Effects), VerifyError> {
        let mut state = ProvenState::new(1);
        for _ in 0..crate::proven::MAX_ROUNDS {
            match attempt(&state, context, &f)? {
                Attempt::Done(out, effects) => return Ok((out, effects)),
                Attempt::Need(keys) => {
                    for key in keys {
                        let mut reply = self.state_get(&key);
                        tamper(&mut reply);
                        state.absorb(chain, &key, &reply)?;
                    }
                }
            }
        }
        panic!("too many rounds")
    }
}

fn alice() -> Address {
    DEV_ADDRESS.parse().unwrap()
}

use tao_client::code::CARRIED_CODE;

/// The token module's bytes as `cargo xtask contracts` built them (the ones the wallet carries).
fn token_wasm() -> &'static [u8] {
    let found = CARRIED_CODE.iter().find(|(name, _)| *name == "token");
    found.expect("the token module is built (`cargo xtask contracts`)").1
}

fn funded() -> Fixture {
    let balance = borsh::to_vec(&(100 * tao_types::RAO_PER_TAO)).unwrap();
    let token_hash = tao_types::keccak256(token_wasm());
    let mut writes = vec![
        (tao_contract_token::balance_key(&alice()), Some(balance.clone())),
        (tao_light::keys::module("token"), Some(token_hash.to_vec())),
        (tao_light::keys::code(&Hash(token_hash)), Some(token_wasm().to_vec())),
        // The eight funded accounts' supply, which charging a fee recycles from.
        (b"token/issuance".to_vec(), Some(borsh::to_vec(&(800 * tao_types::RAO_PER_TAO)).unwrap())),
    ];
    writes.extend(
        (1..8u8).map(|i| (tao_contract_token::balance_key(&Address([i; 20])), Some(balance.clone()))),
    );
    fixture(writes)
}

#[test]
fn balances_are_read_by_contract_code_from_proven_values() {
    let f = funded();
    let chain = f.chain();
    let view = f.run(&chain, &Context::default(), |_| {}, |h| views::account(h, &alice())).unwrap().unwrap();
    assert_eq!((view.free, view.staked, view.nonce), (100 * tao_types::RAO_PER_TAO, 0, 0));
    let stranger = Address([0xee; 20]);
    let empty =
        f.run(&chain, &Context::default(), |_| {}, |h| views::account(h, &stranger)).unwrap().unwrap();
    assert_eq!(empty.free, 0, "an absent balance is proven absent");
}

#[test]
fn an_altered_value_or_proof_is_refused_and_named() {
    let f = funded();
    let chain = f.chain();
    let forged = hex0x(&borsh::to_vec(&(1_000_000 * tao_types::RAO_PER_TAO)).unwrap());
    let err = f
        .run(
            &chain,
            &Context::default(),
            |r| {
                if r["value"].is_string() {
                    r["value"] = json!(forged)
                }
            },
            |h| views::account(h, &alice()),
        )
        .unwrap_err();
    assert!(matches!(&err, VerifyError::BadProof { what, height: 1 } if what.starts_with("token/")), "{err}");
    let other = f.state_get(b"elsewhere");
    let err = f
        .run(
            &chain,
            &Context::default(),
            |r| r["proof"] = other["proof"].clone(),
            |h| views::account(h, &alice()),
        )
        .unwrap_err();
    assert!(matches!(err, VerifyError::BadProof { .. }), "{err}");
    let err = f
        .run(&chain, &Context::default(), |r| r["key"] = json!("0x00"), |h| views::account(h, &alice()))
        .unwrap_err();
    assert!(matches!(err, VerifyError::Contradiction { .. }), "{err}");
}

#[test]
fn headers_need_the_trusted_validators() {
    let f = funded();
    let mut chain = Chain::new(f.genesis.hash(), f.genesis.clone(), f.validators.clone()).unwrap();
    let stranger = SecretKey::from_bytes(&[3; 32]).unwrap();
    let forged = Certificate::sign(&domain_of(&f.genesis), &f.block, 0, &[(0, &stranger)]);
    assert!(matches!(chain.accept(f.block.clone(), &forged), Err(VerifyError::Header(_))));
    assert_eq!(chain.head().height, 0, "a refused header changes nothing");
    let mut state = ProvenState::new(1);
    let key = tao_contract_token::balance_key(&alice());
    assert_eq!(state.absorb(&chain, &key, &f.state_get(&key)), Err(VerifyError::UnknownHeight(1)));
    assert!(matches!(
        Chain::new(Hash([1; 32]), f.genesis.clone(), f.validators.clone()),
        Err(VerifyError::Header(tao_light::LightError::GenesisMismatch { .. }))
    ));
}

/// The wallet signs for the chain id of the genesis it pinned, and believes no header voted for
/// on another chain by the same (public) validator key.
#[test]
fn the_chain_is_the_pinned_genesis_and_its_chain_id() {
    let f = funded();
    let mut chain = Chain::new(f.genesis.hash(), f.genesis.clone(), f.validators.clone()).unwrap();
    assert_eq!(chain.domain(), &domain_of(&f.genesis));
    assert_eq!(chain.domain().chain_id, 7, "the chain id is the genesis header's");
    let mut second = f.genesis.clone();
    second.time_ms = 1;
    let elsewhere = Certificate::sign(&domain_of(&second), &f.block, 0, &[(0, &validator_key())]);
    assert!(matches!(
        chain.accept(f.block.clone(), &elsewhere),
        Err(VerifyError::Header(tao_light::LightError::Certificate { .. }))
    ));
    let mut renumbered = header(f.genesis.hash(), 1, f.block.state_root, &f.validators);
    renumbered.chain_id = 1;
    assert!(matches!(
        chain.accept(renumbered.clone(), &certify(&f.genesis, &renumbered)),
        Err(VerifyError::Header(tao_light::LightError::WrongChain { expected: 7, got: 1, .. }))
    ));
    assert_eq!(chain.head().height, 0);
}

#[test]
fn header_replies_decode_only_whole_values_within_their_limits() {
    let f = funded();
    let reply = |header: &[u8], certificate: &[u8]| json!({"header": {"encoded": hex0x(header)}, "certificate": {"encoded": hex0x(certificate)}});
    let (header, certificate) = (borsh::to_vec(&f.block).unwrap(), borsh::to_vec(&f.certificate).unwrap());
    assert_eq!(
        crate::rpc::header(&reply(&header, &certificate)),
        Ok((f.block.clone(), f.certificate.clone()))
    );
    let padded = [header.as_slice(), &[0]].concat();
    let err = crate::rpc::header(&reply(&padded, &certificate)).unwrap_err();
    assert!(matches!(&err, VerifyError::Malformed { what, .. } if what == "header"), "{err}");
    let huge = vec![0; tao_light::MAX_CERTIFICATE_BYTES + 1];
    let err = crate::rpc::header(&reply(&header, &huge)).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Malformed { what, why } if what == "certificate" && why.contains("limit"))
    );
}

#[test]
fn older_headers_are_believed_through_their_children() {
    let f = funded();
    let validators = f.validators.clone();
    let mut chain = Chain::new(f.genesis.hash(), f.genesis.clone(), validators.clone()).unwrap();
    let b2 = header(f.block.hash(), 2, f.block.state_root, &validators);
    chain.accept(b2.clone(), &certify(&f.genesis, &b2)).unwrap();
    assert!(chain.header(1).is_none());
    let impostor = header(f.genesis.hash(), 1, Hash([9; 32]), &validators);
    assert!(chain.accept_ancestor(impostor).is_err());
    chain.accept_ancestor(f.block.clone()).unwrap();
    assert_eq!(chain.header(1), Some(&f.block));
}

#[test]
fn keys_are_named_by_their_path() {
    use crate::proven::describe_key;
    assert_eq!(describe_key(b"token/bal/wG\x01"), "token/bal/0x774701");
    assert_eq!(describe_key(b"sys/module/token"), "sys/module/token");
    assert_eq!(describe_key(&[1, 2]), "0x0102");
}

#[test]
fn receipts_are_believed_through_the_receipts_root() {
    use tao_light::{Receipt, TxOutcome, merkle_root};
    let f = funded();
    let receipt =
        |tx: u8, outcome| Receipt { tx: Hash([tx; 32]), outcome, fee: 5, gas_used: 1, events: vec![] };
    let receipts = vec![receipt(1, TxOutcome::Ok), receipt(2, TxOutcome::Failed("no".into()))];
    let mut b2 = header(f.block.hash(), 2, f.block.state_root, &f.validators);
    b2.receipts_root = merkle_root(&receipts.iter().map(Receipt::hash).collect::<Vec<_>>());
    let mut chain = f.chain();
    chain.accept(b2.clone(), &certify(&f.genesis, &b2)).unwrap();
    let reply = |list: &[Receipt]| {
        let encoded: Vec<Value> =
            list.iter().map(|r| json!({"encoded": hex0x(&borsh::to_vec(r).unwrap())})).collect();
        json!({"header": {"height": 2}, "receipts": encoded})
    };
    let got = chain.receipt(&reply(&receipts), &Hash([2; 32])).unwrap();
    assert_eq!((got.height, got.value.map(|r| r.outcome)), (2, Some(TxOutcome::Failed("no".into()))));
    assert_eq!(
        chain.receipt(&reply(&receipts), &Hash([3; 32])).unwrap().value,
        None,
        "proven not in the block"
    );
    let mut padded = reply(&receipts);
    let bytes = padded["receipts"][0]["encoded"].as_str().unwrap().to_string();
    padded["receipts"][0]["encoded"] = json!(format!("{bytes}00"));
    assert!(
        matches!(chain.receipt(&padded, &Hash([1; 32])), Err(VerifyError::Malformed { .. })),
        "a trailing byte is refused"
    );
    let mut forged = receipts.clone();
    forged[1].outcome = TxOutcome::Ok;
    assert!(matches!(chain.receipt(&reply(&forged), &Hash([2; 32])), Err(VerifyError::BadProof { .. })));
    assert!(matches!(
        chain.receipt(&reply(&receipts[..1]), &Hash([1; 32])),
        Err(VerifyError::BadProof { .. })
    ));
}

#[test]
fn iteration_is_not_provable() {
    let f = funded();
    let chain = f.chain();
    let err = f
        .run(
            &chain,
            &Context::default(),
            |_| {},
            |h| {
                use tao_sdk::Host;
                let it = h.iter_open(b"token/");
                h.iter_next(it)
            },
        )
        .unwrap_err();
    assert!(matches!(err, VerifyError::Unprovable(_)));
}

#[test]
fn a_transfer_preview_runs_the_token_contract() {
    let f = funded();
    let chain = f.chain();
    let bob = Address([0xb0; 20]);
    let draft = Draft::transfer(bob, 5 * tao_types::RAO_PER_TAO, true);
    let context =
        Context { caller: alice(), block_height: 2, block_time_ms: 2_000, input: draft.args.clone() };
    let code = compiled_token(&f, &chain);
    let preview =
        f.run(&chain, &context, |_| {}, |h| tx::preview(h, &alice(), &draft, None, &code)).unwrap().unwrap();
    assert_eq!(preview.error, None);
    assert_eq!(preview.free_after, 95 * tao_types::RAO_PER_TAO - draft.max_fee());
    assert!(draft.max_fee() < tx::DEFAULT_FEE, "a fee limit above MAX_TX_GAS's price is not held");
    let too_much = Draft::transfer(bob, 100 * tao_types::RAO_PER_TAO, true);
    let context = Context { input: too_much.args.clone(), ..context };
    let refused = f
        .run(&chain, &context, |_| {}, |h| tx::preview(h, &alice(), &too_much, None, &code))
        .unwrap()
        .unwrap();
    assert!(refused.error.is_some(), "the contract refuses what the balance cannot pay");
    assert_eq!(tx::max_sendable(100, 10), 0);
    assert_eq!(tx::max_sendable(20_000, 1_000), 18_500);
}

/// The token module as the proven state names it, compiled in (its hash is the carried one).
fn compiled_token(f: &Fixture, chain: &Chain) -> tx::PreviewCode {
    let hash =
        f.run(chain, &Context::default(), |_| {}, |h| views::module_hash(h, "token")).unwrap().unwrap();
    let token =
        ModuleCode::compiled("token", hash).expect("the wallet carries the token module it was built with");
    tx::PreviewCode { token: token.clone(), target: Some(token) }
}

/// The token module and `target` compiled in, as the wallet runs them while the chain's hashes
/// are the ones it carries.
fn carried_code(target: &'static str) -> tx::PreviewCode {
    let compiled = |name: &'static str| {
        let hash = crate::code::carried(name).expect("the wallet carries the modules it was built with");
        ModuleCode::compiled(name, hash).expect("a carried module runs compiled in")
    };
    tx::PreviewCode { token: compiled("token"), target: Some(compiled(target)) }
}

/// The token module run from the proven `sys/code/<hash>` bytes, as after an upgrade.
fn on_chain_token(f: &Fixture, chain: &Chain) -> tx::PreviewCode {
    let read = |h: &mut ProvenHost| {
        use tao_sdk::Host;
        let hash = views::module_hash(h, "token").ok()?;
        Some((hash, h.get(&tao_light::keys::code(&hash))?))
    };
    let (hash, bytes) = f.run(chain, &Context::default(), |_| {}, read).unwrap().unwrap();
    let code = crate::wasm::Code::verified(hash, &bytes).unwrap();
    let token = ModuleCode::on_chain("token", std::sync::Arc::new(code));
    tx::PreviewCode { token: token.clone(), target: Some(token) }
}

#[test]
fn a_preview_is_the_same_natively_and_from_the_on_chain_bytes() {
    let f = funded();
    let chain = f.chain();
    let (native, bytes) = (compiled_token(&f, &chain), on_chain_token(&f, &chain));
    assert!(!native.token.is_on_chain() && bytes.token.is_on_chain());
    assert_eq!(native.token.hash, bytes.token.hash);
    assert!(native.describe()[0].contains("compiled in"), "{:?}", native.describe());
    assert!(bytes.describe()[0].starts_with("run from on-chain bytes 0x"), "{:?}", bytes.describe());
    let bob = Address([0xb0; 20]);
    for amount in [5 * tao_types::RAO_PER_TAO, 100 * tao_types::RAO_PER_TAO] {
        let draft = Draft::transfer(bob, amount, true);
        let context =
            Context { caller: alice(), block_height: 2, block_time_ms: 2_000, input: draft.args.clone() };
        let run = |code: &tx::PreviewCode| {
            let (preview, effects) = f
                .run_with_effects(&chain, &context, |_| {}, |h| tx::preview(h, &alice(), &draft, None, code))
                .unwrap();
            (preview.unwrap(), effects.writes, effects.events)
        };
        let (ours, theirs) = (run(&native), run(&bytes));
        assert_eq!(ours, theirs, "sending {amount}: the same preview, writes and events");
        assert_eq!(ours.0.error.is_some(), amount == 100 * tao_types::RAO_PER_TAO);
    }
}

#[test]
fn code_bytes_a_node_altered_are_refused() {
    let f = funded();
    let chain = f.chain();
    let key = tao_light::keys::code(&Hash(tao_types::keccak256(token_wasm())));
    let mut altered = token_wasm().to_vec();
    altered[100] ^= 1;
    // The proof does not match the altered bytes: the node's answer is refused outright.
    let forged = hex0x(&altered);
    let err = f
        .run(
            &chain,
            &Context::default(),
            |r| r["value"] = json!(forged.clone()),
            |h| {
                use tao_sdk::Host;
                h.get(&key)
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("sys/code/"), "{err}");
    // And bytes that came some other way are checked against the proven hash before they run.
    let hash = Hash(tao_types::keccak256(token_wasm()));
    assert!(matches!(
        crate::wasm::Code::verified(hash, &altered),
        Err(crate::wasm::WasmError::Tampered { expected, .. }) if expected == hash
    ));
}

#[test]
fn only_the_carried_hash_runs_compiled_in() {
    let carried = crate::code::carried("token").unwrap();
    assert!(ModuleCode::compiled("token", carried).is_some());
    assert!(ModuleCode::compiled("token", Hash([9; 32])).is_none(), "an upgraded token runs from its bytes");
    assert!(ModuleCode::compiled("staking", carried).is_none());
}

#[test]
fn limit_prices_follow_the_slippage() {
    assert_eq!(tx::limit_price(1_000_000, 50, true), 1_005_000);
    assert_eq!(tx::limit_price(1_000_000, 50, false), 995_000);
    assert_eq!(tx::limit_price(1_000_000, 20_000, false), 0);
}

/// A transfer signed by the wallet is byte for byte what the node decodes and verifies; the
/// golden hex pins the encoding (the same bytes in the browser and natively).
#[test]
fn signed_transactions_match_the_node_encoding() {
    let key = SecretKey::from_bytes(&[1; 32]).unwrap();
    let domain = tao_crypto::ChainDomain { chain_id: 42, genesis_hash: Hash([2; 32]) };
    let draft = Draft::transfer(Address([0xb0; 20]), 1_500_000_000, true);
    let signed = draft.sign(&domain, Hash([3; 32]), 4, &key).unwrap();
    let bytes = signed.encode();
    let verified = tao_tx::decode_and_verify(&bytes, &domain).unwrap();
    assert_eq!(verified.signed().tx.sender, key.address());
    assert_eq!(verified.signed().tx.nonce, 4);
    assert_eq!(
        hex::encode(tao_types::keccak256(&bytes)),
        GOLDEN_TRANSFER_HASH,
        "the encoding of a signed transfer changed"
    );
}

const GOLDEN_TRANSFER_HASH: &str = "ab25e58bd0154a3ddefe99ee1bdb299cef4876230c0114b0813f9426a157daed";

#[test]
fn the_vault_seals_opens_and_refuses_a_wrong_password() {
    let vault = Vault::from_mnemonic(DEV_MNEMONIC, "correct horse").unwrap();
    assert_eq!(vault.accounts()[0].address, alice());
    let file = vault.seal(FRESH).unwrap();
    let stored = serde_json::to_string(&file).unwrap();
    assert!(!stored.contains("junk"), "the mnemonic is never stored in clear");
    let file: vault::VaultFile = serde_json::from_str(&stored).unwrap();
    assert_eq!(Vault::unlock(&file, "wrong horse").unwrap_err(), VaultError::WrongPassword);
    let opened = Vault::unlock(&file, "correct horse").unwrap();
    assert_eq!(opened.key(&alice()).unwrap().address(), alice());
    assert!(matches!(opened.export(&file, &alice(), "nope"), Err(VaultError::WrongPassword)));
    let export = opened.export(&file, &alice(), "correct horse").unwrap();
    assert_eq!(export.mnemonic.as_deref(), Some(DEV_MNEMONIC));
    assert!(!format!("{opened:?}").contains("junk"), "secrets never reach Debug output");
}

#[test]
fn an_altered_account_list_does_not_unlock() {
    let mut vault = Vault::from_mnemonic(DEV_MNEMONIC, "correct horse").unwrap();
    let second = vault.add_derived(None).unwrap();
    assert_eq!(
        second,
        "0x70997970C51812dc3A010C7d01b50e0d17dc79C8".parse().unwrap(),
        "MetaMask's second account"
    );
    let mut file = vault.seal(FRESH).unwrap();
    file.accounts[1].address = Address([0xee; 20]);
    assert!(matches!(Vault::unlock(&file, "correct horse"), Err(VaultError::Malformed(_))));
}

#[test]
fn imports_watch_only_and_hotkeys() {
    let mut vault = Vault::empty("long enough").unwrap();
    assert!(matches!(Vault::empty("short"), Err(VaultError::Invalid(_))));
    let imported = vault.import_private_key("Imported", &format!("0x{}", hex::encode([1u8; 32]))).unwrap();
    assert_eq!(
        vault.import_private_key("Again", &hex::encode([1u8; 32])),
        Err(VaultError::Duplicate(imported))
    );
    assert!(matches!(vault.import_private_key("Bad", "0x12"), Err(VaultError::Invalid(_))));
    let watched = vault.add_watch_only("Watched", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed").unwrap();
    assert_eq!(vault.key(&watched).err(), Some(VaultError::WatchOnly(watched)));
    let hot = vault.add_hotkey(&imported, &[2; 32]).unwrap();
    assert_eq!(vault.accounts().last().unwrap().kind, Kind::Hotkey { coldkey: imported });
    let short = crate::display::short(&imported);
    assert_eq!(vault.accounts().last().unwrap().kind.to_string(), format!("hotkey of {short}"));
    assert_eq!(Kind::Mnemonic { index: 0 }.to_string(), "recovery phrase, account 1");
    let file = vault.seal(FRESH).unwrap();
    assert!(matches!(vault.export_keystore(&file, &hot, "not it", FRESH), Err(VaultError::WrongPassword)));
    let keystore = vault.export_keystore(&file, &hot, "long enough", FRESH).unwrap();
    let mut other = Vault::empty("another one").unwrap();
    assert_eq!(other.import_keystore("Restored", &keystore, "long enough").unwrap(), hot);
    assert!(matches!(other.import_keystore("Twice", &keystore, "bad"), Err(VaultError::WrongPassword)));
    assert_eq!(vault.default_name(), "Account 3", "hotkeys are not counted");
}

#[test]
fn auto_lock_and_confirmation_words() {
    let mut lock = vault::AutoLock::new(60_000, 0);
    assert!(!lock.due(59_999));
    lock.touch(30_000);
    assert!(!lock.due(60_000));
    assert!(lock.due(90_000));
    let picked = vault::confirmation_positions(12, [5, 5, 200]);
    assert!(picked[0] < picked[1] && picked[1] < picked[2] && picked[2] < 12);
}

const TAO: u64 = tao_types::RAO_PER_TAO;

/// The validator hotkey of the staked fixture.
fn validator() -> Address {
    Address([0x11; 20])
}

/// Alice owns subnet 1 (its pool seeded by the 1,000 τ lock) with `validator()` at UID 0, and
/// has staked 100 τ on root and 10 τ on subnet 1 through it: state written by the contracts'
/// own code, as the chain would.
fn staked() -> Fixture {
    use tao_contract_staking as staking;
    let mut host = tao_sdk::MemoryHost::new();
    host.call_as(tao_contract_token::SYSTEM, 0, |h| tao_contract_token::mint(h, &alice(), 10_000 * TAO))
        .unwrap();
    host.call_as(alice(), 1, |h| {
        let identity = tao_contract_subnets::SubnetIdentity::default();
        tao_contract_neurons::register_network(h, &alice(), &validator(), identity)
            .map_err(|e| e.to_string())?;
        staking::add_stake(h, &alice(), &validator(), 0, 100 * TAO, None).map_err(|e| e.to_string())?;
        staking::add_stake(h, &alice(), &validator(), 1, 10 * TAO, None).map_err(|e| e.to_string())
    })
    .unwrap();
    let axon = tao_contract_neurons::ServeAxonArgs {
        netuid: 1,
        ip: 0x0a00_0001,
        ip_type: 4,
        port: 8091,
        protocol: 4,
        version: 1,
    };
    host.call_as(validator(), 1, |h| tao_contract_neurons::serve_axon(h, &validator(), &axon)).unwrap();
    fixture(host.storage.into_iter().map(|(k, v)| (k, Some(v))).collect())
}

/// A lying node's tampering: it says `key` holds nothing (its proof still proves the value).
fn hiding(key: &[u8]) -> impl Fn(&mut Value) + use<> {
    let key = json!(hex0x(key));
    move |r: &mut Value| {
        if r["key"] == key {
            r["value"] = Value::Null
        }
    }
}

/// Stakes made outside the wallet are listed from the chain's index, each verified.
#[test]
fn every_position_is_read_from_the_proven_index() {
    let f = staked();
    let chain = f.chain();
    let view = f.run(&chain, &Context::default(), |_| {}, |h| views::account(h, &alice())).unwrap().unwrap();
    let listed: Vec<_> = view.positions.iter().map(|p| (p.position.netuid, p.stake > 0)).collect();
    assert_eq!(listed, vec![(0, true), (1, true)]);
    assert_eq!(view.positions[0].tao_value, 100 * TAO, "root is one for one");
    assert_eq!(view.staked, view.positions.iter().map(|p| p.tao_value).sum::<u64>());
    assert!(view.staked > 109 * TAO && view.staked < 110 * TAO, "{}", view.staked);
    // A node that hides the index is caught by its proof, not believed to mean "no stake".
    let key = tao_contract_staking::positions_key(&alice());
    let hidden = f.run(&chain, &Context::default(), hiding(&key), |h| views::account(h, &alice()));
    assert!(matches!(hidden, Err(VerifyError::BadProof { .. })), "{hidden:?}");
}

/// The metagraph says where each axon listens, from its proven entry; a node that hides the
/// entry is caught by the proof, not shown as "no axon".
#[test]
fn the_metagraph_shows_proven_axons() {
    let f = staked();
    let chain = f.chain();
    let rows = f.run(&chain, &Context::default(), |_| {}, |h| views::metagraph(h, 1)).unwrap().unwrap();
    assert_eq!(rows[0].axon.as_deref(), Some("10.0.0.1:8091"));
    let key = tao_contract_neurons::axon_key(1, 0);
    let hidden = f.run(&chain, &Context::default(), hiding(&key), |h| views::metagraph(h, 1));
    assert!(matches!(hidden, Err(VerifyError::BadProof { .. })), "{hidden:?}");
}

fn stake_preview(f: &Fixture, amount: u64, slippage: Option<u16>) -> (tx::StakeOrder, tx::Preview) {
    let chain = f.chain();
    let context = Context { caller: alice(), block_height: 2, block_time_ms: 2_000, input: Vec::new() };
    let position = views::Position { hotkey: validator(), netuid: 1 };
    let code = carried_code("staking");
    f.run(
        &chain,
        &context,
        |_| {},
        |h| tx::preview_stake_order(h, &alice(), position, amount, true, slippage, &code),
    )
    .unwrap()
    .unwrap()
}

/// An ordinary 10 τ stake fails under a fixed 0.5% limit; the default computed from its own
/// price impact plus the margin fills, and a large order is warned about.
#[test]
fn the_default_slippage_covers_the_orders_own_impact() {
    let f = staked();
    let (fixed, refused) = stake_preview(&f, 10 * TAO, Some(50));
    assert!(fixed.impact_bps > 50, "10 τ moves a 1,000 τ pool more than 0.5%: {}", fixed.impact_bps);
    assert!(refused.error.as_deref().is_some_and(|e| e.contains("limit")), "{:?}", refused.error);
    assert!(!refused.may_sign(false) && refused.may_sign(true), "Sign waits for a second confirmation");
    let (order, preview) = stake_preview(&f, 10 * TAO, None);
    assert_eq!(u32::from(order.slippage_bps), order.impact_bps + tx::SLIPPAGE_MARGIN_BPS);
    assert_eq!(preview.error, None);
    assert!(preview.may_sign(false));
    assert_eq!(order.warning(), None);
    let (big, _) = stake_preview(&f, 500 * TAO, None);
    assert!(big.warning().is_some_and(|w| w.contains("High slippage")), "{big:?}");
    let (root, _) = {
        let chain = f.chain();
        let context = Context { caller: alice(), ..Context::default() };
        let position = views::Position { hotkey: validator(), netuid: 0 };
        let code = carried_code("staking");
        f.run(
            &chain,
            &context,
            |_| {},
            |h| tx::preview_stake_order(h, &alice(), position, TAO, false, None, &code),
        )
        .unwrap()
        .unwrap()
    };
    assert_eq!((root.limit, root.impact_bps), (None, 0), "root trades one for one");
}

/// The nonce signed is the proven one, never past a transaction this wallet signed that may
/// still execute; Confirm's nonce is the one signed or nothing is.
#[test]
fn a_pending_transaction_blocks_a_new_nonce() {
    let signed = |nonce| tx::Signed { nonce, hash: Hash([nonce as u8; 32]) };
    assert_eq!(tx::next_nonce(5, &[]), Ok(5));
    assert_eq!(tx::next_nonce(5, &[signed(3), signed(4)]), Ok(5), "executed ones do not count");
    assert_eq!(
        tx::next_nonce(5, &[signed(4), signed(6), signed(5)]),
        Err(tx::NonceError::Pending { nonce: 5, hash: Hash([5; 32]) })
    );
    assert_eq!(tx::confirm_nonce(5, 5, &[signed(4)]), Ok(5));
    assert_eq!(tx::confirm_nonce(5, 6, &[]), Err(tx::NonceError::Changed { shown: 5, next: 6 }));
    let err = tx::confirm_nonce(5, 5, &[signed(5)]).unwrap_err().to_string();
    assert!(err.contains("speed it up or cancel it"), "{err}");
}

/// Speed-up re-signs the same call, cancel a self-transfer of nothing, both at the pending
/// nonce with a fee the node's replace-by-fee rule accepts; a used nonce is not replaced.
#[test]
fn replacements_keep_the_nonce_and_raise_the_fee() {
    let key = SecretKey::from_bytes(&[1; 32]).unwrap();
    let domain = tao_crypto::ChainDomain { chain_id: 42, genesis_hash: Hash([2; 32]) };
    let draft = Draft::transfer(Address([0xb0; 20]), TAO, true);
    let original = draft.sign(&domain, Hash([3; 32]), 7, &key).unwrap().tx;
    let kept = crate::rpc::hex0x(&draft.sign(&domain, Hash([3; 32]), 7, &key).unwrap().encode());
    assert_eq!(tx::stored(&kept, &domain), Ok(original.clone()));
    let other = tao_crypto::ChainDomain { chain_id: 43, ..domain };
    assert!(tx::stored(&kept, &other).is_err(), "kept bytes are checked for this chain again");
    let faster = tx::replace(&original, tx::Replace::SpeedUp, 7, &domain, &key).unwrap();
    let verified = tao_tx::decode_and_verify(&faster.encode(), &domain).unwrap().into_signed().tx;
    assert_eq!((verified.nonce, &verified.call), (7, &original.call));
    assert_eq!(verified.fee_limit.0, tx::DEFAULT_FEE + tx::DEFAULT_FEE / 4);
    assert!(verified.fee_limit.0 >= tx::DEFAULT_FEE + tx::DEFAULT_FEE / 10, "above the node's 10% bump");
    let cancel =
        tx::replace(&original, tx::Replace::Cancel { token: Hash([4; 32]) }, 7, &domain, &key).unwrap();
    assert_eq!((cancel.tx.nonce, cancel.tx.call.contract), (7, Hash([4; 32])));
    let args: tao_contract_token::TransferArgs = borsh::from_slice(&cancel.tx.call.args).unwrap();
    assert_eq!((args.to, args.amount), (key.address(), 0));
    let used = tx::replace(&original, tx::Replace::SpeedUp, 8, &domain, &key).unwrap_err();
    assert!(used.contains("already used"), "{used}");
    let stranger = SecretKey::from_bytes(&[5; 32]).unwrap();
    assert!(tx::replace(&original, tx::Replace::SpeedUp, 7, &domain, &stranger).is_err());
}

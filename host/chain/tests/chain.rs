//! The executor with the real compiled system contracts, real signed transactions and the real
//! store: genesis, fees, nonces, failed calls, proofs against headers, certificates.
#![allow(clippy::unwrap_used, reason = "test code: a failure should panic")]

use std::path::PathBuf;
use std::sync::Arc;

use tao_chain::{
    Block, Certificate, CertificateError, ChainError, Executor, Genesis, GenesisCall, Header, Pushed,
    Slashes, TxOutcome, Validator, keys,
};
use tao_contract_token::TransferArgs;
use tao_crypto::SecretKey;
use tao_sdk::MemoryHost;
use tao_tx::{Call, SignedTransaction, Transaction, VerifiedTransaction};
use tao_types::{Address, Balance, Hash};
use tao_vm::{MemoryStorage, Storage, Vm, VmConfig};

const TAO: u64 = 1_000_000_000;

fn module_code(name: &str) -> Vec<u8> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    let name = name.replace('-', "_");
    let path = target.join(format!("wasm32-unknown-unknown/contract/tao_contract_{name}.wasm"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}; run `cargo xtask contracts`", path.display()))
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_bytes(&[n; 32]).unwrap()
}

struct Chain {
    executor: Executor,
    state: MemoryStorage,
    store: tao_store::Store,
    head: Header,
    validators: Vec<Validator>,
    _dir: tempfile::TempDir,
}

fn chain() -> Chain {
    chain_with(vec![(key(1).address(), 1_000 * TAO)], Vec::new())
}

/// A chain whose genesis funds `balances` and makes `calls`.
fn chain_with(balances: Vec<(Address, u64)>, calls: Vec<GenesisCall>) -> Chain {
    let validators = vec![Validator { key: key(9).public_key(), power: 10 }];
    let genesis = Genesis {
        chain_id: 42,
        time_ms: 1_700_000_000_000,
        modules: tao_chain::SYSTEM_MODULES.iter().map(|m| (m.to_string(), module_code(m))).collect(),
        balances,
        validators: validators.clone(),
        calls,
    };
    let dir = tempfile::tempdir().unwrap();
    let store = tao_store::Store::open(&dir.path().join("state.redb"), 64).unwrap();
    let vm = Vm::new(VmConfig::default()).unwrap();
    let (built, head) = genesis.build(vm).unwrap();
    let staged = store.stage(0, built.writes.clone()).unwrap();
    assert_eq!(staged.root(), head.state_root, "the store and the reference tree agree on the genesis root");
    store.commit(staged, &borsh::to_vec(&head).unwrap(), &[]).unwrap();
    let mut state = MemoryStorage::default();
    state.apply(&built.writes);
    Chain { executor: built.executor, state, store, head, validators, _dir: dir }
}

impl Chain {
    fn token(&self) -> Hash {
        Hash(self.state.get(&keys::module("token")).unwrap().try_into().unwrap())
    }

    fn transfer(&self, from: u8, nonce: u64, to: Address, amount: u64) -> SignedTransaction {
        let args = borsh::to_vec(&TransferArgs { to, amount }).unwrap();
        self.call(from, nonce, self.token(), "entry_transfer", args, TAO / 100)
    }

    /// `from`'s signed call of `method` of `contract` with raw `args`.
    fn call(
        &self,
        from: u8,
        nonce: u64,
        contract: Hash,
        method: &str,
        args: Vec<u8>,
        fee_limit: u64,
    ) -> SignedTransaction {
        let call = Call {
            contract,
            method: method.as_bytes().to_vec().try_into().unwrap(),
            args: args.try_into().unwrap(),
        };
        let tx = Transaction {
            chain_id: 42,
            sender: key(from).address(),
            nonce,
            fee_limit: Balance(fee_limit),
            call,
        };
        tx.sign(self.executor.domain(), &key(from))
    }

    /// `txs` as the mempool holds them: checked once against the chain's domain.
    fn verified(&self, txs: &[SignedTransaction]) -> Vec<VerifiedTransaction> {
        txs.iter().map(|t| tao_tx::decode_and_verify(&t.encode(), self.executor.domain()).unwrap()).collect()
    }

    /// Deploys the compiled contract `name` from `from`; its code hash.
    fn deploy(&mut self, from: u8, nonce: u64, name: &str) -> Hash {
        let code = module_code(name);
        let tx = self.call(from, nonce, tao_chain::DEPLOY, "deploy", code.clone(), TAO);
        let (_, receipts) = self.produce(vec![tx]).unwrap();
        assert_eq!(receipts[0].outcome, TxOutcome::Ok, "{name}");
        Hash(tao_types::keccak256(&code))
    }

    /// Every free balance on the chain, summed.
    fn total_balances(&self) -> u64 {
        let prefix = b"token/bal/";
        self.state
            .0
            .range(prefix.to_vec()..)
            .take_while(|(k, _)| k.starts_with(prefix))
            .map(|(_, v)| borsh::from_slice::<u64>(v).unwrap())
            .sum()
    }

    fn balance(&self, who: &Address) -> u64 {
        let mut host = MemoryHost::new();
        host.storage = self.state.0.clone();
        tao_contract_token::balance(&mut host, who).unwrap()
    }

    /// Executes and commits a block of `txs`.
    fn produce(
        &mut self,
        txs: Vec<SignedTransaction>,
    ) -> Result<(Header, Vec<tao_chain::Receipt>), ChainError> {
        let height = self.head.height + 1;
        let time_ms = self.head.time_ms + 12_000;
        let executed = self.executor.validate(
            Arc::new(self.state.clone()),
            height,
            time_ms,
            &txs,
            &Slashes::default(),
        )?;
        let staged = self.store.stage(height, executed.writes.clone()).unwrap();
        let header = Header {
            chain_id: self.head.chain_id,
            parent: self.head.hash(),
            height,
            time_ms,
            state_root: staged.root(),
            txs_root: executed.txs_root,
            receipts_root: executed.receipts_root,
            evidence_root: Hash([0; 32]),
            validators_hash: self.head.next_validators_hash,
            next_validators_hash: self.head.next_validators_hash,
            proposer: key(9).address(),
        };
        let block =
            borsh::to_vec(&Block { header: header.clone(), txs: txs.clone(), evidence: Vec::new() }).unwrap();
        self.store.commit(staged, &block, &[]).unwrap();
        self.state.apply(&executed.writes);
        self.head = header.clone();
        Ok((header, executed.receipts))
    }
}

#[test]
fn transfers_pay_fees_advance_nonces_and_prove_against_the_header() {
    let mut c = chain();
    let (alice, bob) = (key(1).address(), key(2).address());
    assert_eq!(c.balance(&alice), 1_000 * TAO);
    let tx = c.transfer(1, 0, bob, 10 * TAO);
    let bytes = tx.encode().len() as u64;
    let (header, receipts) = c.produce(vec![tx.clone()]).unwrap();
    assert_eq!(receipts[0].outcome, TxOutcome::Ok);
    assert!(receipts[0].gas_used > 0 && !receipts[0].events.is_empty());
    // The fee is the bytes and the gas used; the rest of the 0.01 τ hold came back.
    let fee = tao_contract_token::fee(bytes, receipts[0].gas_used);
    assert_eq!(receipts[0].fee, fee);
    assert!(fee < tao_contract_token::max_fee(bytes, TAO / 100) / 2, "{fee}");
    assert_eq!(c.balance(&bob), 10 * TAO);
    assert_eq!(c.balance(&alice), 990 * TAO - fee);
    assert_eq!(Executor::nonce(&c.state, &alice), 1);
    assert_eq!(header.txs_root, tao_chain::merkle_root(&[tx.hash()]));

    // Every value is provable against the header's root.
    let stored: Block = borsh::from_slice(&c.store.block(1).unwrap()).unwrap();
    assert_eq!(stored.header, header);
    let nonce_key = keys::nonce(&alice);
    let (value, proof) = c.store.get_with_proof(&nonce_key, 1).unwrap();
    assert_eq!(value, Some(1u64.to_be_bytes().to_vec()));
    assert!(tao_state::verify(&header.state_root, &nonce_key, value.as_deref(), &proof).is_ok());

    // A replayed transaction has a spent nonce; a stranger cannot pay; a refused block
    // changes nothing.
    let again = c.produce(vec![tx]);
    assert!(matches!(again, Err(ChainError::BadNonce { index: 0, expected: 1, got: 0 })), "{again:?}");
    let stranger = c.transfer(3, 0, alice, TAO);
    assert!(matches!(c.produce(vec![stranger]), Err(ChainError::CannotPay { index: 0, .. })));
    assert_eq!((c.balance(&bob), c.head.height), (10 * TAO, 1));
    let from_bob = c.transfer(2, 0, alice, TAO);
    let (_, receipts) = c.produce(vec![from_bob]).unwrap();
    assert_eq!(receipts[0].outcome, TxOutcome::Ok, "bob pays from what he received");
}

#[test]
fn a_failed_call_keeps_its_fee_and_nonce_and_nothing_else() {
    let mut c = chain();
    let (alice, bob) = (key(1).address(), key(2).address());
    let tx = c.transfer(1, 0, bob, 5_000 * TAO);
    let (_, receipts) = c.produce(vec![tx]).unwrap();
    let TxOutcome::Failed(reason) = &receipts[0].outcome else { panic!("{:?}", receipts[0]) };
    assert!(reason.contains("insufficient"), "{reason}");
    assert_eq!(c.balance(&alice), 1_000 * TAO - receipts[0].fee);
    assert_eq!(c.balance(&bob), 0);
    assert_eq!(Executor::nonce(&c.state, &alice), 1);
    assert!(receipts[0].events.is_empty());
}

#[test]
fn execution_is_deterministic() {
    let c = chain();
    let txs = vec![c.transfer(1, 0, key(2).address(), TAO), c.transfer(1, 1, key(3).address(), 2 * TAO)];
    let a = c.executor.validate(Arc::new(c.state.clone()), 1, 5, &txs, &Slashes::default()).unwrap();
    let b = c.executor.validate(Arc::new(c.state.clone()), 1, 5, &txs, &Slashes::default()).unwrap();
    assert_eq!(a.writes, b.writes);
    assert_eq!(a.receipts, b.receipts);
    assert_eq!(a.receipts_root, b.receipts_root);
}

#[test]
fn certificates_need_more_than_two_thirds_of_the_power() {
    let mut c = chain();
    let (header, _) = c.produce(vec![]).unwrap();
    let domain = *c.executor.domain();
    let good = Certificate::sign(&domain, &header, 0, &[(0, &key(9))]);
    assert_eq!(good.verify(&domain, &header, &c.validators), Ok(()));
    let empty = Certificate { signatures: vec![], ..good.clone() };
    assert_eq!(
        empty.verify(&domain, &header, &c.validators),
        Err(CertificateError::NotEnoughPower { signed: 0, total: 10 })
    );
    let impostor = Certificate::sign(&domain, &header, 0, &[(0, &key(8))]);
    assert_eq!(impostor.verify(&domain, &header, &c.validators), Err(CertificateError::BadSignature(0)));
    let twice = Certificate { signatures: vec![good.signatures[0], good.signatures[0]], ..good.clone() };
    assert_eq!(twice.verify(&domain, &header, &c.validators), Err(CertificateError::BadSigner(0)));
    let (next, _) = c.produce(vec![]).unwrap();
    assert_eq!(good.verify(&domain, &next, &c.validators), Err(CertificateError::WrongHeader));
    let others = vec![Validator { key: key(8).public_key(), power: 10 }];
    assert_eq!(good.verify(&domain, &header, &others), Err(CertificateError::WrongValidators));
    // The same key's vote on another chain (another genesis) is not a vote on this one.
    let elsewhere = tao_crypto::ChainDomain { genesis_hash: Hash([1; 32]), ..domain };
    let foreign = Certificate::sign(&elsewhere, &header, 0, &[(0, &key(9))]);
    assert_eq!(foreign.verify(&domain, &header, &c.validators), Err(CertificateError::BadSignature(0)));
}

/// An uploaded contract boxed into its namespace: every shape of reaching other code's state
/// (the 5,000,000 τ `token/bal/` write of the original attack, staking, the chain's own `sys/`
/// keys, another contract's namespace, a module deploying a module; removes, reads and
/// iteration too; chain-only and other people's token entry points through `call_system`)
/// fails with a typed outcome, charges its fee and changes no balance, while its own
/// namespace works.
#[test]
fn uploaded_code_touches_only_its_own_namespace() {
    let mut c = chain();
    let alice = key(1).address();
    let attacker = c.deploy(1, 0, "hostile-namespace-attacker");
    let other = tao_sdk::contract_prefix(&tao_sdk::contract_address(&Hash([5; 32])));
    let own = tao_sdk::contract_prefix(&tao_sdk::contract_address(&attacker));
    let five_million = borsh::to_vec(&(5_000_000 * TAO)).unwrap();
    let attacks: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "write",
            borsh::to_vec(&(tao_contract_token::balance_key(&alice), five_million.clone())).unwrap(),
            "access denied",
        ),
        ("write", borsh::to_vec(&(b"staking/anything".to_vec(), vec![1u8])).unwrap(), "access denied"),
        ("write", borsh::to_vec(&(keys::module("token"), attacker.0.to_vec())).unwrap(), "access denied"),
        (
            "write",
            borsh::to_vec(&(keys::code(&Hash([3; 32])), vec![0u8, 97, 115, 109])).unwrap(),
            "access denied",
        ),
        (
            "write",
            borsh::to_vec(&([other.clone(), b"x".to_vec()].concat(), vec![1u8])).unwrap(),
            "access denied",
        ),
        ("remove", borsh::to_vec(&tao_contract_token::balance_key(&alice)).unwrap(), "access denied"),
        ("remove", borsh::to_vec(&keys::nonce(&alice)).unwrap(), "access denied"),
        ("read", borsh::to_vec(&tao_contract_token::balance_key(&alice)).unwrap(), "access denied"),
        ("iterate", borsh::to_vec(&b"token/".to_vec()).unwrap(), "access denied"),
        ("iterate", borsh::to_vec(&Vec::<u8>::new()).unwrap(), "access denied"),
        ("call", system_call("deploy", "deploy", vec![0u8]), "no system module `deploy`"),
        (
            "call",
            system_call("token", "entry_charge_fee", borsh::to_vec(&(alice, TAO)).unwrap()),
            "only the chain",
        ),
        (
            "call",
            system_call(
                "token",
                "entry_transfer_from",
                borsh::to_vec(&(alice, own_address(&attacker), TAO)).unwrap(),
            ),
            "allowance exceeded",
        ),
        (
            "call",
            system_call(
                "token",
                "entry_transfer",
                borsh::to_vec(&TransferArgs { to: alice, amount: TAO }).unwrap(),
            ),
            "insufficient balance",
        ),
        ("call", system_call("governance", "entry_on_block", Vec::<u8>::new()), "only the chain"),
    ];
    let before = (c.total_balances(), c.balance(&alice));
    let mut fees = 0;
    for (nonce, (entry, args, why)) in attacks.into_iter().enumerate() {
        let tx = c.call(1, nonce as u64 + 1, attacker, entry, args, TAO / 10);
        let (_, receipts) = c.produce(vec![tx]).unwrap();
        fees += receipts[0].fee;
        let TxOutcome::Failed(reason) = &receipts[0].outcome else {
            panic!("{entry} succeeded: {:?}", receipts[0])
        };
        assert!(reason.contains(why), "{entry}: {reason}");
        assert!(receipts[0].gas_used > 0, "a refused attempt is charged: {entry}");
    }
    assert_eq!((c.total_balances(), c.balance(&alice)), (before.0 - fees, before.1 - fees));
    assert_eq!(c.state.get(&keys::module("token")), Some(c.token().0.to_vec()));

    // Its own namespace is its own.
    let mine = [own.clone(), b"note".to_vec()].concat();
    let tx =
        c.call(1, 16, attacker, "write", borsh::to_vec(&(mine.clone(), b"hi".to_vec())).unwrap(), TAO / 10);
    let (_, receipts) = c.produce(vec![tx]).unwrap();
    assert_eq!(receipts[0].outcome, TxOutcome::Ok);
    assert_eq!(c.state.get(&mine), Some(b"hi".to_vec()));
}

/// The attacker's `call` input: `(module, entry, input)`.
fn system_call(module: &str, entry: &str, input: Vec<u8>) -> Vec<u8> {
    borsh::to_vec(&(module, entry, input)).unwrap()
}

fn own_address(code: &Hash) -> Address {
    tao_sdk::contract_address(code)
}

/// The deposit-box example holds depositors' TAO in its own account and moves it only through
/// the token module: approve, deposit, withdraw; the sum of balances and issuance move only by
/// the fees, and nobody can take more than they approved or deposited.
#[test]
fn a_contract_moves_tao_only_through_the_token_module() {
    let mut c = chain();
    let alice = key(1).address();
    let boxed = c.deploy(1, 0, "example-deposit-box");
    let account = own_address(&boxed);
    let issuance = |c: &Chain| {
        let mut host = MemoryHost::new();
        host.storage = c.state.0.clone();
        tao_contract_token::issuance(&mut host).unwrap()
    };
    let (sum, issued) = (c.total_balances(), issuance(&c));
    let token = c.token();
    let txs = vec![
        c.call(1, 1, boxed, "entry_deposit", borsh::to_vec(&(10 * TAO)).unwrap(), TAO / 10),
        c.call(1, 2, token, "entry_approve", borsh::to_vec(&(account, 10 * TAO)).unwrap(), TAO / 10),
        c.call(1, 3, boxed, "entry_deposit", borsh::to_vec(&(10 * TAO)).unwrap(), TAO / 10),
        c.call(1, 4, boxed, "entry_withdraw", borsh::to_vec(&(11 * TAO)).unwrap(), TAO / 10),
        c.call(1, 5, boxed, "entry_withdraw", borsh::to_vec(&(4 * TAO)).unwrap(), TAO / 10),
    ];
    let (_, receipts) = c.produce(txs).unwrap();
    let outcomes: Vec<_> = receipts.iter().map(|r| matches!(r.outcome, TxOutcome::Ok)).collect();
    assert_eq!(outcomes, [false, true, true, false, true], "{receipts:?}");
    let fees: u64 = receipts.iter().map(|r| r.fee).sum();
    assert_eq!(c.balance(&account), 6 * TAO);
    assert_eq!(c.total_balances(), sum - fees, "TAO only moved, and fees were recycled");
    assert_eq!(issuance(&c), issued - fees);
    let deposit_key = [tao_sdk::contract_prefix(&account), b"deposit/".to_vec(), alice.0.to_vec()].concat();
    assert_eq!(c.state.get(&deposit_key), Some(borsh::to_vec(&(6 * TAO)).unwrap()));
}

/// Schedules, as a passed proposal would have, the upgrade of `name` to `code` at `height`.
fn schedule_upgrade(c: &mut Chain, height: u64, name: &str, code: Hash) {
    let due = borsh::to_vec(&vec![(name.to_string(), code)]).unwrap();
    c.state.0.insert(tao_contract_governance::upgrades_key(height), due);
}

fn propose_upgrade(c: &Chain, nonce: u64, name: &str, code: Hash) -> SignedTransaction {
    let governance = Hash(c.state.get(&keys::module("governance")).unwrap().try_into().unwrap());
    let action = tao_contract_governance::Action::UpgradeModule { name: name.into(), code };
    c.call(1, nonce, governance, "entry_propose", borsh::to_vec(&action).unwrap(), TAO / 10)
}

/// Every token entry point exported, each trapping: the interface is there, the code is not.
fn trapping_token() -> Vec<u8> {
    let entries: String = tao_abi::interfaces::of("token")
        .unwrap()
        .iter()
        .map(|e| format!("(func (export \"{e}\") unreachable)"))
        .collect();
    wat::parse_str(format!(
        "(module (memory (export \"memory\") 1) (func (export \"tao_abi_v1\")) {entries})"
    ))
    .unwrap()
}

/// The upgrade that bricked the chain — `token` pointed at an incentive module — and one to code
/// that has the interface but fails the dry run are refused when proposed, and again when they
/// come due (as if scheduled before the code changed): the old token stays, the refusal is in
/// the block's events, and transfers go on. A valid upgrade (token-burn-fees) still activates.
#[test]
fn upgrades_that_would_brick_the_chain_are_refused() {
    let mut c = chain();
    let top_k = c.deploy(1, 0, "example-top-k");
    let trapping = {
        let code = trapping_token();
        let tx = c.call(1, 1, tao_chain::DEPLOY, "deploy", code.clone(), TAO);
        assert_eq!(c.produce(vec![tx]).unwrap().1[0].outcome, TxOutcome::Ok);
        Hash(tao_types::keccak256(&code))
    };
    let burn_fees = c.deploy(1, 2, "example-token-burn-fees");
    let token = c.token();
    let (_, receipts) = c
        .produce(vec![propose_upgrade(&c, 3, "token", top_k), propose_upgrade(&c, 4, "token", trapping)])
        .unwrap();
    let reasons: Vec<String> = receipts.iter().map(|r| format!("{:?}", r.outcome)).collect();
    assert!(reasons[0].contains("interface"), "{reasons:?}");
    assert!(reasons[1].contains("upgrade refused: dry run"), "{reasons:?}");

    for (bad, why) in [(top_k, "lacks `entry_transfer` of the token interface"), (trapping, "dry run")] {
        let height = c.head.height + 1;
        schedule_upgrade(&mut c, height, "token", bad);
        let executed = c
            .executor
            .validate(Arc::new(c.state.clone()), height, c.head.time_ms + 12_000, &[], &Slashes::default())
            .unwrap();
        let refused =
            executed.events.iter().find(|(topic, _)| topic == b"upgrade_refused").expect("refusal event");
        let (name, code, reason): (String, Hash, String) = borsh::from_slice(&refused.1).unwrap();
        assert_eq!((name.as_str(), code), ("token", bad));
        assert!(reason.contains(why), "{reason}");
        let nonce = Executor::nonce(&c.state, &key(1).address());
        let (_, receipts) = c.produce(vec![c.transfer(1, nonce, key(2).address(), TAO)]).unwrap();
        assert_eq!(receipts[0].outcome, TxOutcome::Ok, "transfers go on");
        assert_eq!(c.token(), token, "the old token stays");
    }

    let height = c.head.height + 1;
    schedule_upgrade(&mut c, height, "token", burn_fees);
    c.produce(vec![]).unwrap();
    let nonce = Executor::nonce(&c.state, &key(1).address());
    let (_, receipts) = c.produce(vec![c.transfer(1, nonce, key(2).address(), TAO)]).unwrap();
    assert_eq!((c.token(), &receipts[0].outcome), (burn_fees, &TxOutcome::Ok));
    let mut host = MemoryHost::new();
    host.storage = c.state.0.clone();
    assert_eq!(tao_contract_token::burned(&mut host).unwrap(), receipts[0].fee, "fees are burned now");

    // The old token code is retired: a call addressed to it is refused, naming the new one.
    let nonce = Executor::nonce(&c.state, &key(1).address());
    let args = borsh::to_vec(&TransferArgs { to: key(2).address(), amount: TAO }).unwrap();
    let (_, receipts) = c.produce(vec![c.call(1, nonce, token, "entry_transfer", args, TAO / 10)]).unwrap();
    let TxOutcome::Failed(reason) = &receipts[0].outcome else { panic!("{:?}", receipts[0]) };
    assert!(
        reason.contains(&format!("retired version of system module `token`; call {burn_fees}")),
        "{reason}"
    );
}

/// Each compiled system module exports exactly its interface as `tao_abi` declares it.
#[test]
fn system_modules_export_their_declared_interfaces() {
    let vm = Vm::new(VmConfig::default()).unwrap();
    for (name, interface) in tao_abi::interfaces::SYSTEM {
        let admitted = vm.admit(&module_code(name), tao_vm::CodeClass::System).unwrap();
        let mut exported = admitted.report.entry_points.clone();
        exported.retain(|e| e != tao_abi::ABI_VERSION_EXPORT);
        exported.sort();
        let mut declared: Vec<String> = interface.iter().map(|e| e.to_string()).collect();
        declared.sort();
        assert_eq!(exported, declared, "{name}");
    }
}

fn deploy_wat(c: &mut Chain, from: u8, nonce: u64, path: &str) -> (Hash, u64) {
    let code = wat::parse_file(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").join(path)).unwrap();
    let tx = c.call(from, nonce, tao_chain::DEPLOY, "deploy", code.clone(), TAO);
    let (_, receipts) = c.produce(vec![tx]).unwrap();
    assert_eq!(receipts[0].outcome, TxOutcome::Ok);
    (Hash(tao_types::keccak256(&code)), receipts[0].gas_used)
}

/// A loop with a 1,000 τ fee limit gets `MAX_TX_GAS` and pays for that, not for its limit; a
/// proposer fits at most `BLOCK_GAS_LIMIT` of gas limits in a block (the rest wait, in order), a
/// received block over it is invalid; and uploaded code pays its compile gas at deploy and at
/// its first call in each block only.
#[test]
fn gas_is_capped_per_transaction_and_per_block_and_compiling_costs_gas() {
    let mut c = chain();
    let (looping, deploy_gas) = deploy_wat(&mut c, 1, 0, "contracts/hostile/infinite_loop.wat");
    assert!(deploy_gas >= tao_chain::COMPILE_GAS_PER_BYTE, "deploying pays the compile gas: {deploy_gas}");
    let spin = |c: &Chain, nonce| c.call(1, nonce, looping, "run", Vec::new(), 1_000 * TAO);
    assert_eq!(tao_chain::tx_gas(&spin(&c, 1)), tao_contract_token::MAX_TX_GAS);

    // Three max-gas loops: a proposer includes what the block's gas holds, each using (and
    // paying for) the capped gas, not its fee limit; the third, which would only get what is
    // left, waits with the sender's transfer behind it. A block with all three gives the third
    // nothing: it fails out of gas, using none.
    let height = c.head.height + 1;
    let candidates = vec![spin(&c, 1), spin(&c, 2), spin(&c, 3), c.transfer(1, 4, key(2).address(), TAO)];
    let fits = (tao_chain::BLOCK_GAS_LIMIT / tao_contract_token::MAX_TX_GAS) as usize;
    let built = c
        .executor
        .build(
            Arc::new(c.state.clone()),
            height,
            c.head.time_ms + 1,
            &c.verified(&candidates),
            &Slashes::default(),
        )
        .unwrap();
    assert_eq!((built.txs.len(), built.refused.len()), (fits, 0));
    let fee = tao_contract_token::fee(candidates[0].encode().len() as u64, tao_contract_token::MAX_TX_GAS);
    for receipt in &built.executed.receipts {
        assert_eq!(receipt.outcome, TxOutcome::Failed("out of gas".into()));
        assert_eq!((receipt.gas_used, receipt.fee), (tao_contract_token::MAX_TX_GAS, fee));
    }
    let all = c
        .executor
        .validate(
            Arc::new(c.state.clone()),
            height,
            c.head.time_ms + 1,
            &candidates[..3],
            &Slashes::default(),
        )
        .unwrap();
    assert_eq!(all.receipts[..2], built.executed.receipts[..]);
    assert_eq!(all.receipts[2].outcome, TxOutcome::Failed("out of gas".into()));
    assert_eq!(all.receipts[2].gas_used, 0);

    // Compile gas: the first call of a block pays it, the next does not.
    let kit = c.deploy(1, 1, "testkit");
    let noop = |c: &Chain, nonce| c.call(1, nonce, kit, "noop", Vec::new(), TAO / 10);
    let (_, receipts) = c.produce(vec![noop(&c, 2), noop(&c, 3)]).unwrap();
    let (first, second) = (receipts[0].gas_used, receipts[1].gas_used);
    assert!(first > second + tao_chain::COMPILE_GAS_PER_BYTE * 1_000, "{first} vs {second}");
}

/// A transaction the chain refuses at block time is left out, reported, and the block goes on:
/// nothing of it remains, and the transactions around it run once.
#[test]
fn a_proposer_leaves_out_refused_transactions_without_re_running_the_block() {
    let c = chain();
    let (alice, bob) = (key(1).address(), key(2).address());
    let candidates = vec![
        c.transfer(1, 0, bob, TAO),
        c.transfer(3, 0, alice, TAO), // cannot pay
        c.transfer(1, 1, bob, 2 * TAO),
        c.transfer(1, 5, bob, TAO), // nonce gap
    ];
    let built = c
        .executor
        .build(Arc::new(c.state.clone()), 1, 5, &c.verified(&candidates), &Slashes::default())
        .unwrap();
    let included: Vec<_> = built.txs.iter().map(|t| t.hash()).collect();
    assert_eq!(included, vec![candidates[0].hash(), candidates[2].hash()]);
    let refused: Vec<_> = built.refused.iter().map(|(h, _)| *h).collect();
    assert_eq!(refused, vec![candidates[1].hash(), candidates[3].hash()]);
    assert!(matches!(built.refused[0].1, ChainError::CannotPay { .. }));
    assert_eq!(built.hashes, included);
    let check =
        c.executor.validate(Arc::new(c.state.clone()), 1, 5, &built.txs, &Slashes::default()).unwrap();
    assert_eq!(check.writes, built.executed.writes, "the built block passes validation as is");
    assert_eq!(check.receipts, built.executed.receipts);
    assert_eq!(
        (check.txs_root, check.receipts_root),
        (built.executed.txs_root, built.executed.receipts_root)
    );
}

/// Each push says what became of its candidate: included with its receipt, refused with why
/// (rolled back: the block's state is as if it never ran), or held behind a refused one of the
/// same sender; what was pushed after a refusal still builds on the state before it.
#[test]
fn a_block_builder_reports_each_candidate() {
    let c = chain();
    let bob = key(2).address();
    let candidates = c.verified(&[
        c.transfer(1, 0, bob, TAO),
        c.transfer(1, 2, bob, TAO), // nonce gap: refused
        c.transfer(1, 3, bob, TAO), // behind it: held
        c.transfer(1, 1, bob, 3 * TAO),
    ]);
    let mut builder = c.executor.builder(Arc::new(c.state.clone()), 1, 5, &Slashes::default()).unwrap();
    assert!(
        matches!(builder.push(&candidates[0]).unwrap(), Pushed::Included(r) if r.outcome == TxOutcome::Ok)
    );
    let refused = builder.push(&candidates[1]).unwrap();
    assert!(
        matches!(refused, Pushed::Refused(ChainError::BadNonce { index: 1, expected: 1, got: 2 })),
        "{refused:?}"
    );
    assert!(matches!(builder.push(&candidates[2]).unwrap(), Pushed::Held));
    assert!(matches!(builder.push(&candidates[3]).unwrap(), Pushed::Held), "alice is held for this block");
    let built = builder.finish();
    assert_eq!(built.hashes, vec![candidates[0].hash()]);
    let expected = c
        .executor
        .validate(Arc::new(c.state.clone()), 1, 5, &[candidates[0].signed().clone()], &Slashes::default())
        .unwrap();
    assert_eq!(built.executed.writes, expected.writes, "the refused candidate left no trace");
    assert_eq!(built.executed.receipts, expected.receipts);
}

/// A received block's signatures are all checked before anything runs, in parallel: the first
/// bad one by index is the error, whichever thread found which, and even ahead of a bad nonce
/// earlier in the block.
#[test]
fn validation_names_the_first_bad_signature_by_index() {
    let c = chain_with((1..=64u8).map(|k| (key(k).address(), 1_000 * TAO)).collect(), Vec::new());
    let forged = |mut tx: SignedTransaction| {
        tx.tx.fee_limit = Balance(tx.tx.fee_limit.0 + 1);
        tx
    };
    let mut txs: Vec<SignedTransaction> =
        (1..=64u8).map(|k| c.transfer(k, 0, key(65).address(), TAO)).collect();
    txs[0] = c.transfer(1, 7, key(65).address(), TAO); // a bad nonce, checked only after signatures
    for k in [37, 5, 60] {
        txs[k] = forged(txs[k].clone());
    }
    for _ in 0..8 {
        let result = c.executor.validate(Arc::new(c.state.clone()), 1, 5, &txs, &Slashes::default());
        assert!(
            matches!(result, Err(ChainError::InvalidTx { index: 5, error: tao_tx::TxError::BadSignature })),
            "{result:?}"
        );
    }
    txs[0] = c.transfer(1, 0, key(65).address(), TAO);
    for k in [5, 37, 60] {
        txs[k] = c.transfer(k as u8 + 1, 0, key(65).address(), TAO);
    }
    let executed = c.executor.validate(Arc::new(c.state.clone()), 1, 5, &txs, &Slashes::default()).unwrap();
    assert!(executed.receipts.iter().all(|r| r.outcome == TxOutcome::Ok));
}

/// A genesis call of `entry` of `module` by `caller`.
fn genesis_call(module: &str, entry: &str, caller: Address, input: Vec<u8>) -> GenesisCall {
    GenesisCall { module: module.into(), entry: entry.into(), caller, input }
}

/// The (hotkey, netuid) pairs where `coldkey` holds shares, found by iterating the state.
fn held_positions(state: &MemoryStorage, coldkey: &Address) -> Vec<(Address, u16)> {
    let prefix = [b"stake/shares/".as_slice(), &coldkey.0].concat();
    let under = state.0.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix));
    under
        .filter(|(_, v)| borsh::from_slice::<u128>(v).unwrap() > 0)
        .map(|(k, _)| borsh::from_slice(&k[prefix.len()..]).unwrap())
        .collect()
}

/// `coldkey`'s position index, read with one key and checked against the head's state root.
fn proven_positions(c: &Chain, coldkey: &Address) -> Vec<(Address, u16)> {
    let key = tao_contract_staking::positions_key(coldkey);
    let (value, proof) = c.store.get_with_proof(&key, c.head.height).unwrap();
    tao_state::verify(&c.head.state_root, &key, value.as_deref(), &proof).unwrap();
    let Some(bytes) = value else { return Vec::new() };
    let list: tao_contract_staking::PositionList = tao_codec::decode(&bytes, 4_096).unwrap();
    list.into_inner()
}

/// A small deterministic generator (xorshift64*), so the sequence is the same on every run.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n
    }
}

/// The proven per-coldkey index of stake positions, through real blocks: the genesis root stake
/// is in it, and after a seeded random sequence of signed stake calls (add, remove, limits,
/// move, swap, transfer, unstake-all) and epochs paying emission as stake, every coldkey's
/// proven index is exactly the set of positions where it holds shares.
#[test]
fn the_position_index_is_proven_and_follows_every_stake_path() {
    use tao_contract_staking::StakeArgs;
    let (owner, hot, hot2) = (key(1).address(), key(11).address(), key(12).address());
    let register = tao_contract_subnets::RegisterNetworkArgs { hotkey: hot, identity: Default::default() };
    let root = StakeArgs { hotkey: hot, netuid: 0, amount: 1_000 * TAO, limit: None };
    let calls = vec![
        genesis_call("neurons", "entry_register_network", owner, borsh::to_vec(&register).unwrap()),
        genesis_call(
            "neurons",
            "entry_burned_register",
            key(2).address(),
            borsh::to_vec(&(1u16, hot2)).unwrap(),
        ),
        genesis_call("staking", "entry_add_stake", owner, borsh::to_vec(&root).unwrap()),
    ];
    let coldkeys = [1u8, 2, 3];
    let funded = coldkeys.iter().map(|&k| (key(k).address(), 100_000 * TAO)).collect();
    let mut c = chain_with(funded, calls);
    assert_eq!(proven_positions(&c, &owner), vec![(hot, 0)], "the genesis root stake is indexed");

    let staking = Hash(c.state.get(&keys::module("staking")).unwrap().try_into().unwrap());
    let mut nonces = [0u64; 3];
    let mut rng = Rng(0x17);
    let mut executed = 0;
    for _ in 0..30 {
        let mut txs = Vec::new();
        for (i, &from) in coldkeys.iter().enumerate() {
            let (method, args) = random_stake_call(&mut rng, &c, from, [hot, hot2], &coldkeys);
            txs.push(c.call(from, nonces[i], staking, method, args, TAO / 100));
            nonces[i] += 1;
        }
        let (_, receipts) = c.produce(txs).unwrap();
        executed += receipts.iter().filter(|r| r.outcome == TxOutcome::Ok).count();
        for &k in &coldkeys {
            let coldkey = key(k).address();
            assert_eq!(proven_positions(&c, &coldkey), held_positions(&c.state, &coldkey), "coldkey {k}");
        }
    }
    assert!(executed >= 30, "only {executed} of 90 calls executed: the sequence tests too little");
    // With the owner's stake sold, the first epoch (tempo 360) pays its cut as stake on subnet 1.
    let (_, receipts) =
        c.produce(vec![c.call(1, nonces[0], staking, "entry_unstake_all", Vec::new(), TAO / 100)]).unwrap();
    assert_eq!((receipts[0].outcome.clone(), proven_positions(&c, &owner)), (TxOutcome::Ok, Vec::new()));
    while c.head.height < 362 {
        c.produce(Vec::new()).unwrap();
    }
    let indexed = proven_positions(&c, &owner);
    assert_eq!(indexed, held_positions(&c.state, &owner));
    assert!(
        indexed.contains(&(hot, 1)),
        "the owner's cut, paid as stake on subnet 1, is indexed: {indexed:?}"
    );
}

/// One random stake call by `from` between `hotkeys` on root and subnet 1: adds from dust to
/// more than the balance; removals, moves, swaps and transfers of all, half or too much of the
/// position; limits on a third of them.
fn random_stake_call(
    rng: &mut Rng,
    c: &Chain,
    from: u8,
    hotkeys: [Address; 2],
    coldkeys: &[u8],
) -> (&'static str, Vec<u8>) {
    use tao_contract_staking::{Limit, StakeArgs};
    let hotkey = hotkeys[rng.below(2) as usize];
    let netuid = rng.below(2) as u16;
    let mut host = MemoryHost::new();
    host.storage = c.state.0.clone();
    let held = tao_contract_staking::stake_of(&mut host, &key(from).address(), &hotkey, netuid).unwrap();
    let (add, amount) = match rng.below(4) {
        0 => ([TAO / 1_000, TAO, 50 * TAO, u64::MAX][rng.below(4) as usize], held),
        1 => (TAO, held / 2),
        2 => (2 * TAO, held.saturating_add(1)),
        _ => (10 * TAO, held),
    };
    let limit = (rng.below(3) == 0).then(|| Limit { price: rng.below(2 * TAO), partial: rng.below(2) == 0 });
    match rng.below(7) {
        0 | 1 => {
            ("entry_add_stake", borsh::to_vec(&StakeArgs { hotkey, netuid, amount: add, limit }).unwrap())
        }
        2 => ("entry_remove_stake", borsh::to_vec(&StakeArgs { hotkey, netuid, amount, limit }).unwrap()),
        3 => {
            let to = hotkeys[rng.below(2) as usize];
            ("entry_move_stake", borsh::to_vec(&(hotkey, netuid, to, rng.below(2) as u16, amount)).unwrap())
        }
        4 => ("entry_swap_stake", borsh::to_vec(&(hotkey, netuid, 1 - netuid, amount)).unwrap()),
        5 => {
            let dest = key(coldkeys[rng.below(coldkeys.len() as u64) as usize]).address();
            ("entry_transfer_stake", borsh::to_vec(&(dest, hotkey, netuid, netuid, amount)).unwrap())
        }
        _ => ("entry_unstake_all", Vec::new()),
    }
}

/// A slash the staking contract refuses (here the second slash of one key in a block: a key is
/// slashed once) fails the block naming the offender, so a proposer can leave out that piece
/// alone; the first slash of the same block goes through.
#[test]
fn a_refused_slash_names_its_offender() {
    let c = chain();
    let offender = key(9).public_key();
    let once = Slashes { offenders: vec![(offender, 0)], in_force: c.validators.clone() };
    c.executor.validate(Arc::new(c.state.clone()), 1, c.head.time_ms + 1, &[], &once).unwrap();
    let twice = Slashes { offenders: vec![(offender, 0), (offender, 0)], ..once };
    match c.executor.validate(Arc::new(c.state.clone()), 1, c.head.time_ms + 1, &[], &twice) {
        Err(ChainError::Slash { offender: named, outcome }) => {
            assert_eq!(*named, offender);
            assert!(outcome.to_lowercase().contains("slashed"), "{outcome}");
        }
        other => panic!("not a slash failure: {other:?}"),
    }
}

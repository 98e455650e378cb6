use super::*;
use tao_contract_subnets::SubnetIdentity;
use tao_sdk::{MemoryHost, NativeOutcome};

const TAO: u64 = RAO_PER_TAO;

fn addr(n: u16) -> Address {
    let mut a = [0u8; 20];
    a[..2].copy_from_slice(&n.to_be_bytes());
    a[19] = 1;
    Address(a)
}

fn call<T>(
    host: &mut MemoryHost,
    caller: Address,
    block: u64,
    f: impl FnOnce(&mut MemoryHost) -> Result<T, NeuronError>,
) -> Result<(), String> {
    host.caller = caller;
    host.block_height = block;
    match host.run(&[], |h| f(h).map(|_| ())).outcome {
        NativeOutcome::Ok => Ok(()),
        NativeOutcome::Abort(m) | NativeOutcome::HostError(m) => Err(m),
    }
}

/// Owner 1 (hotkey 1001) owns subnet 1; coldkeys 2 and 3 are funded.
fn setup() -> MemoryHost {
    let mut h = MemoryHost::new();
    call(&mut h, SYSTEM, 0, |h| {
        for who in [1u16, 2, 3] {
            token::mint(h, &addr(who), 1_000_000 * TAO)?;
        }
        Ok(())
    })
    .unwrap();
    call(&mut h, addr(1), 1, |h| register_network(h, &addr(1), &addr(1001), SubnetIdentity::default()))
        .unwrap();
    h
}

fn register(h: &mut MemoryHost, coldkey: u16, hotkey: u16, block: u64) -> Result<(), String> {
    call(h, addr(coldkey), block, |h| burned_register(h, &addr(coldkey), 1, &addr(hotkey)))
}

fn set_param(h: &mut MemoryHost, id: u8, value: u64) {
    call(h, SYSTEM, 1, |h| Ok(subnets::set_hyperparameter(h, &SYSTEM, 1, id, value)?)).unwrap();
}

#[test]
fn registration_pays_into_the_pool_recycles_alpha_and_bumps_the_price() {
    let mut h = setup();
    let issuance = token::issuance(&mut h).unwrap();
    let before = pools::pool(&mut h, 1).unwrap().unwrap();
    register(&mut h, 2, 2001, 5).unwrap();
    assert_eq!(uid_of(&mut h, 1, &addr(2001)), Ok(Some(1)), "UID 0 is the owner's hotkey");
    assert_eq!(token::balance(&mut h, &addr(2)), Ok(1_000_000 * TAO - INITIAL_BURN));
    assert_eq!(token::issuance(&mut h), Ok(issuance), "the TAO stays in the pool");
    let after = pools::pool(&mut h, 1).unwrap().unwrap();
    assert_eq!(after.tao, before.tao + INITIAL_BURN);
    assert!(after.alpha_in < before.alpha_in, "the alpha bought is recycled");
    assert!(after.alpha_issued() < before.alpha_issued());
    assert_eq!(burn_price(&mut h, 1), Ok(INITIAL_BURN * 126 / 100));
    register(&mut h, 2, 2002, 5).unwrap();
    assert_eq!(uid_of(&mut h, 1, &addr(2002)), Ok(Some(2)));
    assert_eq!(hotkey_owner(&mut h, &addr(2002)), Ok(Some(addr(2))));
    assert_eq!(count(&mut h, 1), Ok(3));
}

/// Subtensor's owner seat: creating a subnet registers the owner's hotkey at UID 0 for free, with
/// the same record a burned registration writes; it cannot register again, and a hotkey of another
/// coldkey is refused before any lock is paid.
#[test]
fn a_new_subnet_seats_the_owners_hotkey_at_uid_0_without_a_burn() {
    let mut h = setup();
    assert_eq!(count(&mut h, 1), Ok(1));
    assert_eq!(neuron(&mut h, 1, 0), Ok(Some(Neuron { hotkey: addr(1001), registered_at: 1 })));
    assert_eq!(uid_of(&mut h, 1, &addr(1001)), Ok(Some(0)));
    assert_eq!(hotkey_owner(&mut h, &addr(1001)), Ok(Some(addr(1))));
    assert_eq!(burn_price(&mut h, 1), Ok(INITIAL_BURN), "no burn, no price bump");
    assert_eq!(token::balance(&mut h, &addr(1)), Ok(1_000_000 * TAO - subnets::MIN_LOCK), "only the lock");
    assert_eq!(register(&mut h, 1, 1001, 2).unwrap_err(), NeuronError::AlreadyRegistered.to_string());
    register(&mut h, 2, 2001, 2).unwrap();
    let before = token::balance(&mut h, &addr(3)).unwrap();
    let stolen = call(&mut h, addr(3), 20_000, |h| {
        register_network(h, &addr(3), &addr(2001), SubnetIdentity::default())
    });
    assert_eq!(stolen.unwrap_err(), NeuronError::HotkeyOwnedByOther.to_string());
    assert_eq!(token::balance(&mut h, &addr(3)), Ok(before));
    assert_eq!(subnets::subnet(&mut h, 2), Ok(None));
}

/// What a light client reads at `burn_key`: absent means [`INITIAL_BURN`]; after a registration,
/// the bumped price `burn_price` reports.
#[test]
fn the_burn_key_holds_the_registration_price() {
    let mut h = setup();
    assert_eq!(h.storage.get(&burn_key(1)), None);
    register(&mut h, 2, 2001, 5).unwrap();
    let stored = h.storage.get(&burn_key(1)).unwrap();
    let price = tao_sdk::borsh::from_slice::<u64>(stored).unwrap();
    assert_eq!(Ok(price), burn_price(&mut h, 1));
    assert_eq!(price, INITIAL_BURN * 126 / 100);
    assert_eq!(h.storage.get(&burn_key(2)), None, "one key per subnet");
}

#[test]
fn registration_checks_in_order() {
    let mut h = setup();
    let err = |r: Result<(), String>| r.unwrap_err();
    assert_eq!(
        err(call(&mut h, addr(2), 2, |h| burned_register(h, &addr(2), 0, &addr(5)))),
        NeuronError::RootSubnet.to_string()
    );
    assert_eq!(
        err(call(&mut h, addr(2), 2, |h| burned_register(h, &addr(2), 9, &addr(5)))),
        NeuronError::NoSuchSubnet(9).to_string()
    );
    set_param(&mut h, id::REGISTRATION_ALLOWED, 0);
    assert_eq!(err(register(&mut h, 2, 5, 2)), NeuronError::RegistrationDisabled.to_string());
    set_param(&mut h, id::REGISTRATION_ALLOWED, 1);
    register(&mut h, 2, 5, 2).unwrap();
    assert_eq!(err(register(&mut h, 2, 5, 3)), NeuronError::AlreadyRegistered.to_string());
    assert_eq!(
        err(register(&mut h, 9, 6, 3)),
        NeuronError::InsufficientBalance { have: 0, need: burn_price(&mut h, 1).unwrap() }.to_string()
    );
    // Hotkey 5 belongs to coldkey 2 now: coldkey 3 cannot register it on another subnet.
    call(&mut h, addr(3), 20_000, |h| register_network(h, &addr(3), &addr(3003), SubnetIdentity::default()))
        .unwrap();
    assert_eq!(
        err(call(&mut h, addr(3), 20_001, |h| burned_register(h, &addr(3), 2, &addr(5)))),
        NeuronError::HotkeyOwnedByOther.to_string()
    );
}

#[test]
fn price_decays_by_half_life_within_clamps() {
    let mut h = setup();
    set_param(&mut h, id::MIN_BURN, 0);
    set_param(&mut h, id::BURN_HALF_LIFE, 2);
    let start = burn_price(&mut h, 1).unwrap();
    for _ in 0..2 {
        call(&mut h, SYSTEM, 2, on_block).unwrap();
    }
    let halved = burn_price(&mut h, 1).unwrap();
    assert!(halved <= start / 2 && halved >= start / 2 - 2, "{start} -> {halved}");
    set_param(&mut h, id::MIN_BURN, 400_000_000);
    for _ in 0..10 {
        call(&mut h, SYSTEM, 3, on_block).unwrap();
    }
    assert_eq!(burn_price(&mut h, 1), Ok(400_000_000));
    assert_eq!(call(&mut h, addr(2), 4, on_block), Err(NeuronError::NotSystem.to_string()));
}

#[test]
fn full_subnet_prunes_lowest_emission_non_immune_and_clears_it() {
    let mut h = setup();
    set_param(&mut h, id::MAX_ALLOWED_UIDS, 64);
    set_param(&mut h, id::IMMUNITY_PERIOD, 100);
    // The owner's hotkey holds UID 0 since the subnet's creation; then 63 miners of coldkey 2.
    for i in 0..63u16 {
        register(&mut h, 2, 3000 + i, 10).unwrap();
        call(&mut h, SYSTEM, 10, |h| {
            set_emission(h, 1, i + 1, 1_000 + u64::from(i));
            Ok(())
        })
        .unwrap();
    }
    // The owner's UID 0 has the lowest emission (0) but is never pruned.
    let serve = ServeAxonArgs { netuid: 1, ip: 0x0a00_0001, ip_type: 4, port: 8091, protocol: 4, version: 1 };
    call(&mut h, addr(3000), 11, |h| serve_axon(h, &addr(3000), &serve)).unwrap();
    // While everyone is immune (and immune UIDs are used only when few are non-immune), the
    // lowest-emission immune UID goes.
    assert_eq!(prune_candidate(&mut h, 1, 50), Ok(Some(1)));
    register(&mut h, 3, 4000, 200).unwrap();
    assert_eq!(uid_of(&mut h, 1, &addr(4000)), Ok(Some(1)));
    assert_eq!(uid_of(&mut h, 1, &addr(3000)), Ok(None), "the replaced hotkey lost its UID");
    assert_eq!(axon(&mut h, 1, 1), Ok(None), "the replaced UID's axon is cleared");
    assert_eq!(emission(&mut h, 1, 1), Ok(0));
    assert_eq!(neuron(&mut h, 1, 0).unwrap().unwrap().hotkey, addr(1001));
    // UID 1 is now immune (registered at 200): the next lowest non-immune emission is UID 2.
    assert_eq!(prune_candidate(&mut h, 1, 250), Ok(Some(2)));
}

#[test]
fn serve_axon_checks() {
    let mut h = setup();
    register(&mut h, 2, 2001, 5).unwrap();
    let ok = ServeAxonArgs { netuid: 1, ip: 0x0a00_0001, ip_type: 4, port: 8091, protocol: 4, version: 1 };
    let serve = |h: &mut MemoryHost, who: u16, block: u64, args: ServeAxonArgs| {
        call(h, addr(who), block, |h| serve_axon(h, &addr(who), &args))
    };
    assert_eq!(serve(&mut h, 2002, 6, ok.clone()), Err(NeuronError::NotRegistered.to_string()));
    assert_eq!(
        serve(&mut h, 2001, 6, ServeAxonArgs { ip_type: 5, ..ok.clone() }),
        Err(NeuronError::InvalidIpType.to_string())
    );
    assert_eq!(
        serve(&mut h, 2001, 6, ServeAxonArgs { ip: 0x7f00_0001, ..ok.clone() }),
        Err(NeuronError::InvalidIpAddress.to_string())
    );
    // Loopback in any spelling would send validators to their own machine.
    let loopback_v6 = [1, 0xffff_7f00_0001, 0xffff_7f12_3456, 0xffff_0000_0000, u128::MAX];
    for ip in loopback_v6 {
        assert_eq!(
            serve(&mut h, 2001, 6, ServeAxonArgs { ip, ip_type: 6, ..ok.clone() }),
            Err(NeuronError::InvalidIpAddress.to_string()),
            "{ip:#x}"
        );
    }
    assert_eq!(
        serve(&mut h, 2001, 6, ServeAxonArgs { ip: 0x7f12_3456, ..ok.clone() }),
        Err(NeuronError::InvalidIpAddress.to_string())
    );
    assert_eq!(
        serve(&mut h, 2001, 6, ServeAxonArgs { port: 0, ..ok.clone() }),
        Err(NeuronError::InvalidPort.to_string())
    );
    serve(&mut h, 2001, 6, ok.clone()).unwrap();
    assert_eq!(axon(&mut h, 1, 1).unwrap().unwrap().port, 8091);
    assert_eq!(serve(&mut h, 2001, 7, ok.clone()), Err(NeuronError::RateLimited { until: 56 }.to_string()));
    serve(&mut h, 2001, 56, ServeAxonArgs { port: 9000, ..ok }).unwrap();
    assert_eq!(axon(&mut h, 1, 1).unwrap().unwrap().port, 9000);
}

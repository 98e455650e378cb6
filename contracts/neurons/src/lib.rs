//! Neurons: hotkeys registered on a subnet as UIDs.
//!
//! - `burned_register`: the coldkey pays the subnet's current registration price into the
//!   subnet's pool, where it buys alpha that is recycled (subtensor's rule); the
//!   price is bumped, and the hotkey gets a UID: appended while the subnet has room, otherwise the
//!   UID of the pruning candidate (lowest emission among non-immune UIDs, owner UIDs protected).
//!   The replaced UID's per-UID data is cleared.
//! - `register_network`: creates a subnet (the subnets module's lock and pool) and seats the
//!   owner's hotkey at UID 0 without a burn, as subtensor does.
//! - `on_block`: the per-block price decay of every subnet (called by the block executor).
//! - `serve_axon`: a registered hotkey publishes where validators can reach its miner.
#![cfg_attr(target_arch = "wasm32", no_std)]

extern crate alloc;

pub mod burn;
mod error;

use alloc::vec::Vec;

pub use error::NeuronError;
use tao_contract_pools as pools;
use tao_contract_subnets::{self as subnets, RegisterNetworkArgs, SubnetIdentity, params::id};
use tao_contract_token::{self as token, SYSTEM};
use tao_sdk::{Address, BorshDeserialize, BorshSerialize, Host, Map};
use tao_types::{NetUid, RAO_PER_TAO, Uid};

/// Price of the first registration on a new subnet.
pub const INITIAL_BURN: u64 = RAO_PER_TAO;

/// Where a miner serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct AxonInfo {
    /// IPv4 (in the low 32 bits) or IPv6 address.
    pub ip: u128,
    /// 4 or 6.
    pub ip_type: u8,
    /// TCP port, not 0.
    pub port: u16,
    /// Application protocol number.
    pub protocol: u8,
    /// Software version of the axon.
    pub version: u32,
    /// Block at which it was served.
    pub block: u64,
}

impl AxonInfo {
    /// Where the axon listens, if its address is well formed (the wallet, the CLI and the neuron
    /// SDK all read it this way).
    pub fn socket_addr(&self) -> Option<core::net::SocketAddr> {
        use core::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
        let ip = match self.ip_type {
            4 => IpAddr::V4(Ipv4Addr::from(u32::try_from(self.ip).ok()?)),
            6 => IpAddr::V6(Ipv6Addr::from(self.ip)),
            _ => return None,
        };
        (self.port != 0).then_some(SocketAddr::new(ip, self.port))
    }
}

/// One UID's registry entry.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct Neuron {
    /// The hotkey at this UID.
    pub hotkey: Address,
    /// Block of registration.
    pub registered_at: u64,
}

const BURN: Map<NetUid, u64> = Map::new(b"neuron/burn/");
const DECAY: Map<NetUid, (u64, u64)> = Map::new(b"neuron/decay/");
const COUNT: Map<NetUid, u16> = Map::new(b"neuron/n/");
const NEURONS: Map<(NetUid, Uid), Neuron> = Map::new(b"neuron/at/");
const UIDS: Map<(NetUid, Address), Uid> = Map::new(b"neuron/uid/");
const HOTKEY_OWNER: Map<Address, Address> = Map::new(b"neuron/owner/");
const EMISSION: Map<(NetUid, Uid), u64> = Map::new(b"neuron/emission/");
const AXONS: Map<(NetUid, Uid), AxonInfo> = Map::new(b"neuron/axon/");

fn param(host: &mut impl Host, netuid: NetUid, id: u8) -> Result<u64, NeuronError> {
    Ok(subnets::hyperparameter(host, netuid, id)?)
}

/// The registration price of `netuid` now.
pub fn burn_price(host: &mut impl Host, netuid: NetUid) -> Result<u64, NeuronError> {
    Ok(BURN.load(host, &netuid)?.unwrap_or(INITIAL_BURN))
}

/// Number of UIDs on `netuid`.
pub fn count(host: &mut impl Host, netuid: NetUid) -> Result<u16, NeuronError> {
    Ok(COUNT.load(host, &netuid)?.unwrap_or(0))
}

/// Storage key of `netuid`'s UID count (a borsh `u16`), for proofs.
pub fn count_key(netuid: NetUid) -> Vec<u8> {
    COUNT.key(&netuid)
}

/// Storage key of the neuron at (`netuid`, `uid`) (a borsh [`Neuron`]), for proofs.
pub fn neuron_key(netuid: NetUid, uid: Uid) -> Vec<u8> {
    NEURONS.key(&(netuid, uid))
}

/// The neuron at `uid`.
pub fn neuron(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<Option<Neuron>, NeuronError> {
    Ok(NEURONS.load(host, &(netuid, uid))?)
}

/// The UID of `hotkey` on `netuid`.
pub fn uid_of(host: &mut impl Host, netuid: NetUid, hotkey: &Address) -> Result<Option<Uid>, NeuronError> {
    Ok(UIDS.load(host, &(netuid, *hotkey))?)
}

/// The coldkey that owns `hotkey`, bound at its first registration.
pub fn hotkey_owner(host: &mut impl Host, hotkey: &Address) -> Result<Option<Address>, NeuronError> {
    Ok(HOTKEY_OWNER.load(host, hotkey)?)
}

/// The axon of `uid`, if served.
pub fn axon(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<Option<AxonInfo>, NeuronError> {
    Ok(AXONS.load(host, &(netuid, uid))?)
}

/// Last epoch emission of `uid` (written by the epoch; 0 until then).
pub fn emission(host: &mut impl Host, netuid: NetUid, uid: Uid) -> Result<u64, NeuronError> {
    Ok(EMISSION.load(host, &(netuid, uid))?.unwrap_or(0))
}

/// Records `uid`'s emission (for the epoch).
pub fn set_emission(host: &mut impl Host, netuid: NetUid, uid: Uid, amount: u64) {
    EMISSION.save(host, &(netuid, uid), &amount);
}

/// The UID a new registration would take when `netuid` is full, or `None` when every UID is
/// protected. Owner UIDs are never pruned: the owner hotkey and the `immune_owner_uids_limit`
/// earliest-registered hotkeys of the owner coldkey. Among the rest, non-immune UIDs are used while
/// more than `min_non_immune_uids` exist, otherwise immune ones; the lowest emission goes first,
/// ties to the earlier registration, then the lower UID.
pub fn prune_candidate(host: &mut impl Host, netuid: NetUid, now: u64) -> Result<Option<Uid>, NeuronError> {
    let info = subnets::subnet(host, netuid)?.ok_or(NeuronError::NoSuchSubnet(netuid))?;
    let immunity = param(host, netuid, id::IMMUNITY_PERIOD)?;
    let min_non_immune = param(host, netuid, id::MIN_NON_IMMUNE_UIDS)?;
    let owner_limit = param(host, netuid, id::IMMUNE_OWNER_UIDS_LIMIT)?;
    let n = count(host, netuid)?;
    // (emission, registered_at, uid, immune, hotkey) for every UID.
    let mut all = Vec::with_capacity(usize::from(n));
    for uid in 0..n {
        let Some(neuron) = neuron(host, netuid, uid)? else { continue };
        let immune = now.saturating_sub(neuron.registered_at) < immunity;
        all.push((emission(host, netuid, uid)?, neuron.registered_at, uid, immune, neuron.hotkey));
    }
    let mut owned = Vec::new();
    for (_, registered_at, uid, _, hotkey) in &all {
        if *hotkey != info.owner_hotkey && hotkey_owner(host, hotkey)? == Some(info.owner_coldkey) {
            owned.push((*registered_at, *uid));
        }
    }
    owned.sort();
    let protected: Vec<Uid> = owned.iter().take(owner_limit as usize).map(|(_, uid)| *uid).collect();
    let candidates: Vec<_> = all
        .into_iter()
        .filter(|(_, _, uid, _, hotkey)| *hotkey != info.owner_hotkey && !protected.contains(uid))
        .collect();
    let non_immune = candidates.iter().filter(|c| !c.3).count() as u64;
    let use_immune = non_immune <= min_non_immune;
    Ok(candidates
        .iter()
        .filter(|c| c.3 == use_immune)
        .min_by_key(|(emission, registered_at, uid, _, _)| (*emission, *registered_at, *uid))
        .map(|c| c.2))
}

/// Clears what belonged to the previous holder of `uid`.
fn clear_uid(host: &mut impl Host, netuid: NetUid, uid: Uid) {
    EMISSION.remove(host, &(netuid, uid));
    AXONS.remove(host, &(netuid, uid));
}

/// Registers `hotkey` on `netuid` for `coldkey`, paying the current price. Returns the UID.
/// Checks, in order: not root, subnet exists, registration allowed, hotkey not yet on the subnet,
/// balance covers the price, hotkey unowned or owned by this coldkey, a UID is available.
pub fn burned_register(
    host: &mut impl Host,
    coldkey: &Address,
    netuid: NetUid,
    hotkey: &Address,
) -> Result<Uid, NeuronError> {
    if netuid == 0 {
        return Err(NeuronError::RootSubnet);
    }
    subnets::subnet(host, netuid)?.ok_or(NeuronError::NoSuchSubnet(netuid))?;
    if param(host, netuid, id::REGISTRATION_ALLOWED)? == 0 {
        return Err(NeuronError::RegistrationDisabled);
    }
    if uid_of(host, netuid, hotkey)?.is_some() {
        return Err(NeuronError::AlreadyRegistered);
    }
    let price = burn_price(host, netuid)?;
    let have = token::balance(host, coldkey)?;
    if have < price {
        return Err(NeuronError::InsufficientBalance { have, need: price });
    }
    match hotkey_owner(host, hotkey)? {
        Some(owner) if owner != *coldkey => return Err(NeuronError::HotkeyOwnedByOther),
        _ => {}
    }
    let now = host.block_height();
    let n = count(host, netuid)?;
    let max = param(host, netuid, id::MAX_ALLOWED_UIDS)?;
    let uid = if u64::from(n) < max {
        n
    } else {
        prune_candidate(host, netuid, now)?.ok_or(NeuronError::NoNeuronIdAvailable)?
    };
    if price > 0 {
        token::withdraw(host, coldkey, price, false)?;
        let recycled = pools::buy_and_recycle(host, netuid, price)?;
        host.emit(b"alpha_recycled", &tao_sdk::borsh::to_vec(&(netuid, recycled)).unwrap_or_default());
    }
    let (min, max_burn) = (param(host, netuid, id::MIN_BURN)?, param(host, netuid, id::MAX_BURN)?);
    let mult = param(host, netuid, id::BURN_INCREASE_MULT_PPM)?;
    BURN.save(host, &netuid, &burn::bump(price, mult, min, max_burn));
    seat(host, coldkey, hotkey, netuid, uid)?;
    host.emit(
        b"neuron_registered",
        &tao_sdk::borsh::to_vec(&(netuid, uid, hotkey, price)).unwrap_or_default(),
    );
    Ok(uid)
}

/// Writes `hotkey`, bound to `coldkey` and registered now, at `uid` of `netuid`: past the end it
/// appends a UID, otherwise the previous holder leaves with its per-UID data. The one path by which
/// every registration (burned, the owner's seat, root) places a neuron.
fn seat(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    netuid: NetUid,
    uid: Uid,
) -> Result<(), NeuronError> {
    let n = count(host, netuid)?;
    if uid >= n {
        COUNT.save(host, &netuid, &n.checked_add(1).ok_or(NeuronError::NoNeuronIdAvailable)?);
    } else if let Some(old) = neuron(host, netuid, uid)? {
        UIDS.remove(host, &(netuid, old.hotkey));
        clear_uid(host, netuid, uid);
    }
    let now = host.block_height();
    NEURONS.save(host, &(netuid, uid), &Neuron { hotkey: *hotkey, registered_at: now });
    UIDS.save(host, &(netuid, *hotkey), &uid);
    HOTKEY_OWNER.save(host, hotkey, coldkey);
    Ok(())
}

/// Registers a subnet for `owner_coldkey` (the subnets module's lock and pool) and seats
/// `owner_hotkey` at its first UID, 0 on a new subnet, without a burn: subtensor's owner seat,
/// never pruned, immune like any registration. Returns the netuid. The hotkey must be unowned or
/// the owner's.
pub fn register_network(
    host: &mut impl Host,
    owner_coldkey: &Address,
    owner_hotkey: &Address,
    identity: SubnetIdentity,
) -> Result<NetUid, NeuronError> {
    if hotkey_owner(host, owner_hotkey)?.is_some_and(|owner| owner != *owner_coldkey) {
        return Err(NeuronError::HotkeyOwnedByOther);
    }
    let netuid = subnets::create_network(host, owner_coldkey, owner_hotkey, identity)?;
    let uid = count(host, netuid)?;
    seat(host, owner_coldkey, owner_hotkey, netuid, uid)?;
    host.emit(
        b"neuron_registered",
        &tao_sdk::borsh::to_vec(&(netuid, uid, owner_hotkey, 0u64)).unwrap_or_default(),
    );
    Ok(netuid)
}

/// One block of price decay on every subnet (the block executor's begin-block hook).
pub fn on_block(host: &mut impl Host) -> Result<(), NeuronError> {
    if host.caller() != SYSTEM {
        return Err(NeuronError::NotSystem);
    }
    for (netuid, _) in subnets::subnets(host)? {
        let half_life = param(host, netuid, id::BURN_HALF_LIFE)?;
        let factor = match DECAY.load(host, &netuid)? {
            Some((h, f)) if h == half_life => f,
            _ => {
                let f = burn::decay_factor_q32(half_life);
                DECAY.save(host, &netuid, &(half_life, f));
                f
            }
        };
        let (min, max) = (param(host, netuid, id::MIN_BURN)?, param(host, netuid, id::MAX_BURN)?);
        let price = burn_price(host, netuid)?;
        BURN.save(host, &netuid, &burn::decay(price, factor, min, max));
    }
    Ok(())
}

/// Arguments of `serve_axon`.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
#[borsh(crate = "tao_sdk::borsh")]
pub struct ServeAxonArgs {
    /// Subnet.
    pub netuid: NetUid,
    /// Address (IPv4 in the low 32 bits).
    pub ip: u128,
    /// 4 or 6.
    pub ip_type: u8,
    /// Port.
    pub port: u16,
    /// Protocol number.
    pub protocol: u8,
    /// Axon version.
    pub version: u32,
}

/// An IPv4 address validators may be sent to: not 0 and not loopback (127/8), which would point
/// each validator at its own machine.
fn reachable_ipv4(ip: u32) -> bool {
    ip != 0 && (ip >> 24) != 127
}

/// An IPv6 address validators may be sent to: not unspecified, not loopback (`::1`), not all
/// ones, and an IPv4-mapped one (`::ffff:a.b.c.d`) only if its IPv4 address would be.
fn reachable_ipv6(ip: u128) -> bool {
    const MAPPED: u128 = 0xffff;
    if ip >> 32 == MAPPED {
        return reachable_ipv4(ip as u32);
    }
    ip != 0 && ip != 1 && ip != u128::MAX
}

/// The hotkey `caller` publishes its axon on `args.netuid`.
pub fn serve_axon(host: &mut impl Host, caller: &Address, args: &ServeAxonArgs) -> Result<(), NeuronError> {
    let uid = uid_of(host, args.netuid, caller)?.ok_or(NeuronError::NotRegistered)?;
    let valid_ip = match args.ip_type {
        4 => u32::try_from(args.ip).is_ok_and(reachable_ipv4),
        6 => reachable_ipv6(args.ip),
        _ => return Err(NeuronError::InvalidIpType),
    };
    if !valid_ip {
        return Err(NeuronError::InvalidIpAddress);
    }
    if args.port == 0 {
        return Err(NeuronError::InvalidPort);
    }
    let now = host.block_height();
    if let Some(previous) = axon(host, args.netuid, uid)? {
        let until = previous.block.saturating_add(param(host, args.netuid, id::SERVING_RATE_LIMIT)?);
        if now < until {
            return Err(NeuronError::RateLimited { until });
        }
    }
    let info = AxonInfo {
        ip: args.ip,
        ip_type: args.ip_type,
        port: args.port,
        protocol: args.protocol,
        version: args.version,
        block: now,
    };
    AXONS.save(host, &(args.netuid, uid), &info);
    Ok(())
}

/// Entry point: the caller (a coldkey) registers `(netuid, hotkey)`; outputs the UID.
pub fn entry_burned_register(host: &mut impl Host) -> Result<(), NeuronError> {
    let (netuid, hotkey): (NetUid, Address) = host.input_as()?;
    let caller = host.caller();
    let uid = burned_register(host, &caller, netuid, &hotkey)?;
    host.output_as(&uid);
    Ok(())
}

/// Entry point: the caller (a coldkey) registers a subnet ([`RegisterNetworkArgs`]); outputs the
/// netuid.
pub fn entry_register_network(host: &mut impl Host) -> Result<(), NeuronError> {
    let args: RegisterNetworkArgs = host.input_as()?;
    let caller = host.caller();
    let netuid = register_network(host, &caller, &args.hotkey, args.identity)?;
    host.output_as(&netuid);
    Ok(())
}

/// Entry point: the caller (a hotkey) serves its axon.
pub fn entry_serve_axon(host: &mut impl Host) -> Result<(), NeuronError> {
    let args: ServeAxonArgs = host.input_as()?;
    let caller = host.caller();
    serve_axon(host, &caller, &args)
}

/// Entry point (chain only): the begin-block hook.
pub fn entry_on_block(host: &mut impl Host) -> Result<(), NeuronError> {
    on_block(host)
}

/// Entry point: outputs `(price, [(uid, neuron, axon)])` of `netuid`.
pub fn entry_metagraph(host: &mut impl Host) -> Result<(), NeuronError> {
    let netuid: NetUid = host.input_as()?;
    let price = burn_price(host, netuid)?;
    let mut rows = Vec::new();
    for uid in 0..count(host, netuid)? {
        if let Some(n) = neuron(host, netuid, uid)? {
            let a = axon(host, netuid, uid)?;
            rows.push((uid, n, a));
        }
    }
    host.output_as(&(price, rows));
    Ok(())
}

tao_sdk::entry_points!(
    entry_burned_register,
    entry_serve_axon,
    entry_on_block,
    entry_metagraph,
    entry_register_network
);

/// Storage key of the axon of (`netuid`, `uid`) (a borsh [`AxonInfo`]), for proofs (kept last: code
/// above keeps its line numbers, so the module's bytes do not change).
pub fn axon_key(netuid: NetUid, uid: Uid) -> Vec<u8> {
    AXONS.key(&(netuid, uid))
}

/// Storage key of `netuid`'s registration price (a borsh `u64`; absent means
/// [`INITIAL_BURN`]), for proofs.
pub fn burn_key(netuid: NetUid) -> Vec<u8> {
    BURN.key(&netuid)
}

/// A neuron's own calls, `(system module, entry point)`: subtensor charges a hotkey nothing for
/// them, so the coldkey that owns the hotkey pays their fee (docs/protocol.md, "Who pays the
/// fee"). The one table the chain charges by (`tao_chain::fee_payer`) and clients preview by.
pub const SPONSORED_CALLS: [(&str, &str); 4] = [
    ("weights", "entry_set_weights"),
    ("weights", "entry_commit_weights"),
    ("weights", "entry_reveal_weights"),
    ("neurons", "entry_serve_axon"),
];

/// The system module whose `method` is a [`SPONSORED_CALLS`] call, if it is one.
pub fn sponsored_module(method: &[u8]) -> Option<&'static str> {
    SPONSORED_CALLS.iter().find(|(_, m)| m.as_bytes() == method).map(|(module, _)| *module)
}

/// Storage key of the coldkey that owns `hotkey` (a borsh `Address`), for proofs and for the
/// chain's fee rule (the owner pays its hotkeys' weights and axon calls).
pub fn hotkey_owner_key(hotkey: &Address) -> Vec<u8> {
    HOTKEY_OWNER.key(hotkey)
}

/// Root UIDs (subtensor's 64 root slots): a hotkey holds one by `staking::root_register`.
pub const ROOT_SLOTS: u16 = 64;

/// Seats `hotkey`, bound to `coldkey`, at root `uid`: the next free slot, or a taken one whose
/// hotkey leaves the root (staking's `root_register` chooses; its stake stays with it). Checks
/// what any registration checks: not yet on root, unowned or owned by `coldkey`.
pub fn seat_root(
    host: &mut impl Host,
    coldkey: &Address,
    hotkey: &Address,
    uid: Uid,
) -> Result<(), NeuronError> {
    if uid_of(host, 0, hotkey)?.is_some() {
        return Err(NeuronError::AlreadyRegistered);
    }
    if hotkey_owner(host, hotkey)?.is_some_and(|owner| owner != *coldkey) {
        return Err(NeuronError::HotkeyOwnedByOther);
    }
    seat(host, coldkey, hotkey, 0, uid)?;
    host.emit(b"root_registered", &tao_sdk::borsh::to_vec(&(uid, hotkey)).unwrap_or_default());
    Ok(())
}

/// Moves everything the neurons module keys by `old` to `new` (a hotkey swap; the caller checked
/// that `new` is unused and the coldkey owns `old`): its owner, and its UID (with its axon,
/// which is keyed by UID) on each of `netuids`.
pub fn swap_hotkey(
    host: &mut impl Host,
    old: &Address,
    new: &Address,
    netuids: &[NetUid],
) -> Result<(), NeuronError> {
    if let Some(owner) = hotkey_owner(host, old)? {
        HOTKEY_OWNER.remove(host, old);
        HOTKEY_OWNER.save(host, new, &owner);
    }
    for netuid in netuids {
        let Some(uid) = uid_of(host, *netuid, old)? else { continue };
        UIDS.remove(host, &(*netuid, *old));
        UIDS.save(host, &(*netuid, *new), &uid);
        if let Some(mut n) = neuron(host, *netuid, uid)? {
            n.hotkey = *new;
            NEURONS.save(host, &(*netuid, uid), &n);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;

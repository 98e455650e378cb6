//! The gas schedule: what every operator and host function costs, versioned as one value.
//!
//! Gas is wasmtime fuel, one for one. The schedule is part of the protocol: changing any number
//! here needs a new [`GasSchedule::version`], which also keys every compiled-artifact cache so a
//! stale artifact can never keep old prices.

use wasmtime::OperatorCost;

/// Every price the VM charges, in gas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GasSchedule {
    /// Bumped whenever any price changes.
    pub version: u32,
    /// Charged once per call before the guest runs, whatever the cache state.
    pub call_base: u64,
    /// Flat cost of entering any host function.
    pub host_call: u64,
    /// Per byte copied between guest memory and the host (input, output, result buffer).
    pub copy_per_byte: u64,
    /// `storage_get` base and per byte of key + value.
    pub storage_read: u64,
    /// Per byte of key and value read.
    pub storage_read_per_byte: u64,
    /// `storage_set` base.
    pub storage_write: u64,
    /// Per byte of key + value written.
    pub storage_write_per_byte: u64,
    /// `storage_remove`.
    pub storage_remove: u64,
    /// `storage_iter`.
    pub iter_open: u64,
    /// `storage_next`, plus `storage_read_per_byte` for the entry.
    pub iter_next: u64,
    /// `emit` base.
    pub emit: u64,
    /// Per byte of topic + data.
    pub emit_per_byte: u64,
    /// Added to wasmtime's flat cost of `call` / `call_indirect`.
    pub call_op: u8,
    /// Flat cost of `call_indirect` (a table lookup and signature check).
    pub call_indirect_op: u8,
    /// Flat cost of `memory.grow`.
    pub memory_grow_op: u8,
    /// Per 64 KiB page `memory.grow` adds (the host zeroes and maps it).
    pub memory_grow_per_page: u8,
    /// Per byte of `memory.copy` / `memory.fill` / `memory.init`.
    pub bulk_per_byte: u8,
}

impl GasSchedule {
    /// Version 1 of the schedule.
    pub const V1: GasSchedule = GasSchedule {
        version: 1,
        call_base: 5_000,
        host_call: 20,
        copy_per_byte: 1,
        storage_read: 500,
        storage_read_per_byte: 1,
        storage_write: 2_000,
        storage_write_per_byte: 20,
        storage_remove: 1_000,
        iter_open: 500,
        iter_next: 300,
        emit: 500,
        emit_per_byte: 4,
        call_op: 4,
        call_indirect_op: 8,
        memory_grow_op: 16,
        memory_grow_per_page: 255,
        bulk_per_byte: 1,
    };

    /// The operator table handed to wasmtime. Every operator not named here keeps wasmtime's
    /// default: 1, or 0 for `nop`, `drop`, `block`, `loop`, `end`, `else`, `return`, `unreachable`.
    pub fn operator_cost(&self) -> OperatorCost {
        let mut cost = OperatorCost::new();
        cost.Call = self.call_op;
        cost.CallIndirect = self.call_indirect_op;
        cost.MemoryGrow = self.memory_grow_op;
        cost.variable.memory_grow_per_page = self.memory_grow_per_page;
        cost.variable.memory_copy_per_byte = self.bulk_per_byte;
        cost.variable.memory_fill_per_byte = self.bulk_per_byte;
        cost.variable.memory_init_per_byte = self.bulk_per_byte;
        cost
    }

    /// Gas for copying `bytes` across the boundary.
    pub fn copy(&self, bytes: usize) -> u64 {
        self.copy_per_byte.saturating_mul(bytes as u64)
    }
}

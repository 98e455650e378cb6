//! What a call produced, in two levels: deterministic outcomes (recorded in receipts) and node
//! faults (never recorded; the node retries or stops).

use tao_abi::Event;

use crate::storage::WriteSet;

/// The deterministic result of a call: every node gets the same one for the same inputs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// The entry point returned; its writes were kept.
    Ok,
    /// The guest trapped.
    Trap(TrapKind),
    /// Gas ran out (in guest code or in a host function's charge).
    OutOfGas,
    /// Calls nested deeper than the deterministic stack budget.
    StackLimit,
    /// The guest called `abort` with this message.
    Abort(String),
    /// The guest misused a host function.
    HostError(HostError),
    /// No exported entry point of that name.
    NoSuchEntry(String),
}

impl core::fmt::Display for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Outcome::Ok => f.write_str("ok"),
            Outcome::Trap(kind) => write!(f, "trap: {kind:?}"),
            Outcome::OutOfGas => f.write_str("out of gas"),
            Outcome::StackLimit => f.write_str("stack limit reached"),
            Outcome::Abort(message) => write!(f, "abort: {message}"),
            Outcome::HostError(e) => write!(f, "host error: {e}"),
            Outcome::NoSuchEntry(name) => write!(f, "no entry point `{name}`"),
        }
    }
}

impl Outcome {
    /// Whether the call succeeded.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok)
    }
}

/// Why the guest trapped.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TrapKind {
    /// `unreachable` (a Rust panic compiles to this).
    Unreachable,
    /// A load or store outside linear memory.
    MemoryOutOfBounds,
    /// Integer division by zero.
    DivisionByZero,
    /// Integer overflow in division or float-to-int conversion.
    IntegerOverflow,
    /// Float-to-int conversion of NaN.
    BadConversionToInteger,
    /// `call_indirect` to an empty table slot, a bad index or a wrong signature.
    BadIndirectCall,
    /// Anything else the engine reports deterministically.
    Other(String),
}

/// A host function refused the guest's request. Deterministic: it depends only on the arguments.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "error", rename_all = "snake_case")]
pub enum HostError {
    /// A pointer/length pair outside the guest's memory.
    #[error("pointer/length outside guest memory")]
    OutOfBounds,
    /// A negative length or pointer.
    #[error("negative pointer or length")]
    Negative,
    /// A buffer above its limit.
    #[error("{what} is {len} bytes, limit is {limit}")]
    TooLong {
        /// Which buffer.
        what: &'static str,
        /// Its length.
        len: u64,
        /// The limit.
        limit: u32,
    },
    /// More events than allowed.
    #[error("too many events")]
    TooManyEvents,
    /// More iterators than allowed.
    #[error("too many iterators")]
    TooManyIterators,
    /// An iterator handle that was never opened.
    #[error("unknown iterator {0}")]
    UnknownIterator(i32),
    /// The call wrote more than the write-set limit.
    #[error("write set above the limit")]
    WriteSetTooLarge,
    /// The output was set larger than allowed.
    #[error("output too large")]
    OutputTooLarge,
    /// The running code may not do this to this key (`tao_abi::access`).
    #[error("access denied: {op:?} of `{key}` is outside what this code may touch")]
    AccessDenied {
        /// The operation refused.
        op: crate::StorageOp,
        /// The key (or iteration prefix), lossily as text.
        key: String,
    },
    /// `call_system` from code that is not an uploaded contract.
    #[error("only uploaded contracts may call system modules")]
    NotAContract,
    /// `call_system` named no registered system module.
    #[error("no system module `{0}`")]
    NoSuchModule(String),
}

/// Everything a call produced. On failure the writes, events and output are empty but the gas
/// is still charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Execution {
    /// How it ended.
    pub outcome: Outcome,
    /// Gas consumed, including the fixed per-call charge.
    pub gas_used: u64,
    /// Return bytes set by the guest.
    pub output: Vec<u8>,
    /// Events emitted, in order.
    pub events: Vec<Event>,
    /// Storage writes to merge.
    pub writes: WriteSet,
}

impl Execution {
    /// A call that ended with `outcome` after `gas_used`, leaving nothing else.
    pub fn failed(outcome: Outcome, gas_used: u64) -> Self {
        Execution { outcome, gas_used, output: Vec::new(), events: Vec::new(), writes: WriteSet::new() }
    }
}

/// A failure of this node, not of the call: never recorded on chain.
#[derive(Debug, thiserror::Error)]
pub enum VmFault {
    /// The engine could not be configured.
    #[error("engine configuration: {0}")]
    Config(String),
    /// An admitted module failed to compile.
    #[error("compiling an admitted module failed: {0}")]
    Compile(String),
    /// No instance slot or memory could be had (pool exhausted, out of memory).
    #[error("instantiation failed: {0}")]
    Instantiate(String),
    /// The native stack overflowed before the deterministic limit: a configuration bug.
    #[error("native stack overflow before the deterministic limit")]
    NativeStackOverflow,
    /// A host function panicked (a bug in the node).
    #[error("host panic: {0}")]
    HostPanic(String),
    /// Reading or writing the artifact cache failed.
    #[error("artifact cache: {0}")]
    Cache(String),
}

//! Admission: the deterministic checks every module passes before anything compiles it.
//!
//! Order: size, then one pass that validates with an explicit feature allow-list and applies the
//! static limits (memory, table, functions, locals, body size, imports against the ABI, exports,
//! no start function, no float types or operators in uploaded code). A module that passes is instrumented with the
//! deterministic stack limit (see [`crate::instrument`]) and only then handed to the compiler.

use tao_abi::{ABI_VERSION_EXPORT, IMPORT_MODULE, MEMORY_EXPORT, ValType as AbiType, imports};
use tao_types::Hash;
use wasmparser::{
    BlockType, CompositeInnerType, ExternalKind, FuncType, Operator, Parser, Payload, TypeRef, ValType,
    ValidPayload, Validator, WasmFeatures,
};

use crate::instrument::{self, STACK_EXPORT};

/// Proposals a module may use. Everything else (SIMD, threads, multi-memory, memory64, tail calls,
/// exceptions, GC, ...) fails validation. Float types and operators are further refused for uploaded
/// code.
pub const FEATURES: WasmFeatures = WasmFeatures::MUTABLE_GLOBAL
    .union(WasmFeatures::SATURATING_FLOAT_TO_INT)
    .union(WasmFeatures::SIGN_EXTENSION)
    .union(WasmFeatures::REFERENCE_TYPES)
    .union(WasmFeatures::MULTI_VALUE)
    .union(WasmFeatures::BULK_MEMORY)
    .union(WasmFeatures::FLOATS);

/// Static limits applied at admission.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Largest module in bytes.
    pub max_code_bytes: u32,
    /// Largest initial memory, in 64 KiB pages.
    pub max_initial_pages: u64,
    /// Largest memory at run time, in pages (enforced by the store limiter).
    pub max_memory_pages: u64,
    /// Most table elements (initial and maximum).
    pub max_table_elements: u64,
    /// Most defined functions.
    pub max_functions: u32,
    /// Most function types.
    pub max_types: u32,
    /// Most parameters of a function type.
    pub max_params: u32,
    /// Most results of a function type.
    pub max_results: u32,
    /// Most locals in one function (parameters excluded).
    pub max_locals: u32,
    /// Largest function body in bytes.
    pub max_body_bytes: u32,
    /// Most globals.
    pub max_globals: u32,
    /// Most exports.
    pub max_exports: u32,
    /// Most data segments.
    pub max_data_segments: u32,
    /// Most element segments.
    pub max_element_segments: u32,
}

impl Limits {
    /// Version 1 limits.
    pub const V1: Limits = Limits {
        max_code_bytes: 1024 * 1024,
        max_initial_pages: 16,
        max_memory_pages: tao_abi::limits::MAX_MEMORY_PAGES as u64,
        max_table_elements: 4096,
        max_functions: 10_000,
        max_types: 1_000,
        max_params: 32,
        max_results: 1,
        max_locals: 1_024,
        max_body_bytes: 64 * 1024,
        max_globals: 256,
        max_exports: 256,
        max_data_segments: 1_024,
        max_element_segments: 64,
    };
}

/// Where code comes from, which decides whether floats are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeClass {
    /// Uploaded by a user: float types and operators are refused.
    Uploaded,
    /// Built into the chain (genesis or governance): floats allowed, NaNs canonicalized by the
    /// engine so results are still identical on every machine.
    System,
}

/// Why a module was refused. Deterministic: every node refuses the same bytes with the same error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdmissionError {
    /// Larger than the size limit.
    #[error("module is {size} bytes, limit is {limit}")]
    TooLarge {
        /// Size of the module.
        size: usize,
        /// The limit.
        limit: u32,
    },
    /// Not a valid module under the allowed features (includes malformed bytes).
    #[error("invalid module: {0}")]
    Invalid(String),
    /// Modules may not have a start function: all work happens in metered entry points.
    #[error("start functions are not allowed")]
    StartFunction,
    /// Not exactly one memory, or it is imported or shared.
    #[error("a module must define exactly one unshared memory")]
    BadMemory,
    /// Initial memory above the limit.
    #[error("initial memory is {pages} pages, limit is {limit}")]
    InitialMemoryTooLarge {
        /// Declared initial pages.
        pages: u64,
        /// The limit.
        limit: u64,
    },
    /// More than one table, or a table above the element limit.
    #[error("at most one table of at most {limit} elements (found {elements})")]
    TableTooLarge {
        /// Largest declared size.
        elements: u64,
        /// The limit.
        limit: u64,
    },
    /// A count above its limit.
    #[error("too many {what}: {count}, limit is {limit}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// How many there are.
        count: u64,
        /// The limit.
        limit: u64,
    },
    /// A function body larger than the limit.
    #[error("function {index} body is {size} bytes, limit is {limit}")]
    BodyTooLarge {
        /// Function index.
        index: u32,
        /// Body size.
        size: usize,
        /// The limit.
        limit: u32,
    },
    /// An import outside the ABI, or of a kind other than a function.
    #[error("unknown import {module}.{name}")]
    UnknownImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// An ABI import declared with another signature.
    #[error("import {name} has the wrong signature")]
    WrongImportSignature {
        /// Import name.
        name: String,
    },
    /// The same host function imported twice.
    #[error("import {name} appears more than once")]
    DuplicateImport {
        /// Import name.
        name: String,
    },
    /// An active data or element segment that does not fit the initial memory or table, or whose
    /// offset is not a constant: it would fail at every instantiation.
    #[error("active {what} segment {index} lies outside the initial memory or table")]
    SegmentOutOfBounds {
        /// `data` or `element`.
        what: &'static str,
        /// Segment index.
        index: u32,
    },
    /// A required export is missing.
    #[error("missing export `{0}`")]
    MissingExport(&'static str),
    /// An exported function that is not `[] -> []`: entry points take no arguments.
    #[error("exported function `{0}` must take no parameters and return nothing")]
    BadEntrySignature(String),
    /// An export name the host reserves.
    #[error("export name `{0}` is reserved")]
    ReservedExport(String),
    /// A float operator in uploaded code.
    #[error("float instruction in function {function} (offset {offset}); uploaded code may not use floats")]
    FloatInstruction {
        /// Function index.
        function: u32,
        /// Byte offset in the module.
        offset: usize,
    },
    /// A float value type in uploaded code, where no float operator need appear: a float could
    /// still be passed, stored or returned (and its NaN bits observed).
    #[error("{ty} in {place}; uploaded code may not use floats")]
    FloatType {
        /// `f32` or `f64`.
        ty: &'static str,
        /// Where it is declared.
        place: FloatPlace,
    },
    /// An operator the host forbids (table mutation, reference instructions).
    #[error("instruction {op} in function {function} is not allowed")]
    ForbiddenInstruction {
        /// Operator name.
        op: String,
        /// Function index.
        function: u32,
    },
}

/// Where admission found a float value type (see [`AdmissionError::FloatType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatPlace {
    /// A parameter or result of a function type, by type index.
    Type(u32),
    /// A global's type (so also its initializer, which validation makes the same type).
    Global(u32),
    /// The locals of a function, by function index.
    Locals(u32),
    /// The type of a block, loop, `if` or typed `select`.
    Block {
        /// Function index.
        function: u32,
        /// Byte offset in the module.
        offset: usize,
    },
}

impl core::fmt::Display for FloatPlace {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FloatPlace::Type(index) => write!(f, "type {index}"),
            FloatPlace::Global(index) => write!(f, "global {index}"),
            FloatPlace::Locals(function) => write!(f, "the locals of function {function}"),
            FloatPlace::Block { function, offset } => {
                write!(f, "a block type in function {function} (offset {offset})")
            }
        }
    }
}

/// What admission found: the figures `tao module check` reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdmissionReport {
    /// Size of the uploaded bytes.
    pub size_bytes: usize,
    /// Defined functions.
    pub functions: u32,
    /// Host functions imported.
    pub imports: Vec<String>,
    /// Callable entry points.
    pub entry_points: Vec<String>,
    /// Initial memory pages.
    pub initial_pages: u64,
    /// Table elements (0 without a table).
    pub table_elements: u64,
    /// Most locals in one function.
    pub max_locals: u32,
    /// Largest function body.
    pub max_body_bytes: usize,
    /// Largest frame cost in stack units (see docs/vm.md).
    pub max_frame_units: u32,
}

/// A module that passed admission, ready to compile.
#[derive(Debug, Clone)]
pub struct Admitted {
    /// Keccak-256 of the uploaded bytes: the module's identity.
    pub code_hash: Hash,
    /// The instrumented bytes the engine compiles.
    pub(crate) instrumented: Vec<u8>,
    /// Figures for tools.
    pub report: AdmissionReport,
}

fn invalid(e: wasmparser::BinaryReaderError) -> AdmissionError {
    AdmissionError::Invalid(e.to_string())
}

fn too_many(what: &'static str, count: impl Into<u64>, limit: impl Into<u64>) -> Result<(), AdmissionError> {
    let (count, limit) = (count.into(), limit.into());
    if count > limit {
        return Err(AdmissionError::TooMany { what, count, limit });
    }
    Ok(())
}

/// What the parse pass collects.
#[derive(Default)]
struct ModuleFacts {
    types: Vec<Option<FuncType>>,
    imported_funcs: u32,
    func_types: Vec<u32>,
    frame_units: Vec<u32>,
    globals: u32,
    memories: u32,
    initial_memory_bytes: u64,
    initial_table_elements: u64,
    has_memory_export: bool,
    has_abi_export: bool,
}

/// Checks `bytes` and returns the instrumented module, or why it is refused.
pub fn admit(bytes: &[u8], class: CodeClass, limits: &Limits) -> Result<Admitted, AdmissionError> {
    if bytes.len() > limits.max_code_bytes as usize {
        return Err(AdmissionError::TooLarge { size: bytes.len(), limit: limits.max_code_bytes });
    }
    let mut facts = ModuleFacts::default();
    let mut report = AdmissionReport {
        size_bytes: bytes.len(),
        functions: 0,
        imports: Vec::new(),
        entry_points: Vec::new(),
        initial_pages: 0,
        table_elements: 0,
        max_locals: 0,
        max_body_bytes: 0,
        max_frame_units: 0,
    };
    let mut validator = Validator::new_with_features(FEATURES);
    for payload in Parser::new(0).parse_all(bytes) {
        let payload = payload.map_err(invalid)?;
        if let ValidPayload::Func(func, body) = validator.payload(&payload).map_err(invalid)? {
            let index = func.index;
            let mut validator = func.into_validator(Default::default());
            let units = check_body(&mut validator, &body, index, class, limits, &mut report)?;
            facts.frame_units.push(units);
        }
        check_section(&payload, class, limits, &mut facts, &mut report)?;
    }
    if facts.memories != 1 {
        return Err(AdmissionError::BadMemory);
    }
    if !facts.has_memory_export {
        return Err(AdmissionError::MissingExport(MEMORY_EXPORT));
    }
    if !facts.has_abi_export {
        return Err(AdmissionError::MissingExport(ABI_VERSION_EXPORT));
    }
    report.functions = facts.func_types.len() as u32;
    report.max_frame_units = facts.frame_units.iter().copied().max().unwrap_or(0);
    let instrumented =
        instrument::stack_limit(bytes, facts.imported_funcs, facts.globals, &facts.frame_units)
            .map_err(|e| AdmissionError::Invalid(format!("instrumentation: {e}")))?;
    Ok(Admitted { code_hash: Hash::of(bytes), instrumented, report })
}

fn check_section(
    payload: &Payload<'_>,
    class: CodeClass,
    limits: &Limits,
    facts: &mut ModuleFacts,
    report: &mut AdmissionReport,
) -> Result<(), AdmissionError> {
    match payload {
        Payload::TypeSection(reader) => {
            too_many("types", reader.count(), limits.max_types)?;
            for group in reader.clone() {
                for sub in group.map_err(invalid)?.into_types() {
                    let func = match sub.composite_type.inner {
                        CompositeInnerType::Func(f) => f,
                        _ => return Err(AdmissionError::Invalid("only function types are allowed".into())),
                    };
                    too_many("parameters", func.params().len() as u64, limits.max_params)?;
                    too_many("results", func.results().len() as u64, limits.max_results)?;
                    let place = FloatPlace::Type(facts.types.len() as u32);
                    refuse_float_types(class, func.params().iter().chain(func.results()).copied(), place)?;
                    facts.types.push(Some(func));
                }
            }
        }
        Payload::ImportSection(reader) => {
            for import in reader.clone().into_imports() {
                let import = import.map_err(invalid)?;
                check_import(&import, facts)?;
                if report.imports.iter().any(|name| name == import.name) {
                    return Err(AdmissionError::DuplicateImport { name: import.name.into() });
                }
                report.imports.push(import.name.to_string());
                facts.imported_funcs += 1;
            }
        }
        Payload::FunctionSection(reader) => {
            too_many("functions", reader.count(), limits.max_functions)?;
            for ty in reader.clone() {
                facts.func_types.push(ty.map_err(invalid)?);
            }
        }
        Payload::TableSection(reader) => {
            for table in reader.clone() {
                let ty = table.map_err(invalid)?.ty;
                let elements = ty.maximum.unwrap_or(ty.initial).max(ty.initial);
                report.table_elements = elements;
                facts.initial_table_elements = ty.initial;
                if reader.count() > 1 || elements > limits.max_table_elements {
                    return Err(AdmissionError::TableTooLarge { elements, limit: limits.max_table_elements });
                }
            }
        }
        Payload::MemorySection(reader) => {
            for memory in reader.clone() {
                let ty = memory.map_err(invalid)?;
                facts.memories += 1;
                if ty.shared || ty.memory64 {
                    return Err(AdmissionError::BadMemory);
                }
                if ty.initial > limits.max_initial_pages {
                    return Err(AdmissionError::InitialMemoryTooLarge {
                        pages: ty.initial,
                        limit: limits.max_initial_pages,
                    });
                }
                report.initial_pages = ty.initial;
                facts.initial_memory_bytes = ty.initial * 65_536;
            }
        }
        Payload::GlobalSection(reader) => {
            too_many("globals", reader.count(), limits.max_globals)?;
            facts.globals = reader.count();
            for (index, global) in reader.clone().into_iter().enumerate() {
                let ty = global.map_err(invalid)?.ty.content_type;
                refuse_float_types(class, [ty], FloatPlace::Global(index as u32))?;
            }
        }
        Payload::ExportSection(reader) => {
            too_many("exports", reader.count(), limits.max_exports)?;
            for export in reader.clone() {
                check_export(&export.map_err(invalid)?, facts, report)?;
            }
        }
        Payload::StartSection { .. } => return Err(AdmissionError::StartFunction),
        Payload::DataSection(reader) => {
            too_many("data segments", reader.count(), limits.max_data_segments)?;
            for (index, data) in reader.clone().into_iter().enumerate() {
                let data = data.map_err(invalid)?;
                if let wasmparser::DataKind::Active { offset_expr, .. } = &data.kind {
                    let fits = const_offset(offset_expr)
                        .and_then(|o| o.checked_add(data.data.len() as u64))
                        .is_some_and(|end| end <= facts.initial_memory_bytes);
                    if !fits {
                        return Err(AdmissionError::SegmentOutOfBounds { what: "data", index: index as u32 });
                    }
                }
            }
        }
        Payload::ElementSection(reader) => {
            too_many("element segments", reader.count(), limits.max_element_segments)?;
            for (index, element) in reader.clone().into_iter().enumerate() {
                let element = element.map_err(invalid)?;
                if let wasmparser::ElementKind::Active { offset_expr, .. } = &element.kind {
                    let count = match &element.items {
                        wasmparser::ElementItems::Functions(f) => f.count(),
                        wasmparser::ElementItems::Expressions(_, e) => e.count(),
                    };
                    let fits = const_offset(offset_expr)
                        .and_then(|o| o.checked_add(u64::from(count)))
                        .is_some_and(|end| end <= facts.initial_table_elements);
                    if !fits {
                        return Err(AdmissionError::SegmentOutOfBounds {
                            what: "element",
                            index: index as u32,
                        });
                    }
                }
            }
        }
        _ => {}
    }
    Ok(())
}

/// The offset of an active segment when it is a plain `i32.const` (the only form we accept).
fn const_offset(expr: &wasmparser::ConstExpr<'_>) -> Option<u64> {
    let mut ops = expr.get_operators_reader();
    let Ok(Operator::I32Const { value }) = ops.read() else { return None };
    matches!(ops.read(), Ok(Operator::End)).then_some(u64::from(value as u32))
}

fn check_import(import: &wasmparser::Import<'_>, facts: &ModuleFacts) -> Result<(), AdmissionError> {
    let unknown = || AdmissionError::UnknownImport { module: import.module.into(), name: import.name.into() };
    if import.module != IMPORT_MODULE {
        return Err(unknown());
    }
    let abi = imports::find(import.name).ok_or_else(unknown)?;
    let TypeRef::Func(type_index) = import.ty else {
        return Err(unknown());
    };
    let declared = facts.types.get(type_index as usize).and_then(Option::as_ref);
    let matches =
        declared.is_some_and(|f| same_types(f.params(), abi.params) && same_types(f.results(), abi.results));
    if !matches {
        return Err(AdmissionError::WrongImportSignature { name: import.name.into() });
    }
    Ok(())
}

fn same_types(wasm: &[ValType], abi: &[AbiType]) -> bool {
    wasm.len() == abi.len()
        && wasm
            .iter()
            .zip(abi)
            .all(|(w, a)| matches!((w, a), (ValType::I32, AbiType::I32) | (ValType::I64, AbiType::I64)))
}

fn check_export(
    export: &wasmparser::Export<'_>,
    facts: &mut ModuleFacts,
    report: &mut AdmissionReport,
) -> Result<(), AdmissionError> {
    if export.name.starts_with("__tao") || export.name == STACK_EXPORT {
        return Err(AdmissionError::ReservedExport(export.name.into()));
    }
    match export.kind {
        ExternalKind::Memory if export.name == MEMORY_EXPORT => facts.has_memory_export = true,
        ExternalKind::Func => {
            let defined = export.index.checked_sub(facts.imported_funcs);
            let ty = defined
                .and_then(|i| facts.func_types.get(i as usize))
                .and_then(|t| facts.types.get(*t as usize))
                .and_then(Option::as_ref);
            if !ty.is_some_and(|f| f.params().is_empty() && f.results().is_empty()) {
                return Err(AdmissionError::BadEntrySignature(export.name.into()));
            }
            if export.name == ABI_VERSION_EXPORT {
                facts.has_abi_export = true;
            } else {
                report.entry_points.push(export.name.into());
            }
        }
        _ => {}
    }
    Ok(())
}

/// Validates one body operator by operator, applies the body limits and the float and forbidden
/// operator rules (float locals and block types included), and returns the function's frame cost
/// in stack units.
fn check_body(
    validator: &mut wasmparser::FuncValidator<wasmparser::ValidatorResources>,
    body: &wasmparser::FunctionBody<'_>,
    index: u32,
    class: CodeClass,
    limits: &Limits,
    report: &mut AdmissionReport,
) -> Result<u32, AdmissionError> {
    let size = body.range().len();
    if size > limits.max_body_bytes as usize {
        return Err(AdmissionError::BodyTooLarge { index, size, limit: limits.max_body_bytes });
    }
    let mut locals = 0u32;
    for group in body.get_locals_reader().map_err(invalid)? {
        let (count, ty) = group.map_err(invalid)?;
        locals = locals.saturating_add(count);
        too_many("locals", locals, limits.max_locals)?;
        refuse_float_types(class, [ty], FloatPlace::Locals(index))?;
        validator.define_locals(0, count, ty).map_err(invalid)?;
    }
    let mut reader = body.get_operators_reader().map_err(invalid)?;
    let mut max_height = 0u32;
    while !reader.eof() {
        let (op, offset) = reader.read_with_offset().map_err(invalid)?;
        if class == CodeClass::Uploaded && is_float_op(&op) {
            return Err(AdmissionError::FloatInstruction { function: index, offset });
        }
        refuse_float_types(class, inline_type(&op), FloatPlace::Block { function: index, offset })?;
        if is_forbidden_op(&op) {
            let name = format!("{op:?}");
            let name = name.split([' ', '{']).next().unwrap_or_default().to_string();
            return Err(AdmissionError::ForbiddenInstruction { op: name, function: index });
        }
        validator.op(offset, &op).map_err(invalid)?;
        max_height = max_height.max(validator.operand_stack_height());
    }
    reader.finish().map_err(invalid)?;
    report.max_locals = report.max_locals.max(locals);
    report.max_body_bytes = report.max_body_bytes.max(size);
    let params = validator.len_locals().saturating_sub(locals);
    Ok(instrument::frame_units(params, locals, max_height))
}

/// Refuses a float among `types` when the code is uploaded, naming `place`.
fn refuse_float_types(
    class: CodeClass,
    types: impl IntoIterator<Item = ValType>,
    place: FloatPlace,
) -> Result<(), AdmissionError> {
    if class == CodeClass::System {
        return Ok(());
    }
    let float = types.into_iter().find_map(|ty| match ty {
        ValType::F32 => Some("f32"),
        ValType::F64 => Some("f64"),
        _ => None,
    });
    float.map_or(Ok(()), |ty| Err(AdmissionError::FloatType { ty, place }))
}

/// The value type an operator spells inline: a block, loop or `if` result, or a typed `select`.
/// (Block types that name a function type are checked with the type section.)
fn inline_type(op: &Operator<'_>) -> Option<ValType> {
    match op {
        Operator::Block { blockty: BlockType::Type(ty) }
        | Operator::Loop { blockty: BlockType::Type(ty) }
        | Operator::If { blockty: BlockType::Type(ty) }
        | Operator::TypedSelect { ty } => Some(*ty),
        _ => None,
    }
}

/// Table mutation and reference instructions: the only table is a fixed function table.
fn is_forbidden_op(op: &Operator<'_>) -> bool {
    matches!(
        op,
        Operator::TableGrow { .. }
            | Operator::TableSet { .. }
            | Operator::TableGet { .. }
            | Operator::TableFill { .. }
            | Operator::TableCopy { .. }
            | Operator::TableInit { .. }
            | Operator::TableSize { .. }
            | Operator::ElemDrop { .. }
            | Operator::RefNull { .. }
            | Operator::RefIsNull
            | Operator::RefFunc { .. }
    )
}

/// True for every operator whose name mentions `F32` or `F64` (arithmetic, constants, conversions,
/// reinterpretations, loads and stores of floats).
fn is_float_op(op: &Operator<'_>) -> bool {
    macro_rules! float_ops {
        ($( @$proposal:ident $op:ident $({ $($arg:ident: $argty:ty),* })? => $visit:ident ($($ann:tt)*))*) => {
            match op {
                $( Operator::$op { .. } => mentions_float(stringify!($op)), )*
                _ => false,
            }
        };
    }
    wasmparser::for_each_operator!(float_ops)
}

const fn mentions_float(name: &str) -> bool {
    let b = name.as_bytes();
    let mut i = 0;
    while i + 3 <= b.len() {
        if b[i] == b'F' && ((b[i + 1] == b'3' && b[i + 2] == b'2') || (b[i + 1] == b'6' && b[i + 2] == b'4'))
        {
            return true;
        }
        i += 1;
    }
    false
}

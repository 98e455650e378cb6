//! The deterministic stack limit.
//!
//! wasmtime's own stack limit depends on the machine and compiler, so two nodes could disagree on
//! whether deep recursion traps. Instead every call to a defined function is wrapped:
//!
//! ```text
//! global.get $stack; i32.const COST(callee); i32.add; global.set $stack
//! global.get $stack; i32.const MAX_STACK_UNITS; i32.gt_u; if unreachable end
//! call callee
//! global.get $stack; i32.const COST(callee); i32.sub; global.set $stack
//! ```
//!
//! `COST` is the callee's frame size in *stack units*: a fixed overhead plus its parameters, locals
//! and maximum operand-stack height, all known statically. `call_indirect` charges the largest
//! frame in the module. Traps unwind everything, so no decrement is needed on that path. The
//! counter is exported as [`STACK_EXPORT`] so the host can tell a stack-limit trap from any other
//! `unreachable`. The native stack is configured well above `MAX_STACK_UNITS` × the bytes a unit
//! can take, so the deterministic limit always fires first.

use wasm_encoder::reencode::{Reencode, RoundtripReencoder};
use wasm_encoder::{ConstExpr, ExportKind, GlobalType, Instruction, SectionId, ValType};

/// Bumped whenever the instrumentation changes: it keys the artifact cache.
pub const INSTRUMENTATION_VERSION: u32 = 1;
/// The deterministic stack budget.
pub const MAX_STACK_UNITS: u32 = 32_768;
/// Units every frame costs on top of its values (return address, saved registers, context).
pub const FRAME_OVERHEAD_UNITS: u32 = 8;
/// Name of the exported stack counter.
pub const STACK_EXPORT: &str = "__tao_stack";

/// Frame cost of a function with `params`, `locals` and a maximum operand height.
pub fn frame_units(params: u32, locals: u32, max_height: u32) -> u32 {
    FRAME_OVERHEAD_UNITS.saturating_add(params).saturating_add(locals).saturating_add(max_height)
}

/// Rewrites `module` with the stack counter. `frame_units[i]` is the cost of defined function `i`;
/// `globals` is the number of globals the module defines (none are imported), so the counter's
/// index is `globals`.
pub fn stack_limit(
    module: &[u8],
    imported_funcs: u32,
    globals: u32,
    frame_units: &[u32],
) -> Result<Vec<u8>, String> {
    let mut rewriter = Rewriter {
        imported_funcs,
        counter: globals,
        frame_units,
        indirect_units: frame_units.iter().copied().max().unwrap_or(FRAME_OVERHEAD_UNITS),
        wrote_global: false,
    };
    let mut out = wasm_encoder::Module::new();
    rewriter.parse_core_module(&mut out, wasmparser::Parser::new(0), module).map_err(|e| e.to_string())?;
    Ok(out.finish())
}

struct Rewriter<'a> {
    imported_funcs: u32,
    counter: u32,
    frame_units: &'a [u32],
    indirect_units: u32,
    wrote_global: bool,
}

impl Rewriter<'_> {
    fn counter_global() -> (GlobalType, ConstExpr) {
        (GlobalType { val_type: ValType::I32, mutable: true, shared: false }, ConstExpr::i32_const(0))
    }

    /// Units of calling function `index`, or `None` for a host import (not counted).
    fn call_units(&self, index: u32) -> Option<u32> {
        let defined = index.checked_sub(self.imported_funcs)?;
        Some(self.frame_units.get(defined as usize).copied().unwrap_or(self.indirect_units))
    }

    fn push_enter(&self, f: &mut wasm_encoder::Function, units: u32) {
        let g = self.counter;
        f.instruction(&Instruction::GlobalGet(g));
        f.instruction(&Instruction::I32Const(units as i32));
        f.instruction(&Instruction::I32Add);
        f.instruction(&Instruction::GlobalSet(g));
        f.instruction(&Instruction::GlobalGet(g));
        f.instruction(&Instruction::I32Const(MAX_STACK_UNITS as i32));
        f.instruction(&Instruction::I32GtU);
        f.instruction(&Instruction::If(wasm_encoder::BlockType::Empty));
        f.instruction(&Instruction::Unreachable);
        f.instruction(&Instruction::End);
    }

    fn push_leave(&self, f: &mut wasm_encoder::Function, units: u32) {
        let g = self.counter;
        f.instruction(&Instruction::GlobalGet(g));
        f.instruction(&Instruction::I32Const(units as i32));
        f.instruction(&Instruction::I32Sub);
        f.instruction(&Instruction::GlobalSet(g));
    }
}

impl Reencode for Rewriter<'_> {
    type Error = std::convert::Infallible;

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        wasm_encoder::reencode::utils::parse_global_section(self, globals, section)?;
        let (ty, init) = Self::counter_global();
        globals.global(ty, &init);
        self.wrote_global = true;
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        _after: Option<SectionId>,
        before: Option<SectionId>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        // A module without globals gets a global section just before the first section that
        // must follow it.
        let global_goes_here = matches!(
            before,
            None | Some(
                SectionId::Export
                    | SectionId::Start
                    | SectionId::Element
                    | SectionId::DataCount
                    | SectionId::Code
                    | SectionId::Data
            )
        );
        if !self.wrote_global && global_goes_here && self.counter == 0 {
            let mut globals = wasm_encoder::GlobalSection::new();
            let (ty, init) = Self::counter_global();
            globals.global(ty, &init);
            module.section(&globals);
            self.wrote_global = true;
        }
        Ok(())
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        wasm_encoder::reencode::utils::parse_export_section(self, exports, section)?;
        exports.export(STACK_EXPORT, ExportKind::Global, self.counter);
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        func: wasmparser::FunctionBody<'_>,
    ) -> Result<(), wasm_encoder::reencode::Error<Self::Error>> {
        let mut f = self.new_function_with_parsed_locals(&func)?;
        let mut reader = func.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let units = match &op {
                wasmparser::Operator::Call { function_index } => self.call_units(*function_index),
                wasmparser::Operator::CallIndirect { .. } => Some(self.indirect_units),
                _ => None,
            };
            let instruction: Instruction<'_> = RoundtripReencoder.instruction(op)?;
            match units {
                Some(units) => {
                    self.push_enter(&mut f, units);
                    f.instruction(&instruction);
                    self.push_leave(&mut f, units);
                }
                None => {
                    f.instruction(&instruction);
                }
            }
        }
        code.function(&f);
        Ok(())
    }
}

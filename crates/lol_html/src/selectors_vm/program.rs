use super::SelectorState;
use super::attribute_matcher::AttributeMatcher;
use super::compiler::{CompiledAttributeExpr, CompiledLocalNameExpr};
use crate::html::LocalName;
use crate::selectors_vm::DenseHashSet;
use std::ops::Range;

pub(crate) type AddressRange = Range<usize>;

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ExecutionBranch {
    pub matched_ids: DenseHashSet,
    pub jumps: Option<AddressRange>,
    pub hereditary_jumps: Option<AddressRange>,
}

/// The result of trying to execute an instruction without having parsed all attributes
pub(crate) enum TryExecResult<'i> {
    /// A successful match, contains the branch to move to
    Branch(&'i ExecutionBranch),
    /// A partially successful match, but requires attributes to complete
    AttributesRequired,
    /// A failed match, doesn't require attributes to complete
    Fail,
}

pub(crate) struct Instruction {
    pub associated_branch: ExecutionBranch,
    /// The tag name the predicate requires, when it names one (fork patch 2,
    /// PATCHES.md): an element of another name fails without calling the
    /// boxed expressions. `local_name_exprs` still holds the name's test.
    pub required_name: Option<LocalName<'static>>,
    pub local_name_exprs: Box<[CompiledLocalNameExpr]>,
    pub attribute_exprs: Box<[CompiledAttributeExpr]>,
}

impl Instruction {
    pub fn noop() -> Self {
        Self {
            associated_branch: ExecutionBranch {
                matched_ids: DenseHashSet::Inline(0),
                jumps: None,
                hereditary_jumps: None,
            },
            required_name: None,
            local_name_exprs: Default::default(),
            attribute_exprs: Default::default(),
        }
    }

    /// False when the element's name is not the one the predicate requires.
    #[inline]
    fn name_may_match(&self, local_name: &LocalName<'_>) -> bool {
        self.required_name.as_ref().is_none_or(|n| n == local_name)
    }

    pub fn try_exec_without_attrs<'i>(
        &'i self,
        state: &SelectorState<'_>,
        local_name: &LocalName<'_>,
    ) -> TryExecResult<'i> {
        if !self.name_may_match(local_name) {
            return TryExecResult::Fail;
        }
        if self.local_name_exprs.iter().all(|e| e(state, local_name)) {
            if self.attribute_exprs.is_empty() {
                TryExecResult::Branch(&self.associated_branch)
            } else {
                TryExecResult::AttributesRequired
            }
        } else {
            TryExecResult::Fail
        }
    }

    pub fn complete_exec_with_attrs<'i>(
        &'i self,
        state: &SelectorState<'_>,
        attr_matcher: &AttributeMatcher<'_>,
    ) -> Option<&'i ExecutionBranch> {
        if self.attribute_exprs.iter().all(|e| e(state, attr_matcher)) {
            Some(&self.associated_branch)
        } else {
            None
        }
    }

    pub fn exec<'i>(
        &'i self,
        state: &SelectorState<'_>,
        local_name: &LocalName<'_>,
        attr_matcher: &AttributeMatcher<'_>,
    ) -> Option<&'i ExecutionBranch> {
        let is_match = self.name_may_match(local_name)
            && self.local_name_exprs.iter().all(|e| e(state, local_name))
            && self.attribute_exprs.iter().all(|e| e(state, attr_matcher));

        if is_match {
            Some(&self.associated_branch)
        } else {
            None
        }
    }
}

impl Program {
    /// False when no entry point can match an element named `local_name`.
    #[inline]
    pub fn entry_points_may_match(&self, local_name: &LocalName<'_>) -> bool {
        self.entry_name_digests
            .is_none_or(|bits| bits & (1 << local_name.digest6()) != 0)
    }
}

pub(crate) struct Program {
    pub instructions: Box<[Instruction]>,
    pub entry_points: AddressRange,
    /// When every entry point requires a tag name: bit `d` set for each
    /// required name's `digest6` d (fork patch 4, PATCHES.md). An element
    /// whose digest bit is clear matches no entry point, so the VM skips them.
    pub entry_name_digests: Option<u64>,
    /// Enables tracking child types for nth-of-type selectors.
    /// This is disabled if no nth-of-type selectors are used in the program.
    pub enable_nth_of_type: bool,
}
